package sip

import (
	"strings"

	"github.com/parleyhq/parley/server/protocol"
)

// dialString is what the caller dialled: sip:<CID>@server,
// sip:00<CID>@server (the prefix of the product Parley replaces) or
// either with ",<PIN>" after the CID. Either part may be missing.
type dialString struct {
	// candidates are the conference IDs the user part can mean, best
	// first: "00123" is conference 00123 if there is one, else 123.
	candidates []string
	pin        string
}

// parseDialString reads the user part of the request URI.
func parseDialString(user string) dialString {
	user = strings.TrimSpace(user)
	target, pin, _ := strings.Cut(user, ",")
	var d dialString
	if protocol.ValidPIN(pin) {
		d.pin = pin
	}
	if protocol.ValidCID(target) {
		d.candidates = append(d.candidates, target)
	}
	if rest, ok := strings.CutPrefix(target, "00"); ok && protocol.ValidCID(rest) {
		d.candidates = append(d.candidates, rest)
	}
	return d
}
