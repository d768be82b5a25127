package app_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/server/accounts"
	"github.com/parleyhq/parley/server/api"
	"github.com/parleyhq/parley/server/client"
)

// TestHostForTheDesktop drives an embedded server the way the desktop app
// does: the wizard creates the owner with the setup token, the app signs
// in without a password, reads the dashboard's numbers, and moves the
// server to another port without a restart of the process.
func TestHostForTheDesktop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	host, err := app.Start(ctx, app.Options{DataDir: t.TempDir(), HTTPSPort: freePort(t), HTTPPort: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer host.Stop()
	if _, err := host.DesktopToken(ctx); err == nil {
		t.Fatal("a desktop session without an owner")
	}
	anonymous, err := client.New(host.LocalURL(), client.Options{CACertPEM: host.CACertificatePEM()})
	if err != nil {
		t.Fatal(err)
	}
	token := host.SetupToken()
	if token == "" {
		t.Fatal("no setup token on a new server")
	}
	if _, err := anonymous.CompleteSetup(ctx, token, accounts.NewUser{Login: "boss", DisplayName: "The Boss", Password: ownerPassword}); err != nil {
		t.Fatal(err)
	}
	if host.SetupToken() != "" || host.SetupLink() != "" {
		t.Error("the setup token outlived its use")
	}
	desktop, err := host.DesktopToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	owner, _ := client.New(host.LocalURL(), client.Options{CACertPEM: host.CACertificatePEM()})
	owner.SetToken(desktop)
	var me client.Identity
	if err := owner.Do(ctx, http.MethodGet, "/api/v1/me", nil, &me); err != nil || me.User.Login != "boss" {
		t.Fatalf("desktop session: %+v %v", me, err)
	}
	// A new start of the desktop app replaces the session of the last one.
	again, err := host.DesktopToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := owner.Do(ctx, http.MethodGet, "/api/v1/me", nil, nil); client.StatusOf(err) != http.StatusUnauthorized {
		t.Errorf("the earlier desktop session still works: %v", err)
	}
	owner.SetToken(again)
	desktop = again
	var stats api.Stats
	if err := owner.Do(ctx, http.MethodGet, "/api/v1/stats", nil, &stats); err != nil {
		t.Fatal(err)
	}
	if stats.ConferencesRunning != 0 || stats.Bandwidth == nil {
		t.Errorf("stats %+v", stats)
	}

	newPort := freePort(t)
	if err := owner.Do(ctx, http.MethodPatch, "/api/v1/settings", map[string]any{"https_port": newPort}, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the server on its new port", 20*time.Second, func() bool { return host.HTTPSPort() == newPort })
	moved, _ := client.New(host.LocalURL(), client.Options{CACertPEM: host.CACertificatePEM()})
	moved.SetToken(desktop)
	if err := moved.Do(ctx, http.MethodGet, "/api/v1/me", nil, nil); err != nil {
		t.Fatalf("after the move: %v", err)
	}
}
