// Package accounts owns who may use the server: users and their roles,
// groups and the rights they grant, passwords and the password policy,
// sign-in with lockout, browser and API sessions, and the one-time link
// that creates the owner account on a new server.
package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/parleyhq/parley/server/problem"
	"strings"
	"time"

	"github.com/parleyhq/parley/server/settings"
	"github.com/parleyhq/parley/server/store"
)

// Service is the accounts API used by the HTTP handlers and the host
// command line.
type Service struct {
	db       *store.DB
	settings func() settings.Settings
	hasher   *Hasher
	now      func() time.Time
}

// New returns the accounts service. current gives the live settings
// (password policy, lockout, session length).
func New(db *store.DB, current func() settings.Settings, hasher *Hasher) *Service {
	return &Service{db: db, settings: current, hasher: hasher, now: time.Now}
}

// User is an account as shown to administrators. The password hash never
// leaves this package.
type User struct {
	ID          int64  `json:"id"`
	Login       string `json:"login"`
	DisplayName string `json:"display_name"`
	Email       string `json:"email"`
	Role        Role   `json:"role"`
	Enabled     bool   `json:"enabled"`
	HasPassword bool   `json:"has_password"`
	// HasSIPPassword: a SIP phone may register as this user.
	HasSIPPassword bool       `json:"has_sip_password"`
	LockedUntil    *time.Time `json:"locked_until,omitempty"`
	Groups         []int64    `json:"groups"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

const userColumns = `id, login, display_name, email, role, enabled, password_hash <> '', sip_ha1 <> '', locked_until, created_at, updated_at`

// rowScanner is what *sql.Row and *sql.Rows share.
type rowScanner interface{ Scan(dest ...any) error }

func (s *Service) scanUser(row rowScanner) (User, error) {
	var (
		u                             User
		lockedUntil, created, updated int64
	)
	if err := row.Scan(&u.ID, &u.Login, &u.DisplayName, &u.Email, &u.Role, &u.Enabled, &u.HasPassword, &u.HasSIPPassword,
		&lockedUntil, &created, &updated); err != nil {
		return User{}, err
	}
	if lockedUntil > store.Millis(s.now()) {
		until := store.FromMillis(lockedUntil)
		u.LockedUntil = &until
	}
	u.CreatedAt, u.UpdatedAt = store.FromMillis(created), store.FromMillis(updated)
	u.Groups = []int64{}
	return u, nil
}

// querier is what reads run through: the database or a transaction.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (s *Service) loadUser(ctx context.Context, q querier, where string, arg any) (User, error) {
	u, err := s.scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, problem.New(problem.NotFound, "no such user")
	}
	if err != nil {
		return User{}, fmt.Errorf("load user: %w", err)
	}
	if u.Groups, err = groupsOf(ctx, q, u.ID); err != nil {
		return User{}, err
	}
	return u, nil
}

// User returns one user by id.
func (s *Service) User(ctx context.Context, id int64) (User, error) {
	return s.loadUser(ctx, s.db.SQL(), "id = ?", id)
}

// UserByLogin returns one user by login.
func (s *Service) UserByLogin(ctx context.Context, login string) (User, error) {
	return s.loadUser(ctx, s.db.SQL(), "login = ?", login)
}

func groupsOf(ctx context.Context, q querier, userID int64) ([]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT group_id FROM group_members WHERE user_id = ? ORDER BY group_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("load groups of user %d: %w", userID, err)
	}
	defer rows.Close()
	ids := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("load groups of user %d: %w", userID, err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// UserFilter selects users for List.
type UserFilter struct {
	Query   string // part of login, display name or email, any case
	GroupID int64
	Limit   int // default 100, at most 1000
	Offset  int
}

// List returns users ordered by display name.
func (s *Service) List(ctx context.Context, f UserFilter) ([]User, error) {
	var where []string
	var args []any
	if f.Query != "" {
		pattern := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(f.Query)) + "%"
		where = append(where, `(lower(login) LIKE ? ESCAPE '\' OR lower(display_name) LIKE ? ESCAPE '\' OR lower(email) LIKE ? ESCAPE '\')`)
		args = append(args, pattern, pattern, pattern)
	}
	if f.GroupID != 0 {
		where = append(where, `id IN (SELECT user_id FROM group_members WHERE group_id = ?)`)
		args = append(args, f.GroupID)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	query := `SELECT ` + userColumns + ` FROM users`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += ` ORDER BY display_name COLLATE NOCASE, id LIMIT ? OFFSET ?`
	args = append(args, limit, max(f.Offset, 0))

	rows, err := s.db.SQL().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	users := []User{}
	for rows.Next() {
		u, err := s.scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	rows.Close()
	for i := range users {
		if users[i].Groups, err = groupsOf(ctx, s.db.SQL(), users[i].ID); err != nil {
			return nil, err
		}
	}
	return users, nil
}
