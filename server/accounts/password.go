package accounts

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// HashParams are the argon2id costs. They are measured on the host at first
// start and stored, and every hash records its own, so a later change of
// costs keeps old passwords verifiable.
type HashParams struct {
	MemoryKiB uint32 `json:"memory_kib"`
	Time      uint32 `json:"time"`
	Threads   uint8  `json:"threads"`
}

// Memory follows OWASP's argon2id minimum (19 MiB, one lane); the number of
// passes is what MeasureHashParams tunes.
const (
	defaultMemoryKiB = 19 * 1024
	minPasses        = 2
	maxPasses        = 20
	saltBytes        = 16
	keyBytes         = 32
)

// MeasureHashParams picks the number of passes that makes one hash take
// about target on this machine.
func MeasureHashParams(target time.Duration) HashParams {
	params := HashParams{MemoryKiB: defaultMemoryKiB, Time: 1, Threads: 1}
	start := time.Now()
	argon2.IDKey([]byte("measure"), make([]byte, saltBytes), params.Time, params.MemoryKiB, params.Threads, keyBytes)
	onePass := max(time.Since(start), time.Millisecond)
	passes := uint32(target / onePass)
	params.Time = min(max(passes, minPasses), maxPasses)
	return params
}

// Hasher hashes and verifies passwords, at most one per CPU at a time so a
// burst of sign-ins cannot exhaust memory.
type Hasher struct {
	params HashParams
	slots  chan struct{}
}

// NewHasher returns a hasher that creates hashes with params.
func NewHasher(params HashParams) *Hasher {
	return &Hasher{params: params, slots: make(chan struct{}, runtime.NumCPU())}
}

// Hash returns the PHC string of password:
// $argon2id$v=19$m=19456,t=3,p=1$<salt>$<key>.
func (h *Hasher) Hash(password string) (string, error) {
	salt := make([]byte, saltBytes)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := h.derive(password, salt, h.params)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		h.params.MemoryKiB, h.params.Time, h.params.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// Verify reports whether password matches encoded. An empty encoded hash
// (an account without password) matches nothing.
func (h *Hasher) Verify(encoded, password string) (bool, error) {
	if encoded == "" {
		// Spend the same time as a real check so that the answer does not
		// tell which accounts have no password.
		h.derive(password, make([]byte, saltBytes), h.params)
		return false, nil
	}
	params, salt, key, err := parseHash(encoded)
	if err != nil {
		return false, err
	}
	got := h.derive(password, salt, params)
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// Waste spends the time of one verification; sign-in calls it for unknown
// logins so that timing does not reveal which logins exist.
func (h *Hasher) Waste(password string) {
	h.derive(password, make([]byte, saltBytes), h.params)
}

func (h *Hasher) derive(password string, salt []byte, params HashParams) []byte {
	h.slots <- struct{}{}
	defer func() { <-h.slots }()
	return argon2.IDKey([]byte(password), salt, params.Time, params.MemoryKiB, params.Threads, keyBytes)
}

var errBadHash = errors.New("stored password hash is malformed")

// parseHash reads a PHC string, bounding its costs so that a damaged row
// cannot make verification take minutes or gigabytes.
func parseHash(encoded string) (HashParams, []byte, []byte, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return HashParams{}, nil, nil, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return HashParams{}, nil, nil, errBadHash
	}
	var params HashParams
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &params.MemoryKiB, &params.Time, &params.Threads); err != nil {
		return HashParams{}, nil, nil, errBadHash
	}
	if params.MemoryKiB < 8 || params.MemoryKiB > 1<<20 || params.Time < 1 || params.Time > 100 || params.Threads < 1 {
		return HashParams{}, nil, nil, errBadHash
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return HashParams{}, nil, nil, errBadHash
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) != keyBytes {
		return HashParams{}, nil, nil, errBadHash
	}
	return params, salt, key, nil
}
