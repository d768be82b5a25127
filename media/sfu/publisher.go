package sfu

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// publisher is the publish side of a participant: the connection the client
// offers and the publications that arrive on it.
type publisher struct {
	participant *Participant
	log         *slog.Logger
	pc          *webrtc.PeerConnection

	mu           sync.Mutex // also serialises offers
	closed       bool
	sources      map[string]Source // by mid, from the last offer
	publications map[Source]*publication
	readers      map[*publication]*atomic.Int32 // layer readers still running
	candidates   []webrtc.ICECandidateInit
}

func newPublisher(p *Participant, pc *webrtc.PeerConnection) *publisher {
	return &publisher{
		participant:  p,
		log:          p.log.With("target", TargetPublish),
		pc:           pc,
		sources:      map[string]Source{},
		publications: map[Source]*publication{},
		readers:      map[*publication]*atomic.Int32{},
	}
}

// publish applies an offer and returns the answer and the publications the
// offer no longer sends.
func (pb *publisher) publish(offer string, tracks []TrackInfo) (string, []*publication, error) {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	if pb.closed {
		return "", nil, ErrClosed
	}
	if err := pb.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", nil, fmt.Errorf("set publish offer: %w", err)
	}
	pb.sources = map[string]Source{}
	for _, track := range tracks {
		pb.sources[track.Mid] = track.Source
	}
	var removed []*publication
	for source, pub := range pb.publications {
		if pb.sources[pub.mid] != source {
			delete(pb.publications, source)
			removed = append(removed, pub)
		}
	}
	for _, candidate := range pb.candidates {
		if err := pb.pc.AddICECandidate(candidate); err != nil {
			pb.log.Warn("add early publish candidate", "err", err)
		}
	}
	pb.candidates = nil

	answer, err := pb.pc.CreateAnswer(nil)
	if err != nil {
		return "", removed, fmt.Errorf("create publish answer: %w", err)
	}
	if err := pb.pc.SetLocalDescription(answer); err != nil {
		return "", removed, fmt.Errorf("set publish answer: %w", err)
	}
	return pb.pc.LocalDescription().SDP, removed, nil
}

// addCandidate adds a remote candidate, or keeps it until the first offer.
func (pb *publisher) addCandidate(candidate webrtc.ICECandidateInit) error {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	if pb.closed {
		return ErrClosed
	}
	if pb.pc.RemoteDescription() == nil {
		pb.candidates = append(pb.candidates, candidate)
		return nil
	}
	if err := pb.pc.AddICECandidate(candidate); err != nil {
		return fmt.Errorf("add publish candidate: %w", err)
	}
	return nil
}

// onTrack takes an incoming stream (a whole track, or one simulcast layer)
// into its publication, creating and publishing that on its first stream.
func (pb *publisher) onTrack(track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	p := pb.participant
	mid := midOf(pb.pc, receiver)
	log := pb.log.With("mid", mid, "rid", track.RID(), "codec", track.Codec().MimeType)

	pb.mu.Lock()
	if pb.closed {
		pb.mu.Unlock()
		return
	}
	source, known := pb.sources[mid]
	index, simulcast := 0, track.RID() != ""
	if simulcast {
		var ok bool
		if index, ok = layerIndex(track.RID()); !ok {
			pb.mu.Unlock()
			log.Warn("ignoring simulcast layer with an unknown rid")
			return
		}
	}
	switch {
	case !known:
		pb.mu.Unlock()
		log.Warn("ignoring track on an m= line the offer's tracks did not name")
		return
	case track.Kind() != source.kind():
		pb.mu.Unlock()
		log.Warn("ignoring track of the wrong kind for its source", "source", source, "kind", track.Kind())
		return
	}

	pub := pb.publications[source]
	var replaced *publication
	created := pub == nil || pub.mid != mid
	if created {
		codec, ok := matchSupportedCodec(track.Codec().RTPCodecCapability)
		if !ok {
			pb.mu.Unlock()
			log.Warn("ignoring track with an unsupported codec")
			return
		}
		replaced = pub
		pub = newPublication(p.id, source, mid, codec, simulcast, pb.pc.WriteRTCP, &p.room.sfu.counts)
		pub.blocked.Store(p.isBlocked(source))
		pb.publications[source] = pub
		pb.readers[pub] = &atomic.Int32{}
	}
	layer := &layerReceiver{
		index:    index,
		rid:      track.RID(),
		track:    track,
		receiver: receiver,
		stats:    newReceptionStats(track.Codec().ClockRate),
	}
	pub.layers[index].Store(layer)
	var audioLevelID uint8
	for _, extension := range receiver.GetParameters().HeaderExtensions {
		if extension.URI == sdp.AudioLevelURI {
			audioLevelID = uint8(extension.ID)
		}
	}
	var onAudioLevel func(uint8, time.Time)
	if source == SourceMicrophone {
		onAudioLevel = func(level uint8, now time.Time) { p.room.observeAudioLevel(p.id, level, now) }
	}
	readers := pb.readers[pub]
	readers.Add(1)
	started := p.spawn(func() {
		pub.receive(layer, audioLevelID, onAudioLevel)
		if readers.Add(-1) == 0 {
			pb.streamsEnded(pub)
		}
	})
	if started {
		p.spawn(func() { pub.drainRTCP(layer) })
	}
	pb.mu.Unlock()

	log.Debug("receiving", "source", source, "layer", layerName(index))
	if replaced != nil {
		p.room.unpublish(replaced)
	}
	if created && started {
		p.room.publish(pub)
	}
}

// streamsEnded unpublishes a publication whose streams all ended: its m= line
// went inactive or the connection closed.
func (pb *publisher) streamsEnded(pub *publication) {
	pb.mu.Lock()
	if pb.publications[pub.source] == pub {
		delete(pb.publications, pub.source)
	}
	delete(pb.readers, pub)
	pb.mu.Unlock()
	pb.participant.room.unpublish(pub)
}

// publication returns what the participant publishes from a source, or nil.
func (pb *publisher) publication(source Source) *publication {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	return pb.publications[source]
}

// quality is the worst score of the publications being received.
func (pb *publisher) quality(now time.Time) int {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	score := 5
	for _, pub := range pb.publications {
		if s, measured := pub.quality(now); measured {
			score = min(score, s)
		}
	}
	return score
}

// close stops taking tracks and returns the publications to end.
func (pb *publisher) close() []*publication {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	pb.closed = true
	pubs := make([]*publication, 0, len(pb.publications))
	for _, pub := range pb.publications {
		pubs = append(pubs, pub)
	}
	clear(pb.publications)
	return pubs
}

// midOf finds the mid of the m= line a receiver belongs to.
func midOf(pc *webrtc.PeerConnection, receiver *webrtc.RTPReceiver) string {
	for _, transceiver := range pc.GetTransceivers() {
		if transceiver.Receiver() == receiver {
			return transceiver.Mid()
		}
	}
	return ""
}
