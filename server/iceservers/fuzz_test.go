package iceservers

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/pion/stun/v4"
)

// FuzzParse checks that Parse never panics, that it fails only with its two
// error types, and that a list it returns passes Validate, round-trips
// through encoding/json, and reads the same in pion.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"",
		"[]",
		referenceExample,
		"[" + referenceExample + ",]",
		azureExample,
		`[{"urls": "stun:stun.l.google.com:19302"}, {"urls": ["turn:turn.example.org:3478?transport=tcp", "turns:[2001:db8::1]:443"], "username": "user87", "credential": "Secret_87"}]`,
		`{"url": "stun:global.stun.twilio.com:3478", "urls": "stun:global.stun.twilio.com:3478"}`,
		`{urls: 'turn:h', username: 'o\'brien', credential: "\ud83d\ude00\u00e9\n"}`,
		"{ 'url': 'stun:stunserver },",
		"{urls: 'turn:h:abc', username: 'u', credential: 'p'}",
		"{urls: ['stun:h?transport=udp', 'turns:h?transport=udp', 'http://h', 'turn://h']}",
		"hello world",
		"{\"urls\": \"stun:a\", \"credentialType\": \"password\"}",
		"\uFEFF{\u00a0urls: 'stun:a'}",
		`{"urls": "stun:a", "username": "\ud800"}`,
	}
	for _, seed := range seeds {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		servers, err := Parse(text)
		if err != nil {
			var syntaxErr *SyntaxError
			var listErr *ListError
			if !errors.As(err, &syntaxErr) && !errors.As(err, &listErr) {
				t.Fatalf("Parse(%q) failed with %T: %v", text, err, err)
			}
			if servers != nil {
				t.Fatalf("Parse(%q) returned both a list and an error", text)
			}
			return
		}
		if err := Validate(servers); err != nil {
			t.Fatalf("Parse(%q) returned a list that Validate rejects: %v", text, err)
		}
		encoded, err := json.Marshal(servers)
		if err != nil {
			t.Fatalf("json.Marshal: %v", err)
		}
		var decoded []Server
		if err := json.Unmarshal(encoded, &decoded); err != nil {
			t.Fatalf("json.Unmarshal(%s): %v", encoded, err)
		}
		if !reflect.DeepEqual(decoded, servers) {
			t.Fatalf("JSON round trip changed the list:\n%#v\n%#v", servers, decoded)
		}
		// The JSON form must read back through Parse too.
		if again, err := Parse(string(encoded)); err != nil || !reflect.DeepEqual(again, servers) {
			t.Fatalf("Parse(%s) = %#v, %v; want %#v", encoded, again, err, servers)
		}
		for _, server := range servers {
			for _, raw := range server.URLs {
				parsed, err := ParseURL(raw)
				if err != nil {
					t.Fatalf("ParseURL(%q): %v", raw, err)
				}
				uri, err := stun.ParseURI(raw)
				if err != nil || uri.Host != parsed.Host || uri.Port != parsed.Port || uri.Proto.String() != parsed.Transport {
					t.Fatalf("pion reads %q as %v, %v; ParseURL as %#v", raw, uri, err, parsed)
				}
			}
		}
	})
}

// FuzzURL checks that every URL ParseURL accepts reads the same in
// pion, and that its canonical form parses back to the same URL.
func FuzzURL(f *testing.F) {
	for _, seed := range []string{
		"stun:stun.l.google.com:19302", "turn:h:3478?transport=tcp", "turns:[2001:db8::1]:443?transport=tcp",
		"turn:h:abc", "turn://h", "stun:h?transport=udp", "turns:h?transport=udp", "stun:1.2.3.4", "turn:user@h",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		parsed, err := ParseURL(raw)
		if err != nil {
			if _, ok := err.(*URLError); !ok {
				t.Fatalf("ParseURL(%q) failed with %T: %v", raw, err, err)
			}
			return
		}
		if again, err := ParseURL(parsed.String()); err != nil || again != parsed {
			t.Fatalf("ParseURL(%q) = %#v, %v; want %#v", parsed.String(), again, err, parsed)
		}
		uri, err := stun.ParseURI(raw)
		if err != nil || uri.Scheme.String() != parsed.Scheme || uri.Host != parsed.Host || uri.Port != parsed.Port || uri.Proto.String() != parsed.Transport {
			t.Fatalf("pion reads %q as %v, %v; ParseURL as %#v", raw, uri, err, parsed)
		}
	})
}
