package api

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/parleyhq/parley/server/settings"
)

// Behind a reverse proxy the connection comes from the proxy, and the
// proxy says in X-Forwarded-* headers who the client is, which host and
// scheme it asked for and under which path prefix the proxy publishes
// Parley. Only proxies in trusted_proxies are believed: from anyone else
// the headers would let a client pose as another address (admin networks,
// the event log) or point the pages elsewhere.

// forwarded is what a trusted proxy said about a request.
type forwarded struct {
	client netip.Addr
	proto  string // "https" unless the proxy said "http"
	prefix string // "" or "/parley": no trailing slash
}

type forwardedKey struct{}

// prefixPattern is a path prefix fit for a <base href>: letters, digits
// and the unreserved punctuation of URLs, in segments.
var prefixPattern = regexp.MustCompile(`^(/[A-Za-z0-9._~-]+)+$`)

// applyForwarded reads the X-Forwarded-* headers of a trusted proxy into
// the request: Host becomes the forwarded host, and the client address,
// scheme and prefix go into the context for clientAddr, sameOrigin and
// the pages.
func (a *API) applyForwarded(r *http.Request) *http.Request {
	peer := remoteAddr(r)
	trusted := trustedProxies(a.Settings.Current())
	if !trusted(peer) {
		return r
	}
	f := forwarded{client: peer, proto: "https"}
	// The last proxy appends the address it saw: read from the right, and
	// stop at the first address that is not one of our proxies.
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		addr, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		f.client = addr.Unmap()
		if !trusted(f.client) {
			break
		}
	}
	if proto := r.Header.Get("X-Forwarded-Proto"); proto == "http" || proto == "https" {
		f.proto = proto
	}
	if host := r.Header.Get("X-Forwarded-Host"); validHost(host) {
		r.Host = host
	}
	if prefix := strings.TrimSuffix(r.Header.Get("X-Forwarded-Prefix"), "/"); prefixPattern.MatchString(prefix) && len(prefix) <= 200 {
		f.prefix = prefix
	}
	return r.WithContext(context.WithValue(r.Context(), forwardedKey{}, f))
}

// trustedProxies is a test of membership in the trusted_proxies setting.
func trustedProxies(s settings.Settings) func(netip.Addr) bool {
	var networks []netip.Prefix
	for _, network := range s.TrustedProxies {
		if prefix, err := settings.ParseNetwork(network); err == nil {
			networks = append(networks, prefix)
		}
	}
	return func(addr netip.Addr) bool {
		return addr.IsValid() && slices.ContainsFunc(networks, func(p netip.Prefix) bool { return p.Contains(addr) })
	}
}

// validHost accepts host or host:port with a DNS name or an IP address.
func validHost(host string) bool {
	if host == "" || len(host) > 255 {
		return false
	}
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	if _, err := netip.ParseAddr(strings.Trim(name, "[]")); err == nil {
		return true
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// forwardedOf is what a trusted proxy said, if one did.
func forwardedOf(r *http.Request) (forwarded, bool) {
	f, ok := r.Context().Value(forwardedKey{}).(forwarded)
	return f, ok
}

// clientAddr is the client's address: the connection's, or the one a
// trusted proxy forwarded.
func clientAddr(r *http.Request) netip.Addr {
	if f, ok := forwardedOf(r); ok {
		return f.client
	}
	return remoteAddr(r)
}

// appBase is the path the web application lives under for this request,
// for the pages' <base href>: "/" or the proxy's prefix with a slash.
func appBase(r *http.Request) string {
	if f, ok := forwardedOf(r); ok && f.prefix != "" {
		return f.prefix + "/"
	}
	return "/"
}
