package ui

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/data/binding"

	"github.com/parleyhq/parley/media/participant"
	"github.com/parleyhq/parley/server/protocol"
)

// MeetingView is the meeting area: what the window shows while the person
// is in a meeting. The window opens one per meeting and closes it when the
// person left (the view calls the done function it was made with) or the
// app navigates away. Today's view takes part through signalling only
// (participants, chat, lobby, moderation); a view with camera and sound
// takes its place through newMeetingView without changes elsewhere.
type MeetingView interface {
	// Open joins the meeting and returns what to show; ctx ends when the
	// app quits.
	Open(ctx context.Context, conn Connection, join JoinRequest) fyne.CanvasObject
	// Shortcut acts on a keyboard shortcut of the window.
	Shortcut(MeetingShortcut)
	// Close leaves, if still in, and stops everything the view runs.
	Close()
}

// JoinRequest names the meeting to join.
type JoinRequest struct {
	CID  string
	Name string // the meeting's name as known before joining, for the first screen
	PIN  string
	// Direct skips the pre-join screen (an accepted call, or a scripted
	// run) and joins with the default devices.
	Direct bool
}

// Meeting states.
const (
	meetingJoining = "joining"
	meetingLobby   = "lobby"
	meetingJoined  = "joined"
	meetingOver    = "over" // ended, removed, refused, or the connection was lost
)

// MeetingModel is one person's presence in a meeting: it joins (or waits
// in the lobby) through a media participant (media/participant), which
// sends the camera and microphone it is given and hands what it receives to
// the sink; the model follows who is there and the chat, and sends chat and
// moderation requests.
type MeetingModel struct {
	conn Connection
	log  *slog.Logger

	State        binding.String
	Notice       binding.String // why one waits, or why it is over
	Conference   binding.Item[protocol.Conference]
	You          binding.Item[protocol.Participant]
	Participants binding.List[protocol.Participant]
	Lobby        binding.List[protocol.LobbyEntry]
	Chat         binding.List[protocol.ChatMessage]
	PIN          binding.String         // the PIN in force, for moderators
	Speaker      binding.String         // the active speaker's id
	Dials        binding.List[DialCall] // calls this person placed to phones

	mu           sync.Mutex
	member       *participant.Participant
	you          protocol.Participant
	participants map[string]protocol.Participant
	chat         []protocol.ChatMessage
	dials        []DialCall
	closing      bool
	entered      bool // the server said joined
}

func newMeetingModel(conn Connection, log *slog.Logger) *MeetingModel {
	return &MeetingModel{conn: conn, log: log,
		State: binding.NewString(), Notice: binding.NewString(), PIN: binding.NewString(), Speaker: binding.NewString(),
		Conference:   binding.NewItem(func(a, b protocol.Conference) bool { return a == b }),
		You:          binding.NewItem(func(a, b protocol.Participant) bool { return a == b }),
		Participants: binding.NewList(func(a, b protocol.Participant) bool { return a == b }),
		Lobby:        binding.NewList(func(a, b protocol.LobbyEntry) bool { return a == b }),
		Chat:         binding.NewList(func(a, b protocol.ChatMessage) bool { return false }),
		Dials:        binding.NewList(func(a, b DialCall) bool { return a == b }),
		participants: map[string]protocol.Participant{},
	}
}

// Join enters the meeting with what media sends: the server's answer
// (lobby or joined) and everything after come to the model as they happen,
// so the window shows the lobby while Join still waits in it. It returns
// once the person is in, with media flowing, or why not.
func (m *MeetingModel) Join(ctx context.Context, join JoinRequest, media participant.Options) error {
	_ = m.State.Set(meetingJoining)
	m.mu.Lock()
	m.closing, m.entered = false, false
	m.mu.Unlock()
	media.PIN = join.PIN
	if m.conn.User == nil {
		media.Name = m.conn.GuestName
	}
	// Whatever is not sent counts as muted, from the start.
	if media.VideoLayers == nil && !media.Video {
		media.Muted.Camera = true
	}
	if media.AudioSource == nil && !media.Audio {
		media.Muted.Microphone = true
	}
	media.OnEvent = m.apply
	media.Logger = m.log
	member, err := participant.Join(ctx, m.conn.Client, join.CID, media)
	if err != nil {
		return err
	}
	m.mu.Lock()
	closing := m.closing
	if !closing {
		m.member = member
	}
	entered := m.entered
	m.mu.Unlock()
	if closing {
		// The window closed while joining.
		member.Close()
		return errNotInMeeting
	}
	if entered {
		_ = m.State.Set(meetingJoined)
	}
	return nil
}

// Member is the media participant while joined, nil otherwise.
func (m *MeetingModel) Member() *participant.Participant {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.member
}

// apply changes the state for one message of the server.
func (m *MeetingModel) apply(event any) {
	switch e := event.(type) {
	case *protocol.Joined:
		m.joined(e)
	case *protocol.Lobby:
		_ = m.Conference.Set(e.Conference)
		_ = m.Notice.Set(e.Message)
		_ = m.State.Set(meetingLobby)
	case *protocol.Refused:
		m.over(fmt.Sprintf("A moderator did not let you in. You may ask again in %d seconds.", e.RetryAfter))
	case *protocol.ParticipantChanged:
		m.mu.Lock()
		m.participants[e.Participant.ID] = e.Participant
		if e.Participant.ID == m.you.ID {
			m.you = e.Participant
		}
		you := m.you
		m.mu.Unlock()
		_ = m.You.Set(you)
		m.publishParticipants()
	case *protocol.ParticipantLeft:
		m.mu.Lock()
		delete(m.participants, e.Participant)
		m.mu.Unlock()
		m.publishParticipants()
	case *protocol.ConferenceUpdated:
		_ = m.Conference.Set(e.Conference)
	case *protocol.LobbyUpdated:
		_ = m.Lobby.Set(e.Lobby)
	case *protocol.Chat:
		m.addChat(e.Message)
	case *protocol.PIN:
		_ = m.PIN.Set(e.PIN)
	case *protocol.Speaker:
		_ = m.Speaker.Set(e.Participant)
	case *protocol.DialProgress:
		m.setDial(DialCall{Call: e.Call, Target: e.Target, State: e.State, Reason: e.Reason})
	case *protocol.Ended:
		m.over(endedText(e.Reason))
	case *protocol.Removed:
		m.over("A moderator removed you from the meeting.")
	case *protocol.Error:
		m.log.Warn("meeting: server error", slog.String("code", e.Code), slog.String("message", e.Message))
	case participant.Disconnected:
		m.lost(e.Err)
	}
}

func (m *MeetingModel) joined(e *protocol.Joined) {
	m.mu.Lock()
	m.you = e.You
	m.participants = map[string]protocol.Participant{}
	for _, p := range e.Participants {
		m.participants[p.ID] = p
	}
	m.chat = nil
	m.mu.Unlock()
	_ = m.You.Set(e.You)
	_ = m.Conference.Set(e.Conference)
	_ = m.Lobby.Set(e.Lobby)
	_ = m.PIN.Set(e.PIN)
	_ = m.Speaker.Set(e.Speaker)
	for _, message := range e.Chat {
		m.addChat(message)
	}
	m.publishParticipants()
	_ = m.Notice.Set("")
	// The meeting shows once the participant can act in it: Join sets the
	// state when it returns, if the server's joined came first.
	m.mu.Lock()
	m.entered = true
	ready := m.member != nil
	m.mu.Unlock()
	if ready {
		_ = m.State.Set(meetingJoined)
	}
}

// roleRank orders participants: owner and moderators first.
var roleRank = map[string]int{protocol.RoleOwner: 0, protocol.RoleModerator: 1, protocol.RoleSpeaker: 2, protocol.RoleParticipant: 3, protocol.RoleListener: 4}

func (m *MeetingModel) publishParticipants() {
	m.mu.Lock()
	list := make([]protocol.Participant, 0, len(m.participants))
	for _, p := range m.participants {
		list = append(list, p)
	}
	m.mu.Unlock()
	slices.SortFunc(list, func(a, b protocol.Participant) int {
		return cmp.Or(cmp.Compare(roleRank[a.Role], roleRank[b.Role]), cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	_ = m.Participants.Set(list)
}

// addChat adds a message, or replaces it when edited or deleted.
func (m *MeetingModel) addChat(message protocol.ChatMessage) {
	m.mu.Lock()
	i := slices.IndexFunc(m.chat, func(c protocol.ChatMessage) bool { return c.ID == message.ID })
	if i >= 0 {
		m.chat[i] = message
	} else {
		m.chat = append(m.chat, message)
		slices.SortFunc(m.chat, func(a, b protocol.ChatMessage) int { return cmp.Compare(a.ID, b.ID) })
	}
	chat := slices.Clone(m.chat)
	m.mu.Unlock()
	_ = m.Chat.Set(chat)
}

func (m *MeetingModel) over(why string) {
	_ = m.Notice.Set(why)
	_ = m.State.Set(meetingOver)
}

// lost is the connection ending without the person leaving.
func (m *MeetingModel) lost(err error) {
	m.mu.Lock()
	closing := m.closing
	m.mu.Unlock()
	if closing {
		return
	}
	if state, _ := m.State.Get(); state == meetingOver {
		return
	}
	m.log.Warn("meeting: connection lost", slog.Any("error", err))
	m.over("The connection to the server was lost.")
}

func endedText(reason string) string {
	switch reason {
	case "ended_by_moderator":
		return "A moderator ended the meeting for everyone."
	case "alone":
		return "The meeting ended: you were alone in it for a while."
	case "schedule":
		return "The meeting's scheduled time is over."
	case "deleted":
		return "The meeting was deleted."
	}
	return "The meeting has ended."
}

// Participant is the person with id, if present.
func (m *MeetingModel) Participant(id string) (protocol.Participant, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.participants[id]
	return p, ok
}

// IsModerator reports whether the person may moderate.
func (m *MeetingModel) IsModerator() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.you.Role == protocol.RoleOwner || m.you.Role == protocol.RoleModerator
}

var errNotInMeeting = errors.New("you are not in the meeting")

// request sends a request and returns its answer.
func (m *MeetingModel) request(ctx context.Context, kind string, message interface{ SetRequest(string, int64) }) (any, error) {
	member := m.Member()
	if member == nil {
		return nil, errNotInMeeting
	}
	return member.Signal().Request(ctx, kind, message)
}

func (m *MeetingModel) do(ctx context.Context, kind string, message interface{ SetRequest(string, int64) }) error {
	_, err := m.request(ctx, kind, message)
	return err
}

// Say sends a chat message, to everyone or (to != "") privately.
func (m *MeetingModel) Say(ctx context.Context, text, to string) error {
	answer, err := m.request(ctx, "chat_send", &protocol.ChatSend{Text: text, To: to})
	if err != nil {
		return err
	}
	// The sender's copy answers the request instead of coming as an event.
	m.apply(answer)
	return nil
}

// Admit lets someone in from the lobby; "" lets everyone in.
func (m *MeetingModel) Admit(ctx context.Context, id string) error {
	return m.do(ctx, "admit", &protocol.Admit{Participant: id, All: id == ""})
}

// Refuse turns someone away from the lobby; "" turns everyone away.
func (m *MeetingModel) Refuse(ctx context.Context, id string) error {
	return m.do(ctx, "refuse", &protocol.Refuse{Participant: id, All: id == ""})
}

// Mute mutes another participant's microphone or camera; force keeps it
// so until AllowUnmute.
func (m *MeetingModel) Mute(ctx context.Context, id, source string, force bool) error {
	return m.do(ctx, "mute_participant", &protocol.MuteParticipant{Participant: id, Source: source, Force: force})
}

// AllowUnmute lifts a forced mute.
func (m *MeetingModel) AllowUnmute(ctx context.Context, id, source string) error {
	return m.do(ctx, "allow_unmute", &protocol.AllowUnmute{Participant: id, Source: source})
}

// Remove removes a participant.
func (m *MeetingModel) Remove(ctx context.Context, id string) error {
	return m.do(ctx, "remove", &protocol.Remove{Participant: id})
}

// SetRole makes a participant a moderator, or a participant again.
func (m *MeetingModel) SetRole(ctx context.Context, id, role string) error {
	return m.do(ctx, "set_role", &protocol.SetRole{Participant: id, Role: role})
}

// Lock locks the meeting to newcomers, or unlocks it.
func (m *MeetingModel) Lock(ctx context.Context, locked bool) error {
	return m.do(ctx, "lock", &protocol.Lock{Locked: locked})
}

// DialCall is a call a moderator placed to a phone, and how it goes
// (protocol.DialRinging...; "calling" until the first news).
type DialCall struct {
	Call, Target, State, Reason string
}

// Final reports whether the call is over.
func (d DialCall) Final() bool {
	switch d.State {
	case "calling", protocol.DialRinging, protocol.DialAnswered:
		return false
	}
	return true
}

// Dial has the server's SIP gateway call a phone into the meeting: a
// user's login, a SIP address or a number.
func (m *MeetingModel) Dial(ctx context.Context, target string) error {
	answer, err := m.request(ctx, "dial", &protocol.Dial{Target: target})
	if err != nil {
		return err
	}
	if dialing, ok := answer.(*protocol.Dialing); ok {
		m.mu.Lock()
		known := slices.ContainsFunc(m.dials, func(d DialCall) bool { return d.Call == dialing.Call })
		m.mu.Unlock()
		if !known { // progress may have come first
			m.setDial(DialCall{Call: dialing.Call, Target: target, State: "calling"})
		}
	}
	return nil
}

// HangUp ends a call placed with Dial.
func (m *MeetingModel) HangUp(ctx context.Context, call string) error {
	return m.do(ctx, "dial_cancel", &protocol.DialCancel{Call: call})
}

// setDial adds or updates a placed call.
func (m *MeetingModel) setDial(call DialCall) {
	m.mu.Lock()
	if i := slices.IndexFunc(m.dials, func(d DialCall) bool { return d.Call == call.Call }); i >= 0 {
		m.dials[i] = call
	} else {
		m.dials = append(m.dials, call)
	}
	list := slices.Clone(m.dials)
	m.mu.Unlock()
	_ = m.Dials.Set(list)
}

// End ends the meeting for everyone.
func (m *MeetingModel) End(ctx context.Context) error {
	return m.do(ctx, "end", &protocol.End{})
}

// Leave leaves the meeting: the participant says so, stops its media and
// closes its connections.
func (m *MeetingModel) Leave() {
	m.mu.Lock()
	member := m.member
	m.member, m.closing = nil, true
	m.mu.Unlock()
	if member != nil {
		member.Close()
	}
}
