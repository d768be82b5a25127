package web

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"
)

// One TCP port carries HTTPS and ICE-TCP media (RFC 6544): the first bytes
// of a connection tell them apart. A TLS connection opens with a handshake
// record (type 22); an ICE-TCP one with a STUN binding request framed as in
// RFC 4571: a two-byte length, then the STUN header whose magic cookie sits
// at bytes 4 to 7 of the message.
const (
	tlsHandshakeRecord = 0x16
	stunMagicCookie    = 0x2112A442
	// framedSTUNPrefix is how much of an ICE-TCP connection is read to
	// recognise it: the frame length and the STUN header up to the cookie.
	framedSTUNPrefix = 2 + 8
	// sniffTimeout bounds the wait for a new connection's first bytes, so
	// that silent connections do not pile up.
	sniffTimeout = 10 * time.Second
)

// kindOf says what a connection's first bytes are: TLS, ICE-TCP, or
// neither.
func kindOf(prefix []byte) connectionKind {
	if len(prefix) >= 1 && prefix[0] == tlsHandshakeRecord {
		return tlsConnection
	}
	if len(prefix) >= framedSTUNPrefix && prefix[2]&0xC0 == 0 &&
		binary.BigEndian.Uint32(prefix[6:10]) == stunMagicCookie {
		return iceTCPConnection
	}
	return unknownConnection
}

type connectionKind int

const (
	unknownConnection connectionKind = iota
	tlsConnection
	iceTCPConnection
)

// demuxListener hands the TLS connections of a TCP listener to Accept and
// the ICE-TCP ones to iceTCP; it closes anything else.
type demuxListener struct {
	net.Listener
	iceTCP func(net.Conn)
	logger *slog.Logger

	tls     chan net.Conn
	closing context.Context // done once the listener closes
	close   context.CancelFunc
	once    sync.Once
	done    sync.WaitGroup
}

func newDemuxListener(l net.Listener, iceTCP func(net.Conn), logger *slog.Logger) *demuxListener {
	closing, close := context.WithCancel(context.Background())
	d := &demuxListener{Listener: l, iceTCP: iceTCP, logger: logger, tls: make(chan net.Conn), closing: closing, close: close}
	d.done.Go(d.acceptLoop)
	return d
}

func (d *demuxListener) acceptLoop() {
	defer d.Close()
	var sniffing sync.WaitGroup
	defer sniffing.Wait()
	for {
		conn, err := d.Listener.Accept()
		if err != nil {
			var temporary interface{ Timeout() bool }
			if errors.As(err, &temporary) && temporary.Timeout() {
				continue
			}
			return
		}
		sniffing.Go(func() { d.route(conn) })
	}
}

// route reads a connection's first bytes and passes it on.
func (d *demuxListener) route(conn net.Conn) {
	_ = conn.SetReadDeadline(time.Now().Add(sniffTimeout))
	// Closing the listener ends the wait for first bytes at once.
	stop := context.AfterFunc(d.closing, func() { _ = conn.SetReadDeadline(time.Now()) })
	reader := bufio.NewReaderSize(conn, 4096)
	first, err := reader.Peek(1)
	if err == nil && first[0] != tlsHandshakeRecord {
		first, err = reader.Peek(framedSTUNPrefix)
	}
	if stop() {
		_ = conn.SetReadDeadline(time.Time{})
	} else {
		err = net.ErrClosed
	}
	if err != nil {
		conn.Close()
		return
	}
	peeked := &peekedConn{Conn: conn, reader: reader}
	switch kindOf(first) {
	case tlsConnection:
		select {
		case d.tls <- peeked:
		case <-d.closing.Done():
			conn.Close()
		}
	case iceTCPConnection:
		if d.iceTCP == nil {
			conn.Close()
			return
		}
		d.iceTCP(peeked)
	default:
		d.logger.Debug("closed a connection that is neither TLS nor ICE-TCP", slog.String("from", conn.RemoteAddr().String()))
		conn.Close()
	}
}

// Accept returns the next TLS connection.
func (d *demuxListener) Accept() (net.Conn, error) {
	select {
	case conn := <-d.tls:
		return conn, nil
	case <-d.closing.Done():
		return nil, net.ErrClosed
	}
}

// Close stops accepting; connections already handed on stay open.
func (d *demuxListener) Close() error {
	var err error
	d.once.Do(func() {
		d.close()
		err = d.Listener.Close()
	})
	return err
}

// wait returns once the accept loop and every sniffing goroutine ended.
func (d *demuxListener) wait() { d.done.Wait() }

// peekedConn replays the bytes read to recognise the connection.
type peekedConn struct {
	net.Conn
	reader *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.reader.Read(p) }
