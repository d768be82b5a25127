package sfu

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Room is one conference's media: its participants and what they publish.
type Room struct {
	sfu       *SFU
	id        string
	log       *slog.Logger
	speaker   *speakerDetector
	onSpeaker atomic.Pointer[func(participant string)]

	mu           sync.Mutex
	closed       bool
	participants map[string]*Participant
	publications map[string]*publication // by track id
}

func newRoom(s *SFU, id string) *Room {
	return &Room{
		sfu:          s,
		id:           id,
		log:          s.log.With("room", id),
		speaker:      newSpeakerDetector(),
		participants: map[string]*Participant{},
		publications: map[string]*publication{},
	}
}

// Join adds a participant, with fresh publish and subscribe connections. It
// subscribes them to everything already published; the first subscribe
// offer comes through sig as soon as there is something to receive.
func (r *Room) Join(participant string, sig Signaller) (*Participant, error) {
	if participant == "" || sig == nil {
		return nil, fmt.Errorf("%w: join needs a participant id and a signaller", ErrInvalid)
	}
	if err := r.canJoin(participant); err != nil {
		return nil, err
	}
	p, err := newParticipant(r, participant, sig)
	if err != nil {
		return nil, fmt.Errorf("sfu: join %s: %w", participant, err)
	}

	r.mu.Lock()
	if err := r.canJoinLocked(participant); err != nil {
		r.mu.Unlock()
		p.Leave()
		return nil, err
	}
	r.participants[participant] = p
	existing := make([]*publication, 0, len(r.publications))
	for _, pub := range r.publications {
		existing = append(existing, pub)
	}
	r.mu.Unlock()

	p.log.Debug("joined")
	p.subscriber.subscribe(existing...)
	return p, nil
}

func (r *Room) canJoin(participant string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.canJoinLocked(participant)
}

func (r *Room) canJoinLocked(participant string) error {
	if r.closed {
		return ErrClosed
	}
	if _, ok := r.participants[participant]; ok {
		return fmt.Errorf("%w: %s", ErrAlreadyJoined, participant)
	}
	return nil
}

// OnSpeaker sets the function told the new active speaker whenever it
// changes: the participant whose microphone is loudest (RFC 6464 levels,
// smoothed, with hysteresis). It is called from a media goroutine and must
// not block.
func (r *Room) OnSpeaker(fn func(participant string)) {
	r.onSpeaker.Store(&fn)
}

// observeAudioLevel feeds the speaker detector.
func (r *Room) observeAudioLevel(participant string, level uint8, now time.Time) {
	speaker, changed := r.speaker.observe(participant, level, now)
	if !changed {
		return
	}
	if fn := r.onSpeaker.Load(); fn != nil && *fn != nil {
		(*fn)(speaker)
	}
}

// publish makes a publication available to everyone else in the room.
func (r *Room) publish(pub *publication) {
	r.mu.Lock()
	if r.closed || pub.isClosed() {
		r.mu.Unlock()
		return
	}
	previous := r.publications[pub.id]
	r.publications[pub.id] = pub
	subscribers := make([]*subscriber, 0, len(r.participants))
	for id, p := range r.participants {
		if id != pub.participant {
			subscribers = append(subscribers, p.subscriber)
		}
	}
	r.mu.Unlock()

	if previous != nil && previous != pub {
		r.unpublish(previous)
	}
	r.log.Debug("published", "track", pub.id, "codec", pub.codec.MimeType, "simulcast", pub.simulcast)
	for _, s := range subscribers {
		s.subscribe(pub)
	}
}

// unpublish ends a publication: its subscribers drop its m= line.
func (r *Room) unpublish(pub *publication) {
	fed := pub.close()
	r.mu.Lock()
	if r.publications[pub.id] == pub {
		delete(r.publications, pub.id)
	}
	r.mu.Unlock()
	for _, dt := range fed {
		dt.subscriber.unsubscribe(pub)
	}
}

// removeParticipant forgets a participant who is leaving.
func (r *Room) removeParticipant(p *Participant) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.participants[p.id] == p {
		delete(r.participants, p.id)
	}
}

// Close makes every participant leave and removes the room from the SFU.
func (r *Room) Close() {
	r.mu.Lock()
	r.closed = true
	participants := make([]*Participant, 0, len(r.participants))
	for _, p := range r.participants {
		participants = append(participants, p)
	}
	r.mu.Unlock()

	var wg sync.WaitGroup
	for _, p := range participants {
		wg.Go(p.Leave)
	}
	wg.Wait()
	r.sfu.forgetRoom(r)
}
