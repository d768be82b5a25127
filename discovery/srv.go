package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
)

// DefaultPort is where a Parley server listens when a domain has no SRV
// record.
const DefaultPort = 8443

// Target is one place a server may be.
type Target struct {
	Host string
	Port int
	// FromSRV tells a record's target from the fallback guess.
	FromSRV bool
}

// Address is host:port.
func (t Target) Address() string {
	return net.JoinHostPort(t.Host, fmt.Sprint(t.Port))
}

var domainPattern = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\.?$|^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// DomainOf reads a domain from what a person typed: a domain, or an e-mail
// address (the part after the @). ok is false for anything else (an
// address with a port, a URL, an IP address).
func DomainOf(input string) (domain string, ok bool) {
	input = strings.ToLower(strings.TrimSpace(input))
	if at := strings.LastIndexByte(input, '@'); at >= 0 {
		input = input[at+1:]
	}
	if input == "" || net.ParseIP(input) != nil || !domainPattern.MatchString(input) {
		return "", false
	}
	return strings.TrimSuffix(input, "."), true
}

// Targets lists where the Parley server of a domain may be, in the order
// to try: the targets of the SRV records _parley._tcp.<domain> (lowest
// priority first, weighted at random within a priority, as RFC 2782 says),
// then <domain>:8443. resolver nil means the system's.
func Targets(ctx context.Context, resolver *net.Resolver, domain string) ([]Target, error) {
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	var targets []Target
	_, records, err := resolver.LookupSRV(ctx, "parley", "tcp", domain)
	var dnsErr *net.DNSError
	switch {
	case err == nil:
		// A single record with target "." says: no such service here.
		if !(len(records) == 1 && records[0].Target == ".") {
			for _, r := range records {
				targets = append(targets, Target{Host: strings.TrimSuffix(r.Target, "."), Port: int(r.Port), FromSRV: true})
			}
		}
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case errors.As(err, &dnsErr) && (dnsErr.IsNotFound || dnsErr.IsTemporary):
		// No record, or no answer: the fallback below is all there is.
	default:
		return nil, fmt.Errorf("look up the Parley server of %s: %w", domain, err)
	}
	return append(targets, Target{Host: domain, Port: DefaultPort}), nil
}

// NotFound is the error for a domain where no target answered.
func NotFound(domain string) error {
	return fmt.Errorf("no Parley server found for %s", domain)
}
