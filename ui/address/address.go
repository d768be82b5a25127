// Package address reads what people type or paste to reach a Parley server
// or a meeting: "host", "host:port", "https://host:port/", a meeting link
// "https://host:port/c/CID" or "parley://host:port/c/CID", or a bare
// meeting ID. Errors say what is wrong in words a user understands.
package address

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/parleyhq/parley/server/protocol"
)

// DefaultPort is the HTTPS port a Parley server uses unless told otherwise.
const DefaultPort = 8443

// Target is a server, and a meeting on it when the input named one.
type Target struct {
	Host string // host name or IP address, without brackets
	Port int
	CID  string // "" when no meeting was named
}

// HostPort is "host:port" ("[::1]:8443" for IPv6).
func (t Target) HostPort() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

// BaseURL is the server's address for the API client.
func (t Target) BaseURL() string { return "https://" + t.HostPort() + "/" }

// ParseServer reads a server address, possibly a meeting link.
func ParseServer(input string) (Target, error) {
	text := strings.TrimSpace(input)
	if text == "" {
		return Target{}, errors.New("type the server's address, such as office-pc:8443")
	}
	if strings.ContainsAny(text, " \t\r\n") {
		return Target{}, errors.New("an address has no spaces")
	}
	if !strings.Contains(text, "://") {
		// "host", "host:port", "[v6]:port" or a link without its scheme.
		text = "https://" + text
	}
	u, err := url.Parse(text)
	if err != nil {
		return Target{}, fmt.Errorf("%q is not an address such as office-pc:8443", input)
	}
	switch strings.ToLower(u.Scheme) {
	case "https", "parley":
	case "http":
		return Target{}, errors.New("use https://, not http://: Parley servers only speak HTTPS")
	default:
		return Target{}, fmt.Errorf("%q is not a Parley address: use https:// or parley://", u.Scheme+"://")
	}
	if u.User != nil {
		return Target{}, errors.New("an address has no user name or password in it")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return Target{}, errors.New("an address has no ? or # part")
	}
	target, err := hostAndPort(u)
	if err != nil {
		return Target{}, err
	}
	target.CID, err = meetingInPath(u.EscapedPath())
	return target, err
}

func hostAndPort(u *url.URL) (Target, error) {
	host := u.Hostname()
	if host == "" {
		return Target{}, errors.New("the address has no server name")
	}
	if strings.HasSuffix(u.Host, ":") {
		return Target{}, errors.New("the port after ':' is missing")
	}
	if ip := net.ParseIP(host); ip == nil && !validHostName(host) {
		return Target{}, fmt.Errorf("%q is not a server name or IP address", host)
	}
	port := DefaultPort
	if text := u.Port(); text != "" {
		n, err := strconv.Atoi(text)
		if err != nil || n < 1 || n > 65535 {
			return Target{}, fmt.Errorf("port %q must be a number from 1 to 65535", text)
		}
		port = n
	}
	return Target{Host: strings.ToLower(host), Port: port}, nil
}

// validHostName accepts DNS names: letters, digits, '-' and dots.
func validHostName(host string) bool {
	if len(host) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(host, "."), ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// meetingInPath reads "/", "" or "/c/CID".
func meetingInPath(path string) (string, error) {
	path = strings.TrimSuffix(path, "/")
	if path == "" {
		return "", nil
	}
	cid, ok := strings.CutPrefix(path, "/c/")
	if !ok {
		return "", fmt.Errorf("%q is not a meeting link: links look like https://office-pc:8443/c/4820117735", path)
	}
	if !protocol.ValidCID(cid) {
		return "", fmt.Errorf("%q is not a meeting ID: IDs are letters, digits, '-' and '_', up to 32", cid)
	}
	return cid, nil
}

// ParseMeeting reads what the "Join by ID or link" box holds: a meeting ID,
// or a link (whose server part is returned too).
func ParseMeeting(input string) (Target, error) {
	text := strings.TrimSpace(input)
	if text == "" {
		return Target{}, errors.New("type a meeting ID or paste a meeting link")
	}
	if protocol.ValidCID(text) {
		return Target{CID: text}, nil
	}
	if !strings.Contains(text, "/") {
		return Target{}, fmt.Errorf("%q is not a meeting ID: IDs are letters, digits, '-' and '_', up to 32", text)
	}
	target, err := ParseServer(text)
	if err != nil {
		return Target{}, err
	}
	if target.CID == "" {
		return Target{}, errors.New("this link names a server but no meeting: links look like https://office-pc:8443/c/4820117735")
	}
	return target, nil
}
