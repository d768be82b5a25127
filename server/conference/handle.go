package conference

import (
	"context"
	"slices"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parleyhq/parley/server/eventlog"
	"github.com/parleyhq/parley/server/protocol"
)

// Handle is a connection's hold on its participant: everything a client
// does in a conference goes through it.
type Handle struct {
	p *participant
}

// ID is the participant's id.
func (h *Handle) ID() string { return h.p.info.ID }

// CID is the conference's id.
func (h *Handle) CID() string { return h.p.room.cid() }

var (
	errNotJoined = fail("not_joined", "Join the conference first.")
	errWaiting   = fail("forbidden", "You are waiting in the lobby.")
	errNotModer  = fail("forbidden", "Only moderators may do this.")
)

// joined returns the peer of a participant that is in the room.
func (h *Handle) joined() (MediaPeer, error) {
	r := h.p.room
	r.mu.Lock()
	defer r.mu.Unlock()
	if h.p.inLobby {
		return nil, errWaiting
	}
	if h.p.peer == nil || !slices.Contains(r.joined, h.p) {
		return nil, errNotJoined
	}
	return h.p.peer, nil
}

// moderator checks that the participant may moderate.
func (h *Handle) moderator() error {
	if _, err := h.joined(); err != nil {
		return err
	}
	h.p.room.mu.Lock()
	defer h.p.room.mu.Unlock()
	if !isModerator(h.p.info.Role) {
		return errNotModer
	}
	return nil
}

// Publish handles an offer for the publish connection.
func (h *Handle) Publish(offer string, tracks []protocol.TrackInfo) (string, error) {
	peer, err := h.joined()
	if err != nil {
		return "", err
	}
	r := h.p.room
	r.mu.Lock()
	if !canPublish(h.p.info.Role) {
		r.mu.Unlock()
		return "", fail("forbidden", "Listeners cannot send audio or video until a moderator makes them a speaker.")
	}
	r.mu.Unlock()
	answer, err := peer.Publish(offer, tracks)
	if err != nil {
		return "", fail("media", "The media server could not use this offer: %v", err)
	}
	sharing := slices.ContainsFunc(tracks, func(t protocol.TrackInfo) bool { return t.Source == protocol.Screen })
	r.mu.Lock()
	changed := h.p.info.Screen != sharing
	h.p.info.Screen = sharing
	info := h.p.info
	r.mu.Unlock()
	// A republished source starts unblocked in the media plane: apply the
	// moderator's blocks again.
	r.setBlocked(h.p, allSources, false)
	if changed {
		r.broadcast(&protocol.ParticipantChanged{Event: protocol.Event{Type: "participant_updated"}, Participant: info}, nil)
	}
	return answer, nil
}

// SubscribeAnswer passes the client's answer to the media plane.
func (h *Handle) SubscribeAnswer(answer string) error {
	peer, err := h.joined()
	if err != nil {
		return err
	}
	if err := peer.SubscribeAnswer(answer); err != nil {
		return fail("media", "The media server could not use this answer: %v", err)
	}
	return nil
}

// Candidate passes a client ICE candidate to the media plane.
func (h *Handle) Candidate(target string, candidate *webrtc.ICECandidateInit) error {
	peer, err := h.joined()
	if err != nil {
		return err
	}
	if candidate == nil {
		return nil // end of candidates: nothing to do on the server side
	}
	if err := peer.AddCandidate(target, *candidate); err != nil {
		return fail("media", "The media server could not use this candidate: %v", err)
	}
	return nil
}

// RestartICE asks for a subscribe offer with new ICE credentials.
func (h *Handle) RestartICE() error {
	peer, err := h.joined()
	if err != nil {
		return err
	}
	peer.RestartICE()
	return nil
}

// Layer passes the size a remote video is drawn at.
func (h *Handle) Layer(track string, width, height int, paused bool) error {
	peer, err := h.joined()
	if err != nil {
		return err
	}
	peer.SetLayer(track, width, height, paused)
	return nil
}

// Mute records the participant's own mute state; a source a moderator
// forced off cannot be unmuted.
func (h *Handle) Mute(source string, muted bool) error {
	if _, err := h.joined(); err != nil {
		return err
	}
	r := h.p.room
	r.mu.Lock()
	if !muted && h.p.info.Forced.Get(source) {
		r.mu.Unlock()
		return fail("forbidden", "A moderator muted you; you may unmute when they allow it.")
	}
	changed := h.p.info.Muted.Get(source) != muted
	h.p.info.Muted.Set(source, muted)
	info := h.p.info
	r.mu.Unlock()
	if !muted {
		// A moderator's plain mute blocks forwarding until the person
		// unmutes themselves.
		r.setBlocked(h.p, []string{source}, false)
	}
	if changed {
		r.broadcast(&protocol.ParticipantChanged{Event: protocol.Event{Type: "participant_updated"}, Participant: info}, nil)
	}
	return nil
}

// Leave leaves the conference.
func (h *Handle) Leave() {
	h.p.room.leave(h.p, "left")
}

// Detach keeps the participant's place for a while after its connection
// dropped; Resume takes it back.
func (h *Handle) Detach() {
	r := h.p.room
	r.mu.Lock()
	h.p.detachedAt = r.svc.now()
	r.mu.Unlock()
	h.p.attach(nil)
}

// Resume re-attaches a participant whose connection dropped, sending the
// current state again (answering requestID).
func (s *Service) Resume(token string, member Member, requestID int64) (*Handle, error) {
	s.mu.Lock()
	p := s.resumes[token]
	s.mu.Unlock()
	if p == nil {
		return nil, fail("not_found", "This session has ended; join again.")
	}
	r := p.room
	r.mu.Lock()
	if r.ended || (!slices.Contains(r.joined, p) && !slices.Contains(r.lobby, p)) {
		r.mu.Unlock()
		return nil, fail("not_found", "This session has ended; join again.")
	}
	p.detachedAt = time.Time{}
	inLobby := p.inLobby
	conference := r.describeLocked()
	var joined *protocol.Joined
	if !inLobby {
		joined = r.joinedLocked(p, requestID)
		joined.Resumed = true
	}
	conferenceID := r.def.ID
	r.mu.Unlock()

	p.attach(member)
	if inLobby {
		p.sendNow(&protocol.Lobby{Event: protocol.Event{Type: "lobby", Re: requestID}, Conference: conference,
			Message: "Please wait, a moderator will let you in."})
		return &Handle{p: p}, nil
	}
	chat, err := s.chatHistory(context.Background(), conferenceID, p.info.ID, p.info.UserID)
	if err != nil {
		return nil, err
	}
	joined.Chat = chat
	p.open(joined)
	return &Handle{p: p}, nil
}

// target finds another joined participant for a moderator's action.
func (h *Handle) target(id string) (*participant, error) {
	if err := h.moderator(); err != nil {
		return nil, err
	}
	r := h.p.room
	r.mu.Lock()
	defer r.mu.Unlock()
	target := r.findLocked(id)
	if target == nil {
		return nil, fail("not_found", "That participant is not in the conference.")
	}
	return target, nil
}

// MuteParticipant mutes another participant's source; with force they may
// not unmute until allowed. The server stops forwarding it either way.
func (h *Handle) MuteParticipant(id, source string, force bool) error {
	target, err := h.target(id)
	if err != nil {
		return err
	}
	r := h.p.room
	r.mu.Lock()
	target.info.Muted.Set(source, true)
	if force {
		target.info.Forced.Set(source, true)
	}
	info := target.info
	r.mu.Unlock()
	r.setBlocked(target, []string{source}, true)
	target.send(&protocol.MutedByModerator{Event: protocol.Event{Type: "muted_by_moderator"}, Source: source, Forced: force, By: h.p.info.ID})
	r.broadcast(&protocol.ParticipantChanged{Event: protocol.Event{Type: "participant_updated"}, Participant: info}, nil)
	r.record(eventlog.ConferenceMuted, h.p, target, map[string]any{"source": source, "forced": force})
	return nil
}

// AllowUnmute lifts a forced mute; the person may now unmute themselves.
func (h *Handle) AllowUnmute(id, source string) error {
	target, err := h.target(id)
	if err != nil {
		return err
	}
	r := h.p.room
	r.mu.Lock()
	target.info.Forced.Set(source, false)
	info := target.info
	r.mu.Unlock()
	r.broadcast(&protocol.ParticipantChanged{Event: protocol.Event{Type: "participant_updated"}, Participant: info}, nil)
	r.record(eventlog.ConferenceUnmuteAllow, h.p, target, map[string]any{"source": source})
	return nil
}

// Remove removes a participant; the owner cannot be removed.
func (h *Handle) Remove(id string) error {
	target, err := h.target(id)
	if err != nil {
		return err
	}
	if target.info.Role == protocol.RoleOwner {
		return fail("forbidden", "The owner cannot be removed.")
	}
	r := h.p.room
	target.sendNow(&protocol.Removed{Event: protocol.Event{Type: "removed"}, By: h.p.info.ID})
	r.leave(target, "removed")
	target.closeMember()
	r.record(eventlog.ConferenceRemoved, h.p, target, map[string]any{})
	return nil
}

// CheckModerator fails unless the participant may moderate.
func (h *Handle) CheckModerator() error { return h.moderator() }

// Dialing records that a moderator calls a phone into the conference
// (the SIP gateway places the call); others may not.
func (h *Handle) Dialing(target string) error {
	if err := h.moderator(); err != nil {
		return err
	}
	h.p.room.record(eventlog.ConferenceDialed, h.p, nil, map[string]any{"target": target})
	return nil
}

// SetRole changes a participant's role. Listeners stop being forwarded.
func (h *Handle) SetRole(id, role string) error {
	target, err := h.target(id)
	if err != nil {
		return err
	}
	r := h.p.room
	r.mu.Lock()
	webinar := r.def.Mode == ModeWebinar
	r.mu.Unlock()
	if target.info.Role == protocol.RoleOwner {
		return fail("forbidden", "The owner's role does not change.")
	}
	if !webinar && (role == protocol.RoleSpeaker || role == protocol.RoleListener) {
		return fail("invalid", "Speakers and listeners exist in webinars only.")
	}
	r.mu.Lock()
	before := target.info.Role
	target.info.Role = role
	info := target.info
	r.mu.Unlock()
	r.setBlocked(target, allSources, false)
	r.broadcast(&protocol.ParticipantChanged{Event: protocol.Event{Type: "participant_updated"}, Participant: info}, nil)
	r.record(eventlog.ConferenceRoleChanged, h.p, target, map[string]any{"before": before, "after": role})
	return nil
}

// Lock locks or unlocks the conference to newcomers.
func (h *Handle) Lock(locked bool) error {
	if err := h.moderator(); err != nil {
		return err
	}
	r := h.p.room
	r.mu.Lock()
	r.locked = locked
	r.lockedInvitees = map[int64]bool{}
	for _, inv := range r.def.Invitees {
		r.lockedInvitees[inv.UserID] = true
	}
	update := r.conferenceUpdatedLocked()
	r.mu.Unlock()
	r.broadcast(update, nil)
	kind := eventlog.ConferenceUnlocked
	if locked {
		kind = eventlog.ConferenceLocked
	}
	r.record(kind, h.p, nil, map[string]any{})
	return nil
}

// SetPIN sets ("auto" for a random one) or clears the PIN, for this run and
// for later ones. It returns the PIN now in force.
func (h *Handle) SetPIN(pin string) (string, error) {
	if err := h.moderator(); err != nil {
		return "", err
	}
	if pin == "auto" {
		var err error
		if pin, err = randomDigits(autoPINDigits); err != nil {
			return "", err
		}
	}
	r := h.p.room
	r.mu.Lock()
	conferenceID := r.def.ID
	r.mu.Unlock()
	if _, err := r.svc.db.SQL().Exec(`UPDATE conferences SET pin = ? WHERE id = ?`, pin, conferenceID); err != nil {
		return "", err
	}
	r.mu.Lock()
	r.pin, r.def.PIN, r.def.HasPIN = pin, pin, pin != ""
	update := r.conferenceUpdatedLocked()
	r.mu.Unlock()
	r.broadcast(update, nil)
	r.record(eventlog.ConferencePINChanged, h.p, nil, map[string]any{"has_pin": pin != ""})
	return pin, nil
}

// End ends the conference for everyone.
func (h *Handle) End() error {
	if err := h.moderator(); err != nil {
		return err
	}
	h.p.room.end("ended_by_moderator")
	return nil
}

// Admit lets one person, or everyone, in from the lobby.
func (h *Handle) Admit(id string, all bool) error {
	waiting, err := h.fromLobby(id, all)
	if err != nil {
		return err
	}
	r := h.p.room
	for _, p := range waiting {
		if err := r.admit(p, 0, true); err != nil {
			return err
		}
		r.record(eventlog.ConferenceAdmitted, h.p, p, map[string]any{})
	}
	return nil
}

// Refuse turns one person, or everyone, away from the lobby for a minute.
func (h *Handle) Refuse(id string, all bool) error {
	waiting, err := h.fromLobby(id, all)
	if err != nil {
		return err
	}
	r := h.p.room
	for _, p := range waiting {
		r.mu.Lock()
		r.refused[p.refusalKey()] = r.svc.now().Add(refusalTime)
		r.mu.Unlock()
		p.sendNow(&protocol.Refused{Event: protocol.Event{Type: "refused"}, RetryAfter: int(refusalTime.Seconds())})
		r.leave(p, "refused")
		r.record(eventlog.ConferenceRefused, h.p, p, map[string]any{})
	}
	return nil
}

func (h *Handle) fromLobby(id string, all bool) ([]*participant, error) {
	if err := h.moderator(); err != nil {
		return nil, err
	}
	r := h.p.room
	r.mu.Lock()
	defer r.mu.Unlock()
	if all {
		return slices.Clone(r.lobby), nil
	}
	for _, p := range r.lobby {
		if p.info.ID == id {
			return []*participant{p}, nil
		}
	}
	return nil, fail("not_found", "Nobody with that id waits in the lobby.")
}

// Active reports whether the participant is still in the room or its
// lobby: false once it left, was removed or the conference ended.
func (h *Handle) Active() bool {
	r := h.p.room
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.ended && (slices.Contains(r.joined, h.p) || slices.Contains(r.lobby, h.p))
}

// InConference reports whether the participant is in the room proper.
func (h *Handle) InConference() bool {
	r := h.p.room
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.ended && slices.Contains(r.joined, h.p)
}
