package api

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/server/accounts"
	"github.com/parleyhq/parley/server/eventlog"
	"github.com/parleyhq/parley/server/problem"
	"github.com/parleyhq/parley/server/settings"
)

// sessionCookie names the browser session cookie. Browsers share cookies
// between ports of one host, so the name carries the server's id: two
// Parley servers on one machine must not sign each other's visitors out.
func (a *API) sessionCookie() string {
	id := a.ServerID
	if len(id) > 12 {
		id = id[:12]
	}
	return "parley_session_" + id
}

// request is what a handler knows about the caller.
type request struct {
	source  netip.Addr
	user    accounts.User
	session accounts.Session
	signed  bool // a session was presented and is valid
	gateway bool // the SIP gateway of this server (Config.GatewayToken)
}

func (rq *request) actor() eventlog.Actor {
	return eventlog.Actor{UserID: rq.user.ID, Source: rq.source.String()}
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, rq *request) error

// handle registers fn behind the checks that level of access needs.
func (a *API) handle(pattern string, level access, fn handlerFunc) {
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		rq := &request{source: clientAddr(r)}
		if err := a.admit(r, rq, level); err != nil {
			a.fail(w, r, err)
			return
		}
		if err := fn(w, r, rq); err != nil {
			a.fail(w, r, err)
		}
	})
}

func (a *API) admit(r *http.Request, rq *request, level access) error {
	if level == local {
		// Forwarded by a proxy on this machine that is not among the
		// trusted ones: the caller may be anywhere.
		if rq.source.Unmap().IsLoopback() && r.Header.Get("X-Forwarded-For") == "" {
			return nil
		}
		level = audit
	}
	if level == audit || level == admin || level == adminNet {
		if err := a.checkAdminNetwork(r, rq); err != nil {
			return err
		}
	}
	if err := a.authenticate(r, rq); err != nil && level != public && level != adminNet {
		return err
	}
	switch level {
	case signedIn:
	case audit:
		if !rq.user.Role.CanAudit() {
			return apiError(http.StatusForbidden, "forbidden", "only administrators may see this")
		}
	case admin:
		if !rq.user.Role.CanAdminister() {
			return apiError(http.StatusForbidden, "forbidden", "only administrators may change this")
		}
	}
	return nil
}

// authenticate finds the caller's session: a bearer token, else the cookie.
// A cookie session may change nothing unless the request comes from our
// own pages, which stops other sites from acting with a visitor's cookie.
func (a *API) authenticate(r *http.Request, rq *request) error {
	token, fromCookie := "", false
	if header := r.Header.Get("Authorization"); header != "" {
		scheme, value, ok := strings.Cut(header, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return apiError(http.StatusUnauthorized, "unauthorized", "the Authorization header must be 'Bearer <token>'")
		}
		token = strings.TrimSpace(value)
	} else if cookie, err := r.Cookie(a.sessionCookie()); err == nil {
		token, fromCookie = cookie.Value, true
	}
	if token == "" {
		return errUnauthorized
	}
	if a.GatewayToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(a.GatewayToken)) == 1 {
		// The gateway is no user: it may only open signalling connections
		// (a public route). Its token never leaves this process.
		rq.gateway = true
		return errUnauthorized
	}
	session, user, err := a.Accounts.Authenticate(r.Context(), token)
	if err != nil {
		var problemErr *problem.Error
		if errors.As(err, &problemErr) {
			return apiError(http.StatusUnauthorized, "unauthorized", problemErr.Message)
		}
		return err
	}
	if fromCookie && !safeMethod(r.Method) && !sameOrigin(r) {
		return apiError(http.StatusForbidden, "cross_origin", "this request did not come from this server's own pages")
	}
	rq.user, rq.session, rq.signed = user, session, true
	return nil
}

func safeMethod(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// sameOrigin accepts a request whose Origin (or, lacking one, Referer) is
// this very host over HTTPS.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		origin = r.Header.Get("Referer")
	}
	u, err := url.Parse(origin)
	if err != nil || origin == "" {
		return false
	}
	scheme := "https"
	if f, ok := forwardedOf(r); ok {
		scheme = f.proto
	}
	return u.Scheme == scheme && strings.EqualFold(u.Host, r.Host)
}

func remoteAddr(r *http.Request) netip.Addr {
	addrPort, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return addrPort.Addr().Unmap()
}

// checkAdminNetwork lets administration through from loopback (the desktop
// app on the host must never lock itself out) and the configured networks.
func (a *API) checkAdminNetwork(r *http.Request, rq *request) error {
	if rq.source.IsLoopback() || AllowedAdminSource(a.Settings.Current(), rq.source) {
		return nil
	}
	a.recordDenied(r, rq.source)
	return apiError(http.StatusForbidden, "admin_network",
		fmt.Sprintf("administration is not allowed from %s; an administrator can add its network to admin_networks", rq.source))
}

// AllowedAdminSource reports whether addr is inside the admin networks.
func AllowedAdminSource(s settings.Settings, addr netip.Addr) bool {
	for _, network := range s.AdminNetworks {
		prefix, err := settings.ParseNetwork(network)
		if err == nil && prefix.Contains(addr) {
			return true
		}
	}
	return false
}

// deniedEvery bounds access_denied rows to one per source and minute, so
// that a scan cannot flood the event log.
const deniedEvery = time.Minute

func (a *API) recordDenied(r *http.Request, source netip.Addr) {
	now := time.Now()
	a.deniedMu.Lock()
	last, seen := a.deniedLast[source.String()]
	if seen && now.Sub(last) < deniedEvery {
		a.deniedMu.Unlock()
		return
	}
	if len(a.deniedLast) > 10000 {
		clear(a.deniedLast)
	}
	a.deniedLast[source.String()] = now
	a.deniedMu.Unlock()
	err := eventlog.Record(r.Context(), a.DB, eventlog.Entry{Kind: eventlog.AccessDenied,
		Actor: eventlog.Actor{Source: source.String()}, Subject: r.Method + " " + r.URL.Path,
		Details: map[string]any{"reason": "admin_network"}})
	if err != nil {
		a.logger.Error("record denied access", slog.Any("error", err))
	}
}

// pathID reads a positive integer path parameter; anything else is 404.
func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, errNotFound
	}
	return id, nil
}
