package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/coder/websocket"

	"github.com/parleyhq/parley/server/protocol"
)

// Signal is a signalling connection (docs/protocol.md).
type Signal struct {
	ws     *websocket.Conn
	events chan Incoming
	nextID atomic.Int64
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	waiting map[int64]chan any
	err     error
}

// Incoming is a server event that answers no request of ours.
type Incoming struct {
	Type  string
	Event any // a pointer to a protocol type, e.g. *protocol.Joined
}

// Signal opens a signalling connection with this client's session.
func (c *Client) Signal(ctx context.Context) (*Signal, error) {
	target := *c.base
	target.Scheme = "wss"
	target.Path = "/api/v1/signal"
	header := http.Header{"Origin": {strings.TrimSuffix(c.base.String(), "/")}}
	if token := c.Token(); token != "" {
		header.Set("Authorization", "Bearer "+token)
	}
	ws, resp, err := websocket.Dial(ctx, target.String(), &websocket.DialOptions{
		HTTPClient: c.http, HTTPHeader: header, Subprotocols: []string{protocol.Subprotocol},
	})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("signalling connection refused (%d): %w", resp.StatusCode, err)
		}
		return nil, fmt.Errorf("signalling connection: %w", err)
	}
	ws.SetReadLimit(1 << 20)
	readCtx, cancel := context.WithCancel(context.Background())
	s := &Signal{ws: ws, events: make(chan Incoming, 1024), cancel: cancel, done: make(chan struct{}), waiting: map[int64]chan any{}}
	go s.read(readCtx)
	return s, nil
}

// Events delivers what the server sends unasked; it closes when the
// connection ends.
func (s *Signal) Events() <-chan Incoming { return s.events }

// Err is why the connection ended, once Events is closed.
func (s *Signal) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *Signal) read(ctx context.Context) {
	defer close(s.done)
	defer close(s.events)
	for {
		_, data, err := s.ws.Read(ctx)
		if err != nil {
			s.mu.Lock()
			s.err = err
			for id, ch := range s.waiting {
				close(ch)
				delete(s.waiting, id)
			}
			s.mu.Unlock()
			return
		}
		kind, event, err := protocol.DecodeEvent(data)
		if err != nil {
			continue // an event this client does not know
		}
		var head struct {
			Re int64 `json:"re"`
		}
		_ = json.Unmarshal(data, &head)
		if head.Re != 0 {
			s.mu.Lock()
			ch := s.waiting[head.Re]
			delete(s.waiting, head.Re)
			s.mu.Unlock()
			if ch != nil {
				ch <- event
				continue
			}
		}
		select {
		case s.events <- Incoming{Type: kind, Event: event}:
		default:
			// Nobody reads events: drop them rather than stall answers.
		}
	}
}

// Request sends a request (type and id are set here) and waits for its
// answer. An error answer comes back as *protocol.Error.
func (s *Signal) Request(ctx context.Context, kind string, request interface{ SetRequest(string, int64) }) (any, error) {
	id := s.nextID.Add(1)
	request.SetRequest(kind, id)
	answer := make(chan any, 1)
	s.mu.Lock()
	s.waiting[id] = answer
	s.mu.Unlock()
	if err := s.Send(ctx, request); err != nil {
		s.mu.Lock()
		delete(s.waiting, id)
		s.mu.Unlock()
		return nil, err
	}
	select {
	case event, ok := <-answer:
		if !ok {
			return nil, fmt.Errorf("%s: the connection closed: %w", kind, s.Err())
		}
		var failure *protocol.Error
		if errors.As(asError(event), &failure) {
			return nil, failure
		}
		return event, nil
	case <-ctx.Done():
		s.mu.Lock()
		delete(s.waiting, id)
		s.mu.Unlock()
		return nil, fmt.Errorf("%s: %w", kind, ctx.Err())
	}
}

func asError(event any) error {
	if failure, ok := event.(*protocol.Error); ok {
		return failure
	}
	return nil
}

// Send sends a message without waiting for an answer.
func (s *Signal) Send(ctx context.Context, message any) error {
	data, err := json.Marshal(message)
	if err != nil {
		return fmt.Errorf("encode message: %w", err)
	}
	return s.SendRaw(ctx, data)
}

// SendRaw sends bytes as they are, for tests of bad input.
func (s *Signal) SendRaw(ctx context.Context, data []byte) error {
	if err := s.ws.Write(ctx, websocket.MessageText, data); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	return nil
}

// Close ends the connection.
func (s *Signal) Close() {
	s.ws.Close(websocket.StatusNormalClosure, "")
	s.cancel()
	<-s.done
}
