package iceservers

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"
)

// referenceExample is the loose form of the reference product's documentation.
const referenceExample = `{ 'url': 'stun:stunserver' }, { 'url': 'turn:turnserver', 'username': 'user87', 'credential': 'Secret_87' }`

const azureExample = `{urls: ['turn:turn.azure.com:3478?transport=udp', 'turn:turn1.azure.com:3478?transport=udp'], username: 'u', credential: 'p'}`

func TestParseAccepts(t *testing.T) {
	referenceList := []Server{
		{URLs: []string{"stun:stunserver"}},
		{URLs: []string{"turn:turnserver"}, Username: "user87", Credential: "Secret_87"},
	}
	azureList := []Server{{
		URLs:     []string{"turn:turn.azure.com:3478?transport=udp", "turn:turn1.azure.com:3478?transport=udp"},
		Username: "u", Credential: "p",
	}}
	tests := []struct {
		name string
		text string
		want []Server
	}{
		{"empty", "", []Server{}},
		{"blank", " \n\t\r\n ", []Server{}},
		{"empty array", "[]", []Server{}},
		{"empty array with spaces", " [ \n ] ", []Server{}},
		{"reference example", referenceExample, referenceList},
		{"reference example in brackets", "[" + referenceExample + "]", referenceList},
		{"reference example with trailing comma", referenceExample + ",", referenceList},
		{"reference example multi-line", "\n  { 'url': 'stun:stunserver' },\n  {\n    'url': 'turn:turnserver',\n    'username': 'user87',\n    'credential': 'Secret_87',\n  },\n", referenceList},
		{"reference example pasted with CRLF", strings.ReplaceAll("{ 'url': 'stun:stunserver' },\n{ 'url': 'turn:turnserver', 'username': 'user87', 'credential': 'Secret_87' }\n", "\n", "\r\n"), referenceList},
		{"reference example with non-breaking spaces and BOM", "\uFEFF{\u00a0'url': 'stun:stunserver' },\u00a0{ 'url': 'turn:turnserver', 'username': 'user87', 'credential': 'Secret_87' }", referenceList},
		{"azure", azureExample, azureList},
		{"azure two entries", azureExample + ",\n" + azureExample, append(append([]Server{}, azureList...), azureList...)},
		{
			"JSON array",
			`[{"urls": "stun:stun.l.google.com:19302"}, {"urls": ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:443"], "username": "user87", "credential": "Secret_87"}]`,
			[]Server{
				{URLs: []string{"stun:stun.l.google.com:19302"}},
				{URLs: []string{"turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:443"}, Username: "user87", Credential: "Secret_87"},
			},
		},
		{"JSON single object", `{"urls": ["stun:[2001:db8::1]:3478", "stun:192.0.2.1"]}`, []Server{{URLs: []string{"stun:[2001:db8::1]:3478", "stun:192.0.2.1"}}}},
		{"JSON objects without brackets", `{"urls": "stun:a.example.org"}, {"url": "stun:b.example.org"}`, []Server{{URLs: []string{"stun:a.example.org"}}, {URLs: []string{"stun:b.example.org"}}}},
		{"JSON escapes", `{"urls": "stun:a.example.org", "username": "caf\u00e9\/\"x\"", "credential": "\ud83d\ude00\\"}`, []Server{{URLs: []string{"stun:a.example.org"}, Username: `café/"x"`, Credential: "😀\\"}}},
		{"single quotes escaping a quote", `{ urls: 'turn:h.example.org', username: 'o\'brien', credential: "it's" }`, []Server{{URLs: []string{"turn:h.example.org"}, Username: "o'brien", Credential: "it's"}}},
		{"twilio url and urls", `{"url": "stun:global.stun.twilio.com:3478", "urls": "stun:global.stun.twilio.com:3478"}`, []Server{{URLs: []string{"stun:global.stun.twilio.com:3478"}}}},
		{"credentialType password", `{urls: 'turn:h.example.org', username: 'u', credential: 'p', credentialType: 'password'}`, []Server{{URLs: []string{"turn:h.example.org"}, Username: "u", Credential: "p"}}},
		{"stun with credentials", `{urls: 'stun:h.example.org', username: 'u', credential: 'p'}`, []Server{{URLs: []string{"stun:h.example.org"}, Username: "u", Credential: "p"}}},
		{"trailing commas everywhere", "[{urls: ['stun:a.example.org',],},]", []Server{{URLs: []string{"stun:a.example.org"}}}},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			got, err := Parse(test.text)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, test.want) {
				t.Errorf("Parse =\n%#v\nwant\n%#v", got, test.want)
			}
		})
	}
}

func TestParseSyntaxErrors(t *testing.T) {
	tests := []struct {
		name         string
		text         string
		line, column int
		message      string
	}{
		{"unterminated quote", "{ 'url': 'stun:stunserver },", 1, 10, "the quote ' opened here is not closed; add a closing '"},
		{"unterminated quote at line end", "{\n  urls: \"stun:a.example.org,\n}", 2, 9, `the quote " opened here is not closed; add a closing "`},
		{"garbage", "hello world", 1, 1, `expected "{" or "[" to start the list, found "hello"`},
		{"garbage after a server", "{urls: 'stun:a.example.org'} hello", 1, 30, `expected "," or the end of the list after a server, found "hello"`},
		{"bare URL", "stun:stun.l.google.com:19302", 1, 1, "a bare URL is not a list"},
		{"quoted URL alone", "'stun:stun.l.google.com:19302'", 1, 1, "a URL alone is not a list"},
		{"missing comma between servers", "{urls: 'stun:a.example.org'}\n{urls: 'stun:b.example.org'}", 2, 1, `add a "," between servers`},
		{"unclosed brace", "{urls: 'stun:a.example.org'", 1, 1, `the "{" that opens server 1 here is not closed; add "}"`},
		{"unclosed URL list", "{urls: ['stun:a.example.org',", 1, 8, `the "[" that opens the URLs here is not closed; add "]"`},
		{"unclosed bracket", "[{urls: 'stun:a.example.org'}", 1, 1, `the "[" that opens the list here is not closed; add "]" at the end`},
		{"stray closing bracket", "{urls: 'stun:a.example.org'}]", 1, 29, `this "]" has no "[" to match`},
		{"text after the list", "[{urls: 'stun:a.example.org'}] x", 1, 32, `unexpected "x" after the "]" that ends the list`},
		{"unknown key", "{urls: 'stun:a.example.org', usrname: 'u'}", 1, 30, `unknown key "usrname"; the keys are urls, username and credential`},
		{"key in wrong case", "{URLs: 'stun:a.example.org'}", 1, 2, `write "urls" instead of "URLs"`},
		{"password key", "{urls: 'turn:a.example.org', username: 'u', password: 'p'}", 1, 45, `write "credential" instead of "password"`},
		{"iceServers wrapper", "{iceServers: [{urls: 'stun:a.example.org'}]}", 1, 2, "paste only the list inside iceServers"},
		{"duplicate key", "{urls: 'stun:a.example.org', username: 'u', username: 'v'}", 1, 45, `"username" appears twice in server 1; keep one`},
		{"unquoted value", "{urls: stun:a.example.org}", 1, 8, `the value of "urls" must be a URL in quotes, or a list of them in [ ], found "stun"`},
		{"number as username", "{urls: 'turn:a.example.org', username: 87, credential: 'p'}", 1, 40, `the value of "username" must be in quotes`},
		{"equals sign", "{urls = 'stun:a.example.org'}", 1, 7, `write ":" between a key and its value, not "="`},
		{"typographic quotes", "{urls: ‘stun:a.example.org’}", 1, 8, `"‘" is a typographic quote; use a straight quote ' or "`},
		{"unknown escape", `{urls: 'stun:a\example.org'}`, 1, 15, `unknown escape "\e"`},
		{"lone surrogate", `{"urls": "stun:a.example.org", "username": "\ud800"}`, 1, 45, "is half of a pair"},
		{"bad credentialType", "{urls: 'turn:a.example.org', username: 'u', credential: 'p', credentialType: 'oauth'}", 1, 78, `credentialType "oauth" is not supported`},
		{"missing colon", "{urls 'stun:a.example.org'}", 1, 7, `write ":" after "urls"`},
		{"comment", "// servers\n{urls: 'stun:a.example.org'}", 1, 1, "comments are not allowed"},
		{"invalid UTF-8", "{urls: 'stun:a.example.org', username: '\xff'}", 1, 41, "not valid UTF-8"},
		{"column counts characters", "{ 'username': 'héllo', x: 'y' }", 1, 24, `unknown key "x"`},
		{"too many servers", strings.Repeat("{urls: 'stun:a.example.org'},", MaxServers+1), 1, 1 + 29*MaxServers, "more than 32 servers"},
		{"too many URLs", "{urls: [" + strings.Repeat("'stun:a.example.org',", MaxURLsPerServer+1) + "]}", 1, 9 + 21*MaxURLsPerServer, "more than 16 URLs"},
		{"text too long", strings.Repeat(" ", MaxTextLength+1), 0, 0, "at most 65536 are allowed"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			servers, err := Parse(test.text)
			var syntaxErr *SyntaxError
			if !errors.As(err, &syntaxErr) {
				t.Fatalf("Parse = %v, %v; want a *SyntaxError", servers, err)
			}
			if syntaxErr.Line != test.line || syntaxErr.Column != test.column || !strings.Contains(syntaxErr.Message, test.message) {
				t.Errorf("Parse error = %q at line %d, column %d;\nwant one containing %q at line %d, column %d",
					syntaxErr.Message, syntaxErr.Line, syntaxErr.Column, test.message, test.line, test.column)
			}
		})
	}
}

func TestParseReportsEveryRuleBroken(t *testing.T) {
	text := `[
		{ urls: [] },
		{ urls: ['turn:h:abc', 'http://h', 'stun:ok.example.org'] },
		{ urls: 'stun:a.example.org', username: 'line\nbreak' },
	]`
	_, err := Parse(text)
	var listErr *ListError
	if !errors.As(err, &listErr) {
		t.Fatalf("Parse = %v; want a *ListError", err)
	}
	want := []EntryError{
		{Entry: 0, Field: "urls", Message: `no URLs; give at least one, e.g. "urls": "stun:stun.example.org:3478"`},
		{Entry: 1, URL: "turn:h:abc", Field: "urls", Message: "port must be a number from 1 to 65535"},
		{Entry: 1, URL: "http://h", Field: "urls", Message: "http: is a web address, not a STUN or TURN server; write stun:HOST:PORT or turn:HOST:PORT"},
		{Entry: 1, Field: "username", Message: "a TURN server needs a username (login)"},
		{Entry: 1, Field: "credential", Message: "a TURN server needs a credential (password)"},
		{Entry: 2, Field: "username", Message: "the username contains a line break at byte 4; remove it"},
	}
	if !reflect.DeepEqual(listErr.Errors, want) {
		t.Errorf("errors =\n%#v\nwant\n%#v", listErr.Errors, want)
	}
	wantText := `server 1, urls: no URLs; give at least one, e.g. "urls": "stun:stun.example.org:3478"
server 2, "turn:h:abc": port must be a number from 1 to 65535
server 2, "http://h": http: is a web address, not a STUN or TURN server; write stun:HOST:PORT or turn:HOST:PORT
server 2, username: a TURN server needs a username (login)
server 2, credential: a TURN server needs a credential (password)
server 3, username: the username contains a line break at byte 4; remove it`
	if err.Error() != wantText {
		t.Errorf("Error() =\n%s\nwant\n%s", err.Error(), wantText)
	}
}

func TestValidateLimits(t *testing.T) {
	many := make([]Server, MaxServers+3)
	for i := range many {
		many[i] = Server{URLs: []string{"stun:a.example.org"}}
	}
	manyURLs := make([]string, MaxURLsPerServer+1)
	for i := range manyURLs {
		manyURLs[i] = "stun:a.example.org"
	}
	tests := []struct {
		name    string
		servers []Server
		want    EntryError
	}{
		{"too many servers", many, EntryError{Entry: MaxServers, Message: "too many servers: 35; at most 32 are allowed"}},
		{"too many URLs", []Server{{URLs: manyURLs}}, EntryError{Field: "urls", Message: "too many URLs: 17; at most 16 are allowed in one server"}},
		{"long username", []Server{{URLs: []string{"stun:a.example.org"}, Username: strings.Repeat("u", MaxStringLength+1)}}, EntryError{Field: "username", Message: "the username is longer than 512 characters"}},
		{"long URL", []Server{{URLs: []string{"stun:" + strings.Repeat("a", MaxStringLength)}}}, EntryError{URL: "stun:" + strings.Repeat("a", 75) + "…", Field: "urls", Message: "the URL is longer than 512 characters"}},
		{"invisible character in credential", []Server{{URLs: []string{"turn:a.example.org"}, Username: "u", Credential: "p\u200b"}}, EntryError{Field: "credential", Message: "the credential contains an invisible character (U+200B) at byte 1, often pasted from a web page; remove it"}},
		{"invalid UTF-8 in username", []Server{{URLs: []string{"stun:a.example.org"}, Username: "\xff"}}, EntryError{Field: "username", Message: "the username is not valid UTF-8 text"}},
		{"nil URLs", []Server{{}}, EntryError{Field: "urls", Message: `no URLs; give at least one, e.g. "urls": "stun:stun.example.org:3478"`}},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			err := Validate(test.servers)
			var listErr *ListError
			if !errors.As(err, &listErr) || len(listErr.Errors) != 1 || listErr.Errors[0] != test.want {
				t.Errorf("Validate = %#v; want exactly %#v", err, test.want)
			}
		})
	}
	if err := Validate(nil); err != nil {
		t.Errorf("Validate(nil) = %v; an empty list is valid", err)
	}
}

func TestFromFields(t *testing.T) {
	tests := []struct {
		name                  string
		stun, turn, login, pw string
		want                  []Server
	}{
		{
			"reference example", "stun.l.google.com:19302", "turn.example.org", "user87", "Secret_87",
			[]Server{
				{URLs: []string{"stun:stun.l.google.com:19302"}},
				{URLs: []string{"turn:turn.example.org"}, Username: "user87", Credential: "Secret_87"},
			},
		},
		{"with schemes", "stun:stun.example.org", "turns:turn.example.org:443", "u", "p", []Server{{URLs: []string{"stun:stun.example.org"}}, {URLs: []string{"turns:turn.example.org:443"}, Username: "u", Credential: "p"}}},
		{"surrounding spaces", "  stun.example.org \n", "\tturn.example.org:3478?transport=tcp ", "u", "p", []Server{{URLs: []string{"stun:stun.example.org"}}, {URLs: []string{"turn:turn.example.org:3478?transport=tcp"}, Username: "u", Credential: "p"}}},
		{"STUN only", "stun.example.org", "", "", "", []Server{{URLs: []string{"stun:stun.example.org"}}}},
		{"TURN only", "", "192.0.2.7:3478", "u", "p", []Server{{URLs: []string{"turn:192.0.2.7:3478"}, Username: "u", Credential: "p"}}},
		{"nothing", "", " ", "", "", []Server{}},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			got, err := FromFields(test.stun, test.turn, test.login, test.pw)
			if err != nil {
				t.Fatalf("FromFields: %v", err)
			}
			if !reflect.DeepEqual(got, test.want) {
				t.Errorf("FromFields =\n%#v\nwant\n%#v", got, test.want)
			}
		})
	}
}

func TestFromFieldsErrors(t *testing.T) {
	tests := []struct {
		name                  string
		stun, turn, login, pw string
		want                  string
	}{
		{"TURN without login", "", "turn.example.org", "", "Secret_87", "server 1, username: a TURN server needs a username (login)"},
		{"TURN without password", "stun.example.org", "turn.example.org", "user87", "", "server 2, credential: a TURN server needs a credential (password)"},
		{"login without TURN", "stun.example.org", "", "user87", "Secret_87", "server 2, username: a login and password are given but no TURN server; fill in the TURN server, or clear the login and password"},
		{"TURN URL in the STUN field", "turn:turn.example.org", "", "", "", `server 1, "turn:turn.example.org": this is a TURN server; put it in the TURN field`},
		{"STUN URL in the TURN field", "", "stun:stun.example.org", "u", "p", `server 1, "stun:stun.example.org": this is a STUN server; put it in the STUN field`},
		{"bad port", "stun.example.org:99999", "", "", "", `server 1, "stun:stun.example.org:99999": port must be a number from 1 to 65535`},
		{"web address", "https://stun.example.org", "", "", "", `server 1, "https://stun.example.org": https: is a web address, not a STUN or TURN server; write stun:HOST:PORT or turn:HOST:PORT`},
		{
			"several problems", "stun.example.org:0", "turn.example.org:abc", "", "",
			"server 1, \"stun:stun.example.org:0\": port must be a number from 1 to 65535\n" +
				"server 2, \"turn:turn.example.org:abc\": port must be a number from 1 to 65535\n" +
				"server 2, username: a TURN server needs a username (login)\n" +
				"server 2, credential: a TURN server needs a credential (password)",
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			got, err := FromFields(test.stun, test.turn, test.login, test.pw)
			var listErr *ListError
			if !errors.As(err, &listErr) {
				t.Fatalf("FromFields = %v, %v; want a *ListError", got, err)
			}
			if err.Error() != test.want {
				t.Errorf("FromFields error =\n%s\nwant\n%s", err, test.want)
			}
		})
	}
}

// TestWebRTC checks that Go peers take the converted list as it is.
func TestWebRTC(t *testing.T) {
	servers, err := Parse(referenceExample + ", " + azureExample)
	if err != nil {
		t.Fatal(err)
	}
	converted := WebRTC(servers)
	if len(converted) != 3 || converted[0].Credential != nil || converted[1].Username != "user87" || converted[1].Credential != "Secret_87" {
		t.Fatalf("WebRTC = %#v", converted)
	}
	// Creating a peer connection validates its ICE servers; nothing is sent
	// before gathering starts.
	peer, err := webrtc.NewPeerConnection(webrtc.Configuration{ICEServers: converted})
	if err != nil {
		t.Fatalf("pion/webrtc rejects the list: %v", err)
	}
	if err := peer.Close(); err != nil {
		t.Fatal(err)
	}
}
