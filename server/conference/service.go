package conference

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parleyhq/parley/server/accounts"
	"github.com/parleyhq/parley/server/eventlog"
	"github.com/parleyhq/parley/server/problem"
	"github.com/parleyhq/parley/server/protocol"
	"github.com/parleyhq/parley/server/settings"
	"github.com/parleyhq/parley/server/store"
)

// Service owns conference definitions and the rooms that are running.
type Service struct {
	db         *store.DB
	accounts   *accounts.Service
	settings   func() settings.Settings
	baseURL    func() string
	media      Media
	iceServers func(user string) []webrtc.ICEServer
	logger     *slog.Logger
	now        func() time.Time

	mu          sync.Mutex
	rooms       map[string]*Room        // running rooms by lower-case CID
	resumes     map[string]*participant // resume token -> participant
	pinFailures map[string][]time.Time  // source address -> recent wrong PINs
	closed      bool
}

// Config is what the service is built from.
type Config struct {
	DB       *store.DB
	Accounts *accounts.Service
	Settings func() settings.Settings
	// BaseURL is the address every link starts with, ending in "/".
	BaseURL func() string
	Media   Media
	// ICEServers are handed to clients in joined; user names the one
	// they are for (TURN credentials and quotas are per user).
	ICEServers func(user string) []webrtc.ICEServer
	Logger     *slog.Logger
}

// New returns the conference service.
func New(cfg Config) *Service {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	iceServers := cfg.ICEServers
	if iceServers == nil {
		iceServers = func(string) []webrtc.ICEServer { return []webrtc.ICEServer{} }
	}
	return &Service{
		db: cfg.DB, accounts: cfg.Accounts, settings: cfg.Settings, baseURL: cfg.BaseURL, media: cfg.Media,
		iceServers: iceServers, logger: logger, now: time.Now,
		rooms: map[string]*Room{}, resumes: map[string]*participant{}, pinFailures: map[string][]time.Time{},
	}
}

func roomKey(cid string) string { return strings.ToLower(cid) }

// relayOnly says whether a conference's media must go through a TURN
// relay: its own choice, or the server's.
func (s *Service) relayOnly(c Conference) bool { return c.RelayOnly || s.settings().RelayOnly }

// hasRelay says whether a list of ICE servers has a TURN server.
func hasRelay(servers []webrtc.ICEServer) bool {
	for _, server := range servers {
		for _, url := range server.URLs {
			if strings.HasPrefix(url, "turn:") || strings.HasPrefix(url, "turns:") {
				return true
			}
		}
	}
	return false
}

// iceUser names a participant for the ICE servers: the account, so that a
// person's quota holds across their devices, or the guest's participant.
func iceUser(p protocol.Participant) string {
	if p.UserID != 0 {
		return "user-" + strconv.FormatInt(p.UserID, 10)
	}
	return "guest-" + p.ID
}

// runningRoom returns the live room of a conference, or nil.
func (s *Service) runningRoom(cid string) *Room {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rooms[roomKey(cid)]
}

// Running lists the CIDs of running conferences.
func (s *Service) Running() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := make([]string, 0, len(s.rooms))
	for _, room := range s.rooms {
		list = append(list, room.cid())
	}
	return list
}

// hasPIN tells whether joining needs a PIN now: the live room's PIN while
// it runs, else the stored one.
func (s *Service) hasPIN(c Conference) bool {
	if room := s.runningRoom(c.CID); room != nil {
		return room.currentPIN() != ""
	}
	return c.HasPIN
}

// definitionChanged hands an edited definition to the running room.
func (s *Service) definitionChanged(c Conference) {
	if room := s.runningRoom(c.CID); room != nil {
		room.redefine(c)
	}
}

// endRoom ends the running room of a conference, if any.
func (s *Service) endRoom(cid, reason string) {
	if room := s.runningRoom(cid); room != nil {
		room.end(reason)
	}
}

// EndRunning ends a conference's running room, if any, for reason.
func (s *Service) EndRunning(cid, reason string) { s.endRoom(cid, reason) }

// EndCall ends the conference of a call that was not answered: its room if
// someone is in it, and the conference itself, so that it does not linger
// among the caller's conferences.
func (s *Service) EndCall(ctx context.Context, cid, reason string) error {
	s.endRoom(cid, reason)
	if _, err := s.db.SQL().ExecContext(ctx, `UPDATE conferences SET ended_at = ? WHERE cid = ? AND kind = ? AND ended_at = 0`,
		store.Millis(s.now()), cid, KindInstant); err != nil {
		return fmt.Errorf("end call conference %s: %w", cid, err)
	}
	return nil
}

// NewID makes an opaque identifier that starts with prefix.
func NewID(prefix string) string { return newToken(prefix, 12) }

// End ends a running conference for everyone (the admin console's "end").
func (s *Service) End(ctx context.Context, actor accounts.User, cid string) error {
	c, err := s.Get(ctx, cid)
	if err != nil {
		return err
	}
	if !CanManage(actor, c) {
		return problem.New(problem.Forbidden, "only the conference's owner or an administrator may end it")
	}
	s.endRoom(cid, "ended_by_moderator")
	return nil
}

// Close ends every running room, for shutdown.
func (s *Service) Close() {
	s.mu.Lock()
	s.closed = true
	rooms := make([]*Room, 0, len(s.rooms))
	for _, room := range s.rooms {
		rooms = append(rooms, room)
	}
	s.mu.Unlock()
	for _, room := range rooms {
		room.end("server_stopping")
	}
	for _, room := range rooms {
		<-room.done
	}
}

// newToken makes an opaque identifier with a prefix saying what it is.
func newToken(prefix string, bytes int) string {
	raw := make([]byte, bytes)
	_, _ = rand.Read(raw) // crypto/rand never fails on supported systems
	return prefix + base64.RawURLEncoding.EncodeToString(raw)
}

// wrongPINLimit bounds PIN guessing from one address.
const (
	wrongPINLimit  = 5
	wrongPINWindow = time.Minute
)

// pinBlocked reports whether source has guessed wrong too often lately.
func (s *Service) pinBlocked(source string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	cutoff := s.now().Add(-wrongPINWindow)
	recent := s.pinFailures[source][:0]
	for _, at := range s.pinFailures[source] {
		if at.After(cutoff) {
			recent = append(recent, at)
		}
	}
	if len(recent) == 0 {
		delete(s.pinFailures, source)
	} else {
		s.pinFailures[source] = recent
	}
	return len(recent) >= wrongPINLimit
}

func (s *Service) recordWrongPIN(source string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pinFailures) > 10000 {
		clear(s.pinFailures)
	}
	s.pinFailures[source] = append(s.pinFailures[source], s.now())
}

// Counts are live numbers for the dashboard.
type Counts struct {
	Conferences  int `json:"conferences_running"`
	Participants int `json:"participants"`
	Guests       int `json:"guests"`
	Waiting      int `json:"waiting"` // in lobbies
}

// Counts tells how many conferences run and how many people are in them.
func (s *Service) Counts() Counts {
	s.mu.Lock()
	rooms := make([]*Room, 0, len(s.rooms))
	for _, room := range s.rooms {
		rooms = append(rooms, room)
	}
	s.mu.Unlock()
	counts := Counts{Conferences: len(rooms)}
	for _, room := range rooms {
		room.mu.Lock()
		counts.Participants += len(room.joined)
		counts.Waiting += len(room.lobby)
		for _, p := range room.joined {
			if p.info.Kind == "guest" {
				counts.Guests++
			}
		}
		room.mu.Unlock()
	}
	return counts
}

// Dialing checks that actor may call phones into conference cid through
// the API (its owner, or an administrator) and records that they do.
func (s *Service) Dialing(ctx context.Context, actor accounts.User, source, cid, target string) error {
	c, err := s.Get(ctx, cid)
	if err != nil {
		return err
	}
	if !CanManage(actor, c) {
		return problem.New(problem.Forbidden, "only the conference's owner or an administrator may call phones into it")
	}
	return s.db.Write(ctx, func(tx *sql.Tx) error {
		return eventlog.Append(ctx, tx, eventlog.Entry{Kind: eventlog.ConferenceDialed,
			Actor: eventlog.Actor{UserID: actor.ID, Source: source}, Subject: "conference " + cid, Details: map[string]any{"target": target}})
	})
}
