package iceservers

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// SyntaxError is text that Parse cannot read as a list.
type SyntaxError struct {
	Line    int    `json:"line"`   // from 1; 0 when the problem is the text as a whole
	Column  int    `json:"column"` // from 1, counted in characters
	Message string `json:"message"`
}

func (e *SyntaxError) Error() string {
	if e.Line == 0 {
		return e.Message
	}
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Message)
}

// Parse reads a list in either form an administrator may paste:
//
//  1. JSON: an array of objects, or a single object, or the objects
//     separated by commas without brackets. Each object has "urls" (a string
//     or an array of strings) or the legacy singular "url", plus "username"
//     and "credential".
//  2. The loose form of the reference product's documentation, as written in
//     JavaScript: single or double quotes, unquoted keys, trailing commas,
//     optional [ ], e.g.
//     { 'url': 'stun:stunserver' }, { 'url': 'turn:turnserver', 'username': 'user87', 'credential': 'Secret_87' }
//
// Empty or blank text is an empty list. Text that cannot be read gives a
// *SyntaxError with its line and column; a list that reads but breaks a rule
// gives the *ListError of Validate.
func Parse(text string) ([]Server, error) {
	if len(text) > MaxTextLength {
		return nil, &SyntaxError{Message: fmt.Sprintf("the text is %d bytes long; at most %d are allowed", len(text), MaxTextLength)}
	}
	p := &parser{lex: lexer{text: text, line: 1, column: 1}}
	if !utf8.ValidString(text) {
		return nil, p.lex.invalidUTF8()
	}
	servers, err := p.parseList()
	if err != nil {
		return nil, err
	}
	if err := Validate(servers); err != nil {
		return nil, err
	}
	return servers, nil
}

type position struct{ line, column int }

type tokenKind int

const (
	endOfText tokenKind = iota
	punctuation
	quoted
	word
)

type token struct {
	kind tokenKind
	text string // the punctuation mark, the word, or the quoted text unescaped
	raw  string // the text as written, for messages
	at   position
}

// describe names a token in a message.
func (t token) describe() string {
	switch t.kind {
	case endOfText:
		return "the end of the text"
	case quoted:
		return "the text " + shorten(t.raw)
	default:
		return strconv.Quote(shorten(t.raw))
	}
}

type lexer struct {
	text         string
	offset       int // of the next character
	line, column int // of the next character
}

func (l *lexer) here() position { return position{l.line, l.column} }

func (l *lexer) errorAt(at position, format string, args ...any) *SyntaxError {
	return &SyntaxError{Line: at.line, Column: at.column, Message: fmt.Sprintf(format, args...)}
}

func (l *lexer) peek() (rune, int) { return utf8.DecodeRuneInString(l.text[l.offset:]) }

func (l *lexer) step() {
	r, size := l.peek()
	l.offset += size
	if r == '\n' {
		l.line, l.column = l.line+1, 1
	} else {
		l.column++
	}
}

// invalidUTF8 points at the first byte that is not UTF-8.
func (l *lexer) invalidUTF8() *SyntaxError {
	for l.offset < len(l.text) {
		if r, size := l.peek(); r == utf8.RuneError && size == 1 {
			break
		}
		l.step()
	}
	return l.errorAt(l.here(), "the text is not valid UTF-8 here; paste it as plain text")
}

// isSpaceOutsideQuotes also skips the invisible characters that come with
// text copied from web pages and word processors.
func isSpaceOutsideQuotes(r rune) bool { return unicode.IsSpace(r) || isInvisible(r) }

func isWordRune(r rune) bool {
	return isLetter(r) || isDigit(r) || r == '_' || r == '$' || r == '-' || r == '.'
}

func (l *lexer) next() (token, error) {
	for l.offset < len(l.text) {
		if r, _ := l.peek(); !isSpaceOutsideQuotes(r) {
			break
		}
		l.step()
	}
	at := l.here()
	if l.offset == len(l.text) {
		return token{kind: endOfText, at: at}, nil
	}
	start := l.offset
	r, _ := l.peek()
	switch {
	case strings.ContainsRune("{}[],:", r):
		l.step()
		return token{kind: punctuation, text: string(r), raw: string(r), at: at}, nil
	case r == '\'' || r == '"':
		return l.quoted(r, at)
	case isWordRune(r):
		for l.offset < len(l.text) {
			if r, _ := l.peek(); !isWordRune(r) {
				break
			}
			l.step()
		}
		text := l.text[start:l.offset]
		return token{kind: word, text: text, raw: text, at: at}, nil
	}
	switch r {
	case '‘', '’', '“', '”', '«', '»', '„', '‚':
		return token{}, l.errorAt(at, `"%c" is a typographic quote; use a straight quote ' or "`, r)
	case '=':
		return token{}, l.errorAt(at, `write ":" between a key and its value, not "="`)
	case ';':
		return token{}, l.errorAt(at, `write "," between items, not ";"`)
	case '/':
		return token{}, l.errorAt(at, `unexpected "/"; comments are not allowed, and URLs must be in quotes`)
	}
	return token{}, l.errorAt(at, "unexpected character %q", r)
}

// quoted reads a quoted text with the escapes of JSON and JavaScript.
func (l *lexer) quoted(quote rune, at position) (token, error) {
	start := l.offset
	l.step()
	unterminated := func() error {
		return l.errorAt(at, "the quote %c opened here is not closed; add a closing %c", quote, quote)
	}
	var text strings.Builder
	for {
		if l.offset == len(l.text) {
			return token{}, unterminated()
		}
		r, _ := l.peek()
		switch r {
		case quote:
			l.step()
			return token{kind: quoted, text: text.String(), raw: l.text[start:l.offset], at: at}, nil
		case '\n', '\r':
			return token{}, unterminated()
		case '\\':
			escaped, err := l.escape()
			if err != nil {
				return token{}, err
			}
			text.WriteRune(escaped)
		default:
			text.WriteRune(r)
			l.step()
		}
	}
}

func (l *lexer) escape() (rune, error) {
	at := l.here()
	l.step()
	if l.offset == len(l.text) {
		return 0, l.errorAt(at, `the text ends after "\"; to write a backslash, write "\\"`)
	}
	r, _ := l.peek()
	l.step()
	switch r {
	case '\\', '\'', '"', '/':
		return r, nil
	case 'b':
		return '\b', nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'u':
		first, err := l.hex4(at)
		if err != nil {
			return 0, err
		}
		if !utf16.IsSurrogate(first) {
			return first, nil
		}
		// A character beyond U+FFFF is written as two escapes, a UTF-16 pair.
		if !strings.HasPrefix(l.text[l.offset:], `\u`) {
			return 0, l.errorAt(at, `"\u%04X" is half of a pair; write the whole character or its pair of \u escapes`, first)
		}
		l.step()
		l.step()
		second, err := l.hex4(at)
		if err != nil {
			return 0, err
		}
		if combined := utf16.DecodeRune(first, second); combined != utf8.RuneError {
			return combined, nil
		}
		return 0, l.errorAt(at, `"\u%04X\u%04X" is not a valid pair; write the character itself`, first, second)
	}
	return 0, l.errorAt(at, `unknown escape "\%c"; to write a backslash, write "\\"`, r)
}

func (l *lexer) hex4(at position) (rune, error) {
	digits := l.text[l.offset:min(l.offset+4, len(l.text))]
	value, err := strconv.ParseUint(digits, 16, 32)
	if len(digits) < 4 || err != nil {
		return 0, l.errorAt(at, `"\u" needs four hexadecimal digits, e.g. \u00e9`)
	}
	for range 4 {
		l.step()
	}
	return rune(value), nil
}

type parser struct {
	lex   lexer
	token token // the next token, not yet consumed
}

func (p *parser) advance() error {
	next, err := p.lex.next()
	if err != nil {
		return err
	}
	p.token = next
	return nil
}

func (p *parser) at(mark string) bool { return p.token.kind == punctuation && p.token.text == mark }

func (p *parser) errorHere(format string, args ...any) error {
	return p.lex.errorAt(p.token.at, format, args...)
}

const serverExample = `a server is written { 'urls': 'stun:stun.example.org:3478' }`

func (p *parser) parseList() ([]Server, error) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	servers := []Server{}
	if p.token.kind == endOfText {
		return servers, nil
	}
	listStart := p.token
	bracketed := p.at("[")
	if bracketed {
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	for {
		switch {
		case bracketed && p.at("]"):
			if err := p.advance(); err != nil {
				return nil, err
			}
			if p.token.kind != endOfText {
				return nil, p.errorHere(`unexpected %s after the "]" that ends the list`, p.token.describe())
			}
			return servers, nil
		case p.token.kind == endOfText && bracketed:
			return nil, p.lex.errorAt(listStart.at, `the "[" that opens the list here is not closed; add "]" at the end`)
		case p.token.kind == endOfText:
			return servers, nil
		case p.at("]"):
			return nil, p.errorHere(`this "]" has no "[" to match; add "[" at the start or remove it`)
		case !p.at("{"):
			return nil, p.notAServer(len(servers) == 0 && !bracketed)
		case len(servers) == MaxServers:
			return nil, p.errorHere("more than %d servers; at most %d are allowed", MaxServers, MaxServers)
		}
		server, err := p.parseServer(len(servers))
		if err != nil {
			return nil, err
		}
		servers = append(servers, server)
		switch {
		case p.at(","):
			if err := p.advance(); err != nil {
				return nil, err
			}
		case p.at("{"):
			return nil, p.errorHere(`add a "," between servers`)
		case !p.at("]") && p.token.kind != endOfText:
			return nil, p.errorHere(`expected "," or the end of the list after a server, found %s`, p.token.describe())
		}
	}
}

// notAServer explains a token found where a server should start.
func (p *parser) notAServer(atStart bool) error {
	found := p.token
	switch {
	case found.kind == word && slices.Contains([]string{"stun", "turn", "turns", "stuns"}, strings.ToLower(found.text)):
		return p.errorHere(`a bare URL is not a list: %s; or use the form with separate STUN and TURN fields`, serverExample)
	case found.kind == word && found.text == "iceServers":
		return p.errorHere(`paste only the list inside iceServers: [ ... ], without "iceServers:"`)
	case found.kind == quoted && atStart:
		return p.errorHere(`a URL alone is not a list: %s`, serverExample)
	case atStart:
		return p.errorHere(`expected "{" or "[" to start the list, found %s; %s`, found.describe(), serverExample)
	}
	return p.errorHere(`expected "{" to start a server, found %s`, found.describe())
}

func (p *parser) parseServer(index int) (Server, error) {
	open := p.token.at
	if err := p.advance(); err != nil {
		return Server{}, err
	}
	unclosed := func() error {
		return p.lex.errorAt(open, `the "{" that opens server %d here is not closed; add "}"`, index+1)
	}
	var server Server
	seen := map[string]bool{}
	for !p.at("}") {
		if p.token.kind == endOfText {
			return Server{}, unclosed()
		}
		key := p.token
		if key.kind != word && key.kind != quoted {
			return Server{}, p.errorHere(`expected a key (urls, username or credential) in server %d, found %s`, index+1, key.describe())
		}
		if message := unknownKey(key.text); message != "" {
			return Server{}, p.errorHere("%s", message)
		}
		if seen[key.text] {
			return Server{}, p.errorHere(`"%s" appears twice in server %d; keep one`, key.text, index+1)
		}
		seen[key.text] = true
		if err := p.advance(); err != nil {
			return Server{}, err
		}
		if !p.at(":") {
			return Server{}, p.errorHere(`write ":" after "%s"`, key.text)
		}
		if err := p.advance(); err != nil {
			return Server{}, err
		}
		if err := p.parseValue(key.text, &server); err != nil {
			return Server{}, err
		}
		switch {
		case p.at(","):
			if err := p.advance(); err != nil {
				return Server{}, err
			}
		case p.token.kind == endOfText:
			return Server{}, unclosed()
		case !p.at("}"):
			return Server{}, p.errorHere(`expected "," or "}" after the value of "%s", found %s`, key.text, p.token.describe())
		}
	}
	return server, p.advance()
}

func (p *parser) parseValue(key string, server *Server) error {
	switch key {
	case "urls", "url":
		urls, err := p.parseURLs(key)
		if err != nil {
			return err
		}
		// Some providers give "url" and "urls" with the same address.
		for _, url := range urls {
			if !slices.Contains(server.URLs, url) {
				server.URLs = append(server.URLs, url)
			}
		}
		return nil
	case "username":
		return p.parseText(key, &server.Username)
	case "credential":
		return p.parseText(key, &server.Credential)
	default: // credentialType
		var credentialType string
		at := p.token.at
		if err := p.parseText(key, &credentialType); err != nil {
			return err
		}
		if credentialType != "password" {
			return p.lex.errorAt(at, `credentialType "%s" is not supported; only "password" is, which is also what leaving it out means`, credentialType)
		}
		return nil
	}
}

func (p *parser) parseText(key string, into *string) error {
	if p.token.kind != quoted {
		return p.errorHere(`the value of "%s" must be in quotes, e.g. '%s', found %s`, key, exampleValue(key), p.token.describe())
	}
	*into = p.token.text
	return p.advance()
}

func (p *parser) parseURLs(key string) ([]string, error) {
	if p.token.kind == quoted {
		url := p.token.text
		return []string{url}, p.advance()
	}
	if !p.at("[") {
		return nil, p.errorHere(`the value of "%s" must be a URL in quotes, or a list of them in [ ], found %s`, key, p.token.describe())
	}
	open := p.token.at
	if err := p.advance(); err != nil {
		return nil, err
	}
	unclosed := func() error {
		return p.lex.errorAt(open, `the "[" that opens the URLs here is not closed; add "]"`)
	}
	urls := []string{}
	for !p.at("]") {
		switch {
		case p.token.kind == endOfText:
			return nil, unclosed()
		case p.token.kind != quoted:
			return nil, p.errorHere(`expected a URL in quotes, e.g. '%s', found %s`, exampleValue(key), p.token.describe())
		case len(urls) == MaxURLsPerServer:
			return nil, p.errorHere("more than %d URLs in one server; at most %d are allowed", MaxURLsPerServer, MaxURLsPerServer)
		}
		urls = append(urls, p.token.text)
		if err := p.advance(); err != nil {
			return nil, err
		}
		switch {
		case p.at(","):
			if err := p.advance(); err != nil {
				return nil, err
			}
		case p.token.kind == endOfText:
			return nil, unclosed()
		case !p.at("]"):
			return nil, p.errorHere(`expected "," or "]" after a URL, found %s`, p.token.describe())
		}
	}
	return urls, p.advance()
}

func exampleValue(key string) string {
	switch key {
	case "username":
		return "user87"
	case "credential":
		return "Secret_87"
	case "credentialType":
		return "password"
	}
	return "stun:stun.example.org:3478"
}

// unknownKey returns what to write instead of a key that is not one of an
// RTCIceServer's, or "".
func unknownKey(key string) string {
	known := []string{"urls", "url", "username", "credential", "credentialType"}
	if slices.Contains(known, key) {
		return ""
	}
	for _, k := range known {
		if strings.EqualFold(key, k) {
			return fmt.Sprintf(`write "%s" instead of "%s"`, k, key)
		}
	}
	switch strings.ToLower(key) {
	case "iceservers":
		return `paste only the list inside iceServers: [ ... ], without "iceServers:"`
	case "uri", "uris", "server", "servers", "address", "host":
		return fmt.Sprintf(`write "urls" instead of "%s"`, key)
	case "user", "login", "name", "user_name", "userid":
		return fmt.Sprintf(`write "username" instead of "%s"`, key)
	case "password", "pass", "passwd", "secret", "credentials":
		return fmt.Sprintf(`write "credential" instead of "%s"`, key)
	}
	return fmt.Sprintf(`unknown key "%s"; the keys are urls, username and credential`, shorten(key))
}

// FromFields builds a list from the simple form: a STUN server, a TURN
// server, a login and a password, e.g. ("stun.l.google.com:19302",
// "turn.example.org", "user87", "Secret_87"). A field may be given with or
// without its scheme; an empty STUN or TURN field is skipped. The STUN entry,
// if any, comes first. Problems are reported as by Validate.
func FromFields(stunServer, turnServer, login, password string) ([]Server, error) {
	stunServer, turnServer = strings.TrimSpace(stunServer), strings.TrimSpace(turnServer)
	servers := []Server{}
	var problems ListError
	// A URL in the wrong field is reported alone: the usual checks of the
	// wrong kind of server would only add noise.
	misplaced := map[int]bool{}
	if stunServer != "" {
		url := withScheme(stunServer, "stun")
		if strings.HasPrefix(url, "turn:") || strings.HasPrefix(url, "turns:") {
			misplaced[len(servers)] = true
			problems.add(len(servers), url, "urls", "this is a TURN server; put it in the TURN field")
		}
		servers = append(servers, Server{URLs: []string{url}})
	}
	if turnServer != "" {
		url := withScheme(turnServer, "turn")
		if strings.HasPrefix(url, "stun:") {
			misplaced[len(servers)] = true
			problems.add(len(servers), url, "urls", "this is a STUN server; put it in the STUN field")
		}
		servers = append(servers, Server{URLs: []string{url}, Username: login, Credential: password})
	} else if login != "" || password != "" {
		problems.add(len(servers), "", "username", "a login and password are given but no TURN server; fill in the TURN server, or clear the login and password")
	}
	if err := Validate(servers); err != nil {
		for _, entryErr := range err.(*ListError).Errors {
			if !misplaced[entryErr.Entry] {
				problems.Errors = append(problems.Errors, entryErr)
			}
		}
	}
	if len(problems.Errors) > 0 {
		slices.SortStableFunc(problems.Errors, func(a, b EntryError) int { return a.Entry - b.Entry })
		return nil, &problems
	}
	return servers, nil
}

// withScheme adds the scheme to a field written without one. Anything that
// already looks like a URL is left for ParseURL to judge.
func withScheme(field, scheme string) string {
	lower := strings.ToLower(field)
	for _, prefix := range []string{"stun:", "stuns:", "turn:", "turns:"} {
		if strings.HasPrefix(lower, prefix) {
			return field
		}
	}
	if strings.Contains(field, "://") {
		return field
	}
	return scheme + ":" + field
}
