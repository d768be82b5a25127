package api_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/server/accounts"
	"github.com/parleyhq/parley/server/api"
	"github.com/parleyhq/parley/server/client"
	"github.com/parleyhq/parley/server/eventlog"
)

var ctx = context.Background()

func TestStatusIsPublicAndSaysWhatIsDown(t *testing.T) {
	h := newHarness(t)
	h.Health = func() []api.Subsystem {
		return []api.Subsystem{
			{Name: "store", State: "running"},
			{Name: "web", State: "restarting", Reason: "port 8443 in use", Restarts: 2},
		}
	}
	status, err := h.client(false).Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !status.SetupRequired || status.Server.ID != "test-server" || status.Server.Name == "" {
		t.Errorf("status %+v", status)
	}
	web, ok := status.Subsystem("web")
	if !ok || web.State != "restarting" || web.Reason != "port 8443 in use" || web.Restarts != 2 {
		t.Errorf("web line %+v", web)
	}
}

func TestAPanicIsA500AndTheServerGoesOn(t *testing.T) {
	h := newHarness(t)
	h.Health = func() []api.Subsystem { panic("broken health report") }
	c := h.client(false)
	_, err := c.Status(ctx)
	wantStatus(t, err, http.StatusInternalServerError, "internal")
	h.Health = func() []api.Subsystem { return nil }
	if _, err := c.Status(ctx); err != nil {
		t.Fatalf("server did not recover: %v", err)
	}
}

func getStatus(t *testing.T, c *client.Client, path string) int {
	t.Helper()
	resp, err := c.Raw(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestSetupLinkWorksOnceThen410(t *testing.T) {
	h := newHarness(t)
	token, err := h.Accounts.NewSetupToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	browser := h.client(true)
	if got := getStatus(t, browser, "/setup/"+token); got != http.StatusOK {
		t.Fatalf("fresh setup page: %d", got)
	}
	if got := getStatus(t, browser, "/setup/not-a-token"); got != http.StatusNotFound {
		t.Errorf("unknown setup page: %d", got)
	}
	var info map[string]any
	if err := browser.Do(ctx, http.MethodGet, "/api/v1/setup/"+token, nil, &info); err != nil || info["password_policy"] == nil {
		t.Fatalf("setup info %v %v", info, err)
	}

	_, err = browser.CompleteSetup(ctx, token, accounts.NewUser{Login: "boss", Password: "weak"})
	wantStatus(t, err, http.StatusBadRequest, "invalid")
	id, err := browser.CompleteSetup(ctx, token, accounts.NewUser{Login: "boss", DisplayName: "The Boss", Password: goodPassword})
	if err != nil {
		t.Fatal(err)
	}
	if id.User.Role != accounts.Owner {
		t.Errorf("setup created a %s", id.User.Role)
	}
	var me client.Identity
	if err := browser.Do(ctx, http.MethodGet, "/api/v1/me", nil, &me); err != nil || me.User.Login != "boss" {
		t.Fatalf("the setup cookie does not sign in: %v", err)
	}

	if got := getStatus(t, browser, "/setup/"+token); got != http.StatusGone {
		t.Errorf("used setup page: %d, want 410", got)
	}
	_, err = h.client(true).CompleteSetup(ctx, token, accounts.NewUser{Login: "thief", Password: goodPassword})
	wantStatus(t, err, http.StatusGone, "gone")
	status, _ := browser.Status(ctx)
	if status.SetupRequired {
		t.Error("status still asks for setup")
	}
	rows := h.events(eventlog.SetupOwnerCreated)
	if len(rows) != 1 || rows[0].SubjectUser.Login != "boss" || rows[0].Source != "127.0.0.1" {
		t.Errorf("setup event rows %+v", rows)
	}
}

func TestSignInSessionsAndSignOut(t *testing.T) {
	h := newHarness(t)
	h.user("anna", accounts.Member)

	api := h.client(false)
	_, err := api.SignIn(ctx, "anna", "wrong")
	wantStatus(t, err, http.StatusUnauthorized, "bad_credentials")
	id, err := api.SignIn(ctx, "anna", goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if id.Token == "" || id.Session.Kind != accounts.BearerSession || len(id.Rights) == 0 {
		t.Errorf("bearer identity %+v", id)
	}
	if err := api.Do(ctx, http.MethodGet, "/api/v1/me", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := api.SignOut(ctx); err != nil {
		t.Fatal(err)
	}
	replay := h.client(false)
	resp, err := replay.Raw(ctx, http.MethodGet, "/api/v1/me", http.Header{"Authorization": {"Bearer " + id.Token}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("revoked token: %d", resp.StatusCode)
	}

	browser := h.client(true)
	if _, err := browser.SignIn(ctx, "anna", goodPassword); err != nil {
		t.Fatal(err)
	}
	resp, err = browser.Raw(ctx, http.MethodPost, "/api/v1/auth/sign-out", http.Header{"Origin": {"https://evil.example"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin request with the cookie: %d", resp.StatusCode)
	}
	if err := browser.SignOut(ctx); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, browser.Do(ctx, http.MethodGet, "/api/v1/me", nil, nil), http.StatusUnauthorized, "unauthorized")

	for _, kind := range []string{eventlog.SignIn, eventlog.SignInFailed, eventlog.SignOut} {
		if len(h.events(kind)) == 0 {
			t.Errorf("no %s row", kind)
		}
	}
}

func TestLockoutAndUnlockOverTheAPI(t *testing.T) {
	h := newHarness(t)
	admin := h.signedIn("admin", accounts.Admin)
	anna := h.user("anna", accounts.Member)
	c := h.client(false)
	var err error
	for i := 0; i < 5; i++ {
		_, err = c.SignIn(ctx, "anna", "wrong")
	}
	wantStatus(t, err, http.StatusTooManyRequests, "account_locked")
	resp, _ := c.Raw(ctx, http.MethodPost, "/api/v1/auth/sign-in", http.Header{"Content-Type": {"application/json"}},
		strings.NewReader(`{"login":"anna","password":"`+goodPassword+`"}`))
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("locked sign-in answered %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}

	var listed accounts.User
	if err := admin.Do(ctx, http.MethodGet, "/api/v1/users/"+itoa(anna.ID), nil, &listed); err != nil || listed.LockedUntil == nil {
		t.Fatalf("admin does not see the lock: %+v %v", listed, err)
	}
	if err := admin.Do(ctx, http.MethodPost, "/api/v1/users/"+itoa(anna.ID)+"/unlock", nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SignIn(ctx, "anna", goodPassword); err != nil {
		t.Fatalf("sign-in after unlock: %v", err)
	}

	var page struct {
		Events []eventlog.Listed `json:"events"`
	}
	if err := admin.Do(ctx, http.MethodGet, "/api/v1/events?kind=auth.", nil, &page); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, e := range page.Events {
		kinds[e.Kind]++
	}
	if kinds[eventlog.Locked] != 1 || kinds[eventlog.SignInFailed] != 6 || kinds[eventlog.SignIn] != 2 {
		t.Errorf("auth events %v", kinds)
	}
	if err := admin.Do(ctx, http.MethodGet, "/api/v1/events?kind="+eventlog.UserUnlocked, nil, &page); err != nil || len(page.Events) != 1 {
		t.Errorf("unlock events %+v %v", page.Events, err)
	}
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

func TestAdminNetworkRestriction(t *testing.T) {
	h := newHarness(t)
	admin := h.signedIn("admin", accounts.Admin)
	token, _ := h.Accounts.NewSetupToken(ctx)
	from := func(source string) http.Header { return http.Header{sourceHeader: {source}} }
	get := func(path, source string) int {
		resp, err := admin.Raw(ctx, http.MethodGet, path, from(source), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	for _, path := range []string{"/api/v1/users", "/api/v1/settings", "/api/v1/events", "/setup/" + token, "/api/v1/setup/" + token} {
		if got := get(path, "203.0.113.5"); got != http.StatusForbidden {
			t.Errorf("%s from the Internet: %d", path, got)
		}
	}
	if got := get("/api/v1/users", "2001:db8::5"); got != http.StatusForbidden {
		t.Errorf("from an IPv6 Internet address: %d", got)
	}
	if got := get("/api/v1/users", "192.168.1.10"); got != http.StatusOK {
		t.Errorf("from the LAN: %d", got)
	}
	if got := get("/api/v1/users", "fd12::7"); got != http.StatusOK {
		t.Errorf("from an IPv6 ULA: %d", got)
	}
	if got := get("/api/v1/me", "203.0.113.5"); got != http.StatusOK {
		t.Errorf("non-admin endpoint from the Internet: %d", got)
	}
	denied := h.events(eventlog.AccessDenied)
	if len(denied) != 2 || denied[0].Source != "2001:db8::5" || denied[1].Source != "203.0.113.5" {
		t.Errorf("access denied rows (one per source and minute): %+v", denied)
	}

	if err := admin.Do(ctx, http.MethodPatch, "/api/v1/settings", map[string]any{"admin_networks": []string{"10.0.0.0/8"}}, nil); err != nil {
		t.Fatal(err)
	}
	if got := get("/api/v1/users", "192.168.1.10"); got != http.StatusForbidden {
		t.Errorf("LAN after narrowing the list: %d", got)
	}
	if got := get("/api/v1/users", "10.1.2.3"); got != http.StatusOK {
		t.Errorf("allowed network: %d", got)
	}
	if err := admin.Do(ctx, http.MethodGet, "/api/v1/users", nil, nil); err != nil {
		t.Errorf("loopback must always administer: %v", err)
	}
}

func TestRolesDecideWhoAdministers(t *testing.T) {
	h := newHarness(t)
	member := h.signedIn("member", accounts.Member)
	auditor := h.signedIn("auditor", accounts.SecurityAdmin)
	wantStatus(t, member.Do(ctx, http.MethodGet, "/api/v1/users", nil, nil), http.StatusForbidden, "forbidden")
	if err := auditor.Do(ctx, http.MethodGet, "/api/v1/users", nil, nil); err != nil {
		t.Errorf("auditor reads users: %v", err)
	}
	if err := auditor.Do(ctx, http.MethodGet, "/api/v1/events", nil, nil); err != nil {
		t.Errorf("auditor reads events: %v", err)
	}
	wantStatus(t, auditor.Do(ctx, http.MethodPost, "/api/v1/users", map[string]any{"login": "x", "password": goodPassword}, nil), http.StatusForbidden, "forbidden")
	wantStatus(t, auditor.Do(ctx, http.MethodPatch, "/api/v1/settings", map[string]any{"server_name": "x"}, nil), http.StatusForbidden, "forbidden")
	wantStatus(t, h.client(false).Do(ctx, http.MethodGet, "/api/v1/users", nil, nil), http.StatusUnauthorized, "unauthorized")
}

func TestUsersAndGroupsOverTheAPI(t *testing.T) {
	h := newHarness(t)
	admin := h.signedIn("admin", accounts.Admin)
	var group accounts.Group
	if err := admin.Do(ctx, http.MethodPost, "/api/v1/groups", map[string]any{"name": "Sales", "rights": []string{"share_screen"}}, &group); err != nil {
		t.Fatal(err)
	}
	var created accounts.User
	err := admin.Do(ctx, http.MethodPost, "/api/v1/users", map[string]any{
		"login": "olson", "display_name": "Karl Olson", "password": goodPassword, "groups": []int64{group.ID},
	}, &created)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, admin.Do(ctx, http.MethodPost, "/api/v1/users", map[string]any{"login": "olson", "password": goodPassword}, nil), http.StatusConflict, "conflict")
	wantStatus(t, admin.Do(ctx, http.MethodPatch, "/api/v1/users/"+itoa(created.ID), map[string]any{"login": "karl"}, nil), http.StatusBadRequest, "invalid")

	var found struct{ Users []accounts.User }
	if err := admin.Do(ctx, http.MethodGet, "/api/v1/users?q=ols", nil, &found); err != nil || len(found.Users) != 1 {
		t.Fatalf("search: %+v %v", found, err)
	}
	raw, _ := admin.Raw(ctx, http.MethodGet, "/api/v1/users/"+itoa(created.ID), nil, nil)
	body, _ := io.ReadAll(raw.Body)
	raw.Body.Close()
	if strings.Contains(string(body), "argon2") || strings.Contains(string(body), "password_hash") {
		t.Errorf("a user answer shows the password hash: %s", body)
	}

	olson := h.client(false)
	if _, err := olson.SignIn(ctx, "olson", goodPassword); err != nil {
		t.Fatal(err)
	}
	if err := admin.Do(ctx, http.MethodPost, "/api/v1/users/"+itoa(created.ID)+"/password", map[string]any{"password": "Another-Pass-9"}, nil); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, olson.Do(ctx, http.MethodGet, "/api/v1/me", nil, nil), http.StatusUnauthorized, "unauthorized")
	if _, err := olson.SignIn(ctx, "olson", "Another-Pass-9"); err != nil {
		t.Fatal(err)
	}
	if err := olson.Do(ctx, http.MethodPost, "/api/v1/me/password", map[string]any{"current_password": "Another-Pass-9", "new_password": "short"}, nil); client.StatusOf(err) != http.StatusBadRequest {
		t.Errorf("weak own password: %v", err)
	}
	if err := admin.Do(ctx, http.MethodPatch, "/api/v1/users/"+itoa(created.ID), map[string]any{"enabled": false}, nil); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, olson.Do(ctx, http.MethodGet, "/api/v1/me", nil, nil), http.StatusUnauthorized, "unauthorized")
	_, err = olson.SignIn(ctx, "olson", "Another-Pass-9")
	wantStatus(t, err, http.StatusForbidden, "account_disabled")

	if err := admin.Do(ctx, http.MethodDelete, "/api/v1/groups/"+itoa(group.ID), nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := admin.Do(ctx, http.MethodGet, "/api/v1/users/"+itoa(created.ID), nil, &created); err != nil || len(created.Groups) != 0 {
		t.Errorf("user after deleting their group: %+v %v", created, err)
	}
	var groups struct{ Groups []accounts.Group }
	admin.Do(ctx, http.MethodGet, "/api/v1/groups", nil, &groups)
	for _, g := range groups.Groups {
		if g.Builtin != "" {
			wantStatus(t, admin.Do(ctx, http.MethodDelete, "/api/v1/groups/"+itoa(g.ID), nil, nil), http.StatusForbidden, "forbidden")
		}
	}
}

func TestSettingsChangesAreRecordedAndExported(t *testing.T) {
	h := newHarness(t)
	admin := h.signedIn("admin", accounts.Admin)
	var answer struct {
		Changed []string `json:"changed"`
	}
	if err := admin.Do(ctx, http.MethodPatch, "/api/v1/settings", map[string]any{"server_name": "Office", "https_port": 9443}, &answer); err != nil {
		t.Fatal(err)
	}
	if strings.Join(answer.Changed, ",") != "https_port,server_name" {
		t.Errorf("changed %v", answer.Changed)
	}
	wantStatus(t, admin.Do(ctx, http.MethodPatch, "/api/v1/settings", map[string]any{"https_port": "x"}, nil), http.StatusBadRequest, "invalid")
	wantStatus(t, admin.Do(ctx, http.MethodPatch, "/api/v1/settings", map[string]any{"nope": 1}, nil), http.StatusBadRequest, "invalid")
	if name := h.Settings.Current().ServerName; name != "Office" {
		t.Errorf("server name %q", name)
	}
	rows := h.events(eventlog.SettingsChanged)
	if len(rows) != 1 || rows[0].ActorUser.Login != "admin" || !strings.Contains(string(rows[0].Details), `"https_port":9443`) {
		t.Fatalf("settings rows %+v", rows)
	}

	resp, err := admin.Raw(ctx, http.MethodGet, "/api/v1/events?format=csv&kind=settings.changed", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || !strings.Contains(string(body), "settings.changed,admin") {
		t.Errorf("csv export %q", body)
	}
	wantStatus(t, admin.Do(ctx, http.MethodGet, "/api/v1/events?since=yesterday", nil, nil), http.StatusBadRequest, "invalid")
	var window struct{ Events []eventlog.Listed }
	since := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	if err := admin.Do(ctx, http.MethodGet, "/api/v1/events?since="+since+"&limit=2", nil, &window); err != nil || len(window.Events) != 2 {
		t.Errorf("events since a minute ago, limit 2: %d %v", len(window.Events), err)
	}
}

func TestCACertificateAndPages(t *testing.T) {
	h := newHarness(t)
	c := h.client(false)
	resp, err := c.Raw(ctx, http.MethodGet, "/ca.crt", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != string(h.Certs.CACertPEM()) {
		t.Error("/ca.crt is not the CA")
	}
	if got := getStatus(t, c, "/"); got != http.StatusOK {
		t.Errorf("index page: %d", got)
	}
	if got := getStatus(t, c, "/assets/app.css"); got != http.StatusOK {
		t.Errorf("stylesheet: %d", got)
	}
	if got := getStatus(t, c, "/assets/"); got != http.StatusNotFound {
		t.Errorf("asset directory listing: %d", got)
	}
	if got := getStatus(t, c, "/api/v1/nothing"); got != http.StatusNotFound {
		t.Errorf("unknown endpoint: %d", got)
	}
}
