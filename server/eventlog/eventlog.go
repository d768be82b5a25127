// Package eventlog owns the audit trail: sign-ins, account and settings
// changes with their before and after values, certificate changes and
// subsystem starts and stops. Rows are written in the same transaction as
// the change they describe and name people by internal id, so a rename
// never detaches history from them.
package eventlog

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/parleyhq/parley/server/store"
)

// Actor is who caused an event: a signed-in user, or the system or host
// command line when UserID is 0.
type Actor struct {
	UserID int64
	Name   string // "system" or "host" when UserID is 0
	Source string // network address of the request, if any
}

// System is the actor for what the server does by itself.
var System = Actor{Name: "system"}

// Host is the actor for commands run on the host machine (`parley user ...`).
var Host = Actor{Name: "host"}

// Entry is one event.
type Entry struct {
	ID            int64
	At            time.Time
	Kind          string
	Actor         Actor
	SubjectUserID int64
	Subject       string
	Details       map[string]any
}

// Person names a user in a listed event as they are called now.
type Person struct {
	ID          int64  `json:"id"`
	Login       string `json:"login"`
	DisplayName string `json:"display_name"`
}

// Listed is an event as read back, with people resolved by id.
type Listed struct {
	ID          int64           `json:"id"`
	At          time.Time       `json:"at"`
	Kind        string          `json:"kind"`
	ActorUser   *Person         `json:"actor_user,omitempty"`
	Actor       string          `json:"actor,omitempty"`
	Source      string          `json:"source,omitempty"`
	SubjectUser *Person         `json:"subject_user,omitempty"`
	Subject     string          `json:"subject,omitempty"`
	Details     json.RawMessage `json:"details"`
}

// Execer is what Append writes through: a transaction, usually.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Append records e. Call it inside the transaction that makes the change.
func Append(ctx context.Context, ex Execer, e Entry) error {
	details := []byte("{}")
	if len(e.Details) > 0 {
		var err error
		if details, err = json.Marshal(e.Details); err != nil {
			return fmt.Errorf("event %s: encode details: %w", e.Kind, err)
		}
	}
	at := e.At
	if at.IsZero() {
		at = time.Now()
	}
	_, err := ex.ExecContext(ctx,
		`INSERT INTO events (at, kind, actor_user_id, actor, source, subject_user_id, subject, details)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		store.Millis(at), e.Kind, nullID(e.Actor.UserID), e.Actor.Name, e.Actor.Source,
		nullID(e.SubjectUserID), e.Subject, string(details))
	if err != nil {
		return fmt.Errorf("record event %s: %w", e.Kind, err)
	}
	return nil
}

// Record writes a single event in its own transaction, for events that go
// with no other change (a failed sign-in, a subsystem restart).
func Record(ctx context.Context, db *store.DB, e Entry) error {
	return db.Write(ctx, func(tx *sql.Tx) error { return Append(ctx, tx, e) })
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// Filter selects events; zero fields select everything.
type Filter struct {
	Kind     string // exact kind, or a prefix ending in "." ("auth.")
	UserID   int64  // events where the user acted or was acted on
	Since    time.Time
	Until    time.Time
	BeforeID int64 // for paging: only events older than this id
	Limit    int   // default 100, at most 1000
}

// MaxLimit bounds one page of events.
const MaxLimit = 1000

// List returns matching events, newest first.
func List(ctx context.Context, db *sql.DB, f Filter) ([]Listed, error) {
	var where []string
	var args []any
	if f.Kind != "" {
		if strings.HasSuffix(f.Kind, ".") {
			where = append(where, "e.kind LIKE ? ESCAPE '\\'")
			args = append(args, escapeLike(f.Kind)+"%")
		} else {
			where = append(where, "e.kind = ?")
			args = append(args, f.Kind)
		}
	}
	if f.UserID != 0 {
		where = append(where, "(e.actor_user_id = ? OR e.subject_user_id = ?)")
		args = append(args, f.UserID, f.UserID)
	}
	if !f.Since.IsZero() {
		where = append(where, "e.at >= ?")
		args = append(args, store.Millis(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, "e.at < ?")
		args = append(args, store.Millis(f.Until))
	}
	if f.BeforeID > 0 {
		where = append(where, "e.id < ?")
		args = append(args, f.BeforeID)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, MaxLimit)
	query := `SELECT e.id, e.at, e.kind, e.actor, e.source, e.subject, e.details,
	                 a.id, a.login, a.display_name, s.id, s.login, s.display_name
	          FROM events e
	          LEFT JOIN users a ON a.id = e.actor_user_id
	          LEFT JOIN users s ON s.id = e.subject_user_id`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY e.id DESC LIMIT ?"
	args = append(args, limit)

	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	list := []Listed{}
	for rows.Next() {
		var (
			ev      Listed
			at      int64
			details string
			actor   nullablePerson
			subject nullablePerson
		)
		if err := rows.Scan(&ev.ID, &at, &ev.Kind, &ev.Actor, &ev.Source, &ev.Subject, &details,
			&actor.id, &actor.login, &actor.name, &subject.id, &subject.login, &subject.name); err != nil {
			return nil, fmt.Errorf("list events: %w", err)
		}
		ev.At = store.FromMillis(at)
		ev.Details = json.RawMessage(details)
		ev.ActorUser = actor.person()
		ev.SubjectUser = subject.person()
		list = append(list, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return list, nil
}

type nullablePerson struct {
	id    sql.NullInt64
	login sql.NullString
	name  sql.NullString
}

func (p nullablePerson) person() *Person {
	if !p.id.Valid {
		return nil
	}
	return &Person{ID: p.id.Int64, Login: p.login.String, DisplayName: p.name.String}
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
