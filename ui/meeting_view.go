package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/data/binding"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/parleyhq/parley/server/protocol"
)

// meetingArea is the meeting area: a pre-join screen with the camera and
// microphone, then the people on a stage (video, or a name card while
// their camera is off), the chat, and for moderators the lobby and the
// moderation actions.
type meetingArea struct {
	s       *shell
	done    func()
	model   *MeetingModel
	join    JoinRequest
	ctx     context.Context
	cancel  context.CancelFunc
	root    *fyne.Container // holds the screen of the current state
	devices *devices
	media   *stage // the video tiles, while joined

	// What the person chose before joining.
	cameraChoice, micChoice string
	startMuted, startOff    bool
	micBtn, cameraBtn       *widget.Button
	layoutBtn               *widget.Button

	// The joined screen and its parts.
	joinedScreen fyne.CanvasObject
	title        *widget.Label
	details      *widget.Label
	lockBtn      *widget.Button
	endBtn       *widget.Button
	dialBtn      *widget.Button
	dials        *fyne.Container // calls placed to phones, above the people
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

func newMeetingArea(s *shell, done func()) *meetingArea {
	return &meetingArea{s: s, done: done, root: container.NewStack()}
}

func (v *meetingArea) Open(ctx context.Context, conn Connection, join JoinRequest) fyne.CanvasObject {
	v.ctx, v.cancel = context.WithCancel(ctx)
	v.join = join
	v.model = newMeetingModel(conn, v.s.log)
	v.devices = openDevices("", "", v.s.log)
	v.buildJoined()
	v.model.State.AddListener(binding.NewDataListener(v.render))
	if join.Direct {
		v.start()
	} else {
		v.setScreen(v.prejoinScreen())
	}
	return v.root
}

// start joins with the chosen devices, off the UI goroutine; the model's
// state moves the screens on (lobby, joined).
func (v *meetingArea) start() {
	v.setScreen(v.waitingScreen("Joining "+v.joinName()+"…", "", false))
	model, ctx, devices, join := v.model, v.ctx, v.devices, v.join
	muted := protocol.Sources{Microphone: v.startMuted, Camera: v.startOff}
	v.s.tasks.Go(func() {
		media, err := devices.joinOptions(muted)
		if err == nil {
			err = model.Join(ctx, join, media)
		}
		if err != nil {
			if ctx.Err() == nil {
				fyne.Do(func() { v.failed(err) })
			}
			return
		}
		member := model.Member()
		devices.video.OnKeyframeNeeded(func(who, source string) { _ = member.RequestKeyframe(who, source) })
	})
}

func (v *meetingArea) joinName() string {
	if v.join.Name != "" {
		return v.join.Name
	}
	return "the meeting " + v.join.CID
}

func (v *meetingArea) Shortcut(action MeetingShortcut) {
	switch action {
	case LeaveMeeting:
		v.leave()
	case ToggleMicrophone:
		v.toggle(protocol.Microphone)
	case ToggleCamera:
		v.toggle(protocol.Camera)
	}
}

func (v *meetingArea) Close() {
	v.cancel()
	if v.media != nil {
		v.media.stop()
	}
	model, devices := v.model, v.devices
	// Say goodbye rather than let the server wait for a reconnect; then
	// release the camera and the sound output.
	v.s.tasks.Go(func() {
		model.Leave()
		devices.close()
	})
}

// toggle mutes or unmutes the microphone or camera.
func (v *meetingArea) toggle(source string) {
	member := v.model.Member()
	if member == nil {
		return
	}
	muted := !member.Muted(source)
	v.s.background(func(ctx context.Context) error { return member.Mute(ctx, source, muted) }, func(err error) {
		if err != nil {
			v.s.showError("That did not work", err)
		}
		v.renderControls()
	})
}

func (v *meetingArea) leave() {
	v.done()
}

func (v *meetingArea) setScreen(content fyne.CanvasObject) {
	v.root.Objects = []fyne.CanvasObject{content}
	v.root.Refresh()
}

// render follows the meeting's state.
func (v *meetingArea) render() {
	state, _ := v.model.State.Get()
	notice, _ := v.model.Notice.Get()
	switch state {
	case meetingLobby:
		conf, _ := v.model.Conference.Get()
		v.setScreen(v.waitingScreen("Waiting to be let in to "+conf.Name, notice, true))
	case meetingJoined:
		v.setScreen(v.joinedScreen)
		v.media.start()
		v.renderControls()
	case meetingOver:
		v.media.stop()
		v.setScreen(v.overScreen(notice))
	}
}

// waitingScreen is for joining and for the lobby.
func (v *meetingArea) waitingScreen(title, note string, lobby bool) fyne.CanvasObject {
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

func (v *meetingArea) overScreen(why string) fyne.CanvasObject {
	back := widget.NewButtonWithIcon("Back", theme.NavigateBackIcon(), v.leave)
	back.Importance = widget.HighImportance
	// The server says whether joining again is possible (not once ended).
	again := widget.NewButtonWithIcon("Join again", theme.ViewRefreshIcon(), v.start)
	return container.NewCenter(minWidth(480, container.NewVBox(pageTitle("You are no longer in the meeting"), wrapped(why),
		container.NewHBox(layout.NewSpacer(), again, back))))
}

// failed shows why joining did not work, with a PIN box when that is why.
func (v *meetingArea) failed(err error) {
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
func (v *meetingArea) buildJoined() {
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
	v.dialBtn = widget.NewButtonWithIcon("Call a phone", theme.ContentAddIcon(), v.askDial)
	leave := widget.NewButtonWithIcon("Leave", theme.LogoutIcon(), v.leave)
	leave.Importance = widget.DangerImportance
	v.micBtn = widget.NewButtonWithIcon("Mute", theme.VolumeUpIcon(), func() { v.toggle(protocol.Microphone) })
	v.cameraBtn = widget.NewButtonWithIcon("Stop video", theme.MediaVideoIcon(), func() { v.toggle(protocol.Camera) })
	v.layoutBtn = widget.NewButtonWithIcon("Speaker view", theme.ViewFullScreenIcon(), func() {
		v.media.toggleLayout()
		v.renderControls()
	})
	buttons := container.NewHBox(v.micBtn, v.cameraBtn, v.layoutBtn, copyLink, v.dialBtn, v.lockBtn, v.endBtn, leave)
	bar := container.NewBorder(nil, nil, nil, container.NewVBox(layout.NewSpacer(), buttons, layout.NewSpacer()),
		container.NewVBox(v.title, v.details))

	v.media = newStage(v)
	v.people = container.NewVBox()
	v.dials = container.NewVBox()
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
	peopleTab := container.NewTabItemWithIcon("People", theme.AccountIcon(), container.NewVScroll(container.NewVBox(v.dials, v.people)))
	v.lobbyTab = container.NewTabItemWithIcon("Lobby", theme.HistoryIcon(), container.NewVScroll(v.lobby))
	v.sideTabs = container.NewAppTabs(peopleTab, chatTab)

	split := container.NewHSplit(v.media.content, v.sideTabs)
	split.Offset = 0.62
	v.joinedScreen = container.NewBorder(container.NewVBox(container.NewPadded(bar), widget.NewSeparator()), nil, nil, nil, split)

	m.Conference.AddListener(binding.NewDataListener(v.renderConference))
	m.PIN.AddListener(binding.NewDataListener(v.renderConference))
	m.You.AddListener(binding.NewDataListener(v.renderConference))
	m.Participants.AddListener(binding.NewDataListener(v.renderPeople))
	m.Lobby.AddListener(binding.NewDataListener(v.renderLobby))
	m.Chat.AddListener(binding.NewDataListener(v.renderChat))
	m.Dials.AddListener(binding.NewDataListener(v.renderDials))
	m.Speaker.AddListener(binding.NewDataListener(func() {
		speaker, _ := m.Speaker.Get()
		v.media.setSpeaker(speaker)
	}))
}

// dialStateText says how a placed call goes.
var dialStateText = map[string]string{
	"calling":              "Calling…",
	protocol.DialRinging:   "Ringing…",
	protocol.DialAnswered:  "In the meeting",
	protocol.DialBusy:      "Busy",
	protocol.DialNoAnswer:  "No answer",
	protocol.DialDeclined:  "Declined",
	protocol.DialFailed:    "Call failed",
	protocol.DialCancelled: "Hung up",
	protocol.DialEnded:     "Call ended",
}

// askDial asks a moderator whom to call into the meeting.
func (v *meetingArea) askDial() {
	target := widget.NewEntry()
	target.SetPlaceHolder("alice, sip:room@192.168.1.61 or +49 30 1234")
	target.Validator = func(text string) error {
		if strings.TrimSpace(text) == "" {
			return errors.New("enter a login, a SIP address or a number")
		}
		return nil
	}
	form := dialog.NewForm("Call a phone into the meeting", "Call", "Cancel",
		[]*widget.FormItem{widget.NewFormItem("Phone", target)}, func(ok bool) {
			if ok {
				text := strings.TrimSpace(target.Text)
				v.act(func(ctx context.Context) error { return v.model.Dial(ctx, text) })
			}
		}, v.s.win)
	form.Resize(fyne.NewSize(440, 0))
	form.Show()
	v.s.win.Canvas().Focus(target)
}

// renderDials shows the calls placed from here, with a way to hang up.
func (v *meetingArea) renderDials() {
	calls, _ := v.model.Dials.Get()
	v.dials.RemoveAll()
	for _, call := range calls {
		text := call.Target + " — " + dialStateText[call.State]
		if call.Reason != "" {
			text += " (" + call.Reason + ")"
		}
		row := container.NewBorder(nil, nil, widget.NewIcon(theme.AccountIcon()), nil, widget.NewLabel(text))
		if !call.Final() {
			hangUp := widget.NewButtonWithIcon("Hang up", theme.CancelIcon(), func() {
				v.act(func(ctx context.Context) error { return v.model.HangUp(ctx, call.Call) })
			})
			row = container.NewBorder(nil, nil, widget.NewIcon(theme.AccountIcon()), hangUp, widget.NewLabel(text))
		}
		v.dials.Add(row)
	}
	if len(calls) > 0 {
		v.dials.Add(widget.NewSeparator())
	}
}

// act runs a moderation request, telling about a refusal.
func (v *meetingArea) act(request func(context.Context) error) {
	v.s.background(request, func(err error) {
		if err != nil {
			v.s.showError("The server refused", err)
		}
	})
}

func (v *meetingArea) renderConference() {
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
	for _, b := range []*widget.Button{v.lockBtn, v.endBtn, v.dialBtn} {
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
func (v *meetingArea) renderPeople() {
	m := v.model
	people, _ := m.Participants.Get()
	you, _ := m.You.Get()
	moderator := m.IsModerator()
	v.media.setPeople(people, you.ID)
	v.people.RemoveAll()
	options := []string{"Everyone"}
	v.chatToIDs = map[string]string{"Everyone": ""}
	for _, p := range people {
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
	if p.Kind == "sip" {
		text = joinNonEmpty(text, strings.TrimSpace("Phone "+p.Number))
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
func (v *meetingArea) personRow(p protocol.Participant, you, moderator bool) fyne.CanvasObject {
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
func (v *meetingArea) moderationMenu(p protocol.Participant) *fyne.Menu {
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
func (v *meetingArea) renderLobby() {
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
func (v *meetingArea) renderChat() {
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
func (v *meetingArea) send() {
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
