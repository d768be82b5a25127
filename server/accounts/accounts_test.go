package accounts

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/parleyhq/parley/server/problem"
	"github.com/parleyhq/parley/server/store/storetest"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/server/eventlog"
	"github.com/parleyhq/parley/server/settings"
	"github.com/parleyhq/parley/server/store"
)

// fastHash keeps tests quick; production costs come from MeasureHashParams.
var fastHash = HashParams{MemoryKiB: 64, Time: 1, Threads: 1}

const goodPassword = "Correct-Horse-7"

type fixture struct {
	db       *store.DB
	svc      *Service
	clock    time.Time
	settings settings.Settings
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := storetest.Open(t, "")
	f := &fixture{db: db, clock: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), settings: settings.Defaults()}
	f.svc = New(db, func() settings.Settings { return f.settings }, NewHasher(fastHash))
	f.svc.now = func() time.Time { return f.clock }
	return f
}

func (f *fixture) addUser(t *testing.T, login string, role Role) User {
	t.Helper()
	u, err := f.svc.Create(context.Background(), eventlog.Host, NewUser{Login: login, Password: goodPassword, Role: role})
	if err != nil {
		t.Fatalf("create %s: %v", login, err)
	}
	return u
}

func (f *fixture) events(t *testing.T, kind string) []eventlog.Listed {
	t.Helper()
	list, err := eventlog.List(context.Background(), f.db.SQL(), eventlog.Filter{Kind: kind})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func kindOf(err error) problem.Kind {
	var accountErr *problem.Error
	if errors.As(err, &accountErr) {
		return accountErr.Kind
	}
	return ""
}

func detail(t *testing.T, ev eventlog.Listed, key string) any {
	t.Helper()
	var details map[string]any
	if err := json.Unmarshal(ev.Details, &details); err != nil {
		t.Fatal(err)
	}
	return details[key]
}

func TestCreateValidatesEveryField(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cases := []struct {
		name  string
		user  NewUser
		field string
	}{
		{"bad login", NewUser{Login: "bad id!", Password: goodPassword}, "login"},
		{"upper-case login", NewUser{Login: "Anna", Password: goodPassword}, "login"},
		{"long login", NewUser{Login: strings.Repeat("a", 65), Password: goodPassword}, "login"},
		{"short password", NewUser{Login: "anna", Password: "Ab1-"}, "password"},
		{"one class", NewUser{Login: "anna", Password: "aaaaaaaaaaaaaaaa"}, "password"},
		{"login in password", NewUser{Login: "anna", Password: "Anna-12345-xyz"}, "password"},
		{"bad email", NewUser{Login: "anna", Email: "Anna <anna@example.com>", Password: goodPassword}, "email"},
		{"control in name", NewUser{Login: "anna", DisplayName: "An\x00na", Password: goodPassword}, "display_name"},
		{"unknown role", NewUser{Login: "anna", Role: "king", Password: goodPassword}, "role"},
		{"unknown group", NewUser{Login: "anna", Password: goodPassword, Groups: []int64{999}}, "groups"},
		{"built-in group", NewUser{Login: "anna", Password: goodPassword, Groups: []int64{1}}, "groups"},
	}
	for _, c := range cases {
		_, err := f.svc.Create(ctx, eventlog.Host, c.user)
		var accountErr *problem.Error
		if !errors.As(err, &accountErr) || accountErr.Kind != problem.Invalid || accountErr.Field != c.field {
			t.Errorf("%s: got %v, want invalid %s", c.name, err, c.field)
		}
	}
	users, _ := f.svc.List(ctx, UserFilter{})
	if len(users) != 0 {
		t.Fatalf("rejected users were stored: %+v", users)
	}

	anna, err := f.svc.Create(ctx, eventlog.Host, NewUser{Login: "jean.dupont-1", Password: goodPassword, Email: "jean@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if anna.DisplayName != "jean.dupont-1" || anna.Role != Member || !anna.Enabled || !anna.HasPassword {
		t.Errorf("created %+v", anna)
	}
	if _, err := f.svc.Create(ctx, eventlog.Host, NewUser{Login: "jean.dupont-1", Password: goodPassword}); kindOf(err) != problem.Conflict {
		t.Errorf("duplicate login: %v", err)
	}
	if got := f.events(t, eventlog.UserCreated); len(got) != 1 || got[0].SubjectUser.Login != "jean.dupont-1" || got[0].Actor != "host" {
		t.Errorf("user.created events %+v", got)
	}
}

func TestOnlyTheHostCreatesTheOwnerOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	admin := f.addUser(t, "admin", Admin)
	_, err := f.svc.Create(ctx, eventlog.Actor{UserID: admin.ID}, NewUser{Login: "boss", Password: goodPassword, Role: Owner})
	if kindOf(err) != problem.Forbidden {
		t.Errorf("admin created an owner: %v", err)
	}
	f.addUser(t, "boss", Owner)
	if _, err := f.svc.Create(ctx, eventlog.Host, NewUser{Login: "boss2", Password: goodPassword, Role: Owner}); kindOf(err) != problem.Conflict {
		t.Errorf("second owner: %v", err)
	}
	member := f.addUser(t, "member", Member)
	if _, err := f.svc.Create(ctx, eventlog.Actor{UserID: member.ID}, NewUser{Login: "x1", Password: goodPassword}); kindOf(err) != problem.Forbidden {
		t.Errorf("a member created a user: %v", err)
	}
	auditor := f.addUser(t, "auditor", SecurityAdmin)
	if _, err := f.svc.Create(ctx, eventlog.Actor{UserID: auditor.ID}, NewUser{Login: "x2", Password: goodPassword}); kindOf(err) != problem.Forbidden {
		t.Errorf("a security admin created a user: %v", err)
	}
}

func TestSignInLockoutAndUnlock(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	admin := f.addUser(t, "admin", Admin)
	anna := f.addUser(t, "anna", Member)
	wrong := Credentials{Login: "anna", Password: "nope", Source: "192.168.1.20", Kind: CookieSession}

	for i := 1; i < f.settings.Lockout.MaxFailures; i++ {
		if _, _, _, err := f.svc.SignIn(ctx, wrong); kindOf(err) != problem.BadCredentials {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	_, _, _, err := f.svc.SignIn(ctx, wrong)
	var locked *problem.Error
	if !errors.As(err, &locked) || locked.Kind != problem.LockedOut {
		t.Fatalf("failure %d did not lock: %v", f.settings.Lockout.MaxFailures, err)
	}
	if want := f.clock.Add(15 * time.Minute); !locked.Until.Equal(want) {
		t.Errorf("locked until %v, want %v", locked.Until, want)
	}
	right := wrong
	right.Password = goodPassword
	if _, _, _, err := f.svc.SignIn(ctx, right); kindOf(err) != problem.LockedOut {
		t.Fatalf("right password while locked: %v", err)
	}
	if u, _ := f.svc.User(ctx, anna.ID); u.LockedUntil == nil {
		t.Error("user does not show the lock")
	}

	failed := f.events(t, eventlog.SignInFailed)
	if len(failed) != f.settings.Lockout.MaxFailures+1 {
		t.Fatalf("%d failed sign-in events", len(failed))
	}
	if failed[0].Source != "192.168.1.20" || detail(t, failed[0], "reason") != "locked" || failed[1].SubjectUser.Login != "anna" {
		t.Errorf("failed sign-in rows %+v / %+v", failed[0], failed[1])
	}
	if lockedEvents := f.events(t, eventlog.Locked); len(lockedEvents) != 1 || lockedEvents[0].SubjectUser.ID != anna.ID {
		t.Errorf("auth.locked rows %+v", lockedEvents)
	}

	if err := f.svc.Unlock(ctx, eventlog.Actor{UserID: anna.ID}, anna.ID); kindOf(err) != problem.Forbidden {
		t.Errorf("a member unlocked: %v", err)
	}
	if err := f.svc.Unlock(ctx, eventlog.Actor{UserID: admin.ID, Source: "10.0.0.1"}, anna.ID); err != nil {
		t.Fatal(err)
	}
	token, session, user, err := f.svc.SignIn(ctx, right)
	if err != nil {
		t.Fatalf("sign in after unlock: %v", err)
	}
	if user.ID != anna.ID || session.Kind != CookieSession || token == "" {
		t.Errorf("signed in %+v %+v", user, session)
	}
	if unlocked := f.events(t, eventlog.UserUnlocked); len(unlocked) != 1 || unlocked[0].ActorUser.ID != admin.ID || detail(t, unlocked[0], "was_locked") != true {
		t.Errorf("user.unlocked rows %+v", unlocked)
	}
	if ok := f.events(t, eventlog.SignIn); len(ok) != 1 || ok[0].Source != "192.168.1.20" {
		t.Errorf("auth.sign_in rows %+v", ok)
	}
}

func TestLockoutEndsByItselfAndFailuresAgeOut(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.addUser(t, "anna", Member)
	wrong := Credentials{Login: "anna", Password: "nope", Kind: BearerSession}
	for i := 0; i < f.settings.Lockout.MaxFailures-1; i++ {
		f.svc.SignIn(ctx, wrong)
	}
	// The window passes: old failures no longer count.
	f.clock = f.clock.Add(16 * time.Minute)
	if _, _, _, err := f.svc.SignIn(ctx, wrong); kindOf(err) != problem.BadCredentials {
		t.Fatalf("aged-out failures still counted: %v", err)
	}
	for i := 0; i < f.settings.Lockout.MaxFailures-1; i++ {
		f.svc.SignIn(ctx, wrong)
	}
	right := Credentials{Login: "anna", Password: goodPassword, Kind: BearerSession}
	if _, _, _, err := f.svc.SignIn(ctx, right); kindOf(err) != problem.LockedOut {
		t.Fatalf("not locked: %v", err)
	}
	f.clock = f.clock.Add(15*time.Minute + time.Second)
	if _, _, _, err := f.svc.SignIn(ctx, right); err != nil {
		t.Fatalf("lock did not end: %v", err)
	}
}

func TestUnknownLoginAndDisabledAccount(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	anna := f.addUser(t, "anna", Member)
	_, _, _, unknownErr := f.svc.SignIn(ctx, Credentials{Login: "nobody", Password: goodPassword})
	_, _, _, wrongErr := f.svc.SignIn(ctx, Credentials{Login: "anna", Password: "x"})
	if unknownErr == nil || unknownErr.Error() != wrongErr.Error() {
		t.Errorf("unknown login and wrong password differ: %v / %v", unknownErr, wrongErr)
	}
	if rows := f.events(t, eventlog.SignInFailed); detail(t, rows[1], "login") != "nobody" || detail(t, rows[0], "login") != nil {
		t.Errorf("failure rows %s / %s", rows[1].Details, rows[0].Details)
	}

	token, _, _, err := f.svc.SignIn(ctx, Credentials{Login: " ANNA ", Password: goodPassword, Kind: CookieSession})
	if err != nil {
		t.Fatalf("login is not normalised: %v", err)
	}
	disabled := false
	if _, err := f.svc.Update(ctx, eventlog.Host, anna.ID, UserPatch{Enabled: &disabled}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.Authenticate(ctx, token); kindOf(err) != problem.BadCredentials {
		t.Errorf("session of a disabled user still works: %v", err)
	}
	if _, _, _, err := f.svc.SignIn(ctx, Credentials{Login: "anna", Password: goodPassword}); kindOf(err) != problem.Disabled {
		t.Errorf("disabled sign-in: %v", err)
	}
}

func TestSessionsExpireAndRevoke(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	anna := f.addUser(t, "anna", Member)
	creds := Credentials{Login: "anna", Password: goodPassword, Kind: BearerSession, Label: "test"}
	token, session, _, err := f.svc.SignIn(ctx, creds)
	if err != nil {
		t.Fatal(err)
	}
	got, user, err := f.svc.Authenticate(ctx, token)
	if err != nil || got.ID != session.ID || user.ID != anna.ID {
		t.Fatalf("authenticate: %+v %+v %v", got, user, err)
	}
	if _, _, err := f.svc.Authenticate(ctx, token+"x"); kindOf(err) != problem.BadCredentials {
		t.Errorf("forged token: %v", err)
	}
	if err := f.svc.SignOut(ctx, eventlog.Actor{UserID: anna.ID}, session.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.Authenticate(ctx, token); kindOf(err) != problem.BadCredentials {
		t.Errorf("signed-out token: %v", err)
	}

	second, _, _, _ := f.svc.SignIn(ctx, creds)
	f.clock = f.clock.Add(time.Duration(f.settings.SessionDays)*24*time.Hour + time.Second)
	if _, _, err := f.svc.Authenticate(ctx, second); kindOf(err) != problem.BadCredentials {
		t.Errorf("expired token: %v", err)
	}

	f.clock = f.clock.Add(31 * 24 * time.Hour)
	if err := f.svc.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	var left int
	f.db.SQL().QueryRow(`SELECT count(*) FROM sessions`).Scan(&left)
	if left != 0 {
		t.Errorf("%d sessions left after purge", left)
	}
}

func TestPasswordChangeRevokesOtherSessions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	anna := f.addUser(t, "anna", Member)
	creds := Credentials{Login: "anna", Password: goodPassword, Kind: CookieSession}
	keep, keepSession, _, _ := f.svc.SignIn(ctx, creds)
	other, _, _, _ := f.svc.SignIn(ctx, creds)

	self := eventlog.Actor{UserID: anna.ID}
	if err := f.svc.SetPassword(ctx, self, anna.ID, "wrong", "New-Password-42", keepSession.ID); kindOf(err) != problem.Invalid {
		t.Fatalf("wrong current password: %v", err)
	}
	if err := f.svc.SetPassword(ctx, self, anna.ID, goodPassword, "short", keepSession.ID); kindOf(err) != problem.Invalid {
		t.Fatalf("weak new password: %v", err)
	}
	if err := f.svc.SetPassword(ctx, self, anna.ID, goodPassword, "New-Password-42", keepSession.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.Authenticate(ctx, keep); err != nil {
		t.Errorf("the session that changed the password ended: %v", err)
	}
	if _, _, err := f.svc.Authenticate(ctx, other); err == nil {
		t.Error("another session survived the password change")
	}
	if _, _, _, err := f.svc.SignIn(ctx, creds); kindOf(err) != problem.BadCredentials {
		t.Errorf("old password still works: %v", err)
	}
	if rows := f.events(t, eventlog.UserPasswordChanged); len(rows) != 1 {
		t.Errorf("%d password events", len(rows))
	}
}

func TestUpdateRules(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	owner := f.addUser(t, "owner", Owner)
	admin := f.addUser(t, "admin", Admin)
	anna := f.addUser(t, "anna", Member)
	asAdmin := eventlog.Actor{UserID: admin.ID}
	no, login, ownerRole := false, "renamed", Owner
	adminRole := Admin

	if _, err := f.svc.Update(ctx, asAdmin, anna.ID, UserPatch{Login: &login}); kindOf(err) != problem.Invalid {
		t.Errorf("login change: %v", err)
	}
	if _, err := f.svc.Update(ctx, asAdmin, owner.ID, UserPatch{Enabled: &no}); kindOf(err) != problem.Forbidden {
		t.Errorf("disable owner: %v", err)
	}
	if _, err := f.svc.Update(ctx, asAdmin, admin.ID, UserPatch{Enabled: &no}); kindOf(err) != problem.Forbidden {
		t.Errorf("disable self: %v", err)
	}
	if _, err := f.svc.Update(ctx, asAdmin, anna.ID, UserPatch{Role: &ownerRole}); kindOf(err) != problem.Forbidden {
		t.Errorf("make a second owner: %v", err)
	}
	if _, err := f.svc.Update(ctx, eventlog.Actor{UserID: anna.ID}, anna.ID, UserPatch{Role: &adminRole}); kindOf(err) != problem.Forbidden {
		t.Errorf("member promoted self: %v", err)
	}
	name := "Anna Karenina"
	if u, err := f.svc.Update(ctx, eventlog.Actor{UserID: anna.ID}, anna.ID, UserPatch{DisplayName: &name}); err != nil || u.DisplayName != name {
		t.Errorf("own display name: %+v %v", u, err)
	}

	group, err := f.svc.CreateGroup(ctx, asAdmin, "Sales", []string{"share_screen"})
	if err != nil {
		t.Fatal(err)
	}
	groups := []int64{group.ID, group.ID}
	u, err := f.svc.Update(ctx, asAdmin, anna.ID, UserPatch{Groups: &groups, Role: &adminRole})
	if err != nil || len(u.Groups) != 1 || u.Role != Admin {
		t.Fatalf("groups and role: %+v %v", u, err)
	}
	rows := f.events(t, eventlog.UserUpdated)
	if len(rows) != 2 {
		t.Fatalf("%d user.updated rows", len(rows))
	}
	var details struct{ Before, After map[string]any }
	json.Unmarshal(rows[0].Details, &details)
	if details.Before["role"] != "user" || details.After["role"] != "admin" || rows[0].ActorUser.ID != admin.ID {
		t.Errorf("update row %s", rows[0].Details)
	}
}

func TestGroupsAndRights(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	admin := eventlog.Actor{UserID: f.addUser(t, "admin", Admin).ID}
	anna := f.addUser(t, "anna", Member)

	groups, err := f.svc.Groups(ctx)
	if err != nil || len(groups) != 2 || groups[0].Builtin == "" || groups[1].Builtin == "" {
		t.Fatalf("built-in groups %+v %v", groups, err)
	}
	for _, g := range groups {
		newName := "Renamed"
		if _, err := f.svc.UpdateGroup(ctx, admin, g.ID, GroupPatch{Name: &newName}); kindOf(err) != problem.Forbidden {
			t.Errorf("renamed built-in %s: %v", g.Name, err)
		}
		if err := f.svc.DeleteGroup(ctx, admin, g.ID); kindOf(err) != problem.Forbidden {
			t.Errorf("deleted built-in %s: %v", g.Name, err)
		}
	}
	rights, _ := f.svc.RightsOf(ctx, anna)
	if !contains(rights, "create_conferences") || contains(rights, "operator") {
		t.Errorf("ungrouped rights %v", rights)
	}

	if _, err := f.svc.CreateGroup(ctx, admin, "NoHost", []string{"fly"}); kindOf(err) != problem.Invalid {
		t.Errorf("unknown right: %v", err)
	}
	noHost, err := f.svc.CreateGroup(ctx, admin, "NoHost", []string{"share_screen"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateGroup(ctx, admin, "nohost", nil); kindOf(err) != problem.Conflict {
		t.Errorf("names differing by case: %v", err)
	}
	ops, _ := f.svc.CreateGroup(ctx, admin, "Ops", nil)
	opsRights := []string{"operator"}
	if ops, err = f.svc.UpdateGroup(ctx, admin, ops.ID, GroupPatch{Rights: &opsRights}); err != nil {
		t.Fatal(err)
	}
	member := []int64{noHost.ID, ops.ID}
	anna, _ = f.svc.Update(ctx, admin, anna.ID, UserPatch{Groups: &member})
	rights, _ = f.svc.RightsOf(ctx, anna)
	if strings.Join(rights, ",") != "operator,share_screen" {
		t.Errorf("union of groups: %v", rights)
	}

	if err := f.svc.DeleteGroup(ctx, admin, noHost.ID); err != nil {
		t.Fatal(err)
	}
	if u, err := f.svc.User(ctx, anna.ID); err != nil || len(u.Groups) != 1 {
		t.Errorf("member after group deletion: %+v %v", u, err)
	}
	for _, kind := range []string{eventlog.GroupCreated, eventlog.GroupUpdated, eventlog.GroupDeleted} {
		if rows := f.events(t, kind); len(rows) == 0 {
			t.Errorf("no %s rows", kind)
		}
	}
	list, _ := f.svc.List(ctx, UserFilter{GroupID: ops.ID})
	if len(list) != 1 || list[0].Login != "anna" {
		t.Errorf("filter by group: %+v", list)
	}
	found, _ := f.svc.List(ctx, UserFilter{Query: "NN"})
	if len(found) != 1 {
		t.Errorf("search: %+v", found)
	}
	if wild, _ := f.svc.List(ctx, UserFilter{Query: "%"}); len(wild) != 0 {
		t.Errorf("a LIKE wildcard matched %d users", len(wild))
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestSetupLinkWorksOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	token, err := f.svc.NewSetupToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.CheckSetupToken(ctx, "made-up"); kindOf(err) != problem.NotFound {
		t.Errorf("unknown token: %v", err)
	}
	if err := f.svc.CheckSetupToken(ctx, token); err != nil {
		t.Fatalf("fresh token: %v", err)
	}
	owner := NewUser{Login: "boss", DisplayName: "The Boss", Password: goodPassword, Role: Member}
	if _, _, _, err := f.svc.CompleteSetup(ctx, token, NewUser{Login: "boss", Password: "weak"}, "127.0.0.1"); kindOf(err) != problem.Invalid {
		t.Fatalf("weak password at setup: %v", err)
	}
	sessionToken, _, user, err := f.svc.CompleteSetup(ctx, token, owner, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if user.Role != Owner {
		t.Errorf("setup made a %s", user.Role)
	}
	if _, who, err := f.svc.Authenticate(ctx, sessionToken); err != nil || who.ID != user.ID {
		t.Errorf("setup session: %v", err)
	}
	if err := f.svc.CheckSetupToken(ctx, token); kindOf(err) != problem.Gone {
		t.Errorf("used token: %v", err)
	}
	owner.Login = "thief"
	if _, _, _, err := f.svc.CompleteSetup(ctx, token, owner, "127.0.0.1"); kindOf(err) != problem.Gone {
		t.Errorf("second use: %v", err)
	}
	if _, err := f.svc.NewSetupToken(ctx); kindOf(err) != problem.Gone {
		t.Errorf("new token after setup: %v", err)
	}
	if rows := f.events(t, eventlog.SetupOwnerCreated); len(rows) != 1 || rows[0].SubjectUser.Login != "boss" || rows[0].Source != "127.0.0.1" {
		t.Errorf("setup rows %+v", rows)
	}
}

func TestSetupLinkExpiresAndIsReplaced(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	first, _ := f.svc.NewSetupToken(ctx)
	second, _ := f.svc.NewSetupToken(ctx)
	if err := f.svc.CheckSetupToken(ctx, first); kindOf(err) != problem.NotFound {
		t.Errorf("replaced token: %v", err)
	}
	f.clock = f.clock.Add(25 * time.Hour)
	if err := f.svc.CheckSetupToken(ctx, second); kindOf(err) != problem.Gone {
		t.Errorf("expired token: %v", err)
	}
	f.clock = f.clock.Add(-25 * time.Hour)
	f.addUser(t, "boss", Owner)
	if err := f.svc.CheckSetupToken(ctx, second); kindOf(err) != problem.Gone {
		t.Errorf("token after the host made an owner: %v", err)
	}
}

func TestHashesVerifyAndRejectDamage(t *testing.T) {
	h := NewHasher(fastHash)
	hash, err := h.Hash("pässwörd")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := h.Verify(hash, "pässwörd"); !ok || err != nil {
		t.Fatalf("verify: %v %v", ok, err)
	}
	if ok, _ := h.Verify(hash, "passwörd"); ok {
		t.Fatal("a wrong password verified")
	}
	other, _ := h.Hash("pässwörd")
	if other == hash {
		t.Error("two hashes of one password are equal: no salt")
	}
	for _, damaged := range []string{"", "$argon2id$v=19$m=999999999,t=1,p=1$c2FsdHNhbHQ$" + strings.Repeat("A", 43), "$bcrypt$x", hash[:len(hash)-4]} {
		if ok, _ := h.Verify(damaged, "pässwörd"); ok {
			t.Errorf("damaged hash %q verified", damaged)
		}
	}
	params := MeasureHashParams(20 * time.Millisecond)
	if params.Time < minPasses || params.Time > maxPasses || params.MemoryKiB != defaultMemoryKiB {
		t.Errorf("measured %+v", params)
	}
}
