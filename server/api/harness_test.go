package api_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"github.com/parleyhq/parley/server/store/storetest"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/parleyhq/parley/assets"
	"github.com/parleyhq/parley/server/accounts"
	"github.com/parleyhq/parley/server/api"
	"github.com/parleyhq/parley/server/certs"
	"github.com/parleyhq/parley/server/client"
	"github.com/parleyhq/parley/server/eventlog"
	"github.com/parleyhq/parley/server/settings"
	"github.com/parleyhq/parley/server/store"
)

const goodPassword = "Correct-Horse-7"

// sourceHeader lets a test pose as a client on another network. Only the
// test server honours it; it stands in for a second host where one is not
// needed (the network-namespace test in app/ uses a real one).
const sourceHeader = "X-Test-Source"

type harness struct {
	t        *testing.T
	url      string
	addr     string
	db       *store.DB
	accounts *accounts.Service
	settings *settings.Service
	certs    *certs.Manager
	health   func() []api.Subsystem
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	db := storetest.Open(t, dir)
	current, err := settings.Load(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	manager, err := certs.Open(filepath.Join(dir, "tls"), certs.Options{Organization: "test", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, db: db, settings: current, certs: manager,
		accounts: accounts.New(db, current.Current, accounts.NewHasher(accounts.HashParams{MemoryKiB: 64, Time: 1, Threads: 1}))}
	handler := api.New(api.Config{
		DB: db, Accounts: h.accounts, Settings: current, Certificates: manager,
		Health:   func() []api.Subsystem { return h.health() },
		ServerID: "test-server", Version: "test", Pages: assets.Web(), Logger: logger,
	})
	h.health = func() []api.Subsystem {
		return []api.Subsystem{{Name: "web", State: "running", Since: time.Now()}}
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.url = "https://" + listener.Addr().String() + "/"
	h.addr = listener.Addr().String()
	server := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if source := r.Header.Get(sourceHeader); source != "" {
				r.RemoteAddr = net.JoinHostPort(source, "40000")
			}
			handler.ServeHTTP(w, r)
		}),
		TLSConfig: &tls.Config{GetCertificate: manager.GetCertificate},
		ErrorLog:  log.New(io.Discard, "", 0),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		server.ServeTLS(listener, "", "")
	}()
	t.Cleanup(func() {
		server.Close()
		<-done
	})
	return h
}

// client returns a client of the test server, bearer by default.
func (h *harness) client(cookies bool) *client.Client {
	h.t.Helper()
	c, err := client.New(h.url, client.Options{CACertPEM: h.certs.CACertPEM(), Cookies: cookies})
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// user creates an account from the host.
func (h *harness) user(login string, role accounts.Role) accounts.User {
	h.t.Helper()
	u, err := h.accounts.Create(context.Background(), eventlog.Host, accounts.NewUser{Login: login, Password: goodPassword, Role: role})
	if err != nil {
		h.t.Fatal(err)
	}
	return u
}

// signedIn returns a bearer client signed in as a new user with role.
func (h *harness) signedIn(login string, role accounts.Role) *client.Client {
	h.t.Helper()
	h.user(login, role)
	c := h.client(false)
	if _, err := c.SignIn(context.Background(), login, goodPassword); err != nil {
		h.t.Fatal(err)
	}
	return c
}

func (h *harness) events(kind string) []eventlog.Listed {
	h.t.Helper()
	list, err := eventlog.List(context.Background(), h.db.SQL(), eventlog.Filter{Kind: kind})
	if err != nil {
		h.t.Fatal(err)
	}
	return list
}

// servedFingerprint connects and returns the SHA-256 of the certificate
// the server presents.
func (h *harness) servedFingerprint() string {
	h.t.Helper()
	conn, err := tls.Dial("tcp", h.addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		h.t.Fatal(err)
	}
	defer conn.Close()
	sum := sha256.Sum256(conn.ConnectionState().PeerCertificates[0].Raw)
	return hex.EncodeToString(sum[:])
}

func wantStatus(t *testing.T, err error, status int, code string) {
	t.Helper()
	var apiErr *client.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("got %v, want a %d %s answer", err, status, code)
	}
	if apiErr.Status != status || (code != "" && apiErr.Code != code) {
		t.Fatalf("got %v, want %d %s", apiErr, status, code)
	}
}
