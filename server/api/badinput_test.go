package api_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/server/accounts"
	"github.com/parleyhq/parley/server/eventlog"
)

// TestBadInputChangesNothing sends malformed requests of every kind and
// checks each gets a clear 4xx error while nothing stored changes.
func TestBadInputChangesNothing(t *testing.T) {
	h := newHarness(t)
	admin := h.signedIn("admin", accounts.Admin)
	anna := h.user("anna", accounts.Member)
	json := http.Header{"Content-Type": {"application/json"}}
	cases := []struct {
		name, method, path string
		header             http.Header
		body               string
		status             int
		code               string
	}{
		{"malformed JSON", "POST", "/api/v1/users", json, `{"login": "x",`, 400, "bad_request"},
		{"not JSON at all", "POST", "/api/v1/users", json, `login=x`, 400, "bad_request"},
		{"wrong type", "POST", "/api/v1/users", json, `{"login": 42, "password": "Correct-Horse-7"}`, 400, "bad_request"},
		{"wrong top-level type", "POST", "/api/v1/users", json, `["login"]`, 400, "bad_request"},
		{"unknown field", "POST", "/api/v1/users", json, `{"login": "x1", "password": "Correct-Horse-7", "admin": true}`, 400, "bad_request"},
		{"two values", "POST", "/api/v1/users", json, `{"login": "x2"} {"login": "x3"}`, 400, "bad_request"},
		{"empty body", "POST", "/api/v1/users", json, ``, 400, "bad_request"},
		{"no content type", "POST", "/api/v1/users", nil, `{"login": "x4", "password": "Correct-Horse-7"}`, 415, "unsupported_media_type"},
		{"form content type", "POST", "/api/v1/users", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, `login=x`, 415, "unsupported_media_type"},
		{"oversize body", "POST", "/api/v1/users", json, `{"login": "` + strings.Repeat("a", 70<<10) + `"}`, 413, "too_large"},
		{"oversize upload", "PUT", "/api/v1/tls", json, `{"certificate": "` + strings.Repeat("a", 3<<20) + `"}`, 413, "too_large"},
		{"huge number", "PATCH", "/api/v1/settings", json, `{"https_port": 1e400}`, 400, ""},
		{"negative id", "GET", "/api/v1/users/-1", nil, ``, 404, "not_found"},
		{"text id", "PATCH", "/api/v1/users/abc", json, `{}`, 404, "not_found"},
		{"overflowing id", "GET", "/api/v1/users/99999999999999999999", nil, ``, 404, "not_found"},
		{"missing user", "GET", "/api/v1/users/999", nil, ``, 404, "not_found"},
		{"bad query number", "GET", "/api/v1/users?limit=lots", nil, ``, 400, "invalid"},
		{"settings null", "PATCH", "/api/v1/settings", json, `null`, 400, "bad_request"},
		{"settings array", "PATCH", "/api/v1/settings", json, `[1,2]`, 400, "bad_request"},
		{"login change", "PATCH", "/api/v1/users/" + itoa(anna.ID), json, `{"login": "other"}`, 400, "invalid"},
		{"role injection", "PATCH", "/api/v1/users/" + itoa(anna.ID), json, `{"role": "owner"}`, 403, "forbidden"},
		{"forged token", "GET", "/api/v1/me", http.Header{"Authorization": {"Bearer forged"}}, ``, 401, "unauthorized"},
		{"malformed authorization", "GET", "/api/v1/me", http.Header{"Authorization": {"Basic YWRtaW46YWRtaW4="}}, ``, 401, "unauthorized"},
		{"oversize token", "GET", "/api/v1/me", http.Header{"Authorization": {"Bearer " + strings.Repeat("x", 5000)}}, ``, 401, "unauthorized"},
		{"wrong session kind", "POST", "/api/v1/auth/sign-in", json, `{"login":"anna","password":"x","session":"forever"}`, 400, "invalid"},
		{"path traversal in setup", "GET", "/api/v1/setup/..%2f..%2fetc%2fpasswd", nil, ``, 404, "not_found"},
	}
	before := snapshot(t, h)
	for _, c := range cases {
		header := c.header.Clone()
		if header == nil {
			header = http.Header{}
		}
		resp, err := admin.Raw(ctx, c.method, c.path, header, strings.NewReader(c.body))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d (%s)", c.name, resp.StatusCode, c.status, body)
			continue
		}
		if !bytes.Contains(body, []byte(`"error":{"code":"`+c.code)) || !bytes.Contains(body, []byte(`"message":"`)) {
			t.Errorf("%s: body %s lacks error code %q and message", c.name, body, c.code)
		}
	}
	if after := snapshot(t, h); after != before {
		t.Errorf("bad input changed stored data:\nbefore %s\nafter  %s", before, after)
	}
}

// snapshot summarises what bad input must not change.
func snapshot(t *testing.T, h *harness) string {
	t.Helper()
	var out strings.Builder
	for _, query := range []string{
		`SELECT group_concat(login || ':' || role || ':' || enabled || ':' || password_hash, ',') FROM users`,
		`SELECT group_concat(key || '=' || value, ',') FROM settings WHERE key NOT LIKE 'internal.%'`,
		`SELECT count(*) FROM access_groups`,
	} {
		var value any
		if err := h.DB.SQL().QueryRow(query).Scan(&value); err != nil {
			t.Fatal(err)
		}
		out.WriteString(strings.TrimSpace(strings.ReplaceAll(string(toBytes(value)), "\n", " ")) + "|")
	}
	return out.String() + h.servedFingerprint()
}

func toBytes(v any) []byte {
	switch v := v.(type) {
	case string:
		return []byte(v)
	case []byte:
		return v
	case int64:
		return []byte(itoa(v))
	}
	return nil
}

func TestPathTraversalFindsNothing(t *testing.T) {
	h := newHarness(t)
	c := h.client(false)
	for _, path := range []string{
		"/assets/../../../../etc/passwd",
		"/assets/..%2f..%2f..%2fetc%2fpasswd",
		"/assets/%2e%2e/%2e%2e/go.mod",
		"/assets/js/../../embed.go",
		"/setup/..%2f..%2fca.crt",
		"/ca.crt/../../etc/passwd",
	} {
		resp, err := c.Raw(ctx, http.MethodGet, path, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if bytes.Contains(body, []byte("root:")) || bytes.Contains(body, []byte("package assets")) || bytes.Contains(body, []byte("module ")) {
			t.Errorf("%s leaked a file: %d %q", path, resp.StatusCode, body[:min(len(body), 80)])
		}
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMovedPermanently && resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d", path, resp.StatusCode)
		}
	}
}

// testCertificate makes a CA and a server certificate for 127.0.0.1.
func testCertificate(t *testing.T, notBefore, notAfter time.Time) (certPEM, keyPEM []byte) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTemplate := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test CA"},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(48 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "meet.example.com"},
		DNSNames: []string{"meet.example.com"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: notBefore, NotAfter: notAfter, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

func TestCertificateUploadErrorsChangeNothing(t *testing.T) {
	h := newHarness(t)
	admin := h.signedIn("admin", accounts.Admin)
	generated := h.servedFingerprint()
	now := time.Now()
	goodCert, goodKey := testCertificate(t, now.Add(-time.Hour), now.Add(90*24*time.Hour))
	_, otherKey := testCertificate(t, now.Add(-time.Hour), now.Add(90*24*time.Hour))
	expiredCert, expiredKey := testCertificate(t, now.Add(-48*time.Hour), now.Add(-time.Hour))
	futureCert, futureKey := testCertificate(t, now.Add(24*time.Hour), now.Add(48*time.Hour))

	cases := []struct {
		name      string
		cert, key []byte
		code      string
	}{
		{"mismatched key", goodCert, otherKey, "certificate_key_mismatch"},
		{"expired", expiredCert, expiredKey, "certificate_expired"},
		{"not yet valid", futureCert, futureKey, "certificate_not_yet_valid"},
		{"garbage", []byte("hello"), goodKey, "certificate_no_certificate"},
		{"no key", goodCert, nil, "certificate_no_key"},
	}
	for _, c := range cases {
		err := admin.Do(ctx, http.MethodPut, "/api/v1/tls", map[string]string{"certificate": string(c.cert), "private_key": string(c.key)}, nil)
		wantStatus(t, err, http.StatusBadRequest, c.code)
		if got := h.servedFingerprint(); got != generated {
			t.Fatalf("%s: the served certificate changed", c.name)
		}
	}
	rejected := h.events(eventlog.CertificateRejected)
	if len(rejected) != len(cases) || !strings.Contains(string(rejected[len(cases)-1].Details), "key_mismatch") {
		t.Errorf("rejection rows %+v", rejected)
	}

	if err := admin.Do(ctx, http.MethodPut, "/api/v1/tls", map[string]string{"certificate": string(goodCert), "private_key": string(goodKey)}, nil); err != nil {
		t.Fatal(err)
	}
	uploaded := h.servedFingerprint()
	if uploaded == generated {
		t.Fatal("the uploaded certificate is not served")
	}
	if rows := h.events(eventlog.CertificateUploaded); len(rows) != 1 || rows[0].ActorUser.Login != "admin" {
		t.Errorf("upload rows %+v", rows)
	}
	if err := admin.Do(ctx, http.MethodDelete, "/api/v1/tls", nil, nil); err != nil {
		t.Fatal(err)
	}
	if h.servedFingerprint() != generated {
		t.Error("removing the upload did not bring back the generated certificate")
	}
}
