package certs

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const day = 24 * time.Hour

// testClock is a settable clock for Options.Now.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Now().Truncate(time.Second)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testHost is a machine whose names and addresses a test can change.
type testHost struct {
	mu        sync.Mutex
	names     []string
	addresses []net.IP
}

func newTestHost() *testHost {
	return &testHost{
		names:     []string{"office-pc", "office-pc.local", "localhost", "office-pc.example"},
		addresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1"), net.ParseIP("192.0.2.10")},
	}
}

func (h *testHost) Names() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.names)
}

func (h *testHost) Addresses() []net.IP {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.addresses)
}

func (h *testHost) AddAddress(ip net.IP) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.addresses = append(h.addresses, ip)
}

func (h *testHost) AddName(name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.names = append(h.names, name)
}

// testEnv bundles what a test needs to open managers on one directory.
type testEnv struct {
	dir   string
	clock *testClock
	host  *testHost
}

func newTestEnv(t testing.TB) *testEnv {
	t.Helper()
	return &testEnv{
		dir:   filepath.Join(t.TempDir(), "certs"),
		clock: newTestClock(),
		host:  newTestHost(),
	}
}

func (e *testEnv) options() Options {
	return Options{
		Names:        e.host.Names,
		Addresses:    e.host.Addresses,
		Now:          e.clock.Now,
		Organization: "Parley (office-pc)",
		Logger:       slog.New(slog.DiscardHandler),
	}
}

func (e *testEnv) open(t testing.TB) *Manager {
	t.Helper()
	m, err := Open(e.dir, e.options())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return m
}

func caPool(m *Manager) *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(m.CACert())
	return pool
}

func served(t testing.TB, m *Manager) *tls.Certificate {
	t.Helper()
	cert, err := m.GetCertificate(&tls.ClientHelloInfo{ServerName: "localhost"})
	if err != nil {
		t.Fatalf("GetCertificate: %v", err)
	}
	if cert.Leaf == nil {
		t.Fatal("GetCertificate returned a certificate without Leaf")
	}
	return cert
}

func verifyFor(cert *x509.Certificate, roots *x509.CertPool, host string, now time.Time) error {
	_, err := cert.Verify(x509.VerifyOptions{
		Roots:       roots,
		DNSName:     host,
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	return err
}

// snapshotDir returns the content of every file in dir.
func snapshotDir(t testing.TB, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := make(map[string]string, len(entries))
	for _, entry := range entries {
		data, err := os.ReadFile(filepath.Join(dir, entry.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[entry.Name()] = string(data)
	}
	return files
}

func sameSnapshot(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for name, content := range a {
		if other, ok := b[name]; !ok || other != content {
			return false
		}
	}
	return true
}

func assertKeyFileMode(t *testing.T, path string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		return // Windows has no Unix permission bits
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("%s has mode %v, want 0600", filepath.Base(path), mode)
	}
}

// --- a separate PKI for uploaded certificates ---

type testIssuer struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func newECKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

var serialCounter struct {
	sync.Mutex
	next int64
}

func nextSerial() *big.Int {
	serialCounter.Lock()
	defer serialCounter.Unlock()
	serialCounter.next++
	return big.NewInt(serialCounter.next)
}

// sign creates a certificate from template for pub, signed by parent (or
// self-signed when parent is nil).
func sign(t testing.TB, template *x509.Certificate, parent *testIssuer, pub crypto.PublicKey, selfKey crypto.Signer) *x509.Certificate {
	t.Helper()
	template.SerialNumber = nextSerial()
	parentCert, parentKey := template, selfKey
	if parent != nil {
		parentCert, parentKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, template, parentCert, pub, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func newTestCA(t testing.TB, name string, parent *testIssuer, now time.Time) *testIssuer {
	t.Helper()
	key := newECKey(t)
	template := &x509.Certificate{
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-day),
		NotAfter:              now.Add(5 * 365 * day),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	return &testIssuer{cert: sign(t, template, parent, key.Public(), key), key: key}
}

// leafTemplate is a valid server certificate for meet.example.com; tests
// change fields to make it invalid.
func leafTemplate(now time.Time) *x509.Certificate {
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: "meet.example.com"},
		DNSNames:    []string{"meet.example.com"},
		NotBefore:   now.Add(-day),
		NotAfter:    now.Add(90 * day),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
}

func certsPEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, cert := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})...)
	}
	return out
}

func pkcs8PEM(t testing.TB, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func sec1PEM(t testing.TB, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}

func pkcs1PEM(key *rsa.PrivateKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
}

// uploadPKI is a root, an intermediate and a leaf signed by it.
type uploadPKI struct {
	root, intermediate *testIssuer
	leaf               *x509.Certificate
	leafKey            *ecdsa.PrivateKey
}

func newUploadPKI(t testing.TB, now time.Time) *uploadPKI {
	t.Helper()
	root := newTestCA(t, "Example Root", nil, now)
	intermediate := newTestCA(t, "Example Intermediate", root, now)
	key := newECKey(t)
	return &uploadPKI{
		root:         root,
		intermediate: intermediate,
		leaf:         sign(t, leafTemplate(now), intermediate, key.Public(), nil),
		leafKey:      key,
	}
}

// --- TLS helpers ---

// serveTLS accepts TLS connections on 127.0.0.1 with m's certificate and
// returns the address.
func serveTLS(t *testing.T, m *Manager) string {
	t.Helper()
	listener, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: m.GetCertificate})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			conn, err := listener.Accept()
			if err != nil {
				return // listener closed
			}
			wg.Go(func() {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(10 * time.Second))
				// Failed handshakes are the client's business in these tests.
				_ = conn.(*tls.Conn).Handshake()
			})
		}
	})
	t.Cleanup(func() {
		listener.Close()
		wg.Wait()
	})
	return listener.Addr().String()
}

// handshake dials addr and returns the leaf certificate the server sent.
func handshake(addr string, roots *x509.CertPool, serverName string) (*x509.Certificate, error) {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	conn, err := tls.DialWithDialer(dialer, "tcp", addr, &tls.Config{RootCAs: roots, ServerName: serverName})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

// --- tests ---

func TestOpenCreatesIdentity(t *testing.T) {
	env := newTestEnv(t)
	m := env.open(t)

	for _, name := range []string{caCertFile, caKeyFile, serverCertFile, serverKeyFile} {
		if _, err := os.Stat(filepath.Join(env.dir, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	assertKeyFileMode(t, filepath.Join(env.dir, caKeyFile))
	assertKeyFileMode(t, filepath.Join(env.dir, serverKeyFile))
	if runtime.GOOS != "windows" {
		if info, err := os.Stat(env.dir); err != nil || info.Mode().Perm() != 0o700 {
			t.Errorf("directory mode: %v, %v; want 0700", info.Mode().Perm(), err)
		}
	}

	ca := m.CACert()
	if !ca.IsCA || !ca.MaxPathLenZero || ca.MaxPathLen != 0 {
		t.Errorf("CA basic constraints: IsCA=%v MaxPathLen=%d MaxPathLenZero=%v", ca.IsCA, ca.MaxPathLen, ca.MaxPathLenZero)
	}
	if ca.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Errorf("CA key usage = %v", ca.KeyUsage)
	}
	if ca.Subject.CommonName != "Parley local CA" || !slices.Equal(ca.Subject.Organization, []string{"Parley (office-pc)"}) {
		t.Errorf("CA subject = %v", ca.Subject)
	}
	if years := ca.NotAfter.Sub(env.clock.Now()) / (365 * day); years < 9 || years > 10 {
		t.Errorf("CA valid until %v, want about 10 years", ca.NotAfter)
	}
	if pub, ok := ca.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("CA key is %T, want ECDSA P-256", ca.PublicKey)
	}
	if ca.SerialNumber.BitLen() < 64 {
		t.Errorf("CA serial %v does not look random", ca.SerialNumber)
	}
	if block, _ := pem.Decode(m.CACertPEM()); block == nil || !bytes.Equal(block.Bytes, ca.Raw) {
		t.Error("CACertPEM does not hold CACert")
	}

	cert := served(t, m)
	leaf := cert.Leaf
	if leaf.Subject.CommonName != "office-pc" {
		t.Errorf("server CN = %q, want the first name", leaf.Subject.CommonName)
	}
	if !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) || leaf.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Errorf("server usages: ext %v, key %v", leaf.ExtKeyUsage, leaf.KeyUsage)
	}
	if got := leaf.NotAfter.Sub(leaf.NotBefore); got != 365*day+time.Hour {
		t.Errorf("server validity = %v, want 365 days plus 1 hour of skew", got)
	}
	if len(cert.Certificate) != 2 || !bytes.Equal(cert.Certificate[1], ca.Raw) {
		t.Error("served chain does not end with the CA")
	}
	info := m.Info()
	if info.Source != SourceGenerated || info.ExpiresSoon {
		t.Errorf("Info = %+v", info)
	}
	if info.SHA256 != fingerprint(leaf.Raw) || len(info.SHA256) != 64 || strings.ToLower(info.SHA256) != info.SHA256 {
		t.Errorf("Info.SHA256 = %q", info.SHA256)
	}

	reopened := env.open(t)
	if fingerprint(reopened.CACert().Raw) != fingerprint(ca.Raw) {
		t.Error("second Open loaded a different CA")
	}
	if reopened.Info().SHA256 != info.SHA256 {
		t.Error("second Open loaded a different server certificate")
	}
}

func TestServerCertificateVerifiesAgainstCA(t *testing.T) {
	env := newTestEnv(t)
	m := env.open(t)
	leaf := served(t, m).Leaf
	for _, host := range []string{"localhost", "127.0.0.1", "::1", "office-pc.example", "office-pc.local", "192.0.2.10"} {
		if err := verifyFor(leaf, caPool(m), host, env.clock.Now()); err != nil {
			t.Errorf("verify for %s: %v", host, err)
		}
	}
	if err := verifyFor(leaf, caPool(m), "other.example", env.clock.Now()); err == nil {
		t.Error("certificate verified for a name it does not cover")
	}
}

func TestTLSHandshake(t *testing.T) {
	env := newTestEnv(t)
	m := env.open(t)
	addr := serveTLS(t, m)

	peer, err := handshake(addr, caPool(m), "localhost")
	if err != nil {
		t.Fatalf("handshake with the CA trusted: %v", err)
	}
	if fingerprint(peer.Raw) != m.Info().SHA256 {
		t.Error("server sent a different certificate than Info describes")
	}

	_, err = handshake(addr, x509.NewCertPool(), "localhost")
	var unknownAuthority x509.UnknownAuthorityError
	if !errors.As(err, &unknownAuthority) {
		t.Fatalf("handshake with an empty pool: err = %v, want x509.UnknownAuthorityError", err)
	}
}

func TestRefresh(t *testing.T) {
	env := newTestEnv(t)
	m := env.open(t)
	first := served(t, m).Leaf

	if reissued, err := m.Refresh(); err != nil || reissued {
		t.Fatalf("Refresh of a fresh certificate = %v, %v; want false", reissued, err)
	}

	env.clock.Advance(340 * day)
	if !m.Info().ExpiresSoon {
		t.Error("ExpiresSoon false 25 days before expiry")
	}
	if reissued, err := m.Refresh(); err != nil || !reissued {
		t.Fatalf("Refresh 340 days later = %v, %v; want true", reissued, err)
	}
	renewed := served(t, m).Leaf
	if renewed.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Error("re-issued certificate kept the serial number")
	}
	if err := verifyFor(renewed, caPool(m), "localhost", env.clock.Now()); err != nil {
		t.Errorf("re-issued certificate does not verify: %v", err)
	}
	if m.Info().ExpiresSoon {
		t.Error("ExpiresSoon true right after re-issue")
	}
	if reissued, err := m.Refresh(); err != nil || reissued {
		t.Fatalf("second Refresh = %v, %v; want false", reissued, err)
	}

	newAddress := net.ParseIP("10.1.2.3")
	env.host.AddAddress(newAddress)
	if reissued, err := m.Refresh(); err != nil || !reissued {
		t.Fatalf("Refresh after an address appeared = %v, %v; want true", reissued, err)
	}
	if err := verifyFor(served(t, m).Leaf, caPool(m), newAddress.String(), env.clock.Now()); err != nil {
		t.Errorf("re-issued certificate does not cover %s: %v", newAddress, err)
	}

	env.host.AddName("conference.example")
	if reissued, err := m.Refresh(); err != nil || !reissued {
		t.Fatalf("Refresh after a name appeared = %v, %v; want true", reissued, err)
	}
	if err := verifyFor(served(t, m).Leaf, caPool(m), "conference.example", env.clock.Now()); err != nil {
		t.Errorf("re-issued certificate does not cover the new name: %v", err)
	}

	reopened := env.open(t)
	if reopened.Info().SHA256 != m.Info().SHA256 {
		t.Error("re-issued certificate was not saved")
	}
}

func TestReissue(t *testing.T) {
	env := newTestEnv(t)
	m := env.open(t)
	before := m.Info().SHA256
	if err := m.Reissue(); err != nil {
		t.Fatal(err)
	}
	after := m.Info().SHA256
	if after == before {
		t.Fatal("Reissue kept the certificate")
	}
	if fingerprint(served(t, m).Leaf.Raw) != after {
		t.Error("GetCertificate still serves the old certificate")
	}
	if env.open(t).Info().SHA256 != after {
		t.Error("re-issued certificate was not saved")
	}
}

func TestExpiresSoon(t *testing.T) {
	env := newTestEnv(t)
	m := env.open(t)
	env.clock.Advance(334 * day) // 31 days left
	if m.Info().ExpiresSoon {
		t.Error("ExpiresSoon with 31 days left")
	}
	env.clock.Advance(2 * day) // 29 days left
	if !m.Info().ExpiresSoon {
		t.Error("ExpiresSoon false with 29 days left")
	}
}

func TestUploadRejects(t *testing.T) {
	now := newTestClock().Now()
	pki := newUploadPKI(t, now)
	goodCert := certsPEM(pki.leaf, pki.intermediate.cert)
	goodKey := pkcs8PEM(t, pki.leafKey)

	leafWith := func(change func(*x509.Certificate)) []byte {
		template := leafTemplate(now)
		change(template)
		return certsPEM(sign(t, template, pki.intermediate, pki.leafKey.Public(), nil), pki.intermediate.cert)
	}
	unrelated := newTestCA(t, "Unrelated Intermediate", pki.root, now)
	encryptedKey := pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{0x30, 0x00}})
	tooLarge := bytes.Repeat([]byte("A"), maxUploadSize+1)

	cases := []struct {
		name     string
		cert     []byte
		key      []byte
		wantCode string
	}{
		{"garbage certificate", []byte("this is not PEM"), goodKey, CodeNoCertificate},
		{"empty certificate", nil, goodKey, CodeNoCertificate},
		{"key given as certificate", goodKey, goodKey, CodeNoCertificate},
		{"corrupt certificate block", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")}), goodKey, CodeBadCertificate},
		{"key missing", goodCert, nil, CodeNoKey},
		{"certificate given as key", goodCert, goodCert, CodeNoKey},
		{"corrupt key block", goodCert, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("junk")}), CodeBadKey},
		{"encrypted key", goodCert, encryptedKey, CodeBadKey},
		{"key of another certificate", goodCert, pkcs8PEM(t, newECKey(t)), CodeKeyMismatch},
		{"expired", leafWith(func(c *x509.Certificate) { c.NotBefore, c.NotAfter = now.Add(-90*day), now.Add(-day) }), goodKey, CodeExpired},
		{"not yet valid", leafWith(func(c *x509.Certificate) { c.NotBefore, c.NotAfter = now.Add(day), now.Add(90*day) }), goodKey, CodeNotYetValid},
		{"chain in wrong order", certsPEM(pki.leaf, pki.root.cert, pki.intermediate.cert), goodKey, CodeBadChain},
		{"unrelated intermediate", certsPEM(pki.leaf, unrelated.cert), goodKey, CodeBadChain},
		{"client auth only", leafWith(func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth} }), goodKey, CodeWrongUsage},
		{"certificate over 1 MiB", tooLarge, goodKey, CodeTooLarge},
		{"key over 1 MiB", goodCert, tooLarge, CodeTooLarge},
	}

	// Rejections must change nothing, whether the generated or an uploaded
	// certificate is active.
	for _, state := range []string{SourceGenerated, SourceUploaded} {
		t.Run(state, func(t *testing.T) {
			env := newTestEnv(t)
			env.clock = &testClock{now: now}
			m := env.open(t)
			if state == SourceUploaded {
				if _, err := m.Upload(goodCert, goodKey); err != nil {
					t.Fatal(err)
				}
			}
			before := m.Info()
			files := snapshotDir(t, env.dir)

			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					_, err := m.Upload(tc.cert, tc.key)
					var validation *ValidationError
					if !errors.As(err, &validation) {
						t.Fatalf("Upload error = %v (%T), want *ValidationError", err, err)
					}
					if validation.Code != tc.wantCode {
						t.Errorf("Code = %q (%s), want %q", validation.Code, validation.Message, tc.wantCode)
					}
					if validation.Message == "" || validation.Error() != validation.Message {
						t.Errorf("Message = %q, Error() = %q", validation.Message, validation.Error())
					}
					if info := m.Info(); info.SHA256 != before.SHA256 || info.Source != before.Source {
						t.Errorf("active certificate changed to %s (%s)", info.SHA256, info.Source)
					}
					if fingerprint(served(t, m).Leaf.Raw) != before.SHA256 {
						t.Error("GetCertificate serves a different certificate")
					}
					if !sameSnapshot(files, snapshotDir(t, env.dir)) {
						t.Error("files changed")
					}
				})
			}
		})
	}
}

func TestUploadAccepts(t *testing.T) {
	env := newTestEnv(t)
	m := env.open(t)
	generated := m.Info()
	addr := serveTLS(t, m)
	now := env.clock.Now()
	root := newTestCA(t, "Example Root", nil, now)
	intermediate := newTestCA(t, "Example Intermediate", root, now)
	roots := x509.NewCertPool()
	roots.AddCert(root.cert)

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey := newECKey(t)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	noEKU := leafTemplate(now)
	noEKU.ExtKeyUsage = nil

	cases := []struct {
		name     string
		key      crypto.Signer
		keyPEM   []byte
		template *x509.Certificate
	}{
		{"RSA PKCS#1", rsaKey, pkcs1PEM(rsaKey), leafTemplate(now)},
		{"RSA PKCS#8", rsaKey, pkcs8PEM(t, rsaKey), leafTemplate(now)},
		{"EC SEC1", ecKey, sec1PEM(t, ecKey), leafTemplate(now)},
		{"EC PKCS#8", ecKey, pkcs8PEM(t, ecKey), leafTemplate(now)},
		{"Ed25519 PKCS#8", edKey, pkcs8PEM(t, edKey), leafTemplate(now)},
		{"no extended key usage", ecKey, pkcs8PEM(t, ecKey), noEKU},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			leaf := sign(t, tc.template, intermediate, tc.key.Public(), nil)
			info, err := m.Upload(certsPEM(leaf, intermediate.cert), tc.keyPEM)
			if err != nil {
				t.Fatalf("Upload: %v", err)
			}
			want := fingerprint(leaf.Raw)
			if info.Source != SourceUploaded || info.SHA256 != want || m.Info().SHA256 != want {
				t.Errorf("Info = %+v, want uploaded %s", info, want)
			}
			if !slices.Equal(info.DNSNames, []string{"meet.example.com"}) {
				t.Errorf("Info.DNSNames = %v", info.DNSNames)
			}
			cert := served(t, m)
			if fingerprint(cert.Leaf.Raw) != want || len(cert.Certificate) != 2 || !bytes.Equal(cert.Certificate[1], intermediate.cert.Raw) {
				t.Error("GetCertificate does not serve the uploaded chain")
			}
			peer, err := handshake(addr, roots, "meet.example.com")
			if err != nil {
				t.Fatalf("handshake with the uploaded certificate: %v", err)
			}
			if fingerprint(peer.Raw) != want {
				t.Error("handshake presented another certificate")
			}
			assertKeyFileMode(t, filepath.Join(env.dir, customKeyFile))

			reopened := env.open(t)
			if got := reopened.Info(); got.Source != SourceUploaded || got.SHA256 != want {
				t.Errorf("after re-Open Info = %+v", got)
			}
			if len(served(t, reopened).Certificate) != 2 {
				t.Error("re-Open lost the intermediate")
			}
		})
	}

	if err := m.RemoveUploaded(); err != nil {
		t.Fatal(err)
	}
	if got := m.Info(); got.Source != SourceGenerated || got.SHA256 != generated.SHA256 {
		t.Errorf("after RemoveUploaded Info = %+v, want the generated certificate", got)
	}
	if _, err := handshake(addr, caPool(m), "localhost"); err != nil {
		t.Errorf("handshake after RemoveUploaded: %v", err)
	}
	for _, name := range []string{customCertFile, customKeyFile} {
		if _, err := os.Stat(filepath.Join(env.dir, name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s still present: %v", name, err)
		}
	}
	if got := env.open(t).Info(); got.Source != SourceGenerated || got.SHA256 != generated.SHA256 {
		t.Errorf("re-Open after RemoveUploaded: Info = %+v", got)
	}
	if err := m.RemoveUploaded(); err != nil {
		t.Errorf("RemoveUploaded without an upload: %v", err)
	}
}

func TestRefreshKeepsGeneratedFreshUnderUpload(t *testing.T) {
	env := newTestEnv(t)
	m := env.open(t)
	pki := newUploadPKI(t, env.clock.Now())
	uploaded, err := m.Upload(certsPEM(pki.leaf, pki.intermediate.cert), sec1PEM(t, pki.leafKey))
	if err != nil {
		t.Fatal(err)
	}

	env.clock.Advance(340 * day)
	if reissued, err := m.Refresh(); err != nil || !reissued {
		t.Fatalf("Refresh = %v, %v; want true", reissued, err)
	}
	if got := m.Info(); got.Source != SourceUploaded || got.SHA256 != uploaded.SHA256 {
		t.Errorf("Refresh replaced the uploaded certificate: %+v", got)
	}
	if err := m.RemoveUploaded(); err != nil {
		t.Fatal(err)
	}
	if got := m.Info(); got.Source != SourceGenerated || got.ExpiresSoon {
		t.Errorf("generated certificate underneath was not renewed: %+v", got)
	}
}

func TestOpenRefusesCorruptCA(t *testing.T) {
	for _, tc := range []struct {
		name    string
		file    string
		corrupt func(path string) error
	}{
		{"garbage ca.crt", caCertFile, func(path string) error { return os.WriteFile(path, []byte("garbage"), 0o644) }},
		{"truncated ca.crt", caCertFile, func(path string) error {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(path, data[:len(data)/2], 0o644)
		}},
		{"garbage ca.key", caKeyFile, func(path string) error { return os.WriteFile(path, []byte("garbage"), 0o600) }},
		{"missing ca.key", caKeyFile, os.Remove},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv(t)
			env.open(t)
			if err := tc.corrupt(filepath.Join(env.dir, tc.file)); err != nil {
				t.Fatal(err)
			}
			files := snapshotDir(t, env.dir)
			_, err := Open(env.dir, env.options())
			if err == nil {
				t.Fatal("Open succeeded with a corrupt CA")
			}
			if !strings.Contains(err.Error(), tc.file) {
				t.Errorf("error %q does not name %s", err, tc.file)
			}
			if !sameSnapshot(files, snapshotDir(t, env.dir)) {
				t.Error("Open changed files although it failed")
			}
		})
	}
}

func TestOpenReissuesCorruptServerCertificate(t *testing.T) {
	env := newTestEnv(t)
	m := env.open(t)
	oldFingerprint := m.Info().SHA256
	certPath := filepath.Join(env.dir, serverCertFile)
	if err := os.WriteFile(certPath, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	reopened := env.open(t)
	if fingerprint(reopened.CACert().Raw) != fingerprint(m.CACert().Raw) {
		t.Fatal("CA changed")
	}
	info := reopened.Info()
	if info.SHA256 == oldFingerprint {
		t.Error("expected a new certificate")
	}
	if err := verifyFor(served(t, reopened).Leaf, caPool(reopened), "localhost", env.clock.Now()); err != nil {
		t.Errorf("re-issued certificate does not verify: %v", err)
	}
	stored, err := readCertificate(certPath)
	if err != nil || fingerprint(stored.Raw) != info.SHA256 {
		t.Errorf("server.crt not rewritten: %v", err)
	}
}

func TestOpenRefusesCorruptUpload(t *testing.T) {
	env := newTestEnv(t)
	m := env.open(t)
	pki := newUploadPKI(t, env.clock.Now())
	if _, err := m.Upload(certsPEM(pki.leaf), pkcs8PEM(t, pki.leafKey)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(env.dir, customCertFile), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(env.dir, env.options())
	if err == nil || !strings.Contains(err.Error(), customCertFile) {
		t.Fatalf("Open error = %v, want one naming %s", err, customCertFile)
	}
}

func TestOpenRecoversFromInterruptedWrites(t *testing.T) {
	env := newTestEnv(t)
	m := env.open(t)
	// A crash may leave temporary files and, mid-upload, custom.key without
	// custom.crt.
	leftover := filepath.Join(env.dir, ".custom.crt.tmp-123")
	for path, data := range map[string][]byte{
		leftover:                              []byte("half written"),
		filepath.Join(env.dir, customKeyFile): pkcs8PEM(t, newECKey(t)),
	} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	reopened := env.open(t)
	if got := reopened.Info(); got.Source != SourceGenerated || got.SHA256 != m.Info().SHA256 {
		t.Errorf("Info = %+v, want the generated certificate", got)
	}
	if _, err := os.Stat(leftover); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("leftover temporary file not removed: %v", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	env := newTestEnv(t)
	m := env.open(t)
	pki := newUploadPKI(t, env.clock.Now())
	certPEM, keyPEM := certsPEM(pki.leaf, pki.intermediate.cert), pkcs8PEM(t, pki.leafKey)

	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 4 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				cert, err := m.GetCertificate(nil)
				if err != nil || cert.Leaf == nil {
					t.Errorf("GetCertificate = %v, %v", cert, err)
					return
				}
				_ = m.Info()
			}
		})
	}
	for range 5 {
		if err := m.Reissue(); err != nil {
			t.Error(err)
		}
		if _, err := m.Upload(certPEM, keyPEM); err != nil {
			t.Error(err)
		}
		if _, err := m.Refresh(); err != nil {
			t.Error(err)
		}
		if err := m.RemoveUploaded(); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	readers.Wait()
}

func TestDefaultNamesAndAddresses(t *testing.T) {
	names := DefaultNames()
	if !slices.Contains(names, "localhost") {
		t.Errorf("DefaultNames() = %v, want localhost", names)
	}
	for i, name := range names {
		if name != strings.ToLower(name) || slices.Contains(names[i+1:], name) {
			t.Errorf("DefaultNames() = %v: %q not lowercase or repeated", names, name)
		}
	}
	if host, err := os.Hostname(); err == nil {
		label, _, _ := strings.Cut(strings.ToLower(host), ".")
		if !slices.Contains(names, strings.ToLower(host)) || !slices.Contains(names, label+".local") {
			t.Errorf("DefaultNames() = %v, want host name %q and %q", names, host, label+".local")
		}
	}

	addresses := DefaultAddresses()
	for _, want := range []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback} {
		if !slices.ContainsFunc(addresses, want.Equal) {
			t.Errorf("DefaultAddresses() = %v, missing %v", addresses, want)
		}
	}
	if !slices.EqualFunc(addresses, normalizeAddresses(addresses), net.IP.Equal) {
		t.Errorf("DefaultAddresses() = %v, not sorted and deduplicated", addresses)
	}
	for _, ip := range addresses {
		if ip.To4() == nil && ip.IsLinkLocalUnicast() {
			t.Errorf("DefaultAddresses() includes IPv6 link-local %v", ip)
		}
	}
}

func TestNormalizeAddresses(t *testing.T) {
	got := normalizeAddresses([]net.IP{
		net.ParseIP("::1"), net.ParseIP("192.0.2.1"), net.ParseIP("::ffff:10.0.0.1"),
		net.ParseIP("10.0.0.1").To4(), nil, net.ParseIP("192.0.2.1"),
	})
	want := []net.IP{net.ParseIP("10.0.0.1").To4(), net.ParseIP("192.0.2.1").To4(), net.ParseIP("::1")}
	if !slices.EqualFunc(got, want, net.IP.Equal) || len(got[0]) != net.IPv4len {
		t.Errorf("normalizeAddresses = %v, want %v as 4-byte IPv4 first", got, want)
	}
}

func FuzzUpload(f *testing.F) {
	env := newTestEnv(f)
	pki := newUploadPKI(f, env.clock.Now())
	validCert := certsPEM(pki.leaf, pki.intermediate.cert)
	validKey := pkcs8PEM(f, pki.leafKey)
	f.Add(validCert, validKey)
	f.Add(validCert, sec1PEM(f, pki.leafKey))
	f.Add(validCert, pkcs8PEM(f, newECKey(f)))
	f.Add(certsPEM(pki.leaf, pki.root.cert), validKey)
	f.Add([]byte("garbage"), []byte("garbage"))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), []byte("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte{}, []byte{})

	m := env.open(f)
	f.Fuzz(func(t *testing.T, certPEM, keyPEM []byte) {
		before := m.Info().SHA256
		info, err := m.Upload(certPEM, keyPEM)
		if err != nil {
			var validation *ValidationError
			if !errors.As(err, &validation) {
				t.Fatalf("Upload error %v is not a *ValidationError", err)
			}
			if after := m.Info().SHA256; after != before {
				t.Fatalf("failed Upload changed the certificate from %s to %s", before, after)
			}
			return
		}
		if info.Source != SourceUploaded || m.Info().SHA256 != info.SHA256 {
			t.Fatalf("successful Upload not active: %+v", info)
		}
		// Start the next input from the generated certificate again.
		if err := m.RemoveUploaded(); err != nil {
			t.Fatal(err)
		}
	})
}

// The CA's fingerprint reads the same from its PEM, as apps compute it,
// and shows as browsers show it.
func TestFingerprintOfPEM(t *testing.T) {
	m := newTestEnv(t).open(t)
	got, err := PEMFingerprint(m.CACertPEM())
	if err != nil || got != m.CASHA256() {
		t.Errorf("PEMFingerprint = %q, %v; want %q", got, err, m.CASHA256())
	}
	if _, err := PEMFingerprint([]byte("not a certificate")); err == nil {
		t.Error("no error for text that is no PEM")
	}
	if got := ReadableFingerprint("ab01ff"); got != "AB:01:FF" {
		t.Errorf("ReadableFingerprint = %q", got)
	}
}
