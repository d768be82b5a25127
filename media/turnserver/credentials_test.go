package turnserver

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestCredentialsKnownAnswer(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	username, password := Credentials([]byte("north"), "alice", time.Hour, now)
	if username != "1700003600:alice" {
		t.Fatalf("username = %q, want 1700003600:alice", username)
	}
	// coturn's static-auth-secret algorithm, computed here independently.
	mac := hmac.New(sha1.New, []byte("north"))
	mac.Write([]byte("1700003600:alice"))
	if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); password != want {
		t.Fatalf("password = %q, want %q", password, want)
	}
	// echo -n 1700003600:alice | openssl dgst -sha1 -hmac north -binary | base64
	if password != "wjwSXO2ch1B6VaLTLMy2Avn5O9o=" {
		t.Fatalf("password = %q, want the openssl answer", password)
	}
}

func TestLongTermKey(t *testing.T) {
	secret := []byte("0123456789abcdef")
	now := time.Unix(1_700_000_000, 0)
	username, password := Credentials(secret, "bob", time.Minute, now)

	user, key, err := longTermKey(secret, "parley", username, now)
	if err != nil || user != "bob" {
		t.Fatalf("longTermKey(valid) = %q, %v", user, err)
	}
	// RFC 8489 §9.2.2: MD5(username ":" realm ":" password).
	want := md5.Sum([]byte(username + ":parley:" + password))
	if string(key) != string(want[:]) {
		t.Fatalf("key = %x, want %x", key, want)
	}

	// Valid through the second of expiry, refused after.
	if _, _, err := longTermKey(secret, "parley", username, now.Add(time.Minute)); err != nil {
		t.Fatalf("at expiry: %v", err)
	}
	if _, _, err := longTermKey(secret, "parley", username, now.Add(time.Minute+time.Second)); !errors.Is(err, errExpiredUsername) {
		t.Fatalf("after expiry: err = %v, want expired", err)
	}
	expired, _ := Credentials(secret, "bob", -time.Second, now)
	if _, _, err := longTermKey(secret, "parley", expired, now); !errors.Is(err, errExpiredUsername) {
		t.Fatalf("negative ttl: err = %v, want expired", err)
	}

	// The user part may hold colons; the quota counts it whole.
	if user, _, err := longTermKey(secret, "parley", "1800000000:room:7", now); err != nil || user != "room:7" {
		t.Fatalf("user with colon = %q, %v", user, err)
	}

	for _, username := range []string{
		"", "bob", ":bob", "1800000000:", "1800000000", "+1800000000:bob", "-1:bob", " 1800000000:bob",
		"18e8:bob", "0x6b49d200:bob", "99999999999999999999:bob",
	} {
		if _, _, err := longTermKey(secret, "parley", username, now); !errors.Is(err, errMalformedUsername) {
			t.Errorf("longTermKey(%q): err = %v, want malformed", username, err)
		}
	}
}

func FuzzCredentialsCheck(f *testing.F) {
	secret := []byte("0123456789abcdef")
	now := time.Unix(1_700_000_000, 0)
	for _, seed := range []string{"1700003600:alice", "1:a", ":", "", "1700003600:a:b", "-5:x", "9223372036854775807:z", "\x00:\xff"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, username string) {
		user, key, err := longTermKey(secret, "parley", username, now)
		if err != nil {
			if !errors.Is(err, errMalformedUsername) && !errors.Is(err, errExpiredUsername) {
				t.Fatalf("longTermKey(%q): unexpected error %v", username, err)
			}
			return
		}
		digits, rest, _ := strings.Cut(username, ":")
		expiry, parseErr := strconv.ParseInt(digits, 10, 64)
		switch {
		case user == "" || user != rest:
			t.Fatalf("longTermKey(%q) user = %q", username, user)
		case parseErr != nil || expiry < now.Unix():
			t.Fatalf("longTermKey(%q) accepted expiry %q", username, digits)
		case len(key) != md5.Size:
			t.Fatalf("longTermKey(%q) key has %d bytes", username, len(key))
		}
		// What Credentials issues for that user checks out.
		issued, _ := Credentials(secret, user, time.Hour, now)
		if issuedUser, _, err := longTermKey(secret, "parley", issued, now); err != nil || issuedUser != user {
			t.Fatalf("Credentials(%q) = %q, checked as %q, %v", user, issued, issuedUser, err)
		}
	})
}
