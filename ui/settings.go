package ui

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/data/binding"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/parleyhq/parley/server/client"
)

// settingKeys are the settings the form edits as text, by their API key
// ("password_policy.min_length" for nested ones). ice_servers has an
// editor of its own (iceServersEditor) and the check boxes are flagKeys.
var settingKeys = []string{
	"server_name", "base_url", "listen_address", "https_port", "http_port", "admin_networks",
	"password_policy.min_length", "password_policy.min_classes",
	"lockout.max_failures", "lockout.window_minutes", "lockout.lock_minutes", "session_days",
	"alone_minutes", "chat_edit_minutes", "max_sockets_per_address", "default_lobby", "default_max_participants",
	"media_udp_ports", "external_addresses", "public_address_stun", "trusted_proxies",
	"turn.port", "turn.tls_port", "turn.relay_ports", "turn.max_allocations_per_user",
	"sip.port", "sip.tls_port", "sip.rtp_ports", "sip.video",
}

// phoneVideoChoices are the values of sip.video, as the form names them.
var phoneVideoChoices = []choice{
	{"off", "Off: calls are audio only"}, {"low", "Low: 320×180, 15 frames a second"},
	{"standard", "Standard: 640×360, 25 frames a second"}, {"high", "High: 1280×720, 30 frames a second"},
}

// flagKeys are the settings the form edits as check boxes.
var flagKeys = []string{"guests_allowed", "turn.enabled", "turn.allow_private_peers", "relay_only", "sip.enabled", "sip.require_auth"}

// SettingsModel is every administrator setting as the form shows it; Save
// sends what changed and the server's refusal names the field.
type SettingsModel struct {
	client *client.Client

	mu     sync.Mutex
	loaded client.Settings

	Values map[string]binding.String
	Flags  map[string]binding.Bool
	ICE    *ICEServersModel
	// Trunks are the SIP trunks as the form holds them; Save sends them
	// when they differ from the loaded ones.
	Trunks binding.List[client.Trunk]
}

func newSettingsModel(c *client.Client) *SettingsModel {
	m := &SettingsModel{client: c, Values: map[string]binding.String{}, Flags: map[string]binding.Bool{}, ICE: newICEServersModel(c),
		Trunks: binding.NewList(func(a, b client.Trunk) bool { return reflect.DeepEqual(a, b) })}
	for _, key := range settingKeys {
		m.Values[key] = binding.NewString()
	}
	for _, key := range flagKeys {
		m.Flags[key] = binding.NewBool()
	}
	return m
}

// Loaded is the settings as the server last said.
func (m *SettingsModel) Loaded() client.Settings {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.loaded
}

// Load reads the settings into the form.
func (m *SettingsModel) Load(ctx context.Context) error {
	s, err := m.client.Settings(ctx)
	if err != nil {
		return err
	}
	m.show(s)
	return nil
}

func (m *SettingsModel) show(s client.Settings) {
	m.mu.Lock()
	m.loaded = s
	m.mu.Unlock()
	for key, text := range settingTexts(s) {
		_ = m.Values[key].Set(text)
	}
	for key, on := range settingFlags(s) {
		_ = m.Flags[key].Set(on)
	}
	m.ICE.show(s.ICEServers)
	_ = m.Trunks.Set(slices.Clone(s.SIP.Trunks))
}

// settingTexts writes each setting as the form's text.
func settingTexts(s client.Settings) map[string]string {
	itoa := strconv.Itoa
	return map[string]string{
		"server_name": s.ServerName, "base_url": s.BaseURL, "listen_address": s.ListenAddress,
		"https_port": itoa(s.HTTPSPort), "http_port": itoa(s.HTTPPort), "admin_networks": strings.Join(s.AdminNetworks, "\n"),
		"password_policy.min_length": itoa(s.PasswordPolicy.MinLength), "password_policy.min_classes": itoa(s.PasswordPolicy.MinClasses),
		"lockout.max_failures": itoa(s.Lockout.MaxFailures), "lockout.window_minutes": itoa(s.Lockout.WindowMinutes),
		"lockout.lock_minutes": itoa(s.Lockout.LockMinutes), "session_days": itoa(s.SessionDays),
		"alone_minutes": itoa(s.AloneMinutes), "chat_edit_minutes": itoa(s.ChatEditMinutes),
		"max_sockets_per_address": itoa(s.MaxSocketsPerAddress), "default_lobby": s.DefaultLobby,
		"default_max_participants": itoa(s.DefaultMaxParticipants), "media_udp_ports": s.MediaUDPPorts,
		"external_addresses": strings.Join(s.ExternalAddresses, "\n"), "public_address_stun": s.PublicAddressSTUN,
		"trusted_proxies": strings.Join(s.TrustedProxies, "\n"),
		"turn.port":       itoa(s.TURN.Port), "turn.tls_port": itoa(s.TURN.TLSPort), "turn.relay_ports": s.TURN.RelayPorts,
		"turn.max_allocations_per_user": itoa(s.TURN.MaxAllocationsPerUser),
		"sip.port":                      itoa(s.SIP.Port), "sip.tls_port": itoa(s.SIP.TLSPort), "sip.rtp_ports": s.SIP.RTPPorts,
		"sip.video": s.SIP.Video,
	}
}

// settingFlags reads each check box's setting.
func settingFlags(s client.Settings) map[string]bool {
	return map[string]bool{
		"guests_allowed": s.GuestsAllowed, "turn.enabled": s.TURN.Enabled,
		"turn.allow_private_peers": s.TURN.AllowPrivatePeers, "relay_only": s.RelayOnly,
		"sip.enabled": s.SIP.Enabled, "sip.require_auth": s.SIP.RequireAuth,
	}
}

// Patch is the change the form holds: each setting whose text differs
// from the loaded one, typed as the API wants it.
func (m *SettingsModel) Patch() (map[string]any, error) {
	patch := map[string]any{}
	loaded := m.Loaded()
	before := settingTexts(loaded)
	for _, key := range settingKeys {
		text, _ := m.Values[key].Get()
		if text == before[key] {
			continue
		}
		value, err := settingValue(key, text)
		if err != nil {
			return nil, err
		}
		setPatch(patch, key, value)
	}
	wasOn := settingFlags(loaded)
	for _, key := range flagKeys {
		if on, _ := m.Flags[key].Get(); on != wasOn[key] {
			setPatch(patch, key, on)
		}
	}
	if servers, edited := m.ICE.Edited(); edited {
		patch["ice_servers"] = servers
	}
	if trunks, _ := m.Trunks.Get(); !sameTrunks(trunks, loaded.SIP.Trunks) {
		setPatch(patch, "sip.trunks", append([]client.Trunk{}, trunks...))
	}
	return patch, nil
}

// sameTrunks compares trunk lists, none and empty alike.
func sameTrunks(a, b []client.Trunk) bool {
	return len(a) == 0 && len(b) == 0 || reflect.DeepEqual(a, b)
}

// setPatch puts a value in a patch by its API key; nested settings go in
// their parent's object, which the server merges field by field.
func setPatch(patch map[string]any, key string, value any) {
	parent, child, nested := strings.Cut(key, ".")
	if !nested {
		patch[key] = value
		return
	}
	group, _ := patch[parent].(map[string]any)
	if group == nil {
		group = map[string]any{}
		patch[parent] = group
	}
	group[child] = value
}

func settingValue(key, text string) (any, error) {
	switch key {
	case "server_name", "base_url", "listen_address", "default_lobby", "media_udp_ports", "public_address_stun", "turn.relay_ports", "sip.rtp_ports", "sip.video":
		return strings.TrimSpace(text), nil
	case "admin_networks", "external_addresses", "trusted_proxies":
		items := []string{}
		for _, line := range strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == ',' }) {
			if line = strings.TrimSpace(line); line != "" {
				items = append(items, line)
			}
		}
		return items, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(text))
	if err != nil {
		return nil, fieldError(key, "A whole number.")
	}
	return n, nil
}

// Save sends the changes and returns the keys the server changed.
func (m *SettingsModel) Save(ctx context.Context) ([]string, error) {
	patch, err := m.Patch()
	if err != nil {
		return nil, err
	}
	if len(patch) == 0 {
		return nil, nil
	}
	saved, changed, err := m.client.UpdateSettings(ctx, patch)
	if err != nil {
		return nil, err
	}
	m.show(saved)
	return changed, nil
}

// movesListener reports whether changed settings restart the web
// listener on another port or address.
func movesListener(changed []string) bool {
	return slices.Contains(changed, "https_port") || slices.Contains(changed, "listen_address")
}

// settingsView is the settings tab: the settings form and the certificate.
type settingsView struct {
	s           *shell
	session     *Session
	model       *SettingsModel
	fields      *fieldSet
	ice         *iceServersEditor
	trunks      *trunksEditor
	saved       *widget.Label
	save        *widget.Button
	certificate *certificateView
	root        fyne.CanvasObject
}

func newSettingsView(s *shell, session *Session) *settingsView {
	m := newSettingsModel(session.Client)
	v := &settingsView{s: s, session: session, model: m, fields: newFieldSet(), saved: caption("")}
	entry := func(key string) *widget.Entry { return boundEntry(m.Values[key]) }
	networks := bindEntry(widget.NewMultiLineEntry(), m.Values["admin_networks"])
	networks.SetMinRowsVisible(4)
	proxies := bindEntry(widget.NewMultiLineEntry(), m.Values["trusted_proxies"])
	proxies.SetMinRowsVisible(2)
	lobby := choiceSelect(m.Values["default_lobby"], lobbyChoices)

	server := newFieldSet()
	server.add("server_name", "Server name", entry("server_name"), "People see it when they sign in and in invitations.")
	server.add("base_url", "Address in links", entry("base_url"), "https://meet.example.com, or empty for this computer's first network address.")
	server.add("listen_address", "Listen address", entry("listen_address"), "One of this computer's IP addresses, or empty for all of them.")
	server.add("https_port", "HTTPS port", entry("https_port"), "If it is taken, Parley uses the next free one.")
	server.add("http_port", "HTTP port", entry("http_port"), "Only redirects browsers to HTTPS; 0 for none.")
	security := newFieldSet()
	security.add("admin_networks", "Admin networks", networks, "One network or address per line. Administration works from these and from this computer.")
	security.add("trusted_proxies", "Trusted proxies", proxies, "Reverse proxies in front of Parley, one network or address per line: only theirs are believed about who the client is.")
	security.add("password_policy.min_length", "Password length", entry("password_policy.min_length"), "At least this many characters (8 to 128).")
	security.add("password_policy.min_classes", "Password mix", entry("password_policy.min_classes"), "Of lower case, upper case, digits and symbols, how many kinds (1 to 4).")
	security.add("lockout.max_failures", "Lock after", entry("lockout.max_failures"), "Wrong passwords in a row (3 to 100)…")
	security.add("lockout.window_minutes", "within", entry("lockout.window_minutes"), "…minutes (1 to 1440)…")
	security.add("lockout.lock_minutes", "for", entry("lockout.lock_minutes"), "…minutes (1 to 1440). Administrators can unlock sooner.")
	security.add("session_days", "Sessions last", entry("session_days"), "Days before people sign in again (1 to 365).")
	meetings := newFieldSet()
	meetings.add("guests_allowed", "Guests", widget.NewCheckWithData("People without an account may join by link", m.Flags["guests_allowed"]), "")
	meetings.add("default_lobby", "Default lobby", lobby, "What new meetings get when their creator does not say.")
	meetings.add("default_max_participants", "Default size", entry("default_max_participants"), "Participants in a new meeting (2 to 500).")
	meetings.add("alone_minutes", "End when alone", entry("alone_minutes"), "Minutes one person may stay alone before the meeting ends (1 to 1440).")
	meetings.add("chat_edit_minutes", "Chat edits", entry("chat_edit_minutes"), "Minutes authors may edit or delete a message (0 to 1440).")
	meetings.add("max_sockets_per_address", "Connections", entry("max_sockets_per_address"), "Meeting connections allowed from one address (1 to 100000).")
	network := v.networkFields(entry)
	phones := newFieldSet()
	phones.add("sip.enabled", "SIP gateway", widget.NewCheckWithData("Desk phones, softphones and PBXs join meetings over SIP", m.Flags["sip.enabled"]), "")
	phones.add("sip.port", "Port", entry("sip.port"), "UDP and TCP; 5060 is the usual one. If it is taken, Parley uses the next free one.")
	phones.add("sip.tls_port", "TLS port", entry("sip.tls_port"), "SIP over TLS with this server's certificate, 5061 usually; 0 for none.")
	phones.add("sip.rtp_ports", "Call ports", entry("sip.rtp_ports"), "The UDP range of the calls' media, one port for a call's audio and one for its video, such as 50000-51999.")
	phones.add("sip.video", "Video phones", choiceSelect(m.Values["sip.video"], phoneVideoChoices),
		"What phones that send H.264 see of the meeting: the active speaker or a shared screen, encoded for each phone, never beyond what it decodes. Their own video goes to the meeting as it is.")
	phones.add("sip.require_auth", "Who may call", widget.NewCheckWithData("Only phones with a Parley SIP password (set on each user)", m.Flags["sip.require_auth"]),
		"Otherwise anyone who reaches this server may dial in, as a guest, subject to each meeting's PIN and lobby.")
	v.trunks = newTrunksEditor(s, m, session.canAdminister())
	phones.add("sip.trunks", "Trunks", v.trunks.content, "PBXs and providers that moderators call numbers through (docs/sip.md).")
	v.fields = mergeFieldSets(server, security, meetings, network, phones)

	v.save = widget.NewButtonWithIcon("Save settings", theme.DocumentSaveIcon(), v.submit)
	v.save.Importance = widget.HighImportance
	if !session.canAdminister() {
		v.save.Disable()
	}
	v.certificate = newCertificateView(s, session)
	top := container.NewHBox(pageTitle("Settings"), layout.NewSpacer(), v.saved, v.save)
	v.root = container.NewBorder(container.NewPadded(container.NewVBox(top, v.fields.general)), nil, nil, nil,
		container.NewVScroll(container.NewPadded(container.NewVBox(
			card("Server", "", server.content()),
			card("Sign-in and security", "", security.content()),
			card("Meetings", "", meetings.content()),
			card("Network and media", "How media reaches this server through firewalls and NAT.", network.content()),
			card("Phones", "The SIP gateway: phones dial sip:<meeting ID>@this server.", phones.content()),
			v.certificate.content()))))
	return v
}

// networkFields are the settings of media's way through the network:
// ports, public addresses, STUN and TURN servers, and relaying.
func (v *settingsView) networkFields(entry func(key string) *widget.Entry) *fieldSet {
	m := v.model
	addresses := bindEntry(widget.NewMultiLineEntry(), m.Values["external_addresses"])
	addresses.SetMinRowsVisible(2)
	addresses.SetPlaceHolder("None: this computer's own addresses reach it")
	withPlaceHolder := func(key, placeholder string) *widget.Entry {
		e := entry(key)
		e.SetPlaceHolder(placeholder)
		return e
	}
	network := newFieldSet()
	network.add("media_udp_ports", "Media ports", withPlaceHolder("media_udp_ports", "One port: the HTTPS port number"),
		"Empty: media uses the HTTPS port number over UDP, one port to open. Or a UDP range such as 50000-51999.")
	network.add("external_addresses", "Public addresses", addresses,
		"Behind a 1:1 NAT: the public IP addresses or DNS names that reach this computer, one per line.")
	network.add("public_address_stun", "Find public address", withPlaceHolder("public_address_stun", "Do not ask"),
		"A STUN server Parley asks for its public address when it starts, such as stun:stun.example.com:3478; empty for none.")
	network.heading("STUN and TURN servers")
	v.ice = newICEServersEditor(v.s, m.ICE, network)
	if !v.session.canAdminister() {
		v.ice.test.Disable() // the check is for administrators
	}
	network.add("ice_servers", "Servers", v.ice.editor,
		"Handed to every participant besides the built-in TURN server. The list takes JSON, or the form { 'url': 'turn:…', 'username': '…', 'credential': '…' }.")
	network.extra("", v.ice.tester)
	network.heading("Built-in TURN server")
	network.add("turn.enabled", "TURN server", widget.NewCheckWithData("Relay media for people who cannot reach this server directly", m.Flags["turn.enabled"]), "")
	network.add("turn.port", "Port", entry("turn.port"), "UDP and TCP; 3478 is the usual one.")
	network.add("turn.tls_port", "TLS port", entry("turn.tls_port"), "TURN over TLS, such as 5349, or 443 to pass strict firewalls; 0 for none.")
	network.add("turn.relay_ports", "Relay ports", withPlaceHolder("turn.relay_ports", "Any free port"), "The UDP range relayed media uses, such as 49152-65535; empty for any free port.")
	network.add("turn.allow_private_peers", "Private peers", widget.NewCheckWithData("Allow relaying to this computer and loopback addresses", m.Flags["turn.allow_private_peers"]),
		"Leave off unless you test: it lets anyone with TURN access reach services on this computer.")
	network.add("turn.max_allocations_per_user", "Relays per person", entry("turn.max_allocations_per_user"), "Relays one person may hold at once (1 to 1000).")
	network.heading("Relaying")
	network.add("relay_only", "Relay only", widget.NewCheckWithData("Send the media of every meeting through TURN", m.Flags["relay_only"]),
		"For networks that block direct connections; media takes a detour through the relay and may lag a little.")
	return network
}

// mergeFieldSets lets one error display cover fields laid out in several
// cards.
func mergeFieldSets(sets ...*fieldSet) *fieldSet {
	merged := newFieldSet()
	for _, set := range sets {
		for key, field := range set.byKey {
			merged.byKey[key] = field
		}
	}
	return merged
}

func (v *settingsView) content() fyne.CanvasObject { return v.root }

func (v *settingsView) shown(ctx context.Context) {
	v.s.background(v.model.Load, func(err error) { v.fields.show(err) })
	v.certificate.shown(ctx)
}

func (v *settingsView) submit() {
	v.fields.show(nil)
	v.saved.SetText("")
	v.save.Disable()
	oldPort := v.model.Loaded().HTTPSPort
	var changed []string
	v.s.background(func(ctx context.Context) (err error) {
		changed, err = v.model.Save(ctx)
		return err
	}, func(err error) {
		v.save.Enable()
		if err != nil {
			v.fields.show(err)
			return
		}
		if len(changed) == 0 {
			v.saved.SetText("Nothing to save.")
			return
		}
		v.saved.SetText(fmt.Sprintf("Saved: %s.", strings.Join(changed, ", ")))
		if movesListener(changed) {
			v.s.followMove(v.session, oldPort, v.model.Loaded())
		}
	})
}

// followMove reconnects after the server's web listener moved.
func (s *shell) followMove(session *Session, oldPort int, now client.Settings) {
	s.showProgress("Moving the server…", fmt.Sprintf("Parley now listens on port %d; reconnecting.", now.HTTPSPort))
	var moved *Session
	s.background(func(ctx context.Context) (err error) {
		if session.Host != nil {
			moved, err = reconnectHost(ctx, session, oldPort, now.HTTPSPort != oldPort)
		} else {
			moved, err = s.reconnectRemote(ctx, session, now.HTTPSPort)
		}
		return err
	}, func(err error) {
		if err != nil {
			s.showError("Parley lost the server after it moved", err)
			s.showStart()
			return
		}
		s.openConsole(moved, tabSettings)
	})
}

// choiceSelect is a drop-down bound to a setting's value, showing its
// choices' labels.
func choiceSelect(value binding.String, choices []choice) *widget.Select {
	selector := widget.NewSelect(labelsOf(choices), func(label string) { _ = value.Set(valueOf(choices, label)) })
	value.AddListener(binding.NewDataListener(func() {
		current, _ := value.Get()
		if label := labelOf(choices, current); selector.Selected != label {
			selector.SetSelected(label)
		}
	}))
	return selector
}
