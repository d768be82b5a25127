// Package storetest opens fresh, fully migrated databases for the tests of
// the packages that write through server/store.
package storetest

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/parleyhq/parley/server/store"
)

// Open returns a new database in dir (a fresh temporary one when dir is
// ""), closed when the test ends.
func Open(t testing.TB, dir string) *store.DB {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	db, err := store.Open(context.Background(), dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
