package turnserver

import (
	"errors"
	"io"
	"log/slog"
	"maps"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

var errShuttingDown = errors.New("turn: shutting down")

const (
	minAcceptRetryDelay = 5 * time.Millisecond
	maxAcceptRetryDelay = time.Second
)

// sockets keeps every socket of one Serve run (listeners, accepted
// connections, relays) so that shutdown can close them all and then wait
// until no goroutine is blocked reading one.
//
// pion/turn starts its goroutines itself and offers no way to wait for
// them, but each of them loops on reads from one of these sockets and ends
// when a read fails: once all are closed and no read is in flight, what is
// left of them is a few instructions to return.
type sockets struct {
	log *slog.Logger

	mu      sync.Mutex
	open    map[io.Closer]struct{}
	closing atomic.Bool
	reads   atomic.Int64 // reads and accepts in flight
	idle    *sync.Cond   // broadcast (with mu) when reads drops to zero while closing
}

func newSockets(log *slog.Logger) *sockets {
	s := &sockets{log: log, open: map[io.Closer]struct{}{}}
	s.idle = sync.NewCond(&s.mu)
	return s
}

func (s *sockets) add(c io.Closer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return errShuttingDown
	}
	s.open[c] = struct{}{}
	return nil
}

func (s *sockets) remove(c io.Closer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.open, c)
}

// closeAll closes every socket and refuses new ones.
func (s *sockets) closeAll() {
	s.mu.Lock()
	s.closing.Store(true)
	open := slices.Collect(maps.Keys(s.open))
	s.mu.Unlock()
	for _, c := range open {
		// Shutting down: a socket that fails to close is gone all the same.
		_ = c.Close()
	}
}

// waitIdle waits until no read is in flight; reads started after closeAll
// fail at once.
func (s *sockets) waitIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.reads.Load() > 0 {
		s.idle.Wait()
	}
}

func (s *sockets) beginRead() { s.reads.Add(1) }

func (s *sockets) endRead() {
	if s.reads.Add(-1) == 0 && s.closing.Load() {
		s.mu.Lock()
		s.idle.Broadcast()
		s.mu.Unlock()
	}
}

// closeOnce closes a tracked socket once: both pion and shutdown close
// relays, and pion logs an error when a second Close fails.
type closeOnce struct {
	once sync.Once
	err  error
}

func (c *closeOnce) close(s *sockets, tracked, inner io.Closer) error {
	c.once.Do(func() {
		s.remove(tracked)
		c.err = inner.Close()
	})
	return c.err
}

// trackPacketConn registers conn; when shutting down it closes conn instead.
func (s *sockets) trackPacketConn(conn net.PacketConn) (net.PacketConn, error) {
	tracked := &trackedPacketConn{PacketConn: conn, sockets: s}
	if err := s.add(tracked); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return tracked, nil
}

func (s *sockets) trackConn(conn net.Conn) (net.Conn, error) {
	tracked := &trackedConn{Conn: conn, sockets: s}
	if err := s.add(tracked); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return tracked, nil
}

func (s *sockets) trackListener(listener net.Listener) (net.Listener, error) {
	tracked := &trackedListener{Listener: listener, sockets: s}
	if err := s.add(tracked); err != nil {
		_ = listener.Close()
		return nil, err
	}
	return tracked, nil
}

type trackedPacketConn struct {
	net.PacketConn
	sockets *sockets
	closed  closeOnce
}

func (c *trackedPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	c.sockets.beginRead()
	defer c.sockets.endRead()
	return c.PacketConn.ReadFrom(p)
}

func (c *trackedPacketConn) Close() error { return c.closed.close(c.sockets, c, c.PacketConn) }

type trackedConn struct {
	net.Conn
	sockets *sockets
	closed  closeOnce
}

func (c *trackedConn) Read(p []byte) (int, error) {
	c.sockets.beginRead()
	defer c.sockets.endRead()
	return c.Conn.Read(p)
}

func (c *trackedConn) Close() error { return c.closed.close(c.sockets, c, c.Conn) }

// trackedListener tracks the connections it accepts, which pion serves on
// goroutines of their own and never closes when the listener closes.
type trackedListener struct {
	net.Listener
	sockets *sockets
	closed  closeOnce
}

func (l *trackedListener) Accept() (net.Conn, error) {
	// The accepted connection is registered inside the read, so that
	// waitIdle cannot miss it.
	l.sockets.beginRead()
	defer l.sockets.endRead()
	delay := minAcceptRetryDelay
	for {
		conn, err := l.Listener.Accept()
		if err == nil {
			return l.sockets.trackConn(conn)
		}
		if errors.Is(err, net.ErrClosed) {
			return nil, err
		}
		// pion stops accepting at the first error, but most are passing
		// (out of file descriptors, a connection reset before it was
		// accepted); wait them out as net/http does.
		l.sockets.log.Warn("TURN accept failed, retrying", slog.Any("address", l.Addr()), slog.Any("error", err))
		time.Sleep(delay)
		delay = min(2*delay, maxAcceptRetryDelay)
	}
}

func (l *trackedListener) Close() error { return l.closed.close(l.sockets, l, l.Listener) }
