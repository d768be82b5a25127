package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"time"
)

const (
	caCommonName   = "Parley local CA"
	caValidYears   = 10
	serverValidity = 365 * 24 * time.Hour
	// clockSkew backdates NotBefore so clients whose clocks run a little
	// behind accept a certificate issued moments ago.
	clockSkew = time.Hour
	// fallbackCommonName is used only when Names() returns nothing.
	fallbackCommonName = "Parley server"
)

// loadOrCreateCA loads ca.crt and ca.key, creating them on first use.
func (m *Manager) loadOrCreateCA() error {
	certPath, keyPath := m.path(caCertFile), m.path(caKeyFile)
	certPEM, err := os.ReadFile(certPath)
	if errors.Is(err, fs.ErrNotExist) {
		// Without ca.crt no client can trust this CA yet, so creating one is
		// safe; a lone ca.key is left over from an interrupted first start.
		return m.createCA()
	}
	if err != nil {
		return caError(fmt.Errorf("read %s: %w", certPath, err))
	}
	ca, err := parseSingleCertificate(certPEM)
	if err != nil {
		return caError(fmt.Errorf("parse %s: %w", certPath, err))
	}
	if !ca.IsCA {
		return caError(fmt.Errorf("parse %s: certificate is not a CA", certPath))
	}
	key, err := readPrivateKey(keyPath)
	if err != nil {
		return caError(err)
	}
	if !publicKeysEqual(ca.PublicKey, key.Public()) {
		return caError(fmt.Errorf("%s does not match %s", keyPath, certPath))
	}
	m.ca, m.caKey, m.caPEM = ca, key, certPEM
	return nil
}

// caError explains why Open refuses to fix a broken CA by itself.
func caError(err error) error {
	return fmt.Errorf("local CA: %w (not creating a new CA because clients may trust the existing one; restore the files, or move them aside to create a new CA that clients must trust again)", err)
}

func (m *Manager) createCA() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate CA key: %w", err)
	}
	serial, err := newSerialNumber()
	if err != nil {
		return err
	}
	now := m.now()
	template := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: caCommonName, Organization: organizationList(m.organization)},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.AddDate(caValidYears, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, key.Public(), key)
	if err != nil {
		return fmt.Errorf("create CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("parse new CA certificate: %w", err)
	}
	keyPEM, err := encodePrivateKey(key)
	if err != nil {
		return err
	}
	certPEM := encodeCertificates([][]byte{der})
	// The key goes first so ca.crt only ever appears next to its key.
	if err := writeFiles(m.dir,
		fileContent{name: caKeyFile, data: keyPEM, perm: privateFileMode},
		fileContent{name: caCertFile, data: certPEM, perm: publicFileMode},
	); err != nil {
		return fmt.Errorf("save local CA: %w", err)
	}
	m.ca, m.caKey, m.caPEM = ca, key, certPEM
	m.log.Info("created local CA", "dir", m.dir, "sha256", fingerprint(der))
	return nil
}

// issueServerCertificate signs a new server certificate for the current
// names and addresses and stores it as server.crt and server.key.
func (m *Manager) issueServerCertificate() (*tls.Certificate, error) {
	names := normalizeNames(m.names())
	addresses := normalizeAddresses(m.addresses())
	commonName := fallbackCommonName
	if len(names) > 0 {
		commonName = names[0]
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate server key: %w", err)
	}
	serial, err := newSerialNumber()
	if err != nil {
		return nil, err
	}
	now := m.now()
	template := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		DNSNames:              names,
		IPAddresses:           addresses,
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(serverValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, m.ca, key.Public(), m.caKey)
	if err != nil {
		return nil, fmt.Errorf("create server certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse new server certificate: %w", err)
	}
	keyPEM, err := encodePrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := writeFiles(m.dir,
		fileContent{name: serverKeyFile, data: keyPEM, perm: privateFileMode},
		fileContent{name: serverCertFile, data: encodeCertificates([][]byte{der}), perm: publicFileMode},
	); err != nil {
		return nil, fmt.Errorf("save server certificate: %w", err)
	}
	m.log.Info("issued server certificate", "names", names, "addresses", addresses, "not_after", leaf.NotAfter)
	return m.chainWithCA(leaf, key), nil
}

// newSerialNumber returns a random 128-bit serial number.
func newSerialNumber() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("generate serial number: %w", err)
	}
	return serial, nil
}

func organizationList(organization string) []string {
	if organization == "" {
		return nil
	}
	return []string{organization}
}
