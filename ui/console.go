package ui

import (
	"context"
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/data/binding"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/parleyhq/parley/assets/icons"
	"github.com/parleyhq/parley/ui/address"
)

// Tab names of the console.
const (
	tabDashboard = "Dashboard"
	tabMeetings  = "Meetings"
	tabUsers     = "Users"
	tabGroups    = "Groups"
	tabSettings  = "Settings"
	tabLog       = "Event log"
)

// tabView is one tab of the console.
type tabView interface {
	content() fyne.CanvasObject
	// shown loads fresh data; ctx ends when the tab is left.
	shown(ctx context.Context)
}

// console is the main screen once signed in: a bar with the server, the
// "Join by ID or link" box and a menu, over tabs. Administrators see the
// admin console's tabs; everyone sees their meetings.
type console struct {
	s        *shell
	session  *Session
	root     fyne.CanvasObject
	tabs     *container.AppTabs
	views    map[*container.TabItem]*lazyTab
	byName   map[string]*container.TabItem
	stopTab  context.CancelFunc
	joinBox  *widget.Entry
	joinNote *widget.Label
	calls    *widget.Label // shown while incoming calls cannot reach this app
}

// openConsole shows the console for a session, on the named tab ("" for
// the first).
func (s *shell) openConsole(session *Session, tab string) {
	if s.console != nil {
		s.console.hide()
	}
	s.adoptSession(session, func() { s.showConsole() })
	c := &console{s: s, session: session, views: map[*container.TabItem]*lazyTab{}, byName: map[string]*container.TabItem{}}
	s.console = c
	c.build()
	if item := c.byName[tab]; item != nil {
		c.tabs.Select(item)
	}
	c.tabs.OnSelected = c.showTab // showConsole shows the first one
	s.showConsole()
	s.startRinger(session)
	if s.autopilot != nil {
		s.autopilot.consoleOpened(s, session)
	}
}

// showConsole puts the console back in the window (after a meeting).
func (s *shell) showConsole() {
	s.show(screenConsole, s.console.root)
	s.console.showTab(s.console.tabs.Selected())
}

func (c *console) build() {
	s, session := c.s, c.session
	// A tab's view is made when it is first shown: most visits need one
	// or two of them.
	add := func(name string, icon fyne.Resource, makeView func(*shell, *Session) tabView) {
		item := container.NewTabItemWithIcon(name, icon, container.NewStack())
		c.views[item] = &lazyTab{make: func() tabView { return makeView(s, session) }}
		c.byName[name] = item
	}
	if session.canAudit() {
		add(tabDashboard, theme.HomeIcon(), func(s *shell, session *Session) tabView { return newDashboardView(s, session) })
	}
	add(tabMeetings, theme.MediaVideoIcon(), func(s *shell, session *Session) tabView { return newConferencesView(s, session) })
	if session.canAudit() {
		add(tabUsers, theme.AccountIcon(), func(s *shell, session *Session) tabView { return newUsersView(s, session) })
		add(tabGroups, theme.GridIcon(), func(s *shell, session *Session) tabView { return newGroupsView(s, session) })
		add(tabSettings, theme.SettingsIcon(), func(s *shell, session *Session) tabView { return newSettingsView(s, session) })
		add(tabLog, theme.ListIcon(), func(s *shell, session *Session) tabView { return newLogsView(s, session) })
	}
	var items []*container.TabItem
	for _, name := range []string{tabDashboard, tabMeetings, tabUsers, tabGroups, tabSettings, tabLog} {
		if item := c.byName[name]; item != nil {
			items = append(items, item)
		}
	}
	c.tabs = container.NewAppTabs(items...)
	c.tabs.SetTabLocation(container.TabLocationLeading)
	c.root = container.NewBorder(c.bar(), nil, nil, nil, c.tabs)
}

// showTab starts the selected tab's loading and stops the previous one's.
func (c *console) showTab(item *container.TabItem) {
	if c.stopTab != nil {
		c.stopTab()
	}
	ctx, cancel := context.WithCancel(c.s.ctx)
	c.stopTab = cancel
	if tab := c.views[item]; tab != nil {
		if tab.view == nil {
			tab.view = tab.make()
			holder := item.Content.(*fyne.Container)
			holder.Objects = []fyne.CanvasObject{tab.view.content()}
			holder.Refresh()
		}
		tab.view.shown(ctx)
	}
}

// lazyTab makes its view on first use.
type lazyTab struct {
	make func() tabView
	view tabView
}

// hide stops the visible tab's work while the console is not shown.
func (c *console) hide() {
	if c.stopTab != nil {
		c.stopTab()
		c.stopTab = nil
	}
}

// bar is the console's top bar.
func (c *console) bar() fyne.CanvasObject {
	s, session := c.s, c.session
	logo := canvas.NewImageFromResource(fyne.NewStaticResource("parley.png", icons.AppPNG))
	logo.FillMode = canvas.ImageFillContain
	logo.SetMinSize(fyne.NewSize(40, 40))
	name := widget.NewLabelWithStyle(session.ServerName, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	who := note(identityText(session))
	c.calls = note("Calls unavailable, reconnecting…")
	c.calls.Importance = widget.WarningImportance
	c.calls.Hide()
	title := container.NewVBox(name, container.NewHBox(who, c.calls))

	c.joinBox = widget.NewEntry()
	c.joinBox.SetPlaceHolder("Meeting ID or link")
	c.joinBox.OnSubmitted = func(string) { c.join() }
	c.joinNote = caption("")
	c.joinNote.Importance = widget.DangerImportance
	c.joinNote.Hide()
	joinButton := widget.NewButtonWithIcon("Join", theme.MediaVideoIcon(), c.join)
	joinButton.Importance = widget.HighImportance
	joinRow := container.NewBorder(nil, nil, nil, joinButton, minWidth(300, c.joinBox))

	var menuButton *widget.Button
	menuButton = widget.NewButtonWithIcon("", theme.MenuIcon(), func() {
		widget.ShowPopUpMenuAtRelativePosition(c.menu(), s.win.Canvas(), fyne.NewPos(0, menuButton.Size().Height), menuButton)
	})
	right := container.NewHBox(container.NewVBox(layout.NewSpacer(), joinRow, c.joinNote, layout.NewSpacer()),
		container.NewVBox(layout.NewSpacer(), menuButton, layout.NewSpacer()))
	return container.NewVBox(container.NewPadded(container.NewBorder(nil, nil, container.NewHBox(logo, title), right)), widget.NewSeparator())
}

func identityText(session *Session) string {
	if session.Me == nil {
		return "Guest: " + session.GuestName
	}
	return fmt.Sprintf("Signed in as %s (%s)", session.Me.User.DisplayName, roleName(string(session.Me.User.Role)))
}

// followCalls shows when the connection for calls is down, once it was
// up (it takes a moment to come up at first).
func (c *console) followCalls(reachable binding.Bool) {
	wasUp := false
	reachable.AddListener(binding.NewDataListener(func() {
		up, _ := reachable.Get()
		wasUp = wasUp || up
		if wasUp && !up {
			c.calls.Show()
		} else {
			c.calls.Hide()
		}
	}))
}

// menu is the console's menu: depends on hosting or joining.
func (c *console) menu() *fyne.Menu {
	s := c.s
	if c.session.Host != nil {
		return fyne.NewMenu("",
			fyne.NewMenuItem("Copy server address", func() { s.app.Clipboard().SetContent(c.session.ShareURL()) }),
			fyne.NewMenuItemSeparator(),
			fyne.NewMenuItem("Hide window, keep Parley running", s.keepRunning),
			fyne.NewMenuItem("Stop hosting, join another server…", func() {
				dialog.ShowConfirm("Stop hosting meetings on this computer?",
					"Parley stops its server here: meetings on it end and colleagues can no longer connect. "+
						"You can host again from the start screen.", func(ok bool) {
						if ok {
							s.stopHosting()
						}
					}, s.win)
			}),
			fyne.NewMenuItem("Stop Parley and quit", s.stopAndQuit))
	}
	return fyne.NewMenu("",
		fyne.NewMenuItem("Sign out", func() {
			s.app.Preferences().SetString(prefMode, "join")
			s.showStart()
		}),
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Quit Parley", s.stopAndQuit))
}

// join opens the meeting typed in the "Join by ID or link" box, on this
// session's server.
func (c *console) join() {
	target, err := address.ParseMeeting(c.joinBox.Text)
	if err != nil {
		c.joinNote.SetText(sentence(err.Error()))
		c.joinNote.Show()
		return
	}
	c.joinNote.Hide()
	c.joinBox.SetText("")
	c.s.joinMeeting(target.CID)
}

// roleName is a role as people say it.
func roleName(role string) string {
	switch role {
	case "owner":
		return "owner"
	case "admin":
		return "administrator"
	case "security_admin":
		return "security administrator"
	}
	return "user"
}

// when writes a time for a person: today's as a clock time, else a date.
func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	local := t.Local()
	if y, m, d := local.Date(); y == time.Now().Year() && m == time.Now().Month() && d == time.Now().Day() {
		return local.Format("15:04")
	}
	return local.Format("2 Jan 2006 15:04")
}
