package ui

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/server/client"
)

// PIN choices of the conference form.
const (
	pinNone   = "none"
	pinAuto   = "auto"
	pinCustom = "custom"
	pinKeep   = "keep" // editing: leave the PIN as it is
)

// ConferenceForm is what the conference editor holds, as typed, and
// turns into the API's create or change request. Problems are FieldErrors
// named like the API's fields, so the server's land in the same places.
type ConferenceForm struct {
	Name            string
	CID             string // creating only; "" for a random number
	Kind            string
	Access          string
	Mode            string
	PINMode         string
	PIN             string
	Lobby           string
	MaxParticipants string
	// Schedule, for scheduled conferences.
	StartDate         string // 2026-11-22
	StartTime         string // 09:30
	DurationMinutes   int
	TimeZone          string
	Weekdays          []string
	JoinBeforeMinutes int
	Invitees          []client.Invitee
	RelayOnly         bool
}

// Weekdays in the API's spelling and order.
var weekdays = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// newConferenceForm is a new room with the server's usual defaults, and a
// schedule starting at the next full hour for when it becomes scheduled.
func newConferenceForm(now time.Time) ConferenceForm {
	start := now.Truncate(time.Hour).Add(time.Hour)
	return ConferenceForm{Kind: client.KindRoom, Access: client.AccessPublic, Mode: client.ModeMeeting, PINMode: pinNone,
		Lobby: "guests", MaxParticipants: "50", StartDate: start.Format("2006-01-02"), StartTime: start.Format("15:04"),
		DurationMinutes: 60, TimeZone: localZone(), JoinBeforeMinutes: 10}
}

// editForm fills the form from an existing conference.
func editForm(c client.Conference, now time.Time) ConferenceForm {
	f := newConferenceForm(now)
	f.Name, f.CID, f.Kind, f.Access, f.Mode, f.Lobby = c.Name, c.CID, c.Kind, c.Access, c.Mode, c.Lobby
	f.MaxParticipants = strconv.Itoa(c.MaxParticipants)
	f.PINMode = pinNone
	if c.HasPIN {
		f.PINMode, f.PIN = pinKeep, c.PIN
	}
	if s := c.Schedule; s != nil {
		zone := loadZone(s.TimeZone)
		f.StartDate, f.StartTime = s.StartsAt.In(zone).Format("2006-01-02"), s.StartsAt.In(zone).Format("15:04")
		f.DurationMinutes, f.TimeZone, f.JoinBeforeMinutes = s.DurationMinutes, s.TimeZone, s.JoinBeforeMinutes
		f.Weekdays = slices.Clone(s.Weekdays)
	}
	f.Invitees = slices.Clone(c.Invitees)
	f.RelayOnly = c.RelayOnly
	return f
}

// Spec is the request that creates the conference.
func (f ConferenceForm) Spec() (client.ConferenceSpec, error) {
	spec := client.ConferenceSpec{Name: strings.TrimSpace(f.Name), CID: strings.TrimSpace(f.CID), Kind: f.Kind,
		Access: f.Access, Mode: f.Mode, Lobby: f.Lobby, Invitees: f.Invitees, RelayOnly: f.RelayOnly}
	var err error
	if spec.MaxParticipants, err = f.maxParticipants(); err != nil {
		return spec, err
	}
	if spec.PIN, err = f.pin(); err != nil {
		return spec, err
	}
	if f.Kind == client.KindScheduled {
		if spec.Schedule, err = f.schedule(); err != nil {
			return spec, err
		}
	}
	return spec, nil
}

// Patch is the request that changes the conference from what it was:
// only what differs.
func (f ConferenceForm) Patch(before client.Conference) (client.ConferencePatch, error) {
	var patch client.ConferencePatch
	if name := strings.TrimSpace(f.Name); name != before.Name {
		patch.Name = &name
	}
	for _, field := range []struct {
		value, was string
		into       **string
	}{{f.Access, before.Access, &patch.Access}, {f.Mode, before.Mode, &patch.Mode}, {f.Lobby, before.Lobby, &patch.Lobby}} {
		if field.value != field.was {
			value := field.value
			*field.into = &value
		}
	}
	max, err := f.maxParticipants()
	if err != nil {
		return patch, err
	}
	if max != before.MaxParticipants {
		patch.MaxParticipants = &max
	}
	if f.PINMode != pinKeep && !(f.PINMode == pinNone && !before.HasPIN) {
		pin, err := f.pin()
		if err != nil {
			return patch, err
		}
		patch.PIN = &pin
	}
	if before.Kind == client.KindScheduled {
		schedule, err := f.schedule()
		if err != nil {
			return patch, err
		}
		if before.Schedule == nil || !sameSchedule(*schedule, *before.Schedule) {
			patch.Schedule = schedule
		}
	}
	if !slices.Equal(f.Invitees, before.Invitees) {
		invitees := slices.Clone(f.Invitees)
		if invitees == nil {
			invitees = []client.Invitee{}
		}
		patch.Invitees = &invitees
	}
	if f.RelayOnly != before.RelayOnly {
		relayOnly := f.RelayOnly
		patch.RelayOnly = &relayOnly
	}
	return patch, nil
}

func sameSchedule(a, b client.Schedule) bool {
	return a.StartsAt.Equal(b.StartsAt) && a.DurationMinutes == b.DurationMinutes && a.TimeZone == b.TimeZone &&
		slices.Equal(a.Weekdays, b.Weekdays) && a.JoinBeforeMinutes == b.JoinBeforeMinutes
}

func (f ConferenceForm) maxParticipants() (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(f.MaxParticipants))
	if err != nil || n < 2 || n > 500 {
		return 0, fieldError("max_participants", "A number from 2 to 500.")
	}
	return n, nil
}

func (f ConferenceForm) pin() (string, error) {
	switch f.PINMode {
	case pinAuto:
		return "auto", nil
	case pinCustom:
		pin := strings.TrimSpace(f.PIN)
		if len(pin) < 4 || len(pin) > 10 || strings.Trim(pin, "0123456789") != "" {
			return "", fieldError("pin", "A PIN is 4 to 10 digits.")
		}
		return pin, nil
	}
	return "", nil
}

func (f ConferenceForm) schedule() (*client.Schedule, error) {
	zone, err := time.LoadLocation(strings.TrimSpace(f.TimeZone))
	if err != nil || f.TimeZone == "" {
		return nil, fieldError("schedule", fmt.Sprintf("%q is not a time zone such as Europe/Paris.", f.TimeZone))
	}
	start, err := time.ParseInLocation("2006-01-02 15:04", strings.TrimSpace(f.StartDate)+" "+strings.TrimSpace(f.StartTime), zone)
	if err != nil {
		return nil, fieldError("schedule", "Give the start as a date (2026-11-22) and a time (09:30).")
	}
	days := []string{}
	for _, day := range weekdays {
		if slices.Contains(f.Weekdays, day) {
			days = append(days, day)
		}
	}
	return &client.Schedule{StartsAt: start.UTC(), DurationMinutes: f.DurationMinutes, TimeZone: zone.String(),
		Weekdays: days, JoinBeforeMinutes: f.JoinBeforeMinutes}, nil
}

// localZone is this computer's time zone by its IANA name.
func localZone() string {
	if tz := os.Getenv("TZ"); tz != "" {
		if _, err := time.LoadLocation(tz); err == nil {
			return tz
		}
	}
	if target, err := filepath.EvalSymlinks("/etc/localtime"); err == nil {
		if _, name, ok := strings.Cut(target, "zoneinfo/"); ok {
			if _, err := time.LoadLocation(name); err == nil {
				return name
			}
		}
	}
	return "UTC"
}

func loadZone(name string) *time.Location {
	if zone, err := time.LoadLocation(name); err == nil {
		return zone
	}
	return time.UTC
}

// commonZones are offered in the time zone list besides the local one;
// any other IANA name can be typed.
var commonZones = []string{"UTC", "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin",
	"Europe/Madrid", "Europe/Rome", "Europe/Amsterdam", "Europe/Brussels", "Europe/Zurich", "Europe/Vienna",
	"Europe/Stockholm", "Europe/Warsaw", "Europe/Prague", "Europe/Athens", "Europe/Helsinki", "Europe/Istanbul",
	"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Toronto",
	"America/Sao_Paulo", "America/Mexico_City", "Asia/Tokyo", "Asia/Shanghai", "Asia/Singapore", "Asia/Kolkata",
	"Asia/Dubai", "Australia/Sydney", "Pacific/Auckland", "Africa/Johannesburg", "Africa/Lagos"}

func zoneChoices() []string {
	local := localZone()
	if slices.Contains(commonZones, local) {
		return commonZones
	}
	return append([]string{local}, commonZones...)
}
