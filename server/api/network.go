package api

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"time"

	"github.com/parleyhq/parley/server/iceservers"
	"github.com/parleyhq/parley/server/settings"
)

// iceCheckTimeout bounds the contact with each STUN or TURN server.
const iceCheckTimeout = 5 * time.Second

// checkICEServers contacts STUN and TURN servers the way clients will:
// those in the body ({"ice_servers": ...} in any form the settings take,
// to test before saving), or else the ones clients get now, the built-in
// TURN server included.
func (a *API) checkICEServers(w http.ResponseWriter, r *http.Request, rq *request) error {
	var body struct {
		ICEServers json.RawMessage `json:"ice_servers"`
	}
	if r.ContentLength != 0 {
		if err := decode(r, &body, maxBody); err != nil {
			return err
		}
	}
	var servers []iceservers.Server
	if body.ICEServers != nil {
		// Read apart from the body, so that a mistake in the list is
		// reported on the field, as Settings reports it.
		var list settings.ICEServers
		err := list.UnmarshalJSON(body.ICEServers)
		if err == nil {
			err = iceservers.Validate(list)
		}
		if err != nil {
			return &Error{Status: http.StatusBadRequest, Code: "invalid", Field: "ice_servers", Message: err.Error()}
		}
		servers = list
	} else if a.ICEServers == nil {
		servers = a.Settings.Current().ICEServers
	} else {
		for _, server := range a.ICEServers("check-" + rq.actor().Name) {
			entry := iceservers.Server{URLs: server.URLs, Username: server.Username}
			entry.Credential, _ = server.Credential.(string)
			servers = append(servers, entry)
		}
	}
	// TURN over TLS to this server presents a certificate from its own CA.
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	roots.AppendCertsFromPEM(a.Certificates.CACertPEM())
	results := iceservers.Check(r.Context(), servers, iceservers.CheckOptions{Timeout: iceCheckTimeout,
		TLSConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}})
	if results == nil {
		results = []iceservers.Result{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
	return nil
}
