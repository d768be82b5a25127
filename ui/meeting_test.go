package ui

import (
	"context"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/parleyhq/parley/server/client"
	"github.com/parleyhq/parley/server/protocol"
)

func chatTexts(m *MeetingModel) []string {
	messages, _ := m.Chat.Get()
	var list []string
	for _, msg := range messages {
		list = append(list, msg.FromName+": "+msg.Text)
	}
	return list
}

func hasChat(m *MeetingModel, line string) func() bool {
	return func() bool { return slices.Contains(chatTexts(m), line) }
}

func state(m *MeetingModel) string {
	s, _ := m.State.Get()
	return s
}

func personNamed(m *MeetingModel, name string) (protocol.Participant, bool) {
	people, _ := m.Participants.Get()
	for _, p := range people {
		if p.Name == name {
			return p, true
		}
	}
	return protocol.Participant{}, false
}

// TestMeetingOverSignalling: the owner and a guest in a room with a
// lobby; the owner lets the guest in, they chat both ways, and the owner
// moderates, all over signalling, without media.
func TestMeetingOverSignalling(t *testing.T) {
	_, owner := ownerSession(t)
	ctx := context.Background()
	room, err := owner.Client.CreateConference(ctx, client.ConferenceSpec{Name: "Weekly", Lobby: "guests"})
	if err != nil {
		t.Fatal(err)
	}
	join := JoinRequest{CID: room.CID}
	boss := joined(t, owner, join)
	if state(boss) != meetingJoined || !boss.IsModerator() {
		t.Fatalf("the owner: %s, moderator %v", state(boss), boss.IsModerator())
	}
	if err := boss.Say(ctx, "Welcome", ""); err != nil {
		t.Fatal(err)
	}
	if !hasChat(boss, "The Boss: Welcome")() {
		t.Errorf("the sender's own message: %v", chatTexts(boss))
	}

	// A guest waits in the lobby until the owner lets her in.
	gina := joined(t, guest(t, owner, "Gina"), join)
	if state(gina) != meetingLobby {
		t.Fatalf("the guest is %s, want in the lobby", state(gina))
	}
	if notice, _ := gina.Notice.Get(); notice == "" {
		t.Error("no word for the waiting guest")
	}
	eventually(t, "Gina in the owner's lobby", 5*time.Second, func() bool { return boss.Lobby.Length() == 1 })
	waiting, _ := boss.Lobby.Get()
	if waiting[0].Name != "Gina" || waiting[0].Kind != "guest" {
		t.Errorf("lobby %+v", waiting)
	}
	if err := boss.Admit(ctx, waiting[0].ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Gina in", 5*time.Second, func() bool { return state(gina) == meetingJoined })
	eventually(t, "the lobby empty", 5*time.Second, func() bool { return boss.Lobby.Length() == 0 })
	eventually(t, "two participants", 5*time.Second, func() bool { return gina.Participants.Length() == 2 && boss.Participants.Length() == 2 })
	if !hasChat(gina, "The Boss: Welcome")() {
		t.Errorf("the history for Gina: %v", chatTexts(gina))
	}
	if gina.IsModerator() {
		t.Error("a guest moderates")
	}
	if you, _ := gina.You.Get(); !you.Muted.Microphone || !you.Muted.Camera {
		t.Errorf("a participant without media should say it is muted: %+v", you.Muted)
	}

	// Chat both ways, and privately.
	if err := gina.Say(ctx, "Hello from Gina", ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Gina's message at the owner's", 5*time.Second, hasChat(boss, "Gina: Hello from Gina"))
	ginaID, _ := gina.You.Get()
	if err := boss.Say(ctx, "Just for you", ginaID.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the private message", 5*time.Second, hasChat(gina, "The Boss: Just for you"))
	messages, _ := gina.Chat.Get()
	if last := messages[len(messages)-1]; last.To != ginaID.ID {
		t.Errorf("a private message without its addressee: %+v", last)
	}

	// Someone refused from the lobby is told so.
	hal := joined(t, guest(t, owner, "Hal"), join)
	eventually(t, "Hal in the lobby", 5*time.Second, func() bool { return boss.Lobby.Length() == 1 })
	if err := boss.Refuse(ctx, ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Hal turned away", 5*time.Second, func() bool { return state(hal) == meetingOver })
	if notice, _ := hal.Notice.Get(); !strings.Contains(notice, "did not let you in") {
		t.Errorf("Hal is told %q", notice)
	}

	// Moderation.
	if err := boss.Mute(ctx, ginaID.ID, protocol.Microphone, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Gina's microphone forced off", 5*time.Second, func() bool {
		p, _ := personNamed(boss, "Gina")
		return p.Forced.Microphone
	})
	if err := boss.AllowUnmute(ctx, ginaID.ID, protocol.Microphone); err != nil {
		t.Fatal(err)
	}
	if err := boss.SetRole(ctx, ginaID.ID, protocol.RoleModerator); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Gina a moderator", 5*time.Second, gina.IsModerator)
	if err := boss.Lock(ctx, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "locked for Gina too", 5*time.Second, func() bool {
		conf, _ := gina.Conference.Get()
		return conf.Locked
	})
	if err := boss.SetRole(ctx, ginaID.ID, protocol.RoleParticipant); err != nil {
		t.Fatal(err)
	}
	if err := gina.Lock(ctx, false); err == nil {
		t.Error("a participant unlocked the meeting")
	}
	if err := boss.Remove(ctx, ginaID.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Gina removed", 5*time.Second, func() bool { return state(gina) == meetingOver })
	if notice, _ := gina.Notice.Get(); !strings.Contains(notice, "removed you") {
		t.Errorf("Gina is told %q", notice)
	}
	eventually(t, "Gina gone from the list", 5*time.Second, func() bool { return boss.Participants.Length() == 1 })
	boss.Leave()
}

// TestMeetingScreen opens the meeting area in the window: it joins, shows
// the people as name cards, sends chat, and Ctrl+Shift+L leaves; the
// other meeting shortcuts do nothing harmful, in a meeting or not.
func TestMeetingScreen(t *testing.T) {
	a := newUIApp(t)
	_, owner := ownerSession(t)
	ctx := context.Background()
	room, err := owner.Client.CreateConference(ctx, client.ConferenceSpec{Name: "Weekly", Lobby: "off"})
	if err != nil {
		t.Fatal(err)
	}
	anna := joined(t, signedIn(t, owner, "anna", "Anna Berg", "user"), JoinRequest{CID: room.CID})

	s := newTestShell(t, a, nil)
	homes := 0
	a.run(func() {
		s.win = a.NewWindow("test")
		s.addShortcuts()
		s.meetingShortcut(ToggleMicrophone) // no meeting: nothing happens
		s.adoptSession(owner, func() { homes++ })
		s.openMeeting(JoinRequest{CID: room.CID, Name: "Weekly"})
	})
	var view *meetingArea
	a.run(func() { view = s.meeting.(*meetingArea) })
	// The pre-join screen: no camera or microphone here, so the test
	// pattern and silence are offered, and it says so.
	var prejoin string
	a.run(func() { prejoin = texts(s.win.Content()) })
	if !strings.Contains(prejoin, testPatternChoice) || !strings.Contains(prejoin, "No camera found") {
		t.Errorf("pre-join screen shows %q", prejoin)
	}
	a.run(func() { test.Tap(button(t, s.win.Content(), "Join now")) })
	eventually(t, "joined", 10*time.Second, func() bool { return state(view.model) == meetingJoined })
	eventually(t, "both cards", 5*time.Second, func() bool {
		var shown string
		a.run(func() { shown = texts(s.win.Content()) })
		return strings.Contains(shown, "The Boss (you)") && strings.Contains(shown, "Anna Berg")
	})
	a.run(func() {
		view.chatEntry.SetText("Hello Anna")
		view.send()
	})
	eventually(t, "the message at Anna's", 5*time.Second, hasChat(anna, "The Boss: Hello Anna"))
	// Calling a phone in: the owner asks for alice, whose phone is not
	// registered, and is told so; a call that rings shows with Hang up.
	a.run(func() { test.Tap(button(t, s.win.Content(), "Call a phone")) })
	a.run(func() {
		dialog := topDialog(s.win)
		if dialog == nil || !strings.Contains(texts(dialog), "Call a phone into the meeting") {
			t.Fatal("no dialog to call a phone")
		}
		entries(dialog)[0].SetText("alice")
		test.Tap(button(t, dialog, "Call"))
	})
	eventually(t, "the refusal", 10*time.Second, func() bool {
		var text string
		a.run(func() {
			if dialog := topDialog(s.win); dialog != nil {
				text = texts(dialog)
			}
		})
		return strings.Contains(text, "No phone is registered with this server as alice")
	})
	a.run(func() { test.Tap(button(t, topDialog(s.win), "Close")) })
	view.model.apply(&protocol.DialProgress{Call: "d_1", Target: "desk 12", State: protocol.DialRinging})
	eventually(t, "the ringing call", 5*time.Second, func() bool {
		var shown string
		a.run(func() { shown = texts(s.win.Content()) })
		return strings.Contains(shown, "desk 12 — Ringing…")
	})
	if shots := os.Getenv("PARLEY_TEST_SCREENSHOTS"); shots != "" {
		a.run(func() {
			file, err := os.Create(filepath.Join(shots, "desktop-meeting-dial.png"))
			if err != nil {
				t.Fatal(err)
			}
			defer file.Close()
			if err := png.Encode(file, s.win.Canvas().Capture()); err != nil {
				t.Fatal(err)
			}
		})
	}
	a.run(func() {
		s.meetingShortcut(ToggleMicrophone)
		s.meetingShortcut(ToggleCamera)
		if s.screen != screenMeeting {
			t.Error("a mute shortcut left the meeting")
		}
		s.meetingShortcut(LeaveMeeting)
		if s.meeting != nil || homes != 1 {
			t.Errorf("Ctrl+Shift+L: meeting %v, back home %d times", s.meeting, homes)
		}
	})
	eventually(t, "the owner gone for Anna", 5*time.Second, func() bool { return anna.Participants.Length() == 1 })
}

// TestDialFromTheMeeting: the meeting's "Call a phone" goes to the
// server's SIP gateway, which refuses a guest and tells the owner that
// nobody's phone is registered as alice (app's tests call real phones).
func TestDialFromTheMeeting(t *testing.T) {
	_, owner := ownerSession(t)
	ctx := context.Background()
	room, err := owner.Client.CreateConference(ctx, client.ConferenceSpec{Name: "Phones", Lobby: "off"})
	if err != nil {
		t.Fatal(err)
	}
	join := JoinRequest{CID: room.CID}
	boss := joined(t, owner, join)
	gina := joined(t, guest(t, owner, "Gina"), join)
	var refusal *protocol.Error
	if err := gina.Dial(ctx, "alice"); !errors.As(err, &refusal) || refusal.Code != "forbidden" {
		t.Errorf("a guest's dial: %v, want forbidden", err)
	}
	if err := boss.Dial(ctx, "alice"); !errors.As(err, &refusal) || refusal.Code != "not_found" || !strings.Contains(refusal.Message, "alice") {
		t.Errorf("a dial of someone without a phone: %v, want not_found", err)
	}
	if calls, _ := boss.Dials.Get(); len(calls) != 0 {
		t.Errorf("refused calls are listed: %v", calls)
	}
	// Progress from the server shows as it comes.
	boss.apply(&protocol.DialProgress{Call: "d_1", Target: "alice", State: protocol.DialRinging})
	boss.apply(&protocol.DialProgress{Call: "d_1", Target: "alice", State: protocol.DialBusy, Reason: "Busy Here"})
	calls, _ := boss.Dials.Get()
	if len(calls) != 1 || calls[0].State != protocol.DialBusy || !calls[0].Final() {
		t.Errorf("calls %+v", calls)
	}
}
