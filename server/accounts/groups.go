package accounts

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/parleyhq/parley/server/problem"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parleyhq/parley/server/eventlog"
	"github.com/parleyhq/parley/server/store"
)

// Right is one thing a group lets its members do.
type Right struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Rights is the catalogue, in the order the admin console lists it.
var Rights = []Right{
	{"create_conferences", "Create conferences and meetings"},
	{"call_users", "Call other users directly"},
	{"share_screen", "Share the screen or a window"},
	{"send_files", "Send files in chats and conferences"},
	{"receive_files", "Receive and download files"},
	{"record", "Record conferences"},
	{"create_polls", "Create polls"},
	{"edit_address_book", "Edit their address book"},
	{"operator", "Moderate any conference they attend"},
}

// Built-in group keys.
const (
	BuiltinUngrouped = "ungrouped" // users in no group
	BuiltinGuests    = "guests"    // people who join by link without an account
)

// Group is a named set of rights shared by its members.
type Group struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Builtin   string    `json:"builtin,omitempty"`
	Rights    []string  `json:"rights"`
	Members   int       `json:"members"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func checkRights(rights []string) ([]string, error) {
	cleaned := slices.Clone(rights)
	slices.Sort(cleaned)
	cleaned = slices.Compact(cleaned)
	for _, r := range cleaned {
		if !slices.ContainsFunc(Rights, func(known Right) bool { return known.Name == r }) {
			return nil, problem.Field("rights", "unknown right %q", r)
		}
	}
	if cleaned == nil {
		cleaned = []string{}
	}
	return cleaned, nil
}

func checkGroupName(name string) error {
	if strings.TrimSpace(name) != name || name == "" || utf8.RuneCountInString(name) > 64 ||
		strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return problem.Field("name", "group name must be 1 to 64 characters without leading or trailing spaces")
	}
	return nil
}

const groupQuery = `SELECT g.id, g.name, g.builtin, g.rights, g.created_at, g.updated_at,
	(SELECT count(*) FROM group_members m WHERE m.group_id = g.id) FROM access_groups g`

func scanGroup(row rowScanner) (Group, error) {
	var (
		g                Group
		rights           string
		created, updated int64
	)
	if err := row.Scan(&g.ID, &g.Name, &g.Builtin, &rights, &created, &updated, &g.Members); err != nil {
		return Group{}, err
	}
	if err := json.Unmarshal([]byte(rights), &g.Rights); err != nil {
		return Group{}, fmt.Errorf("group %d has unreadable rights: %w", g.ID, err)
	}
	g.CreatedAt, g.UpdatedAt = store.FromMillis(created), store.FromMillis(updated)
	return g, nil
}

// Groups lists all groups, built-in ones first.
func (s *Service) Groups(ctx context.Context) ([]Group, error) {
	rows, err := s.db.SQL().QueryContext(ctx, groupQuery+` ORDER BY g.builtin = '', g.name COLLATE NOCASE`)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	defer rows.Close()
	groups := []Group{}
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, fmt.Errorf("list groups: %w", err)
		}
		groups = append(groups, g)
	}
	return groups, rows.Err()
}

func loadGroup(ctx context.Context, q querier, id int64) (Group, error) {
	g, err := scanGroup(q.QueryRowContext(ctx, groupQuery+` WHERE g.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Group{}, problem.New(problem.NotFound, "no such group")
	}
	if err != nil {
		return Group{}, fmt.Errorf("load group %d: %w", id, err)
	}
	return g, nil
}

// Group returns one group.
func (s *Service) Group(ctx context.Context, id int64) (Group, error) {
	return loadGroup(ctx, s.db.SQL(), id)
}

// CreateGroup adds a group.
func (s *Service) CreateGroup(ctx context.Context, actor eventlog.Actor, name string, rights []string) (Group, error) {
	if err := checkGroupName(name); err != nil {
		return Group{}, err
	}
	rights, err := checkRights(rights)
	if err != nil {
		return Group{}, err
	}
	encoded, _ := json.Marshal(rights)
	var id int64
	err = s.db.Write(ctx, func(tx *sql.Tx) error {
		if err := s.requireAdministrator(ctx, tx, actor); err != nil {
			return err
		}
		now := store.NowMillis()
		res, err := tx.ExecContext(ctx, `INSERT INTO access_groups (name, rights, created_at, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (name) DO NOTHING`, name, string(encoded), now, now)
		if err != nil {
			return fmt.Errorf("create group: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &problem.Error{Kind: problem.Conflict, Field: "name", Message: fmt.Sprintf("a group named %q exists", name)}
		}
		id, _ = res.LastInsertId()
		return eventlog.Append(ctx, tx, eventlog.Entry{Kind: eventlog.GroupCreated, Actor: actor, Subject: groupSubject(id),
			Details: map[string]any{"name": name, "rights": rights}})
	})
	if err != nil {
		return Group{}, err
	}
	return s.Group(ctx, id)
}

func groupSubject(id int64) string { return fmt.Sprintf("group %d", id) }

// GroupPatch changes a group; nil fields stay.
type GroupPatch struct {
	Name   *string   `json:"name,omitempty"`
	Rights *[]string `json:"rights,omitempty"`
}

// UpdateGroup renames a group or changes its rights. Built-in groups keep
// their names.
func (s *Service) UpdateGroup(ctx context.Context, actor eventlog.Actor, id int64, p GroupPatch) (Group, error) {
	err := s.db.Write(ctx, func(tx *sql.Tx) error {
		if err := s.requireAdministrator(ctx, tx, actor); err != nil {
			return err
		}
		before, err := loadGroup(ctx, tx, id)
		if err != nil {
			return err
		}
		after := before
		if p.Name != nil && *p.Name != before.Name {
			if before.Builtin != "" {
				return problem.New(problem.Forbidden, "built-in groups cannot be renamed")
			}
			if err := checkGroupName(*p.Name); err != nil {
				return err
			}
			after.Name = *p.Name
		}
		if p.Rights != nil {
			if after.Rights, err = checkRights(*p.Rights); err != nil {
				return err
			}
		}
		if after.Name == before.Name && slices.Equal(after.Rights, before.Rights) {
			return nil
		}
		encoded, _ := json.Marshal(after.Rights)
		if _, err := tx.ExecContext(ctx, `UPDATE access_groups SET name = ?, rights = ?, updated_at = ? WHERE id = ?`,
			after.Name, string(encoded), store.NowMillis(), id); err != nil {
			if strings.Contains(err.Error(), "UNIQUE") {
				return &problem.Error{Kind: problem.Conflict, Field: "name", Message: fmt.Sprintf("a group named %q exists", after.Name)}
			}
			return fmt.Errorf("update group %d: %w", id, err)
		}
		return eventlog.Append(ctx, tx, eventlog.Entry{Kind: eventlog.GroupUpdated, Actor: actor, Subject: groupSubject(id),
			Details: map[string]any{
				"before": map[string]any{"name": before.Name, "rights": before.Rights},
				"after":  map[string]any{"name": after.Name, "rights": after.Rights},
			}})
	})
	if err != nil {
		return Group{}, err
	}
	return s.Group(ctx, id)
}

// DeleteGroup removes a group; its members keep their accounts.
func (s *Service) DeleteGroup(ctx context.Context, actor eventlog.Actor, id int64) error {
	return s.db.Write(ctx, func(tx *sql.Tx) error {
		if err := s.requireAdministrator(ctx, tx, actor); err != nil {
			return err
		}
		group, err := loadGroup(ctx, tx, id)
		if err != nil {
			return err
		}
		if group.Builtin != "" {
			return problem.New(problem.Forbidden, "built-in groups cannot be deleted")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM access_groups WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete group %d: %w", id, err)
		}
		return eventlog.Append(ctx, tx, eventlog.Entry{Kind: eventlog.GroupDeleted, Actor: actor, Subject: groupSubject(id),
			Details: map[string]any{"name": group.Name, "members": group.Members}})
	})
}

// RightsOf returns what a user may do: the owner and admins everything;
// others the union of their groups' rights, or those of the built-in
// "Users without group" when they belong to none.
func (s *Service) RightsOf(ctx context.Context, user User) ([]string, error) {
	if user.Role.CanAdminister() {
		all := make([]string, len(Rights))
		for i, r := range Rights {
			all[i] = r.Name
		}
		return all, nil
	}
	query := `SELECT g.rights FROM access_groups g JOIN group_members m ON m.group_id = g.id WHERE m.user_id = ?`
	args := []any{user.ID}
	if len(user.Groups) == 0 {
		query = `SELECT rights FROM access_groups WHERE builtin = ?`
		args = []any{BuiltinUngrouped}
	}
	rows, err := s.db.SQL().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("rights of user %d: %w", user.ID, err)
	}
	defer rows.Close()
	union := []string{}
	for rows.Next() {
		var encoded string
		var rights []string
		if err := rows.Scan(&encoded); err != nil {
			return nil, fmt.Errorf("rights of user %d: %w", user.ID, err)
		}
		if err := json.Unmarshal([]byte(encoded), &rights); err != nil {
			return nil, fmt.Errorf("rights of user %d: %w", user.ID, err)
		}
		union = append(union, rights...)
	}
	slices.Sort(union)
	return slices.Compact(union), rows.Err()
}
