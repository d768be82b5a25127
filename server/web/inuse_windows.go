//go:build windows

package web

import (
	"errors"

	"golang.org/x/sys/windows"
)

func addressInUse(err error) bool {
	// Windows reports a taken port with its own Winsock code.
	return errors.Is(err, windows.WSAEADDRINUSE)
}
