package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

const (
	// queueLength bounds the packets waiting for one subscriber's
	// connection: half a second of a busy meeting (ten cameras at layer h
	// and ten microphones are about 1000 packets a second). Beyond it that
	// subscriber's packets are dropped, never anyone else's.
	queueLength = 512
	// allocationInterval is how often layers are fitted to the bandwidth
	// estimate and switches still waiting for a keyframe ask again.
	allocationInterval = 250 * time.Millisecond
)

var (
	errNoOfferOutstanding = errors.New("sfu: no subscribe offer is waiting for an answer")
	// ErrStaleAnswer is returned by SubscribeAnswer for a second answer to
	// an offer that RestartICE sent again: the signalling layer may drop it
	// silently, the offer that matters follows.
	ErrStaleAnswer = errors.New("sfu: answer to an earlier subscribe offer")
)

// subscriber is the subscribe side of a participant: the connection the
// SFU offers, its down tracks and their negotiation, and the goroutine that
// writes the participant's packets.
type subscriber struct {
	participant *Participant
	log         *slog.Logger
	pc          *webrtc.PeerConnection
	estimator   cc.BandwidthEstimator // nil if the congestion controller gave none

	queue   chan outboundPacket
	dropped atomic.Int64 // since the last warning
	counts  *counters    // the SFU's
	done    chan struct{}

	allocationMu sync.Mutex // one allocation at a time

	mu             sync.Mutex
	closed         bool
	wanted         map[string]*publication // what the subscriber should receive, by track id
	downTracks     []*downTrack            // what it is being sent
	tiles          map[string]tile         // what the client reported with SetLayer
	awaitingAnswer bool                    // an offer is out
	outstanding    *subscribeOffer         // that offer
	renegotiate    bool                    // something changed while it was out
	restartICE     bool                    // the next offer restarts ICE
	restartOffered bool                    // the offer out restarts ICE
	answeredUfrag  string                  // the client's ICE ufrag in the last answer
	candidates     []webrtc.ICECandidateInit
}

// tile is how a subscriber draws a video track.
type tile struct {
	width, height int
	paused        bool
}

// subscribeOffer is an offer to deliver to the Signaller.
type subscribeOffer struct {
	sdp    string
	tracks []RemoteTrack
}

func newSubscriber(p *Participant, pc *webrtc.PeerConnection, estimator cc.BandwidthEstimator) *subscriber {
	return &subscriber{
		participant: p,
		log:         p.log.With("target", TargetSubscribe),
		pc:          pc,
		estimator:   estimator,
		queue:       make(chan outboundPacket, queueLength),
		counts:      &p.room.sfu.counts,
		done:        make(chan struct{}),
		wanted:      map[string]*publication{},
		tiles:       map[string]tile{},
	}
}

func (s *subscriber) isClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// subscribe makes the subscriber receive publications, with one offer.
func (s *subscriber) subscribe(pubs ...*publication) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	for _, pub := range pubs {
		if !pub.isClosed() {
			s.wanted[pub.id] = pub
		}
	}
	offer := s.negotiateLocked()
	s.mu.Unlock()
	s.deliver(offer)
}

// unsubscribe stops a publication at once and removes its m= line with
// the next offer.
func (s *subscriber) unsubscribe(pub *publication) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	if s.wanted[pub.id] == pub {
		delete(s.wanted, pub.id)
	}
	for _, dt := range s.downTracks {
		if dt.pub == pub {
			pub.removeDownTrack(dt)
			dt.stopForwarding()
		}
	}
	offer := s.negotiateLocked()
	s.mu.Unlock()
	s.deliver(offer)
}

// negotiateLocked brings the connection's m= lines in line with what is
// wanted and returns the offer to send, or nil when none is due: nothing
// changed, or an offer is already out (then another follows its answer).
// s.mu is held.
func (s *subscriber) negotiateLocked() *subscribeOffer {
	if s.closed {
		return nil
	}
	if s.awaitingAnswer {
		s.renegotiate = true
		return nil
	}
	s.renegotiate = false
	changed, err := s.reconcileLocked()
	if err != nil {
		s.log.Error("update subscribe connection", "err", err)
	}
	if (!changed && !s.restartICE) || len(s.pc.GetTransceivers()) == 0 {
		return nil
	}
	offer, err := s.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: s.restartICE})
	if err != nil {
		s.log.Error("create subscribe offer", "err", err)
		return nil
	}
	if err := s.pc.SetLocalDescription(offer); err != nil {
		s.log.Error("set subscribe offer", "err", err)
		return nil
	}
	s.restartOffered, s.restartICE = s.restartICE, false
	s.awaitingAnswer = true
	s.outstanding = &subscribeOffer{sdp: s.pc.LocalDescription().SDP, tracks: s.remoteTracksLocked()}
	return s.outstanding
}

// reconcileLocked turns the m= lines of publications no longer wanted
// inactive and gives every wanted publication a down track. s.mu is held.
func (s *subscriber) reconcileLocked() (changed bool, err error) {
	var errs []error
	kept := s.downTracks[:0]
	sending := map[*publication]bool{}
	for _, dt := range s.downTracks {
		if s.wanted[dt.pub.id] == dt.pub && !dt.pub.isClosed() {
			kept = append(kept, dt)
			sending[dt.pub] = true
			continue
		}
		dt.pub.removeDownTrack(dt)
		dt.stopForwarding()
		// Removing the sender turns the m= line inactive for good: see addDownTrack.
		if err := s.pc.RemoveTrack(dt.sender); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", dt.pub.id, err))
		}
		changed = true
	}
	clear(s.downTracks[len(kept):])
	s.downTracks = kept

	ids := make([]string, 0, len(s.wanted))
	for id := range s.wanted {
		ids = append(ids, id)
	}
	slices.Sort(ids) // the same changes give the same m= line order
	for _, id := range ids {
		pub := s.wanted[id]
		if sending[pub] {
			continue
		}
		if pub.isClosed() {
			delete(s.wanted, id)
			continue
		}
		dt, err := s.addDownTrack(pub)
		if err != nil {
			errs = append(errs, err)
			delete(s.wanted, id)
			continue
		}
		changed = true
		if !pub.addDownTrack(dt) {
			// Closed in the meantime: the next offer turns the line inactive.
			delete(s.wanted, id)
			s.renegotiate = true
		}
	}
	return changed, errors.Join(errs...)
}

// addDownTrack adds a down track for pub on a new m= line. s.mu is held.
//
// Inactive m= lines are not reused although the protocol allows it: a pion
// client (the desktop app, test participants, the benchmark) stops the
// receiver of an m= line each time an offer keeps it inactive, and pion
// then starts that stopped receiver when the line becomes active again, so
// a reused line stays silent for it. The price is an SDP that grows by one
// inactive m= line per track that went away, until the participant leaves.
func (s *subscriber) addDownTrack(pub *publication) (*downTrack, error) {
	dt := newDownTrack(s, pub)
	transceiver, err := s.pc.AddTransceiverFromTrack(dt, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return nil, fmt.Errorf("add m= line for %s: %w", pub.id, err)
	}
	// The publisher's codec first: the subscriber must take it as is. The
	// others of its kind follow so that the subscriber's first answer
	// names every codec it plays: once a kind is negotiated, pion offers
	// only codecs an answer named, and a phone's H.264 may come after a
	// browser's VP8.
	preferences := codecPreferences(pub.codec)
	if err := transceiver.SetCodecPreferences(preferences); err != nil {
		// An earlier answer of this subscriber left some out.
		if err := transceiver.SetCodecPreferences(preferences[:1]); err != nil {
			return nil, fmt.Errorf("codec of %s: %w", pub.id, err)
		}
	}
	dt.transceiver, dt.sender = transceiver, transceiver.Sender()
	s.downTracks = append(s.downTracks, dt)
	s.participant.spawn(dt.readRTCP)
	return dt, nil
}

// remoteTracksLocked maps the m= lines that carry a publication. s.mu is held.
func (s *subscriber) remoteTracksLocked() []RemoteTrack {
	var tracks []RemoteTrack
	for _, dt := range s.downTracks {
		if dt.transceiver.Mid() == "" {
			continue
		}
		tracks = append(tracks, RemoteTrack{
			Mid:         dt.transceiver.Mid(),
			Track:       dt.pub.id,
			Participant: dt.pub.participant,
			Source:      dt.pub.source,
			Kind:        dt.pub.kind.String(),
		})
	}
	return tracks
}

// deliver hands an offer to the signalling layer.
func (s *subscriber) deliver(offer *subscribeOffer) {
	if offer == nil || s.participant.hasLeft() {
		return
	}
	s.participant.signaller.SubscribeOffer(offer.sdp, offer.tracks)
}

// answer applies the client's answer to the offer that is out.
func (s *subscriber) answer(sdp string) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if !s.awaitingAnswer {
		s.mu.Unlock()
		return errNoOfferOutstanding
	}
	// The answer to an ICE restart offer has new credentials; the client's
	// old ones mean a repeated answer to the offer before.
	ufrag := iceUfrag(sdp)
	if s.restartOffered && ufrag != "" && ufrag == s.answeredUfrag {
		s.mu.Unlock()
		return ErrStaleAnswer
	}
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("set subscribe answer: %w", err)
	}
	s.awaitingAnswer, s.outstanding = false, nil
	s.answeredUfrag = ufrag
	s.flushCandidatesLocked()
	for _, dt := range s.downTracks {
		if s.wanted[dt.pub.id] == dt.pub {
			dt.activate()
		}
	}
	var offer *subscribeOffer
	if s.renegotiate {
		offer = s.negotiateLocked()
	}
	s.mu.Unlock()
	s.allocate()
	s.deliver(offer)
	return nil
}

// restart sends a new offer that restarts ICE. If an offer is still
// waiting for its answer, that offer is sent again instead (after a
// reconnection it may have been lost with the WebSocket; pion cannot roll a
// local offer back) and the restart follows its answer.
func (s *subscriber) restart() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.restartICE = true
	offer := s.outstanding
	if s.awaitingAnswer {
		s.renegotiate = true
	} else {
		offer = s.negotiateLocked()
	}
	s.mu.Unlock()
	s.deliver(offer)
}

// addCandidate adds a remote candidate, or keeps it until the first answer.
func (s *subscriber) addCandidate(candidate webrtc.ICECandidateInit) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.pc.RemoteDescription() == nil {
		s.candidates = append(s.candidates, candidate)
		return nil
	}
	if err := s.pc.AddICECandidate(candidate); err != nil {
		return fmt.Errorf("add subscribe candidate: %w", err)
	}
	return nil
}

// flushCandidatesLocked adds the candidates that came before the answer.
func (s *subscriber) flushCandidatesLocked() {
	for _, candidate := range s.candidates {
		if err := s.pc.AddICECandidate(candidate); err != nil {
			s.log.Warn("add early subscribe candidate", "err", err)
		}
	}
	s.candidates = nil
}

// setTile records how the client draws a track and refits the layers.
func (s *subscriber) setTile(track string, t tile) {
	s.mu.Lock()
	s.tiles[track] = t
	s.mu.Unlock()
	s.allocate()
}

// forwardedLayer is the layer sent for a track, "" when none.
func (s *subscriber) forwardedLayer(track string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, dt := range s.downTracks {
		if dt.pub.id == track {
			return dt.forwardedLayer()
		}
	}
	return ""
}

// allocate fits the layers of every video down track to its tile and to
// the bandwidth estimate, after what the tracks without layers (audio,
// screen) take.
func (s *subscriber) allocate() {
	s.allocationMu.Lock()
	defer s.allocationMu.Unlock()

	type forwarded struct {
		dt   *downTrack
		tile tile
		told bool // the client reported a tile
	}
	var tracks []forwarded
	s.mu.Lock()
	for _, dt := range s.downTracks {
		t, told := s.tiles[dt.pub.id]
		tracks = append(tracks, forwarded{dt: dt, tile: t, told: told})
	}
	s.mu.Unlock()

	now := time.Now()
	estimate := math.Inf(1)
	if s.estimator != nil {
		estimate = float64(s.estimator.GetTargetBitrate())
	}
	var requests []layerRequest
	var requesters []*downTrack
	for _, track := range tracks {
		pub := track.dt.pub
		switch {
		case !pub.isVideo():
			estimate -= pub.layerStates(now)[0].bitrate
		case track.tile.paused:
			track.dt.setTarget(noLayer)
		case !pub.simulcast:
			track.dt.setTarget(0)
			estimate -= pub.layerStates(now)[0].bitrate
		default:
			request := layerRequest{layers: pub.layerStates(now), want: defaultLayer}
			if track.told {
				request.want = layerForTile(request.layers, track.tile.width, track.tile.height)
			}
			request.current, _ = layerIndex(track.dt.forwardedLayer())
			requests = append(requests, request)
			requesters = append(requesters, track.dt)
		}
	}
	for i, layer := range chooseLayers(requests, estimate) {
		requesters[i].setTarget(layer)
	}
}

// enqueue queues a packet for the writer, or drops it when the queue is full.
func (s *subscriber) enqueue(out outboundPacket) {
	select {
	case s.queue <- out:
	default:
		s.dropped.Add(1)
		s.counts.dropped.Add(1)
		if out.buffer != nil {
			payloadBuffers.Put(out.buffer)
		}
	}
}

// run writes queued packets and refits layers until the subscriber closes.
func (s *subscriber) run() {
	ticker := time.NewTicker(allocationInterval)
	defer ticker.Stop()
	writer := &packetWriter{}
	for {
		select {
		case <-s.done:
			return
		case out := <-s.queue:
			writer.write(out)
		case <-ticker.C:
			s.allocate()
			if dropped := s.dropped.Swap(0); dropped > 0 {
				s.log.Warn("subscriber queue full, packets dropped", "packets", dropped)
			}
		}
	}
}

// packetWriter writes a subscriber's queued packets, one at a time, in
// memory of its own: pion takes the header by pointer, which would put
// every packet on the heap, and the audio level's extension would take
// two allocations more.
type packetWriter struct {
	out        outboundPacket
	extensions [1]rtp.Extension
	level      [1]byte
}

func (w *packetWriter) write(out outboundPacket) {
	w.out = out
	w.out.track.write(&w.out, w)
	if w.out.buffer != nil {
		payloadBuffers.Put(w.out.buffer)
	}
	w.out = outboundPacket{} // no hold on the track or the payload
}

// close detaches every down track and stops the writer. The connection
// itself is closed by the participant.
func (s *subscriber) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	downTracks := slices.Clone(s.downTracks)
	s.mu.Unlock()

	close(s.done)
	for _, dt := range downTracks {
		dt.pub.removeDownTrack(dt)
		dt.stopForwarding()
	}
}

// iceUfrag returns the first ICE username fragment in an SDP.
func iceUfrag(sdp string) string {
	for line := range strings.Lines(sdp) {
		if value, ok := strings.CutPrefix(strings.TrimSpace(line), "a=ice-ufrag:"); ok {
			return value
		}
	}
	return ""
}
