// Package servertest assembles a whole Parley control plane in-process for
// tests: store, accounts, settings, certificates, conferences, signalling
// and the HTTP API on an HTTPS listener on loopback. The media plane is
// whatever the test passes (a stand-in, or the real SFU).
package servertest

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parleyhq/parley/assets"
	"github.com/parleyhq/parley/server/accounts"
	"github.com/parleyhq/parley/server/api"
	"github.com/parleyhq/parley/server/certs"
	"github.com/parleyhq/parley/server/client"
	"github.com/parleyhq/parley/server/conference"
	"github.com/parleyhq/parley/server/eventlog"
	"github.com/parleyhq/parley/server/protocol"
	"github.com/parleyhq/parley/server/settings"
	"github.com/parleyhq/parley/server/signal"
	"github.com/parleyhq/parley/server/store"
	"github.com/parleyhq/parley/server/store/storetest"
)

// Password is the password of every user the helpers create.
const Password = "Correct-Horse-7"

// SourceHeader lets a test pose as a client on another network; only this
// test server honours it. Tests of real other hosts use network namespaces.
const SourceHeader = "X-Test-Source"

// Options shape the test server.
type Options struct {
	Media conference.Media // nil: NullMedia
}

// Server is a running test server.
type Server struct {
	t           testing.TB
	URL         string // https://127.0.0.1:port/
	Addr        string
	DB          *store.DB
	Accounts    *accounts.Service
	Settings    *settings.Service
	Certs       *certs.Manager
	Conferences *conference.Service
	Signal      *signal.Server
	// Health is what /api/v1/status reports; tests may replace it.
	Health func() []api.Subsystem
}

// Start runs a test server until the test ends.
func Start(t testing.TB, opts Options) *Server {
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
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, DB: db, Settings: current, Certs: manager, Addr: listener.Addr().String(),
		URL:      "https://" + listener.Addr().String() + "/",
		Accounts: accounts.New(db, current.Current, accounts.NewHasher(accounts.HashParams{MemoryKiB: 64, Time: 1, Threads: 1}))}
	s.Health = func() []api.Subsystem { return []api.Subsystem{{Name: "web", State: "running", Since: time.Now()}} }
	media := opts.Media
	if media == nil {
		media = NullMedia{}
	}
	s.Conferences = conference.New(conference.Config{DB: db, Accounts: s.Accounts, Settings: current.Current,
		BaseURL: func() string { return s.URL }, Media: media, Logger: logger})
	s.Signal = signal.New(s.Conferences, s.Accounts, current.Current, logger)
	handler := api.New(api.Config{
		DB: db, Accounts: s.Accounts, Settings: current, Certificates: manager, Conferences: s.Conferences, Signal: s.Signal,
		Health: func() []api.Subsystem { return s.Health() }, ServerID: "test-server", Version: "test",
		Stats: func() api.Stats {
			counts := s.Conferences.Counts()
			return api.Stats{UsersOnline: s.Signal.UsersOnline(), ConferencesRunning: counts.Conferences,
				Participants: counts.Participants, Guests: counts.Guests, Waiting: counts.Waiting, Bandwidth: []api.Bandwidth{}}
		},
		Metrics: func() []api.Metric {
			return []api.Metric{{Name: "parley_conferences_running", Help: "Conferences with someone in them.", Type: "gauge",
				Value: float64(s.Conferences.Counts().Conferences)}}
		},
		Pages: assets.Web(), Logger: logger,
	})
	server := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if source := r.Header.Get(SourceHeader); source != "" {
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
		s.Signal.Close()
		s.Conferences.Close()
		server.Close()
		<-done
	})
	return s
}

// Client returns a client of the server: bearer by default, cookies like a
// browser when asked.
func (s *Server) Client(cookies bool) *client.Client {
	s.t.Helper()
	c, err := client.New(s.URL, client.Options{CACertPEM: s.Certs.CACertPEM(), Cookies: cookies})
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// User creates an account from the host, with Password.
func (s *Server) User(login string, role accounts.Role) accounts.User {
	s.t.Helper()
	u, err := s.Accounts.Create(context.Background(), eventlog.Host, accounts.NewUser{Login: login, Password: Password, Role: role})
	if err != nil {
		s.t.Fatal(err)
	}
	return u
}

// SignedIn returns a bearer client signed in as a new user.
func (s *Server) SignedIn(login string, role accounts.Role) *client.Client {
	s.t.Helper()
	s.User(login, role)
	c := s.Client(false)
	if _, err := c.SignIn(context.Background(), login, Password); err != nil {
		s.t.Fatal(err)
	}
	return c
}

// NullMedia stands in for the SFU where a test needs no media: peers
// accept everything and send nothing.
type NullMedia struct{}

// Join returns a peer that does nothing.
func (NullMedia) Join(room, participant string, events conference.MediaEvents) (conference.MediaPeer, error) {
	return nullPeer{}, nil
}

// OnSpeaker never reports a speaker.
func (NullMedia) OnSpeaker(string, func(string)) {}

// CloseRoom has nothing to close.
func (NullMedia) CloseRoom(string) {}

type nullPeer struct{}

func (nullPeer) Publish(string, []protocol.TrackInfo) (string, error) { return "v=0\r\n", nil }
func (nullPeer) SubscribeAnswer(string) error                         { return nil }
func (nullPeer) AddCandidate(string, webrtc.ICECandidateInit) error   { return nil }
func (nullPeer) RestartICE()                                          {}
func (nullPeer) SetLayer(string, int, int, bool)                      {}
func (nullPeer) Block(string, bool)                                   {}
func (nullPeer) Quality() int                                         { return 5 }
func (nullPeer) Leave()                                               {}
