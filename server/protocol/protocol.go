// Package protocol owns the messages of Parley's signalling WebSocket
// (docs/protocol.md): their Go types, and the strict decoding and
// validation of what clients send. The server and the Go client share it.
package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pion/webrtc/v4"
)

// Subprotocol is the WebSocket subprotocol of this version.
const Subprotocol = "parley.v1"

// MaxMessageBytes bounds one message. Session descriptions grow by about a
// kilobyte per track, so a conference of hundreds needs room.
const MaxMessageBytes = 1 << 20

// Sources of media.
const (
	Microphone = "microphone"
	Camera     = "camera"
	Screen     = "screen"
)

// Roles in a conference.
const (
	RoleOwner       = "owner"
	RoleModerator   = "moderator"
	RoleParticipant = "participant"
	RoleSpeaker     = "speaker"
	RoleListener    = "listener"
)

// Request is a message a client sends.
type Request interface {
	// Kind is the message's type.
	Kind() string
	// RequestID is the client's number for matching the answer, 0 if none.
	RequestID() int64
	validate() error
}

// Envelope carries the fields every client message has.
type Envelope struct {
	Type string `json:"type"`
	ID   int64  `json:"id,omitempty"`
}

// Kind is the message's type.
func (e Envelope) Kind() string { return e.Type }

// RequestID is the client's number for the answer.
func (e Envelope) RequestID() int64 { return e.ID }

// SetRequest sets the type and number of a request, for clients.
func (e *Envelope) SetRequest(kind string, id int64) { e.Type, e.ID = kind, id }

// Join asks to enter a conference, or to resume after a dropped connection.
type Join struct {
	Envelope
	Conference string `json:"conference,omitempty"`
	Name       string `json:"name,omitempty"`
	PIN        string `json:"pin,omitempty"`
	Resume     string `json:"resume,omitempty"`
	// Muted is what the client sends from the start, so that others never
	// see it unmuted for a moment.
	Muted *Sources `json:"muted,omitempty"`
	// Phone is set by the SIP gateway only: the participant is a telephone
	// call. Other connections may not send it.
	Phone *Phone `json:"phone,omitempty"`
}

// Phone describes a telephone caller that the SIP gateway brings in.
type Phone struct {
	// Number is the caller's number or SIP address, as it came.
	Number string `json:"number"`
	// UserID is the Parley user whose SIP credentials the phone used, 0
	// for an unknown caller (who joins as a guest would).
	UserID int64 `json:"user_id,omitempty"`
	// Address is the phone's IP address: the source the server limits
	// (wrong PINs) and records, since every call comes from the gateway.
	Address string `json:"address"`
	// Invited: a moderator dialled this phone, which is therefore
	// admitted past the lobby and the lock, as an invitee is.
	Invited bool `json:"invited,omitempty"`
}

// Dial calls a phone into the conference through the SIP gateway
// (moderators): a Parley user's login (their registered phone), a SIP
// address (sip:alice@192.168.1.50) or a number (through a trunk).
type Dial struct {
	Envelope
	Target string `json:"target"`
}

// DialCancel hangs up a call placed with dial that is still ringing.
type DialCancel struct {
	Envelope
	Call string `json:"call"`
}

// MaxPhoneNumber is the longest phone number or SIP address kept.
const MaxPhoneNumber = 128

// Hello makes a signed-in connection reachable for calls outside conferences.
type Hello struct{ Envelope }

// Leave leaves the conference.
type Leave struct{ Envelope }

// TrackInfo names the source of one published m= line.
type TrackInfo struct {
	Mid    string `json:"mid"`
	Source string `json:"source"`
}

// Publish is an offer for the publish connection.
type Publish struct {
	Envelope
	SDP    string      `json:"sdp"`
	Tracks []TrackInfo `json:"tracks"`
}

// SubscribeAnswer answers the server's subscribe offer.
type SubscribeAnswer struct {
	Envelope
	SDP string `json:"sdp"`
}

// Candidate is a trickled ICE candidate; nil Candidate ends the list.
type Candidate struct {
	Envelope
	Target    string                   `json:"target"`
	Candidate *webrtc.ICECandidateInit `json:"candidate"`
}

// RestartICE asks for a subscribe offer with new ICE credentials.
type RestartICE struct{ Envelope }

// Layer tells how big a remote video is drawn, or that it is hidden.
type Layer struct {
	Envelope
	Track  string `json:"track"`
	Width  int    `json:"width,omitempty"`
	Height int    `json:"height,omitempty"`
	Paused bool   `json:"paused,omitempty"`
}

// Mute reports the client's own mute state for a source.
type Mute struct {
	Envelope
	Source string `json:"source"`
	Muted  bool   `json:"muted"`
}

// ChatSend posts a message, privately when To is set.
type ChatSend struct {
	Envelope
	Text string `json:"text"`
	To   string `json:"to,omitempty"`
}

// ChatEdit changes the text of one's own message.
type ChatEdit struct {
	Envelope
	Message int64  `json:"message"`
	Text    string `json:"text"`
}

// ChatDelete deletes a message.
type ChatDelete struct {
	Envelope
	Message int64 `json:"message"`
}

// Admit lets someone (or everyone) in from the lobby.
type Admit struct {
	Envelope
	Participant string `json:"participant,omitempty"`
	All         bool   `json:"all,omitempty"`
}

// Refuse turns someone (or everyone) away from the lobby.
type Refuse struct {
	Envelope
	Participant string `json:"participant,omitempty"`
	All         bool   `json:"all,omitempty"`
}

// MuteParticipant mutes another participant's source.
type MuteParticipant struct {
	Envelope
	Participant string `json:"participant"`
	Source      string `json:"source"`
	Force       bool   `json:"force,omitempty"`
}

// AllowUnmute lifts a forced mute.
type AllowUnmute struct {
	Envelope
	Participant string `json:"participant"`
	Source      string `json:"source"`
}

// Remove removes a participant.
type Remove struct {
	Envelope
	Participant string `json:"participant"`
}

// SetRole changes a participant's role.
type SetRole struct {
	Envelope
	Participant string `json:"participant"`
	Role        string `json:"role"`
}

// Lock locks or unlocks the conference.
type Lock struct {
	Envelope
	Locked bool `json:"locked"`
}

// SetPIN sets ("4711", "auto") or clears ("") the PIN.
type SetPIN struct {
	Envelope
	PIN string `json:"pin"`
}

// End ends the conference for everyone.
type End struct{ Envelope }

// Call rings a user.
type Call struct {
	Envelope
	User int64 `json:"user"`
}

// CallAccept accepts an incoming call.
type CallAccept struct {
	Envelope
	Call string `json:"call"`
}

// CallDecline declines an incoming call, with an optional reason shown to
// the caller.
type CallDecline struct {
	Envelope
	Call   string `json:"call"`
	Reason string `json:"reason,omitempty"`
}

// CallCancel hangs up a call that is still ringing.
type CallCancel struct {
	Envelope
	Call string `json:"call"`
}

// requestTypes maps each type to a constructor of its message.
var requestTypes = map[string]func() Request{
	"join":             func() Request { return &Join{} },
	"hello":            func() Request { return &Hello{} },
	"leave":            func() Request { return &Leave{} },
	"publish":          func() Request { return &Publish{} },
	"subscribe_answer": func() Request { return &SubscribeAnswer{} },
	"candidate":        func() Request { return &Candidate{} },
	"restart_ice":      func() Request { return &RestartICE{} },
	"layer":            func() Request { return &Layer{} },
	"mute":             func() Request { return &Mute{} },
	"chat_send":        func() Request { return &ChatSend{} },
	"chat_edit":        func() Request { return &ChatEdit{} },
	"chat_delete":      func() Request { return &ChatDelete{} },
	"admit":            func() Request { return &Admit{} },
	"refuse":           func() Request { return &Refuse{} },
	"mute_participant": func() Request { return &MuteParticipant{} },
	"allow_unmute":     func() Request { return &AllowUnmute{} },
	"remove":           func() Request { return &Remove{} },
	"dial":             func() Request { return &Dial{} },
	"dial_cancel":      func() Request { return &DialCancel{} },
	"set_role":         func() Request { return &SetRole{} },
	"lock":             func() Request { return &Lock{} },
	"set_pin":          func() Request { return &SetPIN{} },
	"end":              func() Request { return &End{} },
	"call":             func() Request { return &Call{} },
	"call_accept":      func() Request { return &CallAccept{} },
	"call_decline":     func() Request { return &CallDecline{} },
	"call_cancel":      func() Request { return &CallCancel{} },
}

// DecodeError is a message the server cannot accept; ID is the request's
// number when it could be read, so that the error can answer it.
type DecodeError struct {
	ID      int64
	Code    string // "bad_message" or "invalid"
	Field   string
	Message string
}

func (e *DecodeError) Error() string { return e.Message }

// Decode reads and validates one client message.
func Decode(data []byte) (Request, error) {
	if len(data) > MaxMessageBytes {
		return nil, &DecodeError{Code: "bad_message", Message: fmt.Sprintf("message larger than %d bytes", MaxMessageBytes)}
	}
	var envelope struct {
		Type string          `json:"type"`
		ID   json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(data, &envelope); err != nil {
		return nil, &DecodeError{Code: "bad_message", Message: "a message must be a JSON object with a \"type\""}
	}
	var id int64
	if len(envelope.ID) > 0 && json.Unmarshal(envelope.ID, &id) != nil || id < 0 {
		return nil, &DecodeError{Code: "bad_message", Field: "id", Message: "\"id\" must be a positive whole number"}
	}
	newRequest, ok := requestTypes[envelope.Type]
	if !ok {
		return nil, &DecodeError{ID: id, Code: "bad_message", Field: "type", Message: fmt.Sprintf("unknown message type %q", truncate(envelope.Type, 40))}
	}
	request := newRequest()
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(request); err != nil {
		return nil, &DecodeError{ID: id, Code: "bad_message", Message: describe(envelope.Type, err)}
	}
	if _, err := decoder.Token(); !errors.Is(err, io.EOF) {
		return nil, &DecodeError{ID: id, Code: "bad_message", Message: "one JSON object per message"}
	}
	if err := request.validate(); err != nil {
		var invalid *DecodeError
		if errors.As(err, &invalid) {
			invalid.ID = id
		}
		return nil, err
	}
	return request, nil
}

func describe(kind string, err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return fmt.Sprintf("%s: field %q has the wrong type", kind, typeErr.Field)
	}
	return kind + ": " + strings.TrimPrefix(err.Error(), "json: ")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func invalid(field, format string, args ...any) error {
	return &DecodeError{Code: "invalid", Field: field, Message: fmt.Sprintf(format, args...)}
}

// Identifiers: conference ids, participant ids, resume tokens and call ids
// are short, printable and safe in URLs and logs.
var (
	cidPattern   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)
	tokenPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	pinPattern   = regexp.MustCompile(`^[0-9]{4,10}$`)
	trackPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}/(camera|screen|microphone)$`)
)

// ValidCID reports whether s can be a conference id.
func ValidCID(s string) bool { return cidPattern.MatchString(s) }

// ValidPIN reports whether s is a PIN: 4 to 10 digits.
func ValidPIN(s string) bool { return pinPattern.MatchString(s) }

func checkID(field, value string) error {
	if !tokenPattern.MatchString(value) {
		return invalid(field, "%s must be an identifier the server gave", field)
	}
	return nil
}

func checkSource(field, value string, allowed ...string) error {
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	return invalid(field, "%s must be one of %s", field, strings.Join(allowed, ", "))
}

// maxSDPBytes bounds a session description inside a message.
const maxSDPBytes = MaxMessageBytes - 4<<10

func checkSDP(sdp string) error {
	if !strings.HasPrefix(sdp, "v=0") || len(sdp) > maxSDPBytes || !utf8.ValidString(sdp) {
		return invalid("sdp", "sdp must be a session description starting with v=0")
	}
	return nil
}

// CheckName validates a display name typed by a guest.
func CheckName(name string) error {
	if strings.TrimSpace(name) != name || name == "" || utf8.RuneCountInString(name) > 64 || !utf8.ValidString(name) ||
		strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return invalid("name", "name must be 1 to 64 characters without leading or trailing spaces")
	}
	return nil
}

// MaxChatRunes bounds a chat message.
const MaxChatRunes = 4000

func checkChatText(text string) error {
	if strings.TrimSpace(text) == "" || !utf8.ValidString(text) || utf8.RuneCountInString(text) > MaxChatRunes {
		return invalid("text", "text must be 1 to %d characters", MaxChatRunes)
	}
	return nil
}

func (m *Join) validate() error {
	if m.Resume != "" {
		if m.Conference != "" || m.Name != "" || m.PIN != "" || m.Muted != nil || m.Phone != nil {
			return invalid("resume", "a resuming join carries only resume")
		}
		return checkID("resume", m.Resume)
	}
	if !ValidCID(m.Conference) {
		return invalid("conference", "conference must be a conference ID")
	}
	if m.Name != "" {
		if err := CheckName(m.Name); err != nil {
			return err
		}
	}
	if m.PIN != "" && !ValidPIN(m.PIN) {
		return invalid("pin", "a PIN is 4 to 10 digits")
	}
	if m.Phone != nil {
		if m.Phone.Number == "" || len(m.Phone.Number) > MaxPhoneNumber || !utf8.ValidString(m.Phone.Number) || strings.ContainsFunc(m.Phone.Number, unicode.IsControl) {
			return invalid("phone.number", "a phone number is 1 to %d printable characters", MaxPhoneNumber)
		}
		if m.Phone.UserID < 0 {
			return invalid("phone.user_id", "a user ID is positive")
		}
		if _, err := netip.ParseAddr(m.Phone.Address); err != nil {
			return invalid("phone.address", "the phone's address must be an IP address")
		}
	}
	return nil
}

func (m *Hello) validate() error      { return nil }
func (m *Leave) validate() error      { return nil }
func (m *RestartICE) validate() error { return nil }
func (m *End) validate() error        { return nil }

func (m *Publish) validate() error {
	if err := checkSDP(m.SDP); err != nil {
		return err
	}
	if len(m.Tracks) == 0 || len(m.Tracks) > 8 {
		return invalid("tracks", "tracks must name 1 to 8 published m= lines")
	}
	seen := map[string]bool{}
	for _, t := range m.Tracks {
		if t.Mid == "" || len(t.Mid) > 32 || seen[t.Mid] {
			return invalid("tracks", "each track needs a distinct mid")
		}
		seen[t.Mid] = true
		if err := checkSource("tracks", t.Source, Microphone, Camera, Screen); err != nil {
			return err
		}
	}
	return nil
}

func (m *SubscribeAnswer) validate() error { return checkSDP(m.SDP) }

func (m *Candidate) validate() error {
	if err := checkSource("target", m.Target, "publish", "subscribe"); err != nil {
		return err
	}
	if m.Candidate != nil && len(m.Candidate.Candidate) > 1024 {
		return invalid("candidate", "candidate is too long")
	}
	return nil
}

func (m *Layer) validate() error {
	if !trackPattern.MatchString(m.Track) {
		return invalid("track", "track must be a track id from subscribe_offer")
	}
	if !m.Paused && (m.Width < 1 || m.Height < 1 || m.Width > 8192 || m.Height > 8192) {
		return invalid("width", "width and height must be 1 to 8192, or paused true")
	}
	return nil
}

func (m *Mute) validate() error {
	return checkSource("source", m.Source, Microphone, Camera)
}

func (m *ChatSend) validate() error {
	if m.To != "" {
		if err := checkID("to", m.To); err != nil {
			return err
		}
	}
	return checkChatText(m.Text)
}

func (m *ChatEdit) validate() error {
	if m.Message <= 0 {
		return invalid("message", "message must be a message id")
	}
	return checkChatText(m.Text)
}

func (m *ChatDelete) validate() error {
	if m.Message <= 0 {
		return invalid("message", "message must be a message id")
	}
	return nil
}

func checkOneOrAll(participant string, all bool) error {
	if all == (participant != "") {
		return invalid("participant", "give either participant or all")
	}
	if participant != "" {
		return checkID("participant", participant)
	}
	return nil
}

func (m *Admit) validate() error  { return checkOneOrAll(m.Participant, m.All) }
func (m *Refuse) validate() error { return checkOneOrAll(m.Participant, m.All) }

func (m *MuteParticipant) validate() error {
	if err := checkID("participant", m.Participant); err != nil {
		return err
	}
	return checkSource("source", m.Source, Microphone, Camera)
}

func (m *AllowUnmute) validate() error {
	if err := checkID("participant", m.Participant); err != nil {
		return err
	}
	return checkSource("source", m.Source, Microphone, Camera)
}

func (m *Remove) validate() error { return checkID("participant", m.Participant) }

func (m *Dial) validate() error { return CheckDialTarget(m.Target) }

// CheckDialTarget checks what a moderator asks to dial: a login, a SIP
// address or a number, printable and not too long.
func CheckDialTarget(target string) error {
	if target == "" || len(target) > MaxPhoneNumber || !utf8.ValidString(target) || strings.ContainsFunc(target, unicode.IsControl) {
		return invalid("target", "dial a user's login, a SIP address or a number (1 to %d characters)", MaxPhoneNumber)
	}
	return nil
}

func (m *DialCancel) validate() error { return checkID("call", m.Call) }

func (m *SetRole) validate() error {
	if err := checkID("participant", m.Participant); err != nil {
		return err
	}
	return checkSource("role", m.Role, RoleModerator, RoleParticipant, RoleSpeaker, RoleListener)
}

func (m *Lock) validate() error { return nil }

func (m *SetPIN) validate() error {
	if m.PIN != "" && m.PIN != "auto" && !ValidPIN(m.PIN) {
		return invalid("pin", `pin must be 4 to 10 digits, "auto" or ""`)
	}
	return nil
}

func (m *Call) validate() error {
	if m.User <= 0 {
		return invalid("user", "user must be a user id")
	}
	return nil
}

func (m *CallAccept) validate() error { return checkID("call", m.Call) }

func (m *CallDecline) validate() error {
	if !utf8.ValidString(m.Reason) || utf8.RuneCountInString(m.Reason) > 200 {
		return invalid("reason", "reason must be at most 200 characters")
	}
	return checkID("call", m.Call)
}

func (m *CallCancel) validate() error { return checkID("call", m.Call) }
