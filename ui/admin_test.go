package ui

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/parleyhq/parley/server/certs/certstest"
	"github.com/parleyhq/parley/server/client"
)

// TestDashboardReadsStatusAndStats: the subsystems with their state, and
// the counters, which follow a guest in a room.
func TestDashboardReadsStatusAndStats(t *testing.T) {
	_, owner := ownerSession(t)
	ctx := context.Background()
	m := newDashboardModel(owner.Client)
	if err := m.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	subsystems, _ := m.Subsystems.Get()
	var names []string
	for _, sub := range subsystems {
		names = append(names, sub.Name)
		if sub.Name == "web" && stateHealth(sub.State) != healthy {
			t.Errorf("web is %s (%s)", sub.State, sub.Reason)
		}
	}
	for _, want := range []string{"store", "tls", "media", "conferences", "web"} {
		if !slices.Contains(names, want) {
			t.Errorf("no %s in %v", want, names)
		}
	}
	if running, _ := m.ConferencesRunning.Get(); running != 0 {
		t.Errorf("%d conferences run on a new server", running)
	}
	if bandwidth, _ := m.Bandwidth.Get(); bandwidth == nil {
		t.Error("no bandwidth samples list")
	}

	room, err := owner.Client.CreateConference(ctx, client.ConferenceSpec{Name: "Room", Lobby: "off"})
	if err != nil {
		t.Fatal(err)
	}
	joined(t, guest(t, owner, "Gina"), JoinRequest{CID: room.CID})
	if err := m.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	running, _ := m.ConferencesRunning.Get()
	participants, _ := m.Participants.Get()
	guests, _ := m.Guests.Get()
	if running != 1 || participants != 1 || guests != 1 {
		t.Errorf("running %d, participants %d, guests %d; want 1, 1, 1", running, participants, guests)
	}
	if stateHealth("restarting") != failing || stateHealth("degraded") != unsettled {
		t.Error("state colours")
	}
}

// TestUsersSearchAddEdit works the users tab's model against the server.
func TestUsersSearchAddEdit(t *testing.T) {
	_, owner := ownerSession(t)
	ctx := context.Background()
	m := newUsersModel(owner.Client)
	if _, err := m.Add(ctx, client.NewUser{Login: "Anna Berg", DisplayName: "Anna", Password: "Secret-Word-42"}); err == nil {
		t.Fatal("a login with a space was accepted")
	} else {
		checkField(t, err, "login", "")
	}
	_, err := m.Add(ctx, client.NewUser{Login: "anna", DisplayName: "Anna Berg", Password: "short"})
	checkField(t, err, "password", "")
	anna, err := m.Add(ctx, client.NewUser{Login: "anna", DisplayName: "Anna Berg", Email: "anna@example.com", Password: "Secret-Word-42"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Add(ctx, client.NewUser{Login: "bert", DisplayName: "Bert Brun", Password: "Secret-Word-42"}); err != nil {
		t.Fatal(err)
	}
	group, err := owner.Client.CreateGroup(ctx, "Sales", []string{"create_conferences"})
	if err != nil {
		t.Fatal(err)
	}

	_ = m.Query.Set("BERG")
	if err := m.Load(ctx); err != nil {
		t.Fatal(err)
	}
	found, _ := m.Users.Get()
	if len(found) != 1 || found[0].Login != "anna" {
		t.Fatalf("search for BERG found %+v", found)
	}
	if groups := m.Groups(); len(groups) != 1 || groups[0].Name != "Sales" {
		t.Errorf("groups to choose from: %+v (built-in ones are not joined by hand)", groups)
	}

	name, role, groups := "Anna Lind", client.Role("admin"), []int64{group.ID}
	edited, err := m.Save(ctx, anna.ID, client.UserPatch{DisplayName: &name, Role: &role, Groups: &groups})
	if err != nil {
		t.Fatal(err)
	}
	users, _ := m.Users.Get()
	shown := users[0]
	if edited.DisplayName != "Anna Lind" || shown.DisplayName != "Anna Lind" || shown.Role != "admin" || !slices.Equal(shown.Groups, groups) {
		t.Errorf("after the edit: %+v, list shows %+v", edited, shown)
	}
	if disabled, err := m.SetEnabled(ctx, anna.ID, false); err != nil || disabled.Enabled || userStatus(disabled) != "disabled" {
		t.Errorf("disable: %+v %v", disabled, err)
	}
	if _, err := m.SetEnabled(ctx, anna.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := m.ResetPassword(ctx, anna.ID, "Another-Word-43"); err != nil {
		t.Fatal(err)
	}
	// A SIP password for her desk phone, then none.
	for _, password := range []string{"Desk-Phone-Word-7", ""} {
		if err := m.SetSIPPassword(ctx, anna.ID, password); err != nil {
			t.Fatal(err)
		}
		if users, _ := m.Users.Get(); users[0].HasSIPPassword != (password != "") {
			t.Errorf("after setting the SIP password to %q the list shows has_sip_password %v", password, users[0].HasSIPPassword)
		}
	}
	if err := m.SetSIPPassword(ctx, anna.ID, "short"); err == nil {
		t.Error("a SIP password against the policy was taken")
	}
	// Three wrong passwords do not lock (five do); lock her and unlock.
	c, _ := client.New(owner.Client.BaseURL(), client.Options{CACertPEM: owner.CA})
	defer c.Close()
	for range 5 {
		_, _ = c.SignIn(ctx, "anna", "wrong")
	}
	_ = m.Query.Set("anna")
	if err := m.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if users, _ := m.Users.Get(); !strings.HasPrefix(userStatus(users[0]), "locked until") {
		t.Fatalf("after five wrong passwords: %q", userStatus(users[0]))
	}
	if err := m.Unlock(ctx, anna.ID); err != nil {
		t.Fatal(err)
	}
	if users, _ := m.Users.Get(); userStatus(users[0]) != "" {
		t.Errorf("after unlocking: %q", userStatus(users[0]))
	}
	if _, err := c.SignIn(ctx, "anna", "Another-Word-43"); err != nil {
		t.Errorf("sign in with the reset password: %v", err)
	}
	if err := m.SignOutEverywhere(ctx, anna.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Me(ctx); client.StatusOf(err) != 401 {
		t.Errorf("after sign-out everywhere her session answers %v", err)
	}
}

// consoleTab is a tab of the console, shown alone in a test window.
type consoleTab interface {
	content() fyne.CanvasObject
	shown(context.Context)
}

// showTab puts the tab build makes in a new window of s, as the console
// shows it.
func showTab[T consoleTab](a *uiApp, s *shell, build func() T) T {
	var tab T
	a.run(func() {
		s.win = a.NewWindow("test")
		tab = build()
		s.win.SetContent(tab.content())
		tab.shown(context.Background())
	})
	return tab
}

// TestUsersTab shows the users tab with its list and an account's editor.
func TestUsersTab(t *testing.T) {
	a := newUIApp(t)
	_, owner := ownerSession(t)
	signedIn(t, owner, "anna", "Anna Berg", "user")
	s := newTestShell(t, a, nil)
	v := showTab(a, s, func() *usersView { return newUsersView(s, owner) })
	eventually(t, "the list", 10*time.Second, func() bool { return v.model.Users.Length() == 2 })
	a.run(func() {
		v.list.Select(0)
		if !strings.Contains(texts(v.content()), "Login anna") {
			t.Errorf("the editor does not show Anna:\n%s", texts(v.content()))
		}
		inputs := entries(v.editor)
		inputs[0].SetText("Anna Lind")
		test.Tap(button(t, v.editor, "Save changes"))
	})
	eventually(t, "the saved name", 10*time.Second, func() bool {
		users, _ := v.model.Users.Get()
		return len(users) > 0 && users[0].DisplayName == "Anna Lind"
	})
}

// TestSettingsShowServerErrorsOnTheirField saves settings the server
// refuses: its message appears under the field it names.
func TestSettingsShowServerErrorsOnTheirField(t *testing.T) {
	a := newUIApp(t)
	_, owner := ownerSession(t)
	s := newTestShell(t, a, nil)
	v := showTab(a, s, func() *settingsView { return newSettingsView(s, owner) })
	eventually(t, "the settings", 10*time.Second, func() bool { return v.model.Loaded().HTTPSPort != 0 })

	save := func(key, value string) {
		t.Helper()
		_ = v.model.Values[key].Set(value)
		a.run(func() { test.Tap(v.save) })
		eventually(t, "the save", 10*time.Second, func() bool {
			var enabled bool
			a.run(func() { enabled = !v.save.Disabled() })
			return enabled
		})
	}
	errorOf := func(key string) string {
		var text string
		a.run(func() { text = v.fields.errorOf(key) })
		return text
	}

	save("password_policy.min_length", "3")
	if got := errorOf("password_policy.min_length"); got != "Must be between 8 and 128." {
		t.Errorf("under password length: %q", got)
	}
	if got := errorOf("https_port"); got != "" {
		t.Errorf("an error under another field: %q", got)
	}
	_ = v.model.Values["password_policy.min_length"].Set("10")
	save("session_days", "two weeks")
	if got := errorOf("session_days"); got != "A whole number." {
		t.Errorf("under session days: %q", got)
	}
	_ = v.model.Values["session_days"].Set("14")
	save("server_name", "Front office")
	if got := errorOf("server_name"); got != "" {
		t.Errorf("a good save shows %q", got)
	}
	var saved string
	a.run(func() { saved = v.saved.Text })
	if saved != "Saved: server_name." {
		t.Errorf("after saving: %q", saved)
	}
	if settings, _ := owner.Client.Settings(context.Background()); settings.ServerName != "Front office" {
		t.Errorf("server name %q", settings.ServerName)
	}
	// Nested settings go as a nested patch.
	_ = v.model.Values["lockout.max_failures"].Set("7")
	patch, err := v.model.Patch()
	if err != nil || patch["lockout"].(map[string]any)["max_failures"] != 7 || len(patch) != 1 {
		t.Errorf("patch %v %v", patch, err)
	}
	_ = v.model.Values["lockout.max_failures"].Set("5")

	// The phones' settings: a wrong range is refused on its field, then
	// only phones with a SIP password may call.
	save("sip.rtp_ports", "52000")
	if got := errorOf("sip.rtp_ports"); got == "" {
		t.Error("a call port range of one port was taken")
	}
	_ = v.model.Values["sip.rtp_ports"].Set("52000-52099")
	_ = v.model.Flags["sip.require_auth"].Set(true)
	save("sip.tls_port", "0")
	if settings, _ := owner.Client.Settings(context.Background()); settings.SIP.RTPPorts != "52000-52099" || !settings.SIP.RequireAuth || settings.SIP.TLSPort != 0 {
		t.Errorf("SIP settings stored %+v", settings.SIP)
	}

	// What video phones see: chosen from the drop-down, stored as its value.
	a.run(func() {
		for _, o := range objectsIn(s.win.Content()) {
			if choose, ok := o.(*widget.Select); ok && slices.Contains(choose.Options, labelOf(phoneVideoChoices, "low")) {
				if choose.Selected != labelOf(phoneVideoChoices, "standard") {
					t.Errorf("video phones show %q, want the default, standard", choose.Selected)
				}
				choose.SetSelected(labelOf(phoneVideoChoices, "low"))
			}
		}
	})
	save("server_name", "Front office")
	if settings, _ := owner.Client.Settings(context.Background()); settings.SIP.Video != "low" {
		t.Errorf("video phones stored as %q, want low", settings.SIP.Video)
	}

	// A trunk to the office PBX, through its dialog, saved with the rest.
	a.run(func() { v.trunks.edit(-1) })
	a.run(func() {
		inputs := entries(topDialog(s.win))
		inputs[0].SetText("Office PBX")
		inputs[1].SetText("pbx.example.com")
		inputs[6].SetText("00")
		test.Tap(button(t, topDialog(s.win), "Keep"))
	})
	eventually(t, "the trunk listed", 5*time.Second, func() bool {
		var shown string
		a.run(func() { shown = texts(v.trunks.content) })
		return strings.Contains(shown, "Office PBX — pbx.example.com:5060 over UDP")
	})
	save("server_name", "Front office")
	settings, _ := owner.Client.Settings(context.Background())
	if len(settings.SIP.Trunks) != 1 || settings.SIP.Trunks[0].Host != "pbx.example.com" || settings.SIP.Trunks[0].InternationalPrefix != "00" {
		t.Errorf("trunks stored %+v", settings.SIP.Trunks)
	}
	captureSection(t, a, s, "Phones", "phones-settings")
}

// TestEventLogFilterAndExport filters the log by kind, pages back, and
// exports the server's CSV across pages with one header.
func TestEventLogFilterAndExport(t *testing.T) {
	_, owner := ownerSession(t)
	ctx := context.Background()
	group, err := owner.Client.CreateGroup(ctx, "Sales", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		rights := []string{"create_conferences"}
		if i%2 == 1 {
			rights = []string{}
		}
		if _, err := owner.Client.UpdateGroup(ctx, group.ID, client.GroupPatch{Rights: &rights}); err != nil {
			t.Fatal(err)
		}
	}
	m := newLogsModel(owner.Client)
	m.pageSize, m.exportPage = 5, 4
	_ = m.Kind.Set("group.")
	if err := m.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if n := m.Events.Length(); n != 5 {
		t.Fatalf("first page: %d events", n)
	}
	for has, _ := m.HasOlder.Get(); has; has, _ = m.HasOlder.Get() {
		if err := m.Older(ctx); err != nil {
			t.Fatal(err)
		}
	}
	events, _ := m.Events.Get()
	if len(events) != 13 {
		t.Errorf("%d group events, want 13 (created, 12 updates)", len(events))
	}
	for i, e := range events {
		if !strings.HasPrefix(e.Kind, "group.") || i > 0 && e.ID >= events[i-1].ID {
			t.Errorf("event %d: %s %d", i, e.Kind, e.ID)
		}
	}

	var out bytes.Buffer
	n, err := m.Export(ctx, &out)
	if err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if n != 13 || len(records) != 14 || records[0][0] != "id" || records[1][2] != "group.updated" {
		t.Fatalf("export of %d: %v", n, records)
	}
	ids := map[string]bool{}
	for _, r := range records[1:] {
		if !strings.HasPrefix(r[2], "group.") || ids[r[0]] {
			t.Errorf("row %v (a kind outside the filter, or twice)", r)
		}
		ids[r[0]] = true
	}

	// A period filter: nothing is older than the server.
	_ = m.Period.Set(time.Minute)
	m.now = func() time.Time { return time.Now().Add(-time.Hour) }
	if err := m.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if all, _ := m.Events.Get(); len(all) != 5 {
		t.Errorf("since an hour ago: %d events on the first page", len(all))
	}
	_ = m.Period.Set(0)
	anna := signedIn(t, owner, "anna", "Anna Berg", "user")
	_ = m.UserID.Set(anna.Me.User.ID)
	_ = m.Kind.Set("auth.")
	if err := m.Load(ctx); err != nil {
		t.Fatal(err)
	}
	all, _ := m.Events.Get()
	if len(all) == 0 {
		t.Error("no sign-in of Anna's")
	}
	for _, e := range all {
		if e.Kind != "auth.sign_in" || e.ActorUser == nil || e.ActorUser.Login != "anna" {
			t.Errorf("filtered by Anna and auth.: %s by %+v", e.Kind, e.ActorUser)
		}
	}
}

// TestConferencesFormAndList creates every kind of conference through the
// form, edits one, and groups them as the tab does.
func TestConferencesFormAndList(t *testing.T) {
	_, owner := ownerSession(t)
	ctx := context.Background()
	anna := signedIn(t, owner, "anna", "Anna Berg", "user")
	m := newConferencesModel(owner.Client, "all")

	now := time.Date(2030, 3, 4, 9, 17, 0, 0, time.UTC)
	room := newConferenceForm(now)
	room.Name, room.CID, room.PINMode, room.PIN = "Team room", "team", pinCustom, "4711"
	room.Invitees = []client.Invitee{{UserID: anna.Me.User.ID, Role: "moderator"}}
	if _, err := m.Create(ctx, room); err != nil {
		t.Fatal(err)
	}
	scheduled := newConferenceForm(now)
	scheduled.Name, scheduled.Kind, scheduled.TimeZone = "Planning", client.KindScheduled, "Europe/Paris"
	scheduled.Weekdays = []string{"thu", "mon"}
	created, err := m.Create(ctx, scheduled)
	if err != nil {
		t.Fatal(err)
	}
	if s := created.Schedule; s == nil || !s.StartsAt.Equal(time.Date(2030, 3, 4, 10, 0, 0, 0, time.FixedZone("", 3600))) ||
		!slices.Equal(s.Weekdays, []string{"mon", "thu"}) || s.TimeZone != "Europe/Paris" {
		t.Errorf("schedule %+v", created.Schedule)
	}
	bad := newConferenceForm(now)
	bad.Name, bad.PINMode, bad.PIN = "Bad", pinCustom, "12"
	_, err = m.Create(ctx, bad)
	checkField(t, err, "pin", "4 to 10 digits")
	bad.PINMode, bad.CID = pinNone, "team"
	if _, err := m.Create(ctx, bad); client.StatusOf(err) != 409 {
		t.Errorf("a taken ID: %v", err)
	}

	team, err := owner.Client.Conference(ctx, "team")
	if err != nil {
		t.Fatal(err)
	}
	edit := editForm(team, now)
	if edit.PINMode != pinKeep || edit.PIN != "4711" || len(edit.Invitees) != 1 {
		t.Fatalf("edit form %+v", edit)
	}
	edit.Name, edit.Lobby = "Team", "everyone"
	patch, err := edit.Patch(team)
	if err != nil || patch.PIN != nil || patch.Invitees != nil || *patch.Name != "Team" || *patch.Lobby != "everyone" || patch.Access != nil {
		t.Errorf("patch %+v %v", patch, err)
	}
	if _, err := m.Update(ctx, team, edit); err != nil {
		t.Fatal(err)
	}

	// Running: someone in the room.
	boss := joined(t, owner, JoinRequest{CID: "team", PIN: "4711"})
	if err := m.Load(ctx); err != nil {
		t.Fatal(err)
	}
	list, _ := m.Conferences.Get()
	groups := groupConferences(list)
	var titles []string
	for _, g := range groups {
		titles = append(titles, g.Title)
	}
	if !slices.Equal(titles, []string{"Running now", "Scheduled"}) || groups[0].Items[0].Name != "Team" {
		t.Errorf("groups %v", titles)
	}
	if summary := conferenceSummary(groups[0].Items[0]); !strings.Contains(summary, "1 person in it") || !strings.Contains(summary, "PIN") {
		t.Errorf("summary %q", summary)
	}
	if err := m.End(ctx, "team"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the end", 5*time.Second, func() bool { state, _ := boss.State.Get(); return state == meetingOver })
	if err := m.Delete(ctx, created.CID); err != nil {
		t.Fatal(err)
	}
	if list, _ := m.Conferences.Get(); len(list) != 1 {
		t.Errorf("after deleting: %d conferences", len(list))
	}
}

// TestCertificateChanges uploads a certificate, goes back to the generated
// one and renews it; a bad upload is refused with the server's reason.
func TestCertificateChanges(t *testing.T) {
	_, owner := ownerSession(t)
	ctx := context.Background()
	certPEM, keyPEM := selfSigned(t)
	// Trust the upload too: the server swaps certificates at once.
	c, err := client.New(owner.Client.BaseURL(), client.Options{CACertPEM: append(append([]byte{}, owner.CA...), certPEM...)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetToken(owner.Client.Token())
	m := newCertificateModel(c)
	if err := m.Load(ctx); err != nil {
		t.Fatal(err)
	}
	generated, _ := m.Info.Get()
	if generated.Source != "generated" || !strings.Contains(certificateDescription(generated), "Generated by Parley") {
		t.Fatalf("a new server's certificate: %+v", generated)
	}

	err = m.Upload(ctx, []byte("not a certificate"), keyPEM)
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || !strings.HasPrefix(apiErr.Code, "certificate_") || message(err) == "" {
		t.Errorf("junk upload: %v", err)
	}
	if err := m.Upload(ctx, certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	if uploaded, _ := m.Info.Get(); uploaded.Source != "uploaded" || uploaded.Subject != "CN=meet.example.com" {
		t.Errorf("after the upload: %+v", uploaded)
	}
	if err := m.UseGenerated(ctx); err != nil {
		t.Fatal(err)
	}
	if back, _ := m.Info.Get(); back.Source != "generated" || back.SHA256 != generated.SHA256 {
		t.Errorf("back to the generated one: %+v", back)
	}
	if err := m.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	if renewed, _ := m.Info.Get(); renewed.SHA256 == generated.SHA256 {
		t.Error("renewing kept the certificate")
	}
}

// selfSigned makes a server certificate for localhost and its key.
func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	cert := certstest.SelfSigned(t, "meet.example.com", "localhost", "127.0.0.1")
	return cert.CertPEM, cert.KeyPEM
}

// TestAddUserDialog adds an account from its dialog: a password the
// server's policy refuses shows under its field and the dialog stays; a
// good one creates the account and closes it.
func TestAddUserDialog(t *testing.T) {
	a := newUIApp(t)
	_, owner := ownerSession(t)
	s := newTestShell(t, a, nil)
	v := showTab(a, s, func() *usersView { return newUsersView(s, owner) })
	a.run(v.addDialog)
	fill := func(password string) {
		a.run(func() {
			inputs := entries(topDialog(s.win))
			inputs[0].SetText("bruno")
			inputs[1].SetText("Bruno Costa")
			inputs[3].SetText(password)
			test.Tap(button(t, topDialog(s.win), "Add user"))
		})
	}
	fill("short")
	eventually(t, "the password's error", 10*time.Second, func() bool {
		var text string
		a.run(func() { text = texts(topDialog(s.win)) })
		return strings.Contains(text, "at least")
	})
	fill("Correct-Horse-7")
	eventually(t, "the dialog to close and the account to be listed", 10*time.Second, func() bool {
		var open bool
		a.run(func() { open = topDialog(s.win) != nil })
		users, _ := v.model.Users.Get()
		return !open && slices.ContainsFunc(users, func(u client.User) bool { return u.Login == "bruno" })
	})
}
