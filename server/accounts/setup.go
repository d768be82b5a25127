package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/parleyhq/parley/server/problem"
	"time"

	"github.com/parleyhq/parley/server/eventlog"
	"github.com/parleyhq/parley/server/store"
)

// setupLinkLifetime bounds how long a printed setup link stays usable; a
// restart prints a fresh one.
const setupLinkLifetime = 24 * time.Hour

// ErrSetupDone is returned when the server already has an owner.
var ErrSetupDone = &problem.Error{Kind: problem.Gone, Message: "this server is already set up; sign in instead"}

// NewSetupToken replaces any unused setup token by a new one, for the link
// that `parley serve` prints while the server has no owner.
func (s *Service) NewSetupToken(ctx context.Context) (string, error) {
	token, hash, err := newToken()
	if err != nil {
		return "", err
	}
	now := s.now()
	err = s.db.Write(ctx, func(tx *sql.Tx) error {
		if exists, err := ownerExists(ctx, tx); err != nil || exists {
			return errors.Join(err, ErrSetupDone)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM setup_tokens WHERE used_at = 0`); err != nil {
			return fmt.Errorf("replace setup token: %w", err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES (?, ?, ?)`,
			hash, store.Millis(now), store.Millis(now.Add(setupLinkLifetime)))
		if err != nil {
			return fmt.Errorf("store setup token: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// CheckSetupToken tells whether token may still create the owner: NotFound
// for a token that never existed, Gone for one used, expired or replaced by
// an owner made some other way.
func (s *Service) CheckSetupToken(ctx context.Context, token string) error {
	return checkSetupToken(ctx, s.db.SQL(), token, s.now())
}

func checkSetupToken(ctx context.Context, q querier, token string, now time.Time) error {
	if token == "" || len(token) > 100 {
		return problem.New(problem.NotFound, "unknown setup link")
	}
	var expires, used int64
	err := q.QueryRowContext(ctx, `SELECT expires_at, used_at FROM setup_tokens WHERE token_hash = ?`, hashToken(token)).
		Scan(&expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return problem.New(problem.NotFound, "unknown setup link")
	}
	if err != nil {
		return fmt.Errorf("look up setup token: %w", err)
	}
	if used != 0 {
		return problem.New(problem.Gone, "this setup link has already been used; sign in instead")
	}
	if store.Millis(now) >= expires {
		return problem.New(problem.Gone, "this setup link has expired; restart Parley to get a new one")
	}
	if exists, err := ownerExists(ctx, q); err != nil || exists {
		return errors.Join(err, ErrSetupDone)
	}
	return nil
}

// CompleteSetup creates the owner with a valid setup token, spends the
// token and signs the owner in, all in one transaction: two visitors racing
// with the same link cannot both become owner.
func (s *Service) CompleteSetup(ctx context.Context, token string, owner NewUser, source string) (string, Session, User, error) {
	owner.Role = Owner
	owner.Groups = nil
	if err := s.checkNewUser(&owner); err != nil {
		return "", Session{}, User{}, err
	}
	if err := s.CheckSetupToken(ctx, token); err != nil {
		return "", Session{}, User{}, err
	}
	hash, err := s.hasher.Hash(owner.Password)
	if err != nil {
		return "", Session{}, User{}, err
	}
	var (
		sessionToken string
		session      Session
		id           int64
	)
	err = s.db.Write(ctx, func(tx *sql.Tx) error {
		now := s.now()
		if err := checkSetupToken(ctx, tx, token, now); err != nil {
			return err
		}
		if id, err = insertUser(ctx, tx, owner, hash); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE setup_tokens SET used_at = ?, used_by = ? WHERE token_hash = ?`,
			store.Millis(now), id, hashToken(token)); err != nil {
			return fmt.Errorf("spend setup token: %w", err)
		}
		if sessionToken, session, err = s.createSession(ctx, tx, id, CookieSession, "setup", source); err != nil {
			return err
		}
		return eventlog.Append(ctx, tx, eventlog.Entry{Kind: eventlog.SetupOwnerCreated,
			Actor: eventlog.Actor{UserID: id, Source: source}, SubjectUserID: id,
			Details: map[string]any{"login": owner.Login}})
	})
	if err != nil {
		return "", Session{}, User{}, err
	}
	user, err := s.User(ctx, id)
	return sessionToken, session, user, err
}
