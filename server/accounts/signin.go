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

// Credentials is what a person types to sign in.
type Credentials struct {
	Login    string
	Password string
	Source   string      // network address the attempt came from
	Kind     SessionKind // cookie for browsers, bearer for API clients
	Label    string      // the client's description of itself, for the session list
}

// errWrongCredentials is deliberately the same for an unknown login and a
// wrong password, so that sign-in does not reveal which logins exist.
var errWrongCredentials = &problem.Error{Kind: problem.BadCredentials, Message: "wrong login or password"}

// SignIn checks credentials and opens a session, returning its token.
// Failures are counted per account: MaxFailures within the window lock the
// account for the lock period, even against the right password.
func (s *Service) SignIn(ctx context.Context, c Credentials) (string, Session, User, error) {
	login := normalizeLogin(c.Login)
	if len(c.Password) > maxPasswordBytes {
		return "", Session{}, User{}, errWrongCredentials
	}
	var hash string
	user, err := s.UserByLogin(ctx, login)
	if err == nil {
		err = s.db.SQL().QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = ?`, user.ID).Scan(&hash)
	}
	var notFound *problem.Error
	if errors.As(err, &notFound) && notFound.Kind == problem.NotFound {
		s.hasher.Waste(c.Password)
		s.recordFailure(ctx, c, 0, "unknown_login")
		return "", Session{}, User{}, errWrongCredentials
	}
	if err != nil {
		return "", Session{}, User{}, err
	}
	if user.LockedUntil != nil {
		s.recordFailure(ctx, c, user.ID, "locked")
		return "", Session{}, User{}, lockedError(*user.LockedUntil)
	}
	ok, err := s.hasher.Verify(hash, c.Password)
	if err != nil {
		return "", Session{}, User{}, fmt.Errorf("verify password of %s: %w", login, err)
	}
	if !ok {
		lockedUntil, err := s.countFailure(ctx, c, user.ID)
		if err != nil {
			return "", Session{}, User{}, err
		}
		if !lockedUntil.IsZero() {
			return "", Session{}, User{}, lockedError(lockedUntil)
		}
		return "", Session{}, User{}, errWrongCredentials
	}
	if !user.Enabled {
		s.recordFailure(ctx, c, user.ID, "disabled")
		return "", Session{}, User{}, problem.New(problem.Disabled, "this account is disabled; ask an administrator")
	}
	var (
		token   string
		session Session
	)
	err = s.db.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE user_id = ?`, user.ID); err != nil {
			return fmt.Errorf("clear sign-in failures: %w", err)
		}
		if token, session, err = s.createSession(ctx, tx, user.ID, c.Kind, c.Label, c.Source); err != nil {
			return err
		}
		return eventlog.Append(ctx, tx, eventlog.Entry{Kind: eventlog.SignIn,
			Actor: eventlog.Actor{UserID: user.ID, Source: c.Source}, SubjectUserID: user.ID,
			Details: map[string]any{"session": session.ID, "kind": c.Kind}})
	})
	if err != nil {
		return "", Session{}, User{}, err
	}
	return token, session, user, nil
}

func lockedError(until time.Time) *problem.Error {
	return &problem.Error{Kind: problem.LockedOut, Until: until,
		Message: fmt.Sprintf("too many failed sign-ins: this account is locked until %s UTC; an administrator can unlock it sooner",
			until.UTC().Format("15:04"))}
}

// countFailure records a wrong password and locks the account when it is
// one too many. It returns when the lock ends, or the zero time.
func (s *Service) countFailure(ctx context.Context, c Credentials, userID int64) (time.Time, error) {
	policy := s.settings().Lockout
	now := s.now()
	var lockedUntil time.Time
	err := s.db.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO login_failures (user_id, at, source) VALUES (?, ?, ?)`,
			userID, store.Millis(now), c.Source); err != nil {
			return fmt.Errorf("count sign-in failure: %w", err)
		}
		var failures int
		windowStart := now.Add(-time.Duration(policy.WindowMinutes) * time.Minute)
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM login_failures WHERE user_id = ? AND at > ?`,
			userID, store.Millis(windowStart)).Scan(&failures); err != nil {
			return fmt.Errorf("count sign-in failures: %w", err)
		}
		if err := eventlog.Append(ctx, tx, failureEntry(c, userID, "wrong_password", failures)); err != nil {
			return err
		}
		if failures < policy.MaxFailures {
			return nil
		}
		lockedUntil = now.Add(time.Duration(policy.LockMinutes) * time.Minute)
		if _, err := tx.ExecContext(ctx, `UPDATE users SET locked_until = ? WHERE id = ?`, store.Millis(lockedUntil), userID); err != nil {
			return fmt.Errorf("lock account: %w", err)
		}
		return eventlog.Append(ctx, tx, eventlog.Entry{Kind: eventlog.Locked, Actor: eventlog.Actor{Name: "system", Source: c.Source},
			SubjectUserID: userID, Details: map[string]any{"failures": failures, "until": lockedUntil.UTC()}})
	})
	return lockedUntil, err
}

// recordFailure logs a refused sign-in that does not count towards the
// lockout. Logging must not hide the refusal, so its error is only logged.
func (s *Service) recordFailure(ctx context.Context, c Credentials, userID int64, reason string) {
	if err := eventlog.Record(ctx, s.db, failureEntry(c, userID, reason, 0)); err != nil {
		slogError(ctx, "record failed sign-in", err)
	}
}

func failureEntry(c Credentials, userID int64, reason string, failures int) eventlog.Entry {
	details := map[string]any{"reason": reason}
	if userID == 0 {
		// Only an unknown login is kept as typed, cut short: it may be a
		// password typed in the wrong box.
		login := normalizeLogin(c.Login)
		if len(login) > 64 {
			login = login[:64]
		}
		details["login"] = login
	}
	if failures > 0 {
		details["failures"] = failures
	}
	return eventlog.Entry{Kind: eventlog.SignInFailed, Actor: eventlog.Actor{Source: c.Source}, SubjectUserID: userID, Details: details}
}
