package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parleyhq/parley/app/supervisor"
	"github.com/parleyhq/parley/media/turnserver"
	"github.com/parleyhq/parley/server/iceservers"
	"github.com/parleyhq/parley/server/settings"
)

// turnCredentialLifetime is how long the TURN credentials a client gets
// on joining stay valid: clients refresh their allocations with them for
// the whole meeting, so they must outlast a long one.
const turnCredentialLifetime = 12 * time.Hour

// testCredentialLifetime is for the self-test page and the settings' test
// of the servers: anyone may open the page, and a test is soon over.
const testCredentialLifetime = 10 * time.Minute

// turnService runs the built-in TURN server as the "turn" subsystem.
type turnService struct {
	settings  func() settings.Settings
	secret    []byte
	listen    func() string
	certs     turnserver.Config // GetCertificate and Logger
	mediaPort func(port int) bool

	mu      sync.Mutex
	running *turnserver.Server
	port    int // the UDP and TCP port it listens on
	// configured is the port the settings asked for when port was bound:
	// a restart for the same setting tries port first, so that clients
	// keep the address they were given when the configured port was taken
	// and has since become free.
	configured int
}

func (t *turnService) Name() string { return "turn" }

func (t *turnService) Serve(ctx context.Context, st *supervisor.Status) error {
	current := t.settings().TURN
	if !current.Enabled {
		st.Ready("off")
		<-ctx.Done()
		return nil
	}
	relay := relayAddress(t.listen())
	low, high, _ := settings.ParsePortRange(current.RelayPorts) // validated when stored
	config := t.certs
	config.ListenAddress, config.Port, config.TLSPort = t.listen(), current.Port, current.TLSPort
	config.Secret, config.RelayAddress, config.RelayPortMin, config.RelayPortMax = t.secret, relay.AsSlice(), low, high
	config.AllowPrivatePeers, config.MaxAllocationsPerUser, config.MediaPort = current.AllowPrivatePeers, current.MaxAllocationsPerUser, t.mediaPort
	if current.TLSPort == 0 {
		config.GetCertificate = nil
	}
	// Like the web port: when the port is taken, the next free one.
	preferred := current.Port
	t.mu.Lock()
	last := t.port
	if t.configured != preferred || last < preferred || last >= preferred+portSearch {
		last = 0
	}
	t.mu.Unlock()
	if last != 0 {
		config.Port = last
	}
	for {
		err := t.serve(ctx, st, config, relay, preferred)
		var inUse *turnserver.PortInUseError
		if !errors.As(err, &inUse) || inUse.Port != config.Port {
			return err
		}
		switch {
		case config.Port == last && last != preferred:
			// The last run's port is taken now: search from the start.
			last, config.Port = 0, preferred
		case config.Port >= preferred+portSearch || config.Port == 65535:
			return err
		default:
			config.Port++
		}
	}
}

// portSearch is how many ports after the configured one are tried.
const portSearch = 20

func (t *turnService) serve(ctx context.Context, st *supervisor.Status, config turnserver.Config, relay netip.Addr, preferred int) error {
	server, err := turnserver.New(config)
	if err != nil {
		return err
	}
	defer func() {
		t.mu.Lock()
		t.running = nil
		t.mu.Unlock()
	}()
	return server.Serve(ctx, func() {
		t.mu.Lock()
		t.running, t.port, t.configured = server, config.Port, preferred
		t.mu.Unlock()
		note := fmt.Sprintf("UDP and TCP port %d, relaying from %s", config.Port, relay)
		if config.TLSPort != 0 {
			note += fmt.Sprintf(", TLS port %d", config.TLSPort)
		}
		st.Ready(note)
	})
}

// serving is the running server and its port, nil while the subsystem
// is off or down.
func (t *turnService) serving() (*turnserver.Server, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.running, t.port
}

// relayAddress is where relayed media leaves from: the listen address, or
// the LAN address, or loopback on a machine without a network.
func relayAddress(listen string) netip.Addr {
	if addr, err := netip.ParseAddr(listen); err == nil && !addr.IsUnspecified() {
		return addr
	}
	if addr, ok := lanAddress(); ok {
		return addr
	}
	return netip.MustParseAddr("127.0.0.1")
}

// newTURNSecret makes the shared secret of the TURN credentials.
func newTURNSecret() (string, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return "", err
	}
	return strconv.Quote(hex.EncodeToString(secret)), nil
}

// iceServersFor is the list a client gets on joining: the built-in TURN
// server while it runs, with credentials for this user, then the servers
// the administrator configured.
func (h *Host) iceServersFor(user string) []webrtc.ICEServer {
	return h.iceServers(user, turnCredentialLifetime)
}

// testICEServers is iceServersFor with credentials that soon expire.
func (h *Host) testICEServers(user string) []webrtc.ICEServer {
	return h.iceServers(user, testCredentialLifetime)
}

func (h *Host) iceServers(user string, lifetime time.Duration) []webrtc.ICEServer {
	current := h.core.settings.Current()
	list := []webrtc.ICEServer{}
	if running, port := h.turn.serving(); running != nil {
		host := h.turnHost()
		username, password := turnserver.Credentials(h.turn.secret, user, lifetime, time.Now())
		urls := []string{
			"turn:" + net.JoinHostPort(host, strconv.Itoa(port)) + "?transport=udp",
			"turn:" + net.JoinHostPort(host, strconv.Itoa(port)) + "?transport=tcp",
		}
		if current.TURN.TLSPort != 0 {
			urls = append(urls, "turns:"+net.JoinHostPort(host, strconv.Itoa(current.TURN.TLSPort))+"?transport=tcp")
		}
		list = append(list, webrtc.ICEServer{URLs: urls, Username: username, Credential: password, CredentialType: webrtc.ICECredentialTypePassword})
	}
	return append(list, iceservers.WebRTC(current.ICEServers)...)
}

// turnHost is the name clients reach the built-in TURN server at: the
// host of the address the server shares.
func (h *Host) turnHost() string {
	if base, err := url.Parse(h.URL()); err == nil && base.Hostname() != "" {
		return base.Hostname()
	}
	return relayAddress(h.ports().Address).String()
}

// mediaPort says whether a UDP port of this machine is one the SFU
// receives on: the one port, or the configured range.
func (h *Host) mediaPort(port int) bool {
	ports := h.media.ports.Load()
	return ports != nil && port >= ports[0] && port <= ports[1]
}
