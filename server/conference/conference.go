// Package conference owns conferences: their definitions in the database
// (ID, kind, schedule, access, PIN, lobby, limits, invitees), their chat,
// and the live rooms where participants join, wait in the lobby, are
// moderated and leave. It drives the media plane only through the
// interfaces in media.go, and talks to participants only through Member.
package conference

import (
	"time"

	"github.com/parleyhq/parley/server/protocol"
)

// Kinds of conference.
const (
	KindRoom      = "room"      // always open
	KindScheduled = "scheduled" // open around its scheduled times
	KindInstant   = "instant"   // one click; ends when empty
)

// Access decides who may enter.
const (
	AccessInternal = "internal" // signed-in users only
	AccessPublic   = "public"   // guests with a name too
)

// Modes of conference.
const (
	ModeMeeting = "meeting" // everyone may speak and show video
	ModeWebinar = "webinar" // listeners watch until made speakers
)

// Lobby modes: who waits to be admitted.
const (
	LobbyOff       = "off"
	LobbyGuests    = "guests"
	LobbyUninvited = "uninvited" // everyone not invited
	LobbyEveryone  = "everyone"
)

// States of a conference as seen from outside.
const (
	StateOpen       = "open"
	StateNotStarted = "not_started"
	StateEnded      = "ended"
)

// Person names a user.
type Person struct {
	ID          int64  `json:"id"`
	Login       string `json:"login"`
	DisplayName string `json:"display_name"`
}

// Invitee is a user invited to a conference, and the role they get there.
type Invitee struct {
	UserID int64  `json:"user_id"`
	Role   string `json:"role"` // moderator, participant, speaker
}

// ScheduleSpec is a schedule as the API writes it.
type ScheduleSpec struct {
	StartsAt          time.Time `json:"starts_at"`
	DurationMinutes   int       `json:"duration_minutes"`
	TimeZone          string    `json:"time_zone"`
	Weekdays          []string  `json:"weekdays"`
	JoinBeforeMinutes int       `json:"join_before_minutes"`
}

// Conference is a conference as the API shows it.
type Conference struct {
	ID              int64         `json:"-"`
	CID             string        `json:"cid"`
	Name            string        `json:"name"`
	Owner           Person        `json:"owner"`
	Kind            string        `json:"kind"`
	Access          string        `json:"access"`
	Mode            string        `json:"mode"`
	Lobby           string        `json:"lobby"`
	PIN             string        `json:"pin,omitempty"` // shown to those who may change it
	HasPIN          bool          `json:"has_pin"`
	MaxParticipants int           `json:"max_participants"`
	Schedule        *ScheduleSpec `json:"schedule,omitempty"`
	Invitees        []Invitee     `json:"invitees"`
	Link            string        `json:"link"`
	RelayOnly       bool          `json:"relay_only"`
	State           string        `json:"state"`
	OpensAt         *time.Time    `json:"opens_at,omitempty"`
	Running         bool          `json:"running"`
	Participants    int           `json:"participants"`
	CreatedAt       time.Time     `json:"created_at"`
	UpdatedAt       time.Time     `json:"updated_at"`

	endedAt  time.Time
	schedule Schedule
}

// JoinInfo is what anyone may learn about a conference before joining.
type JoinInfo struct {
	CID            string     `json:"cid"`
	Name           string     `json:"name"`
	Kind           string     `json:"kind"`
	Access         string     `json:"access"`
	Mode           string     `json:"mode"`
	HasPIN         bool       `json:"has_pin"`
	State          string     `json:"state"`
	OpensAt        *time.Time `json:"opens_at"`
	SignInRequired bool       `json:"sign_in_required"`
	RelayOnly      bool       `json:"relay_only"`
}

// describe is the conference as its participants see it.
func (c Conference) describe(locked bool, hasPIN bool) protocol.Conference {
	return protocol.Conference{
		CID: c.CID, Name: c.Name, Kind: c.Kind, Access: c.Access, Mode: c.Mode, Locked: locked,
		HasPIN: hasPIN, Lobby: c.Lobby, MaxParticipants: c.MaxParticipants, Link: c.Link,
	}
}
