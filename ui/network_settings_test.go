package ui

import (
	"context"
	"image"
	"image/png"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/parleyhq/parley/server/client"
)

// settingsTab shows the settings tab of the owner's server and waits for
// it to load.
func settingsTab(t *testing.T, a *uiApp, s *shell, owner *Session) *settingsView {
	t.Helper()
	v := showTab(a, s, func() *settingsView { return newSettingsView(s, owner) })
	eventually(t, "the settings", 10*time.Second, func() bool { return v.model.Loaded().HTTPSPort != 0 })
	return v
}

// saveSettings taps Save and waits for the answer.
func saveSettings(t *testing.T, a *uiApp, v *settingsView) {
	t.Helper()
	a.run(func() { test.Tap(v.save) })
	eventually(t, "the save", 10*time.Second, func() bool {
		var enabled bool
		a.run(func() { enabled = !v.save.Disabled() })
		return enabled
	})
}

// TestNetworkSettingsLoadAndTest shows the network settings an
// administrator stored, and tests the STUN and TURN servers clients get:
// the built-in TURN server over UDP and TCP, and a configured STUN server
// (the built-in one again, which answers STUN too). Every address is on
// loopback: the base URL makes the built-in TURN server's too. With
// PARLEY_TEST_SCREENSHOTS=dir it keeps a picture of the section.
func TestNetworkSettingsLoadAndTest(t *testing.T) {
	a := newUIApp(t)
	host, owner := ownerSession(t)
	ctx := context.Background()
	// turnRunning waits for the built-in TURN server to run, started after
	// a time: new TURN settings restart it, and a test of the servers while
	// the old one closes would fail.
	turnRunning := func(after time.Time) time.Time {
		var since time.Time
		eventually(t, "the built-in TURN server", 20*time.Second, func() bool {
			status, err := owner.Client.Status(ctx)
			turn, ok := status.Subsystem("turn")
			since = turn.Since
			return err == nil && ok && turn.State == "running" && turn.Since.After(after)
		})
		return since
	}
	started := turnRunning(time.Time{})
	if _, _, err := owner.Client.UpdateSettings(ctx, map[string]any{"base_url": "https://127.0.0.1:" + strconv.Itoa(host.HTTPSPort()) + "/"}); err != nil {
		t.Fatal(err)
	}
	// The built-in server moves to the next port when its own is taken.
	builtIn, err := owner.Client.CheckICEServers(ctx, nil)
	if err != nil || len(builtIn) == 0 || !strings.HasPrefix(builtIn[0].URL, "turn:127.0.0.1:") {
		t.Fatalf("what clients get: %+v %v", builtIn, err)
	}
	stun := "stun:" + strings.TrimPrefix(strings.Split(builtIn[0].URL, "?")[0], "turn:")
	stored, _, err := owner.Client.UpdateSettings(ctx, map[string]any{
		"media_udp_ports":     "50000-50999",
		"external_addresses":  []string{"203.0.113.5", "198.51.100.7"},
		"public_address_stun": stun, // asked only in one-port mode
		"ice_servers":         []client.ICEServer{{URLs: []string{stun}}},
		"turn":                map[string]any{"relay_ports": "49152-49407", "allow_private_peers": true, "max_allocations_per_user": 20},
		"relay_only":          true,
	})
	if err != nil {
		t.Fatal(err)
	}
	turnRunning(started)
	s := newTestShell(t, a, nil)
	v := settingsTab(t, a, s, owner)

	m := v.model
	for key, want := range map[string]string{
		"media_udp_ports": "50000-50999", "external_addresses": "203.0.113.5\n198.51.100.7", "public_address_stun": stun,
		"turn.port": strconv.Itoa(stored.TURN.Port), "turn.tls_port": "0", "turn.relay_ports": "49152-49407",
		"turn.max_allocations_per_user": "20",
	} {
		if got, _ := m.Values[key].Get(); got != want {
			t.Errorf("%s shows %q, want %q", key, got, want)
		}
	}
	for key, want := range map[string]bool{"turn.enabled": true, "turn.allow_private_peers": true, "relay_only": true} {
		if got, _ := m.Flags[key].Get(); got != want {
			t.Errorf("%s is %v", key, got)
		}
	}
	if text, _ := m.ICE.Text.Get(); text != "[\n  {\n    \"urls\": [\n      \""+stun+"\"\n    ]\n  }\n]" {
		t.Errorf("the list shows %q", text)
	}
	if simple, _ := m.ICE.Simple["stun"].Get(); simple != stun {
		t.Errorf("the simple form's STUN server is %q", simple)
	}
	if patch, err := m.Patch(); err != nil || len(patch) != 0 {
		t.Errorf("untouched, the form would send %v %v", patch, err)
	}

	a.run(func() { test.Tap(v.ice.test) })
	eventually(t, "the test's results", 30*time.Second, func() bool {
		var testing bool
		a.run(func() { testing = v.ice.test.Disabled() })
		return !testing && m.ICE.Checks.Length() > 0
	})
	results := m.ICE.checks()
	var urls []string
	for _, r := range results {
		urls = append(urls, r.URL)
		if !r.OK || r.Detail == "" {
			t.Errorf("%s: ok=%v %q %q", r.URL, r.OK, r.Detail, r.Error)
		}
	}
	for _, want := range []string{"transport=udp", "transport=tcp", stun} {
		if !slices.ContainsFunc(urls, func(url string) bool { return strings.Contains(url, want) }) {
			t.Errorf("no %s among the URLs tested: %v", want, urls)
		}
	}
	var shown, status string
	a.run(func() {
		for _, o := range objectsIn(v.ice.checks) {
			switch o := o.(type) {
			case *widget.RichText:
				shown += o.String() + "\n"
			case *widget.Label:
				shown += o.Text + "\n"
			}
		}
		status = v.ice.status.Text
	})
	for _, r := range results {
		if !strings.Contains(shown, r.URL) || !strings.Contains(shown, r.Detail) || !strings.Contains(shown, duration(r.Millis)) {
			t.Errorf("the results do not show %s, %q and its time:\n%s", r.URL, r.Detail, shown)
		}
	}
	if !strings.Contains(status, "the servers clients get now") || !strings.Contains(status, "every one answered") {
		t.Errorf("the test's summary: %q", status)
	}
	var marks int
	a.run(func() {
		for _, o := range objectsIn(v.ice.checks) {
			if icon, ok := o.(*widget.Icon); ok && strings.HasPrefix(icon.Resource.Name(), "success_") {
				marks++
			}
		}
	})
	if marks != len(results) {
		t.Errorf("%d check marks for %d results", marks, len(results))
	}
	captureSection(t, a, s, "Network and media", "network-settings")

	// Unsaved servers are tested as the form has them: here one that
	// nothing answers.
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nobody := "stun:" + silent.LocalAddr().String()
	silent.Close()
	_ = m.ICE.Text.Set("{ 'url': '" + nobody + "' }")
	a.run(func() { test.Tap(v.ice.test) })
	eventually(t, "the test of the form's server", 30*time.Second, func() bool {
		checks := m.ICE.checks()
		return len(checks) == 1 && checks[0].URL == nobody
	})
	if r := m.ICE.checks()[0]; r.OK || r.Error == "" {
		t.Errorf("a server nobody runs: ok=%v %q", r.OK, r.Error)
	}
	eventually(t, "the summary", 10*time.Second, func() bool {
		a.run(func() { status = v.ice.status.Text })
		return strings.Contains(status, "the servers in the form, not saved yet: 1 of 1 did not work")
	})
	var crosses int
	a.run(func() {
		for _, o := range objectsIn(v.ice.checks) {
			if icon, ok := o.(*widget.Icon); ok && strings.HasPrefix(icon.Resource.Name(), "error_") {
				crosses++
			}
		}
	})
	if crosses != 1 {
		t.Errorf("%d crosses for a server that does not answer", crosses)
	}
	captureSection(t, a, s, "Network and media", "network-settings-failed")
}

// TestICEServersSaveAndRefuse pastes servers in the loose form an
// administrator copies from elsewhere, then a list with a bad entry, then
// uses the simple form: the first and last are stored, the bad one shows
// the server's message for that entry under the field and stores nothing.
func TestICEServersSaveAndRefuse(t *testing.T) {
	a := newUIApp(t)
	_, owner := ownerSession(t)
	s := newTestShell(t, a, nil)
	v := settingsTab(t, a, s, owner)
	ctx := context.Background()
	stored := func() []client.ICEServer {
		t.Helper()
		settings, err := owner.Client.Settings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return settings.ICEServers
	}
	errorOf := func(key string) string {
		var text string
		a.run(func() { text = v.fields.errorOf(key) })
		return text
	}

	_ = v.model.ICE.Text.Set("{ 'url': 'stun:127.0.0.1:3478' },\n{ 'url': 'turn:127.0.0.1:3478', 'username': 'user87', 'credential': 'Secret_87' }")
	saveSettings(t, a, v)
	want := []client.ICEServer{{URLs: []string{"stun:127.0.0.1:3478"}}, {URLs: []string{"turn:127.0.0.1:3478"}, Username: "user87", Credential: "Secret_87"}}
	if got := stored(); !equalICEServers(got, want) {
		t.Fatalf("stored %+v", got)
	}
	var saved string
	a.run(func() { saved = v.saved.Text })
	if text, _ := v.model.ICE.Text.Get(); saved != "Saved: ice_servers." || !strings.HasPrefix(text, "[\n  {\n    \"urls\"") {
		t.Errorf("after saving: %q, and the list shows %q", saved, text)
	}

	_ = v.model.ICE.Text.Set("{ 'url': 'stun:127.0.0.1:3478' },\n{ 'url': 'turn:h:abc', 'username': 'u', 'credential': 'p' },\n{ 'url': 'turn:127.0.0.1' }")
	saveSettings(t, a, v)
	got := errorOf("ice_servers")
	lines := strings.Split(got, "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], `Server 2, "turn:h:abc": port must be`) ||
		!strings.HasPrefix(lines[1], "Server 3, username:") || !strings.HasPrefix(lines[2], "Server 3, credential:") {
		t.Errorf("under the servers: %q", got)
	}
	if got := stored(); !equalICEServers(got, want) {
		t.Errorf("a refused list changed the servers to %+v", got)
	}
	captureSection(t, a, s, "Network and media", "network-settings-refused")
	// Testing the refused list unsaved says the same.
	a.run(func() { test.Tap(v.ice.test) })
	eventually(t, "the test's answer", 10*time.Second, func() bool { return errorOf("ice_servers") != "" })
	if tested := errorOf("ice_servers"); tested != got {
		t.Errorf("testing the refused list says %q", tested)
	}

	// The simple form is sent when it is what was edited, the list's
	// edits notwithstanding.
	_ = v.model.ICE.SimpleShown.Set(true)
	for key, value := range map[string]string{"stun": "127.0.0.1:3478", "turn": "127.0.0.1:3479", "login": "anna", "password": "Pass-Word-9"} {
		_ = v.model.ICE.Simple[key].Set(value)
	}
	saveSettings(t, a, v)
	if got := errorOf("ice_servers"); got != "" {
		t.Errorf("a good simple form shows %q", got)
	}
	simple := []client.ICEServer{{URLs: []string{"stun:127.0.0.1:3478"}}, {URLs: []string{"turn:127.0.0.1:3479"}, Username: "anna", Credential: "Pass-Word-9"}}
	if got := stored(); !equalICEServers(got, simple) {
		t.Errorf("the simple form stored %+v", got)
	}
	captureSection(t, a, s, "Network and media", "network-settings-simple")
}

func equalICEServers(a, b []client.ICEServer) bool {
	return slices.EqualFunc(a, b, func(x, y client.ICEServer) bool {
		return slices.Equal(x.URLs, y.URLs) && x.Username == y.Username && x.Credential == y.Credential
	})
}

// TestConferenceEditorRelayOnly creates a conference whose media goes
// through TURN from the editor, and turns that off again.
func TestConferenceEditorRelayOnly(t *testing.T) {
	a := newUIApp(t)
	_, owner := ownerSession(t)
	ctx := context.Background()
	s := newTestShell(t, a, nil)
	v := showTab(a, s, func() *conferencesView { return newConferencesView(s, owner) })
	const relayLabel = "Send all media through the relay (TURN) server"
	relayCheck := func() *widget.Check {
		for _, o := range objectsIn(topDialog(s.win)) {
			if c, ok := o.(*widget.Check); ok && c.Text == relayLabel {
				return c
			}
		}
		t.Fatal("no relay check in the editor")
		return nil
	}
	closed := func() bool {
		var open bool
		a.run(func() { open = topDialog(s.win) != nil })
		return !open
	}

	a.run(func() {
		v.editor(nil)
		entries(topDialog(s.win))[0].SetText("Behind the firewall")
		test.Tap(relayCheck())
		test.Tap(button(t, topDialog(s.win), "Create"))
	})
	eventually(t, "the editor to close", 10*time.Second, closed)
	list, err := owner.Client.Conferences(ctx, "all")
	if err != nil || len(list) != 1 || !list[0].RelayOnly || !strings.Contains(conferenceSummary(list[0]), "media relayed") {
		t.Fatalf("created %+v %v", list, err)
	}
	cid := list[0].CID

	a.run(func() { v.edit(cid) })
	eventually(t, "the editor", 10*time.Second, func() bool { return !closed() })
	a.run(func() {
		s.win.Resize(fyne.NewSize(1180, 900))
		for _, o := range objectsIn(topDialog(s.win)) {
			if page, ok := o.(*container.Scroll); ok && page.Direction == container.ScrollVerticalOnly {
				page.ScrollToBottom()
				break
			}
		}
	})
	captureWindow(t, a, s, "conference-editor-relay")
	a.run(func() {
		check := relayCheck()
		if !check.Checked {
			t.Error("the editor does not show that media is relayed")
		}
		test.Tap(check)
		test.Tap(button(t, topDialog(s.win), "Save changes"))
	})
	eventually(t, "the editor to close", 10*time.Second, closed)
	if c, err := owner.Client.Conference(ctx, cid); err != nil || c.RelayOnly {
		t.Errorf("after unticking: relay_only %v %v", c.RelayOnly, err)
	}
}

// captureSection scrolls the window's page to the card titled title and,
// with PARLEY_TEST_SCREENSHOTS=dir, keeps a picture of that card as
// name.png.
func captureSection(t *testing.T, a *uiApp, s *shell, title, name string) {
	t.Helper()
	dir := os.Getenv("PARLEY_TEST_SCREENSHOTS")
	if dir == "" {
		return
	}
	a.run(func() {
		a.Settings().SetTheme(lightTheme{newTheme()})
		s.win.Resize(fyne.NewSize(1180, 1900))
		var page *container.Scroll
		var heading fyne.CanvasObject
		var cards []*surface
		for _, o := range objectsIn(s.win.Content()) {
			switch o := o.(type) {
			case *container.Scroll:
				if page == nil && o.Direction == container.ScrollVerticalOnly {
					page = o
				}
			case *widget.Label:
				if o.Text == title {
					heading = o
				}
			case *surface:
				cards = append(cards, o)
			}
		}
		if page == nil || heading == nil {
			t.Fatalf("no page to scroll to %q", title)
		}
		positionOf := a.Driver().AbsolutePositionForObject
		page.ScrollToOffset(fyne.NewPos(0, positionOf(heading).Y-positionOf(page).Y+page.Offset.Y))
		at := positionOf(heading)
		var bounds image.Rectangle
		for _, card := range cards {
			corner, size := positionOf(card), card.Size()
			if at.X >= corner.X && at.Y >= corner.Y && at.X < corner.X+size.Width && at.Y < corner.Y+size.Height {
				bounds = image.Rect(int(corner.X), int(corner.Y), int(corner.X+size.Width)+1, int(corner.Y+size.Height)+1)
			}
		}
		picture := s.win.Canvas().Capture()
		if cropper, ok := picture.(interface {
			SubImage(image.Rectangle) image.Image
		}); ok && !bounds.Empty() {
			picture = cropper.SubImage(bounds.Intersect(picture.Bounds()))
		}
		savePicture(t, filepath.Join(dir, name+".png"), picture)
	})
}

// captureWindow keeps a picture of the window as name.png with
// PARLEY_TEST_SCREENSHOTS=dir.
func captureWindow(t *testing.T, a *uiApp, s *shell, name string) {
	t.Helper()
	if dir := os.Getenv("PARLEY_TEST_SCREENSHOTS"); dir != "" {
		a.run(func() {
			a.Settings().SetTheme(lightTheme{newTheme()})
			savePicture(t, filepath.Join(dir, name+".png"), s.win.Canvas().Capture())
		})
	}
}

func savePicture(t *testing.T, path string, picture image.Image) {
	t.Helper()
	file, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	if err := png.Encode(file, picture); err != nil {
		t.Fatal(err)
	}
}
