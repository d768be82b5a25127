package testenv

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/parleyhq/parley/server/eventlog"
	"github.com/parleyhq/parley/server/settings"
	"github.com/parleyhq/parley/server/store"
)

// SetSettings changes settings in a data directory while no server runs
// on it, as an administrator would have before: for servers in a
// namespace, which the test cannot reach through the API.
func SetSettings(t testing.TB, dir string, patch map[string]any) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open the store in %s: %v", dir, err)
	}
	defer db.Close()
	service, err := settings.Load(ctx, db)
	if err != nil {
		t.Fatalf("load settings: %v", err)
	}
	raw := map[string]json.RawMessage{}
	for key, value := range patch {
		if raw[key], err = json.Marshal(value); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := service.Update(ctx, eventlog.Actor{Name: "host"}, raw); err != nil {
		t.Fatalf("set %v: %v", patch, err)
	}
}
