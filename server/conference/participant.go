package conference

import (
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parleyhq/parley/server/protocol"
)

// participant is someone in a room or its lobby. Its fields other than the
// member are guarded by the room's lock.
type participant struct {
	room       *Room
	info       protocol.Participant
	source     string // network address, for refusals of guests
	invited    bool
	dialled    bool // a phone a moderator called in: no lobby, no PIN
	inLobby    bool
	lobbySince time.Time
	resume     string
	peer       MediaPeer
	blocked    map[string]bool // sources the server does not forward
	detachedAt time.Time       // when its connection dropped; zero while attached

	sendMu  sync.Mutex
	member  Member
	ready   bool  // joined was sent: later events may flow
	pending []any // events that arrived before joined
}

// send delivers an event once the participant has its joined message;
// earlier ones (a subscribe offer racing the join) wait in order.
func (p *participant) send(event any) {
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	if !p.ready {
		if len(p.pending) < 256 {
			p.pending = append(p.pending, event)
		}
		return
	}
	if p.member != nil {
		p.member.Send(event)
	}
}

// sendNow delivers an event at once, for the lobby and the join answer.
func (p *participant) sendNow(event any) {
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	if p.member != nil {
		p.member.Send(event)
	}
}

// open sends joined, then everything that waited for it.
func (p *participant) open(joined *protocol.Joined) {
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	if p.member != nil {
		p.member.Send(joined)
		for _, event := range p.pending {
			p.member.Send(event)
		}
	}
	p.pending = nil
	p.ready = true
}

// attach replaces the participant's connection (nil detaches it). Events
// sent while detached are lost; a resume sends the whole state again.
func (p *participant) attach(member Member) {
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	p.member = member
	if member == nil {
		p.ready = false
		p.pending = nil
	}
}

func (p *participant) closeMember() {
	p.sendMu.Lock()
	member := p.member
	p.member = nil
	p.sendMu.Unlock()
	if member != nil {
		member.Close()
	}
}

// SubscribeOffer passes the media plane's offer to the client.
func (p *participant) SubscribeOffer(sdp string, tracks []protocol.RemoteTrack) {
	p.send(&protocol.SubscribeOffer{Event: protocol.Event{Type: "subscribe_offer"}, SDP: sdp, Tracks: tracks})
}

// Candidate passes a server ICE candidate to the client.
func (p *participant) Candidate(target string, candidate *webrtc.ICECandidateInit) {
	p.send(&protocol.ServerCandidate{Event: protocol.Event{Type: "candidate"}, Target: target, Candidate: candidate})
}

func isModerator(role string) bool {
	return role == protocol.RoleOwner || role == protocol.RoleModerator
}

// canPublish reports whether a role may send media: in webinars only
// moderators and speakers do.
func canPublish(role string) bool { return role != protocol.RoleListener }

func (p *participant) lobbyEntry() protocol.LobbyEntry {
	return protocol.LobbyEntry{ID: p.info.ID, Name: p.info.Name, Kind: p.info.Kind, Since: p.lobbySince}
}

// refusalKey identifies a person across attempts: their account, or for
// guests their address and name (guests of one office share an address
// behind its NAT; refusing one must not refuse the others).
func (p *participant) refusalKey() string {
	if p.info.UserID != 0 {
		return "user:" + itoa(p.info.UserID)
	}
	if p.info.Number != "" {
		return "phone:" + p.info.Number // every call comes from the gateway's address
	}
	return "guest:" + p.source + "/" + p.info.Name
}
