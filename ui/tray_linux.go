package ui

import (
	"os"
	"path/filepath"

	"github.com/godbus/dbus/v5"
)

// trayAvailable reports whether the desktop shows tray icons: on Linux,
// whether a StatusNotifierWatcher runs on the session bus. It never starts
// a bus of its own.
func trayAvailable() bool {
	addr := os.Getenv("DBUS_SESSION_BUS_ADDRESS")
	if addr == "" {
		runtime := os.Getenv("XDG_RUNTIME_DIR")
		if runtime == "" {
			return false
		}
		socket := filepath.Join(runtime, "bus")
		if _, err := os.Stat(socket); err != nil {
			return false
		}
		addr = "unix:path=" + socket
	}
	conn, err := dbus.Connect(addr)
	if err != nil {
		return false
	}
	defer conn.Close()
	var owned bool
	err = conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "org.kde.StatusNotifierWatcher").Store(&owned)
	return err == nil && owned
}
