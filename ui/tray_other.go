//go:build !linux

package ui

// trayAvailable: Windows and macOS always have a tray (the menu bar's
// status items on macOS).
func trayAvailable() bool { return true }
