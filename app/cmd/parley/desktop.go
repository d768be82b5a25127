//go:build !headless

package main

import "github.com/parleyhq/parley/app"

// desktop opens the desktop window; until the Fyne shell (ui) is wired in,
// this build runs the server without one and says so.
var desktop app.Desktop
