package iceservers

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
)

// Default ports of RFC 7064 and RFC 7065.
const (
	DefaultPort    = 3478 // stun: and turn:
	DefaultTLSPort = 5349 // turns:
)

// URL is one parsed ICE server address (RFC 7064, RFC 7065).
type URL struct {
	Scheme string // "stun", "turn" or "turns"
	Host   string // a host name, an IPv4 address, or an IPv6 address without brackets
	Port   int
	// Transport is how the client reaches the server: "udp" or "tcp".
	// stun: is always udp; turns: is always tcp, with TLS over it.
	// Browsers reject transport=tls, so it is never a value here.
	Transport string
}

// String gives the URL in its canonical form: port always written, transport
// only where it is not the scheme's default.
func (u URL) String() string {
	text := u.Scheme + ":" + net.JoinHostPort(u.Host, strconv.Itoa(u.Port))
	if u.Scheme == "turn" && u.Transport != "udp" {
		text += "?transport=" + u.Transport
	}
	return text
}

// URLError is a URL that ParseURL rejects.
type URLError struct {
	URL     string
	Message string // what is wrong and what to write instead
}

func (e *URLError) Error() string { return fmt.Sprintf("%q: %s", e.URL, e.Message) }

// ParseURL parses one STUN or TURN URL strictly: anything a browser would
// reject, or would read differently from what was meant, is an error.
func ParseURL(raw string) (URL, error) {
	fail := func(format string, args ...any) (URL, error) {
		return URL{}, &URLError{URL: shorten(raw), Message: fmt.Sprintf(format, args...)}
	}
	if raw == "" {
		return fail("the URL is empty; write it like stun:stun.example.org:3478 or turn:turn.example.org:3478")
	}
	if message := checkText(raw); message != "" {
		return fail("the URL %s", message)
	}
	if strings.TrimSpace(raw) != raw {
		return fail("remove the spaces at the start or end of the URL")
	}
	if strings.IndexFunc(raw, unicode.IsSpace) >= 0 {
		return fail("remove the space inside the URL")
	}

	schemeText, rest, found := strings.Cut(raw, ":")
	scheme := strings.ToLower(schemeText)
	known := scheme == "stun" || scheme == "turn" || scheme == "turns"
	// "localhost:3478" is a host and a port, not a scheme "localhost".
	if !found || !isSchemeWord(schemeText) || (!known && isDigits(rest)) {
		return fail(`the URL has no scheme; write "stun:%s" for a STUN server, or "turn:%s" for a TURN server`, raw, raw)
	}
	switch scheme {
	case "stun", "turn", "turns":
		if schemeText != scheme {
			return fail(`write the scheme in lower case: "%s:"`, scheme)
		}
	case "stuns":
		return fail("stuns: (STUN over TLS) is not supported by browsers; write stun:, or turns: for a TURN server over TLS")
	case "http", "https", "ws", "wss":
		return fail("%s: is a web address, not a STUN or TURN server; write stun:HOST:PORT or turn:HOST:PORT", schemeText)
	default:
		return fail(`unknown scheme "%s:"; use stun:, turn: or turns:`, schemeText)
	}
	if strings.HasPrefix(rest, "//") {
		return fail(`remove the "//" after "%s:"; write "%s:%s"`, scheme, scheme, strings.TrimLeft(rest, "/"))
	}
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		return fail(`remove the "%s" at the end`, rest[i:])
	}

	hostPort, query, hasQuery := strings.Cut(rest, "?")
	if i := strings.IndexByte(hostPort, '@'); i >= 0 {
		return fail(`remove "%s": a username cannot be part of the URL; give it as "username"`, hostPort[:i+1])
	}
	if i := strings.IndexByte(hostPort, '/'); i >= 0 {
		return fail(`remove "%s": a STUN or TURN URL has no path`, hostPort[i:])
	}
	host, port, message := splitHostPort(scheme, hostPort)
	if message != "" {
		return fail("%s", message)
	}

	transport, message := parseQuery(scheme, hostPort, query, hasQuery)
	if message != "" {
		return fail("%s", message)
	}
	return URL{Scheme: scheme, Host: host, Port: port, Transport: transport}, nil
}

// splitHostPort returns the host (IPv6 without brackets), the port (the
// scheme's default if none is written), or a message saying what is wrong.
func splitHostPort(scheme, hostPort string) (host string, port int, message string) {
	port = DefaultPort
	if scheme == "turns" {
		port = DefaultTLSPort
	}
	missingHost := fmt.Sprintf("the host is missing; write %s:HOST or %s:HOST:PORT, e.g. %s:%s.example.org", scheme, scheme, scheme, strings.TrimSuffix(scheme, "s"))

	var portText string
	hasPort := false
	switch {
	case hostPort == "":
		return "", 0, missingHost
	case hostPort[0] == '[':
		end := strings.IndexByte(hostPort, ']')
		if end < 0 {
			return "", 0, `"[" has no closing "]"; write an IPv6 address in brackets, e.g. [2001:db8::1]`
		}
		host = hostPort[1:end]
		if host == "" {
			return "", 0, missingHost
		}
		if message := checkIPv6(scheme, host); message != "" {
			return "", 0, message
		}
		after := hostPort[end+1:]
		if after != "" {
			if after[0] != ':' {
				return "", 0, fmt.Sprintf(`unexpected "%s" after "]"; write [IPv6 ADDRESS]:PORT`, after)
			}
			portText, hasPort = after[1:], true
		}
	case strings.Count(hostPort, ":") > 1:
		if address, err := netip.ParseAddr(hostPort); err == nil && address.Is6() {
			return "", 0, fmt.Sprintf(`put the IPv6 address in brackets: write "%s:[%s]", or "%s:[%s]:PORT"`, scheme, hostPort, scheme, hostPort)
		}
		return "", 0, `too many ":"; write HOST:PORT, with an IPv6 address in brackets, e.g. [2001:db8::1]:3478`
	default:
		host, portText, hasPort = strings.Cut(hostPort, ":")
		if host == "" {
			return "", 0, missingHost
		}
		if isDigits(host) && !hasPort {
			return "", 0, fmt.Sprintf("the host is missing: %s looks like a port; write %s:HOST:%s", host, scheme, host)
		}
		if message := checkHost(host); message != "" {
			return "", 0, message
		}
	}

	if hasPort {
		if portText == "" {
			return "", 0, `the port after ":" is empty; write a number from 1 to 65535, or remove the ":"`
		}
		number, err := strconv.Atoi(portText)
		if !isDigits(portText) || len(portText) > 5 || err != nil || number < 1 || number > 65535 {
			return "", 0, "port must be a number from 1 to 65535"
		}
		port = number
	}
	return host, port, ""
}

func checkIPv6(scheme, text string) string {
	if i := strings.IndexByte(text, '%'); i >= 0 {
		return fmt.Sprintf(`remove the zone "%s": an IPv6 zone cannot be used in a server address`, text[i:])
	}
	address, err := netip.ParseAddr(text)
	switch {
	case err != nil:
		return fmt.Sprintf(`"[%s]" is not a valid IPv6 address`, text)
	case address.Is4():
		return fmt.Sprintf(`an IPv4 address takes no brackets; write %s:%s`, scheme, text)
	}
	return ""
}

// checkHost checks a host name (RFC 1123) or an IPv4 address.
func checkHost(host string) string {
	if address, err := netip.ParseAddr(host); err == nil && address.Is4() {
		return ""
	}
	if len(host) > 253 {
		return "the host name is longer than 253 characters"
	}
	labels := strings.Split(host, ".")
	for _, label := range labels {
		switch {
		case label == "":
			return fmt.Sprintf(`the host name "%s" has an empty part: two dots in a row, or a dot at the start or end`, host)
		case len(label) > 63:
			return fmt.Sprintf(`the part "%s" of the host name is longer than 63 characters`, shorten(label))
		case label[0] == '-' || label[len(label)-1] == '-':
			return fmt.Sprintf(`the part "%s" of the host name starts or ends with "-", which is not allowed`, label)
		}
		for _, r := range label {
			switch {
			case r > unicode.MaxASCII:
				return fmt.Sprintf(`the host name "%s" has the character "%c"; write an international name in its ASCII form (xn--...)`, host, r)
			case !isHostRune(r):
				return fmt.Sprintf(`the host name "%s" has the character "%c"; only letters, digits, "-" and "." are allowed`, host, r)
			}
		}
	}
	// A name whose last part is a number would be read as an IPv4 address.
	if isDigits(labels[len(labels)-1]) {
		return fmt.Sprintf(`"%s" is not a valid IPv4 address`, host)
	}
	return ""
}

// parseQuery returns the transport the URL names or implies, or a message
// saying what is wrong with its query.
func parseQuery(scheme, hostPort, query string, hasQuery bool) (transport, message string) {
	transport = "udp"
	if scheme == "turns" {
		transport = "tcp"
	}
	if !hasQuery {
		return transport, ""
	}
	if scheme == "stun" {
		return "", fmt.Sprintf(`remove "?%s": a stun: URL takes no "?" part, STUN always uses UDP`, query)
	}
	if query == "" {
		return "", `remove the empty "?", or write ?transport=udp or ?transport=tcp`
	}
	seen := false
	for param := range strings.SplitSeq(query, "&") {
		key, value, _ := strings.Cut(param, "=")
		switch {
		case key == "":
			return "", `remove the empty parameter (a stray "&" or "=")`
		case strings.EqualFold(key, "transport") && key != "transport":
			return "", `write "transport" in lower case`
		case key != "transport":
			return "", fmt.Sprintf(`unknown parameter "%s"; the only one allowed is transport, as in ?transport=udp or ?transport=tcp`, key)
		case seen:
			return "", "transport is given more than once; keep one"
		}
		seen = true
		switch value {
		case "tcp":
		case "udp":
			if scheme == "turns" {
				return "", fmt.Sprintf("turns: runs TLS over TCP, so transport=udp cannot be used; write turns:%s, or turn:%s?transport=udp for plain UDP", hostPort, hostPort)
			}
		case "tls":
			return "", fmt.Sprintf("browsers reject transport=tls; for TURN over TLS write turns:%s", hostPort)
		case "":
			return "", "transport needs a value: ?transport=udp or ?transport=tcp"
		default:
			if lower := strings.ToLower(value); lower == "udp" || lower == "tcp" {
				return "", fmt.Sprintf("write the transport in lower case: transport=%s", lower)
			}
			return "", fmt.Sprintf(`transport must be udp or tcp, not "%s"`, value)
		}
		transport = value
	}
	return transport, ""
}

// isSchemeWord tells a scheme ("turn") from a host name followed by a port
// ("turn.example.org:3478"), which has dots.
func isSchemeWord(text string) bool {
	if text == "" || !isLetter(rune(text[0])) {
		return false
	}
	for _, r := range text {
		if !isLetter(r) && !isDigit(r) && r != '+' && r != '-' {
			return false
		}
	}
	return true
}

func isHostRune(r rune) bool { return isLetter(r) || isDigit(r) || r == '-' }

func isLetter(r rune) bool { return ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') }

func isDigit(r rune) bool { return '0' <= r && r <= '9' }

func isDigits(text string) bool {
	if text == "" {
		return false
	}
	for _, r := range text {
		if !isDigit(r) {
			return false
		}
	}
	return true
}
