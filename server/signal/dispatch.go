package signal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/parleyhq/parley/server/accounts"
	"github.com/parleyhq/parley/server/conference"
	"github.com/parleyhq/parley/server/protocol"
)

// dispatch carries out one request and answers it.
func (c *conn) dispatch(ctx context.Context, request protocol.Request) {
	re := request.RequestID()
	var err error
	switch m := request.(type) {
	case *protocol.Join:
		err = c.join(ctx, m)
	case *protocol.Hello:
		err = c.hello(re)
	case *protocol.Leave:
		c.mu.Lock()
		handle := c.handle
		c.handle = nil
		c.mu.Unlock()
		if handle != nil {
			handle.Leave()
		}
		c.Send(ok(re))
	case *protocol.Call:
		err = c.server.placeCall(ctx, c, m)
	case *protocol.CallAccept:
		err = c.server.answerCall(c, m.Call, true, "")
		c.answer(re, err)
	case *protocol.CallDecline:
		err = c.server.answerCall(c, m.Call, false, m.Reason)
		c.answer(re, err)
	case *protocol.CallCancel:
		err = c.server.cancelCall(c, m.Call)
		c.answer(re, err)
	default:
		handle := c.current()
		if handle == nil {
			c.Send(errorEvent(re, "not_joined", "Join a conference first."))
			return
		}
		c.inConference(handle, request)
		return
	}
	if err != nil {
		c.fail(re, err)
	}
}

// answer sends ok for a request that asked for an answer, or its error.
func (c *conn) answer(re int64, err error) {
	switch {
	case err != nil:
	case re != 0:
		c.Send(ok(re))
	}
}

// fail reports an error to the client: protocol errors as they are, other
// failures as "internal" with the detail in the log only.
func (c *conn) fail(re int64, err error) {
	var protocolErr *protocol.Error
	if errors.As(err, &protocolErr) {
		answer := *protocolErr
		answer.Type, answer.Re = "error", re
		c.Send(&answer)
		return
	}
	c.server.logger.Error("signalling request failed", slog.String("source", c.source), slog.Any("error", err))
	c.Send(errorEvent(re, "internal", "The server failed to handle this; see its log."))
}

// current is the connection's participant while it is in a conference.
func (c *conn) current() *conference.Handle {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.handle != nil && !c.handle.Active() {
		c.handle = nil
	}
	return c.handle
}

func (c *conn) join(ctx context.Context, m *protocol.Join) error {
	if c.current() != nil {
		return &protocol.Error{Code: "already_joined", Message: "This connection is already in a conference; leave first."}
	}
	var (
		handle *conference.Handle
		err    error
	)
	if m.Resume != "" {
		handle, err = c.server.conferences.Resume(m.Resume, c, m.ID)
	} else {
		user, source := c.user, c.source
		if m.Phone != nil {
			if user, err = c.phoneUser(ctx, m.Phone); err != nil {
				return err
			}
			source = m.Phone.Address
		}
		handle, err = c.server.conferences.Join(ctx, conference.JoinRequest{
			RequestID: m.ID, CID: m.Conference, Name: m.Name, PIN: m.PIN, Muted: mutedOf(m), User: user, Phone: m.Phone, Source: source, Member: c,
		})
	}
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.handle = handle
	c.mu.Unlock()
	return nil
}

// phoneUser checks that a join for a telephone caller comes from the
// gateway, and finds the Parley user the phone signed in as, if any.
func (c *conn) phoneUser(ctx context.Context, phone *protocol.Phone) (*accounts.User, error) {
	if !c.gateway {
		return nil, &protocol.Error{Code: "forbidden", Field: "phone", Message: "Only the SIP gateway joins phones."}
	}
	if phone.UserID == 0 {
		return nil, nil
	}
	user, err := c.server.accounts.User(ctx, phone.UserID)
	if err != nil {
		return nil, fmt.Errorf("the phone's user %d: %w", phone.UserID, err)
	}
	if !user.Enabled {
		return nil, &protocol.Error{Code: "forbidden", Field: "phone", Message: "This account is disabled."}
	}
	return &user, nil
}

// inConference carries out a request that needs a conference.
func (c *conn) inConference(h *conference.Handle, request protocol.Request) {
	re := request.RequestID()
	var err error
	switch m := request.(type) {
	case *protocol.Publish:
		var answer string
		if answer, err = h.Publish(m.SDP, m.Tracks); err == nil {
			c.Send(&protocol.PublishAnswer{Event: protocol.Event{Type: "publish_answer", Re: re}, SDP: answer})
			return
		}
	case *protocol.SubscribeAnswer:
		err = h.SubscribeAnswer(m.SDP)
	case *protocol.Candidate:
		err = h.Candidate(m.Target, m.Candidate)
	case *protocol.RestartICE:
		err = h.RestartICE()
	case *protocol.Layer:
		err = h.Layer(m.Track, m.Width, m.Height, m.Paused)
	case *protocol.Mute:
		err = h.Mute(m.Source, m.Muted)
	case *protocol.ChatSend:
		var message protocol.ChatMessage
		if message, err = h.Chat(m.Text, m.To); err == nil {
			c.Send(&protocol.Chat{Event: protocol.Event{Type: "chat", Re: re}, Message: message})
			return
		}
	case *protocol.ChatEdit:
		var message protocol.ChatMessage
		if message, err = h.ChatEdit(m.Message, m.Text); err == nil {
			c.Send(&protocol.Chat{Event: protocol.Event{Type: "chat_updated", Re: re}, Message: message})
			return
		}
	case *protocol.ChatDelete:
		var message protocol.ChatMessage
		if message, err = h.ChatDelete(m.Message); err == nil {
			c.Send(&protocol.Chat{Event: protocol.Event{Type: "chat_updated", Re: re}, Message: message})
			return
		}
	case *protocol.Admit:
		err = h.Admit(m.Participant, m.All)
	case *protocol.Refuse:
		err = h.Refuse(m.Participant, m.All)
	case *protocol.MuteParticipant:
		err = h.MuteParticipant(m.Participant, m.Source, m.Force)
	case *protocol.AllowUnmute:
		err = h.AllowUnmute(m.Participant, m.Source)
	case *protocol.Remove:
		err = h.Remove(m.Participant)
	case *protocol.Dial:
		var call string
		if call, err = c.dial(h, m.Target); err == nil {
			c.Send(&protocol.Dialing{Event: protocol.Event{Type: "dialing", Re: re}, Call: call})
			return
		}
	case *protocol.DialCancel:
		err = c.cancelDial(h, m.Call)
	case *protocol.SetRole:
		err = h.SetRole(m.Participant, m.Role)
	case *protocol.Lock:
		err = h.Lock(m.Locked)
	case *protocol.SetPIN:
		var pin string
		if pin, err = h.SetPIN(m.PIN); err == nil {
			c.Send(&protocol.PIN{Event: protocol.Event{Type: "pin", Re: re}, PIN: pin})
			return
		}
	case *protocol.End:
		err = h.End()
	}
	if err != nil {
		c.fail(re, err)
		return
	}
	c.answer(re, nil)
}

func (c *conn) hello(re int64) error {
	if c.user == nil {
		return &protocol.Error{Code: "sign_in_required", Message: "Sign in to receive calls."}
	}
	c.server.mu.Lock()
	if c.server.users[c.user.ID] == nil {
		c.server.users[c.user.ID] = map[*conn]bool{}
	}
	c.server.users[c.user.ID][c] = true
	var ringing []*call
	for _, call := range c.server.calls {
		if call.callee == c.user.ID {
			ringing = append(ringing, call)
		}
	}
	c.server.mu.Unlock()
	c.Send(ok(re))
	// A connection that comes back while a call rings rings too.
	for _, call := range ringing {
		c.Send(call.incoming)
	}
	return nil
}

func mutedOf(m *protocol.Join) protocol.Sources {
	if m.Muted == nil {
		return protocol.Sources{}
	}
	return *m.Muted
}

// dial has the SIP gateway call a phone into the conference for a
// moderator, whose connection hears how the call goes.
func (c *conn) dial(h *conference.Handle, target string) (string, error) {
	dialer := c.server.dialer()
	if dialer == nil {
		return "", &protocol.Error{Code: "unavailable", Message: "The SIP gateway is off; phones cannot be called."}
	}
	if err := h.Dialing(target); err != nil {
		return "", err
	}
	return dialer.Dial(DialRequest{CID: h.CID(), Target: target, Progress: func(call, state, reason string) {
		c.Send(&protocol.DialProgress{Event: protocol.Event{Type: "dial_progress"}, Call: call, Target: target, State: state, Reason: reason})
	}})
}

func (c *conn) cancelDial(h *conference.Handle, call string) error {
	dialer := c.server.dialer()
	if dialer == nil {
		return &protocol.Error{Code: "not_found", Field: "call", Message: "There is no such call."}
	}
	if err := h.CheckModerator(); err != nil {
		return err
	}
	return dialer.Cancel(call)
}
