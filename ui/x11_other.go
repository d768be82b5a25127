//go:build !linux

package ui

import (
	"image"

	"fyne.io/fyne/v2"
)

// minimise is not needed where trayAvailable is always true.
func minimise(fyne.Window) {}

// grabWindow is needed only where reading the GL buffer can fail (Xvfb).
func grabWindow(fyne.Window) (image.Image, bool) { return nil, false }
