// Package turnserver owns the built-in TURN server of a Parley host: it
// relays media for clients that cannot reach the SFU directly (NAT,
// firewalls), over UDP, TCP and optionally TLS. It authenticates with
// short-lived TURN REST credentials only (see Credentials), refuses peers on
// this machine and its link unless allowed, limits each user's concurrent
// allocations, and relays UDP only, on the configured relay address and port
// range. It never touches the database; its configuration comes in as a
// Config.
//
// The protocol work is pion/turn's; this package adds the policy, binds the
// sockets, and keeps track of them so that Serve can end every goroutine it
// started.
package turnserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/pion/turn/v5"

	"github.com/parleyhq/parley/media/pionlog"
)

// DefaultPort is the standard TURN port (UDP and TCP). Config.Port 0 picks
// free ports instead, for tests.
const DefaultPort = 3478

const (
	defaultRealm                 = "parley"
	defaultMaxAllocationsPerUser = 10
	// minSecretLength keeps a guessable secret out: whoever knows it can
	// mint credentials for the relay.
	minSecretLength = 16
	// shutdownGrace bounds the wait for pion to report the last allocation
	// deleted after its socket was closed; it takes microseconds normally.
	shutdownGrace = 5 * time.Second
)

// Config configures the TURN server.
type Config struct {
	// ListenAddress is the IP address to listen on; "" listens on all.
	ListenAddress string
	// Port is the UDP and TCP port, normally DefaultPort. 0 picks a free
	// port for each (tests); Addr reports them.
	Port int
	// TLSPort is the port of TURN over TLS (e.g. 443 or 5349); 0 serves no
	// TLS.
	TLSPort int
	// GetCertificate supplies the TLS certificate; required with TLSPort.
	GetCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	// Realm is the TURN realm; "" means "parley".
	Realm string
	// Secret is the shared secret of the TURN REST credential scheme, at
	// least 16 bytes.
	Secret []byte
	// RelayAddress is the address relayed ports are opened on and
	// advertised to clients (required; e.g. the LAN address).
	RelayAddress net.IP
	// RelayPortMin and RelayPortMax bound the relayed ports (inclusive);
	// 0, 0 uses any ephemeral port.
	RelayPortMin, RelayPortMax uint16
	// AllowPrivatePeers lets clients relay to loopback, link-local and this
	// server's own addresses. Off by default: otherwise a TURN user could
	// reach services on the server machine or its LAN through it.
	AllowPrivatePeers bool
	// MediaPort says whether a port of this machine is one its media
	// server (the SFU) receives on: clients may relay to this machine's
	// own addresses, loopback included, on those ports and no other.
	MediaPort func(port int) bool
	// AllowedPeers are networks always allowed as peers even when
	// AllowPrivatePeers is off (e.g. the SFU's own address).
	AllowedPeers []netip.Prefix
	// MaxAllocationsPerUser limits one user's concurrent allocations; 0
	// means 10.
	MaxAllocationsPerUser int
	// Logger receives the server's and pion's messages; nil means
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock credentials are checked against; nil means time.Now.
	Now func() time.Time
}

// Server is the TURN server. Serve may run again after it returned (a
// supervisor restarting it), but not twice at once.
type Server struct {
	cfg   Config
	relay netip.Addr
	log   *slog.Logger

	mu      sync.Mutex
	serving bool
	current *run // nil until the listeners of the running Serve are bound
}

// New validates cfg and returns a server; nothing is bound until Serve.
func New(cfg Config) (*Server, error) {
	relay, err := validate(&cfg)
	if err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, relay: relay, log: cfg.Logger.With("component", "turn")}, nil
}

// validate checks cfg, fills in its defaults and copies its slices, so that
// the caller's later changes cannot reach a running server. It returns the
// relay address.
func validate(cfg *Config) (netip.Addr, error) {
	if cfg.RelayAddress == nil {
		return netip.Addr{}, errors.New("turn: RelayAddress is required: the address relayed ports are opened on and advertised")
	}
	relay, ok := netip.AddrFromSlice(cfg.RelayAddress)
	relay = relay.Unmap()
	switch {
	case !ok:
		return netip.Addr{}, fmt.Errorf("turn: RelayAddress %v is not an IP address", cfg.RelayAddress)
	case relay.IsUnspecified():
		return netip.Addr{}, fmt.Errorf("turn: RelayAddress must be one address clients can reach, not %v", relay)
	}
	if cfg.ListenAddress != "" {
		if _, err := netip.ParseAddr(cfg.ListenAddress); err != nil {
			return netip.Addr{}, fmt.Errorf("turn: ListenAddress %q is not an IP address", cfg.ListenAddress)
		}
	}
	switch {
	case cfg.Port < 0 || cfg.Port > 65535:
		return netip.Addr{}, fmt.Errorf("turn: Port %d is out of range", cfg.Port)
	case cfg.TLSPort < 0 || cfg.TLSPort > 65535:
		return netip.Addr{}, fmt.Errorf("turn: TLSPort %d is out of range", cfg.TLSPort)
	case cfg.TLSPort != 0 && cfg.TLSPort == cfg.Port:
		return netip.Addr{}, fmt.Errorf("turn: TLSPort and Port are both %d, but both need TCP", cfg.Port)
	case cfg.TLSPort != 0 && cfg.GetCertificate == nil:
		return netip.Addr{}, errors.New("turn: TLSPort is set but GetCertificate is not")
	case len(cfg.Secret) < minSecretLength:
		return netip.Addr{}, fmt.Errorf("turn: Secret has %d bytes, needs at least %d", len(cfg.Secret), minSecretLength)
	case (cfg.RelayPortMin == 0) != (cfg.RelayPortMax == 0):
		return netip.Addr{}, fmt.Errorf("turn: set both RelayPortMin and RelayPortMax or neither (have %d-%d)", cfg.RelayPortMin, cfg.RelayPortMax)
	case cfg.RelayPortMin > cfg.RelayPortMax:
		return netip.Addr{}, fmt.Errorf("turn: RelayPortMin %d is above RelayPortMax %d", cfg.RelayPortMin, cfg.RelayPortMax)
	case cfg.MaxAllocationsPerUser < 0:
		return netip.Addr{}, fmt.Errorf("turn: MaxAllocationsPerUser %d is negative", cfg.MaxAllocationsPerUser)
	}
	for _, prefix := range cfg.AllowedPeers {
		if !prefix.IsValid() {
			return netip.Addr{}, fmt.Errorf("turn: AllowedPeers holds an invalid prefix %v", prefix)
		}
	}
	cfg.Secret = slices.Clone(cfg.Secret)
	cfg.AllowedPeers = slices.Clone(cfg.AllowedPeers)
	if cfg.Realm == "" {
		cfg.Realm = defaultRealm
	}
	if cfg.MaxAllocationsPerUser == 0 {
		cfg.MaxAllocationsPerUser = defaultMaxAllocationsPerUser
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return relay, nil
}

// Serve binds the listeners, serves until ctx ends, then closes everything
// (all allocations, all connections) and returns nil once none of its
// goroutines is left waiting on anything and every allocation is gone.
// ready, if not nil, is called once all listeners are bound; a bind failure
// is returned instead, naming the port ("turn: UDP port 3478 in use").
func (s *Server) Serve(ctx context.Context, ready func()) error {
	s.mu.Lock()
	if s.serving {
		s.mu.Unlock()
		return errors.New("turn: already serving")
	}
	s.serving = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.serving, s.current = false, nil
		s.mu.Unlock()
	}()

	r := newRun(s)
	if err := r.listen(ctx); err != nil {
		r.sockets.closeAll()
		return err
	}
	server, err := turn.NewServer(r.serverConfig())
	if err != nil {
		// NewServer may have started reading some listeners already.
		r.sockets.closeAll()
		r.sockets.waitIdle()
		return fmt.Errorf("turn: start: %w", err)
	}
	s.mu.Lock()
	s.current = r
	s.mu.Unlock()
	s.log.Info("TURN server listening", slog.Any("udp", r.udpAddr), slog.Any("tcp", r.tcpAddr), slog.Any("tls", r.tlsAddr),
		slog.String("relay_address", s.relay.String()))
	if ready != nil {
		ready()
	}

	<-ctx.Done()
	r.shutdown(server)
	s.log.Info("TURN server stopped")
	return nil
}

// Allocations is the number of current allocations, for the dashboard and
// metrics.
func (s *Server) Allocations() int {
	s.mu.Lock()
	r := s.current
	s.mu.Unlock()
	if r == nil {
		return 0
	}
	return r.quota.liveAllocations()
}

// Addr returns the bound UDP, TCP and TLS addresses while serving; each is
// nil when not bound (tls without a TLSPort).
func (s *Server) Addr() (udp, tcp, tls net.Addr) {
	s.mu.Lock()
	r := s.current
	s.mu.Unlock()
	if r == nil {
		return nil, nil, nil
	}
	// Typed nil pointers must not become non-nil interfaces.
	if r.tlsAddr != nil {
		tls = r.tlsAddr
	}
	return r.udpAddr, r.tcpAddr, tls
}

// run is the state of one Serve call.
type run struct {
	server  *Server
	sockets *sockets
	quota   *allocationQuota
	peers   *peerPolicy

	udpConn     net.PacketConn
	tcpListener net.Listener
	tlsListener net.Listener
	udpAddr     *net.UDPAddr
	tcpAddr     *net.TCPAddr
	tlsAddr     *net.TCPAddr
}

func newRun(s *Server) *run {
	fixed := []netip.Addr{s.relay}
	if s.cfg.ListenAddress != "" {
		fixed = append(fixed, netip.MustParseAddr(s.cfg.ListenAddress).Unmap())
	}
	return &run{
		server:  s,
		sockets: newSockets(s.log),
		quota:   newAllocationQuota(s.cfg.MaxAllocationsPerUser),
		peers:   newPeerPolicy(s.cfg.AllowPrivatePeers, s.cfg.AllowedPeers, fixed, s.cfg.MediaPort),
	}
}

// listen binds the UDP, TCP and (if configured) TLS listeners.
func (r *run) listen(ctx context.Context) error {
	cfg := r.server.cfg
	var config net.ListenConfig
	udp, err := config.ListenPacket(ctx, "udp", net.JoinHostPort(cfg.ListenAddress, strconv.Itoa(cfg.Port)))
	if err != nil {
		return bindError("UDP", cfg.Port, err)
	}
	if r.udpConn, err = r.sockets.trackPacketConn(udp); err != nil {
		return err
	}
	r.udpAddr = udp.LocalAddr().(*net.UDPAddr)

	tcp, err := config.Listen(ctx, "tcp", net.JoinHostPort(cfg.ListenAddress, strconv.Itoa(cfg.Port)))
	if err != nil {
		return bindError("TCP", cfg.Port, err)
	}
	if r.tcpListener, err = r.sockets.trackListener(tcp); err != nil {
		return err
	}
	r.tcpAddr = tcp.Addr().(*net.TCPAddr)

	if cfg.TLSPort == 0 {
		return nil
	}
	tlsTCP, err := config.Listen(ctx, "tcp", net.JoinHostPort(cfg.ListenAddress, strconv.Itoa(cfg.TLSPort)))
	if err != nil {
		return bindError("TLS", cfg.TLSPort, err)
	}
	tracked, err := r.sockets.trackListener(tlsTCP)
	if err != nil {
		return err
	}
	// TLS sits above the tracking, so that pion still sees *tls.Conn and
	// shutdown closes the TCP connections underneath.
	r.tlsListener = tls.NewListener(tracked, &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: cfg.GetCertificate,
	})
	r.tlsAddr = tlsTCP.Addr().(*net.TCPAddr)
	return nil
}

// PortInUseError is a port another program holds.
type PortInUseError struct {
	Transport string // UDP, TCP or TLS
	Port      int
}

func (e *PortInUseError) Error() string {
	return fmt.Sprintf("turn: %s port %d in use", e.Transport, e.Port)
}

func bindError(transport string, port int, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return &PortInUseError{Transport: transport, Port: port}
	}
	return fmt.Errorf("turn: listen on %s port %d: %w", transport, port, err)
}

// serverConfig wires the run's policy into pion/turn.
func (r *run) serverConfig() turn.ServerConfig {
	cfg := r.server.cfg
	relays := &relayPorts{address: r.server.relay, min: cfg.RelayPortMin, max: cfg.RelayPortMax, sockets: r.sockets, peers: r.peers}
	config := turn.ServerConfig{
		PacketConnConfigs: []turn.PacketConnConfig{{
			PacketConn:            r.udpConn,
			RelayAddressGenerator: relays,
			PermissionHandler:     r.permitPeer,
		}},
		ListenerConfigs: []turn.ListenerConfig{{
			Listener:              r.tcpListener,
			RelayAddressGenerator: relays,
			PermissionHandler:     r.permitPeer,
		}},
		LoggerFactory: pionlog.Factory{Logger: r.server.log, ErrorLevel: slog.LevelWarn},
		Realm:         cfg.Realm,
		AuthHandler:   r.authenticate,
		QuotaHandler:  r.reserveAllocation,
		EventHandler: turn.EventHandler{
			OnAuth:              r.onAuth,
			OnAllocationCreated: r.onAllocationCreated,
			OnAllocationDeleted: r.onAllocationDeleted,
			OnAllocationError:   r.onRequestError,
		},
		// Without REQUESTED-ADDRESS-FAMILY pion would follow the family the
		// client connected over, but relays exist only in the relay
		// address's family; for IPv4 the RFC 6156 default is the right one.
		StrictAddressFamily: r.server.relay.Is4(),
	}
	if r.tlsListener != nil {
		config.ListenerConfigs = append(config.ListenerConfigs, turn.ListenerConfig{
			Listener:              r.tlsListener,
			RelayAddressGenerator: relays,
			PermissionHandler:     r.permitPeer,
		})
	}
	return config
}

// shutdown stops pion, closes every socket of the run, and waits until no
// goroutine is blocked on one and pion has deleted every allocation.
func (r *run) shutdown(server *turn.Server) {
	if err := server.Close(); err != nil {
		r.server.log.Debug("closing TURN listeners", slog.Any("error", err))
	}
	r.sockets.closeAll()
	r.sockets.waitIdle()
	select {
	case <-r.quota.drained():
	case <-time.After(shutdownGrace):
		r.server.log.Warn("TURN allocations still open after shutdown", slog.Int("allocations", r.quota.liveAllocations()))
	}
}

// authenticate is pion's AuthHandler: it accepts TURN REST usernames only.
func (r *run) authenticate(ra *turn.RequestAttributes) (userID string, key []byte, ok bool) {
	cfg := r.server.cfg
	if ra.Realm != cfg.Realm {
		r.server.log.Debug("TURN authentication refused", slog.String("reason", "wrong realm"),
			slog.String("realm", ra.Realm), slog.Any("client", ra.SrcAddr))
		return "", nil, false
	}
	user, key, err := longTermKey(cfg.Secret, cfg.Realm, ra.Username, cfg.Now())
	if err != nil {
		r.server.log.Debug("TURN authentication refused", slog.String("reason", err.Error()),
			slog.String("username", ra.Username), slog.Any("client", ra.SrcAddr))
		return "", nil, false
	}
	return user, key, true
}

// onAuth reports failed password checks: pion verifies MESSAGE-INTEGRITY
// with the key authenticate returned.
func (r *run) onAuth(srcAddr, _ net.Addr, protocol, username, _, method string, verdict bool) {
	if !verdict {
		r.server.log.Debug("TURN authentication refused", slog.String("reason", "wrong password"),
			slog.String("username", username), slog.String("method", method),
			slog.String("protocol", protocol), slog.Any("client", srcAddr))
	}
}

// permitPeer is pion's PermissionHandler, consulted for CreatePermission
// and ChannelBind.
func (r *run) permitPeer(clientAddr net.Addr, peerIP net.IP) bool {
	ok, reason := r.peers.permit(peerIP)
	if !ok {
		r.server.log.Info("TURN peer refused", slog.Any("client", clientAddr), slog.Any("peer", peerIP), slog.String("reason", reason))
	}
	return ok
}

// reserveAllocation is pion's QuotaHandler; a refusal answers 486
// (Allocation Quota Reached).
func (r *run) reserveAllocation(user, _ string, srcAddr net.Addr) bool {
	if r.quota.reserve(user, srcAddr) {
		return true
	}
	r.server.log.Info("TURN allocation quota reached", slog.String("user", user), slog.Any("client", srcAddr),
		slog.Int("limit", r.server.cfg.MaxAllocationsPerUser))
	return false
}

func (r *run) onAllocationCreated(srcAddr, _ net.Addr, protocol, user, _ string, relayAddr net.Addr, _ int) {
	r.quota.created(user, srcAddr)
	r.server.log.Debug("TURN allocation created", slog.String("user", user), slog.Any("client", srcAddr),
		slog.String("protocol", protocol), slog.Any("relay", relayAddr))
}

func (r *run) onAllocationDeleted(srcAddr, _ net.Addr, protocol, user, _ string) {
	r.quota.deleted(user)
	r.server.log.Debug("TURN allocation deleted", slog.String("user", user), slog.Any("client", srcAddr),
		slog.String("protocol", protocol))
}

// onRequestError hears of every request pion failed to handle, among them
// allocations that failed after their quota check.
func (r *run) onRequestError(srcAddr, _ net.Addr, _, _ string) {
	r.quota.failed(srcAddr)
}
