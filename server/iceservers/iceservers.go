// Package iceservers owns the STUN and TURN servers an administrator
// configures for every client, browsers and Go peers alike: reading the list
// in the forms administrators paste, validating it strictly, and probing
// each server to tell whether it answers.
//
// Validation is strict on purpose. A browser handed a list with one bad URL
// rejects the whole configuration, and a server that silently drops what it
// cannot read leaves calls failing behind NATs with nobody knowing why; so
// every problem is reported, in words that say what to write instead.
//
// The package belongs to the control plane and never touches media.
package iceservers

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pion/webrtc/v4"
)

// Limits that keep a hostile or mistaken list from using up memory or time.
const (
	MaxServers       = 32       // entries in one list
	MaxURLsPerServer = 16       // URLs in one entry
	MaxStringLength  = 512      // bytes in a URL, username or credential
	MaxTextLength    = 64 << 10 // bytes of text Parse reads
)

// Server is one entry of the list handed to clients, as in the WebRTC
// RTCIceServer dictionary.
type Server struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// WebRTC converts a validated list to the form pion/webrtc takes, for Go
// peers.
func WebRTC(servers []Server) []webrtc.ICEServer {
	converted := make([]webrtc.ICEServer, 0, len(servers))
	for _, server := range servers {
		entry := webrtc.ICEServer{URLs: append([]string(nil), server.URLs...), Username: server.Username}
		// A nil credential stays out of the JSON that pion writes for
		// browsers, as a STUN entry has none.
		if server.Credential != "" {
			entry.Credential = server.Credential
			entry.CredentialType = webrtc.ICECredentialTypePassword
		}
		converted = append(converted, entry)
	}
	return converted
}

// EntryError is one problem with one entry of a list.
type EntryError struct {
	Entry   int    `json:"entry"`           // index of the entry in the list, from 0
	URL     string `json:"url,omitempty"`   // the offending URL, shortened if very long
	Field   string `json:"field,omitempty"` // "urls", "username", "credential", or "" for the whole entry
	Message string `json:"message"`
}

// Error numbers the entries from 1, as people count them.
func (e EntryError) Error() string {
	switch {
	case e.URL != "":
		return fmt.Sprintf("server %d, %q: %s", e.Entry+1, e.URL, e.Message)
	case e.Field != "":
		return fmt.Sprintf("server %d, %s: %s", e.Entry+1, e.Field, e.Message)
	default:
		return fmt.Sprintf("server %d: %s", e.Entry+1, e.Message)
	}
}

// ListError holds every problem found in a list, in list order.
type ListError struct {
	Errors []EntryError `json:"errors"`
}

// Error gives one line per problem.
func (e *ListError) Error() string {
	lines := make([]string, len(e.Errors))
	for i, entryErr := range e.Errors {
		lines[i] = entryErr.Error()
	}
	return strings.Join(lines, "\n")
}

func (e *ListError) add(entry int, url, field, format string, args ...any) {
	e.Errors = append(e.Errors, EntryError{Entry: entry, URL: shorten(url), Field: field, Message: fmt.Sprintf(format, args...)})
}

// Validate checks every entry and every URL and returns a *ListError with all
// the problems found, or nil.
func Validate(servers []Server) error {
	var problems ListError
	for i, server := range servers[:min(len(servers), MaxServers)] {
		validateServer(&problems, i, server)
	}
	if len(servers) > MaxServers {
		problems.add(MaxServers, "", "", "too many servers: %d; at most %d are allowed", len(servers), MaxServers)
	}
	if len(problems.Errors) == 0 {
		return nil
	}
	return &problems
}

func validateServer(problems *ListError, entry int, server Server) {
	if len(server.URLs) == 0 {
		problems.add(entry, "", "urls", `no URLs; give at least one, e.g. "urls": "stun:stun.example.org:3478"`)
	}
	needsCredentials := false
	for _, raw := range server.URLs[:min(len(server.URLs), MaxURLsPerServer)] {
		// A TURN URL with a typing error still needs credentials: say so now
		// rather than after the URL is fixed.
		if strings.HasPrefix(raw, "turn:") || strings.HasPrefix(raw, "turns:") {
			needsCredentials = true
		}
		if _, err := ParseURL(raw); err != nil {
			problems.add(entry, raw, "urls", "%s", err.(*URLError).Message)
		}
	}
	if len(server.URLs) > MaxURLsPerServer {
		problems.add(entry, "", "urls", "too many URLs: %d; at most %d are allowed in one server", len(server.URLs), MaxURLsPerServer)
	}
	if message := checkText(server.Username); message != "" {
		problems.add(entry, "", "username", "the username %s", message)
	}
	if message := checkText(server.Credential); message != "" {
		problems.add(entry, "", "credential", "the credential %s", message)
	}
	if needsCredentials && server.Username == "" {
		problems.add(entry, "", "username", "a TURN server needs a username (login)")
	}
	if needsCredentials && server.Credential == "" {
		problems.add(entry, "", "credential", "a TURN server needs a credential (password)")
	}
}

// checkText returns what is wrong with a URL, username or credential, or "".
// The words fit after "the URL", "the username" and so on.
func checkText(text string) string {
	if len(text) > MaxStringLength {
		return fmt.Sprintf("is longer than %d characters", MaxStringLength)
	}
	if !utf8.ValidString(text) {
		return "is not valid UTF-8 text"
	}
	for i, r := range text {
		switch {
		case r == '\t':
			return fmt.Sprintf("contains a tab at byte %d; remove it", i)
		case r == '\n' || r == '\r':
			return fmt.Sprintf("contains a line break at byte %d; remove it", i)
		case unicode.IsControl(r):
			return fmt.Sprintf("contains the control character %U at byte %d; remove it", r, i)
		case isInvisible(r):
			return fmt.Sprintf("contains an invisible character (%U) at byte %d, often pasted from a web page; remove it", r, i)
		}
	}
	return ""
}

// shorten keeps error lists small when the offending text is huge.
func shorten(text string) string {
	const limit = 80
	if len(text) <= limit {
		return text
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut] + "…"
}

// isInvisible reports characters that show as nothing or as a plain space
// and so hide in a pasted value.
func isInvisible(r rune) bool {
	return unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) || (unicode.Is(unicode.Zs, r) && r != ' ')
}
