//go:build headless

package main

import "github.com/parleyhq/parley/app"

// desktop is nil in a headless build (-tags headless): a server for
// machines without a display or graphics libraries.
var desktop app.Desktop
