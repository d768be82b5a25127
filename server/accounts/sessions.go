package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"github.com/parleyhq/parley/server/problem"
	"time"

	"github.com/parleyhq/parley/server/eventlog"
	"github.com/parleyhq/parley/server/store"
)

// SessionKind tells how a session's token travels.
type SessionKind string

const (
	CookieSession SessionKind = "cookie" // a browser's HttpOnly cookie
	BearerSession SessionKind = "bearer" // an API client's Authorization header
)

// Session is a signed-in client.
type Session struct {
	ID        int64       `json:"id"`
	UserID    int64       `json:"user_id"`
	Kind      SessionKind `json:"kind"`
	Label     string      `json:"label,omitempty"`
	Source    string      `json:"source,omitempty"`
	CreatedAt time.Time   `json:"created_at"`
	ExpiresAt time.Time   `json:"expires_at"`
}

// Tokens are 256 random bits; the database keeps only their SHA-256, so a
// copy of the database signs nobody in.
func newToken() (token string, hash []byte, err error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, fmt.Errorf("new token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(raw)
	return token, hashToken(token), nil
}

func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// touchEvery limits how often a session's last use is written, so that
// every API call is not a database write.
const touchEvery = time.Minute

func (s *Service) createSession(ctx context.Context, tx *sql.Tx, userID int64, kind SessionKind, label, source string) (string, Session, error) {
	token, hash, err := newToken()
	if err != nil {
		return "", Session{}, err
	}
	now := s.now()
	expires := now.Add(time.Duration(s.settings().SessionDays) * 24 * time.Hour)
	res, err := tx.ExecContext(ctx,
		`INSERT INTO sessions (token_hash, user_id, kind, label, source, created_at, last_seen_at, expires_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		hash, userID, kind, label, source, store.Millis(now), store.Millis(now), store.Millis(expires))
	if err != nil {
		return "", Session{}, fmt.Errorf("create session: %w", err)
	}
	id, _ := res.LastInsertId()
	return token, Session{ID: id, UserID: userID, Kind: kind, Label: label, Source: source,
		CreatedAt: now.UTC(), ExpiresAt: expires.UTC()}, nil
}

// ErrNoSession is returned for a missing, unknown, expired or revoked token.
var ErrNoSession = &problem.Error{Kind: problem.BadCredentials, Message: "not signed in, or the session has ended; sign in again"}

// Authenticate returns the session and user behind token.
func (s *Service) Authenticate(ctx context.Context, token string) (Session, User, error) {
	if token == "" || len(token) > 100 {
		return Session{}, User{}, ErrNoSession
	}
	var (
		session                Session
		created, seen, expires int64
		revoked                int64
	)
	err := s.db.SQL().QueryRowContext(ctx,
		`SELECT id, user_id, kind, label, source, created_at, last_seen_at, expires_at, revoked_at
		 FROM sessions WHERE token_hash = ?`, hashToken(token)).
		Scan(&session.ID, &session.UserID, &session.Kind, &session.Label, &session.Source, &created, &seen, &expires, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, User{}, ErrNoSession
	}
	if err != nil {
		return Session{}, User{}, fmt.Errorf("look up session: %w", err)
	}
	now := s.now()
	if revoked != 0 || store.Millis(now) >= expires {
		return Session{}, User{}, ErrNoSession
	}
	session.CreatedAt, session.ExpiresAt = store.FromMillis(created), store.FromMillis(expires)
	user, err := s.User(ctx, session.UserID)
	if err != nil {
		return Session{}, User{}, err
	}
	if !user.Enabled {
		return Session{}, User{}, ErrNoSession
	}
	if now.Sub(store.FromMillis(seen)) > touchEvery {
		if _, err := s.db.SQL().ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id = ?`, store.Millis(now), session.ID); err != nil {
			return Session{}, User{}, fmt.Errorf("touch session: %w", err)
		}
	}
	return session, user, nil
}

// SignOut revokes one session.
func (s *Service) SignOut(ctx context.Context, actor eventlog.Actor, sessionID int64) error {
	return s.db.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at = 0`,
			store.Millis(s.now()), sessionID); err != nil {
			return fmt.Errorf("sign out: %w", err)
		}
		return eventlog.Append(ctx, tx, eventlog.Entry{Kind: eventlog.SignOut, Actor: actor, SubjectUserID: actor.UserID,
			Details: map[string]any{"session": sessionID}})
	})
}

// revokeAll ends every session of a user but keep (0 for none).
func revokeAll(ctx context.Context, tx *sql.Tx, userID, keep int64) error {
	if _, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND id <> ? AND revoked_at = 0`,
		store.NowMillis(), userID, keep); err != nil {
		return fmt.Errorf("revoke sessions of user %d: %w", userID, err)
	}
	return nil
}

// Purge deletes sessions that ended more than a month ago and sign-in
// failures older than a day; the store's maintenance calls it.
func (s *Service) Purge(ctx context.Context) error {
	now := s.now()
	monthAgo := store.Millis(now.Add(-30 * 24 * time.Hour))
	dayAgo := store.Millis(now.Add(-24 * time.Hour))
	return s.db.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`DELETE FROM sessions WHERE expires_at < ? OR (revoked_at <> 0 AND revoked_at < ?)`, monthAgo, monthAgo); err != nil {
			return fmt.Errorf("purge sessions: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE at < ?`, dayAgo); err != nil {
			return fmt.Errorf("purge sign-in failures: %w", err)
		}
		return nil
	})
}

// HostSession opens a bearer session for a user without a password: for
// the desktop app on the host, whose person is the server's owner. Only
// code running on the host calls it; no network request can.
func (s *Service) HostSession(ctx context.Context, userID int64, label string) (string, Session, error) {
	user, err := s.User(ctx, userID)
	if err != nil {
		return "", Session{}, err
	}
	if !user.Enabled {
		return "", Session{}, problem.New(problem.Disabled, "this account is disabled")
	}
	var (
		token   string
		session Session
	)
	err = s.db.Write(ctx, func(tx *sql.Tx) error {
		// A host session replaces the last one of the same label: a program
		// on the host that crashed cannot sign out, and its sessions would
		// pile up.
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND label = ? AND source = 'host' AND revoked_at = 0`,
			store.Millis(s.now()), userID, label); err != nil {
			return fmt.Errorf("replace host session: %w", err)
		}
		if token, session, err = s.createSession(ctx, tx, userID, BearerSession, label, "host"); err != nil {
			return err
		}
		return eventlog.Append(ctx, tx, eventlog.Entry{Kind: eventlog.SignIn, Actor: eventlog.Actor{UserID: userID, Source: "host"},
			SubjectUserID: userID, Details: map[string]any{"session": session.ID, "kind": BearerSession, "method": "host"}})
	})
	if err != nil {
		return "", Session{}, err
	}
	return token, session, nil
}

// Owner returns the server's owner.
func (s *Service) Owner(ctx context.Context) (User, error) {
	return s.loadUser(ctx, s.db.SQL(), "role = ?", Owner)
}
