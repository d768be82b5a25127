package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// parleyTheme is Fyne's default theme in Parley's colours: the teal of the
// web client as the primary colour, in light and dark variants. The
// variant follows the system's setting.
type parleyTheme struct{ fyne.Theme }

func newTheme() fyne.Theme { return parleyTheme{Theme: theme.DefaultTheme()} }

// The same colours as assets/web/app.css.
var (
	tealLight   = color.NRGBA{R: 0x0f, G: 0x6e, B: 0x66, A: 0xff}
	tealDark    = color.NRGBA{R: 0x4c, G: 0xc9, B: 0xb8, A: 0xff}
	onTealDark  = color.NRGBA{R: 0x05, G: 0x22, B: 0x1f, A: 0xff}
	bgLight     = color.NRGBA{R: 0xf3, G: 0xf5, B: 0xf6, A: 0xff}
	bgDark      = color.NRGBA{R: 0x10, G: 0x14, B: 0x17, A: 0xff}
	surfaceDark = color.NRGBA{R: 0x19, G: 0x20, B: 0x24, A: 0xff}
)

func (t parleyTheme) Color(name fyne.ThemeColorName, variant fyne.ThemeVariant) color.Color {
	dark := variant == theme.VariantDark
	switch name {
	case theme.ColorNamePrimary, theme.ColorNameFocus, theme.ColorNameHyperlink:
		if dark {
			return tealDark
		}
		return tealLight
	case theme.ColorNameForegroundOnPrimary:
		if dark {
			return onTealDark
		}
		return color.White
	case theme.ColorNameSelection:
		if dark {
			return color.NRGBA{R: 0x4c, G: 0xc9, B: 0xb8, A: 0x40}
		}
		return color.NRGBA{R: 0x0f, G: 0x6e, B: 0x66, A: 0x30}
	case theme.ColorNameDisabled:
		// Quiet text (captions, hints) must stay readable; the web
		// client's muted grey.
		if dark {
			return color.NRGBA{R: 0x93, G: 0x9e, B: 0xa7, A: 0xff}
		}
		return color.NRGBA{R: 0x5f, G: 0x6a, B: 0x74, A: 0xff}
	case theme.ColorNameBackground:
		if dark {
			return bgDark
		}
		return bgLight
	case theme.ColorNameHeaderBackground, theme.ColorNameMenuBackground, theme.ColorNameOverlayBackground:
		if dark {
			return surfaceDark
		}
		return color.White
	}
	return t.Theme.Color(name, variant)
}
