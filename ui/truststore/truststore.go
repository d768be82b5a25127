// Package truststore remembers, per server, the certificate authority the
// user agreed to trust the first time they connected (trust on first use),
// so that later connections verify against it and a changed authority is
// noticed. It is a JSON file in the user's config folder
// (os.UserConfigDir()/Parley/servers.json).
package truststore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley/server/certs"
)

// Server is a remembered server.
type Server struct {
	Address     string    `json:"address"` // host:port, as typed
	Name        string    `json:"name,omitempty"`
	CAPEM       string    `json:"ca_pem"`
	Fingerprint string    `json:"sha256"`
	TrustedAt   time.Time `json:"trusted_at"`
}

// Verdict is what a store says about a server's CA.
type Verdict int

const (
	// Unknown: the server was never trusted; ask the user.
	Unknown Verdict = iota
	// Same: the CA is the one the user trusted.
	Same
	// Changed: the server shows another CA than the one trusted. This is
	// what an attacker in the middle looks like, or a reinstalled server.
	Changed
)

// Store is the file of trusted servers.
type Store struct {
	path string
	mu   sync.Mutex
}

// Open returns the store kept in path (created on the first Remember).
func Open(path string) *Store { return &Store{path: path} }

// DefaultPath is servers.json in the user's config folder for Parley.
func DefaultPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find the config folder: %w", err)
	}
	return filepath.Join(dir, "Parley", "servers.json"), nil
}

// Lookup returns the remembered server at address.
func (s *Store) Lookup(address string) (Server, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	servers, err := s.load()
	if err != nil {
		return Server{}, false, err
	}
	server, ok := servers[key(address)]
	return server, ok, nil
}

// Check compares a CA a server shows now with the remembered one.
func (s *Store) Check(address string, caPEM []byte) (Verdict, Server, error) {
	known, ok, err := s.Lookup(address)
	if err != nil || !ok {
		return Unknown, Server{}, err
	}
	fingerprint, err := Fingerprint(caPEM)
	if err != nil {
		return Unknown, known, err
	}
	if fingerprint == known.Fingerprint {
		return Same, known, nil
	}
	return Changed, known, nil
}

// Remember trusts caPEM for address from now on, replacing what was there.
func (s *Store) Remember(address, name string, caPEM []byte) error {
	fingerprint, err := Fingerprint(caPEM)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	servers, err := s.load()
	if err != nil {
		return err
	}
	servers[key(address)] = Server{Address: address, Name: name, CAPEM: string(caPEM), Fingerprint: fingerprint, TrustedAt: time.Now().UTC()}
	return s.save(servers)
}

func key(address string) string { return strings.ToLower(strings.TrimSpace(address)) }

func (s *Store) load() (map[string]Server, error) {
	data, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]Server{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read trusted servers: %w", err)
	}
	var file struct {
		Servers []Server `json:"servers"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		return nil, fmt.Errorf("read trusted servers %s: %w", s.path, err)
	}
	servers := make(map[string]Server, len(file.Servers))
	for _, server := range file.Servers {
		servers[key(server.Address)] = server
	}
	return servers, nil
}

// save writes the whole file anew through a temporary file, so that a
// crash never leaves half a file.
func (s *Store) save(servers map[string]Server) error {
	var file struct {
		Servers []Server `json:"servers"`
	}
	for _, server := range servers {
		file.Servers = append(file.Servers, server)
	}
	data, err := json.MarshalIndent(file, "", "  ")
	if err != nil {
		return fmt.Errorf("encode trusted servers: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("save trusted servers: %w", err)
	}
	temp := s.path + ".tmp"
	if err := os.WriteFile(temp, data, 0o600); err != nil {
		return fmt.Errorf("save trusted servers: %w", err)
	}
	if err := os.Rename(temp, s.path); err != nil {
		return fmt.Errorf("save trusted servers: %w", err)
	}
	return nil
}

// Fingerprint is the SHA-256 of a PEM certificate's DER bytes, as
// colon-separated upper-case hex pairs (the way browsers show it).
func Fingerprint(certPEM []byte) (string, error) {
	sum, err := certs.PEMFingerprint(certPEM)
	if err != nil {
		return "", err
	}
	return certs.ReadableFingerprint(sum), nil
}
