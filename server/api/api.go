// Package api owns Parley's HTTP surface: the JSON REST API under /api/v1/
// (status, sign-in, setup, users, groups, settings, certificates, event
// log), the pages of the embedded web client and /ca.crt. It enforces who
// may call what: sessions, roles, the admin source networks and request
// limits. docs/api.md describes every endpoint.
package api

import (
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/parleyhq/parley/server/accounts"
	"github.com/parleyhq/parley/server/certs"
	"github.com/parleyhq/parley/server/conference"
	"github.com/parleyhq/parley/server/settings"
	"github.com/parleyhq/parley/server/store"
	"github.com/pion/webrtc/v4"
)

// Subsystem is one line of the status report.
type Subsystem struct {
	Name     string    `json:"name"`
	State    string    `json:"state"`
	Reason   string    `json:"reason,omitempty"`
	Since    time.Time `json:"since"`
	Restarts int       `json:"restarts"`
}

// Certificates is the TLS identity the API shows and changes.
type Certificates interface {
	CACertPEM() []byte
	Info() certs.Info
	Upload(certPEM, keyPEM []byte) (certs.Info, error)
	RemoveUploaded() error
	Reissue() error
}

// Config is what the API is built from.
type Config struct {
	DB           *store.DB
	Accounts     *accounts.Service
	Settings     *settings.Service
	Certificates Certificates
	Conferences  *conference.Service
	Signal       SignalServer
	// ICEServers is what a client joining now gets (with short-lived TURN
	// credentials), for the settings' test of the STUN and TURN servers
	// and the self-test page.
	ICEServers func(user string) []webrtc.ICEServer
	Health     func() []Subsystem
	Stats      func() Stats
	// Metrics are the samples of GET /metrics; nil: no metrics.
	Metrics  func() []Metric
	ServerID string
	Version  string
	Pages    fs.FS // the web client: index.html, setup.html and the files under /assets/
	Logger   *slog.Logger
	// SelfTest answers the offer of a connection test (the /test page)
	// with a short-lived peer connection of the media plane that uses only
	// transport, "udp" or "tcp"; see ErrOfferRefused and
	// ErrSelfTestUnavailable for its errors. Nil: media tests are
	// unavailable.
	SelfTest func(offer, transport string) (answer string, err error)
	// Phones returns the SIP gateway that places calls to phones, nil
	// while it does not run; nil: never.
	Phones func() PhoneDialer
	// GatewayToken is the bearer token of this process's SIP gateway,
	// whose signalling connections may bring in telephone callers
	// (protocol.Phone); empty: none.
	GatewayToken string
}

// API serves HTTP requests.
type API struct {
	Config
	logger *slog.Logger
	mux    *http.ServeMux

	deniedMu   sync.Mutex
	deniedLast map[string]time.Time // source -> last access_denied event, to bound the log

	calls placedCalls // calls to phones placed through the API
}

// New builds the API.
func New(cfg Config) *API {
	a := &API{Config: cfg, logger: cfg.Logger, mux: http.NewServeMux(), deniedLast: map[string]time.Time{}}
	if a.logger == nil {
		a.logger = slog.Default()
	}
	a.routes()
	return a
}

// Access says who may call an endpoint.
type access int

const (
	public   access = iota // anyone
	signedIn               // any signed-in user
	audit                  // owner, admin, security admin; from an admin network
	admin                  // owner, admin; from an admin network
	adminNet               // anyone from an admin network (first-run setup)
	// local is anyone on this machine (loopback), or else as audit: for
	// a monitoring agent or the benchmark beside the server.
	local
)

func (a *API) routes() {
	a.handle("GET /api/v1/status", public, a.status)

	a.handle("POST /api/v1/auth/sign-in", public, a.signIn)
	a.handle("POST /api/v1/auth/sign-out", signedIn, a.signOut)
	a.handle("GET /api/v1/me", signedIn, a.me)
	a.handle("PATCH /api/v1/me", signedIn, a.updateMe)
	a.handle("POST /api/v1/me/password", signedIn, a.changeMyPassword)
	a.handle("PUT /api/v1/me/sip-password", signedIn, a.setSIPPassword(true))

	a.handle("GET /api/v1/setup/{token}", adminNet, a.checkSetup)
	a.handle("POST /api/v1/setup", adminNet, a.completeSetup)

	a.handle("GET /api/v1/users", audit, a.listUsers)
	a.handle("POST /api/v1/users", admin, a.createUser)
	a.handle("GET /api/v1/users/{id}", audit, a.getUser)
	a.handle("PATCH /api/v1/users/{id}", admin, a.updateUser)
	a.handle("POST /api/v1/users/{id}/password", admin, a.resetPassword)
	a.handle("PUT /api/v1/users/{id}/sip-password", admin, a.setSIPPassword(false))
	a.handle("POST /api/v1/users/{id}/unlock", admin, a.unlockUser)
	a.handle("POST /api/v1/users/{id}/sign-out", admin, a.signOutUser)

	a.handle("GET /api/v1/rights", audit, a.listRights)
	a.handle("GET /api/v1/groups", audit, a.listGroups)
	a.handle("POST /api/v1/groups", admin, a.createGroup)
	a.handle("GET /api/v1/groups/{id}", audit, a.getGroup)
	a.handle("PATCH /api/v1/groups/{id}", admin, a.updateGroup)
	a.handle("DELETE /api/v1/groups/{id}", admin, a.deleteGroup)

	a.handle("GET /api/v1/settings", audit, a.getSettings)
	a.handle("PATCH /api/v1/settings", admin, a.updateSettings)
	a.handle("POST /api/v1/settings/ice-servers/check", admin, a.checkICEServers)

	a.handle("GET /api/v1/tls", audit, a.getCertificate)
	a.handle("PUT /api/v1/tls", admin, a.uploadCertificate)
	a.handle("DELETE /api/v1/tls", admin, a.removeCertificate)
	a.handle("POST /api/v1/tls/reissue", admin, a.reissueCertificate)

	a.handle("GET /api/v1/events", audit, a.listEvents)
	a.handle("GET /api/v1/stats", audit, a.stats)
	a.handle("GET /metrics", local, a.metrics)

	a.handle("POST /api/v1/selftest/ice", public, a.selfTestICE(newSourceLimit(selfTestsPerMinute)))
	a.handle("GET /api/v1/selftest/ice-servers", public, a.selfTestICEServers(newSourceLimit(selfTestICEServersPerMinute)))

	a.handle("GET /api/v1/signal", public, a.signal)
	a.handle("GET /api/v1/directory", signedIn, a.directory)
	a.handle("POST /api/v1/conferences", signedIn, a.createConference)
	a.handle("GET /api/v1/conferences", signedIn, a.listConferences)
	a.handle("GET /api/v1/conferences/{cid}", signedIn, a.getConference)
	a.handle("PATCH /api/v1/conferences/{cid}", signedIn, a.updateConference)
	a.handle("DELETE /api/v1/conferences/{cid}", signedIn, a.deleteConference)
	a.handle("POST /api/v1/conferences/{cid}/end", signedIn, a.endConference)
	a.handle("POST /api/v1/conferences/{cid}/calls", signedIn, a.placeCall)
	a.handle("GET /api/v1/conferences/{cid}/calls", signedIn, a.listCalls)
	a.handle("DELETE /api/v1/conferences/{cid}/calls/{call}", signedIn, a.hangUpCall)
	a.handle("GET /api/v1/conferences/{cid}/join-info", public, a.joinInfo)
	a.handle("GET /api/v1/conferences/{cid}/chat", signedIn, a.conferenceChat)

	a.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		a.fail(w, r, apiError(http.StatusNotFound, "not_found", "no such API endpoint: "+r.Method+" "+r.URL.Path))
	})
	a.pageRoutes()
}

// ServeHTTP adds the headers every answer carries and turns a panic in a
// handler into a 500 answer, so that no request brings the server down.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			a.logger.ErrorContext(r.Context(), "handler panicked", slog.String("path", r.URL.Path), slog.Any("panic", p))
			a.fail(w, r, apiError(http.StatusInternalServerError, "internal", "the server failed to handle this request; see its log"))
		}
	}()
	header := w.Header()
	header.Set("X-Content-Type-Options", "nosniff")
	header.Set("X-Frame-Options", "DENY")
	// Setup links carry a secret in the path: never send it elsewhere.
	header.Set("Referrer-Policy", "no-referrer")
	// base-uri 'self': the pages carry a <base> with the path they live
	// under (a reverse proxy's prefix).
	header.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
	a.mux.ServeHTTP(w, a.applyForwarded(r))
}
