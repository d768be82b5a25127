package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/parleyhq/parley/server/client"
	"github.com/parleyhq/parley/server/protocol"
)

// caller places calls from a raw signalling connection, as another
// user's app does.
func caller(t *testing.T, session *Session) *client.Signal {
	t.Helper()
	sig, err := session.Client.Signal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sig.Close)
	return sig
}

func nextEvent[T any](t *testing.T, sig *client.Signal) T {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case event, ok := <-sig.Events():
			if !ok {
				t.Fatalf("the connection closed: %v", sig.Err())
			}
			if e, ok := event.Event.(T); ok {
				return e
			}
		case <-timeout:
			var zero T
			t.Fatalf("no %T came", zero)
		}
	}
}

// TestIncomingCalls: a signed-in user stays reachable; a call rings with
// the caller's name, and is accepted or declined with a message.
func TestIncomingCalls(t *testing.T) {
	_, owner := ownerSession(t)
	anna := signedIn(t, owner, "anna", "Anna Berg", "user")
	ctx, cancel := context.WithCancel(context.Background())
	calls := newCallsModel(anna.Client, quiet)
	incoming := make(chan *protocol.IncomingCall, 4)
	ended := make(chan *protocol.CallEnded, 4)
	done := make(chan struct{})
	go func() {
		defer close(done)
		calls.Run(ctx, CallHandlers{
			Incoming: func(c *protocol.IncomingCall) { incoming <- c },
			Ended:    func(e *protocol.CallEnded) { ended <- e },
		})
	}()
	defer func() {
		cancel()
		<-done
	}()
	eventually(t, "reachable", 10*time.Second, func() bool { ok, _ := calls.Reachable.Get(); return ok })
	people, err := owner.Client.Directory(ctx, "anna")
	if err != nil || len(people) != 1 || people[0].Presence != client.PresenceAvailable {
		t.Fatalf("directory %+v %v", people, err)
	}

	boss := caller(t, owner)
	answer, err := boss.Request(ctx, "call", &protocol.Call{User: anna.Me.User.ID})
	if err != nil {
		t.Fatal(err)
	}
	ringing := answer.(*protocol.CallRinging)
	call := <-incoming
	if call.From.Name != "The Boss" || call.Conference != ringing.Conference || call.Call != ringing.Call {
		t.Errorf("incoming %+v, ringing %+v", call, ringing)
	}
	if err := calls.Accept(ctx, call.Call); err != nil {
		t.Fatal(err)
	}
	nextEvent[*protocol.CallAccepted](t, boss)
	inCall := joined(t, anna, JoinRequest{CID: call.Conference})
	if state(inCall) != meetingJoined {
		t.Errorf("in the call's meeting: %s", state(inCall))
	}
	inCall.Leave()

	eventually(t, "Anna free again", 10*time.Second, func() bool {
		people, _ := owner.Client.Directory(ctx, "anna")
		return len(people) == 1 && people[0].Presence == client.PresenceAvailable
	})
	if _, err := boss.Request(ctx, "call", &protocol.Call{User: anna.Me.User.ID}); err != nil {
		t.Fatal(err)
	}
	call = <-incoming
	if err := calls.Decline(ctx, call.Call, "In a meeting"); err != nil {
		t.Fatal(err)
	}
	over := nextEvent[*protocol.CallEnded](t, boss)
	if over.Reason != "declined" || over.Message != "In a meeting" {
		t.Errorf("the caller is told %+v", over)
	}
	if e := <-ended; e.Call != call.Call {
		t.Errorf("ended %+v", e)
	}
}

// TestRingingDialog: the window rings with the caller's name; Accept opens
// the call's meeting.
func TestRingingDialog(t *testing.T) {
	a := newUIApp(t)
	_, owner := ownerSession(t)
	anna := signedIn(t, owner, "anna", "Anna Berg", "user")
	s := newTestShell(t, a, nil)
	a.run(func() {
		s.win = a.NewWindow("test")
		s.openConsole(anna, "")
	})
	eventually(t, "reachable", 10*time.Second, func() bool {
		var ok bool
		a.run(func() { ok, _ = s.calls.model.Reachable.Get() })
		return ok
	})
	boss := caller(t, owner)
	if _, err := boss.Request(context.Background(), "call", &protocol.Call{User: anna.Me.User.ID}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the ringing", 10*time.Second, func() bool {
		var shown string
		a.run(func() {
			if d := topDialog(s.win); d != nil {
				shown = texts(d)
			}
		})
		return strings.Contains(shown, "The Boss is calling")
	})
	a.run(func() { test.Tap(button(t, topDialog(s.win), "Accept")) })
	nextEvent[*protocol.CallAccepted](t, boss)
	eventually(t, "the call's meeting", 10*time.Second, func() bool { return a.screen(s) == screenMeeting })
}
