// Package ui is the Fyne desktop shell: a thin window over the same public
// API and signalling the browser uses, through server/client, whether the
// server is embedded in the app or runs on another machine. The desktop
// app issue fills it; until then `parley` runs the server headless.
package ui
