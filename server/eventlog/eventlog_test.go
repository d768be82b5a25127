package eventlog

import (
	"context"
	"database/sql"
	"github.com/parleyhq/parley/server/store/storetest"
	"testing"
	"time"

	"github.com/parleyhq/parley/server/store"
)

func openDB(t *testing.T) *store.DB { return storetest.Open(t, "") }

func addUser(t *testing.T, db *store.DB, login, name string) int64 {
	t.Helper()
	res, err := db.SQL().Exec(`INSERT INTO users (login, display_name, role, created_at, updated_at) VALUES (?, ?, 'user', 0, 0)`, login, name)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := res.LastInsertId()
	return id
}

func TestListResolvesPeopleAsTheyAreNamedNow(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	alice := addUser(t, db, "alice", "Alice")
	bob := addUser(t, db, "bob", "Bob")
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	entries := []Entry{
		{At: base, Kind: SignIn, Actor: Actor{UserID: alice, Source: "10.0.0.2"}},
		{At: base.Add(time.Minute), Kind: UserUpdated, Actor: Actor{UserID: alice}, SubjectUserID: bob,
			Details: map[string]any{"before": map[string]any{"display_name": "Bob"}, "after": map[string]any{"display_name": "Robert"}}},
		{At: base.Add(2 * time.Minute), Kind: SubsystemState, Actor: System, Subject: "web", Details: map[string]any{"state": "running"}},
	}
	for _, e := range entries {
		if err := Record(ctx, db, e); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.SQL().Exec(`UPDATE users SET display_name = 'Robert' WHERE id = ?`, bob); err != nil {
		t.Fatal(err)
	}

	all, err := List(ctx, db.SQL(), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	// The migration of the empty database recorded nothing here; store does
	// not write events itself, so exactly our three rows are listed.
	if len(all) != 3 || all[0].Kind != SubsystemState || all[2].Kind != SignIn {
		t.Fatalf("listed %+v", all)
	}
	if all[1].SubjectUser == nil || all[1].SubjectUser.DisplayName != "Robert" {
		t.Errorf("subject not resolved by id: %+v", all[1].SubjectUser)
	}
	if all[2].Source != "10.0.0.2" || all[2].ActorUser.Login != "alice" {
		t.Errorf("sign-in row %+v", all[2])
	}
	if all[0].Actor != "system" || all[0].Subject != "web" || string(all[0].Details) != `{"state":"running"}` {
		t.Errorf("subsystem row %+v", all[0])
	}

	byBob, _ := List(ctx, db.SQL(), Filter{UserID: bob})
	if len(byBob) != 1 || byBob[0].Kind != UserUpdated {
		t.Errorf("filter by user: %+v", byBob)
	}
	auth, _ := List(ctx, db.SQL(), Filter{Kind: "auth."})
	if len(auth) != 1 || auth[0].Kind != SignIn {
		t.Errorf("filter by prefix: %+v", auth)
	}
	window, _ := List(ctx, db.SQL(), Filter{Since: base.Add(30 * time.Second), Until: base.Add(90 * time.Second)})
	if len(window) != 1 || window[0].Kind != UserUpdated {
		t.Errorf("filter by time: %+v", window)
	}
	page, _ := List(ctx, db.SQL(), Filter{Limit: 2})
	if len(page) != 2 {
		t.Fatalf("limit: %d rows", len(page))
	}
	next, _ := List(ctx, db.SQL(), Filter{BeforeID: page[1].ID})
	if len(next) != 1 || next[0].ID != all[2].ID {
		t.Errorf("paging: %+v", next)
	}
	escaped, _ := List(ctx, db.SQL(), Filter{Kind: "%."})
	if len(escaped) != 0 {
		t.Errorf("a LIKE wildcard in the kind matched %d rows", len(escaped))
	}
}

func TestAppendJoinsTheCallersTransaction(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	_ = db.Write(ctx, func(tx *sql.Tx) error {
		if err := Append(ctx, tx, Entry{Kind: SettingsChanged, Actor: Host}); err != nil {
			t.Fatal(err)
		}
		return sql.ErrTxDone // any error: the change is abandoned
	})
	list, err := List(ctx, db.SQL(), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 0 {
		t.Fatalf("an event of an abandoned change was kept: %+v", list)
	}
}
