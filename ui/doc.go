// Package ui is Parley's desktop app, built with Fyne: a thin window over
// the same public API and signalling the browser uses, through
// server/client, whether the server is embedded in the app ("Host meetings
// on this computer") or runs on another machine ("Join a Parley server").
//
// The window never reaches into the server: it starts the embedded one
// through the Host that app passes in, then talks to it over HTTPS like any
// other client. Logic lives in view-models (plain structs with Fyne data
// bindings, tested without a display); the views only lay them out. Work
// that waits on the network runs off the UI goroutine and comes back with
// fyne.Do.
//
// Screens: the start screen, the first-start wizard, the admin console
// (dashboard, conferences, users, groups, settings, certificate, event
// log), the join flow for a remote server (trust on first use of its CA,
// sign in or guest), incoming 1:1 calls, and the meeting area behind the
// MeetingView seam, which today is a signalling-only participant:
// participants, chat, lobby and moderation, without media.
package ui
