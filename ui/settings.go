package ui

import (
	"context"
	"fmt"
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
// ("password_policy.min_length" for nested ones). guests_allowed is a Bool.
var settingKeys = []string{
	"server_name", "base_url", "listen_address", "https_port", "http_port", "admin_networks",
	"password_policy.min_length", "password_policy.min_classes",
	"lockout.max_failures", "lockout.window_minutes", "lockout.lock_minutes", "session_days",
	"alone_minutes", "chat_edit_minutes", "max_sockets_per_address", "default_lobby", "default_max_participants",
}

// SettingsModel is every administrator setting as the form shows it; Save
// sends what changed and the server's refusal names the field.
type SettingsModel struct {
	client *client.Client

	mu     sync.Mutex
	loaded client.Settings

	Values        map[string]binding.String
	GuestsAllowed binding.Bool
}

func newSettingsModel(c *client.Client) *SettingsModel {
	m := &SettingsModel{client: c, Values: map[string]binding.String{}, GuestsAllowed: binding.NewBool()}
	for _, key := range settingKeys {
		m.Values[key] = binding.NewString()
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
	_ = m.GuestsAllowed.Set(s.GuestsAllowed)
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
		"default_max_participants": itoa(s.DefaultMaxParticipants),
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
		if parent, child, nested := strings.Cut(key, "."); nested {
			group, _ := patch[parent].(map[string]any)
			if group == nil {
				group = map[string]any{}
				patch[parent] = group
			}
			group[child] = value
		} else {
			patch[key] = value
		}
	}
	if guests, _ := m.GuestsAllowed.Get(); guests != loaded.GuestsAllowed {
		patch["guests_allowed"] = guests
	}
	return patch, nil
}

func settingValue(key, text string) (any, error) {
	switch key {
	case "server_name", "base_url", "listen_address", "default_lobby":
		return strings.TrimSpace(text), nil
	case "admin_networks":
		networks := []string{}
		for _, line := range strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == ',' }) {
			if line = strings.TrimSpace(line); line != "" {
				networks = append(networks, line)
			}
		}
		return networks, nil
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
	lobby := widget.NewSelect(labelsOf(lobbyChoices), func(label string) { _ = m.Values["default_lobby"].Set(valueOf(lobbyChoices, label)) })
	m.Values["default_lobby"].AddListener(binding.NewDataListener(func() {
		value, _ := m.Values["default_lobby"].Get()
		if label := labelOf(lobbyChoices, value); lobby.Selected != label {
			lobby.SetSelected(label)
		}
	}))

	server := newFieldSet()
	server.add("server_name", "Server name", entry("server_name"), "People see it when they sign in and in invitations.")
	server.add("base_url", "Address in links", entry("base_url"), "https://meet.example.com, or empty for this computer's first network address.")
	server.add("listen_address", "Listen address", entry("listen_address"), "One of this computer's IP addresses, or empty for all of them.")
	server.add("https_port", "HTTPS port", entry("https_port"), "If it is taken, Parley uses the next free one.")
	server.add("http_port", "HTTP port", entry("http_port"), "Only redirects browsers to HTTPS; 0 for none.")
	security := newFieldSet()
	security.add("admin_networks", "Admin networks", networks, "One network or address per line. Administration works from these and from this computer.")
	security.add("password_policy.min_length", "Password length", entry("password_policy.min_length"), "At least this many characters (8 to 128).")
	security.add("password_policy.min_classes", "Password mix", entry("password_policy.min_classes"), "Of lower case, upper case, digits and symbols, how many kinds (1 to 4).")
	security.add("lockout.max_failures", "Lock after", entry("lockout.max_failures"), "Wrong passwords in a row (3 to 100)…")
	security.add("lockout.window_minutes", "within", entry("lockout.window_minutes"), "…minutes (1 to 1440)…")
	security.add("lockout.lock_minutes", "for", entry("lockout.lock_minutes"), "…minutes (1 to 1440). Administrators can unlock sooner.")
	security.add("session_days", "Sessions last", entry("session_days"), "Days before people sign in again (1 to 365).")
	meetings := newFieldSet()
	meetings.add("guests_allowed", "Guests", widget.NewCheckWithData("People without an account may join by link", m.GuestsAllowed), "")
	meetings.add("default_lobby", "Default lobby", lobby, "What new meetings get when their creator does not say.")
	meetings.add("default_max_participants", "Default size", entry("default_max_participants"), "Participants in a new meeting (2 to 500).")
	meetings.add("alone_minutes", "End when alone", entry("alone_minutes"), "Minutes one person may stay alone before the meeting ends (1 to 1440).")
	meetings.add("chat_edit_minutes", "Chat edits", entry("chat_edit_minutes"), "Minutes authors may edit or delete a message (0 to 1440).")
	meetings.add("max_sockets_per_address", "Connections", entry("max_sockets_per_address"), "Meeting connections allowed from one address (1 to 100000).")
	v.fields = mergeFieldSets(server, security, meetings)

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
			v.certificate.content()))))
	return v
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
