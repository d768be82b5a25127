package ui

import (
	"context"
	"errors"
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/data/binding"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/parleyhq/parley/server/protocol"
)

// signallingMeeting is the meeting area of a participant that sends no
// media: the people as name cards, the chat, and for moderators the lobby
// and the moderation actions.
type signallingMeeting struct {
	s      *shell
	done   func()
	model  *MeetingModel
	join   JoinRequest
	ctx    context.Context
	cancel context.CancelFunc
	root   *fyne.Container // holds the screen of the current state

	// The joined screen and its parts.
	joinedScreen fyne.CanvasObject
	title        *widget.Label
	details      *widget.Label
	lockBtn      *widget.Button
	endBtn       *widget.Button
	stage        *fyne.Container
	people       *fyne.Container
	lobby        *fyne.Container
	lobbyTab     *container.TabItem
	lobbyCount   int // who waited at the last update
	sideTabs     *container.AppTabs
	chat         *fyne.Container
	chatBox      *container.Scroll
	chatEntry    *shortcutEntry
	chatTo       *widget.Select
	chatToIDs    map[string]string
}

func newSignallingMeeting(s *shell, done func()) *signallingMeeting {
	return &signallingMeeting{s: s, done: done, root: container.NewStack()}
}

func (v *signallingMeeting) Open(ctx context.Context, conn Connection, join JoinRequest) fyne.CanvasObject {
	v.ctx, v.cancel = context.WithCancel(ctx)
	v.join = join
	v.model = newMeetingModel(conn, v.s.log)
	v.buildJoined()
	v.model.State.AddListener(binding.NewDataListener(v.render))
	v.start()
	return v.root
}

// start joins, then follows the meeting, off the UI goroutine.
func (v *signallingMeeting) start() {
	v.setScreen(v.waitingScreen("Joining "+v.joinName()+"…", "", false))
	model, ctx := v.model, v.ctx
	v.s.tasks.Go(func() {
		if err := model.Join(ctx, v.join); err != nil {
			if ctx.Err() == nil {
				fyne.Do(func() { v.failed(err) })
			}
			return
		}
		model.Follow(ctx)
	})
}

func (v *signallingMeeting) joinName() string {
	if v.join.Name != "" {
		return v.join.Name
	}
	return "the meeting " + v.join.CID
}

func (v *signallingMeeting) Shortcut(action MeetingShortcut) {
	// This participant sends no microphone or camera, so only leaving
	// applies.
	if action == LeaveMeeting {
		v.leave()
	}
}

func (v *signallingMeeting) Close() {
	v.cancel()
	model := v.model
	// Say goodbye rather than let the server wait for a reconnect.
	v.s.tasks.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = model.Leave(ctx)
	})
}

func (v *signallingMeeting) leave() {
	v.done()
}

func (v *signallingMeeting) setScreen(content fyne.CanvasObject) {
	v.root.Objects = []fyne.CanvasObject{content}
	v.root.Refresh()
}

// render follows the meeting's state.
func (v *signallingMeeting) render() {
	state, _ := v.model.State.Get()
	notice, _ := v.model.Notice.Get()
	switch state {
	case meetingLobby:
		conf, _ := v.model.Conference.Get()
		v.setScreen(v.waitingScreen("Waiting to be let in to "+conf.Name, notice, true))
	case meetingJoined:
		v.setScreen(v.joinedScreen)
	case meetingOver:
		v.setScreen(v.overScreen(notice))
	}
}

// waitingScreen is for joining and for the lobby.
func (v *signallingMeeting) waitingScreen(title, note string, lobby bool) fyne.CanvasObject {
	leave := widget.NewButtonWithIcon("Leave", theme.LogoutIcon(), v.leave)
	items := []fyne.CanvasObject{pageTitle(title)}
	if note != "" {
		items = append(items, wrapped(note))
	}
	if lobby {
		items = append(items, caption("A moderator sees that you are waiting and lets you in."))
	}
	items = append(items, widget.NewProgressBarInfinite(), container.NewHBox(layout.NewSpacer(), leave))
	return container.NewCenter(minWidth(480, container.NewVBox(items...)))
}

func (v *signallingMeeting) overScreen(why string) fyne.CanvasObject {
	back := widget.NewButtonWithIcon("Back", theme.NavigateBackIcon(), v.leave)
	back.Importance = widget.HighImportance
	// The server says whether joining again is possible (not once ended).
	again := widget.NewButtonWithIcon("Join again", theme.ViewRefreshIcon(), v.start)
	return container.NewCenter(minWidth(480, container.NewVBox(pageTitle("You are no longer in the meeting"), wrapped(why),
		container.NewHBox(layout.NewSpacer(), again, back))))
}

// failed shows why joining did not work, with a PIN box when that is why.
func (v *signallingMeeting) failed(err error) {
	back := widget.NewButtonWithIcon("Back", theme.NavigateBackIcon(), v.leave)
	retry := widget.NewButtonWithIcon("Try again", theme.ViewRefreshIcon(), v.start)
	retry.Importance = widget.HighImportance
	items := []fyne.CanvasObject{pageTitle("You could not join " + v.joinName()), wrapped(message(err))}
	var sigErr *protocol.Error
	if errors.As(err, &sigErr) && (sigErr.Code == "pin_required" || sigErr.Code == "wrong_pin") {
		pin := widget.NewPasswordEntry()
		pin.SetPlaceHolder("PIN")
		retry.SetText("Join")
		retry.OnTapped = func() {
			v.join.PIN = pin.Text
			v.start()
		}
		pin.OnSubmitted = func(string) { retry.OnTapped() }
		items = append(items, pin)
	}
	items = append(items, container.NewHBox(layout.NewSpacer(), back, retry))
	v.setScreen(container.NewCenter(minWidth(480, container.NewVBox(items...))))
}

// buildJoined makes the joined screen once; the model's bindings update it.
func (v *signallingMeeting) buildJoined() {
	m := v.model
	v.title = pageTitle(v.joinName())
	v.details = caption("")
	copyLink := widget.NewButtonWithIcon("Copy link", theme.ContentCopyIcon(), func() {
		conf, _ := m.Conference.Get()
		v.s.app.Clipboard().SetContent(conf.Link)
	})
	v.lockBtn = widget.NewButtonWithIcon("Lock", theme.VisibilityOffIcon(), func() {
		conf, _ := m.Conference.Get()
		v.act(func(ctx context.Context) error { return m.Lock(ctx, !conf.Locked) })
	})
	v.endBtn = widget.NewButtonWithIcon("End for everyone", theme.MediaStopIcon(), func() {
		dialog.ShowConfirm("End the meeting for everyone?", "Everyone in it is disconnected.", func(ok bool) {
			if ok {
				v.act(m.End)
			}
		}, v.s.win)
	})
	leave := widget.NewButtonWithIcon("Leave", theme.LogoutIcon(), v.leave)
	leave.Importance = widget.DangerImportance
	buttons := container.NewHBox(copyLink, v.lockBtn, v.endBtn, leave)
	bar := container.NewBorder(nil, nil, nil, container.NewVBox(layout.NewSpacer(), buttons, layout.NewSpacer()),
		container.NewVBox(v.title, v.details))

	v.stage = container.NewGridWrap(fyne.NewSize(200, 170))
	v.people = container.NewVBox()
	v.lobby = container.NewVBox()
	v.chat = container.NewVBox()
	v.chatBox = container.NewVScroll(v.chat)
	v.chatEntry = newShortcutEntry(v.s.meetingShortcut)
	v.chatEntry.SetPlaceHolder("Write a message")
	v.chatEntry.OnSubmitted = func(string) { v.send() }
	v.chatToIDs = map[string]string{"Everyone": ""}
	v.chatTo = widget.NewSelect([]string{"Everyone"}, nil)
	v.chatTo.SetSelected("Everyone")
	send := widget.NewButtonWithIcon("", theme.MailSendIcon(), v.send)
	compose := container.NewVBox(container.NewHBox(widget.NewLabel("To"), v.chatTo),
		container.NewBorder(nil, nil, nil, send, v.chatEntry))
	chatTab := container.NewTabItemWithIcon("Chat", theme.MailComposeIcon(), container.NewBorder(nil, compose, nil, nil, v.chatBox))
	peopleTab := container.NewTabItemWithIcon("People", theme.AccountIcon(), container.NewVScroll(v.people))
	v.lobbyTab = container.NewTabItemWithIcon("Lobby", theme.HistoryIcon(), container.NewVScroll(v.lobby))
	v.sideTabs = container.NewAppTabs(peopleTab, chatTab)

	stage := container.NewVScroll(container.NewPadded(v.stage))
	split := container.NewHSplit(stage, v.sideTabs)
	split.Offset = 0.62
	v.joinedScreen = container.NewBorder(container.NewVBox(container.NewPadded(bar), widget.NewSeparator()), nil, nil, nil, split)

	m.Conference.AddListener(binding.NewDataListener(v.renderConference))
	m.PIN.AddListener(binding.NewDataListener(v.renderConference))
	m.You.AddListener(binding.NewDataListener(v.renderConference))
	m.Participants.AddListener(binding.NewDataListener(v.renderPeople))
	m.Lobby.AddListener(binding.NewDataListener(v.renderLobby))
	m.Chat.AddListener(binding.NewDataListener(v.renderChat))
}

// act runs a moderation request, telling about a refusal.
func (v *signallingMeeting) act(request func(context.Context) error) {
	v.s.background(request, func(err error) {
		if err != nil {
			v.s.showError("The server refused", err)
		}
	})
}

func (v *signallingMeeting) renderConference() {
	m := v.model
	conf, _ := m.Conference.Get()
	pin, _ := m.PIN.Get()
	if conf.Name != "" {
		v.title.SetText(conf.Name)
	}
	text := "ID " + conf.CID
	if conf.Locked {
		text += " · locked to newcomers"
	}
	moderator := m.IsModerator()
	if moderator && pin != "" {
		text += " · PIN " + pin
	}
	v.details.SetText(text)
	if conf.Locked {
		v.lockBtn.SetText("Unlock")
	} else {
		v.lockBtn.SetText("Lock")
	}
	for _, b := range []*widget.Button{v.lockBtn, v.endBtn} {
		if moderator {
			b.Show()
		} else {
			b.Hide()
		}
	}
	hasLobbyTab := len(v.sideTabs.Items) == 3
	switch {
	case moderator && !hasLobbyTab:
		v.sideTabs.Append(v.lobbyTab)
	case !moderator && hasLobbyTab:
		v.sideTabs.Remove(v.lobbyTab)
	}
	v.renderPeople()
}

// renderPeople draws the name cards and the people list.
func (v *signallingMeeting) renderPeople() {
	m := v.model
	people, _ := m.Participants.Get()
	you, _ := m.You.Get()
	moderator := m.IsModerator()
	v.stage.RemoveAll()
	v.people.RemoveAll()
	options := []string{"Everyone"}
	v.chatToIDs = map[string]string{"Everyone": ""}
	for _, p := range people {
		v.stage.Add(nameCard(p, p.ID == you.ID))
		v.people.Add(v.personRow(p, p.ID == you.ID, moderator))
		if p.ID != you.ID {
			options = append(options, p.Name)
			v.chatToIDs[p.Name] = p.ID
		}
	}
	v.chatTo.SetOptions(options)
	if _, ok := v.chatToIDs[v.chatTo.Selected]; !ok {
		v.chatTo.SetSelected("Everyone")
	}
	v.sideTabs.Items[0].Text = fmt.Sprintf("People (%d)", len(people))
	v.sideTabs.Refresh()
}

// nameCard is a participant on the stage.
func nameCard(p protocol.Participant, you bool) fyne.CanvasObject {
	name := p.Name
	if you {
		name += " (you)"
	}
	label := widget.NewLabelWithStyle(name, fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	label.Truncation = fyne.TextTruncateEllipsis
	state := caption(personState(p))
	state.Alignment = fyne.TextAlignCenter
	return card("", "", container.NewVBox(container.NewCenter(newAvatar(p.Name, 64)), label, state))
}

// personState is a participant's role and what they send.
func personState(p protocol.Participant) string {
	text := ""
	switch p.Role {
	case protocol.RoleOwner:
		text = "Owner"
	case protocol.RoleModerator:
		text = "Moderator"
	case protocol.RoleSpeaker:
		text = "Speaker"
	case protocol.RoleListener:
		text = "Listener"
	}
	if p.Kind == "guest" {
		text = joinNonEmpty(text, "Guest")
	}
	switch {
	case p.Muted.Microphone && p.Muted.Camera:
		text = joinNonEmpty(text, "muted, camera off")
	case p.Muted.Microphone:
		text = joinNonEmpty(text, "muted")
	case p.Muted.Camera:
		text = joinNonEmpty(text, "camera off")
	}
	if p.Screen {
		text = joinNonEmpty(text, "sharing the screen")
	}
	return text
}

func joinNonEmpty(a, b string) string {
	if a == "" {
		return b
	}
	return a + " · " + b
}

// personRow is a participant in the people list, with a moderator's
// actions.
func (v *signallingMeeting) personRow(p protocol.Participant, you, moderator bool) fyne.CanvasObject {
	name := p.Name
	if you {
		name += " (you)"
	}
	text := container.NewVBox(widget.NewLabelWithStyle(name, fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), caption(personState(p)))
	row := container.NewBorder(nil, nil, newAvatar(p.Name, 36), nil, text)
	if you || !moderator || p.Role == protocol.RoleOwner {
		return row
	}
	var actions *widget.Button
	actions = widget.NewButtonWithIcon("", theme.MoreHorizontalIcon(), func() {
		widget.ShowPopUpMenuAtRelativePosition(v.moderationMenu(p), v.s.win.Canvas(), fyne.NewPos(0, actions.Size().Height), actions)
	})
	return container.NewBorder(nil, nil, nil, actions, row)
}

// moderationMenu is what a moderator may do to a participant.
func (v *signallingMeeting) moderationMenu(p protocol.Participant) *fyne.Menu {
	m := v.model
	var items []*fyne.MenuItem
	for _, source := range []struct{ source, mute, allow string }{
		{protocol.Microphone, "Mute microphone", "Allow unmuting the microphone"},
		{protocol.Camera, "Turn camera off", "Allow turning the camera on"},
	} {
		if p.Forced.Get(source.source) {
			items = append(items, fyne.NewMenuItem(source.allow, func() {
				v.act(func(ctx context.Context) error { return m.AllowUnmute(ctx, p.ID, source.source) })
			}))
		} else {
			items = append(items, fyne.NewMenuItem(source.mute, func() {
				v.act(func(ctx context.Context) error { return m.Mute(ctx, p.ID, source.source, true) })
			}))
		}
	}
	if p.Role == protocol.RoleModerator {
		items = append(items, fyne.NewMenuItem("Make participant", func() {
			v.act(func(ctx context.Context) error { return m.SetRole(ctx, p.ID, protocol.RoleParticipant) })
		}))
	} else {
		items = append(items, fyne.NewMenuItem("Make moderator", func() {
			v.act(func(ctx context.Context) error { return m.SetRole(ctx, p.ID, protocol.RoleModerator) })
		}))
	}
	items = append(items, fyne.NewMenuItemSeparator(), fyne.NewMenuItem("Remove from the meeting", func() {
		v.act(func(ctx context.Context) error { return m.Remove(ctx, p.ID) })
	}))
	return fyne.NewMenu("", items...)
}

// renderLobby lists who waits, for moderators.
func (v *signallingMeeting) renderLobby() {
	m := v.model
	waiting, _ := m.Lobby.Get()
	v.lobby.RemoveAll()
	v.lobbyTab.Text = fmt.Sprintf("Lobby (%d)", len(waiting))
	if len(waiting) == 0 {
		v.lobby.Add(caption("Nobody is waiting."))
	} else {
		admitAll := widget.NewButton("Let everyone in", func() { v.act(func(ctx context.Context) error { return m.Admit(ctx, "") }) })
		admitAll.Importance = widget.HighImportance
		v.lobby.Add(container.NewHBox(layout.NewSpacer(), admitAll))
	}
	for _, entry := range waiting {
		admit := widget.NewButton("Let in", func() { v.act(func(ctx context.Context) error { return m.Admit(ctx, entry.ID) }) })
		admit.Importance = widget.HighImportance
		refuse := widget.NewButton("Refuse", func() { v.act(func(ctx context.Context) error { return m.Refuse(ctx, entry.ID) }) })
		kind := "waiting since " + when(entry.Since)
		if entry.Kind == "guest" {
			kind = "Guest · " + kind
		}
		text := container.NewVBox(widget.NewLabelWithStyle(entry.Name, fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), caption(kind))
		v.lobby.Add(container.NewBorder(nil, nil, newAvatar(entry.Name, 36), container.NewHBox(refuse, admit), text))
	}
	// Tell about newcomers only, and only when the lobby is not in view.
	if len(waiting) > v.lobbyCount && v.sideTabs.Selected() != v.lobbyTab && v.model.IsModerator() {
		v.s.app.SendNotification(fyne.NewNotification("Parley", fmt.Sprintf("%s waits in the lobby", waiting[len(waiting)-1].Name)))
	}
	v.lobbyCount = len(waiting)
	v.sideTabs.Refresh()
}

// renderChat shows the chat, newest at the bottom.
func (v *signallingMeeting) renderChat() {
	messages, _ := v.model.Chat.Get()
	you, _ := v.model.You.Get()
	v.chat.RemoveAll()
	if len(messages) == 0 {
		v.chat.Add(caption("No messages yet."))
	}
	for _, msg := range messages {
		head := msg.FromName + " · " + when(msg.At)
		if msg.To != "" {
			to := "you"
			if msg.From == you.ID {
				if p, ok := v.model.Participant(msg.To); ok {
					to = p.Name
				} else {
					to = "someone"
				}
			}
			head += " · privately to " + to
		}
		if msg.EditedAt != nil {
			head += " · edited"
		}
		body := wrapped(msg.Text)
		if msg.Deleted {
			body = caption("Message deleted")
		}
		v.chat.Add(container.NewVBox(widget.NewLabelWithStyle(head, fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), body))
	}
	v.chatBox.ScrollToBottom()
}

// send posts what the chat box holds.
func (v *signallingMeeting) send() {
	text := v.chatEntry.Text
	if text == "" {
		return
	}
	to := v.chatToIDs[v.chatTo.Selected]
	v.chatEntry.SetText("")
	v.s.background(func(ctx context.Context) error { return v.model.Say(ctx, text, to) }, func(err error) {
		if err != nil {
			v.chatEntry.SetText(text)
			v.s.showError("The message was not sent", err)
		}
	})
}
