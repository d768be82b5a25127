package sfu

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// keyframeRequestInterval limits picture loss indications sent to a
// publisher to one per layer in this time, however many subscribers ask.
const keyframeRequestInterval = 500 * time.Millisecond

// publication is one source (microphone, camera or screen) a participant
// publishes, with its incoming layers and the down tracks it feeds.
type publication struct {
	counts      *counters // the SFU's
	id          string    // "<participant>/<source>", the track id of the protocol
	participant string
	source      Source
	mid         string // of the m= line on the publish connection
	kind        webrtc.RTPCodecType
	codec       webrtc.RTPCodecParameters // the supported codec it maps to
	simulcast   bool

	writeRTCP func([]rtcp.Packet) error // to the publisher

	layers  [len(layerNames)]atomic.Pointer[layerReceiver]
	blocked atomic.Bool

	mu         sync.Mutex
	closed     bool
	downTracks atomic.Pointer[[]*downTrack] // replaced, never modified, under mu
}

// layerReceiver is one incoming RTP stream: a simulcast layer, or the whole
// track when it has no layers.
type layerReceiver struct {
	index    int
	rid      string
	track    *webrtc.TrackRemote
	receiver *webrtc.RTPReceiver
	stats    *receptionStats

	width, height       atomic.Int32 // learned from keyframes
	lastKeyframeRequest atomic.Int64 // unix nanoseconds
}

// inboundPacket is an incoming packet with what was parsed from it once for
// every down track.
type inboundPacket struct {
	packet        *rtp.Packet
	input         forwarderInput
	vp8           vp8Descriptor
	audioLevel    byte // the raw RFC 6464 byte (V bit and level)
	hasAudioLevel bool
	arrival       time.Time
}

func newPublication(participant string, source Source, mid string, codec webrtc.RTPCodecParameters, simulcast bool, writeRTCP func([]rtcp.Packet) error, counts *counters) *publication {
	pub := &publication{
		counts:      counts,
		id:          participant + "/" + string(source),
		participant: participant,
		source:      source,
		mid:         mid,
		kind:        source.kind(),
		codec:       codec,
		simulcast:   simulcast,
		writeRTCP:   writeRTCP,
	}
	pub.downTracks.Store(&[]*downTrack{})
	return pub
}

func (pub *publication) isVideo() bool { return pub.kind == webrtc.RTPCodecTypeVideo }

func (pub *publication) isClosed() bool {
	pub.mu.Lock()
	defer pub.mu.Unlock()
	return pub.closed
}

// layer returns the receiver of a layer, nil when it has not arrived.
func (pub *publication) layer(index int) *layerReceiver {
	if index < 0 || index >= len(pub.layers) {
		return nil
	}
	return pub.layers[index].Load()
}

// addDownTrack starts feeding a down track; false if the publication is gone.
func (pub *publication) addDownTrack(dt *downTrack) bool {
	pub.mu.Lock()
	defer pub.mu.Unlock()
	if pub.closed {
		return false
	}
	old := *pub.downTracks.Load()
	updated := append(append(make([]*downTrack, 0, len(old)+1), old...), dt)
	pub.downTracks.Store(&updated)
	return true
}

// removeDownTrack stops feeding a down track.
func (pub *publication) removeDownTrack(dt *downTrack) {
	pub.mu.Lock()
	defer pub.mu.Unlock()
	old := *pub.downTracks.Load()
	updated := make([]*downTrack, 0, len(old))
	for _, other := range old {
		if other != dt {
			updated = append(updated, other)
		}
	}
	pub.downTracks.Store(&updated)
}

// close ends the publication and returns the down tracks it fed.
func (pub *publication) close() []*downTrack {
	pub.mu.Lock()
	defer pub.mu.Unlock()
	if pub.closed {
		return nil
	}
	pub.closed = true
	fed := *pub.downTracks.Load()
	pub.downTracks.Store(&[]*downTrack{})
	return fed
}

// setBlocked stops or resumes forwarding to everyone. Down tracks begin
// afresh on resume (at a keyframe for video), so their numbering has no gap.
func (pub *publication) setBlocked(blocked bool) {
	if pub.blocked.Swap(blocked) == blocked {
		return
	}
	for _, dt := range *pub.downTracks.Load() {
		dt.interrupt()
		if !blocked && pub.isVideo() {
			dt.requestKeyframe()
		}
	}
}

// requestKeyframe asks the publisher for a keyframe of a layer, at most
// once per keyframeRequestInterval.
func (pub *publication) requestKeyframe(index int) {
	layer := pub.layer(index)
	if layer == nil || !pub.isVideo() {
		return
	}
	now := time.Now().UnixNano()
	last := layer.lastKeyframeRequest.Load()
	if now-last < int64(keyframeRequestInterval) || !layer.lastKeyframeRequest.CompareAndSwap(last, now) {
		return
	}
	pub.counts.keyframeRequests.Add(1)
	_ = pub.writeRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(layer.track.SSRC())}})
}

// layerStates describes the layers for the allocator.
func (pub *publication) layerStates(now time.Time) [len(layerNames)]layerState {
	var states [len(layerNames)]layerState
	for i := range states {
		layer := pub.layer(i)
		if layer == nil {
			continue
		}
		states[i] = layerState{
			active:  layer.stats.active(now),
			bitrate: layer.stats.currentBitrate(),
			width:   int(layer.width.Load()),
			height:  int(layer.height.Load()),
		}
	}
	return states
}

// quality scores the uplink from the worst layer being received.
func (pub *publication) quality(now time.Time) (score int, measured bool) {
	score = 5
	for i := range pub.layers {
		layer := pub.layer(i)
		if layer == nil || !layer.stats.active(now) {
			continue
		}
		measured = true
		score = min(score, qualityScore(layer.stats.lossAndJitter()))
	}
	return score, measured
}

// receive reads one layer until its stream ends and fans every packet out
// to the down tracks. onAudioLevel, if set, hears the level of each audio
// packet that is not blocked.
func (pub *publication) receive(layer *layerReceiver, audioLevelID uint8, onAudioLevel func(level uint8, now time.Time)) {
	isVP8 := pub.codec.MimeType == webrtc.MimeTypeVP8
	isH264 := pub.codec.MimeType == webrtc.MimeTypeH264
	for {
		packet, _, err := layer.track.ReadRTP()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || pub.isClosed() {
				return
			}
			continue // a malformed packet
		}
		pub.counts.packetsIn.Add(1)
		pub.counts.bytesIn.Add(uint64(packet.MarshalSize()))
		in := inboundPacket{packet: packet, arrival: time.Now()}
		in.input = forwarderInput{layer: layer.index, sequence: packet.SequenceNumber, timestamp: packet.Timestamp}
		layer.stats.observe(packet.SequenceNumber, packet.Timestamp, len(packet.Payload), in.arrival)

		switch {
		case isVP8 && len(packet.Payload) > 0:
			descriptor, err := parseVP8(packet.Payload)
			if err != nil {
				continue
			}
			in.vp8 = descriptor
			in.input.vp8 = &in.vp8
			in.input.keyframe = descriptor.keyframe
			if descriptor.width > 0 && descriptor.height > 0 {
				layer.width.Store(int32(descriptor.width))
				layer.height.Store(int32(descriptor.height))
			}
		case isH264:
			in.input.keyframe = h264Keyframe(packet.Payload)
		case audioLevelID != 0:
			if level := packet.GetExtension(audioLevelID); len(level) == 1 {
				in.audioLevel, in.hasAudioLevel = level[0], true
			}
		}

		if pub.blocked.Load() {
			continue
		}
		if in.hasAudioLevel && onAudioLevel != nil {
			onAudioLevel(in.audioLevel&0x7f, in.arrival)
		}
		for _, dt := range *pub.downTracks.Load() {
			dt.forward(&in)
		}
	}
}

// drainRTCP reads the RTCP a layer's sender sends (sender reports), so that
// the receiver-report interceptor sees them, until the stream ends.
func (pub *publication) drainRTCP(layer *layerReceiver) {
	for {
		var err error
		if pub.simulcast {
			_, _, err = layer.receiver.ReadSimulcastRTCP(layer.rid)
		} else {
			_, _, err = layer.receiver.ReadRTCP()
		}
		if err != nil && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || pub.isClosed()) {
			return
		}
	}
}
