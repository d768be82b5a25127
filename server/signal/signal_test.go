package signal_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/server/accounts"
	"github.com/parleyhq/parley/server/client"
	"github.com/parleyhq/parley/server/conference"
	"github.com/parleyhq/parley/server/protocol"
	"github.com/parleyhq/parley/server/servertest"
)

func context30s(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func connect(t *testing.T, c *client.Client) *client.Signal {
	t.Helper()
	s, err := c.Signal(context30s(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// next waits for an unasked event of a type.
func next(t *testing.T, s *client.Signal, kind string) any {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case in, ok := <-s.Events():
			if !ok {
				t.Fatalf("connection closed waiting for %s: %v", kind, s.Err())
			}
			if in.Type == kind {
				return in.Event
			}
		case <-timeout:
			t.Fatalf("no %s event", kind)
		}
	}
}

// nextEnded waits for the call_ended of one call.
func nextEnded(t *testing.T, s *client.Signal, call string) *protocol.CallEnded {
	t.Helper()
	for {
		if ended := next(t, s, "call_ended").(*protocol.CallEnded); ended.Call == call {
			return ended
		}
	}
}

// meeting starts a public conference with its owner and a guest joined.
func meeting(t *testing.T, srv *servertest.Server) (string, *client.Signal, *client.Signal) {
	t.Helper()
	ctx := context30s(t)
	owner := srv.SignedIn("owner", accounts.Member)
	var c conference.Conference
	if err := owner.Do(ctx, http.MethodPost, "/api/v1/conferences", map[string]any{"lobby": "off"}, &c); err != nil {
		t.Fatal(err)
	}
	host := connect(t, owner)
	if _, err := host.Request(ctx, "join", &protocol.Join{Conference: c.CID}); err != nil {
		t.Fatal(err)
	}
	guest := connect(t, srv.Client(false))
	if _, err := guest.Request(ctx, "join", &protocol.Join{Conference: c.CID, Name: "Gina"}); err != nil {
		t.Fatal(err)
	}
	next(t, host, "participant_joined")
	return c.CID, host, guest
}

// stillTalking checks that the conference works: a chat line goes across.
func stillTalking(t *testing.T, from, to *client.Signal, text string) {
	t.Helper()
	if _, err := from.Request(context30s(t), "chat_send", &protocol.ChatSend{Text: text}); err != nil {
		t.Fatalf("chat: %v", err)
	}
	if got := next(t, to, "chat").(*protocol.Chat); got.Message.Text != text {
		t.Fatalf("chat arrived as %+v", got.Message)
	}
}

func TestJoinErrorsAnswerTheRequest(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	s := connect(t, srv.Client(false))
	_, err := s.Request(context30s(t), "join", &protocol.Join{Conference: "1234567890", Name: "Gina"})
	var failure *protocol.Error
	if !errors.As(err, &failure) || failure.Code != "not_found" || failure.Re == 0 {
		t.Fatalf("got %v", err)
	}
	_, err = s.Request(context30s(t), "chat_send", &protocol.ChatSend{Text: "hi"})
	if !errors.As(err, &failure) || failure.Code != "not_joined" {
		t.Fatalf("chat outside a conference: %v", err)
	}
}

func TestGarbageDoesNotDisturbAConference(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	_, host, guest := meeting(t, srv)
	ctx := context30s(t)

	vandal := connect(t, srv.Client(false))
	for _, junk := range []string{
		`not json`, `{"type":"fly"}`, `{"type":"join","conference":{"a":1}}`, `[1,2,3]`, `{"type":"publish","sdp":"x"}`,
		`{"type":"admit","all":true}`, "\x00\xff\xfe", `{"type":"leave","id":"one"}`, strings.Repeat("[", 10000),
	} {
		if err := vandal.SendRaw(ctx, []byte(junk)); err != nil {
			break
		}
	}
	first := next(t, vandal, "error").(*protocol.Error)
	if first.Code != "bad_message" || first.Message == "" {
		t.Errorf("first answer to garbage %+v", first)
	}
	stillTalking(t, host, guest, "still here")

	// Persisting with garbage gets the vandal disconnected, nobody else.
	for i := 0; i < 40; i++ {
		if vandal.SendRaw(ctx, []byte(`{"type":"nonsense"}`)) != nil {
			break
		}
	}
	deadline := time.After(10 * time.Second)
	for closed := false; !closed; {
		select {
		case _, ok := <-vandal.Events():
			closed = !ok
		case <-deadline:
			t.Fatal("the vandal was not disconnected")
		}
	}
	// An oversize message closes that connection only.
	big := connect(t, srv.Client(false))
	_ = big.SendRaw(ctx, []byte(`{"type":"chat_send","text":"`+strings.Repeat("x", protocol.MaxMessageBytes)+`"}`))
	stillTalking(t, guest, host, "and still")
}

func TestFloodingIsRateLimited(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	_, host, guest := meeting(t, srv)
	ctx := context30s(t)
	for i := 0; i < 70; i++ {
		if err := guest.Send(ctx, map[string]any{"type": "layer", "track": "p_x/camera", "paused": true}); err != nil {
			break
		}
	}
	limited := next(t, guest, "error").(*protocol.Error)
	for limited.Code != "rate_limited" {
		limited = next(t, guest, "error").(*protocol.Error)
	}
	time.Sleep(200 * time.Millisecond)
	stillTalking(t, host, guest, "calm again")
}

func TestHundredSocketsFromOneAddress(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	_, host, guest := meeting(t, srv)
	ctx := context30s(t)
	limit := srv.Settings.Current().MaxSocketsPerAddress
	opened, refused := 0, 0
	c := srv.Client(false)
	for i := 0; i < 100; i++ {
		s, err := c.Signal(ctx)
		if err != nil {
			if !strings.Contains(err.Error(), "429") {
				t.Fatalf("socket %d: %v", i, err)
			}
			refused++
			continue
		}
		opened++
		t.Cleanup(s.Close)
	}
	// The conference's own two sockets count too.
	if opened != limit-2 || refused != 100-opened {
		t.Errorf("opened %d, refused %d, limit %d", opened, refused, limit)
	}
	stillTalking(t, host, guest, "unbothered")
}

func TestCallRingsDeclinesAndTimesOut(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	srv.Signal.RingTime = 700 * time.Millisecond
	ctx := context30s(t)
	anna := srv.SignedIn("anna", accounts.Member)
	bob := srv.SignedIn("bob", accounts.Member)
	bobID, _ := srv.Accounts.UserByLogin(ctx, "bob")

	caller := connect(t, anna)
	offline, err := caller.Request(ctx, "call", &protocol.Call{User: bobID.ID})
	if err != nil || offline.(*protocol.CallEnded).Reason != "offline" {
		t.Fatalf("call to an offline user: %+v %v", offline, err)
	}
	phone := connect(t, bob)
	laptop := connect(t, bob)
	for _, s := range []*client.Signal{phone, laptop} {
		if _, err := s.Request(ctx, "hello", &protocol.Hello{}); err != nil {
			t.Fatal(err)
		}
	}
	answer, err := caller.Request(ctx, "call", &protocol.Call{User: bobID.ID})
	if err != nil {
		t.Fatal(err)
	}
	ringing := answer.(*protocol.CallRinging)
	for _, s := range []*client.Signal{phone, laptop} {
		incoming := next(t, s, "incoming_call").(*protocol.IncomingCall)
		if incoming.Call != ringing.Call || incoming.From.Name != "anna" || incoming.Conference != ringing.Conference {
			t.Errorf("incoming %+v", incoming)
		}
	}
	if _, err := phone.Request(ctx, "call_decline", &protocol.CallDecline{Call: ringing.Call, Reason: "In a meeting, call you at 3"}); err != nil {
		t.Fatal(err)
	}
	ended := nextEnded(t, caller, ringing.Call)
	if ended.Reason != "declined" || ended.Message != "In a meeting, call you at 3" {
		t.Errorf("declined %+v", ended)
	}
	nextEnded(t, laptop, ringing.Call)

	answer, err = caller.Request(ctx, "call", &protocol.Call{User: bobID.ID})
	if err != nil {
		t.Fatal(err)
	}
	if ended := nextEnded(t, caller, answer.(*protocol.CallRinging).Call); ended.Reason != "no_answer" {
		t.Errorf("unanswered %+v", ended)
	}

	answer, _ = caller.Request(ctx, "call", &protocol.Call{User: bobID.ID})
	ringing = answer.(*protocol.CallRinging)
	if _, err := caller.Request(ctx, "join", &protocol.Join{Conference: ringing.Conference}); err != nil {
		t.Fatal(err)
	}
	if _, err := laptop.Request(ctx, "call_accept", &protocol.CallAccept{Call: ringing.Call}); err != nil {
		t.Fatal(err)
	}
	next(t, caller, "call_accepted")
	if other := nextEnded(t, phone, ringing.Call); other.Reason != "answered_elsewhere" {
		t.Errorf("other device %+v", other)
	}
	if _, err := laptop.Request(ctx, "join", &protocol.Join{Conference: ringing.Conference}); err != nil {
		t.Fatalf("callee joins the call: %v", err)
	}
	carol := srv.SignedIn("carol", accounts.Member)
	carolSignal := connect(t, carol)
	busy, err := carolSignal.Request(ctx, "call", &protocol.Call{User: bobID.ID})
	if err != nil || busy.(*protocol.CallEnded).Reason != "busy" {
		t.Errorf("call to someone in a call: %+v %v", busy, err)
	}
}

func TestDirectoryShowsWhoCanBeCalled(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	ctx := context30s(t)
	anna := srv.SignedIn("anna", accounts.Member)
	bob := srv.SignedIn("bob", accounts.Member)
	srv.User("carol", accounts.Member)
	presence := func() map[string]string {
		var answer struct {
			Users []struct {
				Login    string `json:"login"`
				Presence string `json:"presence"`
			} `json:"users"`
		}
		if err := anna.Do(ctx, http.MethodGet, "/api/v1/directory", nil, &answer); err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, u := range answer.Users {
			out[u.Login] = u.Presence
		}
		return out
	}
	if got := presence(); got["bob"] != "offline" || got["carol"] != "offline" || got["anna"] != "" {
		t.Errorf("before hello: %v", got)
	}
	bobSignal := connect(t, bob)
	if _, err := bobSignal.Request(ctx, "hello", &protocol.Hello{}); err != nil {
		t.Fatal(err)
	}
	if got := presence(); got["bob"] != "available" {
		t.Errorf("after hello: %v", got)
	}
	guest := srv.Client(false)
	if err := guest.Do(ctx, http.MethodGet, "/api/v1/directory", nil, nil); client.StatusOf(err) != http.StatusUnauthorized {
		t.Errorf("a guest read the directory: %v", err)
	}
}

func TestUnansweredCallsLeaveNoConference(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	srv.Signal.RingTime = 300 * time.Millisecond
	ctx := context30s(t)
	anna := srv.SignedIn("anna", accounts.Member)
	bob := srv.SignedIn("bob", accounts.Member)
	bobUser, _ := srv.Accounts.UserByLogin(ctx, "bob")
	caller := connect(t, anna)
	callee := connect(t, bob)
	if _, err := callee.Request(ctx, "hello", &protocol.Hello{}); err != nil {
		t.Fatal(err)
	}
	answer, err := caller.Request(ctx, "call", &protocol.Call{User: bobUser.ID})
	if err != nil {
		t.Fatal(err)
	}
	ringing := answer.(*protocol.CallRinging)
	// Bob's connection drops and comes back while it rings: it rings again.
	callee.Close()
	again := connect(t, bob)
	if _, err := again.Request(ctx, "hello", &protocol.Hello{}); err != nil {
		t.Fatal(err)
	}
	if incoming := next(t, again, "incoming_call").(*protocol.IncomingCall); incoming.Call != ringing.Call {
		t.Errorf("incoming after reconnect %+v", incoming)
	}
	nextEnded(t, caller, ringing.Call)
	var list struct{ Conferences []conference.Conference }
	if err := anna.Do(ctx, http.MethodGet, "/api/v1/conferences", nil, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Conferences) != 0 {
		t.Errorf("an unanswered call left %+v", list.Conferences)
	}
	declined, err := again.Request(ctx, "call_decline", &protocol.CallDecline{Call: ringing.Call, Reason: strings.Repeat("é", 200)})
	var failure *protocol.Error
	if !errors.As(err, &failure) || failure.Code != "not_found" {
		t.Errorf("declining an ended call: %+v %v", declined, err)
	}
}
