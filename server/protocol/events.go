package protocol

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/pion/webrtc/v4"
)

// Event is a message the server sends. Re answers a request's id.
type Event struct {
	Type string `json:"type"`
	Re   int64  `json:"re,omitempty"`
}

// Sources says, per source, whether something holds.
type Sources struct {
	Microphone bool `json:"microphone"`
	Camera     bool `json:"camera"`
}

// Get returns the flag of a source.
func (s Sources) Get(source string) bool {
	if source == Microphone {
		return s.Microphone
	}
	return s.Camera
}

// Set changes the flag of a source.
func (s *Sources) Set(source string, value bool) {
	if source == Microphone {
		s.Microphone = value
	} else {
		s.Camera = value
	}
}

// Participant is someone in a conference.
type Participant struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Kind     string    `json:"kind"` // user, guest, sip
	UserID   int64     `json:"user_id,omitempty"`
	Number   string    `json:"number,omitempty"` // sip only: the caller's number or address
	Role     string    `json:"role"`
	Muted    Sources   `json:"muted"`
	Forced   Sources   `json:"forced"`
	Screen   bool      `json:"screen"`
	JoinedAt time.Time `json:"joined_at"`
}

// Conference describes a conference to its participants.
type Conference struct {
	CID             string `json:"cid"`
	Name            string `json:"name"`
	Kind            string `json:"kind"`
	Access          string `json:"access"`
	Mode            string `json:"mode"`
	Locked          bool   `json:"locked"`
	HasPIN          bool   `json:"has_pin"`
	Lobby           string `json:"lobby"`
	MaxParticipants int    `json:"max_participants"`
	Link            string `json:"link"`
	// RelayOnly: all media goes through a TURN relay.
	RelayOnly bool `json:"relay_only"`
}

// ChatMessage is one chat line.
type ChatMessage struct {
	ID       int64      `json:"id"`
	From     string     `json:"from"`
	FromName string     `json:"from_name"`
	To       string     `json:"to,omitempty"`
	Text     string     `json:"text,omitempty"`
	At       time.Time  `json:"at"`
	EditedAt *time.Time `json:"edited_at,omitempty"`
	Deleted  bool       `json:"deleted"`
}

// LobbyEntry is someone waiting in the lobby.
type LobbyEntry struct {
	ID    string    `json:"id"`
	Name  string    `json:"name"`
	Kind  string    `json:"kind"`
	Since time.Time `json:"since"`
}

// RemoteTrack maps an m= line of the subscribe connection to its sender.
type RemoteTrack struct {
	Mid         string `json:"mid"`
	Participant string `json:"participant"`
	Source      string `json:"source"`
	Kind        string `json:"kind"`
	Track       string `json:"track"`
}

// Error answers a request that failed, or reports a failure.
type Error struct {
	Event
	Code       string     `json:"code"`
	Message    string     `json:"message"`
	Field      string     `json:"field,omitempty"`
	RetryAfter int        `json:"retry_after,omitempty"`
	OpensAt    *time.Time `json:"opens_at,omitempty"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// OK answers a request that needs no other answer.
type OK struct{ Event }

// Lobby tells a joiner to wait.
type Lobby struct {
	Event
	Conference Conference `json:"conference"`
	Message    string     `json:"message"`
}

// Refused tells a joiner that a moderator turned them away.
type Refused struct {
	Event
	RetryAfter int `json:"retry_after"`
}

// Admitted tells a joiner in the lobby that they may enter; Joined follows.
type Admitted struct{ Event }

// Joined is the state of the conference on entry.
type Joined struct {
	Event
	You          Participant        `json:"you"`
	Conference   Conference         `json:"conference"`
	Participants []Participant      `json:"participants"`
	Chat         []ChatMessage      `json:"chat"`
	Lobby        []LobbyEntry       `json:"lobby,omitempty"`
	ICEServers   []webrtc.ICEServer `json:"ice_servers"`
	// ICETransportPolicy is "relay" when media must go through a TURN
	// relay (ice_servers then has one), else "all".
	ICETransportPolicy string `json:"ice_transport_policy"`
	Resume             string `json:"resume"`
	Speaker            string `json:"speaker,omitempty"`
	Resumed            bool   `json:"resumed,omitempty"`
	// PIN is the current PIN, for moderators only.
	PIN string `json:"pin,omitempty"`
	// ChatEditMinutes is how long authors may change their messages.
	ChatEditMinutes int `json:"chat_edit_minutes"`
}

// PublishAnswer answers a publish offer.
type PublishAnswer struct {
	Event
	SDP string `json:"sdp"`
}

// SubscribeOffer is the server's offer for the subscribe connection.
type SubscribeOffer struct {
	Event
	SDP    string        `json:"sdp"`
	Tracks []RemoteTrack `json:"tracks"`
}

// ServerCandidate is an ICE candidate of the server's side.
type ServerCandidate struct {
	Event
	Target    string                   `json:"target"`
	Candidate *webrtc.ICECandidateInit `json:"candidate"`
}

// Speaker names the active speaker.
type Speaker struct {
	Event
	Participant string `json:"participant"`
}

// Quality scores each participant's uplink from 1 (bad) to 5.
type Quality struct {
	Event
	Scores map[string]int `json:"scores"`
}

// ParticipantChanged is participant_joined and participant_updated.
type ParticipantChanged struct {
	Event
	Participant Participant `json:"participant"`
}

// ParticipantLeft says someone left, and why.
type ParticipantLeft struct {
	Event
	Participant string `json:"participant"`
	Reason      string `json:"reason"`
}

// ConferenceUpdated carries a changed conference.
type ConferenceUpdated struct {
	Event
	Conference Conference `json:"conference"`
}

// Ended says the conference ended.
type Ended struct {
	Event
	Reason string `json:"reason"`
}

// Removed says a moderator removed you.
type Removed struct {
	Event
	By string `json:"by"`
}

// MutedByModerator says a moderator muted one of your sources.
type MutedByModerator struct {
	Event
	Source string `json:"source"`
	Forced bool   `json:"forced"`
	By     string `json:"by"`
}

// LobbyUpdated lists who waits, for moderators.
type LobbyUpdated struct {
	Event
	Lobby []LobbyEntry `json:"lobby"`
}

// Chat is chat and chat_updated.
type Chat struct {
	Event
	Message ChatMessage `json:"message"`
}

// PIN answers set_pin "auto" with the PIN chosen.
type PIN struct {
	Event
	PIN string `json:"pin"`
}

// Dialing answers dial: the call placed, whose progress follows.
type Dialing struct {
	Event
	Call string `json:"call"`
}

// Dial progress states.
const (
	DialRinging   = "ringing"
	DialAnswered  = "answered" // the phone joins the conference
	DialBusy      = "busy"     // final from here on
	DialNoAnswer  = "no_answer"
	DialDeclined  = "declined"
	DialFailed    = "failed"
	DialCancelled = "cancelled"
	DialEnded     = "ended" // an answered call hung up
)

// DialProgress tells the moderator who dialled how the call goes.
type DialProgress struct {
	Event
	Call   string `json:"call"`
	Target string `json:"target"`
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

// CallRinging answers call.
type CallRinging struct {
	Event
	Call       string `json:"call"`
	Conference string `json:"conference"`
}

// CallParty is who calls.
type CallParty struct {
	UserID int64  `json:"user_id"`
	Name   string `json:"name"`
}

// IncomingCall rings a callee.
type IncomingCall struct {
	Event
	Call       string    `json:"call"`
	From       CallParty `json:"from"`
	Conference string    `json:"conference"`
}

// CallAccepted tells the caller the callee answered.
type CallAccepted struct {
	Event
	Call string `json:"call"`
}

// CallEnded tells that a call stopped ringing without being answered here.
type CallEnded struct {
	Event
	Call    string `json:"call"`
	Reason  string `json:"reason"`
	Message string `json:"message,omitempty"`
}

// eventTypes maps each server message type to its Go type, for clients.
var eventTypes = map[string]func() any{
	"error":               func() any { return &Error{} },
	"ok":                  func() any { return &OK{} },
	"lobby":               func() any { return &Lobby{} },
	"refused":             func() any { return &Refused{} },
	"admitted":            func() any { return &Admitted{} },
	"joined":              func() any { return &Joined{} },
	"publish_answer":      func() any { return &PublishAnswer{} },
	"subscribe_offer":     func() any { return &SubscribeOffer{} },
	"candidate":           func() any { return &ServerCandidate{} },
	"speaker":             func() any { return &Speaker{} },
	"quality":             func() any { return &Quality{} },
	"participant_joined":  func() any { return &ParticipantChanged{} },
	"participant_updated": func() any { return &ParticipantChanged{} },
	"participant_left":    func() any { return &ParticipantLeft{} },
	"conference_updated":  func() any { return &ConferenceUpdated{} },
	"ended":               func() any { return &Ended{} },
	"removed":             func() any { return &Removed{} },
	"muted_by_moderator":  func() any { return &MutedByModerator{} },
	"lobby_updated":       func() any { return &LobbyUpdated{} },
	"chat":                func() any { return &Chat{} },
	"chat_updated":        func() any { return &Chat{} },
	"pin":                 func() any { return &PIN{} },
	"dialing":             func() any { return &Dialing{} },
	"dial_progress":       func() any { return &DialProgress{} },
	"call_ringing":        func() any { return &CallRinging{} },
	"incoming_call":       func() any { return &IncomingCall{} },
	"call_accepted":       func() any { return &CallAccepted{} },
	"call_ended":          func() any { return &CallEnded{} },
}

// DecodeEvent reads a server message into its Go type, for clients. It is
// lenient with unknown fields so that older clients keep working.
func DecodeEvent(data []byte) (string, any, error) {
	var head Event
	if err := json.Unmarshal(data, &head); err != nil {
		return "", nil, fmt.Errorf("server message: %w", err)
	}
	newEvent, ok := eventTypes[head.Type]
	if !ok {
		return head.Type, nil, fmt.Errorf("unknown server message type %q", head.Type)
	}
	event := newEvent()
	if err := json.Unmarshal(data, event); err != nil {
		return head.Type, nil, fmt.Errorf("server message %s: %w", head.Type, err)
	}
	return head.Type, event, nil
}
