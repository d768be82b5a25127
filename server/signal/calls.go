package signal

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/parleyhq/parley/server/conference"
	"github.com/parleyhq/parley/server/problem"
	"github.com/parleyhq/parley/server/protocol"
)

// DefaultRingTime is how long a call rings before it counts as not
// answered.
const DefaultRingTime = 30 * time.Second

// call is a 1:1 call that is ringing.
type call struct {
	id         string
	caller     *conn
	callee     int64
	conference string
	incoming   *protocol.IncomingCall
	timer      *time.Timer
	once       sync.Once
}

// placeCall rings every connection of a user and answers the caller with
// the conference to join.
func (s *Server) placeCall(ctx context.Context, c *conn, m *protocol.Call) error {
	if c.user == nil {
		return &protocol.Error{Code: "sign_in_required", Message: "Sign in to call someone."}
	}
	callee, err := s.accounts.User(ctx, m.User)
	var notFound *problem.Error
	if errors.As(err, &notFound) || (err == nil && !callee.Enabled) {
		return &protocol.Error{Code: "not_found", Message: "There is no such user."}
	}
	if err != nil {
		return err
	}
	if callee.ID == c.user.ID {
		return &protocol.Error{Code: "invalid", Field: "user", Message: "You cannot call yourself."}
	}
	ended := func(reason, message string) error {
		c.Send(&protocol.CallEnded{Event: protocol.Event{Type: "call_ended", Re: m.ID}, Reason: reason, Message: message})
		return nil
	}
	s.mu.Lock()
	targets := s.reachableLocked(callee.ID)
	busy := s.busyLocked(callee.ID)
	s.mu.Unlock()
	if len(targets) == 0 {
		return ended("offline", callee.DisplayName+" is not connected.")
	}
	if busy {
		return ended("busy", callee.DisplayName+" is in another call or conference.")
	}
	room, err := s.conferences.CreateCall(ctx, *c.user, callee, c.source)
	if err != nil {
		var forbidden *problem.Error
		if errors.As(err, &forbidden) && forbidden.Kind == problem.Forbidden {
			return &protocol.Error{Code: "forbidden", Message: forbidden.Message}
		}
		return err
	}
	ringing := &call{id: newCallID(), caller: c, callee: callee.ID, conference: room.CID}
	ringing.incoming = &protocol.IncomingCall{Event: protocol.Event{Type: "incoming_call"}, Call: ringing.id,
		From: protocol.CallParty{UserID: c.user.ID, Name: c.user.DisplayName}, Conference: room.CID}
	// The timer is set under the lock that finishCall reads it under: it
	// may fire before AfterFunc even returns.
	s.mu.Lock()
	ringing.timer = time.AfterFunc(s.RingTime, func() {
		s.finishCall(ringing, "no_answer", callee.DisplayName+" did not answer.", nil)
	})
	s.calls[ringing.id] = ringing
	s.mu.Unlock()
	c.Send(&protocol.CallRinging{Event: protocol.Event{Type: "call_ringing", Re: m.ID}, Call: ringing.id, Conference: room.CID})
	for _, target := range targets {
		target.Send(ringing.incoming)
	}
	return nil
}

// reachableLocked lists the connections of a user that said hello.
func (s *Server) reachableLocked(userID int64) []*conn {
	var list []*conn
	for c := range s.users[userID] {
		list = append(list, c)
	}
	return list
}

// busyLocked reports whether a user is in a conference or a ringing call.
func (s *Server) busyLocked(userID int64) bool {
	for c := range s.conns {
		if c.user != nil && c.user.ID == userID && c.inRoom() {
			return true
		}
	}
	for _, call := range s.calls {
		if call.callee == userID || (call.caller.user != nil && call.caller.user.ID == userID) {
			return true
		}
	}
	return false
}

func (c *conn) inRoom() bool {
	c.mu.Lock()
	handle := c.handle
	c.mu.Unlock()
	return handle != nil && handle.InConference()
}

// answerCall accepts or declines a ringing call from one of the callee's
// connections.
func (s *Server) answerCall(c *conn, id string, accept bool, reason string) error {
	s.mu.Lock()
	ringing := s.calls[id]
	s.mu.Unlock()
	if ringing == nil || c.user == nil || c.user.ID != ringing.callee {
		return &protocol.Error{Code: "not_found", Message: "This call is not ringing any more."}
	}
	if accept {
		s.finishCall(ringing, "", "", c)
		return nil
	}
	s.finishCall(ringing, "declined", reason, c)
	return nil
}

// cancelCall hangs up a ringing call from the caller's side.
func (s *Server) cancelCall(c *conn, id string) error {
	s.mu.Lock()
	ringing := s.calls[id]
	s.mu.Unlock()
	if ringing == nil || ringing.caller != c {
		return &protocol.Error{Code: "not_found", Message: "This call is not ringing any more."}
	}
	s.finishCall(ringing, "cancelled", "", c)
	return nil
}

// finishCall stops a call ringing. An empty reason means answered by
// answeredBy; otherwise the caller's conference ends and everyone still
// ringing is told why.
func (s *Server) finishCall(ringing *call, reason, message string, answeredBy *conn) {
	ringing.once.Do(func() {
		s.mu.Lock()
		ringing.timer.Stop()
		delete(s.calls, ringing.id)
		targets := s.reachableLocked(ringing.callee)
		s.mu.Unlock()
		if reason == "" {
			ringing.caller.Send(&protocol.CallAccepted{Event: protocol.Event{Type: "call_accepted"}, Call: ringing.id})
			for _, target := range targets {
				if target != answeredBy {
					target.Send(&protocol.CallEnded{Event: protocol.Event{Type: "call_ended"}, Call: ringing.id, Reason: "answered_elsewhere"})
				}
			}
			return
		}
		// The conference goes first, so that whoever hears the call
		// ended finds no trace of it.
		if err := s.conferences.EndCall(context.Background(), ringing.conference, "call_"+reason); err != nil {
			s.logger.Error("end unanswered call", slog.String("call", ringing.id), slog.Any("error", err))
		}
		ended := &protocol.CallEnded{Event: protocol.Event{Type: "call_ended"}, Call: ringing.id, Reason: reason, Message: message}
		if ringing.caller != answeredBy || reason != "cancelled" {
			ringing.caller.Send(ended)
		}
		for _, target := range targets {
			target.Send(ended)
		}
	})
}

// dropCalls ends calls a closing connection placed.
func (s *Server) dropCalls(c *conn) {
	s.mu.Lock()
	var placed []*call
	for _, ringing := range s.calls {
		if ringing.caller == c {
			placed = append(placed, ringing)
		}
	}
	s.mu.Unlock()
	for _, ringing := range placed {
		s.finishCall(ringing, "cancelled", "", c)
	}
}

func newCallID() string { return conference.NewID("c_") }

// Presence tells, per user, whether they can be called now: "available"
// with a connection that said hello, "busy" in a conference or a ringing
// call, "offline" otherwise.
func (s *Server) Presence(userIDs []int64) map[int64]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	presence := make(map[int64]string, len(userIDs))
	for _, id := range userIDs {
		switch {
		case s.busyLocked(id):
			presence[id] = "busy"
		case len(s.users[id]) > 0:
			presence[id] = "available"
		default:
			presence[id] = "offline"
		}
	}
	return presence
}

// UsersOnline counts the distinct signed-in users with a connection.
func (s *Server) UsersOnline() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	users := map[int64]bool{}
	for c := range s.conns {
		if c.user != nil {
			users[c.user.ID] = true
		}
	}
	return len(users)
}
