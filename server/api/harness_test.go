package api_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/parleyhq/parley/server/accounts"
	"github.com/parleyhq/parley/server/client"
	"github.com/parleyhq/parley/server/eventlog"
	"github.com/parleyhq/parley/server/servertest"
)

const (
	goodPassword = servertest.Password
	sourceHeader = servertest.SourceHeader
)

// harness is a test server with the helpers these tests share.
type harness struct {
	*servertest.Server
	t *testing.T
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	return &harness{Server: servertest.Start(t, servertest.Options{}), t: t}
}

func (h *harness) client(cookies bool) *client.Client { return h.Client(cookies) }

func (h *harness) user(login string, role accounts.Role) accounts.User { return h.User(login, role) }

func (h *harness) signedIn(login string, role accounts.Role) *client.Client {
	return h.SignedIn(login, role)
}

func (h *harness) events(kind string) []eventlog.Listed {
	h.t.Helper()
	list, err := eventlog.List(context.Background(), h.DB.SQL(), eventlog.Filter{Kind: kind})
	if err != nil {
		h.t.Fatal(err)
	}
	return list
}

// servedFingerprint connects and returns the SHA-256 of the certificate
// the server presents.
func (h *harness) servedFingerprint() string {
	h.t.Helper()
	conn, err := tls.Dial("tcp", h.Addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		h.t.Fatal(err)
	}
	defer conn.Close()
	sum := sha256.Sum256(conn.ConnectionState().PeerCertificates[0].Raw)
	return hex.EncodeToString(sum[:])
}

func wantStatus(t *testing.T, err error, status int, code string) {
	t.Helper()
	var apiErr *client.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("got %v, want a %d %s answer", err, status, code)
	}
	if apiErr.Status != status || (code != "" && apiErr.Code != code) {
		t.Fatalf("got %v, want %d %s", apiErr, status, code)
	}
}
