// Package app owns the parley command: its command line, the wiring of
// the server's subsystems into one supervised process, and its lifecycle
// from first start to a clean stop.
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/parleyhq/parley/app/datadir"
	"github.com/parleyhq/parley/app/supervisor"
	"github.com/parleyhq/parley/assets"
	"github.com/parleyhq/parley/discovery"
	"github.com/parleyhq/parley/media/sfu"
	"github.com/parleyhq/parley/media/turnserver"
	"github.com/parleyhq/parley/server/accounts"
	"github.com/parleyhq/parley/server/api"
	"github.com/parleyhq/parley/server/certs"
	"github.com/parleyhq/parley/server/client"
	"github.com/parleyhq/parley/server/conference"
	"github.com/parleyhq/parley/server/eventlog"
	"github.com/parleyhq/parley/server/settings"
	"github.com/parleyhq/parley/server/signal"
	"github.com/parleyhq/parley/server/store"
	"github.com/parleyhq/parley/server/web"
)

// Version is set at build time (-ldflags "-X ...app.Version=...").
var Version = "dev"

// Options are the command-line choices that override settings.
type Options struct {
	DataDir   string // "" = the per-user default
	HTTPSPort int    // 0 = from settings
	HTTPPort  int    // 0 = from settings, -1 = no redirect
	Listen    string // "" = from settings
	SIPPort   int    // 0 = from settings, -1 = no SIP gateway
	// ICELoopback offers loopback ICE candidates: for tests, and for
	// meetings between programs on one machine.
	ICELoopback bool
	// Discovery announces the server on the LAN (mDNS). The command line
	// turns it on; in-process tests leave it off, so that nothing they
	// start multicasts on this machine's network.
	Discovery bool
	// Link is a meeting link the desktop app opens at once (parley://...).
	Link   string
	Logger *slog.Logger
}

// core is the control plane opened on a data directory: what both the
// server and the host's `parley user` commands work with.
type core struct {
	dir      string
	db       *store.DB
	settings *settings.Service
	accounts *accounts.Service
	serverID string
	// turnSecret signs the built-in TURN server's credentials.
	turnSecret []byte
}

// hashTarget is how long one password hash should take on this machine.
const hashTarget = 150 * time.Millisecond

func openCore(ctx context.Context, dir string, logger *slog.Logger) (*core, error) {
	db, err := store.Open(ctx, dir, logger)
	if err != nil {
		return nil, err
	}
	c, err := wireCore(ctx, dir, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	return c, nil
}

func wireCore(ctx context.Context, dir string, db *store.DB) (*core, error) {
	if from, to := db.Migrated(); from != to {
		err := eventlog.Record(ctx, db, eventlog.Entry{Kind: eventlog.StoreMigrated, Actor: eventlog.System,
			Subject: "database", Details: map[string]any{"from": from, "to": to}})
		if err != nil {
			return nil, err
		}
	}
	current, err := settings.Load(ctx, db)
	if err != nil {
		return nil, err
	}
	serverID, err := settings.InternalValue(ctx, db, "server_id", func() (string, error) {
		id := make([]byte, 16)
		if _, err := rand.Read(id); err != nil {
			return "", err
		}
		return strconv.Quote(hex.EncodeToString(id)), nil
	})
	if err != nil {
		return nil, err
	}
	hashText, err := settings.InternalValue(ctx, db, "password_hash", func() (string, error) {
		encoded, err := json.Marshal(accounts.MeasureHashParams(hashTarget))
		return string(encoded), err
	})
	if err != nil {
		return nil, err
	}
	var params accounts.HashParams
	if err := json.Unmarshal([]byte(hashText), &params); err != nil {
		return nil, fmt.Errorf("stored password-hash costs are unreadable: %w", err)
	}
	turnText, err := settings.InternalValue(ctx, db, "turn_secret", newTURNSecret)
	if err != nil {
		return nil, err
	}
	turnHex, _ := strconv.Unquote(turnText)
	turnSecret, err := hex.DecodeString(turnHex)
	if err != nil || len(turnSecret) < 16 {
		return nil, fmt.Errorf("the stored TURN secret is unreadable; remove the row internal.turn_secret from %s", db.Path())
	}
	id, _ := strconv.Unquote(serverID)
	return &core{
		turnSecret: turnSecret,
		dir:        dir,
		db:         db,
		settings:   current,
		accounts:   accounts.New(db, current.Current, accounts.NewHasher(params)),
		serverID:   id,
	}, nil
}

// Host is a running Parley server.
type Host struct {
	core  *core
	lock  *datadir.Lock
	certs *certs.Manager
	media *mediaService
	turn  *turnService
	sip   *sipService
	// gatewayToken is the SIP gateway's bearer token for the server's own
	// signalling; it never leaves this process.
	gatewayToken string
	conferences  *conference.Service
	signal       *signal.Server
	web          *web.Server
	stats        *statsService

	mu         sync.Mutex
	overrides  Options // command-line choices, until settings change them
	supervisor *supervisor.Supervisor
	logger     *slog.Logger
	setupToken string
}

// Start opens the data directory and starts every subsystem. It fails when
// another server holds the directory or the database is from a newer
// Parley; a subsystem that fails to start is retried in the background and
// shows in the status instead.
func Start(ctx context.Context, opts Options) (*Host, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	dir, err := datadir.Resolve(opts.DataDir)
	if err != nil {
		return nil, err
	}
	lock, err := datadir.Acquire(dir, fmt.Sprintf("pid %d, starting", os.Getpid()))
	if err != nil {
		return nil, err
	}
	h := &Host{lock: lock, logger: logger}
	if err := h.start(ctx, dir, opts); err != nil {
		h.Stop()
		return nil, err
	}
	return h, nil
}

func (h *Host) start(ctx context.Context, dir string, opts Options) error {
	var err error
	if h.core, err = openCore(ctx, dir, h.logger); err != nil {
		return err
	}
	h.certs, err = certs.Open(filepath.Join(dir, "tls"), certs.Options{
		Organization: "Parley (" + h.core.settings.Current().ServerName + ")",
		Names:        h.certificateNames,
		Logger:       h.logger,
	})
	if err != nil {
		return err
	}
	h.supervisor = supervisor.New(supervisor.Options{Logger: h.logger, OnEvent: h.recordSubsystemEvent})
	h.media = newMediaService(sfu.Config{IncludeLoopback: opts.ICELoopback, Logger: h.logger}, h.core.settings.Current,
		func() string { return h.ports().Address }, func() net.Addr { return h.web.HTTPSAddr() })
	h.turn = &turnService{settings: h.core.settings.Current, secret: h.core.turnSecret, listen: func() string { return h.ports().Address },
		certs: turnserver.Config{GetCertificate: h.certs.GetCertificate, Logger: h.logger}, mediaPort: h.mediaPort}
	h.conferences = conference.New(conference.Config{DB: h.core.db, Accounts: h.core.accounts,
		Settings: h.core.settings.Current, BaseURL: h.URL, Media: h.media, ICEServers: h.iceServersFor, Logger: h.logger})
	h.signal = signal.New(h.conferences, h.core.accounts, h.core.settings.Current, h.logger)
	h.gatewayToken = rand.Text()
	h.sip = &sipService{settings: h.core.settings.Current, listen: func() string { return h.ports().Address }, gateway: h.gatewayClient,
		portOverride: opts.SIPPort, accounts: sipAccounts{h.core.accounts}, setDialer: h.signal.SetDialer,
		certificate: h.certs.GetCertificate, logger: h.logger}
	h.stats = &statsService{host: h}
	handler := api.New(api.Config{
		DB: h.core.db, Accounts: h.core.accounts, Settings: h.core.settings, Certificates: h.certs,
		Conferences: h.conferences, Signal: h.signal, ICEServers: h.testICEServers, SelfTest: h.media.selfTest,
		Health: h.health, Stats: h.stats.stats, Metrics: h.metrics, ServerID: h.core.serverID, Version: Version, Pages: assets.Web(), Logger: h.logger,
		GatewayToken: h.gatewayToken,
		Phones: func() api.PhoneDialer {
			if gateway := h.sip.current(); gateway != nil {
				return gateway
			}
			return nil // not a nil *sip.Server in an interface
		},
	})
	h.overrides = opts
	h.web = web.New(handler, h.certs.GetCertificate, h.ports, h.logger)
	h.web.PassICETCP(h.media.iceTCP.pass)

	h.supervisor.Add(&storeService{core: h.core})
	h.supervisor.Add(&certificateService{certs: h.certs, db: h.core.db})
	// Media shares the web port (UDP, and ICE-TCP on the HTTPS listener):
	// it starts after web and follows it when the port changes.
	h.supervisor.Add(service{name: h.web.Name(), serve: func(ctx context.Context, st *supervisor.Status) error {
		return h.web.Serve(ctx, listeningReporter{Status: st, listening: h.media.checkNetwork})
	}})
	h.supervisor.Add(h.media)
	h.supervisor.Add(h.turn)
	h.supervisor.Add(service{name: "conferences", serve: func(ctx context.Context, st *supervisor.Status) error {
		st.Ready("")
		<-ctx.Done()
		// Stopping: connections close, then rooms end with a reason.
		h.signal.Close()
		h.conferences.Close()
		return nil
	}})
	// After conferences, so that on stop the calls hang up (BYE) first.
	h.supervisor.Add(h.sip)
	h.supervisor.Add(h.stats)
	if opts.Discovery {
		advertiser := discovery.NewAdvertiser(h.announcement, h.logger)
		h.supervisor.Add(service{name: "discovery", serve: func(ctx context.Context, st *supervisor.Status) error {
			return advertiser.Serve(ctx, st)
		}})
	}
	// New ports or a new address need a new listener; everything else the
	// server reads live.
	h.core.settings.Watch(func(before, after settings.Settings) {
		if before.HTTPSPort != after.HTTPSPort || before.HTTPPort != after.HTTPPort || before.ListenAddress != after.ListenAddress {
			// An administrator's choice wins over the command line's.
			h.mu.Lock()
			h.overrides.HTTPSPort, h.overrides.HTTPPort, h.overrides.Listen = 0, 0, ""
			h.mu.Unlock()
			h.web.Forget()
			h.supervisor.Restart(h.web.Name())
		}
		if before.MediaUDPPorts != after.MediaUDPPorts || !slices.Equal(before.ExternalAddresses, after.ExternalAddresses) ||
			before.PublicAddressSTUN != after.PublicAddressSTUN || before.ListenAddress != after.ListenAddress {
			h.media.checkNetwork()
		}
		if before.TURN != after.TURN || before.ListenAddress != after.ListenAddress {
			h.supervisor.Restart(h.turn.Name())
		}
		if !reflect.DeepEqual(before.SIP, after.SIP) || before.ListenAddress != after.ListenAddress {
			h.supervisor.Restart(h.sip.Name())
		}
		if before.BaseURL != after.BaseURL {
			// The certificate must cover the name in the new base URL.
			h.supervisor.Restart(tlsService)
		}
	})
	if err := h.supervisor.Start(ctx); err != nil {
		h.logger.Warn("not every subsystem is running yet", slog.Any("error", err))
	}

	hasOwner, err := h.core.accounts.OwnerExists(ctx)
	if err != nil {
		return err
	}
	if !hasOwner {
		if h.setupToken, err = h.core.accounts.NewSetupToken(ctx); err != nil {
			return err
		}
	}
	return h.lock.SetHolder(fmt.Sprintf("pid %d, %s", os.Getpid(), h.LocalURL()))
}

// listeningReporter tells listening about every Ready or Degraded report
// of the web subsystem: its port may have changed.
type listeningReporter struct {
	*supervisor.Status
	listening func()
}

func (r listeningReporter) Ready(note string) {
	r.Status.Ready(note)
	r.listening()
}

func (r listeningReporter) Degraded(reason string) {
	r.Status.Degraded(reason)
	r.listening()
}

// ports merges command-line overrides over the settings.
func (h *Host) ports() web.Ports {
	h.mu.Lock()
	opts := h.overrides
	h.mu.Unlock()
	current := h.core.settings.Current()
	ports := web.Ports{Address: current.ListenAddress, HTTPSPort: current.HTTPSPort, HTTPPort: current.HTTPPort}
	if opts.Listen != "" {
		ports.Address = opts.Listen
	}
	if opts.HTTPSPort != 0 {
		ports.HTTPSPort = opts.HTTPSPort
	}
	switch {
	case opts.HTTPPort < 0:
		ports.HTTPPort = 0
	case opts.HTTPPort > 0:
		ports.HTTPPort = opts.HTTPPort
	}
	return ports
}

// certificateNames are the names the generated certificate covers: this
// machine's, and the one in the base URL, the name a company's DNS (an SRV
// record's target) gives the server.
func (h *Host) certificateNames() []string {
	names := certs.DefaultNames()
	if base, err := url.Parse(h.core.settings.Current().BaseURL); err == nil && base.Hostname() != "" && net.ParseIP(base.Hostname()) == nil {
		names = append(names, base.Hostname())
	}
	return names
}

// announcement is what the server says about itself on the LAN; nothing
// while the web subsystem has no port.
func (h *Host) announcement() (discovery.Announcement, bool) {
	port := h.web.HTTPSPort()
	if port == 0 {
		return discovery.Announcement{}, false
	}
	current := h.core.settings.Current()
	return discovery.Announcement{
		Name: current.ServerName, Port: port, ServerID: h.core.serverID, Path: "/",
		Guests: current.GuestsAllowed, CertSHA: h.certs.Info().SHA256, CASHA: h.certs.CASHA256(),
		Address: h.ports().Address,
	}, true
}

// Stop stops every subsystem in reverse order, lets requests in flight
// finish, closes the database and releases the data directory.
func (h *Host) Stop() {
	if h.supervisor != nil {
		h.supervisor.Stop()
	}
	if h.core != nil {
		if err := h.core.db.Close(); err != nil {
			h.logger.Error("close database", slog.Any("error", err))
		}
	}
	if err := h.lock.Release(); err != nil {
		h.logger.Error("release data directory", slog.Any("error", err))
	}
}

// gatewayClient is the SIP gateway's client of this server's public
// protocol, on loopback, with the gateway's token.
func (h *Host) gatewayClient() (*client.Client, error) {
	c, err := client.New(h.LocalURL(), client.Options{CACertPEM: h.certs.CACertPEM()})
	if err != nil {
		return nil, fmt.Errorf("SIP gateway's client: %w", err)
	}
	c.SetToken(h.gatewayToken)
	return c, nil
}

// SIPPort is the port the SIP gateway listens on (0 while it does not).
func (h *Host) SIPPort() int { return h.sip.Port() }

// DataDir is the data directory in use.
func (h *Host) DataDir() string { return h.core.dir }

// HTTPSPort is the bound HTTPS port (0 while the web subsystem is down).
func (h *Host) HTTPSPort() int { return h.web.HTTPSPort() }

// LocalURL is the address that works on this machine.
func (h *Host) LocalURL() string {
	host := "localhost"
	if h.ports().Address != "" {
		// Listening on one address only: loopback is not among them.
		host = h.ports().Address
	}
	return "https://" + net.JoinHostPort(host, strconv.Itoa(h.HTTPSPort())) + "/"
}

// URL is the address to share: the configured base URL, or the first LAN
// address of this machine.
func (h *Host) URL() string {
	if base := h.core.settings.Current().BaseURL; base != "" {
		return base
	}
	host := "localhost"
	if addr, ok := lanAddress(); ok {
		host = addr.String()
	}
	return "https://" + net.JoinHostPort(host, strconv.Itoa(h.HTTPSPort())) + "/"
}

// SetupLink is the one-time link that creates the owner, or "" once the
// server has one.
func (h *Host) SetupLink() string {
	token := h.SetupToken()
	if token == "" {
		return ""
	}
	return h.URL() + "setup/" + token
}

func (h *Host) health() []api.Subsystem {
	var list []api.Subsystem
	for _, s := range h.supervisor.Health() {
		list = append(list, api.Subsystem{Name: s.Name, State: string(s.State), Reason: s.Reason, Since: s.Since, Restarts: s.Restarts})
	}
	return list
}

// recordSubsystemEvent logs starts, failures and stops; the transient
// states in between would only add noise.
func (h *Host) recordSubsystemEvent(e supervisor.Event) {
	switch e.State {
	case supervisor.Running, supervisor.Degraded, supervisor.Restarting, supervisor.Stopped:
	default:
		return
	}
	details := map[string]any{"state": e.State}
	if e.Reason != "" {
		details["reason"] = e.Reason
	}
	err := eventlog.Record(context.Background(), h.core.db, eventlog.Entry{At: e.Time, Kind: eventlog.SubsystemState,
		Actor: eventlog.System, Subject: e.Service, Details: details})
	if err != nil && !errors.Is(err, context.Canceled) {
		h.logger.Error("record subsystem event", slog.Any("error", err))
	}
}

// lanAddress picks the address colleagues reach this machine at: the first
// private IPv4 address of an interface that is up, else any global one.
func lanAddress() (netip.Addr, bool) {
	var fallback netip.Addr
	for _, ip := range certs.DefaultAddresses() {
		addr, ok := netip.AddrFromSlice(ip)
		if !ok {
			continue
		}
		addr = addr.Unmap()
		if addr.IsLoopback() || addr.IsLinkLocalUnicast() || !addr.Is4() {
			continue
		}
		if addr.IsPrivate() {
			return addr, true
		}
		if !fallback.IsValid() {
			fallback = addr
		}
	}
	return fallback, fallback.IsValid()
}

// SetupToken is the one-time token that creates the owner, or "" once the
// server has one. The desktop app's wizard uses it through the public API.
func (h *Host) SetupToken() string {
	if h.setupToken == "" || h.core.accounts.CheckSetupToken(context.Background(), h.setupToken) != nil {
		return ""
	}
	return h.setupToken
}

// desktopSessionLabel marks the desktop app's sessions.
const desktopSessionLabel = "desktop app"

// DesktopToken opens a bearer session for the owner without a password:
// the person at this machine's desktop is the owner (issue: host mode).
func (h *Host) DesktopToken(ctx context.Context) (string, error) {
	owner, err := h.core.accounts.Owner(ctx)
	if err != nil {
		return "", fmt.Errorf("desktop session: %w", err)
	}
	// One desktop session at a time: the one of a previous run (which may
	// have crashed before signing out) ends.
	token, _, err := h.core.accounts.HostSession(ctx, owner.ID, desktopSessionLabel)
	return token, err
}

// CACertificatePEM is the local CA that signs the server certificate.
func (h *Host) CACertificatePEM() []byte { return h.certs.CACertPEM() }
