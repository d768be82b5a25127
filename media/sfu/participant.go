package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// closeTimeout bounds how long Leave waits for pion to close a connection
// and for the participant's goroutines to end.
const closeTimeout = 5 * time.Second

var (
	// ErrInvalid is wrapped by errors about arguments that break the
	// protocol's rules (unknown source, duplicate mid, unknown target).
	ErrInvalid = errors.New("sfu: invalid argument")
	// ErrAlreadyJoined is returned by Join for a participant id already in the room.
	ErrAlreadyJoined = errors.New("sfu: participant already in the room")
)

// Source is what a published track carries.
type Source string

// The sources of the protocol.
const (
	SourceMicrophone Source = "microphone"
	SourceCamera     Source = "camera"
	SourceScreen     Source = "screen"
)

func (s Source) valid() bool {
	return s == SourceMicrophone || s == SourceCamera || s == SourceScreen
}

// kind is the media kind a source is sent as.
func (s Source) kind() webrtc.RTPCodecType {
	if s == SourceMicrophone {
		return webrtc.RTPCodecTypeAudio
	}
	return webrtc.RTPCodecTypeVideo
}

// Target names one of a participant's two connections.
type Target string

// The targets of the protocol.
const (
	TargetPublish   Target = "publish"
	TargetSubscribe Target = "subscribe"
)

// TrackInfo names the source of one m= line of a publish offer.
type TrackInfo struct {
	Mid    string
	Source Source
}

// RemoteTrack maps one m= line of a subscribe offer to what it carries.
type RemoteTrack struct {
	Mid         string
	Track       string // "<participant>/<source>", the id SetLayer takes
	Participant string
	Source      Source
	Kind        string // "audio" or "video"
}

// Signaller is how the SFU talks back to one participant's client; the
// signalling layer implements it. Calls may come from any goroutine;
// implementations must not block long, nor call Leave or Room.Close from
// inside a call. Calls stop when Leave is called (one already under way may
// still finish).
type Signaller interface {
	// SubscribeOffer delivers an offer for the subscribe connection. The
	// next one comes only after SubscribeAnswer, except that RestartICE
	// sends an unanswered offer again.
	SubscribeOffer(sdp string, tracks []RemoteTrack)
	// Candidate trickles a local ICE candidate; nil means no more.
	Candidate(target Target, c *webrtc.ICECandidateInit)
	// ConnectionState reports a connection's state changes.
	ConnectionState(target Target, state webrtc.PeerConnectionState)
}

// Participant is one member of a room, with its publish and subscribe
// connections.
type Participant struct {
	id        string
	room      *Room
	signaller Signaller
	log       *slog.Logger

	publisher  *publisher
	subscriber *subscriber

	mu      sync.Mutex
	left    bool
	blocked map[Source]bool
	wg      sync.WaitGroup // every goroutine the participant started
}

func newParticipant(room *Room, id string, signaller Signaller) (*Participant, error) {
	p := &Participant{
		id:        id,
		room:      room,
		signaller: signaller,
		log:       room.log.With("participant", id),
		blocked:   map[Source]bool{},
	}
	// The publish connection's bandwidth estimator stays idle: the SFU
	// sends no media on it.
	publishPC, _, err := room.sfu.newPeerConnection()
	if err != nil {
		return nil, fmt.Errorf("publish connection: %w", err)
	}
	subscribePC, estimator, err := room.sfu.newPeerConnection()
	if err != nil {
		_ = publishPC.Close()
		return nil, fmt.Errorf("subscribe connection: %w", err)
	}
	p.publisher = newPublisher(p, publishPC)
	p.subscriber = newSubscriber(p, subscribePC, estimator)
	p.watch(publishPC, TargetPublish)
	p.watch(subscribePC, TargetSubscribe)
	publishPC.OnTrack(p.publisher.onTrack)
	p.spawn(p.subscriber.run)
	return p, nil
}

// watch passes a connection's candidates and states to the signaller.
func (p *Participant) watch(pc *webrtc.PeerConnection, target Target) {
	pc.OnICECandidate(func(candidate *webrtc.ICECandidate) {
		if p.hasLeft() {
			return
		}
		if candidate == nil {
			p.signaller.Candidate(target, nil)
			return
		}
		if unspecified(candidate.Address) {
			// Pion maps an external address onto each address family; for
			// a family without one it makes a useless "::" candidate.
			return
		}
		init := candidate.ToJSON()
		p.signaller.Candidate(target, &init)
	})
	// Pion calls this handler on a new goroutine per change, so changes
	// can race: report a state only while it is still the current one.
	var reporting sync.Mutex
	pc.OnConnectionStateChange(func(state webrtc.PeerConnectionState) {
		reporting.Lock()
		defer reporting.Unlock()
		if state != pc.ConnectionState() || p.hasLeft() {
			return
		}
		p.log.Debug("connection state", "target", target, "state", state)
		p.signaller.ConnectionState(target, state)
	})
}

// spawn runs fn in a goroutine that Leave waits for; false once left.
func (p *Participant) spawn(fn func()) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.left {
		return false
	}
	p.wg.Go(fn)
	return true
}

func (p *Participant) hasLeft() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.left
}

func (p *Participant) isBlocked(source Source) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.blocked[source]
}

// ID is the participant's id in its room.
func (p *Participant) ID() string { return p.id }

// Publish applies a publish offer, the first or a renegotiation (screen
// added or removed, ICE restart), and returns the answer. tracks names the
// source of every m= line the offer sends; a source missing from it stops
// being forwarded.
func (p *Participant) Publish(offer string, tracks []TrackInfo) (answer string, err error) {
	if err := validateTracks(tracks); err != nil {
		return "", err
	}
	answer, removed, err := p.publisher.publish(offer, tracks)
	for _, pub := range removed {
		p.room.unpublish(pub)
	}
	return answer, err
}

func validateTracks(tracks []TrackInfo) error {
	mids := map[string]bool{}
	sources := map[Source]bool{}
	for _, track := range tracks {
		switch {
		case track.Mid == "":
			return fmt.Errorf("%w: track without mid", ErrInvalid)
		case !track.Source.valid():
			return fmt.Errorf("%w: unknown source %q", ErrInvalid, track.Source)
		case mids[track.Mid]:
			return fmt.Errorf("%w: mid %q named twice", ErrInvalid, track.Mid)
		case sources[track.Source]:
			return fmt.Errorf("%w: source %q named twice", ErrInvalid, track.Source)
		}
		mids[track.Mid], sources[track.Source] = true, true
	}
	return nil
}

// SubscribeAnswer applies the client's answer to the last subscribe offer.
// ErrStaleAnswer means a second answer to an offer RestartICE sent again.
func (p *Participant) SubscribeAnswer(answer string) error {
	return p.subscriber.answer(answer)
}

// AddCandidate adds a remote ICE candidate to one of the connections. One
// that arrives before its connection has a remote description is kept until
// then. An empty candidate string means the end of candidates.
func (p *Participant) AddCandidate(target Target, c webrtc.ICECandidateInit) error {
	switch target {
	case TargetPublish:
		return p.publisher.addCandidate(c)
	case TargetSubscribe:
		return p.subscriber.addCandidate(c)
	default:
		return fmt.Errorf("%w: target %q", ErrInvalid, target)
	}
}

// RestartICE sends, through Signaller.SubscribeOffer, a new subscribe offer
// that restarts ICE. While an offer waits for its answer, it sends that
// offer again instead, and the restart offer follows the answer.
func (p *Participant) RestartICE() {
	p.subscriber.restart()
}

// SetLayer tells how big the subscriber draws a video track (its id is
// "<participant>/<source>") or that it does not show it (paused).
func (p *Participant) SetLayer(track string, width, height int, paused bool) {
	p.subscriber.setTile(track, tile{width: width, height: height, paused: paused})
}

// ForwardedLayer is the simulcast layer ("q", "h" or "f") currently sent to
// this participant for a track, "" when nothing is or the track has no layers.
func (p *Participant) ForwardedLayer(track string) string {
	return p.subscriber.forwardedLayer(track)
}

// Block stops (or resumes) forwarding one of this participant's sources to
// everyone, whatever its client sends: a moderator's forced mute. It holds
// for tracks published later too. A blocked microphone is also left out of
// speaker detection.
func (p *Participant) Block(source Source, blocked bool) {
	p.mu.Lock()
	p.blocked[source] = blocked
	p.mu.Unlock()
	if pub := p.publisher.publication(source); pub != nil {
		pub.setBlocked(blocked)
	}
	if blocked && source == SourceMicrophone {
		p.room.speaker.forget(p.id)
	}
}

// Quality scores the participant's uplink from 1 (bad) to 5 (excellent)
// from the loss and jitter the SFU measures on what it publishes; 5 when it
// publishes nothing.
func (p *Participant) Quality() int {
	return p.publisher.quality(time.Now())
}

// Leave closes both connections; the others stop receiving this
// participant's tracks (their subscribe connections renegotiate). It
// returns once the participant's goroutines have ended, or closeTimeout
// after pion failed to let go.
func (p *Participant) Leave() {
	p.mu.Lock()
	if p.left {
		p.mu.Unlock()
		return
	}
	p.left = true
	p.mu.Unlock()

	p.room.removeParticipant(p)
	for _, pub := range p.publisher.close() {
		p.room.unpublish(pub)
	}
	p.subscriber.close()
	p.room.speaker.forget(p.id)

	var closing sync.WaitGroup
	closing.Go(func() { p.closeConnection(TargetPublish, p.publisher.pc) })
	closing.Go(func() { p.closeConnection(TargetSubscribe, p.subscriber.pc) })
	closing.Wait()
	if !waitTimeout(&p.wg, closeTimeout) {
		p.log.Warn("participant goroutines still running after leave", "timeout", closeTimeout)
	}
	p.log.Debug("left")
}

// closeConnection closes a peer connection without waiting for pion longer
// than closeTimeout.
func (p *Participant) closeConnection(target Target, pc *webrtc.PeerConnection) {
	done := make(chan error, 1)
	go func() { done <- pc.Close() }()
	select {
	case err := <-done:
		if err != nil {
			p.log.Debug("close connection", "target", target, "err", err)
		}
	case <-time.After(closeTimeout):
		p.log.Warn("connection did not close in time", "target", target, "timeout", closeTimeout)
	}
}

// waitTimeout waits for wg; false if it took longer than timeout.
func waitTimeout(wg *sync.WaitGroup, timeout time.Duration) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// unspecified reports whether a candidate's address is 0.0.0.0 or ::.
func unspecified(address string) bool {
	addr, err := netip.ParseAddr(address)
	return err == nil && addr.IsUnspecified()
}
