// Package icons holds Parley's app icon for the desktop app: parley.svg is
// the drawing (the same as the web client's), parley.png its 512-pixel
// rendering for windows, task bars, the system tray and installers
// (app/cmd/parley/FyneApp.toml points there too).
package icons

import _ "embed"

// AppPNG is the app icon, 512×512 pixels.
//
//go:embed parley.png
var AppPNG []byte
