package app

import (
	"os"
	"runtime"
)

// hasDisplay reports whether a desktop window could open here. Windows and
// macOS sessions always have one; elsewhere it takes X11 or Wayland.
func hasDisplay() bool {
	switch runtime.GOOS {
	case "windows", "darwin":
		return true
	}
	return os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != ""
}
