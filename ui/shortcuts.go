package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"
)

// MeetingShortcut is a keyboard shortcut for the meeting area.
type MeetingShortcut int

const (
	// ToggleMicrophone is Ctrl+D (Cmd+D on macOS).
	ToggleMicrophone MeetingShortcut = iota
	// ToggleCamera is Ctrl+E (Cmd+E).
	ToggleCamera
	// LeaveMeeting is Ctrl+Shift+L (Cmd+Shift+L).
	LeaveMeeting
)

// meetingShortcuts are the window's shortcuts; they reach the meeting
// area if one is open and do nothing otherwise.
var meetingShortcuts = map[MeetingShortcut]*desktop.CustomShortcut{
	ToggleMicrophone: {KeyName: fyne.KeyD, Modifier: fyne.KeyModifierShortcutDefault},
	ToggleCamera:     {KeyName: fyne.KeyE, Modifier: fyne.KeyModifierShortcutDefault},
	LeaveMeeting:     {KeyName: fyne.KeyL, Modifier: fyne.KeyModifierShortcutDefault | fyne.KeyModifierShift},
}

func (s *shell) addShortcuts() {
	for action, shortcut := range meetingShortcuts {
		s.win.Canvas().AddShortcut(shortcut, func(fyne.Shortcut) { s.meetingShortcut(action) })
	}
}

func (s *shell) meetingShortcut(action MeetingShortcut) {
	if s.meeting != nil {
		s.meeting.Shortcut(action)
	}
}

// shortcutEntry is an entry that lets the meeting shortcuts through: a
// focused entry otherwise takes every shortcut for itself.
type shortcutEntry struct {
	widget.Entry
	onShortcut func(MeetingShortcut)
}

func newShortcutEntry(onShortcut func(MeetingShortcut)) *shortcutEntry {
	e := &shortcutEntry{onShortcut: onShortcut}
	e.ExtendBaseWidget(e)
	return e
}

func (e *shortcutEntry) TypedShortcut(shortcut fyne.Shortcut) {
	for action, s := range meetingShortcuts {
		if shortcut.ShortcutName() == s.ShortcutName() {
			e.onShortcut(action)
			return
		}
	}
	e.Entry.TypedShortcut(shortcut)
}
