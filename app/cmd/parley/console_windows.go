package main

import (
	"log"
	"os"

	"golang.org/x/sys/windows"
)

// Parley is built as a GUI program (-H windowsgui) so that opening it
// shows no console window. Run from a command prompt, as for `parley
// version` or `parley user add`, it writes to and reads from that
// prompt's console instead, where nothing redirected its streams.
func init() {
	kernel32 := windows.NewLazySystemDLL("kernel32.dll")
	const attachParentProcess = ^uintptr(0) // (DWORD)-1
	if ok, _, _ := kernel32.NewProc("AttachConsole").Call(attachParentProcess); ok == 0 {
		return // opened from Explorer, or by the service manager
	}
	for _, stream := range []struct {
		handle uint32
		file   **os.File
		name   string
		flag   int
	}{
		{windows.STD_INPUT_HANDLE, &os.Stdin, "CONIN$", os.O_RDWR},
		{windows.STD_OUTPUT_HANDLE, &os.Stdout, "CONOUT$", os.O_RDWR},
		{windows.STD_ERROR_HANDLE, &os.Stderr, "CONOUT$", os.O_RDWR},
	} {
		if handle, err := windows.GetStdHandle(stream.handle); err == nil && handle != 0 && handle != windows.InvalidHandle {
			continue // redirected to a file or a pipe: keep it
		}
		if file, err := os.OpenFile(stream.name, stream.flag, 0); err == nil {
			*stream.file = file
		}
	}
	log.SetOutput(os.Stderr)
}
