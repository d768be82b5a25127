package ui

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/parleyhq/parley/server/client"
)

// Session is the app's connection to one server: its API client, the CA
// trusted for it, and who is signed in (nobody for a guest).
type Session struct {
	Client     *client.Client
	CA         []byte           // nil: the system's roots
	Me         *client.Identity // nil for a guest
	GuestName  string
	ServerName string
	// Host is the embedded server when the session is with it.
	Host Host
}

// ShareURL is the address to give colleagues: the embedded server's LAN
// address, or the address this app reached the server at.
func (s *Session) ShareURL() string {
	if s.Host != nil {
		return s.Host.URL()
	}
	return s.Client.BaseURL()
}

// canAudit: may read the admin views (owner, admin, security admin).
func (s *Session) canAudit() bool { return s.Me != nil && s.Me.User.Role.CanAudit() }

// canAdminister: may change users, groups and settings.
func (s *Session) canAdminister() bool { return s.Me != nil && s.Me.User.Role.CanAdminister() }

// hasRight reports a right of the signed-in user; administrators have all.
func (s *Session) hasRight(right string) bool {
	return s.canAdminister() || s.Me != nil && slices.Contains(s.Me.Rights, right)
}

// Connection is what a meeting needs from the session.
func (s *Session) Connection() Connection {
	conn := Connection{Client: s.Client, GuestName: s.GuestName}
	if s.Me != nil {
		me := s.Me.User
		conn.User = &me
	}
	return conn
}

// Connection is a way into a server's meetings: an API client (signed in,
// or not for guests) and who is joining.
type Connection struct {
	Client    *client.Client
	User      *client.User // nil for a guest
	GuestName string       // a guest's name
}

// hostClient makes a client of the embedded server. It answers on
// localhost unless its listen address is one LAN address, when only its
// shareable address reaches it.
func hostClient(ctx context.Context, host Host) (*client.Client, error) {
	var firstErr error
	for _, base := range []string{host.LocalURL(), host.URL()} {
		c, err := client.New(base, client.Options{CACertPEM: host.CACertificatePEM()})
		if err != nil {
			return nil, err
		}
		_, err = c.Status(ctx)
		if err == nil {
			return c, nil
		}
		c.Close()
		firstErr = cmp.Or(firstErr, err)
		var netErr *net.OpError
		if !errors.As(err, &netErr) {
			break // it answered, but wrongly: another address will not help
		}
	}
	return nil, fmt.Errorf("reach the server on this computer: %w", firstErr)
}

// hostSession signs the person at this computer in as the owner, without
// a password (Host.DesktopToken).
func hostSession(ctx context.Context, host Host) (*Session, error) {
	token, err := host.DesktopToken(ctx)
	if err != nil {
		return nil, err
	}
	c, err := hostClient(ctx, host)
	if err != nil {
		return nil, err
	}
	c.SetToken(token)
	me, err := c.Me(ctx)
	if err != nil {
		return nil, fmt.Errorf("desktop session: %w", err)
	}
	status, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	return &Session{Client: c, CA: host.CACertificatePEM(), Me: &me, ServerName: status.Server.Name, Host: host}, nil
}

// waitForPortChange waits until the embedded server listens on another
// port than before (it restarts its web listener when the settings
// change), for up to a while.
func waitForPortChange(ctx context.Context, host Host, before int) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	for {
		if port := host.HTTPSPort(); port != 0 && port != before {
			return port, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("the server did not move from port %d: %w", before, ctx.Err())
		case <-ticker.C:
		}
	}
}

// reconnectHost re-creates the session's client after a settings change
// restarted the embedded server's web listener on another port or
// address, keeping its token.
func reconnectHost(ctx context.Context, session *Session, oldPort int, portChanged bool) (*Session, error) {
	if portChanged {
		if _, err := waitForPortChange(ctx, session.Host, oldPort); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		// The old listener may still answer for a moment: let it go.
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("reach the server after it moved: %w", ctx.Err())
		case <-time.After(300 * time.Millisecond):
		}
		c, err := hostClient(ctx, session.Host)
		if err != nil {
			continue
		}
		c.SetToken(session.Client.Token())
		session.Client.Close()
		moved := *session
		moved.Client = c
		return &moved, nil
	}
}
