package conference

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parleyhq/parley/server/accounts"
	"github.com/parleyhq/parley/server/eventlog"
	"github.com/parleyhq/parley/server/problem"
	"github.com/parleyhq/parley/server/protocol"
	"github.com/parleyhq/parley/server/store"
)

// Spec is what creating a conference takes.
type Spec struct {
	CID             string        `json:"cid"`
	Name            string        `json:"name"`
	Kind            string        `json:"kind"`
	Access          string        `json:"access"`
	Mode            string        `json:"mode"`
	PIN             string        `json:"pin"` // "", "auto" or 4 to 10 digits
	Lobby           string        `json:"lobby"`
	MaxParticipants int           `json:"max_participants"`
	Schedule        *ScheduleSpec `json:"schedule"`
	Invitees        []Invitee     `json:"invitees"`
	// RelayOnly sends all media through a TURN relay.
	RelayOnly bool `json:"relay_only"`
}

// Patch changes a conference; nil fields stay. CID and Kind never change.
type Patch struct {
	CID             *string       `json:"cid,omitempty"`
	Kind            *string       `json:"kind,omitempty"`
	Name            *string       `json:"name,omitempty"`
	Access          *string       `json:"access,omitempty"`
	Mode            *string       `json:"mode,omitempty"`
	PIN             *string       `json:"pin,omitempty"`
	Lobby           *string       `json:"lobby,omitempty"`
	MaxParticipants *int          `json:"max_participants,omitempty"`
	Schedule        *ScheduleSpec `json:"schedule,omitempty"`
	Invitees        *[]Invitee    `json:"invitees,omitempty"`
	RelayOnly       *bool         `json:"relay_only,omitempty"`
}

// Limits of a conference.
const (
	MaxParticipantsLimit = 500
	autoPINDigits        = 6
	cidDigits            = 10
)

// row is a conference as stored.
type row struct {
	Conference
	pin      string
	ownerID  int64
	timeZone string
}

func randomDigits(n int) (string, error) {
	var b strings.Builder
	for i := 0; i < n; i++ {
		low := int64(0)
		if i == 0 {
			low = 1 // no leading zero: IDs are read aloud and typed on phones
		}
		d, err := rand.Int(rand.Reader, big.NewInt(10-low))
		if err != nil {
			return "", fmt.Errorf("random digits: %w", err)
		}
		b.WriteByte(byte('0' + low + d.Int64()))
	}
	return b.String(), nil
}

func oneOf(field, value string, allowed ...string) error {
	if !slices.Contains(allowed, value) {
		return problem.Field(field, "%s must be one of %s", field, strings.Join(allowed, ", "))
	}
	return nil
}

func checkName(name string) error {
	if strings.TrimSpace(name) != name || name == "" || utf8.RuneCountInString(name) > 100 ||
		strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return problem.Field("name", "name must be 1 to 100 characters without leading or trailing spaces")
	}
	return nil
}

// normalize fills defaults and checks every field of a spec.
func (s *Service) normalize(spec *Spec, owner accounts.User) error {
	if spec.Kind == "" {
		spec.Kind = KindRoom
	}
	if err := oneOf("kind", spec.Kind, KindRoom, KindScheduled, KindInstant); err != nil {
		return err
	}
	if spec.Name == "" {
		spec.Name = "Meeting of " + owner.DisplayName
	}
	if spec.Access == "" {
		spec.Access = AccessPublic
	}
	if spec.Mode == "" {
		spec.Mode = ModeMeeting
	}
	if spec.Lobby == "" {
		spec.Lobby = s.settings().DefaultLobby
		if spec.Access == AccessInternal && spec.Lobby == LobbyGuests {
			spec.Lobby = LobbyOff // nobody there is a guest
		}
	}
	if spec.MaxParticipants == 0 {
		spec.MaxParticipants = s.settings().DefaultMaxParticipants
	}
	if spec.CID != "" && !protocol.ValidCID(spec.CID) {
		return problem.Field("cid", "a conference ID is 1 to 32 characters of letters, digits, '_' and '-'")
	}
	if spec.Kind == KindScheduled && spec.Schedule == nil {
		return problem.Field("schedule", "a scheduled conference needs a schedule")
	}
	if spec.Kind != KindScheduled && spec.Schedule != nil {
		return problem.Field("schedule", "only scheduled conferences have a schedule")
	}
	return s.check(spec.Name, spec.Access, spec.Mode, spec.Lobby, spec.PIN, spec.MaxParticipants, spec.Schedule, spec.Invitees)
}

func (s *Service) check(name, access, mode, lobby, pin string, max int, schedule *ScheduleSpec, invitees []Invitee) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := oneOf("access", access, AccessInternal, AccessPublic); err != nil {
		return err
	}
	if err := oneOf("mode", mode, ModeMeeting, ModeWebinar); err != nil {
		return err
	}
	if err := oneOf("lobby", lobby, LobbyOff, LobbyGuests, LobbyUninvited, LobbyEveryone); err != nil {
		return err
	}
	if pin != "" && pin != "auto" && !protocol.ValidPIN(pin) {
		return problem.Field("pin", `a PIN is 4 to 10 digits; "auto" makes one, "" removes it`)
	}
	if max < 2 || max > MaxParticipantsLimit {
		return problem.Field("max_participants", "max_participants must be between 2 and %d", MaxParticipantsLimit)
	}
	if schedule != nil {
		if _, err := toSchedule(*schedule); err != nil {
			return err
		}
	}
	if len(invitees) > 1000 {
		return problem.Field("invitees", "at most 1000 invitees")
	}
	for _, inv := range invitees {
		if inv.Role == "" {
			continue
		}
		if err := oneOf("invitees", inv.Role, protocol.RoleModerator, protocol.RoleParticipant, protocol.RoleSpeaker); err != nil {
			return err
		}
	}
	return nil
}

func toSchedule(spec ScheduleSpec) (Schedule, error) {
	if spec.TimeZone == "" {
		spec.TimeZone = "UTC"
	}
	location, err := time.LoadLocation(spec.TimeZone)
	if err != nil || strings.Contains(spec.TimeZone, "..") {
		return Schedule{}, problem.Field("schedule", "time_zone %q is not a time zone such as Europe/Paris", spec.TimeZone)
	}
	if spec.StartsAt.IsZero() {
		return Schedule{}, problem.Field("schedule", "starts_at is required")
	}
	if spec.DurationMinutes < 5 || spec.DurationMinutes > 24*60 {
		return Schedule{}, problem.Field("schedule", "duration_minutes must be between 5 and 1440")
	}
	if spec.JoinBeforeMinutes < 0 || spec.JoinBeforeMinutes > 24*60 {
		return Schedule{}, problem.Field("schedule", "join_before_minutes must be between 0 and 1440")
	}
	days, err := ParseWeekdays(spec.Weekdays)
	if err != nil {
		return Schedule{}, problem.Field("schedule", "%v", err)
	}
	return Schedule{Start: spec.StartsAt, Duration: time.Duration(spec.DurationMinutes) * time.Minute,
		Location: location, Weekdays: days, JoinBefore: time.Duration(spec.JoinBeforeMinutes) * time.Minute}, nil
}

// Create adds a conference owned by owner, who needs the
// create_conferences right.
func (s *Service) Create(ctx context.Context, owner accounts.User, source string, spec Spec) (Conference, error) {
	if err := s.requireRight(ctx, owner, "create_conferences", "creating conferences"); err != nil {
		return Conference{}, err
	}
	return s.create(ctx, owner, source, spec)
}

// CreateCall makes the conference of a 1:1 call: instant and internal, and
// only the two people enter without waiting. The caller needs the
// call_users right.
func (s *Service) CreateCall(ctx context.Context, caller, callee accounts.User, source string) (Conference, error) {
	if err := s.requireRight(ctx, caller, "call_users", "calling other users"); err != nil {
		return Conference{}, err
	}
	return s.create(ctx, caller, source, Spec{
		Name: caller.DisplayName + " and " + callee.DisplayName, Kind: KindInstant, Access: AccessInternal,
		Lobby: LobbyUninvited, MaxParticipants: 2,
		Invitees: []Invitee{{UserID: callee.ID, Role: protocol.RoleParticipant}},
	})
}

func (s *Service) requireRight(ctx context.Context, user accounts.User, right, what string) error {
	rights, err := s.accounts.RightsOf(ctx, user)
	if err != nil {
		return err
	}
	if !slices.Contains(rights, right) {
		return problem.New(problem.Forbidden, "your groups do not allow %s", what)
	}
	return nil
}

func (s *Service) create(ctx context.Context, owner accounts.User, source string, spec Spec) (Conference, error) {
	var err error
	if err := s.normalize(&spec, owner); err != nil {
		return Conference{}, err
	}
	if spec.PIN == "auto" {
		if spec.PIN, err = randomDigits(autoPINDigits); err != nil {
			return Conference{}, err
		}
	}
	var schedule Schedule
	if spec.Schedule != nil {
		schedule, _ = toSchedule(*spec.Schedule)
	}
	custom := spec.CID != ""
	var id int64
	err = s.db.Write(ctx, func(tx *sql.Tx) error {
		if err := checkInvitees(ctx, tx, spec.Invitees); err != nil {
			return err
		}
		for attempt := 0; ; attempt++ {
			if !custom {
				if spec.CID, err = randomDigits(cidDigits); err != nil {
					return err
				}
			}
			now := store.NowMillis()
			res, err := tx.ExecContext(ctx, `INSERT INTO conferences (cid, name, owner_id, kind, access, mode, pin, lobby,
				max_participants, starts_at, duration_minutes, time_zone, weekdays, join_before_minutes, relay_only, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (cid) DO NOTHING`,
				spec.CID, spec.Name, owner.ID, spec.Kind, spec.Access, spec.Mode, spec.PIN, spec.Lobby, spec.MaxParticipants,
				store.Millis(schedule.Start), int(schedule.Duration/time.Minute), scheduleZone(spec.Schedule), int(schedule.Weekdays),
				int(schedule.JoinBefore/time.Minute), spec.RelayOnly, now, now)
			if err != nil {
				return fmt.Errorf("create conference: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				id, _ = res.LastInsertId()
				break
			}
			if custom {
				return &problem.Error{Kind: problem.Conflict, Field: "cid", Message: fmt.Sprintf("the conference ID %q is taken", spec.CID)}
			}
			if attempt > 20 {
				return errors.New("create conference: no free conference ID found")
			}
		}
		if err := setInvitees(ctx, tx, id, spec.Invitees); err != nil {
			return err
		}
		return eventlog.Append(ctx, tx, eventlog.Entry{Kind: eventlog.ConferenceCreated,
			Actor: eventlog.Actor{UserID: owner.ID, Source: source}, Subject: "conference " + spec.CID,
			Details: map[string]any{"name": spec.Name, "kind": spec.Kind, "access": spec.Access, "lobby": spec.Lobby}})
	})
	if err != nil {
		return Conference{}, err
	}
	return s.Get(ctx, spec.CID)
}

func scheduleZone(spec *ScheduleSpec) string {
	if spec == nil || spec.TimeZone == "" {
		return "UTC"
	}
	return spec.TimeZone
}

func checkInvitees(ctx context.Context, tx *sql.Tx, invitees []Invitee) error {
	for _, inv := range invitees {
		var exists int
		err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE id = ?`, inv.UserID).Scan(&exists)
		if err != nil {
			return fmt.Errorf("check invitee: %w", err)
		}
		if exists == 0 {
			return problem.Field("invitees", "there is no user %d", inv.UserID)
		}
	}
	return nil
}

func setInvitees(ctx context.Context, tx *sql.Tx, conferenceID int64, invitees []Invitee) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM conference_invitees WHERE conference_id = ?`, conferenceID); err != nil {
		return fmt.Errorf("set invitees: %w", err)
	}
	for _, inv := range invitees {
		role := inv.Role
		if role == "" {
			role = protocol.RoleParticipant
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO conference_invitees (conference_id, user_id, role) VALUES (?, ?, ?)
			ON CONFLICT DO UPDATE SET role = excluded.role`, conferenceID, inv.UserID, role); err != nil {
			return fmt.Errorf("set invitees: %w", err)
		}
	}
	return nil
}

const selectConference = `SELECT c.id, c.cid, c.name, c.owner_id, u.login, u.display_name, c.kind, c.access, c.mode, c.pin,
	c.lobby, c.max_participants, c.starts_at, c.duration_minutes, c.time_zone, c.weekdays, c.join_before_minutes,
	c.relay_only, c.created_at, c.updated_at, c.ended_at
	FROM conferences c JOIN users u ON u.id = c.owner_id`

func (s *Service) scan(rows interface{ Scan(...any) error }) (row, error) {
	var (
		r                                         row
		startsAt, created, updated, ended         int64
		durationMinutes, joinBeforeMinutes, wdays int
	)
	err := rows.Scan(&r.ID, &r.CID, &r.Name, &r.ownerID, &r.Owner.Login, &r.Owner.DisplayName, &r.Kind, &r.Access,
		&r.Mode, &r.pin, &r.Lobby, &r.MaxParticipants, &startsAt, &durationMinutes, &r.timeZone, &wdays,
		&joinBeforeMinutes, &r.RelayOnly, &created, &updated, &ended)
	if err != nil {
		return row{}, err
	}
	r.Owner.ID = r.ownerID
	r.HasPIN = r.pin != ""
	r.CreatedAt, r.UpdatedAt, r.endedAt = store.FromMillis(created), store.FromMillis(updated), store.FromMillis(ended)
	r.Invitees = []Invitee{}
	if r.Kind == KindScheduled {
		location, err := time.LoadLocation(r.timeZone)
		if err != nil {
			location = time.UTC
		}
		r.schedule = Schedule{Start: store.FromMillis(startsAt), Duration: time.Duration(durationMinutes) * time.Minute,
			Location: location, Weekdays: uint8(wdays), JoinBefore: time.Duration(joinBeforeMinutes) * time.Minute}
		r.Schedule = &ScheduleSpec{StartsAt: r.schedule.Start, DurationMinutes: durationMinutes, TimeZone: r.timeZone,
			Weekdays: WeekdayNames(uint8(wdays)), JoinBeforeMinutes: joinBeforeMinutes}
	}
	r.Link = s.link(r.CID)
	return r, nil
}

func (s *Service) link(cid string) string { return s.baseURL() + "c/" + cid }

// load reads one conference that is not deleted.
func (s *Service) load(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, cid string) (row, error) {
	r, err := s.scan(q.QueryRowContext(ctx, selectConference+` WHERE c.cid = ? AND c.deleted_at = 0`, cid))
	if errors.Is(err, sql.ErrNoRows) {
		return row{}, problem.New(problem.NotFound, "there is no conference %s", cid)
	}
	if err != nil {
		return row{}, fmt.Errorf("load conference %s: %w", cid, err)
	}
	rows, err := q.QueryContext(ctx, `SELECT user_id, role FROM conference_invitees WHERE conference_id = ? ORDER BY user_id`, r.ID)
	if err != nil {
		return row{}, fmt.Errorf("load invitees of %s: %w", cid, err)
	}
	defer rows.Close()
	for rows.Next() {
		var inv Invitee
		if err := rows.Scan(&inv.UserID, &inv.Role); err != nil {
			return row{}, fmt.Errorf("load invitees of %s: %w", cid, err)
		}
		r.Invitees = append(r.Invitees, inv)
	}
	s.fillState(&r.Conference)
	return r, rows.Err()
}

// fillState computes whether the conference is open now, and its live
// numbers.
func (s *Service) fillState(c *Conference) {
	if room := s.runningRoom(c.CID); room != nil {
		c.Running, c.Participants, c.State = true, room.count(), StateOpen
		return
	}
	switch {
	case c.Kind == KindInstant && !c.endedAt.IsZero():
		c.State = StateEnded
	case c.Kind == KindScheduled:
		window, open, more := c.schedule.WindowAt(s.now())
		switch {
		case open:
			c.State = StateOpen
		case more:
			c.State = StateNotStarted
			opens := window.Opens.UTC()
			c.OpensAt = &opens
		default:
			c.State = StateEnded
		}
	default:
		c.State = StateOpen
	}
}

// Get returns a conference, its PIN included: callers decide who sees it.
func (s *Service) Get(ctx context.Context, cid string) (Conference, error) {
	r, err := s.load(ctx, s.db.SQL(), cid)
	if err != nil {
		return Conference{}, err
	}
	r.PIN = r.pin
	return r.Conference, nil
}

// JoinInfo tells anyone what they need before joining; signedIn says
// whether the asker has an account session.
func (s *Service) JoinInfo(ctx context.Context, cid string, signedIn bool) (JoinInfo, error) {
	c, err := s.Get(ctx, cid)
	if err != nil {
		return JoinInfo{}, err
	}
	return JoinInfo{CID: c.CID, Name: c.Name, Kind: c.Kind, Access: c.Access, Mode: c.Mode, HasPIN: s.hasPIN(c),
		State: c.State, OpensAt: c.OpensAt, RelayOnly: s.relayOnly(c),
		SignInRequired: !signedIn && (c.Access == AccessInternal || !s.settings().GuestsAllowed)}, nil
}

// CanManage reports whether user may change or delete c: its owner or an
// administrator.
func CanManage(user accounts.User, c Conference) bool {
	return user.ID == c.Owner.ID || user.Role.CanAdminister()
}

// ListFilter selects conferences.
type ListFilter struct {
	UserID int64 // conferences this user owns or is invited to; 0 = all
}

// List returns conferences, newest first.
func (s *Service) List(ctx context.Context, f ListFilter) ([]Conference, error) {
	// Instant meetings that ended are history (the event log keeps them),
	// not conferences anyone can join: leave them out.
	query := selectConference + ` WHERE c.deleted_at = 0 AND NOT (c.kind = 'instant' AND c.ended_at <> 0)`
	var args []any
	if f.UserID != 0 {
		query += ` AND (c.owner_id = ? OR c.id IN (SELECT conference_id FROM conference_invitees WHERE user_id = ?))`
		args = append(args, f.UserID, f.UserID)
	}
	query += ` ORDER BY c.id DESC LIMIT 1000`
	rows, err := s.db.SQL().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list conferences: %w", err)
	}
	defer rows.Close()
	list := []Conference{}
	var ids []int64
	for rows.Next() {
		r, err := s.scan(rows)
		if err != nil {
			return nil, fmt.Errorf("list conferences: %w", err)
		}
		s.fillState(&r.Conference)
		if f.UserID == 0 || f.UserID == r.ownerID {
			r.PIN = r.pin
		}
		list = append(list, r.Conference)
		ids = append(ids, r.ID)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list conferences: %w", err)
	}
	rows.Close()
	invitees, err := s.inviteesOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range list {
		if found := invitees[list[i].ID]; found != nil {
			list[i].Invitees = found
		}
	}
	return list, nil
}

// inviteesOf loads the invitees of several conferences at once.
func (s *Service) inviteesOf(ctx context.Context, ids []int64) (map[int64][]Invitee, error) {
	found := map[int64][]Invitee{}
	if len(ids) == 0 {
		return found, nil
	}
	rows, err := s.db.SQL().QueryContext(ctx, `SELECT conference_id, user_id, role FROM conference_invitees
		WHERE conference_id IN (SELECT value FROM json_each(?)) ORDER BY conference_id, user_id`, jsonIDs(ids))
	if err != nil {
		return nil, fmt.Errorf("load invitees: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			conferenceID int64
			inv          Invitee
		)
		if err := rows.Scan(&conferenceID, &inv.UserID, &inv.Role); err != nil {
			return nil, fmt.Errorf("load invitees: %w", err)
		}
		found[conferenceID] = append(found[conferenceID], inv)
	}
	return found, rows.Err()
}

func jsonIDs(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// Update changes a conference; its owner or an administrator may.
func (s *Service) Update(ctx context.Context, actor accounts.User, source, cid string, p Patch) (Conference, error) {
	if p.CID != nil || p.Kind != nil {
		return Conference{}, problem.Field("cid", "a conference's ID and kind never change; create another conference")
	}
	var changed map[string]any
	err := s.db.Write(ctx, func(tx *sql.Tx) error {
		r, err := s.load(ctx, tx, cid)
		if err != nil {
			return err
		}
		if !CanManage(actor, r.Conference) {
			return problem.New(problem.Forbidden, "only the conference's owner or an administrator may change it")
		}
		after := r
		after.pin = r.pin
		set := func(dst *string, src *string) {
			if src != nil {
				*dst = *src
			}
		}
		set(&after.Name, p.Name)
		set(&after.Access, p.Access)
		set(&after.Mode, p.Mode)
		set(&after.Lobby, p.Lobby)
		set(&after.pin, p.PIN)
		if p.MaxParticipants != nil {
			after.MaxParticipants = *p.MaxParticipants
		}
		if p.RelayOnly != nil {
			after.RelayOnly = *p.RelayOnly
		}
		invitees := r.Invitees
		if p.Invitees != nil {
			invitees = *p.Invitees
		}
		if p.Schedule != nil && r.Kind != KindScheduled {
			return problem.Field("schedule", "only scheduled conferences have a schedule")
		}
		if err := s.check(after.Name, after.Access, after.Mode, after.Lobby, after.pin, after.MaxParticipants, p.Schedule, invitees); err != nil {
			return err
		}
		if after.pin == "auto" {
			if after.pin, err = randomDigits(autoPINDigits); err != nil {
				return err
			}
		}
		schedule := r.schedule
		if p.Schedule != nil {
			schedule, _ = toSchedule(*p.Schedule)
			after.timeZone = scheduleZone(p.Schedule)
		}
		if err := checkInvitees(ctx, tx, invitees); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE conferences SET name = ?, access = ?, mode = ?, lobby = ?, pin = ?,
			max_participants = ?, starts_at = ?, duration_minutes = ?, time_zone = ?, weekdays = ?, join_before_minutes = ?,
			relay_only = ?, updated_at = ? WHERE id = ?`, after.Name, after.Access, after.Mode, after.Lobby, after.pin, after.MaxParticipants,
			store.Millis(schedule.Start), int(schedule.Duration/time.Minute), after.timeZone, int(schedule.Weekdays),
			int(schedule.JoinBefore/time.Minute), after.RelayOnly, store.NowMillis(), r.ID); err != nil {
			return fmt.Errorf("update conference %s: %w", cid, err)
		}
		if p.Invitees != nil {
			if err := setInvitees(ctx, tx, r.ID, invitees); err != nil {
				return err
			}
		}
		changed = diff(r, after, p)
		return eventlog.Append(ctx, tx, eventlog.Entry{Kind: eventlog.ConferenceUpdated,
			Actor: eventlog.Actor{UserID: actor.ID, Source: source}, Subject: "conference " + cid, Details: changed})
	})
	if err != nil {
		return Conference{}, err
	}
	c, err := s.Get(ctx, cid)
	if err == nil {
		s.definitionChanged(c)
	}
	return c, err
}

// diff lists what a patch changed, with the PIN shown only as set or not.
func diff(before, after row, p Patch) map[string]any {
	beforeValues, afterValues := map[string]any{}, map[string]any{}
	compare := func(key string, b, a any) {
		if b != a {
			beforeValues[key], afterValues[key] = b, a
		}
	}
	compare("name", before.Name, after.Name)
	compare("access", before.Access, after.Access)
	compare("mode", before.Mode, after.Mode)
	compare("lobby", before.Lobby, after.Lobby)
	compare("has_pin", before.pin != "", after.pin != "")
	compare("max_participants", before.MaxParticipants, after.MaxParticipants)
	compare("relay_only", before.RelayOnly, after.RelayOnly)
	if p.Schedule != nil {
		beforeValues["schedule"], afterValues["schedule"] = before.Schedule, p.Schedule
	}
	if p.Invitees != nil {
		beforeValues["invitees"], afterValues["invitees"] = before.Invitees, *p.Invitees
	}
	return map[string]any{"before": beforeValues, "after": afterValues}
}

// Delete removes a conference; a running one ends first. Its history and
// chat stay in the database, and its ID stays taken.
func (s *Service) Delete(ctx context.Context, actor accounts.User, source, cid string) error {
	c, err := s.Get(ctx, cid)
	if err != nil {
		return err
	}
	if !CanManage(actor, c) {
		return problem.New(problem.Forbidden, "only the conference's owner or an administrator may delete it")
	}
	s.endRoom(cid, "deleted")
	return s.db.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE conferences SET deleted_at = ? WHERE id = ?`, store.NowMillis(), c.ID); err != nil {
			return fmt.Errorf("delete conference %s: %w", cid, err)
		}
		return eventlog.Append(ctx, tx, eventlog.Entry{Kind: eventlog.ConferenceDeleted,
			Actor: eventlog.Actor{UserID: actor.ID, Source: source}, Subject: "conference " + cid,
			Details: map[string]any{"name": c.Name}})
	})
}

// MayReadChat reports whether a signed-in user may read a conference's
// chat outside it: its owner, invitees, administrators and auditors, and
// anyone who took part. Guests never may.
func (s *Service) MayReadChat(ctx context.Context, user accounts.User, c Conference) (bool, error) {
	if user.ID == c.Owner.ID || user.Role.CanAudit() {
		return true, nil
	}
	for _, inv := range c.Invitees {
		if inv.UserID == user.ID {
			return true, nil
		}
	}
	var n int
	err := s.db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM events WHERE kind = ? AND actor_user_id = ? AND subject = ?`,
		eventlog.ConferenceJoined, user.ID, "conference "+c.CID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("check chat access: %w", err)
	}
	return n > 0, nil
}
