// Package certs owns the server's TLS identity: a local certificate
// authority, the server certificate it signs, and an admin-uploaded
// certificate that replaces the generated one while it is present.
//
// Browsers only allow cameras and microphones on secure origins, so the
// server speaks HTTPS from its first start with a certificate signed by a CA
// that users can download and trust.
package certs

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// File names inside the certificate directory.
const (
	caCertFile     = "ca.crt"
	caKeyFile      = "ca.key"
	serverCertFile = "server.crt"
	serverKeyFile  = "server.key"
	customCertFile = "custom.crt"
	customKeyFile  = "custom.key"
)

// Values of Info.Source.
const (
	SourceGenerated = "generated"
	SourceUploaded  = "uploaded"
)

// renewWindow is how close to expiry a certificate counts as expiring soon;
// the generated certificate is re-issued inside this window.
const renewWindow = 30 * 24 * time.Hour

// Options configures a Manager. The zero value is usable.
type Options struct {
	// Names returns the DNS names the generated certificate must cover (the
	// app passes host name, <host>.local, localhost). Nil means DefaultNames().
	Names func() []string
	// Addresses returns the IP addresses to cover (every interface address +
	// loopback). Nil means DefaultAddresses().
	Addresses func() []net.IP
	// Now is the clock (tests). Nil means time.Now.
	Now func() time.Time
	// Organization appears in the CA subject, e.g. "Parley (office-pc)".
	Organization string
	Logger       *slog.Logger // nil = slog.Default()
}

// Info describes a certificate for the admin interface.
type Info struct {
	Source      string    `json:"source"` // SourceGenerated or SourceUploaded
	Subject     string    `json:"subject"`
	Issuer      string    `json:"issuer"`
	DNSNames    []string  `json:"dns_names"`
	IPAddresses []string  `json:"ip_addresses"`
	NotBefore   time.Time `json:"not_before"`
	NotAfter    time.Time `json:"not_after"`
	SHA256      string    `json:"sha256"`       // lowercase hex of SHA-256 over the leaf DER
	ExpiresSoon bool      `json:"expires_soon"` // NotAfter within 30 days
}

// Manager holds the TLS identity stored in one directory.
type Manager struct {
	dir          string
	names        func() []string
	addresses    func() []net.IP
	now          func() time.Time
	organization string
	log          *slog.Logger

	ca    *x509.Certificate
	caKey crypto.Signer
	caPEM []byte

	// mu serialises changes of the identity and guards generated and
	// uploaded; GetCertificate and Info read active without locking so a
	// handshake never waits for a key generation.
	mu        sync.Mutex
	generated *tls.Certificate
	uploaded  *tls.Certificate // nil when no certificate was uploaded
	active    atomic.Pointer[activeCertificate]
}

type activeCertificate struct {
	cert   *tls.Certificate
	source string
}

// Open loads the TLS identity from dir (creating dir with mode 0700 if
// needed), creating the CA and the server certificate on first use.
//
// A corrupt or unreadable CA or uploaded certificate is an error naming the
// file: replacing the CA would break every client that trusts it. A corrupt
// generated server certificate is simply re-issued from the CA.
func Open(dir string, opts Options) (*Manager, error) {
	m := &Manager{
		dir:          dir,
		names:        opts.Names,
		addresses:    opts.Addresses,
		now:          opts.Now,
		organization: opts.Organization,
		log:          opts.Logger,
	}
	if m.names == nil {
		m.names = DefaultNames
	}
	if m.addresses == nil {
		m.addresses = DefaultAddresses
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.log == nil {
		m.log = slog.Default()
	}

	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create certificate directory %s: %w", dir, err)
	}
	removeLeftoverTempFiles(dir, m.log)
	if err := m.loadOrCreateCA(); err != nil {
		return nil, err
	}
	if err := m.loadOrIssueServerCertificate(); err != nil {
		return nil, err
	}
	if err := m.loadUploaded(); err != nil {
		return nil, err
	}
	m.activate()
	return m, nil
}

// GetCertificate returns the active certificate: the uploaded one if
// present, else the generated one. It is meant for tls.Config and is safe
// for concurrent use.
func (m *Manager) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return m.active.Load().cert, nil
}

// CACertPEM returns the local CA certificate in PEM form, for users to
// install as trusted.
func (m *Manager) CACertPEM() []byte {
	return bytes.Clone(m.caPEM)
}

// CASHA256 is the lowercase hex SHA-256 of the local CA certificate, the
// fingerprint a joining app checks the downloaded /ca.crt against.
func (m *Manager) CASHA256() string { return fingerprint(m.ca.Raw) }

// CACert returns the local CA certificate. Callers must not modify it.
func (m *Manager) CACert() *x509.Certificate {
	return m.ca
}

// Info describes the active certificate.
func (m *Manager) Info() Info {
	active := m.active.Load()
	return describe(active.cert.Leaf, active.source, m.now())
}

// Refresh re-issues the generated server certificate when it expires within
// 30 days or does not cover all current Names() and Addresses() (for example
// after the machine got a new address). It reports whether it re-issued. An
// uploaded certificate stays active, but the generated one underneath is
// still kept fresh.
func (m *Manager) Refresh() (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	reason := m.reissueReason()
	if reason == "" {
		return false, nil
	}
	m.log.Info("re-issuing server certificate", "reason", reason)
	if err := m.reissueLocked(); err != nil {
		return false, err
	}
	return true, nil
}

// Reissue forces a new generated server certificate (admin "renew now").
func (m *Manager) Reissue() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.log.Info("re-issuing server certificate", "reason", "requested")
	return m.reissueLocked()
}

// RemoveUploaded deletes the uploaded certificate and returns to the
// generated one. Without an uploaded certificate it does nothing.
func (m *Manager) RemoveUploaded() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	// The certificate goes first: Open treats custom.crt as the marker of
	// an upload, so a crash in between leaves only a harmless custom.key.
	if err := removeFiles(m.dir, customCertFile, customKeyFile); err != nil {
		return fmt.Errorf("remove uploaded certificate: %w", err)
	}
	if m.uploaded != nil {
		m.log.Info("removed uploaded certificate; serving the generated one")
	}
	m.uploaded = nil
	m.activate()
	return nil
}

// reissueLocked issues, stores and activates a new server certificate.
// The caller holds m.mu.
func (m *Manager) reissueLocked() error {
	cert, err := m.issueServerCertificate()
	if err != nil {
		return err
	}
	m.generated = cert
	m.activate()
	return nil
}

// reissueReason explains why the generated certificate needs re-issuing, or
// returns "" when it is fine. The caller holds m.mu.
func (m *Manager) reissueReason() string {
	leaf := m.generated.Leaf
	if leaf.NotAfter.Sub(m.now()) < renewWindow {
		return fmt.Sprintf("expires %s", leaf.NotAfter.Format(time.RFC3339))
	}
	for _, name := range normalizeNames(m.names()) {
		if !slices.Contains(leaf.DNSNames, name) {
			return fmt.Sprintf("name %s not covered", name)
		}
	}
	for _, addr := range normalizeAddresses(m.addresses()) {
		if !slices.ContainsFunc(leaf.IPAddresses, addr.Equal) {
			return fmt.Sprintf("address %s not covered", addr)
		}
	}
	return ""
}

// activate publishes the certificate GetCertificate should serve. The
// caller holds m.mu (or is Open, before the Manager is shared).
func (m *Manager) activate() {
	if m.uploaded != nil {
		m.active.Store(&activeCertificate{cert: m.uploaded, source: SourceUploaded})
		return
	}
	m.active.Store(&activeCertificate{cert: m.generated, source: SourceGenerated})
}

func (m *Manager) path(name string) string {
	return filepath.Join(m.dir, name)
}

// loadOrIssueServerCertificate loads server.crt and server.key, issuing a
// new pair when they are missing or unusable.
func (m *Manager) loadOrIssueServerCertificate() error {
	cert, err := m.loadServerCertificate()
	if err == nil {
		m.generated = cert
		return nil
	}
	// Missing files are the normal first start; anything else is worth a
	// warning, but clients trust the CA, not this certificate, so a new one
	// is safe.
	if !errors.Is(err, fs.ErrNotExist) {
		m.log.Warn("re-issuing unusable server certificate", "err", err)
	}
	cert, err = m.issueServerCertificate()
	if err != nil {
		return err
	}
	m.generated = cert
	return nil
}

func (m *Manager) loadServerCertificate() (*tls.Certificate, error) {
	certPath, keyPath := m.path(serverCertFile), m.path(serverKeyFile)
	leaf, err := readCertificate(certPath)
	if err != nil {
		return nil, err
	}
	key, err := readPrivateKey(keyPath)
	if err != nil {
		return nil, err
	}
	if !publicKeysEqual(leaf.PublicKey, key.Public()) {
		return nil, fmt.Errorf("%s does not match %s", keyPath, certPath)
	}
	if err := leaf.CheckSignatureFrom(m.ca); err != nil {
		return nil, fmt.Errorf("%s is not signed by %s: %w", certPath, m.path(caCertFile), err)
	}
	return m.chainWithCA(leaf, key), nil
}

// chainWithCA builds the served certificate for a generated leaf; sending
// the CA along lets clients that trust it build the chain.
func (m *Manager) chainWithCA(leaf *x509.Certificate, key crypto.Signer) *tls.Certificate {
	return &tls.Certificate{
		Certificate: [][]byte{leaf.Raw, m.ca.Raw},
		PrivateKey:  key,
		Leaf:        leaf,
	}
}

// loadUploaded loads custom.crt and custom.key if an upload is present.
func (m *Manager) loadUploaded() error {
	certPath, keyPath := m.path(customCertFile), m.path(customKeyFile)
	certPEM, err := os.ReadFile(certPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", certPath, err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return fmt.Errorf("read %s: %w (remove %s to return to the generated certificate)", keyPath, err, certPath)
	}
	cert, err := parseKeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("load uploaded certificate %s with key %s: %w (remove both files to return to the generated certificate)", certPath, keyPath, err)
	}
	// An uploaded certificate that expired while the server was off is still
	// what the admin chose; Info reports it so they can replace it.
	if now := m.now(); now.After(cert.Leaf.NotAfter) {
		m.log.Warn("uploaded certificate has expired", "file", certPath, "not_after", cert.Leaf.NotAfter)
	}
	m.uploaded = cert
	return nil
}

// describe summarises leaf for Info.
func describe(leaf *x509.Certificate, source string, now time.Time) Info {
	addresses := make([]string, 0, len(leaf.IPAddresses))
	for _, ip := range leaf.IPAddresses {
		addresses = append(addresses, ip.String())
	}
	return Info{
		Source:      source,
		Subject:     leaf.Subject.String(),
		Issuer:      leaf.Issuer.String(),
		DNSNames:    slices.Clone(leaf.DNSNames),
		IPAddresses: addresses,
		NotBefore:   leaf.NotBefore,
		NotAfter:    leaf.NotAfter,
		SHA256:      fingerprint(leaf.Raw),
		ExpiresSoon: leaf.NotAfter.Sub(now) < renewWindow,
	}
}
