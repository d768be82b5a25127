package conference

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parleyhq/parley/server/accounts"
	"github.com/parleyhq/parley/server/eventlog"
	"github.com/parleyhq/parley/server/problem"
	"github.com/parleyhq/parley/server/protocol"
	"github.com/parleyhq/parley/server/settings"
	"github.com/parleyhq/parley/server/store/storetest"
)

// These tests drive room logic with a stand-in media plane: the SFU has its
// own tests with real peers, and the whole path runs in browsers in app/.

type fakeMedia struct {
	mu      sync.Mutex
	peers   map[string]*fakePeer
	closed  []string
	speaker map[string]func(string)
}

func (m *fakeMedia) Join(room, participant string, events MediaEvents) (MediaPeer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	peer := &fakePeer{events: events, blocked: map[string]bool{}}
	m.peers[participant] = peer
	return peer, nil
}

func (m *fakeMedia) OnSpeaker(room string, fn func(string)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.speaker[room] = fn
}

func (m *fakeMedia) CloseRoom(room string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = append(m.closed, room)
}

func (m *fakeMedia) peer(id string) *fakePeer {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.peers[id]
}

type fakePeer struct {
	mu      sync.Mutex
	events  MediaEvents
	blocked map[string]bool
	left    bool
}

func (p *fakePeer) Publish(offer string, tracks []protocol.TrackInfo) (string, error) {
	return "v=0 answer", nil
}
func (p *fakePeer) SubscribeAnswer(string) error                       { return nil }
func (p *fakePeer) AddCandidate(string, webrtc.ICECandidateInit) error { return nil }
func (p *fakePeer) RestartICE()                                        { p.events.SubscribeOffer("v=0 restart", nil) }
func (p *fakePeer) SetLayer(string, int, int, bool)                    {}
func (p *fakePeer) Quality() int                                       { return 5 }
func (p *fakePeer) Block(source string, blocked bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blocked[source] = blocked
}
func (p *fakePeer) Leave() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.left = true
}
func (p *fakePeer) isBlocked(source string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.blocked[source]
}

// member records what a client would receive.
type member struct {
	mu     sync.Mutex
	events []any
	closed bool
}

func (m *member) Send(event any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, event)
}

func (m *member) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
}

func typeOf(event any) string {
	return reflect.ValueOf(event).Elem().FieldByName("Event").Interface().(protocol.Event).Type
}

// wait returns the first event of a type received, waiting a little.
func (m *member) wait(t *testing.T, kind string) any {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		m.mu.Lock()
		for _, event := range m.events {
			if typeOf(event) == kind {
				m.mu.Unlock()
				return event
			}
		}
		m.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no %s event; got %v", kind, m.kinds())
	return nil
}

func (m *member) kinds() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var list []string
	for _, event := range m.events {
		list = append(list, typeOf(event))
	}
	return list
}

func (m *member) count(kind string) int {
	n := 0
	for _, k := range m.kinds() {
		if k == kind {
			n++
		}
	}
	return n
}

type fixture struct {
	t        *testing.T
	svc      *Service
	accounts *accounts.Service
	media    *fakeMedia
	settings settings.Settings
	clock    time.Time
	clockMu  sync.Mutex
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := storetest.Open(t, "")
	f := &fixture{t: t, settings: settings.Defaults(), clock: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC),
		media: &fakeMedia{peers: map[string]*fakePeer{}, speaker: map[string]func(string){}}}
	current := func() settings.Settings { return f.settings }
	f.accounts = accounts.New(db, current, accounts.NewHasher(accounts.HashParams{MemoryKiB: 64, Time: 1, Threads: 1}))
	f.svc = New(Config{DB: db, Accounts: f.accounts, Settings: current, Media: f.media,
		BaseURL: func() string { return "https://office.test:8443/" }})
	f.svc.now = f.now
	t.Cleanup(f.svc.Close)
	return f
}

func (f *fixture) now() time.Time {
	f.clockMu.Lock()
	defer f.clockMu.Unlock()
	return f.clock
}

func (f *fixture) advance(d time.Duration) {
	f.clockMu.Lock()
	defer f.clockMu.Unlock()
	f.clock = f.clock.Add(d)
}

func (f *fixture) user(login string, role accounts.Role) accounts.User {
	f.t.Helper()
	u, err := f.accounts.Create(context.Background(), eventlog.Host, accounts.NewUser{Login: login, DisplayName: "User " + login,
		Password: "Correct-Horse-7", Role: role})
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

func (f *fixture) create(owner accounts.User, spec Spec) Conference {
	f.t.Helper()
	c, err := f.svc.Create(context.Background(), owner, "127.0.0.1", spec)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// join joins and returns the handle and the client's events; a refusal
// fails the test unless wantCode names it.
func (f *fixture) join(req JoinRequest) (*Handle, *member) {
	f.t.Helper()
	m := &member{}
	req.Member = m
	if req.Source == "" {
		req.Source = "10.0.0.9"
	}
	h, err := f.svc.Join(context.Background(), req)
	if err != nil {
		f.t.Fatalf("join %+v: %v", req, err)
	}
	return h, m
}

func (f *fixture) refused(req JoinRequest, code string) *protocol.Error {
	f.t.Helper()
	req.Member = &member{}
	if req.Source == "" {
		req.Source = "10.0.0.9"
	}
	_, err := f.svc.Join(context.Background(), req)
	var protocolErr *protocol.Error
	if !errors.As(err, &protocolErr) || protocolErr.Code != code {
		f.t.Fatalf("join %+v: got %v, want %s", req, err, code)
	}
	return protocolErr
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var protocolErr *protocol.Error
	if !errors.As(err, &protocolErr) || protocolErr.Code != code {
		t.Fatalf("got %v, want %s", err, code)
	}
}

func TestCreateChecksAndNamesConferences(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	owner := f.user("owner", accounts.Member)
	c := f.create(owner, Spec{})
	if len(c.CID) != 10 || c.CID[0] == '0' || c.Kind != KindRoom || c.Access != AccessPublic || c.Lobby != LobbyGuests ||
		c.MaxParticipants != f.settings.DefaultMaxParticipants || c.Link != "https://office.test:8443/c/"+c.CID || c.State != StateOpen {
		t.Errorf("defaults %+v", c)
	}
	custom := f.create(owner, Spec{CID: "Weekly_sync-1", Name: "Weekly sync", PIN: "auto", Access: AccessInternal})
	if custom.CID != "Weekly_sync-1" || len(custom.PIN) != autoPINDigits || custom.Lobby != LobbyOff {
		t.Errorf("custom %+v", custom)
	}
	for name, spec := range map[string]Spec{
		"taken id":          {CID: "weekly_SYNC-1"},
		"bad id":            {CID: "a b"},
		"bad kind":          {Kind: "party"},
		"bad pin":           {PIN: "12"},
		"too many":          {MaxParticipants: 100000},
		"schedule missing":  {Kind: KindScheduled},
		"bad time zone":     {Kind: KindScheduled, Schedule: &ScheduleSpec{StartsAt: f.now(), DurationMinutes: 30, TimeZone: "Mars/Olympus"}},
		"schedule on room":  {Schedule: &ScheduleSpec{StartsAt: f.now(), DurationMinutes: 30}},
		"bad weekday":       {Kind: KindScheduled, Schedule: &ScheduleSpec{StartsAt: f.now(), DurationMinutes: 30, Weekdays: []string{"funday"}}},
		"unknown invitee":   {Invitees: []Invitee{{UserID: 999}}},
		"bad invitee role":  {Invitees: []Invitee{{UserID: owner.ID, Role: "king"}}},
		"control character": {Name: "a\x07b"},
	} {
		_, err := f.svc.Create(ctx, owner, "", spec)
		var p *problem.Error
		if !errors.As(err, &p) || (p.Kind != problem.Invalid && p.Kind != problem.Conflict) {
			t.Errorf("%s: %v", name, err)
		}
	}
	restricted, _ := f.accounts.CreateGroup(ctx, eventlog.Host, "NoHost", nil)
	guest := f.user("nohost", accounts.Member)
	groups := []int64{restricted.ID}
	guest, _ = f.accounts.Update(ctx, eventlog.Host, guest.ID, accounts.UserPatch{Groups: &groups})
	if _, err := f.svc.Create(ctx, guest, "", Spec{}); !isKind(err, problem.Forbidden) {
		t.Errorf("a user without the right created a conference: %v", err)
	}
	mine, _ := f.svc.List(ctx, ListFilter{UserID: owner.ID})
	if len(mine) != 2 {
		t.Errorf("listed %d", len(mine))
	}
}

func isKind(err error, kind problem.Kind) bool {
	var p *problem.Error
	return errors.As(err, &p) && p.Kind == kind
}

func TestGuestsAndSignInRules(t *testing.T) {
	f := newFixture(t)
	owner := f.user("owner", accounts.Member)
	internal := f.create(owner, Spec{Access: AccessInternal})
	f.refused(JoinRequest{CID: internal.CID, Name: "Gina"}, "sign_in_required")
	f.refused(JoinRequest{CID: "nope"}, "not_found")
	public := f.create(owner, Spec{Lobby: LobbyOff})
	e := f.refused(JoinRequest{CID: public.CID}, "invalid")
	if e.Field != "name" {
		t.Errorf("missing name names %q", e.Field)
	}
	_, m := f.join(JoinRequest{CID: public.CID, Name: "Gina", RequestID: 7})
	joined := m.wait(t, "joined").(*protocol.Joined)
	if joined.Re != 7 || joined.You.Kind != "guest" || joined.You.Role != protocol.RoleParticipant || joined.Resume == "" ||
		joined.Conference.CID != public.CID || len(joined.Participants) != 1 {
		t.Errorf("joined %+v", joined)
	}
}

func TestLobbyAdmitsAndRefuses(t *testing.T) {
	f := newFixture(t)
	owner := f.user("owner", accounts.Member)
	c := f.create(owner, Spec{Lobby: LobbyGuests})
	host, hostEvents := f.join(JoinRequest{CID: c.CID, User: &owner})
	hostEvents.wait(t, "joined")

	gina, ginaEvents := f.join(JoinRequest{CID: c.CID, Name: "Gina", RequestID: 3, Source: "10.0.0.20"})
	if lobby := ginaEvents.wait(t, "lobby").(*protocol.Lobby); lobby.Re != 3 {
		t.Errorf("lobby answer %+v", lobby)
	}
	notice := hostEvents.wait(t, "lobby_updated").(*protocol.LobbyUpdated)
	if len(notice.Lobby) != 1 || notice.Lobby[0].Name != "Gina" || notice.Lobby[0].Kind != "guest" {
		t.Errorf("join request %+v", notice)
	}
	if _, err := gina.Chat("hello?", ""); err == nil {
		t.Error("someone in the lobby chatted")
	}
	if err := gina.Admit(host.ID(), false); err == nil {
		t.Error("someone in the lobby admitted")
	}
	if err := host.Admit(gina.ID(), false); err != nil {
		t.Fatal(err)
	}
	ginaEvents.wait(t, "admitted")
	ginaEvents.wait(t, "joined")
	hostEvents.wait(t, "participant_joined")

	_, ralfEvents := f.join(JoinRequest{CID: c.CID, Name: "Ralf", Source: "10.0.0.30"})
	ralfEvents.wait(t, "lobby")
	waiting := f.svc.runningRoom(c.CID)
	waiting.mu.Lock()
	ralfID := waiting.lobby[0].info.ID
	waiting.mu.Unlock()
	if err := host.Refuse(ralfID, false); err != nil {
		t.Fatal(err)
	}
	if refused := ralfEvents.wait(t, "refused").(*protocol.Refused); refused.RetryAfter != 60 {
		t.Errorf("refused %+v", refused)
	}
	e := f.refused(JoinRequest{CID: c.CID, Name: "Ralf", Source: "10.0.0.30"}, "refused")
	if e.RetryAfter < 59 || e.RetryAfter > 61 {
		t.Errorf("retry after %d", e.RetryAfter)
	}
	// A colleague behind the same address is not refused with him.
	colleague, colleagueEvents := f.join(JoinRequest{CID: c.CID, Name: "Anna", Source: "10.0.0.30"})
	colleagueEvents.wait(t, "lobby")
	colleague.Leave()
	f.advance(61 * time.Second)
	_, again := f.join(JoinRequest{CID: c.CID, Name: "Ralf", Source: "10.0.0.30"})
	again.wait(t, "lobby")
	if err := host.Admit("", true); err != nil {
		t.Fatal(err)
	}
	again.wait(t, "joined")
	for _, kind := range []string{eventlog.ConferenceAdmitted, eventlog.ConferenceRefused, eventlog.ConferenceJoined} {
		if rows, _ := eventlog.List(context.Background(), f.svc.db.SQL(), eventlog.Filter{Kind: kind}); len(rows) == 0 {
			t.Errorf("no %s event", kind)
		}
	}
}

func TestPINLockAndLimit(t *testing.T) {
	f := newFixture(t)
	owner := f.user("owner", accounts.Member)
	anna := f.user("anna", accounts.Member)
	c := f.create(owner, Spec{PIN: "4711", Lobby: LobbyOff, MaxParticipants: 3})
	host, _ := f.join(JoinRequest{CID: c.CID, User: &owner}) // the owner needs no PIN
	f.refused(JoinRequest{CID: c.CID, Name: "Gina"}, "pin_required")
	for i := 0; i < wrongPINLimit; i++ {
		f.refused(JoinRequest{CID: c.CID, Name: "Gina", PIN: "0000", Source: "10.0.0.66"}, "wrong_pin")
	}
	f.refused(JoinRequest{CID: c.CID, Name: "Gina", PIN: "4711", Source: "10.0.0.66"}, "rate_limited")
	f.join(JoinRequest{CID: c.CID, Name: "Gina", PIN: "4711"})

	if err := host.Lock(true); err != nil {
		t.Fatal(err)
	}
	f.refused(JoinRequest{CID: c.CID, User: &anna, PIN: "4711"}, "locked")
	// Someone invited after the lock may come in.
	invitees := []Invitee{{UserID: anna.ID}}
	if _, err := f.svc.Update(context.Background(), owner, "", c.CID, Patch{Invitees: &invitees}); err != nil {
		t.Fatal(err)
	}
	f.join(JoinRequest{CID: c.CID, User: &anna, PIN: "4711"})
	if err := host.Lock(false); err != nil {
		t.Fatal(err)
	}
	f.refused(JoinRequest{CID: c.CID, Name: "Fourth", PIN: "4711"}, "full")

	pin, err := host.SetPIN("auto")
	if err != nil || len(pin) != autoPINDigits {
		t.Fatalf("auto PIN %q %v", pin, err)
	}
	stored, _ := f.svc.Get(context.Background(), c.CID)
	if stored.PIN != pin {
		t.Errorf("the new PIN was not stored: %q", stored.PIN)
	}
}

func TestModeratorMutesAndRemoves(t *testing.T) {
	f := newFixture(t)
	owner := f.user("owner", accounts.Member)
	c := f.create(owner, Spec{Lobby: LobbyOff})
	host, hostEvents := f.join(JoinRequest{CID: c.CID, User: &owner})
	gina, ginaEvents := f.join(JoinRequest{CID: c.CID, Name: "Gina"})
	hostEvents.wait(t, "participant_joined")

	if err := gina.MuteParticipant(host.ID(), protocol.Microphone, false); err == nil {
		t.Error("a participant muted the owner")
	}
	if err := host.MuteParticipant(gina.ID(), protocol.Microphone, true); err != nil {
		t.Fatal(err)
	}
	muted := ginaEvents.wait(t, "muted_by_moderator").(*protocol.MutedByModerator)
	if !muted.Forced || muted.Source != protocol.Microphone || muted.By != host.ID() {
		t.Errorf("muted %+v", muted)
	}
	if !f.media.peer(gina.ID()).isBlocked(protocol.Microphone) {
		t.Error("a forced mute is not enforced in the media plane")
	}
	wantCode(t, gina.Mute(protocol.Microphone, false), "forbidden")
	if err := host.AllowUnmute(gina.ID(), protocol.Microphone); err != nil {
		t.Fatal(err)
	}
	if err := gina.Mute(protocol.Microphone, false); err != nil {
		t.Fatalf("unmute after allowed: %v", err)
	}
	if f.media.peer(gina.ID()).isBlocked(protocol.Microphone) {
		t.Error("unmuted microphone still blocked")
	}

	if err := gina.Remove(host.ID()); err == nil {
		t.Error("a participant removed the owner")
	}
	if err := host.Remove(gina.ID()); err != nil {
		t.Fatal(err)
	}
	ginaEvents.wait(t, "removed")
	left := hostEvents.wait(t, "participant_left").(*protocol.ParticipantLeft)
	if left.Reason != "removed" || !ginaEvents.closed {
		t.Errorf("left %+v, connection closed %v", left, ginaEvents.closed)
	}
	if !f.media.peer(gina.ID()).left {
		t.Error("removed participant's media still connected")
	}
	for _, kind := range []string{eventlog.ConferenceMuted, eventlog.ConferenceUnmuteAllow, eventlog.ConferenceRemoved} {
		if rows, _ := eventlog.List(context.Background(), f.svc.db.SQL(), eventlog.Filter{Kind: kind}); len(rows) != 1 {
			t.Errorf("%d %s events", len(rows), kind)
		}
	}
}

func TestWebinarListenersCannotPublish(t *testing.T) {
	f := newFixture(t)
	owner := f.user("owner", accounts.Member)
	c := f.create(owner, Spec{Mode: ModeWebinar, Lobby: LobbyOff})
	host, _ := f.join(JoinRequest{CID: c.CID, User: &owner})
	listener, events := f.join(JoinRequest{CID: c.CID, Name: "Watcher"})
	if you := events.wait(t, "joined").(*protocol.Joined).You; you.Role != protocol.RoleListener {
		t.Fatalf("role %s", you.Role)
	}
	_, err := listener.Publish("v=0", []protocol.TrackInfo{{Mid: "0", Source: protocol.Microphone}})
	wantCode(t, err, "forbidden")
	if err := host.SetRole(listener.ID(), protocol.RoleSpeaker); err != nil {
		t.Fatal(err)
	}
	if _, err := listener.Publish("v=0", []protocol.TrackInfo{{Mid: "0", Source: protocol.Microphone}}); err != nil {
		t.Fatalf("speaker publish: %v", err)
	}
	if f.media.peer(listener.ID()).isBlocked(protocol.Microphone) {
		t.Error("a speaker's microphone is blocked")
	}
	if err := host.SetRole(host.ID(), protocol.RoleListener); err == nil {
		t.Error("the owner's role changed")
	}
}

func TestChatHistoryPrivacyAndEditing(t *testing.T) {
	f := newFixture(t)
	owner := f.user("owner", accounts.Member)
	c := f.create(owner, Spec{Lobby: LobbyOff})
	host, hostEvents := f.join(JoinRequest{CID: c.CID, User: &owner})
	gina, ginaEvents := f.join(JoinRequest{CID: c.CID, Name: "Gina"})
	ralf, ralfEvents := f.join(JoinRequest{CID: c.CID, Name: "Ralf"})

	public, err := gina.Chat("Hello all", "")
	if err != nil {
		t.Fatal(err)
	}
	hostEvents.wait(t, "chat")
	ralfEvents.wait(t, "chat")
	if _, err := gina.Chat("psst", ralf.ID()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if hostEvents.count("chat") != 1 || ralfEvents.count("chat") != 2 || ginaEvents.count("chat") != 0 {
		t.Errorf("chat delivered host %d ralf %d gina %d", hostEvents.count("chat"), ralfEvents.count("chat"), ginaEvents.count("chat"))
	}
	if _, err := ralf.ChatEdit(public.ID, "hijacked"); err == nil {
		t.Error("edited someone else's message")
	}
	edited, err := gina.ChatEdit(public.ID, "Hello everyone")
	if err != nil || edited.EditedAt == nil {
		t.Fatalf("edit %+v %v", edited, err)
	}
	f.advance(11 * time.Minute)
	if _, err := gina.ChatDelete(public.ID); err == nil {
		t.Error("deleted after the edit window")
	}
	if _, err := host.ChatDelete(public.ID); err != nil {
		t.Fatalf("moderator delete: %v", err)
	}

	_, lateEvents := f.join(JoinRequest{CID: c.CID, Name: "Late"})
	history := lateEvents.wait(t, "joined").(*protocol.Joined).Chat
	if len(history) != 1 || !history[0].Deleted || history[0].Text != "" {
		t.Errorf("late joiner sees %+v", history)
	}
	hostHistory, _ := f.svc.ChatHistory(context.Background(), c.CID, owner.ID)
	if len(hostHistory) != 1 {
		t.Errorf("the owner's history shows private messages of others: %+v", hostHistory)
	}
}

func TestRoomsEndWhenEmptyOrAlone(t *testing.T) {
	f := newFixture(t)
	owner := f.user("owner", accounts.Member)
	instant := f.create(owner, Spec{Kind: KindInstant, Lobby: LobbyOff})
	host, _ := f.join(JoinRequest{CID: instant.CID, User: &owner})
	host.Leave()
	if f.svc.runningRoom(instant.CID) != nil {
		t.Fatal("an empty instant meeting still runs")
	}
	f.refused(JoinRequest{CID: instant.CID, User: &owner}, "ended")

	room := f.create(owner, Spec{Lobby: LobbyOff})
	_, events := f.join(JoinRequest{CID: room.CID, User: &owner})
	gina, _ := f.join(JoinRequest{CID: room.CID, Name: "Gina"})
	gina.Leave()
	f.advance(time.Duration(f.settings.AloneMinutes)*time.Minute + time.Second)
	if ended := events.wait(t, "ended").(*protocol.Ended); ended.Reason != "alone" {
		t.Errorf("ended %+v", ended)
	}
	// A room can run again later.
	f.join(JoinRequest{CID: room.CID, User: &owner})
}

func TestResumeKeepsTheSeat(t *testing.T) {
	f := newFixture(t)
	owner := f.user("owner", accounts.Member)
	c := f.create(owner, Spec{Lobby: LobbyOff})
	_, hostEvents := f.join(JoinRequest{CID: c.CID, User: &owner})
	gina, ginaEvents := f.join(JoinRequest{CID: c.CID, Name: "Gina"})
	token := ginaEvents.wait(t, "joined").(*protocol.Joined).Resume
	gina.Detach()
	f.advance(20 * time.Second)
	back := &member{}
	if _, err := f.svc.Resume(token, back, 4); err != nil {
		t.Fatal(err)
	}
	joined := back.wait(t, "joined").(*protocol.Joined)
	if !joined.Resumed || joined.Re != 4 || joined.You.ID != gina.ID() {
		t.Errorf("resumed %+v", joined)
	}
	gina.Detach()
	f.advance(31 * time.Second)
	left := hostEvents.wait(t, "participant_left").(*protocol.ParticipantLeft)
	if left.Reason != "disconnected" {
		t.Errorf("left %+v", left)
	}
	if _, err := f.svc.Resume(token, &member{}, 5); err == nil {
		t.Error("resumed after the grace period")
	}
}

func TestScheduledConferenceOpensOnTime(t *testing.T) {
	f := newFixture(t)
	owner := f.user("owner", accounts.Member)
	start := f.now().Add(time.Hour)
	c := f.create(owner, Spec{Kind: KindScheduled, Lobby: LobbyOff,
		Schedule: &ScheduleSpec{StartsAt: start, DurationMinutes: 30, TimeZone: "Europe/Paris", JoinBeforeMinutes: 10}})
	e := f.refused(JoinRequest{CID: c.CID, User: &owner}, "not_started")
	if e.OpensAt == nil || !e.OpensAt.Equal(start.Add(-10*time.Minute)) {
		t.Errorf("opens at %v", e.OpensAt)
	}
	f.advance(51 * time.Minute)
	f.join(JoinRequest{CID: c.CID, User: &owner})
	info, _ := f.svc.JoinInfo(context.Background(), c.CID, false)
	if info.State != StateOpen {
		t.Errorf("join info %+v", info)
	}
}

func TestSubscribeOffersWaitForJoined(t *testing.T) {
	f := newFixture(t)
	owner := f.user("owner", accounts.Member)
	c := f.create(owner, Spec{Lobby: LobbyOff})
	host, events := f.join(JoinRequest{CID: c.CID, User: &owner})
	if err := host.RestartICE(); err != nil {
		t.Fatal(err)
	}
	kinds := events.kinds()
	if len(kinds) < 2 || kinds[0] != "joined" || kinds[1] != "subscribe_offer" {
		t.Errorf("events in order %v", kinds)
	}
}

func TestGuestsCanBeTurnedOff(t *testing.T) {
	f := newFixture(t)
	owner := f.user("owner", accounts.Member)
	c := f.create(owner, Spec{Lobby: LobbyOff})
	f.settings.GuestsAllowed = false
	f.refused(JoinRequest{CID: c.CID, Name: "Gina"}, "sign_in_required")
	info, _ := f.svc.JoinInfo(context.Background(), c.CID, false)
	if !info.SignInRequired {
		t.Errorf("join info %+v", info)
	}
	f.join(JoinRequest{CID: c.CID, User: &owner})
	f.settings.DefaultLobby, f.settings.DefaultMaxParticipants = LobbyEveryone, 12
	if later := f.create(owner, Spec{}); later.Lobby != LobbyEveryone || later.MaxParticipants != 12 {
		t.Errorf("defaults not applied: %+v", later)
	}
}

func TestListShowsInvitees(t *testing.T) {
	f := newFixture(t)
	owner := f.user("owner", accounts.Member)
	anna := f.user("anna", accounts.Member)
	f.create(owner, Spec{Name: "Alone"})
	f.create(owner, Spec{Name: "With Anna", Invitees: []Invitee{{UserID: anna.ID, Role: protocol.RoleModerator}}})
	list, err := f.svc.List(context.Background(), ListFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		want := 0
		if c.Name == "With Anna" {
			want = 1
		}
		if len(c.Invitees) != want || (want == 1 && c.Invitees[0] != Invitee{UserID: anna.ID, Role: protocol.RoleModerator}) {
			t.Errorf("%s lists invitees %+v", c.Name, c.Invitees)
		}
	}
}
