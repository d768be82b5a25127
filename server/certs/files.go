package certs

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

const (
	privateFileMode fs.FileMode = 0o600
	publicFileMode  fs.FileMode = 0o644
	// tempPattern names the temporary files of writeFiles; leftovers from a
	// crash are removed by Open.
	tempPattern = ".*.tmp-*"
)

// fileContent is one file for writeFiles.
type fileContent struct {
	name string
	data []byte
	perm fs.FileMode
}

// writeFiles replaces the named files in dir. Every file is first written
// and synced to a temporary file in dir, then renamed over its target in the
// given order, so a crash leaves each file either entirely old or entirely
// new, never half written.
func writeFiles(dir string, files ...fileContent) error {
	temps := make([]string, len(files))
	defer func() {
		for _, temp := range temps {
			if temp != "" {
				os.Remove(temp)
			}
		}
	}()
	for i, file := range files {
		temp, err := writeTempFile(dir, file)
		if err != nil {
			return err
		}
		temps[i] = temp
	}
	for i, file := range files {
		target := filepath.Join(dir, file.name)
		if err := os.Rename(temps[i], target); err != nil {
			return fmt.Errorf("replace %s: %w", target, err)
		}
		temps[i] = ""
	}
	return syncDir(dir)
}

func writeTempFile(dir string, file fileContent) (string, error) {
	f, err := os.CreateTemp(dir, "."+file.name+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("create temporary file for %s: %w", file.name, err)
	}
	temp := f.Name()
	err = f.Chmod(file.perm)
	if err == nil {
		_, err = f.Write(file.data)
	}
	if err == nil {
		err = f.Sync()
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		os.Remove(temp)
		return "", fmt.Errorf("write %s: %w", temp, err)
	}
	return temp, nil
}

// removeFiles deletes the named files in dir in order; missing files are
// fine.
func removeFiles(dir string, names ...string) error {
	for _, name := range names {
		path := filepath.Join(dir, name)
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", path, err)
		}
	}
	return syncDir(dir)
}

// syncDir makes renames and removals in dir durable. Windows cannot sync a
// directory handle and commits renames with the file system metadata.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// removeLeftoverTempFiles deletes temporary files a crash left behind.
func removeLeftoverTempFiles(dir string, log *slog.Logger) {
	leftovers, err := filepath.Glob(filepath.Join(dir, tempPattern))
	if err != nil {
		return // only a malformed pattern fails, and tempPattern is fixed
	}
	for _, path := range leftovers {
		if err := os.Remove(path); err != nil {
			log.Warn("cannot remove leftover temporary file", "file", path, "err", err)
		}
	}
}

// readCertificate reads the first certificate of a PEM file.
func readCertificate(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	cert, err := parseSingleCertificate(data)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return cert, nil
}

// parseSingleCertificate parses the first CERTIFICATE block of PEM data.
func parseSingleCertificate(data []byte) (*x509.Certificate, error) {
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		if block.Type == "CERTIFICATE" {
			return x509.ParseCertificate(block.Bytes)
		}
	}
	return nil, errors.New("no PEM CERTIFICATE block")
}

// readPrivateKey reads the first private key of a PEM file.
func readPrivateKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	block := findPrivateKeyBlock(data)
	if block == nil {
		return nil, fmt.Errorf("parse %s: no PEM private key block", path)
	}
	key, err := parsePrivateKey(block)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return key, nil
}

// findPrivateKeyBlock returns the first PEM block holding a private key
// ("PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", ...), skipping others
// such as "EC PARAMETERS", or nil.
func findPrivateKeyBlock(data []byte) *pem.Block {
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		if strings.HasSuffix(block.Type, "PRIVATE KEY") {
			return block
		}
	}
	return nil
}

// parsePrivateKey parses a PKCS#8, PKCS#1 (RSA) or SEC1 (EC) key. All
// three forms are tried whatever the block type says, because PEM labels
// written by hand or by other tools are often wrong.
func parsePrivateKey(block *pem.Block) (crypto.Signer, error) {
	if block.Type == "ENCRYPTED PRIVATE KEY" || block.Headers["Proc-Type"] != "" {
		return nil, errors.New("the private key is encrypted; supply it without a passphrase")
	}
	var key any
	var err error
	if key, err = x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
		if key, err = x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
			if key, err = x509.ParseECPrivateKey(block.Bytes); err != nil {
				return nil, errors.New("the private key is not valid PKCS#8, PKCS#1 or SEC1 DER")
			}
		}
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported private key type %T; use RSA, ECDSA or Ed25519", key)
	}
	return signer, nil
}

// publicKeysEqual reports whether a certificate's public key belongs to a
// private key.
func publicKeysEqual(certKey, privateKeyPublic crypto.PublicKey) bool {
	withEqual, ok := certKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && withEqual.Equal(privateKeyPublic)
}

func encodePrivateKey(key any) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func encodeCertificates(ders [][]byte) []byte {
	var out []byte
	for _, der := range ders {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	return out
}

// fingerprint is the lowercase hex SHA-256 of a certificate's DER.
func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// PEMFingerprint is the lowercase hex SHA-256 of the first certificate in
// certPEM: what /api/v1/certificate reports and the LAN announcement
// carries.
func PEMFingerprint(certPEM []byte) (string, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return "", errors.New("not a PEM certificate")
	}
	return fingerprint(block.Bytes), nil
}

// ReadableFingerprint writes a hex fingerprint as colon-separated
// upper-case pairs, the way browsers and the desktop app show it to be
// compared by eye.
func ReadableFingerprint(hexFingerprint string) string {
	hexFingerprint = strings.ToUpper(hexFingerprint)
	pairs := make([]string, 0, len(hexFingerprint)/2)
	for i := 0; i+1 < len(hexFingerprint); i += 2 {
		pairs = append(pairs, hexFingerprint[i:i+2])
	}
	return strings.Join(pairs, ":")
}
