package certs

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
	"time"
)

// maxUploadSize bounds each uploaded PEM input; real chains are a few KiB.
const maxUploadSize = 1 << 20

// Codes of ValidationError.
const (
	CodeNoCertificate  = "no_certificate"
	CodeBadCertificate = "bad_certificate"
	CodeNoKey          = "no_key"
	CodeBadKey         = "bad_key"
	CodeKeyMismatch    = "key_mismatch"
	CodeExpired        = "expired"
	CodeNotYetValid    = "not_yet_valid"
	CodeBadChain       = "bad_chain"
	CodeWrongUsage     = "wrong_usage"
	CodeTooLarge       = "too_large"
)

// ValidationError explains why an uploaded certificate was rejected. Code
// is stable for programs; Message is for the admin.
type ValidationError struct {
	Code    string
	Message string
}

func (e *ValidationError) Error() string {
	return e.Message
}

func invalid(code, format string, args ...any) error {
	return &ValidationError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Upload validates and installs an admin-supplied certificate chain (leaf
// first, then intermediates) and its private key, both PEM. A rejected
// upload returns a *ValidationError and changes nothing. On success the files
// are replaced atomically and the new certificate is served immediately.
func (m *Manager) Upload(certPEM, keyPEM []byte) (Info, error) {
	if len(certPEM) > maxUploadSize {
		return Info{}, invalid(CodeTooLarge, "the certificate file is larger than 1 MiB")
	}
	if len(keyPEM) > maxUploadSize {
		return Info{}, invalid(CodeTooLarge, "the private key file is larger than 1 MiB")
	}
	cert, err := parseKeyPair(certPEM, keyPEM)
	if err != nil {
		return Info{}, err
	}
	if err := checkValidityPeriod(cert.Leaf, m.now()); err != nil {
		return Info{}, err
	}
	// Stored in canonical form: PKCS#8 key, bare CERTIFICATE blocks.
	keyFile, err := encodePrivateKey(cert.PrivateKey)
	if err != nil {
		return Info{}, err
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	// The key goes first: Open treats custom.crt as the marker of an upload.
	if err := writeFiles(m.dir,
		fileContent{name: customKeyFile, data: keyFile, perm: privateFileMode},
		fileContent{name: customCertFile, data: encodeCertificates(cert.Certificate), perm: publicFileMode},
	); err != nil {
		return Info{}, fmt.Errorf("save uploaded certificate: %w", err)
	}
	m.uploaded = cert
	m.activate()
	m.log.Info("installed uploaded certificate", "subject", cert.Leaf.Subject.String(),
		"not_after", cert.Leaf.NotAfter, "sha256", fingerprint(cert.Leaf.Raw))
	return describe(cert.Leaf, SourceUploaded, m.now()), nil
}

// parseKeyPair checks everything about an uploaded certificate and key
// except the validity period, which Open does not enforce on stored files.
func parseKeyPair(certPEM, keyPEM []byte) (*tls.Certificate, error) {
	chain, err := parseCertificateChain(certPEM)
	if err != nil {
		return nil, err
	}
	leaf := chain[0]

	block := findPrivateKeyBlock(keyPEM)
	if block == nil {
		return nil, invalid(CodeNoKey, "the private key file contains no PEM private key block")
	}
	key, err := parsePrivateKey(block)
	if err != nil {
		return nil, invalid(CodeBadKey, "the private key cannot be read: %v", err)
	}
	if !publicKeysEqual(leaf.PublicKey, key.Public()) {
		return nil, invalid(CodeKeyMismatch, "the private key does not belong to the certificate %q", leaf.Subject.String())
	}

	for i := 0; i+1 < len(chain); i++ {
		if err := chain[i].CheckSignatureFrom(chain[i+1]); err != nil {
			return nil, invalid(CodeBadChain, "certificate %d (%q) is not signed by the next certificate %q; put the server certificate first, then each issuer in order: %v",
				i+1, chain[i].Subject.String(), chain[i+1].Subject.String(), err)
		}
	}

	if !allowsServerAuth(leaf) {
		return nil, invalid(CodeWrongUsage, "the certificate %q is not allowed for TLS server authentication", leaf.Subject.String())
	}

	ders := make([][]byte, len(chain))
	for i, cert := range chain {
		ders[i] = cert.Raw
	}
	return &tls.Certificate{Certificate: ders, PrivateKey: key, Leaf: leaf}, nil
}

// parseCertificateChain parses every CERTIFICATE block of certPEM, ignoring
// other blocks (some tools bundle the key or parameters).
func parseCertificateChain(certPEM []byte) ([]*x509.Certificate, error) {
	var chain []*x509.Certificate
	for block, rest := pem.Decode(certPEM); block != nil; block, rest = pem.Decode(rest) {
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, invalid(CodeBadCertificate, "certificate %d cannot be read: %v", len(chain)+1, err)
		}
		chain = append(chain, cert)
	}
	if len(chain) == 0 {
		return nil, invalid(CodeNoCertificate, "the certificate file contains no PEM CERTIFICATE block")
	}
	return chain, nil
}

// allowsServerAuth reports whether leaf may authenticate a TLS server: it
// has the server-auth or any-purpose extended key usage, or none at all.
func allowsServerAuth(leaf *x509.Certificate) bool {
	if len(leaf.ExtKeyUsage) == 0 && len(leaf.UnknownExtKeyUsage) == 0 {
		return true
	}
	return slices.ContainsFunc(leaf.ExtKeyUsage, func(usage x509.ExtKeyUsage) bool {
		return usage == x509.ExtKeyUsageServerAuth || usage == x509.ExtKeyUsageAny
	})
}

func checkValidityPeriod(leaf *x509.Certificate, now time.Time) error {
	if now.After(leaf.NotAfter) {
		return invalid(CodeExpired, "the certificate expired on %s", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if now.Before(leaf.NotBefore) {
		return invalid(CodeNotYetValid, "the certificate is not valid before %s", leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	return nil
}
