// Package settings owns the server-wide settings an administrator can
// change: their defaults, validation, storage and the before/after record
// of every change. Packages that apply a setting subscribe with Watch.
package settings

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/parleyhq/parley/server/eventlog"
	"github.com/parleyhq/parley/server/iceservers"
	"github.com/parleyhq/parley/server/store"
)

// Settings are the administrator's choices. The JSON names are the keys
// stored in the database and used by the API.
type Settings struct {
	ServerName     string         `json:"server_name"`
	BaseURL        string         `json:"base_url"` // "" = derived from the first LAN address
	ListenAddress  string         `json:"listen_address"`
	HTTPSPort      int            `json:"https_port"`
	HTTPPort       int            `json:"http_port"` // plain-HTTP redirect; 0 = off
	AdminNetworks  []string       `json:"admin_networks"`
	PasswordPolicy PasswordPolicy `json:"password_policy"`
	Lockout        Lockout        `json:"lockout"`
	SessionDays    int            `json:"session_days"`
	// Conferences end when one person has been alone this long.
	AloneMinutes int `json:"alone_minutes"`
	// Authors may edit or delete chat messages this long after sending.
	ChatEditMinutes int `json:"chat_edit_minutes"`
	// Signalling connections one address may hold at once.
	MaxSocketsPerAddress int `json:"max_sockets_per_address"`
	// GuestsAllowed lets people without an account join public
	// conferences by link.
	GuestsAllowed bool `json:"guests_allowed"`
	// Defaults of new conferences.
	DefaultLobby           string `json:"default_lobby"`
	DefaultMaxParticipants int    `json:"default_max_participants"`
	// MediaUDPPorts is "" for one port (media on the HTTPS port number,
	// over UDP) or a range such as "50000-51999".
	MediaUDPPorts string `json:"media_udp_ports"`
	// ExternalAddresses are public IP addresses or DNS names that reach
	// this machine through a 1:1 NAT, advertised as ICE candidates.
	ExternalAddresses []string `json:"external_addresses"`
	// ICEServers are the STUN and TURN servers handed to every client,
	// besides the built-in TURN server.
	ICEServers ICEServers `json:"ice_servers"`
	// TURN is the built-in TURN server.
	TURN TURN `json:"turn"`
	// RelayOnly sends the media of every conference through a TURN relay.
	RelayOnly bool `json:"relay_only"`
	// TrustedProxies are the reverse proxies (networks or addresses) whose
	// X-Forwarded-For, -Proto, -Host and -Prefix headers are believed.
	TrustedProxies []string `json:"trusted_proxies"`
	// PublicAddressSTUN is a STUN server ("stun:host:port") the server asks
	// for its public address at start; "" = do not ask.
	PublicAddressSTUN string `json:"public_address_stun"`
	// SIP is the gateway for telephones (docs/sip.md).
	SIP SIP `json:"sip"`
}

// TURN configures the built-in TURN server, which relays media for
// clients that cannot reach the server directly.
type TURN struct {
	Enabled bool `json:"enabled"`
	Port    int  `json:"port"`     // UDP and TCP
	TLSPort int  `json:"tls_port"` // TURN over TLS (443 passes strict firewalls); 0 = off
	// RelayPorts is the range relayed media uses, such as "49152-65535";
	// "" = any free port.
	RelayPorts string `json:"relay_ports"`
	// AllowPrivatePeers lets clients relay to loopback, link-local and
	// this machine's own addresses besides its media port.
	AllowPrivatePeers     bool `json:"allow_private_peers"`
	MaxAllocationsPerUser int  `json:"max_allocations_per_user"`
}

// SIP configures the SIP gateway: desk phones, softphones and PBX trunks
// dial into conferences.
type SIP struct {
	Enabled bool `json:"enabled"`
	Port    int  `json:"port"` // UDP and TCP
	// TLSPort is SIP over TLS (SIPS) with the server's certificate, 5061;
	// 0 = off.
	TLSPort int `json:"tls_port"`
	// RTPPorts is the range of the calls' media, "50000-51999" by
	// default: one port per call.
	RTPPorts string `json:"rtp_ports"`
	// RequireAuth lets in only callers who sign in with a user's SIP
	// password (digest); otherwise anyone may call, as a guest.
	RequireAuth bool `json:"require_auth"`
	// Video is what video phones receive: "off" (calls are audio only),
	// "low" (320x180), "standard" (640x360) or "high" (1280x720). The
	// picture is encoded for each phone in H.264; the phones' own H.264
	// goes to the meeting as it is.
	Video string `json:"video"`
	// Trunks are the PBXs and SIP providers calls to numbers go through.
	Trunks []Trunk `json:"trunks"`
}

// SIPVideoQualities are the values of SIP.Video, worst first.
var SIPVideoQualities = []string{"off", "low", "standard", "high"}

// Trunk is a SIP rule: a PBX or provider that Parley calls numbers
// through (the default trunk), optionally registering with it.
type Trunk struct {
	Name      string `json:"name"`
	Host      string `json:"host"` // IP address or DNS name; one rule per host
	Port      int    `json:"port"` // 5060 if 0
	Transport string `json:"transport"`
	// Registration is "off" or "permanent" (registered while Parley runs).
	Registration string `json:"registration"`
	Login        string `json:"login"`
	AuthName     string `json:"auth_name"` // if it differs from Login
	Password     string `json:"password"`
	// InternationalPrefix replaces a leading "+" of numbers ("00", "011");
	// "" keeps the "+".
	InternationalPrefix string `json:"international_prefix"`
	// Codecs are the ones offered to it, in order (G722, PCMU, PCMA);
	// empty: all three.
	Codecs []string `json:"codecs"`
	// Default: numbers are called through this trunk.
	Default bool `json:"default"`
}

// PasswordPolicy is what a new password must satisfy.
type PasswordPolicy struct {
	MinLength  int `json:"min_length"`
	MinClasses int `json:"min_classes"` // of lower case, upper case, digits, others
}

// Lockout locks an account after MaxFailures failed sign-ins within
// WindowMinutes, for LockMinutes.
type Lockout struct {
	MaxFailures   int `json:"max_failures"`
	WindowMinutes int `json:"window_minutes"`
	LockMinutes   int `json:"lock_minutes"`
}

// Defaults are the settings of a new server.
func Defaults() Settings {
	name, err := os.Hostname()
	if err != nil || name == "" {
		name = "Parley"
	}
	return Settings{
		ServerName: name,
		HTTPSPort:  8443,
		HTTPPort:   8080,
		// Loopback is always allowed; these are the private ranges.
		AdminNetworks: []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fe80::/10"},
		PasswordPolicy: PasswordPolicy{
			MinLength:  10,
			MinClasses: 3,
		},
		Lockout: Lockout{
			MaxFailures:   5,
			WindowMinutes: 15,
			LockMinutes:   15,
		},
		SessionDays:            14,
		AloneMinutes:           15,
		ChatEditMinutes:        10,
		MaxSocketsPerAddress:   32,
		GuestsAllowed:          true,
		DefaultLobby:           "guests",
		DefaultMaxParticipants: 50,
		ExternalAddresses:      []string{},
		ICEServers:             ICEServers{},
		TrustedProxies:         []string{},
		TURN:                   TURN{Enabled: true, Port: 3478, MaxAllocationsPerUser: 10},
		SIP:                    SIP{Enabled: true, Port: 5060, TLSPort: 5061, RTPPorts: "50000-51999", Video: "standard", Trunks: []Trunk{}},
	}
}

// ValidationError names the setting that is wrong and why.
type ValidationError struct {
	Key     string
	Message string
}

func (e *ValidationError) Error() string { return e.Key + ": " + e.Message }

func invalid(key, format string, args ...any) error {
	return &ValidationError{Key: key, Message: fmt.Sprintf(format, args...)}
}

// Validate checks every setting and returns the first problem.
func (s Settings) Validate() error {
	name := strings.TrimSpace(s.ServerName)
	if name == "" || len(name) > 63 || name != s.ServerName {
		return invalid("server_name", "must be 1 to 63 characters without leading or trailing spaces")
	}
	if s.BaseURL != "" {
		u, err := url.Parse(s.BaseURL)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return invalid("base_url", "must be an https:// address such as https://meet.example.com or empty for automatic")
		}
	}
	if s.ListenAddress != "" {
		if _, err := netip.ParseAddr(s.ListenAddress); err != nil {
			return invalid("listen_address", "must be an IP address of this machine, or empty for all")
		}
	}
	if s.HTTPSPort < 1 || s.HTTPSPort > 65535 {
		return invalid("https_port", "must be between 1 and 65535")
	}
	if s.HTTPPort < 0 || s.HTTPPort > 65535 {
		return invalid("http_port", "must be between 1 and 65535, or 0 for no redirect")
	}
	if s.HTTPPort == s.HTTPSPort {
		return invalid("http_port", "must differ from https_port")
	}
	if len(s.AdminNetworks) > 64 {
		return invalid("admin_networks", "at most 64 networks")
	}
	for _, network := range s.AdminNetworks {
		if _, err := ParseNetwork(network); err != nil {
			return invalid("admin_networks", "%v", err)
		}
	}
	if p := s.PasswordPolicy; p.MinLength < 8 || p.MinLength > 128 {
		return invalid("password_policy.min_length", "must be between 8 and 128")
	}
	if p := s.PasswordPolicy; p.MinClasses < 1 || p.MinClasses > 4 {
		return invalid("password_policy.min_classes", "must be between 1 and 4")
	}
	if l := s.Lockout; l.MaxFailures < 3 || l.MaxFailures > 100 {
		return invalid("lockout.max_failures", "must be between 3 and 100")
	}
	if l := s.Lockout; l.WindowMinutes < 1 || l.WindowMinutes > 1440 {
		return invalid("lockout.window_minutes", "must be between 1 and 1440")
	}
	if l := s.Lockout; l.LockMinutes < 1 || l.LockMinutes > 1440 {
		return invalid("lockout.lock_minutes", "must be between 1 and 1440")
	}
	if s.SessionDays < 1 || s.SessionDays > 365 {
		return invalid("session_days", "must be between 1 and 365")
	}
	if s.AloneMinutes < 1 || s.AloneMinutes > 1440 {
		return invalid("alone_minutes", "must be between 1 and 1440")
	}
	if s.ChatEditMinutes < 0 || s.ChatEditMinutes > 1440 {
		return invalid("chat_edit_minutes", "must be between 0 and 1440")
	}
	if s.MaxSocketsPerAddress < 1 || s.MaxSocketsPerAddress > 100000 {
		return invalid("max_sockets_per_address", "must be between 1 and 100000")
	}
	switch s.DefaultLobby {
	case "off", "guests", "uninvited", "everyone":
	default:
		return invalid("default_lobby", "must be off, guests, uninvited or everyone")
	}
	if s.DefaultMaxParticipants < 2 || s.DefaultMaxParticipants > 500 {
		return invalid("default_max_participants", "must be between 2 and 500")
	}
	return s.validateNetwork()
}

// validateNetwork checks the settings of the media's network.
func (s Settings) validateNetwork() error {
	if len(s.TrustedProxies) > 64 {
		return invalid("trusted_proxies", "at most 64 networks")
	}
	for _, network := range s.TrustedProxies {
		if _, err := ParseNetwork(network); err != nil {
			return invalid("trusted_proxies", "%v", err)
		}
	}
	if _, _, err := ParsePortRange(s.MediaUDPPorts); err != nil {
		return invalid("media_udp_ports", "%v", err)
	}
	if len(s.ExternalAddresses) > 16 {
		return invalid("external_addresses", "at most 16 addresses")
	}
	for _, address := range s.ExternalAddresses {
		if err := checkHostName(address); err != nil {
			return invalid("external_addresses", "%v", err)
		}
	}
	if s.PublicAddressSTUN != "" {
		if err := checkSTUNServer(s.PublicAddressSTUN); err != nil {
			return invalid("public_address_stun", "%v", err)
		}
	}
	if err := iceservers.Validate(s.ICEServers); err != nil {
		return invalid("ice_servers", "%v", err)
	}
	if err := s.TURN.validate(s.HTTPSPort); err != nil {
		return err
	}
	return s.SIP.validate(s.TURN.Port, s.HTTPSPort)
}

func (s SIP) validate(turnPort, httpsPort int) error {
	if s.Port < 1 || s.Port > 65535 {
		return invalid("sip.port", "must be between 1 and 65535")
	}
	if s.Port == turnPort {
		return invalid("sip.port", "must differ from turn.port, which already takes UDP and TCP port %d", turnPort)
	}
	if s.TLSPort < 0 || s.TLSPort > 65535 || s.TLSPort != 0 && (s.TLSPort == s.Port || s.TLSPort == turnPort || s.TLSPort == httpsPort) {
		return invalid("sip.tls_port", "must be between 1 and 65535 and differ from sip.port, turn.port and https_port, or 0 for no SIP over TLS")
	}
	low, high, err := ParsePortRange(s.RTPPorts)
	if err != nil || s.RTPPorts == "" {
		return invalid("sip.rtp_ports", "must be a range such as 50000-51999")
	}
	if high-low < 1 {
		return invalid("sip.rtp_ports", "must hold at least two ports")
	}
	if !slices.Contains(SIPVideoQualities, s.Video) {
		return invalid("sip.video", "must be off, low, standard or high")
	}
	if len(s.Trunks) > 32 {
		return invalid("sip.trunks", "at most 32 trunks")
	}
	hosts, defaults := map[string]bool{}, 0
	for i, t := range s.Trunks {
		if err := t.validate(fmt.Sprintf("sip.trunks[%d]", i)); err != nil {
			return err
		}
		if hosts[strings.ToLower(t.Host)] {
			return invalid(fmt.Sprintf("sip.trunks[%d].host", i), "there is already a trunk to %s: one per host", t.Host)
		}
		hosts[strings.ToLower(t.Host)] = true
		if t.Default {
			defaults++
		}
	}
	if defaults > 1 {
		return invalid("sip.trunks", "only one trunk may be the default for numbers")
	}
	return nil
}

func (t Trunk) validate(key string) error {
	if strings.TrimSpace(t.Name) == "" || len(t.Name) > 64 {
		return invalid(key+".name", "a name of 1 to 64 characters")
	}
	if err := checkHostName(t.Host); err != nil {
		return invalid(key+".host", "%v", err)
	}
	if t.Port < 0 || t.Port > 65535 {
		return invalid(key+".port", "must be between 1 and 65535, or 0 for 5060")
	}
	if t.Transport != "udp" && t.Transport != "tcp" {
		return invalid(key+".transport", `must be "udp" or "tcp"`)
	}
	if t.Registration != "off" && t.Registration != "permanent" {
		return invalid(key+".registration", `must be "off" or "permanent"`)
	}
	if t.Registration == "permanent" && (t.Login == "" || t.Password == "") {
		return invalid(key+".login", "registering needs a login and a password")
	}
	for _, field := range []struct{ name, value string }{{"login", t.Login}, {"auth_name", t.AuthName}, {"password", t.Password}} {
		if len(field.value) > 128 || strings.ContainsFunc(field.value, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return invalid(key+"."+field.name, "at most 128 printable characters")
		}
	}
	if strings.Trim(t.InternationalPrefix, "0123456789") != "" || len(t.InternationalPrefix) > 8 {
		return invalid(key+".international_prefix", "up to 8 digits, such as 00")
	}
	for _, codec := range t.Codecs {
		if codec != "PCMU" && codec != "PCMA" && codec != "G722" {
			return invalid(key+".codecs", "%q is not a codec the gateway offers (G722, PCMU, PCMA)", codec)
		}
	}
	return nil
}

func (t TURN) validate(httpsPort int) error {
	if t.Port < 1 || t.Port > 65535 {
		return invalid("turn.port", "must be between 1 and 65535")
	}
	if t.TLSPort < 0 || t.TLSPort > 65535 || t.TLSPort == t.Port {
		return invalid("turn.tls_port", "must be between 1 and 65535 and differ from turn.port, or 0 for no TURN over TLS")
	}
	if t.TLSPort == httpsPort {
		return invalid("turn.tls_port", "must differ from https_port, which already takes TCP port %d", httpsPort)
	}
	if _, _, err := ParsePortRange(t.RelayPorts); err != nil {
		return invalid("turn.relay_ports", "%v", err)
	}
	if t.MaxAllocationsPerUser < 1 || t.MaxAllocationsPerUser > 1000 {
		return invalid("turn.max_allocations_per_user", "must be between 1 and 1000")
	}
	return nil
}

// ICEServers is the list of STUN and TURN servers. Besides the JSON list
// the API returns, a change may give it as text in either form an
// administrator pastes (iceservers.Parse), or as the four fields of the
// simple form: {"stun": ..., "turn": ..., "login": ..., "password": ...}.
type ICEServers []iceservers.Server

func (l *ICEServers) UnmarshalJSON(data []byte) error {
	trimmed := bytes.TrimSpace(data)
	var list []iceservers.Server
	var err error
	switch {
	case bytes.Equal(trimmed, []byte("null")):
	case len(trimmed) > 0 && trimmed[0] == '"':
		var text string
		if err := json.Unmarshal(trimmed, &text); err != nil {
			return err
		}
		list, err = iceservers.Parse(text)
	case len(trimmed) > 0 && trimmed[0] == '{' && bytes.Contains(trimmed, []byte(`"login"`)):
		var fields struct {
			STUN     string `json:"stun"`
			TURN     string `json:"turn"`
			Login    string `json:"login"`
			Password string `json:"password"`
		}
		decoder := json.NewDecoder(bytes.NewReader(trimmed))
		decoder.DisallowUnknownFields()
		if err := decoder.Decode(&fields); err != nil {
			return fmt.Errorf("the simple form has the fields stun, turn, login and password: %w", err)
		}
		list, err = iceservers.FromFields(fields.STUN, fields.TURN, fields.Login, fields.Password)
	default:
		list, err = iceservers.Parse(string(trimmed))
	}
	if err != nil {
		return err
	}
	if list == nil {
		list = []iceservers.Server{}
	}
	*l = list
	return nil
}

// ParsePortRange reads "50000-51999"; "" is no range (0, 0).
func ParsePortRange(text string) (low, high uint16, err error) {
	if text == "" {
		return 0, 0, nil
	}
	first, last, found := strings.Cut(text, "-")
	from, err1 := strconv.ParseUint(strings.TrimSpace(first), 10, 16)
	to, err2 := strconv.ParseUint(strings.TrimSpace(last), 10, 16)
	if !found || err1 != nil || err2 != nil || from < 1024 || to < from {
		return 0, 0, fmt.Errorf("%q is not a port range such as 50000-51999 (ports from 1024 to 65535, low first), or empty for one port", text)
	}
	return uint16(from), uint16(to), nil
}

// checkHostName accepts an IP address or a DNS name.
func checkHostName(text string) error {
	if _, err := netip.ParseAddr(text); err == nil {
		return nil
	}
	labels := strings.Split(strings.TrimSuffix(text, "."), ".")
	if len(text) > 253 || len(labels) < 2 {
		return fmt.Errorf("%q is not an IP address or a DNS name such as meet.example.com", text)
	}
	for _, label := range labels {
		if len(label) < 1 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("%q is not an IP address or a DNS name such as meet.example.com", text)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("%q is not an IP address or a DNS name such as meet.example.com", text)
			}
		}
	}
	return nil
}

// checkSTUNServer accepts "stun:host" or "stun:host:port".
func checkSTUNServer(text string) error {
	rest, ok := strings.CutPrefix(text, "stun:")
	if !ok {
		return fmt.Errorf("%q must start with stun:, as in stun:stun.example.com:3478", text)
	}
	host, port, err := net.SplitHostPort(rest)
	if err != nil {
		host, port = strings.Trim(rest, "[]"), "3478"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q: the port must be a number from 1 to 65535", text)
	}
	return checkHostName(host)
}

// ParseNetwork reads "10.0.0.0/8", "2001:db8::/32" or a single address.
func ParseNetwork(text string) (netip.Prefix, error) {
	if prefix, err := netip.ParsePrefix(text); err == nil {
		if prefix != prefix.Masked() {
			return netip.Prefix{}, fmt.Errorf("%q has host bits set; did you mean %s?", text, prefix.Masked())
		}
		return prefix, nil
	}
	addr, err := netip.ParseAddr(text)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a network such as 192.168.0.0/16 or an address", text)
	}
	return netip.PrefixFrom(addr, addr.BitLen()), nil
}

// Service holds the current settings and stores changes.
type Service struct {
	db *store.DB

	mu       sync.RWMutex
	current  Settings
	watchers []func(before, after Settings)
}

// Load reads the stored settings over the defaults.
func Load(ctx context.Context, db *store.DB) (*Service, error) {
	current := Defaults()
	rows, err := db.SQL().QueryContext(ctx, `SELECT key, value FROM settings WHERE key NOT LIKE 'internal.%'`)
	if err != nil {
		return nil, fmt.Errorf("load settings: %w", err)
	}
	defer rows.Close()
	stored := map[string]json.RawMessage{}
	for rows.Next() {
		var key, value string
		if err := rows.Scan(&key, &value); err != nil {
			return nil, fmt.Errorf("load settings: %w", err)
		}
		stored[key] = json.RawMessage(value)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load settings: %w", err)
	}
	if len(stored) > 0 {
		// Keys this binary no longer knows are ignored rather than fatal, so
		// that going back one version keeps the server starting.
		encoded, _ := json.Marshal(stored)
		if err := json.Unmarshal(encoded, &current); err != nil {
			return nil, fmt.Errorf("load settings: %w", err)
		}
		if err := current.Validate(); err != nil {
			return nil, fmt.Errorf("stored settings are invalid (%w); fix them with the API or remove the row from %s", err, db.Path())
		}
	}
	return &Service{db: db, current: current}, nil
}

// Current returns a copy of the settings.
func (s *Service) Current() Settings {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.current.clone()
}

func (s Settings) clone() Settings {
	s.AdminNetworks = append([]string(nil), s.AdminNetworks...)
	s.ExternalAddresses = slices.Clone(s.ExternalAddresses)
	s.ICEServers = slices.Clone(s.ICEServers)
	s.TrustedProxies = slices.Clone(s.TrustedProxies)
	return s
}

// Watch calls fn after every change, outside any lock.
func (s *Service) Watch(fn func(before, after Settings)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.watchers = append(s.watchers, fn)
}

// ErrUnknownKey reports a key that is not a setting.
var ErrUnknownKey = errors.New("unknown setting")

// Update applies a partial change: a JSON object whose keys are settings.
// Nested objects (password_policy, lockout) are merged field by field. Nothing is
// stored unless every value is valid. It returns the new settings and the
// keys that changed.
func (s *Service) Update(ctx context.Context, actor eventlog.Actor, patch map[string]json.RawMessage) (Settings, []string, error) {
	s.mu.Lock()
	before := s.current.clone()
	after := before.clone()
	known := keysOf(before)
	for key := range patch {
		if _, ok := known[key]; !ok {
			s.mu.Unlock()
			return before, nil, &ValidationError{Key: key, Message: ErrUnknownKey.Error()}
		}
	}
	for key, value := range patch {
		if err := decodeStrict(key, value, &after); err != nil {
			s.mu.Unlock()
			return before, nil, err
		}
	}
	if err := after.Validate(); err != nil {
		s.mu.Unlock()
		return before, nil, err
	}
	beforeValues, afterValues := keysOf(before), keysOf(after)
	var changed []string
	for key, value := range afterValues {
		if !bytes.Equal(value, beforeValues[key]) {
			changed = append(changed, key)
		}
	}
	sort.Strings(changed)
	if len(changed) == 0 {
		s.mu.Unlock()
		return after, nil, nil
	}
	err := s.db.Write(ctx, func(tx *sql.Tx) error {
		now := store.NowMillis()
		details := map[string]any{}
		beforeDetail, afterDetail := map[string]json.RawMessage{}, map[string]json.RawMessage{}
		for _, key := range changed {
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
				 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
				key, string(afterValues[key]), now); err != nil {
				return fmt.Errorf("store setting %s: %w", key, err)
			}
			beforeDetail[key], afterDetail[key] = beforeValues[key], afterValues[key]
		}
		details["before"], details["after"] = beforeDetail, afterDetail
		return eventlog.Append(ctx, tx, eventlog.Entry{
			Kind: eventlog.SettingsChanged, Actor: actor, Subject: strings.Join(changed, ","), Details: details,
		})
	})
	if err != nil {
		s.mu.Unlock()
		return before, nil, err
	}
	s.current = after
	watchers := append([]func(before, after Settings){}, s.watchers...)
	s.mu.Unlock()
	for _, watch := range watchers {
		watch(before, after.clone())
	}
	return after, changed, nil
}

// keysOf encodes each setting separately, keyed by its JSON name.
func keysOf(s Settings) map[string]json.RawMessage {
	encoded, _ := json.Marshal(s)
	var keys map[string]json.RawMessage
	_ = json.Unmarshal(encoded, &keys)
	return keys
}

// decodeStrict decodes one key into dst, refusing unknown nested fields and
// values of the wrong type with a message that names the key.
func decodeStrict(key string, value json.RawMessage, dst *Settings) error {
	wrapped, _ := json.Marshal(map[string]json.RawMessage{key: value})
	decoder := json.NewDecoder(bytes.NewReader(wrapped))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(dst); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return &ValidationError{Key: key, Message: fmt.Sprintf("expected %s, got JSON %s", typeErr.Type, typeErr.Value)}
		}
		return &ValidationError{Key: key, Message: strings.TrimPrefix(err.Error(), "json: ")}
	}
	return nil
}
