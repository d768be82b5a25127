package turnserver

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/pion/turn/v5"
)

var (
	errMalformedUsername = errors.New("username is not <unix expiry>:<user>")
	errExpiredUsername   = errors.New("username has expired")
)

// Credentials returns a short-lived username and password in the TURN REST
// API scheme (draft-uberti-behave-turn-rest): username "<unix expiry>:<user>",
// password base64(HMAC-SHA1(secret, username)). coturn's
// use-auth-secret/static-auth-secret accepts the same credentials, so one
// function serves both.
//
// user names the holder for the per-user allocation quota; it must not be
// empty, or the server refuses the credentials as malformed. The
// credentials stay valid until now+ttl, and clients refresh their
// allocations with them, so ttl must cover a whole call.
func Credentials(secret []byte, user string, ttl time.Duration, now time.Time) (username, password string) {
	username = strconv.FormatInt(now.Add(ttl).Unix(), 10) + ":" + user
	return username, restPassword(secret, username)
}

func restPassword(secret []byte, username string) string {
	mac := hmac.New(sha1.New, secret)
	mac.Write([]byte(username)) // a hash never fails to write
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// parseUsername splits a TURN REST username into its expiry (Unix seconds)
// and user. The user may itself contain colons.
func parseUsername(username string) (expiry int64, user string, err error) {
	digits, user, found := strings.Cut(username, ":")
	if !found || digits == "" || user == "" {
		return 0, "", errMalformedUsername
	}
	// ParseInt alone would take signs.
	for _, c := range []byte(digits) {
		if c < '0' || c > '9' {
			return 0, "", errMalformedUsername
		}
	}
	expiry, err = strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, "", errMalformedUsername
	}
	return expiry, user, nil
}

// longTermKey checks a TURN REST username at time now and returns its user
// and the long-term credential key (RFC 8489 §9.2.2) that a request signed
// with the matching password carries. pion compares the key with the
// request's MESSAGE-INTEGRITY, which is where a wrong password fails.
func longTermKey(secret []byte, realm, username string, now time.Time) (user string, key []byte, err error) {
	expiry, user, err := parseUsername(username)
	if err != nil {
		return "", nil, err
	}
	if expiry < now.Unix() {
		return "", nil, errExpiredUsername
	}
	return user, turn.GenerateAuthKey(username, realm, restPassword(secret, username)), nil
}
