package iceservers

import (
	"errors"
	"strings"
	"testing"

	"github.com/pion/stun/v4"
)

func TestParseURLAccepts(t *testing.T) {
	tests := []struct {
		raw       string
		want      URL
		canonical string
	}{
		{"stun:stun.l.google.com:19302", URL{"stun", "stun.l.google.com", 19302, "udp"}, "stun:stun.l.google.com:19302"},
		{"stun:stunserver", URL{"stun", "stunserver", 3478, "udp"}, "stun:stunserver:3478"},
		{"stun:192.0.2.1", URL{"stun", "192.0.2.1", 3478, "udp"}, "stun:192.0.2.1:3478"},
		{"stun:[::1]", URL{"stun", "::1", 3478, "udp"}, "stun:[::1]:3478"},
		{"stun:[2001:db8::1]:3479", URL{"stun", "2001:db8::1", 3479, "udp"}, "stun:[2001:db8::1]:3479"},
		{"turn:turn.example.org", URL{"turn", "turn.example.org", 3478, "udp"}, "turn:turn.example.org:3478"},
		{"turn:turn.azure.com:3478?transport=udp", URL{"turn", "turn.azure.com", 3478, "udp"}, "turn:turn.azure.com:3478"},
		{"turn:h:80?transport=tcp", URL{"turn", "h", 80, "tcp"}, "turn:h:80?transport=tcp"},
		{"turns:h:443", URL{"turns", "h", 443, "tcp"}, "turns:h:443"},
		{"turns:h", URL{"turns", "h", 5349, "tcp"}, "turns:h:5349"},
		{"turns:h?transport=tcp", URL{"turns", "h", 5349, "tcp"}, "turns:h:5349"},
		{"turn:TURN-1.Example.ORG:65535", URL{"turn", "TURN-1.Example.ORG", 65535, "udp"}, "turn:TURN-1.Example.ORG:65535"},
		{"turn:xn--bcher-kva.example:1", URL{"turn", "xn--bcher-kva.example", 1, "udp"}, "turn:xn--bcher-kva.example:1"},
		{"stun:1a.2b", URL{"stun", "1a.2b", 3478, "udp"}, "stun:1a.2b:3478"},
	}
	for _, test := range tests {
		t.Run(test.raw, func(t *testing.T) {
			got, err := ParseURL(test.raw)
			if err != nil {
				t.Fatalf("ParseURL: %v", err)
			}
			if got != test.want {
				t.Errorf("ParseURL = %#v; want %#v", got, test.want)
			}
			if got.String() != test.canonical {
				t.Errorf("String() = %q; want %q", got.String(), test.canonical)
			}
			if again, err := ParseURL(got.String()); err != nil || again != got {
				t.Errorf("ParseURL(String()) = %#v, %v; want %#v", again, err, got)
			}
			assertPionAgrees(t, test.raw, got)
		})
	}
}

// assertPionAgrees checks that Go peers read an accepted URL the same way.
func assertPionAgrees(t *testing.T, raw string, parsed URL) {
	t.Helper()
	uri, err := stun.ParseURI(raw)
	if err != nil {
		t.Fatalf("pion rejects %q, which ParseURL accepts: %v", raw, err)
	}
	if uri.Scheme.String() != parsed.Scheme || uri.Host != parsed.Host || uri.Port != parsed.Port || uri.Proto.String() != parsed.Transport {
		t.Fatalf("pion reads %q as %v; ParseURL as %#v", raw, uri, parsed)
	}
}

func TestParseURLRejects(t *testing.T) {
	tests := []struct {
		raw     string
		message string
	}{
		{"stun:h?transport=udp", `remove "?transport=udp": a stun: URL takes no "?" part, STUN always uses UDP`},
		{"turn:h?transport=ip", `transport must be udp or tcp, not "ip"`},
		{"turn:h?transport=UDP", "write the transport in lower case: transport=udp"},
		{"turn:h?transport=tls", "browsers reject transport=tls; for TURN over TLS write turns:h"},
		{"turn:h?transport=", "transport needs a value: ?transport=udp or ?transport=tcp"},
		{"turn:h?transport", "transport needs a value: ?transport=udp or ?transport=tcp"},
		{"turn:h?", `remove the empty "?", or write ?transport=udp or ?transport=tcp`},
		{"turn:h?transport=udp&transport=tcp", "transport is given more than once; keep one"},
		{"turn:h?transport=udp&", `remove the empty parameter (a stray "&" or "=")`},
		{"turn:h?Transport=udp", `write "transport" in lower case`},
		{"turns:h?transport=udp", "turns: runs TLS over TCP, so transport=udp cannot be used; write turns:h, or turn:h?transport=udp for plain UDP"},
		{"turn:h?foo=bar", `unknown parameter "foo"; the only one allowed is transport, as in ?transport=udp or ?transport=tcp`},
		{"http://h", "http: is a web address, not a STUN or TURN server; write stun:HOST:PORT or turn:HOST:PORT"},
		{"https://turn.example.org", "https: is a web address, not a STUN or TURN server; write stun:HOST:PORT or turn:HOST:PORT"},
		{"stuns:h", "stuns: (STUN over TLS) is not supported by browsers; write stun:, or turns: for a TURN server over TLS"},
		{"sturn:h", `unknown scheme "sturn:"; use stun:, turn: or turns:`},
		{"TURN:h", `write the scheme in lower case: "turn:"`},
		{"turn://h:3478", `remove the "//" after "turn:"; write "turn:h:3478"`},
		{"stun://stun.example.org", `remove the "//" after "stun:"; write "stun:stun.example.org"`},
		{"turn:", "the host is missing; write turn:HOST or turn:HOST:PORT, e.g. turn:turn.example.org"},
		{"turns:", "the host is missing; write turns:HOST or turns:HOST:PORT, e.g. turns:turn.example.org"},
		{"turn::3478", "the host is missing; write turn:HOST or turn:HOST:PORT, e.g. turn:turn.example.org"},
		{"turn:3478", "the host is missing: 3478 looks like a port; write turn:HOST:3478"},
		{"turn:h:abc", "port must be a number from 1 to 65535"},
		{"turn:h:0", "port must be a number from 1 to 65535"},
		{"turn:h:70000", "port must be a number from 1 to 65535"},
		{"turn:h:-1", "port must be a number from 1 to 65535"},
		{"turn:h:+80", "port must be a number from 1 to 65535"},
		{"turn:h:000080", "port must be a number from 1 to 65535"},
		{"turn:h:", `the port after ":" is empty; write a number from 1 to 65535, or remove the ":"`},
		{"", "the URL is empty; write it like stun:stun.example.org:3478 or turn:turn.example.org:3478"},
		{"stun.l.google.com:19302", `the URL has no scheme; write "stun:stun.l.google.com:19302" for a STUN server, or "turn:stun.l.google.com:19302" for a TURN server`},
		{"localhost:3478", `the URL has no scheme; write "stun:localhost:3478" for a STUN server, or "turn:localhost:3478" for a TURN server`},
		{"turn.example.org", `the URL has no scheme; write "stun:turn.example.org" for a STUN server, or "turn:turn.example.org" for a TURN server`},
		{" stun:h", "remove the spaces at the start or end of the URL"},
		{"stun: h", "remove the space inside the URL"},
		{"stun:h\n", "the URL contains a line break at byte 6; remove it"},
		{"stun:h\u200b", "the URL contains an invisible character (U+200B) at byte 6, often pasted from a web page; remove it"},
		{"turn:user@h", `remove "user@": a username cannot be part of the URL; give it as "username"`},
		{"turn:h:3478/", `remove "/": a STUN or TURN URL has no path`},
		{"turn:h#x", `remove the "#x" at the end`},
		{"stun:2001:db8::1", `put the IPv6 address in brackets: write "stun:[2001:db8::1]", or "stun:[2001:db8::1]:PORT"`},
		{"stun:h:1:2", `too many ":"; write HOST:PORT, with an IPv6 address in brackets, e.g. [2001:db8::1]:3478`},
		{"stun:[::1", `"[" has no closing "]"; write an IPv6 address in brackets, e.g. [2001:db8::1]`},
		{"stun:[::1]x", `unexpected "x" after "]"; write [IPv6 ADDRESS]:PORT`},
		{"stun:[::g]", `"[::g]" is not a valid IPv6 address`},
		{"stun:[192.0.2.1]", "an IPv4 address takes no brackets; write stun:192.0.2.1"},
		{"stun:[fe80::1%eth0]", `remove the zone "%eth0": an IPv6 zone cannot be used in a server address`},
		{"stun:[]", "the host is missing; write stun:HOST or stun:HOST:PORT, e.g. stun:stun.example.org"},
		{"stun:256.1.1.1", `"256.1.1.1" is not a valid IPv4 address`},
		{"stun:1.2.3", `"1.2.3" is not a valid IPv4 address`},
		{"stun:010.0.0.1", `"010.0.0.1" is not a valid IPv4 address`},
		{"stun:a..b", `the host name "a..b" has an empty part: two dots in a row, or a dot at the start or end`},
		{"stun:example.org.", `the host name "example.org." has an empty part: two dots in a row, or a dot at the start or end`},
		{"stun:-a.example.org", `the part "-a" of the host name starts or ends with "-", which is not allowed`},
		{"stun:a_b.example.org", `the host name "a_b.example.org" has the character "_"; only letters, digits, "-" and "." are allowed`},
		{"stun:bücher.example", `the host name "bücher.example" has the character "ü"; write an international name in its ASCII form (xn--...)`},
		{"stun:" + strings.Repeat("a", 64) + ".org", `the part "` + strings.Repeat("a", 64) + `" of the host name is longer than 63 characters`},
		{"stun:" + strings.Repeat("a.", 127) + "org", "the host name is longer than 253 characters"},
	}
	for _, test := range tests {
		t.Run(test.raw, func(t *testing.T) {
			got, err := ParseURL(test.raw)
			var urlErr *URLError
			if !errors.As(err, &urlErr) {
				t.Fatalf("ParseURL = %#v, %v; want a *URLError", got, err)
			}
			if urlErr.Message != test.message {
				t.Errorf("message =\n%s\nwant\n%s", urlErr.Message, test.message)
			}
			if urlErr.URL != shorten(test.raw) {
				t.Errorf("URL = %q; want %q", urlErr.URL, test.raw)
			}
		})
	}
}

// TestValidateNamesEachURL checks the line format that an HTTP API or a
// command line shows.
func TestValidateNamesEachURL(t *testing.T) {
	err := Validate([]Server{
		{URLs: []string{"stun:a.example.org"}},
		{URLs: []string{"turn:h:abc", "turns:h:443"}, Username: "u", Credential: "p"},
	})
	want := `server 2, "turn:h:abc": port must be a number from 1 to 65535`
	if err == nil || err.Error() != want {
		t.Errorf("Validate = %v; want %s", err, want)
	}
}
