package conference

import (
	"github.com/pion/webrtc/v4"

	"github.com/parleyhq/parley/server/protocol"
)

// Media is what rooms need from the media plane. The app wires the SFU to
// it; room logic never sees RTP.
type Media interface {
	// Join adds a participant to the media room of a conference.
	Join(room, participant string, events MediaEvents) (MediaPeer, error)
	// OnSpeaker reports changes of the loudest participant of a room.
	OnSpeaker(room string, fn func(participant string))
	// CloseRoom ends every media connection of a room.
	CloseRoom(room string)
}

// MediaEvents is how the media plane reaches one participant's client.
type MediaEvents interface {
	SubscribeOffer(sdp string, tracks []protocol.RemoteTrack)
	Candidate(target string, candidate *webrtc.ICECandidateInit)
}

// MediaPeer is one participant's media connections.
type MediaPeer interface {
	Publish(offer string, tracks []protocol.TrackInfo) (answer string, err error)
	SubscribeAnswer(answer string) error
	AddCandidate(target string, candidate webrtc.ICECandidateInit) error
	RestartICE()
	SetLayer(track string, width, height int, paused bool)
	// Block stops forwarding one of the participant's sources to everyone.
	Block(source string, blocked bool)
	// Quality scores the participant's uplink from 1 (bad) to 5.
	Quality() int
	Leave()
}

// Member is a participant's signalling connection.
type Member interface {
	// Send queues an event for the client; it never blocks.
	Send(event any)
	// Close ends the connection after what is queued has been sent.
	Close()
}
