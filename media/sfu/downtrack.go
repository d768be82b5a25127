package sfu

import (
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// downTrack carries one publication to one subscriber: the
// webrtc.TrackLocal bound to its own sender, with its own SSRC, on its own
// m= line of the subscribe connection.
type downTrack struct {
	subscriber  *subscriber
	pub         *publication
	transceiver *webrtc.RTPTransceiver
	sender      *webrtc.RTPSender

	binding atomic.Pointer[trackBinding] // set while pion has the track bound

	mu         sync.Mutex
	forwarding bool // the subscriber answered the offer that added it
	forwarder  *forwarder
}

// trackBinding is what pion gave the track when binding it to the sender.
type trackBinding struct {
	ssrc         uint32
	payloadType  uint8
	audioLevelID uint8
	writeStream  webrtc.TrackLocalWriter
}

// outboundPacket is a packet on its way from a down track to the network.
type outboundPacket struct {
	track         *downTrack
	header        rtp.Header
	payload       []byte
	buffer        *[]byte // from payloadBuffers when the payload was rewritten
	audioLevel    byte
	hasAudioLevel bool
}

// payloadBuffers holds buffers for payloads a down track rewrites.
var payloadBuffers = sync.Pool{New: func() any {
	buffer := make([]byte, 1500)
	return &buffer
}}

func newDownTrack(s *subscriber, pub *publication) *downTrack {
	return &downTrack{
		subscriber: s,
		pub:        pub,
		forwarder:  newForwarder(pub.codec.ClockRate, pub.isVideo()),
	}
}

// ID is the msid track id: the source.
func (dt *downTrack) ID() string { return string(dt.pub.source) }

// StreamID is the msid stream id: the publisher's participant id.
func (dt *downTrack) StreamID() string { return dt.pub.participant }

// RID is empty: a subscriber receives one layer.
func (dt *downTrack) RID() string { return "" }

// Kind is audio or video.
func (dt *downTrack) Kind() webrtc.RTPCodecType { return dt.pub.kind }

// Bind is called by pion when the sender starts or gets this track back.
func (dt *downTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	want := dt.pub.codec
	for _, codec := range ctx.CodecParameters() {
		if !strings.EqualFold(codec.MimeType, want.MimeType) {
			continue
		}
		if strings.EqualFold(codec.MimeType, webrtc.MimeTypeH264) && !h264Compatible(codec.SDPFmtpLine, want.SDPFmtpLine) {
			continue
		}
		binding := &trackBinding{
			ssrc:        uint32(ctx.SSRC()),
			payloadType: uint8(codec.PayloadType),
			writeStream: ctx.WriteStream(),
		}
		for _, extension := range ctx.HeaderExtensions() {
			if extension.URI == sdp.AudioLevelURI {
				binding.audioLevelID = uint8(extension.ID)
			}
		}
		dt.binding.Store(binding)
		return codec, nil
	}
	return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
}

// Unbind is called by pion when the sender stops or lets go of the track.
func (dt *downTrack) Unbind(webrtc.TrackLocalContext) error {
	dt.binding.Store(nil)
	return nil
}

// stopForwarding silences the down track for good.
func (dt *downTrack) stopForwarding() {
	dt.mu.Lock()
	defer dt.mu.Unlock()
	dt.forwarding = false
}

// activate lets packets flow once the subscriber has the m= line. Audio
// starts at once; video waits for the allocator to choose a layer.
func (dt *downTrack) activate() {
	dt.mu.Lock()
	defer dt.mu.Unlock()
	if dt.forwarding {
		return
	}
	dt.forwarding = true
	if !dt.pub.isVideo() {
		dt.forwarder.setTarget(0)
	}
}

// setTarget chooses the layer to forward (noLayer: nothing) and asks the
// publisher for the keyframe a switch waits for.
func (dt *downTrack) setTarget(layer int) {
	dt.mu.Lock()
	if !dt.forwarding {
		dt.mu.Unlock()
		return
	}
	dt.forwarder.setTarget(layer)
	pending := dt.forwarder.switchPending()
	dt.mu.Unlock()
	if pending {
		dt.pub.requestKeyframe(layer)
	}
}

// interrupt makes forwarding begin afresh with the next packet it may use.
func (dt *downTrack) interrupt() {
	dt.mu.Lock()
	defer dt.mu.Unlock()
	dt.forwarder.interrupt()
}

// requestKeyframe asks the publisher for a keyframe of the layer this down
// track forwards or waits for.
func (dt *downTrack) requestKeyframe() {
	dt.mu.Lock()
	layer := dt.forwarder.target
	dt.mu.Unlock()
	if layer != noLayer {
		dt.pub.requestKeyframe(layer)
	}
}

// forwardedLayer is the rid of the layer being sent, "" for none or for a
// track without layers.
func (dt *downTrack) forwardedLayer() string {
	dt.mu.Lock()
	defer dt.mu.Unlock()
	if !dt.pub.simulcast {
		return ""
	}
	return layerName(dt.forwarder.current)
}

// forward offers an incoming packet to the down track, which queues it for
// its subscriber if it is to go out.
func (dt *downTrack) forward(in *inboundPacket) {
	dt.mu.Lock()
	defer dt.mu.Unlock()
	if !dt.forwarding {
		return
	}
	decision, ok := dt.forwarder.forward(in.input, in.arrival)
	if !ok {
		return
	}
	if decision.began && dt.pub.simulcast {
		dt.subscriber.log.Debug("forwarding layer", "track", dt.pub.id, "layer", layerName(in.input.layer))
	}
	out := outboundPacket{
		track:         dt,
		header:        in.packet.Header,
		payload:       in.packet.Payload,
		audioLevel:    in.audioLevel,
		hasAudioLevel: in.hasAudioLevel,
	}
	out.header.SequenceNumber = decision.sequence
	out.header.Timestamp = decision.timestamp
	// The publisher's extensions use the publish connection's IDs; only
	// the audio level is sent on, under the subscribe connection's ID.
	out.header.Extension, out.header.ExtensionProfile, out.header.Extensions = false, 0, nil
	if decision.rewriteVP8 {
		out.buffer = payloadBuffers.Get().(*[]byte)
		if cap(*out.buffer) < len(out.payload) {
			*out.buffer = make([]byte, len(out.payload))
		}
		rewritten := (*out.buffer)[:len(out.payload)]
		copy(rewritten, out.payload)
		in.vp8.rewrite(rewritten, decision.pictureID, decision.tl0PicIdx)
		out.payload = rewritten
	}
	dt.subscriber.enqueue(out)
}

// write sends a queued packet through pion, with the writer's memory
// for its extension.
func (dt *downTrack) write(out *outboundPacket, w *packetWriter) {
	binding := dt.binding.Load()
	if binding == nil {
		return
	}
	out.header.SSRC = binding.ssrc
	out.header.PayloadType = binding.payloadType
	if out.hasAudioLevel && binding.audioLevelID != 0 {
		w.level[0] = out.audioLevel
		out.header.Extensions = w.extensions[:0]
		_ = out.header.SetExtension(binding.audioLevelID, w.level[:])
	}
	n, err := binding.writeStream.WriteRTP(&out.header, out.payload)
	if err != nil && !errors.Is(err, io.ErrClosedPipe) {
		dt.subscriber.log.Debug("write rtp", "track", dt.ID(), "err", err)
	}
	dt.subscriber.counts.packetsOut.Add(1)
	dt.subscriber.counts.bytesOut.Add(uint64(n))
}

// readRTCP reads the subscriber's RTCP for this down track until its
// sender stops. Reading is what lets the NACK responder answer; picture loss and
// full intra requests go on to the publisher.
func (dt *downTrack) readRTCP() {
	for {
		packets, _, err := dt.sender.ReadRTCP()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || dt.subscriber.isClosed() {
				return
			}
			continue
		}
		for _, packet := range packets {
			switch packet.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				dt.requestKeyframe()
			case *rtcp.TransportLayerNack:
				dt.subscriber.counts.nacks.Add(1)
			}
		}
	}
}
