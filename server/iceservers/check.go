package iceservers

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"

	"github.com/pion/logging"
	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"
)

// DefaultTimeout is how long Check waits for one URL unless told otherwise.
const DefaultTimeout = 5 * time.Second

const (
	// parallelChecks bounds the sockets one Check opens at once.
	parallelChecks = 8
	// releaseWait bounds the wait for the server to confirm that a test
	// allocation is released; an unconfirmed one expires by itself.
	releaseWait = time.Second
	// maxFrame holds the largest STUN message or ChannelData frame.
	maxFrame = 1 << 17
)

// Result is what contacting one URL of one server gave.
type Result struct {
	Server int    `json:"server"` // index in the list
	URL    string `json:"url"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"` // e.g. "public address 203.0.113.5:41000" or "relayed address 10.0.0.1:50012"
	Error  string `json:"error,omitempty"`  // plain words: what failed and what to do
	Millis int64  `json:"millis"`
}

// CheckOptions tune Check. The zero value is ready to use.
type CheckOptions struct {
	Timeout time.Duration // for each URL; 0 means DefaultTimeout
	// TLSConfig is used for turns: URLs; nil means the system's roots. Its
	// ServerName, if empty, is the URL's host.
	TLSConfig *tls.Config
	Resolver  *net.Resolver // nil means net.DefaultResolver
}

// Check contacts every URL of every server, a few at a time, each within its
// own timeout, and returns one Result per URL in list order.
//
// A stun: URL gets a binding request, and the result reports the mapped
// address. A turn: or turns: URL gets an allocation with the entry's
// credentials (long-term credential mechanism, realm from the server's 401),
// over UDP, TCP, or TLS over TCP as the URL says; the result reports the
// relayed address, and the allocation is released at once.
//
// Check returns when every probe has finished and closed its sockets; it
// returns early, with every unfinished URL failed, when ctx is cancelled.
func Check(ctx context.Context, servers []Server, opts CheckOptions) []Result {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Resolver == nil {
		opts.Resolver = net.DefaultResolver
	}
	results := []Result{}
	for i, server := range servers {
		for _, url := range server.URLs {
			results = append(results, Result{Server: i, URL: url})
		}
	}
	next := make(chan int)
	var workers sync.WaitGroup
	for range min(parallelChecks, len(results)) {
		workers.Go(func() {
			for i := range next {
				result := &results[i]
				start := time.Now()
				detail, err := probe(ctx, servers[result.Server], result.URL, opts)
				result.Millis = time.Since(start).Milliseconds()
				if err != nil {
					result.Error = err.Error()
				} else {
					result.OK, result.Detail = true, detail
				}
			}
		})
	}
	for i := range results {
		next <- i
	}
	close(next)
	workers.Wait()
	return results
}

// failure is the outcome of a probe in plain words, fit to show an
// administrator as it is.
type failure struct{ message string }

func (f *failure) Error() string { return f.message }

func failf(format string, args ...any) error {
	return &failure{message: fmt.Sprintf(format, args...)}
}

var errCancelled = failf("the check was cancelled before this server answered")

// silentLogs keeps pion's client quiet: every failure it would log reaches
// the result instead.
var silentLogs = &logging.DefaultLoggerFactory{Writer: io.Discard, DefaultLogLevel: logging.LogLevelDisabled}

// prober contacts one URL.
type prober struct {
	url    URL
	server Server
	opts   CheckOptions
	parent context.Context
	// ctx is parent with the URL's timeout. The reading goroutine cancels it
	// with a *failure as cause when the connection breaks, so that a pending
	// request ends at once with the reason.
	ctx     context.Context
	abort   context.CancelCauseFunc
	address netip.AddrPort // the server's, once resolved
}

func probe(parent context.Context, server Server, raw string, opts CheckOptions) (string, error) {
	u, err := ParseURL(raw)
	if err != nil {
		return "", failf("not checked: %s", err.(*URLError).Message)
	}
	if u.Scheme != "stun" && (server.Username == "" || server.Credential == "") {
		return "", failf("not checked: a TURN server needs a username and a credential")
	}
	if parent.Err() != nil {
		return "", errCancelled
	}
	ctx, cancelTimeout := context.WithTimeout(parent, opts.Timeout)
	defer cancelTimeout()
	ctx, abort := context.WithCancelCause(ctx)
	defer abort(nil)
	p := &prober{url: u, server: server, opts: opts, parent: parent, ctx: ctx, abort: abort}
	return p.run()
}

func (p *prober) run() (string, error) {
	if err := p.resolve(); err != nil {
		return "", err
	}
	conn, err := p.connect()
	if err != nil {
		return "", err
	}
	rto := time.Duration(0) // pion's default, for UDP
	if p.transportName() != "UDP" {
		// A reliable transport needs no retransmissions (RFC 8489 6.2.2).
		rto = p.opts.Timeout
	}
	client, err := turn.NewClient(&turn.ClientConfig{
		Conn:           conn,
		TURNServerAddr: p.address.String(),
		Username:       p.server.Username,
		Password:       p.server.Credential,
		RTO:            rto,
		LoggerFactory:  silentLogs,
		// Ask for an IPv4 relay whatever the way in, as browsers do.
		RequestedAddressFamily: turn.RequestedAddressFamilyIPv4,
	})
	if err != nil {
		_ = conn.Close()
		return "", fmt.Errorf("starting the TURN client: %w", err)
	}
	released := make(chan struct{}, 1)
	reading := make(chan struct{})
	go func() {
		defer close(reading)
		p.read(conn, client, released)
	}()
	defer func() {
		client.Close()
		_ = conn.Close()
		<-reading
	}()
	if p.url.Scheme == "stun" {
		return p.bind(client)
	}
	return p.allocate(client, released)
}

func (p *prober) transportName() string {
	switch {
	case p.url.Scheme == "turns":
		return "TLS"
	case p.url.Transport == "tcp":
		return "TCP"
	}
	return "UDP"
}

func (p *prober) resolve() error {
	if address, err := netip.ParseAddr(p.url.Host); err == nil {
		p.address = netip.AddrPortFrom(address, uint16(p.url.Port))
		return nil
	}
	addresses, err := p.opts.Resolver.LookupNetIP(p.ctx, "ip", p.url.Host)
	var dnsErr *net.DNSError
	switch {
	case p.parent.Err() != nil:
		return errCancelled
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return failf("the name %s does not resolve (no such host): check its spelling, or write the server's IP address", p.url.Host)
	case err != nil && (errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &dnsErr) && dnsErr.IsTimeout)):
		return failf("no answer from DNS for %s within %s: check this machine's DNS settings, or write the server's IP address", p.url.Host, p.opts.Timeout)
	case err != nil:
		return failf("the name %s could not be resolved: %v", p.url.Host, err)
	case len(addresses) == 0:
		return failf("the name %s does not resolve to any address: check its DNS records", p.url.Host)
	}
	// Most peers behind NATs have IPv4, so test the way they will use.
	chosen := addresses[0]
	for _, address := range addresses {
		if address.Unmap().Is4() {
			chosen = address
			break
		}
	}
	p.address = netip.AddrPortFrom(chosen.Unmap(), uint16(p.url.Port))
	return nil
}

// connect opens the way to the server as a net.PacketConn, as pion's client
// takes it: a UDP socket, or STUN framing over a TCP or TLS stream.
func (p *prober) connect() (net.PacketConn, error) {
	if p.transportName() == "UDP" {
		network := "udp4"
		if p.address.Addr().Is6() {
			network = "udp6"
		}
		var config net.ListenConfig
		conn, err := config.ListenPacket(p.ctx, network, ":0")
		if err != nil {
			return nil, failf("could not open a UDP socket on this machine: %v", err)
		}
		return conn, nil
	}
	var dialer net.Dialer
	conn, err := dialer.DialContext(p.ctx, "tcp", p.address.String())
	if err != nil {
		return nil, p.dialFailure(err)
	}
	if deadline, ok := p.ctx.Deadline(); ok {
		// A write to a stalled stream must not outlive the probe.
		_ = conn.SetWriteDeadline(deadline)
	}
	if p.url.Scheme == "turns" {
		config := &tls.Config{}
		if p.opts.TLSConfig != nil {
			config = p.opts.TLSConfig.Clone()
		}
		if config.ServerName == "" {
			config.ServerName = p.url.Host
		}
		secure := tls.Client(conn, config)
		if err := secure.HandshakeContext(p.ctx); err != nil {
			_ = conn.Close()
			return nil, p.tlsFailure(err, config.ServerName)
		}
		conn = secure
	}
	return turn.NewSTUNConn(conn), nil
}

func (p *prober) dialFailure(err error) error {
	switch {
	case p.parent.Err() != nil:
		return errCancelled
	case errors.Is(err, syscall.ECONNREFUSED):
		return failf("connection refused by %s: nothing accepts TCP on that port; check the port, and that the server accepts TCP", p.address)
	case isTimeout(err):
		return failf("no answer over TCP from %s within %s: check the address and port, and that no firewall blocks TCP to it", p.address, p.opts.Timeout)
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return failf("%s cannot be reached from this machine (no route): check the address", p.address)
	}
	return failf("could not connect to %s over TCP: %v", p.address, err)
}

func (p *prober) tlsFailure(err error, serverName string) error {
	var (
		unknownAuthority x509.UnknownAuthorityError
		wrongName        x509.HostnameError
		invalid          x509.CertificateInvalidError
		notTLS           tls.RecordHeaderError
		opErr            *net.OpError
	)
	prefix := fmt.Sprintf("TLS handshake with %s failed", p.address)
	switch {
	case p.parent.Err() != nil:
		return errCancelled
	case errors.As(err, &unknownAuthority):
		return failf("%s: the server's certificate is not signed by an authority this machine trusts (%v); use a certificate from a public authority, and have the server send its intermediate certificates", prefix, err)
	case errors.As(err, &wrongName):
		return failf("%s: the server's certificate is not valid for %s (%v); use a certificate for this name, or write the name the certificate is for", prefix, serverName, err)
	case errors.As(err, &invalid):
		return failf("%s: the server's certificate is not valid (%v); renew or replace it", prefix, err)
	case errors.As(err, &notTLS):
		return failf("%s: the server does not speak TLS on port %d; write turn: instead of turns:, or give the TLS port (often 5349 or 443)", prefix, p.url.Port)
	case isTimeout(err):
		return failf("no answer to the TLS handshake from %s within %s: check the port, and that the server has TLS turned on", p.address, p.opts.Timeout)
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		return failf("%s: the server closed the connection; it may not speak TLS on port %d", prefix, p.url.Port)
	case errors.As(err, &opErr) && opErr.Op == "remote error":
		return failf("%s: the server refused it (%v); check the server's TLS settings", prefix, opErr.Err)
	}
	return failf("%s: %v", prefix, err)
}

func isTimeout(err error) bool {
	var netErr net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout())
}

// read hands what arrives to the client until the connection closes, and
// tells when the server answers a Refresh, which here only releases.
func (p *prober) read(conn net.PacketConn, client *turn.Client, released chan<- struct{}) {
	buffer := make([]byte, maxFrame)
	for {
		n, from, err := conn.ReadFrom(buffer)
		if err != nil {
			p.abort(p.connectionLost(err))
			return
		}
		if isRefreshResponse(buffer[:n]) {
			select {
			case released <- struct{}{}:
			default:
			}
		}
		// Packets the client cannot use are dropped, as a browser would.
		_, _ = client.HandleInbound(buffer[:n], from)
	}
}

func isRefreshResponse(packet []byte) bool {
	if !stun.IsMessage(packet) {
		return false
	}
	var kind stun.MessageType
	kind.ReadValue(binary.BigEndian.Uint16(packet))
	return kind.Method == stun.MethodRefresh && (kind.Class == stun.ClassSuccessResponse || kind.Class == stun.ClassErrorResponse)
}

func (p *prober) connectionLost(err error) error {
	switch {
	case errors.Is(err, net.ErrClosed):
		return err // closed here, after the probe
	case errors.Is(err, io.EOF):
		return failf("%s closed the %s connection without answering: check that this port is a TURN port", p.address, p.transportName())
	case errors.Is(err, syscall.ECONNRESET):
		return failf("%s reset the %s connection: check that this port is a TURN port", p.address, p.transportName())
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return failf("the %s connection to %s failed: %v", p.transportName(), p.address, err)
	}
	// What remains is pion's framing refusing a stream that is not STUN.
	return failf("%s answered with something that is not STUN or TURN: check that this port is a TURN port and not, say, a web server", p.address)
}

// failure explains why a request got no usable answer.
func (p *prober) failure(err error, request string) error {
	var (
		broken  *failure
		refusal *stun.TurnError
	)
	switch {
	case p.parent.Err() != nil:
		return errCancelled
	case errors.As(context.Cause(p.ctx), &broken):
		return broken
	case errors.As(err, &refusal):
		return p.refused(refusal.ErrorCodeAttr, request)
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return failf("%s cannot be reached from this machine (no route): check the address", p.address)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && !isTimeout(err) {
		return failf("sending the %s to %s over %s failed: %v", request, p.address, p.transportName(), err)
	}
	// A timeout, or pion giving up after its last retransmission.
	return failf("no answer to the %s from %s over %s within %s: check the address and port, and that no firewall blocks %s to it",
		request, p.address, p.transportName(), p.opts.Timeout, p.transportName())
}

// errorCodes give the reason phrases of RFC 8489 and RFC 8656, for servers
// that send none, and say what to do.
var errorCodes = map[stun.ErrorCode]struct{ reason, hint string }{
	300: {"Try Alternate", "the server redirects to another address; list that server instead"},
	400: {"Bad Request", "the server did not accept the request; if it is a STUN-only server, write stun: instead of turn:"},
	401: {"Unauthorized", ""},
	403: {"Forbidden", "the server does not allow this client or this user"},
	420: {"Unknown Attribute", "the server does not know TURN; if it is a STUN-only server, write stun: instead of turn:"},
	437: {"Allocation Mismatch", "the server still holds an allocation for this address; try again in a few minutes"},
	438: {"Stale Nonce", "the server's nonce expired during the check; run the check again"},
	441: {"Wrong Credentials", "check the username and credential"},
	442: {"Unsupported Transport Protocol", "the server does not relay UDP for this transport"},
	486: {"Allocation Quota Reached", "this user already has as many allocations as the server allows; raise the quota or try later"},
	500: {"Server Error", "the server failed; look at its log"},
	508: {"Insufficient Capacity", "the server has no relay ports left; free some or raise its capacity"},
}

func (p *prober) refused(code stun.ErrorCodeAttribute, request string) error {
	known := errorCodes[code.Code]
	reason := printable(string(code.Reason))
	if reason == "" {
		reason = known.reason
	}
	if code.Code == stun.CodeUnauthorized {
		return failf("TURN authentication failed: %s answered 401 %s to username %q; check the username and credential (time-limited credentials may have expired)",
			p.address, reason, p.server.Username)
	}
	message := strings.TrimSpace(fmt.Sprintf("%s refused the %s with error %d %s", p.address, request, code.Code, reason))
	if known.hint != "" {
		message += ": " + known.hint
	}
	return &failure{message: message}
}

// printable keeps text from the network fit for a message.
func printable(text string) string {
	text = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return '?'
	}, strings.ToValidUTF8(text, "?"))
	return shorten(strings.TrimSpace(text))
}

func (p *prober) bind(client *turn.Client) (string, error) {
	request, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	if err != nil {
		return "", fmt.Errorf("building a binding request: %w", err)
	}
	response, err := client.PerformTransactionWithContext(request, client.TURNServerAddr(), false, p.ctx)
	if err != nil {
		return "", p.failure(err, "binding request")
	}
	if response.Msg.Type.Class == stun.ClassErrorResponse {
		return "", p.errorResponse(response.Msg, "binding request")
	}
	var mapped stun.XORMappedAddress
	if err := mapped.GetFrom(response.Msg); err == nil {
		return fmt.Sprintf("public address %s", mapped), nil
	}
	// Servers of RFC 3489 answer with the older, unmasked attribute.
	var legacy stun.MappedAddress
	if err := legacy.GetFrom(response.Msg); err == nil {
		return fmt.Sprintf("public address %s", legacy), nil
	}
	return "", failf("%s answered the binding request without an address: it does not work as a STUN server", p.address)
}

func (p *prober) errorResponse(message *stun.Message, request string) error {
	var code stun.ErrorCodeAttribute
	if err := code.GetFrom(message); err != nil {
		return failf("%s refused the %s without saying why", p.address, request)
	}
	return p.refused(code, request)
}

// requestUDPRelay is REQUESTED-TRANSPORT for UDP (protocol 17), the relay
// browsers ask for.
var requestUDPRelay = stun.RawAttribute{Type: stun.AttrRequestedTransport, Value: []byte{17, 0, 0, 0}}

func (p *prober) allocate(client *turn.Client, released <-chan struct{}) (string, error) {
	// Ask once without credentials, as clients do: the answer tells a TURN
	// server that wants credentials from one that is not a TURN server at
	// all, which pion's Allocate would report only as a missing attribute.
	request, err := stun.Build(stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassRequest), requestUDPRelay, stun.Fingerprint)
	if err != nil {
		return "", fmt.Errorf("building an allocation request: %w", err)
	}
	const allocation = "TURN allocation request"
	response, err := client.PerformTransactionWithContext(request, client.TURNServerAddr(), false, p.ctx)
	if err != nil {
		return "", p.failure(err, allocation)
	}
	challenge := response.Msg
	switch {
	case challenge.Type.Class == stun.ClassSuccessResponse:
		return p.releaseAnonymous(client, challenge, released)
	case challenge.Type.Class != stun.ClassErrorResponse:
		return "", failf("%s answered the %s with a %s: it does not work as a TURN server", p.address, allocation, challenge.Type)
	}
	var code stun.ErrorCodeAttribute
	if err := code.GetFrom(challenge); err != nil || code.Code != stun.CodeUnauthorized {
		return "", p.errorResponse(challenge, allocation)
	}
	if !challenge.Contains(stun.AttrRealm) || !challenge.Contains(stun.AttrNonce) {
		return "", failf("%s asked for credentials without giving a realm and nonce: it does not use the long-term credential mechanism browsers need", p.address)
	}

	relay, err := client.AllocateWithContext(p.ctx)
	if err != nil {
		return "", p.failure(err, "authenticated "+allocation)
	}
	detail := fmt.Sprintf("relayed address %s, realm %q", relay.LocalAddr(), printable(client.Realm().String()))
	// Close sends a Refresh with lifetime 0 and does not wait for the answer.
	if err := relay.Close(); err != nil || !p.awaitRelease(released) {
		detail += "; the server did not confirm releasing the test allocation, which expires by itself"
	}
	return detail, nil
}

// releaseAnonymous handles a server that grants an allocation without asking
// for credentials: it works, but anyone can use it as a relay.
func (p *prober) releaseAnonymous(client *turn.Client, granted *stun.Message, released <-chan struct{}) (string, error) {
	var relayed stun.XORMappedAddress
	if err := relayed.GetFromAs(granted, stun.AttrXORRelayedAddress); err != nil {
		return "", failf("%s granted the allocation without a relayed address: it does not work as a TURN server", p.address)
	}
	detail := fmt.Sprintf("relayed address %s, granted without credentials: anyone can use this server as a relay; turn on authentication", relayed)
	release, err := stun.Build(stun.TransactionID, stun.NewType(stun.MethodRefresh, stun.ClassRequest),
		stun.RawAttribute{Type: stun.AttrLifetime, Value: []byte{0, 0, 0, 0}}, stun.Fingerprint)
	if err != nil {
		return "", fmt.Errorf("building a refresh request: %w", err)
	}
	if _, err := client.PerformTransactionWithContext(release, client.TURNServerAddr(), true, p.ctx); err != nil || !p.awaitRelease(released) {
		detail += "; the server did not confirm releasing the test allocation, which expires by itself"
	}
	return detail, nil
}

// awaitRelease waits a little for the answer to the releasing Refresh, so
// that its retransmissions end before the socket closes.
func (p *prober) awaitRelease(released <-chan struct{}) bool {
	timer := time.NewTimer(releaseWait)
	defer timer.Stop()
	select {
	case <-released:
		return true
	case <-timer.C:
	case <-p.ctx.Done():
	}
	return false
}
