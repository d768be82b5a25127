// Package signal owns Parley's signalling WebSocket (docs/protocol.md):
// accepting connections, limiting them per address and per message rate,
// decoding and answering messages, handing conference work to
// server/conference, and ringing users for 1:1 calls.
package signal

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/parleyhq/parley/server/accounts"
	"github.com/parleyhq/parley/server/conference"
	"github.com/parleyhq/parley/server/protocol"
	"github.com/parleyhq/parley/server/settings"
)

// Timings and limits of connections.
const (
	pingEvery       = 20 * time.Second
	pingTimeout     = 20 * time.Second
	writeTimeout    = 10 * time.Second
	outboxSize      = 512 // events queued for a slow client before it is dropped
	burstMessages   = 50
	messagesPerSec  = 20
	badMessageLimit = 20  // garbage tolerated before the connection is closed
	floodLimit      = 200 // messages over the rate tolerated before the connection is closed
)

// Server accepts signalling connections.
type Server struct {
	conferences *conference.Service
	accounts    *accounts.Service
	settings    func() settings.Settings
	logger      *slog.Logger
	// RingTime is how long a call rings; set it before serving.
	RingTime time.Duration
	dial     atomic.Pointer[Dialer]

	mu         sync.Mutex
	perAddress map[string]int
	conns      map[*conn]bool
	users      map[int64]map[*conn]bool // reachable for calls
	calls      map[string]*call
	closed     bool
	wg         sync.WaitGroup
}

// New returns a signalling server.
func New(conferences *conference.Service, accountsService *accounts.Service, current func() settings.Settings, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.Default()
	}
	return &Server{conferences: conferences, accounts: accountsService, settings: current, logger: logger, RingTime: DefaultRingTime,
		perAddress: map[string]int{}, conns: map[*conn]bool{}, users: map[int64]map[*conn]bool{}, calls: map[string]*call{}}
}

// Dialer places calls from a conference to phones: the SIP gateway.
type Dialer interface {
	// Dial starts a call and returns its id; Progress hears each state
	// (protocol.DialRinging...) until a final one.
	Dial(DialRequest) (string, error)
	// Cancel hangs up a call that still rings.
	Cancel(call string) error
}

// DialRequest is a moderator's call to a phone.
type DialRequest struct {
	CID      string
	Target   string
	Progress func(call, state, reason string)
}

// SetDialer sets (or with nil removes) the gateway that places calls.
func (s *Server) SetDialer(d Dialer) {
	if d == nil {
		s.dial.Store(nil)
		return
	}
	s.dial.Store(&d)
}

func (s *Server) dialer() Dialer {
	if d := s.dial.Load(); d != nil {
		return *d
	}
	return nil
}

// Serve upgrades an HTTP request to a signalling connection and runs it
// until it ends. user is the signed-in caller or nil for a guest; source is
// its network address; gateway is true for this server's SIP gateway.
func (s *Server) Serve(w http.ResponseWriter, r *http.Request, user *accounts.User, source string, gateway bool) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "the server is stopping", http.StatusServiceUnavailable)
		return
	}
	if !gateway && s.perAddress[source] >= s.settings().MaxSocketsPerAddress {
		s.mu.Unlock()
		w.Header().Set("Retry-After", "10")
		http.Error(w, "too many signalling connections from this address", http.StatusTooManyRequests)
		return
	}
	s.perAddress[source]++
	s.wg.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.perAddress[source]--; s.perAddress[source] <= 0 {
			delete(s.perAddress, source)
		}
		s.mu.Unlock()
		s.wg.Done()
	}()

	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{protocol.Subprotocol}})
	if err != nil {
		return // Accept has answered the client
	}
	if ws.Subprotocol() != protocol.Subprotocol {
		ws.Close(websocket.StatusPolicyViolation, "use the subprotocol "+protocol.Subprotocol)
		return
	}
	ws.SetReadLimit(protocol.MaxMessageBytes)
	c := &conn{server: s, ws: ws, user: user, source: source, gateway: gateway, outbox: make(chan any, outboxSize),
		closing: make(chan struct{}), tokens: burstMessages, refilled: time.Now()}
	s.mu.Lock()
	s.conns[c] = true
	s.mu.Unlock()
	c.run(r.Context())
	s.mu.Lock()
	delete(s.conns, c)
	if user != nil {
		delete(s.users[user.ID], c)
		if len(s.users[user.ID]) == 0 {
			delete(s.users, user.ID)
		}
	}
	s.mu.Unlock()
}

// Close ends every connection and waits for them.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.shutdown(websocket.StatusGoingAway, "the server is stopping")
	}
	for _, call := range s.calls {
		call.timer.Stop()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// conn is one signalling connection.
type conn struct {
	server *Server
	ws     *websocket.Conn
	user   *accounts.User
	source string
	// gateway is the SIP gateway's connection: it may join telephone
	// callers, and is not held to the per-address limit (every call comes
	// from this machine).
	gateway bool

	outbox    chan any
	closing   chan struct{}
	closeOnce sync.Once
	status    websocket.StatusCode
	reason    string

	mu       sync.Mutex
	handle   *conference.Handle
	tokens   float64
	refilled time.Time
	bad      int
	flooded  int
}

// Send queues an event; a client too slow to take its events is dropped
// rather than allowed to hold up the conference.
func (c *conn) Send(event any) {
	select {
	case c.outbox <- event:
	case <-c.closing:
	default:
		c.server.logger.Warn("signalling client too slow, closing", slog.String("source", c.source))
		c.shutdown(websocket.StatusPolicyViolation, "too slow to read")
	}
}

// Close ends the connection after what is queued has been sent.
func (c *conn) Close() { c.shutdown(websocket.StatusNormalClosure, "") }

func (c *conn) shutdown(status websocket.StatusCode, reason string) {
	c.closeOnce.Do(func() {
		c.status, c.reason = status, reason
		close(c.closing)
	})
}

func (c *conn) run(parent context.Context) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	defer cancel()
	var workers sync.WaitGroup
	workers.Go(func() { c.writeLoop(ctx) })
	workers.Go(func() { c.pingLoop(ctx) })
	c.readLoop(ctx)
	c.shutdown(websocket.StatusNormalClosure, "")
	workers.Wait()
	c.mu.Lock()
	handle := c.handle
	c.handle = nil
	c.mu.Unlock()
	if handle != nil && handle.Active() {
		// The socket dropped: keep the place for a resume.
		handle.Detach()
	}
	c.server.dropCalls(c)
}

func (c *conn) readLoop(ctx context.Context) {
	for {
		select {
		case <-c.closing:
			return
		default:
		}
		kind, data, err := c.ws.Read(ctx)
		if err != nil {
			return
		}
		if kind != websocket.MessageText {
			c.badMessage(0, "send messages as text frames of JSON")
			continue
		}
		if !c.allow() {
			c.Send(errorEvent(0, "rate_limited", "Too many messages; slow down."))
			continue
		}
		request, err := protocol.Decode(data)
		if err != nil {
			var decodeErr *protocol.DecodeError
			if errors.As(err, &decodeErr) {
				event := errorEvent(decodeErr.ID, decodeErr.Code, decodeErr.Message)
				event.Field = decodeErr.Field
				c.Send(event)
				if decodeErr.Code == "bad_message" {
					c.badMessage(decodeErr.ID, "")
				}
			}
			continue
		}
		c.dispatch(ctx, request)
	}
}

// badMessage counts garbage and closes the connection when it persists.
func (c *conn) badMessage(id int64, message string) {
	if message != "" {
		c.Send(errorEvent(id, "bad_message", message))
	}
	c.mu.Lock()
	c.bad++
	tooMany := c.bad > badMessageLimit
	c.mu.Unlock()
	if tooMany {
		c.shutdown(websocket.StatusPolicyViolation, "too many malformed messages")
	}
}

// allow is a token bucket: a burst, then a steady rate.
func (c *conn) allow() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	c.tokens = min(burstMessages, c.tokens+now.Sub(c.refilled).Seconds()*messagesPerSec)
	c.refilled = now
	if c.tokens < 1 {
		c.flooded++
		if c.flooded > floodLimit {
			c.shutdown(websocket.StatusPolicyViolation, "rate limit exceeded")
		}
		return false
	}
	c.tokens--
	return true
}

func (c *conn) writeLoop(ctx context.Context) {
	write := func(event any) error {
		data, err := json.Marshal(event)
		if err != nil {
			c.server.logger.Error("encode signalling event", slog.Any("error", err))
			return nil
		}
		writeCtx, cancel := context.WithTimeout(ctx, writeTimeout)
		defer cancel()
		return c.ws.Write(writeCtx, websocket.MessageText, data)
	}
	for {
		select {
		case event := <-c.outbox:
			if err := write(event); err != nil {
				c.shutdown(websocket.StatusGoingAway, "")
				c.ws.CloseNow()
				return
			}
		case <-c.closing:
			// Flush what was queued (a final "removed" or "ended"), then close.
			if drain(c.outbox, write) != nil {
				c.ws.CloseNow()
				return
			}
			c.ws.Close(c.status, c.reason)
			return
		}
	}
}

func (c *conn) pingLoop(ctx context.Context) {
	ticker := time.NewTicker(pingEvery)
	defer ticker.Stop()
	for {
		select {
		case <-c.closing:
			return
		case <-ticker.C:
			pingCtx, cancel := context.WithTimeout(ctx, pingTimeout)
			err := c.ws.Ping(pingCtx)
			cancel()
			if err != nil {
				c.shutdown(websocket.StatusGoingAway, "no answer to ping")
				return
			}
		}
	}
}

func errorEvent(re int64, code, message string) *protocol.Error {
	return &protocol.Error{Event: protocol.Event{Type: "error", Re: re}, Code: code, Message: message}
}

func ok(re int64) *protocol.OK { return &protocol.OK{Event: protocol.Event{Type: "ok", Re: re}} }

// drain writes what is left in the outbox.
func drain(outbox chan any, write func(any) error) error {
	for {
		select {
		case event := <-outbox:
			if err := write(event); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}
