package turnserver

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mathrand "math/rand/v2"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"

	"github.com/parleyhq/parley/media/pionlog"
	"github.com/parleyhq/parley/server/certs/certstest"
)

var testSecret = []byte("parley-test-secret-0123456789")

// ioTimeout bounds every wait for a packet or a state change.
const ioTimeout = 10 * time.Second

// testLogger collects the server's log and prints it if the test fails.
func testLogger(t *testing.T) *slog.Logger {
	t.Helper()
	out := &lockedBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log("server log:\n" + out.String())
		}
	})
	return slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testConfig(t *testing.T) Config {
	return Config{
		ListenAddress: "127.0.0.1",
		Secret:        testSecret,
		RelayAddress:  net.IPv4(127, 0, 0, 1),
		Logger:        testLogger(t),
	}
}

// startServer serves cfg until the test ends.
func startServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	srv, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, func() { close(ready) }) }()
	select {
	case <-ready:
	case err := <-served:
		cancel()
		t.Fatalf("Serve: %v", err)
	case <-time.After(ioTimeout):
		t.Fatal("Serve did not become ready")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(ioTimeout):
			t.Error("Serve did not return after cancel")
		}
	})
	return srv
}

// testTLS returns a self-signed certificate for 127.0.0.1 and a client
// configuration that trusts it.
func testTLS(t *testing.T) (func(*tls.ClientHelloInfo) (*tls.Certificate, error), *tls.Config) {
	t.Helper()
	cert := certstest.SelfSigned(t, "127.0.0.1")
	getCertificate := func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert.TLS, nil }
	return getCertificate, &tls.Config{RootCAs: cert.Roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// freeTCPPort returns a TCP port that was free a moment ago.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	return listener.Addr().(*net.TCPAddr).Port
}

// newClient connects a pion TURN client to srv over transport ("udp",
// "tcp" or "tls"); it is closed when the test ends.
func newClient(t *testing.T, srv *Server, transport string, clientTLS *tls.Config, username, password string) *turn.Client {
	t.Helper()
	udpAddr, tcpAddr, tlsAddr := srv.Addr()
	var conn net.PacketConn
	var serverAddr string
	switch transport {
	case "udp":
		udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		conn, serverAddr = udp, udpAddr.String()
	case "tcp":
		tcp, err := net.Dial("tcp", tcpAddr.String())
		if err != nil {
			t.Fatal(err)
		}
		conn, serverAddr = turn.NewSTUNConn(tcp), tcpAddr.String()
	case "tls":
		tlsConn, err := tls.Dial("tcp", tlsAddr.String(), clientTLS)
		if err != nil {
			t.Fatal(err)
		}
		conn, serverAddr = turn.NewSTUNConn(tlsConn), tlsAddr.String()
	default:
		t.Fatalf("unknown transport %q", transport)
	}
	client, err := turn.NewClient(&turn.ClientConfig{
		TURNServerAddr: serverAddr,
		Conn:           conn,
		Username:       username,
		Password:       password,
		LoggerFactory:  pionlog.Factory{Logger: slog.New(slog.DiscardHandler)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		client.Close()
		_ = conn.Close()
	})
	return client
}

// allocate allocates a relay, released when the test ends.
func allocate(t *testing.T, client *turn.Client) net.PacketConn {
	t.Helper()
	relay, err := client.Allocate()
	if err != nil {
		t.Fatalf("Allocate: %v", err)
	}
	t.Cleanup(func() { _ = relay.Close() })
	return relay
}

func credentials(user string) (username, password string) {
	return Credentials(testSecret, user, time.Hour, time.Now())
}

func listenPeer(t *testing.T) net.PacketConn {
	t.Helper()
	peer, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = peer.Close() })
	return peer
}

func hostPrefix(addr net.Addr) netip.Prefix {
	ip := netip.MustParseAddrPort(addr.String()).Addr()
	return netip.PrefixFrom(ip, ip.BitLen())
}

// turnErrorCode is the error code of a TURN error response, 0 for another
// error.
func turnErrorCode(err error) stun.ErrorCode {
	var turnErr *stun.TurnError
	if errors.As(err, &turnErr) {
		return turnErr.ErrorCodeAttr.Code
	}
	return 0
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(ioTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// exchange sends a datagram through the relay to the peer and one back.
func exchange(t *testing.T, relay, peer net.PacketConn) {
	t.Helper()
	if _, err := relay.WriteTo([]byte("to peer"), peer.LocalAddr()); err != nil {
		t.Fatalf("write through relay: %v", err)
	}
	buf := make([]byte, 1500)
	_ = peer.SetReadDeadline(time.Now().Add(ioTimeout))
	n, from, err := peer.ReadFrom(buf)
	if err != nil {
		t.Fatalf("peer read: %v", err)
	}
	if string(buf[:n]) != "to peer" || from.String() != relay.LocalAddr().String() {
		t.Fatalf("peer got %q from %v, want %q from the relay %v", buf[:n], from, "to peer", relay.LocalAddr())
	}
	if _, err := peer.WriteTo([]byte("to client"), from); err != nil {
		t.Fatalf("peer write: %v", err)
	}
	_ = relay.SetReadDeadline(time.Now().Add(ioTimeout))
	n, from, err = relay.ReadFrom(buf)
	if err != nil {
		t.Fatalf("read from relay: %v", err)
	}
	if string(buf[:n]) != "to client" || from.String() != peer.LocalAddr().String() {
		t.Fatalf("client got %q from %v, want %q from the peer %v", buf[:n], from, "to client", peer.LocalAddr())
	}
}

func TestRelay(t *testing.T) {
	getCertificate, clientTLS := testTLS(t)
	for _, transport := range []string{"udp", "tcp", "tls"} {
		t.Run(transport, func(t *testing.T) {
			peer := listenPeer(t)
			cfg := testConfig(t)
			cfg.TLSPort = freeTCPPort(t)
			cfg.GetCertificate = getCertificate
			cfg.AllowedPeers = []netip.Prefix{hostPrefix(peer.LocalAddr())}
			srv := startServer(t, cfg)

			username, password := credentials("alice")
			relay := allocate(t, newClient(t, srv, transport, clientTLS, username, password))
			if got := srv.Allocations(); got != 1 {
				t.Errorf("Allocations() = %d, want 1", got)
			}
			exchange(t, relay, peer)
			exchange(t, relay, peer) // by then over a channel binding, likely
		})
	}
}

func TestAllowPrivatePeers(t *testing.T) {
	peer := listenPeer(t)
	cfg := testConfig(t)
	cfg.AllowPrivatePeers = true
	srv := startServer(t, cfg)
	username, password := credentials("alice")
	exchange(t, allocate(t, newClient(t, srv, "udp", nil, username, password)), peer)
}

func TestAuthenticationRefused(t *testing.T) {
	srv := startServer(t, testConfig(t))
	valid, password := credentials("alice")
	expired, expiredPassword := Credentials(testSecret, "alice", -time.Minute, time.Now())
	otherSecret, otherPassword := Credentials([]byte("another-secret-0123456789"), "alice", time.Hour, time.Now())
	for _, c := range []struct {
		name, username, password string
	}{
		{"wrong password", valid, password + "x"},
		{"other secret", otherSecret, otherPassword},
		{"expired", expired, expiredPassword},
		{"no expiry", "alice", restPassword(testSecret, "alice")},
		{"no user", "1900000000:", restPassword(testSecret, "1900000000:")},
		{"bad expiry", "tomorrow:alice", restPassword(testSecret, "tomorrow:alice")},
		{"static password", "alice", "secret"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := newClient(t, srv, "udp", nil, c.username, c.password).Allocate()
			if code := turnErrorCode(err); code != stun.CodeUnauthorized {
				t.Fatalf("Allocate: %v, want 401", err)
			}
		})
	}
	if got := srv.Allocations(); got != 0 {
		t.Errorf("Allocations() = %d, want 0", got)
	}
}

func TestPrivatePeerRefused(t *testing.T) {
	peer := listenPeer(t)
	cfg := testConfig(t)
	cfg.AllowedPeers = []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}
	srv := startServer(t, cfg)
	username, password := credentials("alice")
	client := newClient(t, srv, "udp", nil, username, password)
	relay := allocate(t, client)

	_, err := relay.WriteTo([]byte("to peer"), peer.LocalAddr())
	if code := turnErrorCode(err); code != stun.CodeForbidden {
		t.Fatalf("write to a loopback peer: %v, want 403", err)
	}
	if err := client.CreatePermission(peer.LocalAddr()); turnErrorCode(err) != stun.CodeForbidden {
		t.Fatalf("CreatePermission: %v, want 403", err)
	}
	_ = peer.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if n, _, err := peer.ReadFrom(make([]byte, 1500)); err == nil {
		t.Fatalf("peer received %d bytes", n)
	}
}

// rawClient speaks STUN to the server directly, for requests the pion
// client only makes as a side effect.
type rawClient struct {
	t                         *testing.T
	conn                      net.PacketConn
	server                    net.Addr
	username, realm, password string
	nonce                     stun.Nonce
}

// xorPeerAddress is XOR-PEER-ADDRESS, encoded as XOR-MAPPED-ADDRESS is.
type xorPeerAddress struct{ stun.XORMappedAddress }

func (a xorPeerAddress) AddTo(m *stun.Message) error {
	return a.AddToAs(m, stun.AttrXORPeerAddress)
}

func (c *rawClient) do(method stun.Method, attrs ...stun.Setter) *stun.Message {
	c.t.Helper()
	setters := append([]stun.Setter{stun.TransactionID, stun.NewType(method, stun.ClassRequest)}, attrs...)
	if c.nonce != nil {
		setters = append(setters, stun.NewUsername(c.username), stun.NewRealm(c.realm), c.nonce,
			stun.NewLongTermIntegrity(c.username, c.realm, c.password))
	}
	request, err := stun.Build(append(setters, stun.Fingerprint)...)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.conn.WriteTo(request.Raw, c.server); err != nil {
		c.t.Fatal(err)
	}
	buf := make([]byte, 1500)
	_ = c.conn.SetReadDeadline(time.Now().Add(ioTimeout))
	n, _, err := c.conn.ReadFrom(buf)
	if err != nil {
		c.t.Fatalf("%v response: %v", method, err)
	}
	response := &stun.Message{Raw: buf[:n]}
	if err := response.Decode(); err != nil {
		c.t.Fatal(err)
	}
	return response
}

func errorCode(m *stun.Message) stun.ErrorCode {
	var code stun.ErrorCodeAttribute
	if m.Type.Class != stun.ClassErrorResponse || code.GetFrom(m) != nil {
		return 0
	}
	return code.Code
}

// TestChannelBindRefused checks that the peer policy covers ChannelBind
// too, which pion answers with 401 rather than 403.
func TestChannelBindRefused(t *testing.T) {
	peer := listenPeer(t)
	cfg := testConfig(t)
	cfg.AllowedPeers = []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}
	srv := startServer(t, cfg)
	udpAddr, _, _ := srv.Addr()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	username, password := credentials("alice")
	c := &rawClient{t: t, conn: conn, server: udpAddr, username: username, realm: "parley", password: password}

	udpTransport := stun.RawAttribute{Type: stun.AttrRequestedTransport, Value: []byte{17, 0, 0, 0}}
	challenge := c.do(stun.MethodAllocate, udpTransport)
	if err := c.nonce.GetFrom(challenge); err != nil {
		t.Fatalf("no nonce in %v", challenge)
	}
	if res := c.do(stun.MethodAllocate, udpTransport); res.Type.Class != stun.ClassSuccessResponse {
		t.Fatalf("Allocate: %v (error %d)", res, errorCode(res))
	}

	channel := func(number uint16) stun.RawAttribute {
		return stun.RawAttribute{Type: stun.AttrChannelNumber, Value: []byte{byte(number >> 8), byte(number), 0, 0}}
	}
	loopbackPeer := xorPeerAddress{stun.XORMappedAddress{IP: net.IPv4(127, 0, 0, 1), Port: peer.LocalAddr().(*net.UDPAddr).Port}}
	allowedPeer := xorPeerAddress{stun.XORMappedAddress{IP: net.IPv4(127, 0, 0, 2), Port: 9}}

	if res := c.do(stun.MethodChannelBind, channel(0x4000), loopbackPeer); res.Type.Class != stun.ClassErrorResponse {
		t.Fatalf("ChannelBind to a loopback peer: %v, want an error", res)
	}
	if res := c.do(stun.MethodCreatePermission, loopbackPeer); errorCode(res) != stun.CodeForbidden {
		t.Fatalf("CreatePermission for a loopback peer: %v (error %d), want 403", res, errorCode(res))
	}
	if res := c.do(stun.MethodChannelBind, channel(0x4001), allowedPeer); res.Type.Class != stun.ClassSuccessResponse {
		t.Fatalf("ChannelBind to an allowed peer: %v (error %d)", res, errorCode(res))
	}
}

func TestQuota(t *testing.T) {
	cfg := testConfig(t)
	cfg.MaxAllocationsPerUser = 2
	srv := startServer(t, cfg)
	alice, alicePassword := credentials("alice")
	bob, bobPassword := credentials("bob")

	first := allocate(t, newClient(t, srv, "udp", nil, alice, alicePassword))
	allocate(t, newClient(t, srv, "tcp", nil, alice, alicePassword)) // the quota spans transports
	_, err := newClient(t, srv, "udp", nil, alice, alicePassword).Allocate()
	if code := turnErrorCode(err); code != stun.CodeAllocQuotaReached {
		t.Fatalf("third allocation of alice: %v, want 486", err)
	}
	allocate(t, newClient(t, srv, "udp", nil, bob, bobPassword))
	if got := srv.Allocations(); got != 3 {
		t.Fatalf("Allocations() = %d, want 3", got)
	}

	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the released allocation to go", func() bool { return srv.Allocations() == 2 })
	allocate(t, newClient(t, srv, "udp", nil, alice, alicePassword))
}

// freeUDPRange finds size consecutive UDP ports free on 127.0.0.1.
func freeUDPRange(t *testing.T, size int) (uint16, uint16) {
	t.Helper()
	for range 100 {
		base := 20000 + mathrand.IntN(40000)
		free := true
		for port := base; port < base+size && free; port++ {
			conn, err := net.ListenPacket("udp4", "127.0.0.1:"+strconv.Itoa(port))
			if err != nil {
				free = false
				continue
			}
			_ = conn.Close()
		}
		if free {
			return uint16(base), uint16(base + size - 1)
		}
	}
	t.Fatal("no free UDP port range")
	return 0, 0
}

func TestRelayPortRange(t *testing.T) {
	cfg := testConfig(t)
	cfg.RelayPortMin, cfg.RelayPortMax = freeUDPRange(t, 3)
	srv := startServer(t, cfg)

	seen := map[int]bool{}
	for i := range 3 {
		username, password := credentials(fmt.Sprint("user", i))
		relay := allocate(t, newClient(t, srv, "udp", nil, username, password))
		port := relay.LocalAddr().(*net.UDPAddr).Port
		if port < int(cfg.RelayPortMin) || port > int(cfg.RelayPortMax) || seen[port] {
			t.Fatalf("relay port %d: want a new one in %d-%d (have %v)", port, cfg.RelayPortMin, cfg.RelayPortMax, seen)
		}
		seen[port] = true
	}
	username, password := credentials("user3")
	_, err := newClient(t, srv, "udp", nil, username, password).Allocate()
	if code := turnErrorCode(err); code != stun.CodeInsufficientCapacity {
		t.Fatalf("allocation beyond the range: %v, want 508", err)
	}
}

func TestPortInUse(t *testing.T) {
	first := startServer(t, testConfig(t))
	udpAddr, _, _ := first.Addr()
	udpPort := udpAddr.(*net.UDPAddr).Port

	serve := func(cfg Config) error {
		srv, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return srv.Serve(context.Background(), func() { t.Error("ready called although a port is taken") })
	}

	cfg := testConfig(t)
	cfg.Port = udpPort
	if err := serve(cfg); err == nil || err.Error() != fmt.Sprintf("turn: UDP port %d in use", udpPort) {
		t.Errorf("Serve on a taken UDP port: %v", err)
	}

	// A TCP port taken whose UDP twin is free: the UDP socket bound first
	// must be released again.
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	tcpPort := tcp.Addr().(*net.TCPAddr).Port
	cfg.Port = tcpPort
	if err := serve(cfg); err == nil || !strings.Contains(err.Error(), "port") {
		t.Errorf("Serve on a taken TCP port: %v", err)
	} else if err.Error() == fmt.Sprintf("turn: TCP port %d in use", tcpPort) {
		udp, err := net.ListenPacket("udp4", "127.0.0.1:"+strconv.Itoa(tcpPort))
		if err != nil {
			t.Errorf("UDP port %d not released after the failed Serve: %v", tcpPort, err)
		} else {
			_ = udp.Close()
		}
	} else {
		t.Logf("UDP port %d was taken too: %v", tcpPort, err)
	}

	getCertificate, _ := testTLS(t)
	cfg.Port, cfg.TLSPort, cfg.GetCertificate = 0, tcpPort, getCertificate
	if err := serve(cfg); err == nil || err.Error() != fmt.Sprintf("turn: TLS port %d in use", tcpPort) {
		t.Errorf("Serve on a taken TLS port: %v", err)
	}

	if err := first.Serve(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "already serving") {
		t.Errorf("second Serve of a running server: %v", err)
	}
}

// serverGoroutines lists the goroutines running TURN server code.
func serverGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var found []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "github.com/pion/turn/v5.(*Server)") ||
			strings.Contains(g, "github.com/pion/turn/v5.NewServer") ||
			strings.Contains(g, "github.com/pion/turn/v5/internal/server") ||
			strings.Contains(g, "github.com/pion/turn/v5/internal/allocation") ||
			strings.Contains(g, "media/turnserver.(*") {
			found = append(found, g)
		}
	}
	return found
}

// settledGoroutines waits for the goroutine count to stop falling.
func settledGoroutines() int {
	n := runtime.NumGoroutine()
	for range 50 {
		time.Sleep(20 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m >= n {
			return m
		}
		n = m
	}
	return n
}

func TestServeEndsEverything(t *testing.T) {
	// Registered first, this runs last: once the clients' cleanups have
	// closed them too, the count is back where it was.
	before := settledGoroutines()
	t.Cleanup(func() {
		deadline := time.Now().Add(ioTimeout)
		for after := settledGoroutines(); after > before; after = settledGoroutines() {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Errorf("%d goroutines before, %d after:\n%s", before, after, buf[:runtime.Stack(buf, true)])
				return
			}
		}
	})
	getCertificate, clientTLS := testTLS(t)
	peer := listenPeer(t)
	cfg := testConfig(t)
	cfg.TLSPort = freeTCPPort(t)
	cfg.GetCertificate = getCertificate
	cfg.AllowedPeers = []netip.Prefix{hostPrefix(peer.LocalAddr())}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}

	for round := range 2 { // Serve runs again after it returned
		ctx, cancel := context.WithCancel(context.Background())
		ready := make(chan struct{})
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ctx, func() { close(ready) }) }()
		select {
		case <-ready:
		case err := <-served:
			cancel()
			t.Fatalf("round %d: Serve: %v", round, err)
		}

		// Clients on every transport keep their allocations and
		// connections open: the server has to close them.
		var clients []io.Closer
		for _, transport := range []string{"udp", "tcp", "tls"} {
			username, password := credentials("user-" + transport)
			client := newClient(t, srv, transport, clientTLS, username, password)
			relay, err := client.Allocate()
			if err != nil {
				t.Fatalf("round %d: Allocate over %s: %v", round, transport, err)
			}
			clients = append(clients, relay)
			exchange(t, relay, peer)
		}
		// A TCP connection that never says anything.
		idle, err := net.Dial("tcp", func() string { _, tcp, _ := srv.Addr(); return tcp.String() }())
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, idle)
		if got := srv.Allocations(); got != 3 {
			t.Errorf("round %d: Allocations() = %d, want 3", round, got)
		}

		cancel()
		select {
		case err := <-served:
			if err != nil {
				t.Fatalf("round %d: Serve: %v", round, err)
			}
		case <-time.After(ioTimeout):
			t.Fatalf("round %d: Serve did not return after cancel", round)
		}
		if got := srv.Allocations(); got != 0 {
			t.Errorf("round %d: Allocations() = %d after Serve returned", round, got)
		}
		if udp, tcp, tls := srv.Addr(); udp != nil || tcp != nil || tls != nil {
			t.Errorf("round %d: Addr() = %v, %v, %v after Serve returned", round, udp, tcp, tls)
		}
		// pion's goroutines may still be returning from their last
		// read, but none may be left waiting on anything.
		deadline := time.Now().Add(time.Second)
		for left := serverGoroutines(); len(left) > 0; left = serverGoroutines() {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: server goroutines left after Serve returned:\n%s", round, strings.Join(left, "\n\n"))
			}
			time.Sleep(time.Millisecond)
		}
		for _, c := range clients {
			_ = c.Close()
		}
	}

}

func TestNewRefusesBadConfig(t *testing.T) {
	getCertificate, _ := testTLS(t)
	for _, c := range []struct {
		name      string
		configure func(*Config)
		want      string
	}{
		{"no relay address", func(c *Config) { c.RelayAddress = nil }, "RelayAddress is required"},
		{"unspecified relay address", func(c *Config) { c.RelayAddress = net.IPv4zero }, "not 0.0.0.0"},
		{"bad relay address", func(c *Config) { c.RelayAddress = net.IP{1, 2, 3} }, "not an IP address"},
		{"bad listen address", func(c *Config) { c.ListenAddress = "localhost" }, `ListenAddress "localhost"`},
		{"port out of range", func(c *Config) { c.Port = 70000 }, "Port 70000 is out of range"},
		{"TLS without certificate", func(c *Config) { c.TLSPort = 5349 }, "GetCertificate is not"},
		{"TLS on the TCP port", func(c *Config) { c.Port, c.TLSPort, c.GetCertificate = 3478, 3478, getCertificate }, "both 3478"},
		{"short secret", func(c *Config) { c.Secret = []byte("short") }, "Secret has 5 bytes"},
		{"half a port range", func(c *Config) { c.RelayPortMin = 40000 }, "both RelayPortMin and RelayPortMax"},
		{"inverted port range", func(c *Config) { c.RelayPortMin, c.RelayPortMax = 40010, 40000 }, "above RelayPortMax"},
		{"negative quota", func(c *Config) { c.MaxAllocationsPerUser = -1 }, "negative"},
		{"invalid allowed peer", func(c *Config) { c.AllowedPeers = []netip.Prefix{{}} }, "invalid prefix"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig(t)
			c.configure(&cfg)
			_, err := New(cfg)
			if err == nil || !strings.HasPrefix(err.Error(), "turn: ") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New: %v, want an error about %q", err, c.want)
			}
		})
	}
	if _, err := New(testConfig(t)); err != nil {
		t.Fatalf("New(valid): %v", err)
	}
}

// TestMediaPortOnly opens this machine to relaying on its media port: a
// peer there gets the packets, a peer on another port of the same
// address gets none.
func TestMediaPortOnly(t *testing.T) {
	media, other := listenPeer(t), listenPeer(t)
	mediaPort := media.LocalAddr().(*net.UDPAddr).Port
	cfg := testConfig(t)
	cfg.MediaPort = func(port int) bool { return port == mediaPort }
	srv := startServer(t, cfg)
	username, password := credentials("alice")
	relay := allocate(t, newClient(t, srv, "udp", nil, username, password))
	exchange(t, relay, media)

	if _, err := relay.WriteTo([]byte("to another port"), other.LocalAddr()); err != nil {
		t.Fatalf("write through relay: %v", err)
	}
	_ = other.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, _, err := other.ReadFrom(make([]byte, 1500)); err == nil {
		t.Fatalf("a port of this machine that is not the media port received %d bytes", n)
	}
}
