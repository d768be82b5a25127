// Package datadir finds Parley's data directory on each operating system and
// guards it with a lock so that only one server uses a directory at a time.
package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// appDirName is the folder created under the per-user data location.
const appDirName = "Parley"

// Default returns the per-user data directory: $XDG_DATA_HOME/parley (or
// ~/.local/share/parley) on Linux and other Unix systems, ~/Library/Application
// Support/Parley on macOS and %AppData%\Parley on Windows.
func Default() (string, error) {
	switch runtime.GOOS {
	case "windows":
		if dir := os.Getenv("AppData"); dir != "" {
			return filepath.Join(dir, appDirName), nil
		}
		return "", errors.New("data directory: %AppData% is not set; pass --data DIR")
	case "darwin":
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("data directory: %w; pass --data DIR", err)
		}
		return filepath.Join(home, "Library", "Application Support", appDirName), nil
	default:
		if dir := os.Getenv("XDG_DATA_HOME"); dir != "" && filepath.IsAbs(dir) {
			return filepath.Join(dir, "parley"), nil
		}
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("data directory: %w; pass --data DIR", err)
		}
		return filepath.Join(home, ".local", "share", "parley"), nil
	}
}

// Resolve is dir, or the per-user default when dir is "", created if
// it does not exist, in its absolute form.
func Resolve(dir string) (string, error) {
	if dir == "" {
		var err error
		if dir, err = Default(); err != nil {
			return "", err
		}
	}
	return Ensure(dir)
}

// Ensure creates dir (private to the user) if it does not exist and returns
// its absolute form.
func Ensure(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("data directory %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return "", fmt.Errorf("create data directory: %w", err)
	}
	info, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("data directory: %w", err)
	}
	if !info.IsDir() {
		return "", fmt.Errorf("data directory %s is not a directory", abs)
	}
	return abs, nil
}
