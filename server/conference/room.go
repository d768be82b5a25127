package conference

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/parleyhq/parley/server/accounts"
	"github.com/parleyhq/parley/server/eventlog"
	"github.com/parleyhq/parley/server/problem"
	"github.com/parleyhq/parley/server/protocol"
	"github.com/parleyhq/parley/server/store"
	"github.com/pion/webrtc/v4"
)

// Room is a running conference: who is in it, who waits, and its state
// while it runs (lock, PIN, speaker).
type Room struct {
	svc *Service

	mu             sync.Mutex
	def            Conference
	pin            string
	locked         bool
	lockedInvitees map[int64]bool // invitees when the lock was set
	sessionID      int64
	joined         []*participant
	lobby          []*participant
	refused        map[string]time.Time // refusal key -> may ask again after
	speaker        string
	aloneSince     time.Time
	peak           int
	ended          bool

	stop chan struct{}
	done chan struct{}
}

// Timings of rooms.
const (
	refusalTime  = time.Minute      // a refused person may not ask again before
	resumeGrace  = 30 * time.Second // a dropped connection keeps its place this long
	tickEvery    = time.Second
	qualityEvery = 5 * time.Second
	chatHistoryN = 200
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func fail(code, format string, args ...any) *protocol.Error {
	return &protocol.Error{Event: protocol.Event{Type: "error"}, Code: code, Message: fmt.Sprintf(format, args...)}
}

// JoinRequest is a client's join.
type JoinRequest struct {
	RequestID int64
	CID       string
	Name      string
	PIN       string
	Muted     protocol.Sources // what the client sends from the start
	User      *accounts.User   // nil for guests
	Phone     *protocol.Phone  // set for a telephone call through the SIP gateway
	Source    string           // network address
	Member    Member
}

// Join brings a client into a conference or its lobby. The answer (lobby
// or joined) goes to the member, carrying RequestID; a refusal comes back
// as a *protocol.Error.
func (s *Service) Join(ctx context.Context, req JoinRequest) (*Handle, error) {
	def, err := s.Get(ctx, req.CID)
	var notFound *problem.Error
	if errors.As(err, &notFound) && notFound.Kind == problem.NotFound {
		return nil, fail("not_found", "There is no conference %s.", req.CID)
	}
	if err != nil {
		return nil, err
	}
	switch def.State {
	case StateEnded:
		return nil, fail("ended", "This conference has ended.")
	case StateNotStarted:
		e := fail("not_started", "This conference has not started yet.")
		e.OpensAt = def.OpensAt
		return nil, e
	}
	if def.Access == AccessInternal && req.User == nil {
		return nil, fail("sign_in_required", "Sign in to join this conference.")
	}
	if req.User == nil && !s.settings().GuestsAllowed {
		return nil, fail("sign_in_required", "This server lets only people with an account join; sign in.")
	}
	p := &participant{source: req.Source, blocked: map[string]bool{}, member: req.Member, resume: newToken("r_", 18)}
	p.info = protocol.Participant{ID: newToken("p_", 9), Kind: "guest", Muted: req.Muted}
	if req.Phone != nil {
		// A phone is a participant of its own kind; whether it counts as
		// a user or a guest depends on whether it signed in (User).
		p.info.Kind, p.info.Number = "sip", req.Phone.Number
		p.dialled = req.Phone.Invited
	}
	if req.User != nil {
		p.info.UserID, p.info.Name = req.User.ID, req.User.DisplayName
		if req.Phone == nil {
			p.info.Kind = "user"
		}
		var err error
		if p.info.Role, p.invited, err = s.roleFor(ctx, def, *req.User); err != nil {
			return nil, err
		}
	} else {
		if req.Name == "" {
			return nil, &protocol.Error{Event: protocol.Event{Type: "error"}, Code: "invalid", Field: "name", Message: "Enter your name to join."}
		}
		p.info.Name = req.Name
		p.info.Role = protocol.RoleParticipant
		if def.Mode == ModeWebinar {
			p.info.Role = protocol.RoleListener
		}
	}
	if p.dialled {
		p.invited = true
	}
	moderator := isModerator(p.info.Role)
	for attempt := 0; ; attempt++ {
		room, err := s.startRoom(ctx, def)
		if err != nil {
			return nil, err
		}
		if !moderator && !p.dialled {
			if err := s.checkPIN(room, req); err != nil {
				return nil, err
			}
		}
		handle, err := room.enter(p, req.RequestID)
		if errors.Is(err, errRoomEnded) && attempt < 2 {
			continue // it ended under us; a new session starts
		}
		if err == nil && handle != nil {
			s.mu.Lock()
			s.resumes[p.resume] = p
			s.mu.Unlock()
		}
		return handle, err
	}
}

var errRoomEnded = errors.New("room ended")

func (s *Service) checkPIN(room *Room, req JoinRequest) error {
	pin := room.currentPIN()
	if pin == "" {
		return nil
	}
	if s.pinBlocked(req.Source) {
		e := fail("rate_limited", "Too many wrong PINs; wait a minute and try again.")
		e.RetryAfter = int(wrongPINWindow.Seconds())
		return e
	}
	if req.PIN == "" {
		return fail("pin_required", "This conference needs a PIN.")
	}
	if req.PIN != pin {
		s.recordWrongPIN(req.Source)
		return &protocol.Error{Event: protocol.Event{Type: "error"}, Code: "wrong_pin", Field: "pin", Message: "The PIN is wrong."}
	}
	return nil
}

// roleFor decides a user's role: the owner, moderators by invitation or by
// the operator right, and otherwise participants (listeners in webinars).
func (s *Service) roleFor(ctx context.Context, def Conference, user accounts.User) (string, bool, error) {
	if user.ID == def.Owner.ID {
		return protocol.RoleOwner, true, nil
	}
	invitedRole := ""
	for _, inv := range def.Invitees {
		if inv.UserID == user.ID {
			invitedRole = inv.Role
		}
	}
	rights, err := s.accounts.RightsOf(ctx, user)
	if err != nil {
		return "", false, err
	}
	switch {
	case invitedRole == protocol.RoleModerator || slices.Contains(rights, "operator"):
		return protocol.RoleModerator, invitedRole != "", nil
	case def.Mode == ModeWebinar && invitedRole == protocol.RoleSpeaker:
		return protocol.RoleSpeaker, true, nil
	case def.Mode == ModeWebinar:
		return protocol.RoleListener, invitedRole != "", nil
	}
	return protocol.RoleParticipant, invitedRole != "", nil
}

// startRoom returns the running room of a conference, starting it if
// needed: a new session row, the media room, the room's clock.
func (s *Service) startRoom(ctx context.Context, def Conference) (*Room, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, fail("ended", "The server is stopping.")
	}
	if room := s.rooms[roomKey(def.CID)]; room != nil {
		s.mu.Unlock()
		return room, nil
	}
	room := &Room{svc: s, def: def, pin: def.PIN, refused: map[string]time.Time{},
		stop: make(chan struct{}), done: make(chan struct{})}
	s.rooms[roomKey(def.CID)] = room
	s.mu.Unlock()

	err := s.db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO conference_sessions (conference_id, started_at) VALUES (?, ?)`,
			def.ID, store.Millis(s.now()))
		if err != nil {
			return fmt.Errorf("start conference %s: %w", def.CID, err)
		}
		room.sessionID, _ = res.LastInsertId()
		return eventlog.Append(ctx, tx, eventlog.Entry{Kind: eventlog.ConferenceStarted, Actor: eventlog.System,
			Subject: "conference " + def.CID, Details: map[string]any{"session": room.sessionID}})
	})
	if err != nil {
		s.mu.Lock()
		delete(s.rooms, roomKey(def.CID))
		s.mu.Unlock()
		return nil, err
	}
	s.media.OnSpeaker(def.CID, room.setSpeaker)
	go room.run()
	return room, nil
}

func (r *Room) cid() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.def.CID
}

func (r *Room) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.joined)
}

func (r *Room) currentPIN() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pin
}

func (r *Room) redefine(c Conference) {
	r.mu.Lock()
	changedPIN := c.PIN != r.def.PIN
	r.def = c
	if changedPIN {
		r.pin = c.PIN
	}
	update := r.conferenceUpdatedLocked()
	members := slices.Clone(r.joined)
	r.mu.Unlock()
	for _, p := range members {
		p.send(update)
	}
}

func (r *Room) describeLocked() protocol.Conference {
	described := r.def.describe(r.locked, r.pin != "")
	described.RelayOnly = r.svc.relayOnly(r.def)
	return described
}

func (r *Room) conferenceUpdatedLocked() *protocol.ConferenceUpdated {
	return &protocol.ConferenceUpdated{Event: protocol.Event{Type: "conference_updated"}, Conference: r.describeLocked()}
}

// lobbyApplies decides whether p waits to be admitted.
func (r *Room) lobbyApplies(p *participant) bool {
	if isModerator(p.info.Role) || p.dialled {
		return false
	}
	switch r.def.Lobby {
	case LobbyGuests:
		return p.info.UserID == 0 // guests, and phones of unknown callers
	case LobbyUninvited:
		return !p.invited
	case LobbyEveryone:
		return true
	}
	return false
}

// enter applies the lock, refusals, the limit and the lobby, then admits p
// or puts it in the lobby.
func (r *Room) enter(p *participant, requestID int64) (*Handle, error) {
	r.mu.Lock()
	if r.ended {
		r.mu.Unlock()
		return nil, errRoomEnded
	}
	p.room = r
	moderator := isModerator(p.info.Role)
	if r.locked && !moderator && !(p.invited && !r.lockedInvitees[p.info.UserID]) {
		r.mu.Unlock()
		return nil, fail("locked", "This conference is locked; nobody new may enter.")
	}
	if until, ok := r.refused[p.refusalKey()]; ok && r.svc.now().Before(until) {
		r.mu.Unlock()
		e := fail("refused", "A moderator did not let you in. You may ask again in a minute.")
		e.RetryAfter = int(until.Sub(r.svc.now()).Seconds()) + 1
		return nil, e
	}
	if len(r.joined) >= r.def.MaxParticipants && p.info.Role != protocol.RoleOwner {
		r.mu.Unlock()
		return nil, fail("full", "This conference is full (%d participants).", r.def.MaxParticipants)
	}
	if r.svc.relayOnly(r.def) && !hasRelay(r.svc.iceServers(iceUser(p.info))) {
		r.mu.Unlock()
		return nil, fail("relay_unavailable", "This conference sends all media through a relay (TURN) server, and none is set up. "+
			"Ask the administrator to turn on the built-in TURN server or to add one in the settings.")
	}
	if r.lobbyApplies(p) {
		p.inLobby, p.lobbySince = true, r.svc.now()
		r.lobby = append(r.lobby, p)
		conference := r.describeLocked()
		notice := r.lobbyUpdatedLocked()
		moderators := r.moderatorsLocked()
		r.mu.Unlock()
		p.sendNow(&protocol.Lobby{Event: protocol.Event{Type: "lobby", Re: requestID}, Conference: conference,
			Message: "Please wait, a moderator will let you in."})
		for _, m := range moderators {
			m.send(notice)
		}
		r.svc.logger.Info("waiting in lobby", slog.String("conference", conference.CID), slog.String("participant", p.info.ID))
		return &Handle{p: p}, nil
	}
	r.mu.Unlock()
	if err := r.admit(p, requestID, false); err != nil {
		return nil, err
	}
	return &Handle{p: p}, nil
}

// admit connects p's media and makes it a full participant: everyone is
// told, and p gets joined (answering requestID).
func (r *Room) admit(p *participant, requestID int64, fromLobby bool) error {
	peer, err := r.svc.media.Join(r.def.CID, p.info.ID, p)
	if err != nil {
		return fail("media", "The media server could not take you in: %v", err)
	}
	r.mu.Lock()
	if r.ended {
		r.mu.Unlock()
		peer.Leave()
		return errRoomEnded
	}
	r.lobby = slices.DeleteFunc(r.lobby, func(q *participant) bool { return q == p })
	p.inLobby, p.peer = false, peer
	p.info.JoinedAt = r.svc.now().UTC()
	r.joined = append(r.joined, p)
	r.peak = max(r.peak, len(r.joined))
	if len(r.joined) != 1 {
		r.aloneSince = time.Time{}
	}
	listener := !canPublish(p.info.Role)
	joined := r.joinedLocked(p, requestID)
	announce := &protocol.ParticipantChanged{Event: protocol.Event{Type: "participant_joined"}, Participant: p.info}
	others := r.othersLocked(p)
	notice := r.lobbyUpdatedLocked()
	moderators := r.moderatorsLocked()
	conferenceID, cid := r.def.ID, r.def.CID
	r.mu.Unlock()

	chat, err := r.svc.chatHistory(context.Background(), conferenceID, p.info.ID, p.info.UserID)
	if err != nil {
		r.svc.logger.Error("load chat history", slog.String("conference", cid), slog.Any("error", err))
	}
	joined.Chat = chat
	if listener {
		r.setBlocked(p, allSources, true)
	}
	if fromLobby {
		p.sendNow(&protocol.Admitted{Event: protocol.Event{Type: "admitted"}})
	}
	p.open(joined)
	for _, other := range others {
		other.send(announce)
	}
	if fromLobby {
		for _, m := range moderators {
			m.send(notice)
		}
	}
	r.record(eventlog.ConferenceJoined, p, nil, map[string]any{"participant": p.info.ID, "name": p.info.Name, "kind": p.info.Kind, "role": p.info.Role})
	return nil
}

func (r *Room) joinedLocked(p *participant, requestID int64) *protocol.Joined {
	participants := make([]protocol.Participant, 0, len(r.joined))
	for _, q := range r.joined {
		participants = append(participants, q.info)
	}
	policy := webrtc.ICETransportPolicyAll
	if r.svc.relayOnly(r.def) {
		policy = webrtc.ICETransportPolicyRelay
	}
	joined := &protocol.Joined{
		Event: protocol.Event{Type: "joined", Re: requestID}, You: p.info, Conference: r.describeLocked(),
		Participants: participants, Chat: []protocol.ChatMessage{}, ICEServers: r.svc.iceServers(iceUser(p.info)),
		ICETransportPolicy: policy.String(),
		Resume:             p.resume, Speaker: r.speaker, ChatEditMinutes: r.svc.settings().ChatEditMinutes,
	}
	if isModerator(p.info.Role) {
		joined.Lobby = r.lobbyListLocked()
		joined.PIN = r.pin
	}
	return joined
}

func (r *Room) lobbyListLocked() []protocol.LobbyEntry {
	list := make([]protocol.LobbyEntry, 0, len(r.lobby))
	for _, q := range r.lobby {
		list = append(list, q.lobbyEntry())
	}
	return list
}

func (r *Room) lobbyUpdatedLocked() *protocol.LobbyUpdated {
	return &protocol.LobbyUpdated{Event: protocol.Event{Type: "lobby_updated"}, Lobby: r.lobbyListLocked()}
}

func (r *Room) moderatorsLocked() []*participant {
	var list []*participant
	for _, q := range r.joined {
		if isModerator(q.info.Role) {
			list = append(list, q)
		}
	}
	return list
}

func (r *Room) othersLocked(p *participant) []*participant {
	list := make([]*participant, 0, len(r.joined))
	for _, q := range r.joined {
		if q != p {
			list = append(list, q)
		}
	}
	return list
}

func (r *Room) findLocked(id string) *participant {
	for _, q := range r.joined {
		if q.info.ID == id {
			return q
		}
	}
	return nil
}

func (r *Room) broadcast(event any, except *participant) {
	r.mu.Lock()
	members := r.othersLocked(except)
	r.mu.Unlock()
	for _, q := range members {
		q.send(event)
	}
}

var allSources = []string{protocol.Microphone, protocol.Camera, protocol.Screen}

// setBlocked stops or resumes forwarding some of p's sources. A source a
// moderator forced off stays blocked, and so does everything of a
// listener. It calls the media plane, so never under the room's lock.
func (r *Room) setBlocked(p *participant, sources []string, blocked bool) {
	r.mu.Lock()
	peer := p.peer
	changes := map[string]bool{}
	for _, source := range sources {
		value := blocked || !canPublish(p.info.Role) || (source != protocol.Screen && p.info.Forced.Get(source))
		if p.blocked[source] != value {
			p.blocked[source] = value
			changes[source] = value
		}
	}
	r.mu.Unlock()
	if peer == nil {
		return
	}
	for source, value := range changes {
		peer.Block(source, value)
	}
}

// leave takes p out of the room or lobby; reason is left, removed or
// disconnected. An emptied room ends.
func (r *Room) leave(p *participant, reason string) {
	r.mu.Lock()
	wasJoined := slices.Contains(r.joined, p)
	wasWaiting := slices.Contains(r.lobby, p)
	if !wasJoined && !wasWaiting {
		r.mu.Unlock()
		return
	}
	r.joined = slices.DeleteFunc(r.joined, func(q *participant) bool { return q == p })
	r.lobby = slices.DeleteFunc(r.lobby, func(q *participant) bool { return q == p })
	if len(r.joined) == 1 {
		r.aloneSince = r.svc.now()
	}
	others := r.othersLocked(p)
	moderators := r.moderatorsLocked()
	notice := r.lobbyUpdatedLocked()
	emptied := len(r.joined) == 0 && (r.def.Kind == KindInstant || len(r.lobby) == 0)
	peer := p.peer
	p.peer = nil
	if r.speaker == p.info.ID {
		r.speaker = ""
	}
	r.mu.Unlock()

	r.svc.forgetResume(p)
	if peer != nil {
		peer.Leave()
	}
	if wasJoined {
		left := &protocol.ParticipantLeft{Event: protocol.Event{Type: "participant_left"}, Participant: p.info.ID, Reason: reason}
		for _, q := range others {
			q.send(left)
		}
		r.record(eventlog.ConferenceLeft, p, nil, map[string]any{"participant": p.info.ID, "reason": reason})
	} else {
		for _, m := range moderators {
			m.send(notice)
		}
	}
	if emptied {
		r.end("empty")
	}
}

func (s *Service) forgetResume(p *participant) {
	s.mu.Lock()
	delete(s.resumes, p.resume)
	s.mu.Unlock()
}

// end closes the room: everyone is told why, media stops, the session is
// written down; an instant meeting stays ended.
func (r *Room) end(reason string) {
	r.mu.Lock()
	if r.ended {
		r.mu.Unlock()
		return
	}
	r.ended = true
	everyone := append(slices.Clone(r.joined), r.lobby...)
	var peers []MediaPeer
	for _, p := range everyone {
		if p.peer != nil {
			peers = append(peers, p.peer)
			p.peer = nil
		}
	}
	r.joined, r.lobby = nil, nil
	def, sessionID, peak := r.def, r.sessionID, r.peak
	r.mu.Unlock()

	r.svc.mu.Lock()
	if r.svc.rooms[roomKey(def.CID)] == r {
		delete(r.svc.rooms, roomKey(def.CID))
	}
	r.svc.mu.Unlock()
	close(r.stop)

	ended := &protocol.Ended{Event: protocol.Event{Type: "ended"}, Reason: reason}
	for _, p := range everyone {
		r.svc.forgetResume(p)
		p.sendNow(ended)
	}
	for _, peer := range peers {
		peer.Leave()
	}
	r.svc.media.CloseRoom(def.CID)

	ctx := context.Background()
	err := r.svc.db.Write(ctx, func(tx *sql.Tx) error {
		now := store.Millis(r.svc.now())
		if _, err := tx.ExecContext(ctx, `UPDATE conference_sessions SET ended_at = ?, end_reason = ?, peak_participants = ? WHERE id = ?`,
			now, reason, peak, sessionID); err != nil {
			return err
		}
		if def.Kind == KindInstant {
			if _, err := tx.ExecContext(ctx, `UPDATE conferences SET ended_at = ? WHERE id = ?`, now, def.ID); err != nil {
				return err
			}
		}
		return eventlog.Append(ctx, tx, eventlog.Entry{Kind: eventlog.ConferenceEnded, Actor: eventlog.System,
			Subject: "conference " + def.CID, Details: map[string]any{"reason": reason, "session": sessionID, "peak": peak}})
	})
	if err != nil {
		r.svc.logger.Error("record conference end", slog.String("conference", def.CID), slog.Any("error", err))
	}
}

// run is the room's clock: it ends a room where one person has been alone
// too long, drops connections that did not come back, and sends quality
// scores.
func (r *Room) run() {
	defer close(r.done)
	ticker := time.NewTicker(tickEvery)
	defer ticker.Stop()
	lastQuality := time.Now()
	for {
		select {
		case <-r.stop:
			return
		case <-ticker.C:
		}
		now := r.svc.now()
		r.mu.Lock()
		var gone []*participant
		for _, p := range append(slices.Clone(r.joined), r.lobby...) {
			if !p.detachedAt.IsZero() && now.Sub(p.detachedAt) > resumeGrace {
				gone = append(gone, p)
			}
		}
		alone := len(r.joined) <= 1 && !r.aloneSince.IsZero() &&
			now.Sub(r.aloneSince) >= time.Duration(r.svc.settings().AloneMinutes)*time.Minute
		var quality *protocol.Quality
		if time.Since(lastQuality) >= qualityEvery && len(r.joined) > 0 {
			lastQuality = time.Now()
			quality = &protocol.Quality{Event: protocol.Event{Type: "quality"}, Scores: map[string]int{}}
			for _, p := range r.joined {
				if p.peer != nil {
					quality.Scores[p.info.ID] = 0 // filled outside the lock
				}
			}
		}
		members := slices.Clone(r.joined)
		r.mu.Unlock()

		for _, p := range gone {
			r.leave(p, "disconnected")
		}
		if alone {
			r.end("alone")
			return
		}
		if quality != nil {
			for _, p := range members {
				if peer := p.mediaPeer(); peer != nil {
					quality.Scores[p.info.ID] = peer.Quality()
				}
			}
			for _, p := range members {
				p.send(quality)
			}
		}
	}
}

func (p *participant) mediaPeer() MediaPeer {
	p.room.mu.Lock()
	defer p.room.mu.Unlock()
	return p.peer
}

func (r *Room) setSpeaker(id string) {
	r.mu.Lock()
	if r.speaker == id || r.ended {
		r.mu.Unlock()
		return
	}
	r.speaker = id
	r.mu.Unlock()
	r.broadcast(&protocol.Speaker{Event: protocol.Event{Type: "speaker"}, Participant: id}, nil)
}

// record writes a room event; the room goes on if the log fails.
func (r *Room) record(kind string, actor, subject *participant, details map[string]any) {
	r.mu.Lock()
	cid := r.def.CID
	r.mu.Unlock()
	entry := eventlog.Entry{Kind: kind, Subject: "conference " + cid, Details: details}
	if actor != nil {
		entry.Actor = eventlog.Actor{UserID: actor.info.UserID, Name: actor.info.Name, Source: actor.source}
		if actor.info.UserID != 0 {
			entry.Actor.Name = ""
		}
	}
	if subject != nil {
		entry.SubjectUserID = subject.info.UserID
		details["participant"] = subject.info.ID
		details["name"] = subject.info.Name
	}
	if err := eventlog.Record(context.Background(), r.svc.db, entry); err != nil {
		r.svc.logger.Error("record conference event", slog.String("kind", kind), slog.Any("error", err))
	}
}
