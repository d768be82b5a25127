package iceservers

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"

	"github.com/parleyhq/parley/server/certs/certstest"
)

// Every server in these tests listens on 127.0.0.1: nothing leaves the machine.

const (
	testRealm    = "parley.test"
	testUser     = "user87"
	testPassword = "Secret_87"
)

var quietLogs = &logging.DefaultLoggerFactory{Writer: io.Discard, DefaultLogLevel: logging.LogLevelDisabled}

// turnServer is a pion TURN server with long-term credentials for one user,
// listening on UDP, TCP and TLS.
type turnServer struct {
	udp, tcp, tls string         // host:port of each listener
	roots         *x509.CertPool // trusts the TLS listener's certificate
	deleted       chan string    // the protocol of each allocation deleted
}

func startTURNServer(t *testing.T) *turnServer {
	t.Helper()
	udpConn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tcpListener, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	certificate, roots := selfSignedCertificate(t)
	tlsListener, err := tls.Listen("tcp4", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{certificate}})
	if err != nil {
		t.Fatal(err)
	}
	relay := func() turn.RelayAddressGenerator {
		return &turn.RelayAddressGeneratorStatic{RelayAddress: net.IPv4(127, 0, 0, 1), Address: "127.0.0.1"}
	}
	key := turn.GenerateAuthKey(testUser, testRealm, testPassword)
	deleted := make(chan string, 64)
	server, err := turn.NewServer(turn.ServerConfig{
		Realm:         testRealm,
		LoggerFactory: quietLogs,
		AuthHandler: func(request *turn.RequestAttributes) (string, []byte, bool) {
			if request.Username != testUser {
				return "", nil, false
			}
			return request.Username, key, true
		},
		EventHandler: turn.EventHandler{
			OnAllocationDeleted: func(_, _ net.Addr, protocol, _, _ string) { deleted <- protocol },
		},
		PacketConnConfigs: []turn.PacketConnConfig{{PacketConn: udpConn, RelayAddressGenerator: relay()}},
		ListenerConfigs: []turn.ListenerConfig{
			{Listener: tcpListener, RelayAddressGenerator: relay()},
			{Listener: tlsListener, RelayAddressGenerator: relay()},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = server.Close() })
	return &turnServer{
		udp: udpConn.LocalAddr().String(), tcp: tcpListener.Addr().String(), tls: tlsListener.Addr().String(),
		roots: roots, deleted: deleted,
	}
}

func selfSignedCertificate(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	cert := certstest.SelfSigned(t, "127.0.0.1", "turn.parley.test")
	return cert.TLS, cert.Roots
}

// expectation is what one Result must show.
type expectation struct {
	ok       bool
	contains string // in Detail when ok, in Error otherwise
}

func checkResults(t *testing.T, servers []Server, results []Result, want []expectation) {
	t.Helper()
	if len(results) != len(want) {
		t.Fatalf("got %d results, want %d: %+v", len(results), len(want), results)
	}
	i := 0
	for s, server := range servers {
		for _, url := range server.URLs {
			result := results[i]
			if result.Server != s || result.URL != url {
				t.Errorf("result %d is for server %d, %q; want server %d, %q", i, result.Server, result.URL, s, url)
			}
			text := result.Error
			if want[i].ok {
				text = result.Detail
			}
			if result.OK != want[i].ok || !strings.Contains(text, want[i].contains) {
				t.Errorf("result %d (%s) = %+v;\nwant ok=%v with %q", i, url, result, want[i].ok, want[i].contains)
			}
			i++
		}
	}
}

// assertProbesEnded checks that no goroutine of a probe or of pion's client
// outlives Check. Goroutines that pion stops without waiting for them get a
// moment to end.
func assertProbesEnded(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	ticker := time.NewTicker(10 * time.Millisecond)
	defer ticker.Stop()
	for {
		buffer := make([]byte, 1<<20)
		stacks := string(buffer[:runtime.Stack(buffer, true)])
		leaked := ""
		for stack := range strings.SplitSeq(stacks, "\n\n") {
			if strings.Contains(stack, "iceservers.(*prober)") || strings.Contains(stack, "turn/v5/internal/client.") {
				leaked = stack
			}
		}
		if leaked == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a goroutine outlived Check:\n%s", leaked)
		}
		<-ticker.C
	}
}

func TestCheckAgainstPionTURN(t *testing.T) {
	server := startTURNServer(t)
	servers := []Server{
		{URLs: []string{"stun:" + server.udp}},
		{
			URLs: []string{
				"turn:" + server.udp,
				"turn:" + server.udp + "?transport=udp",
				"turn:" + server.tcp + "?transport=tcp",
				"turns:" + server.tls,
				"turns:" + server.tls + "?transport=tcp",
			},
			Username: testUser, Credential: testPassword,
		},
		{URLs: []string{"turn:" + server.udp, "turn:" + server.tcp + "?transport=tcp"}, Username: testUser, Credential: "wrong"},
		{URLs: []string{"turns:" + server.tls}, Username: "nobody", Credential: testPassword},
	}
	results := Check(context.Background(), servers, CheckOptions{Timeout: 5 * time.Second, TLSConfig: &tls.Config{RootCAs: server.roots}})
	relayed := expectation{true, `relayed address 127.0.0.1:`}
	rejected := expectation{false, "TURN authentication failed"}
	checkResults(t, servers, results, []expectation{
		{true, "public address 127.0.0.1:"},
		relayed, relayed, relayed, relayed, relayed,
		rejected, rejected,
		{false, `TURN authentication failed: ` + server.tls + ` answered 401 Unauthorized to username "nobody"; check the username and credential`},
	})
	for _, result := range results[1:6] {
		if !strings.HasSuffix(result.Detail, `realm "parley.test"`) {
			t.Errorf("%s: detail %q does not end with the realm; was the allocation released?", result.URL, result.Detail)
		}
	}
	// Every test allocation is released at once.
	timeout := time.After(5 * time.Second)
	for range 5 {
		select {
		case <-server.deleted:
		case <-timeout:
			t.Fatal("the server did not see every test allocation released")
		}
	}
	assertProbesEnded(t)
}

func TestCheckTLSFailures(t *testing.T) {
	server := startTURNServer(t)
	servers := []Server{{URLs: []string{"turns:" + server.tls}, Username: testUser, Credential: testPassword}}

	// No TLSConfig: the system's roots, which do not know the test certificate.
	results := Check(context.Background(), servers, CheckOptions{Timeout: 5 * time.Second})
	checkResults(t, servers, results, []expectation{{false, "the server's certificate is not signed by an authority this machine trusts (tls: failed to verify certificate: x509: certificate signed by unknown authority)"}})

	// A trusted certificate for another name.
	results = Check(context.Background(), servers, CheckOptions{Timeout: 5 * time.Second, TLSConfig: &tls.Config{RootCAs: server.roots, ServerName: "turn.example.org"}})
	checkResults(t, servers, results, []expectation{{false, "the server's certificate is not valid for turn.example.org"}})

	// turns: pointed at the plain TCP port.
	plain := []Server{{URLs: []string{"turns:" + server.tcp}, Username: testUser, Credential: testPassword}}
	results = Check(context.Background(), plain, CheckOptions{Timeout: time.Second, TLSConfig: &tls.Config{RootCAs: server.roots}})
	checkResults(t, plain, results, []expectation{{false, "TLS handshake with " + server.tcp + " failed: the server closed the connection; it may not speak TLS on port"}})
	assertProbesEnded(t)
}

func TestCheckNoAnswerOverUDP(t *testing.T) {
	// A socket that reads nothing: requests reach it and nobody answers.
	silent, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	servers := []Server{
		{URLs: []string{"stun:" + silent.LocalAddr().String()}},
		{URLs: []string{"turn:" + silent.LocalAddr().String()}, Username: testUser, Credential: testPassword},
	}
	timeout := 300 * time.Millisecond
	results := Check(context.Background(), servers, CheckOptions{Timeout: timeout})
	address := silent.LocalAddr().String()
	checkResults(t, servers, results, []expectation{
		{false, "no answer to the binding request from " + address + " over UDP within 300ms: check the address and port, and that no firewall blocks UDP to it"},
		{false, "no answer to the TURN allocation request from " + address + " over UDP within 300ms"},
	})
	for _, result := range results {
		if result.Millis < timeout.Milliseconds() || result.Millis > 3*timeout.Milliseconds() {
			t.Errorf("%s took %d ms with a timeout of %s", result.URL, result.Millis, timeout)
		}
	}
	assertProbesEnded(t)
}

func TestCheckConnectionRefused(t *testing.T) {
	listener, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	address := listener.Addr().String()
	if err := listener.Close(); err != nil {
		t.Fatal(err)
	}
	servers := []Server{{URLs: []string{"turn:" + address + "?transport=tcp", "turns:" + address}, Username: testUser, Credential: testPassword}}
	results := Check(context.Background(), servers, CheckOptions{Timeout: 5 * time.Second})
	refused := expectation{false, "connection refused by " + address + ": nothing accepts TCP on that port; check the port, and that the server accepts TCP"}
	checkResults(t, servers, results, []expectation{refused, refused})
}

// startNXDOMAINServer answers every DNS query with "no such name".
func startNXDOMAINServer(t *testing.T) *net.Resolver {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var serving sync.WaitGroup
	serving.Go(func() {
		buffer := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFrom(buffer)
			if err != nil {
				return
			}
			if n < 12 {
				continue
			}
			answer := append([]byte(nil), buffer[:n]...)
			answer[2] |= 0x80                     // a response
			answer[3] = answer[3]&0x70 | 0x80 | 3 // recursion available, NXDOMAIN
			_, _ = conn.WriteTo(answer, from)
		}
	})
	t.Cleanup(func() {
		_ = conn.Close()
		serving.Wait()
	})
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dialer net.Dialer
			return dialer.DialContext(ctx, "udp4", conn.LocalAddr().String())
		},
	}
}

func TestCheckNameDoesNotResolve(t *testing.T) {
	servers := []Server{{URLs: []string{"stun:nowhere.parley.invalid"}}}
	results := Check(context.Background(), servers, CheckOptions{Timeout: 5 * time.Second, Resolver: startNXDOMAINServer(t)})
	checkResults(t, servers, results, []expectation{{false, "the name nowhere.parley.invalid does not resolve (no such host): check its spelling, or write the server's IP address"}})
}

// startFakeServer answers STUN requests over UDP as answer says; nil means
// no answer.
func startFakeServer(t *testing.T, answer func(request *stun.Message) []stun.Setter) string {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var serving sync.WaitGroup
	serving.Go(func() {
		buffer := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFrom(buffer)
			if err != nil {
				return
			}
			request := &stun.Message{Raw: append([]byte(nil), buffer[:n]...)}
			if request.Decode() != nil {
				continue
			}
			setters := answer(request)
			if setters == nil {
				continue
			}
			response, err := stun.Build(append([]stun.Setter{request}, setters...)...)
			if err != nil {
				t.Errorf("building a response: %v", err)
				return
			}
			_, _ = conn.WriteTo(response.Raw, from)
		}
	})
	t.Cleanup(func() {
		_ = conn.Close()
		serving.Wait()
	})
	return conn.LocalAddr().String()
}

func TestCheckSTUNOnlyServer(t *testing.T) {
	address := startFakeServer(t, func(request *stun.Message) []stun.Setter {
		if request.Type.Method == stun.MethodAllocate {
			return []stun.Setter{stun.NewType(stun.MethodAllocate, stun.ClassErrorResponse), stun.CodeUnknownAttribute, stun.Fingerprint}
		}
		return []stun.Setter{stun.BindingSuccess, &stun.XORMappedAddress{IP: net.IPv4(192, 0, 2, 9), Port: 4444}, stun.Fingerprint}
	})
	servers := []Server{
		{URLs: []string{"stun:" + address}},
		{URLs: []string{"turn:" + address}, Username: testUser, Credential: testPassword},
	}
	results := Check(context.Background(), servers, CheckOptions{Timeout: 5 * time.Second})
	checkResults(t, servers, results, []expectation{
		{true, "public address 192.0.2.9:4444"},
		{false, address + " refused the TURN allocation request with error 420 Unknown Attribute: the server does not know TURN; if it is a STUN-only server, write stun: instead of turn:"},
	})
	assertProbesEnded(t)
}

func TestCheckTURNWithoutAuthentication(t *testing.T) {
	released := make(chan struct{}, 1)
	address := startFakeServer(t, func(request *stun.Message) []stun.Setter {
		switch request.Type.Method {
		case stun.MethodAllocate:
			return []stun.Setter{
				stun.NewType(stun.MethodAllocate, stun.ClassSuccessResponse),
				&relayedAddress{IP: net.IPv4(192, 0, 2, 10), Port: 50000},
				stun.Fingerprint,
			}
		case stun.MethodRefresh:
			if lifetime, err := request.Get(stun.AttrLifetime); err == nil && string(lifetime) == "\x00\x00\x00\x00" {
				released <- struct{}{}
			}
			return []stun.Setter{stun.NewType(stun.MethodRefresh, stun.ClassSuccessResponse), stun.Fingerprint}
		}
		return nil
	})
	servers := []Server{{URLs: []string{"turn:" + address}, Username: testUser, Credential: testPassword}}
	results := Check(context.Background(), servers, CheckOptions{Timeout: 5 * time.Second})
	checkResults(t, servers, results, []expectation{
		{true, "relayed address 192.0.2.10:50000, granted without credentials: anyone can use this server as a relay; turn on authentication"},
	})
	if strings.Contains(results[0].Detail, "did not confirm") {
		t.Errorf("release not confirmed: %s", results[0].Detail)
	}
	select {
	case <-released:
	default:
		t.Error("the allocation was not released")
	}
	assertProbesEnded(t)
}

// relayedAddress writes XOR-RELAYED-ADDRESS.
type relayedAddress stun.XORMappedAddress

func (a *relayedAddress) AddTo(m *stun.Message) error {
	return (*stun.XORMappedAddress)(a).AddToAs(m, stun.AttrXORRelayedAddress)
}

func TestCheckServerClosesConnection(t *testing.T) {
	listener, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var serving sync.WaitGroup
	serving.Go(func() {
		for {
			conn, err := listener.Accept()
			if err != nil {
				return
			}
			// A web server: reads the request, answers in HTTP, hangs up.
			_, _ = conn.Read(make([]byte, 1500))
			_, _ = conn.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
			_ = conn.Close()
		}
	})
	defer func() {
		_ = listener.Close()
		serving.Wait()
	}()
	servers := []Server{{URLs: []string{"turn:" + listener.Addr().String() + "?transport=tcp"}, Username: testUser, Credential: testPassword}}
	results := Check(context.Background(), servers, CheckOptions{Timeout: 5 * time.Second})
	checkResults(t, servers, results, []expectation{{false, "check that this port is a TURN port"}})
	if results[0].Millis > 2500 {
		t.Errorf("a closed connection took %d ms to report; it should end the wait at once", results[0].Millis)
	}
	assertProbesEnded(t)
}

func TestCheckCancelled(t *testing.T) {
	reached := make(chan struct{}, 1)
	address := startFakeServer(t, func(*stun.Message) []stun.Setter {
		select {
		case reached <- struct{}{}:
		default:
		}
		return nil
	})
	servers := []Server{{URLs: []string{"stun:" + address, "turn:" + address}, Username: testUser, Credential: testPassword}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan []Result)
	go func() { done <- Check(ctx, servers, CheckOptions{Timeout: time.Minute}) }()
	<-reached
	cancel()
	select {
	case results := <-done:
		cancelled := expectation{false, "the check was cancelled before this server answered"}
		checkResults(t, servers, results, []expectation{cancelled, cancelled})
	case <-time.After(10 * time.Second):
		t.Fatal("Check did not return after its context was cancelled")
	}
	assertProbesEnded(t)
}

func TestCheckDoesNotContactInvalidEntries(t *testing.T) {
	servers := []Server{
		{URLs: []string{"turn:h:abc"}, Username: "u", Credential: "p"},
		{URLs: []string{"turn:127.0.0.1:9"}},
	}
	results := Check(context.Background(), servers, CheckOptions{})
	checkResults(t, servers, results, []expectation{
		{false, "not checked: port must be a number from 1 to 65535"},
		{false, "not checked: a TURN server needs a username and a credential"},
	})
	if results := Check(context.Background(), nil, CheckOptions{}); results == nil || len(results) != 0 {
		t.Errorf("Check(nil) = %v", results)
	}
}

func ExampleParse() {
	_, err := Parse(`{ 'url': 'stun:stunserver' }, { 'url': 'turn:turnserver:abc' }`)
	fmt.Println(err)
	// Output:
	// server 2, "turn:turnserver:abc": port must be a number from 1 to 65535
	// server 2, username: a TURN server needs a username (login)
	// server 2, credential: a TURN server needs a credential (password)
}
