package ui

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/parleyhq/parley/discovery"
	"github.com/parleyhq/parley/server/certs"
	"github.com/parleyhq/parley/server/client"
	"github.com/parleyhq/parley/ui/address"
	"github.com/parleyhq/parley/ui/truststore"
)

// targetTimeout bounds trying one address of a server, so that a dead
// SRV target or a stale address leaves time for the next one.
const targetTimeout = 8 * time.Second

// isDomainInput tells a company domain or an e-mail address, which are
// looked up in DNS (SRV), from a machine's address, which is used as it
// is: a domain has a dot and neither port, scheme nor path, and is not an
// mDNS .local name.
func isDomainInput(input string) (string, bool) {
	input = strings.TrimSpace(input)
	domain, ok := discovery.DomainOf(input)
	if !ok {
		return "", false
	}
	if strings.Contains(input, "@") {
		return domain, true
	}
	return domain, strings.Contains(domain, ".") && !strings.HasSuffix(domain, ".local")
}

// connectDomain finds a domain's Parley server through its SRV records,
// then <domain>:8443, and connects to the first that answers.
func (m *JoinModel) connectDomain(ctx context.Context, domain string) (*TrustQuestion, error) {
	targets, err := discovery.Targets(ctx, m.resolver, domain)
	if err != nil {
		return nil, err
	}
	var tried []string
	for _, target := range targets {
		m.Target = address.Target{Host: target.Host, Port: target.Port}
		attempt, cancel := context.WithTimeout(ctx, targetTimeout)
		question, err := m.connectTarget(attempt)
		cancel()
		if err == nil || !isUnreachable(err) {
			return question, err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		tried = append(tried, target.Address())
	}
	return nil, fieldError("address", sentence(fmt.Sprintf("%v (tried %s)", discovery.NotFound(domain), strings.Join(tried, ", "))))
}

// isUnreachable tells "nothing answers there" (no such name, connection
// refused, no answer in time), when the next address is worth a try, from
// a server that answered with a problem.
func isUnreachable(err error) bool {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	return errors.As(err, &dnsErr) || errors.As(err, &opErr) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded)
}

// ConnectDiscovered connects to a server found on the network. Its
// announcement carries the fingerprint of its certificate authority: the
// CA the server shows must match it, and is then trusted without asking.
// A question comes back only when the CA differs from one trusted before
// for this server (a reinstall, or someone in the middle): the app warns
// instead of connecting silently.
func (m *JoinModel) ConnectDiscovered(ctx context.Context, server discovery.Server) (*TrustQuestion, error) {
	if len(server.Addresses) == 0 {
		return nil, fmt.Errorf("%s announced no address", server.Name)
	}
	var lastErr error
	for _, addr := range server.Addresses {
		m.Target, m.ca, m.pendingCA = address.Target{Host: addr, Port: server.Port}, nil, nil
		attempt, cancel := context.WithTimeout(ctx, targetTimeout)
		question, err := m.connectPinned(attempt, server)
		cancel()
		if err == nil || !isUnreachable(err) {
			return question, err
		}
		lastErr = err
	}
	return nil, fmt.Errorf("%s does not answer at %s: %w", server.Name, strings.Join(server.Addresses, ", "), lastErr)
}

func (m *JoinModel) connectPinned(ctx context.Context, server discovery.Server) (*TrustQuestion, error) {
	// A certificate the system trusts (uploaded by the administrator)
	// needs no pin.
	err := m.probe(ctx, nil)
	if err == nil || !isCertificateError(err) {
		return nil, err
	}
	ca, err := client.FetchCA(ctx, m.Target.BaseURL(), client.Options{Resolver: m.resolver})
	if err != nil {
		return nil, err
	}
	if got, _ := certs.PEMFingerprint(ca); got != strings.ToLower(server.CASHA) {
		return nil, fmt.Errorf("the server at %s is not the %q announced on the network: its certificate authority "+
			"has fingerprint %s, the announcement says %s. Someone may be impersonating it; ask its administrator",
			m.Target.HostPort(), server.Name, got, strings.ToLower(server.CASHA))
	}
	fingerprint, err := truststore.Fingerprint(ca)
	if err != nil {
		return nil, err
	}
	// The CA trusted before for this server, under its id or its address.
	for _, key := range []string{serverIDKey(server.ID), m.Target.HostPort()} {
		verdict, previous, err := m.trust.Check(key, ca)
		if err != nil {
			return nil, err
		}
		if verdict == truststore.Changed {
			m.pendingCA, m.pendingID = ca, server.ID
			return &TrustQuestion{Address: m.Target.HostPort(), Fingerprint: fingerprint, Changed: true, Previous: previous}, nil
		}
	}
	m.pendingCA, m.pendingID = ca, server.ID
	return nil, m.Trust(ctx)
}

// serverIDKey is where the trust store keeps a discovered server's CA,
// whatever address it has today.
func serverIDKey(id string) string { return "parley-server-id:" + id }
