package ui

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/parleyhq/parley/server/client"
)

// adoptSession makes session the one the window works with; home is the
// screen to come back to after a meeting.
func (s *shell) adoptSession(session *Session, home func()) {
	if s.session != nil && s.session.Client != session.Client && s.calls != nil {
		s.calls.stop()
		s.calls = nil
	}
	s.session, s.home = session, home
	s.keep(session.Client)
	s.mu.Lock()
	s.signedIn = session
	s.mu.Unlock()
}

// endSession leaves the server the window worked with: no more meeting,
// calls or console, and the session on the server ends.
func (s *shell) endSession() {
	s.closeMeeting()
	if s.calls != nil {
		s.calls.stop()
		s.calls = nil
	}
	if s.console != nil {
		s.console.hide()
		s.console = nil
	}
	session := s.session
	s.session = nil
	s.mu.Lock()
	s.signedIn = nil
	s.mu.Unlock()
	if session != nil && session.Me != nil {
		s.tasks.Go(func() { signOut(session.Client) })
	}
}

// stopHosting stops the embedded server and goes back to the start
// screen, for joining another server instead.
func (s *shell) stopHosting() {
	session := s.session
	s.session = nil // signed out below, before the server stops
	s.endSession()
	s.showProgress("Stopping Parley's server…", "Meetings on this computer end, and colleagues can no longer connect to it.")
	s.background(func(context.Context) error {
		if session != nil {
			signOut(session.Client)
			session.Client.Close()
		}
		if host := s.currentHost(); host != nil {
			host.Stop()
			s.setHost(nil)
		}
		return nil
	}, func(error) {
		s.app.Preferences().SetString(prefMode, "join")
		s.showStart()
	})
}

// signOut ends a session on its server, briefly: the app may be quitting.
func signOut(c *client.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = c.SignOut(ctx)
}

// joinMeeting checks a meeting and opens it, asking for its PIN if it has
// one.
func (s *shell) joinMeeting(cid string) {
	session := s.session
	if session == nil {
		return
	}
	progress := dialog.NewCustomWithoutButtons("Joining…", widget.NewProgressBarInfinite(), s.win)
	progress.Show()
	var info client.JoinInfo
	s.background(func(ctx context.Context) (err error) {
		info, err = session.Client.JoinInfo(ctx, cid)
		return err
	}, func(err error) {
		progress.Hide()
		if client.StatusOf(err) == http.StatusNotFound {
			err = fmt.Errorf("there is no meeting with the ID %s on this server", cid)
		}
		if err == nil {
			err = joinable(info, session)
		}
		if err != nil {
			s.showError("You cannot join this meeting", err)
			return
		}
		if !info.HasPIN {
			s.openMeeting(JoinRequest{CID: info.CID, Name: info.Name})
			return
		}
		s.askPIN(info, func(pin string) { s.openMeeting(JoinRequest{CID: info.CID, Name: info.Name, PIN: pin}) })
	})
}

// joinable says why a meeting cannot be joined now, or nil.
func joinable(info client.JoinInfo, session *Session) error {
	switch {
	case info.State == "ended":
		return fmt.Errorf("%s has ended", info.Name)
	case info.State == "not_started" && info.OpensAt != nil:
		return fmt.Errorf("%s opens at %s", info.Name, when(*info.OpensAt))
	case info.SignInRequired && session.Me == nil:
		return fmt.Errorf("only people with an account on this server may join %s: sign in first", info.Name)
	}
	return nil
}

func (s *shell) askPIN(info client.JoinInfo, join func(pin string)) {
	pin := widget.NewPasswordEntry()
	pin.SetPlaceHolder("4 to 10 digits")
	items := []*widget.FormItem{widget.NewFormItem("PIN", pin)}
	d := dialog.NewForm(info.Name, "Join", "Cancel", items, func(ok bool) {
		if ok {
			join(pin.Text)
		}
	}, s.win)
	d.Resize(fyne.NewSize(380, 160))
	d.Show()
	s.win.Canvas().Focus(pin)
}

// openMeeting replaces the screen with the meeting area.
func (s *shell) openMeeting(join JoinRequest) {
	if s.session == nil {
		return
	}
	s.closeMeeting()
	if s.console != nil {
		s.console.hide()
	}
	view := s.newMeetingView(s.meetingDone)
	s.meeting = view
	s.show(screenMeeting, view.Open(s.ctx, s.session.Connection(), join))
}

// meetingDone is the meeting area's way back, after leaving.
func (s *shell) meetingDone() {
	s.closeMeeting()
	if s.home != nil {
		s.home()
	}
}

func (s *shell) closeMeeting() {
	if s.meeting != nil {
		s.meeting.Close()
		s.meeting = nil
	}
}

// closeRequested answers the window's close button. A host asks whether
// the server should keep running without the window.
func (s *shell) closeRequested() {
	if s.currentHost() == nil {
		s.stopAndQuit()
		return
	}
	text := wrapped("Colleagues and guests can keep meeting on this computer while the window is closed. " +
		"Stopping Parley ends every meeting on it.")
	var d *dialog.CustomDialog
	keep := widget.NewButton("Keep running", func() {
		d.Hide()
		s.keepRunning()
	})
	keep.Importance = widget.HighImportance
	stop := widget.NewButton("Stop Parley", func() {
		d.Hide()
		s.stopAndQuit()
	})
	stop.Importance = widget.DangerImportance
	cancel := widget.NewButton("Cancel", func() { d.Hide() })
	d = dialog.NewCustomWithoutButtons("Keep Parley running in the background?", text, s.win)
	d.SetButtons([]fyne.CanvasObject{cancel, stop, keep})
	d.Resize(dialogSize(text.Text, 480, 130))
	d.Show()
}

// keepRunning hides the window behind a system tray icon where the
// system has a tray, else minimises it.
func (s *shell) keepRunning() {
	desk, ok := s.app.(desktop.App)
	if !ok || !trayAvailable() {
		minimise(s.win)
		return
	}
	if !s.trayUsed {
		s.trayUsed = true
		quit := fyne.NewMenuItem("Stop Parley and quit", s.stopAndQuit)
		quit.IsQuit = true
		desk.SetSystemTrayMenu(fyne.NewMenu("Parley",
			fyne.NewMenuItem("Open Parley", func() {
				s.win.Show()
				s.win.RequestFocus()
			}),
			fyne.NewMenuItem("Copy server address", func() {
				if host := s.currentHost(); host != nil {
					s.app.Clipboard().SetContent(host.URL())
				}
			}),
			fyne.NewMenuItemSeparator(),
			quit))
		desk.SetSystemTrayWindow(s.win)
	}
	s.win.Hide()
}
