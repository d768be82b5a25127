package participant

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/parleyhq/parley/server/protocol"
)

const audioLevelURI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

// RTP clock rates of the codecs sent.
const (
	videoClock = 90000
	audioClock = 48000
)

// rtpMTU is the largest RTP packet sent, well below common path MTUs.
const rtpMTU = 1200

// videoLayer is one simulcast layer of the camera (or the only one).
type videoLayer struct {
	rid    string // "" without simulcast
	track  *webrtc.TrackLocalStaticRTP
	source VideoSource
	packet rtp.Packetizer
}

// simulcastIDs are the negotiated ids of the extensions that tell the
// receiver which m= line (mid) and layer (rid) a packet belongs to: pion
// does not add them for us, and without them the receiver cannot tell the
// layers apart.
type simulcastIDs struct {
	mid, rid uint8
	midValue string
}

type audioSender struct {
	track  *webrtc.TrackLocalStaticRTP
	source AudioSource
	packet rtp.Packetizer
	extID  uint8 // negotiated id of the audio-level extension; 0 if none
}

// gate is a published source's mute switch. While it is muted the senders
// take nothing from the source, which then idles (an encoder encodes
// nothing); the time spent muted is skipped in RTP timestamps.
type gate struct {
	mu         sync.Mutex
	muted      bool
	mutedAt    time.Time
	mutedTotal time.Duration // over every mute so far
	unmuted    chan struct{} // closed when muted turns false
}

func newGate(muted bool) *gate {
	g := &gate{unmuted: make(chan struct{})}
	if muted {
		g.muted, g.mutedAt = true, time.Now()
	} else {
		close(g.unmuted)
	}
	return g
}

func (g *gate) set(muted bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if muted == g.muted {
		return
	}
	g.muted = muted
	if muted {
		g.mutedAt = time.Now()
		g.unmuted = make(chan struct{})
		return
	}
	g.mutedTotal += time.Since(g.mutedAt)
	close(g.unmuted)
}

func (g *gate) isMuted() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.muted
}

// waitOpen blocks while muted and returns the total time muted so far.
func (g *gate) waitOpen(ctx context.Context) (time.Duration, error) {
	for {
		g.mu.Lock()
		muted, unmuted, total := g.muted, g.unmuted, g.mutedTotal
		g.mu.Unlock()
		if !muted {
			return total, nil
		}
		select {
		case <-unmuted:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// makeVideoSources returns the camera's layers: the caller's, or synthetic
// ones as Options.Video asks.
func (p *Participant) makeVideoSources() []VideoSource {
	if len(p.opts.VideoLayers) > 0 {
		return p.opts.VideoLayers
	}
	if !p.opts.Video {
		return nil
	}
	if !p.opts.Simulcast {
		return []VideoSource{SynthVideo(p.opts.Width, p.opts.Height, p.opts.FPS)}
	}
	var layers []VideoSource
	for _, scale := range []int{4, 2, 1} { // q = 1/4, h = 1/2, f = 1
		layers = append(layers, SynthVideo(max(p.opts.Width/scale, 16), max(p.opts.Height/scale, 16), p.opts.FPS))
	}
	return layers
}

func (p *Participant) makeAudioSource() AudioSource {
	if p.opts.AudioSource != nil {
		return p.opts.AudioSource
	}
	if !p.opts.Audio {
		return nil
	}
	return SynthAudio(p.opts.Speaking)
}

func (p *Participant) addAudio(source AudioSource) (*webrtc.RTPTransceiver, error) {
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: audioClock, Channels: 2},
		protocol.Microphone, p.you.ID)
	if err != nil {
		return nil, fmt.Errorf("audio track: %w", err)
	}
	transceiver, err := p.publish.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return nil, fmt.Errorf("audio transceiver: %w", err)
	}
	p.audio = &audioSender{track: track, source: source,
		packet: rtp.NewPacketizer(rtpMTU, 0, 0, &codecs.OpusPayloader{}, rtp.NewRandomSequencer(), audioClock)}
	return transceiver, nil
}

// addVideo adds the camera's transceiver: one layer, or three simulcast
// layers q, h and f as the protocol asks.
func (p *Participant) addVideo(sources []VideoSource) (*webrtc.RTPTransceiver, error) {
	var rids []string
	switch len(sources) {
	case 1:
		rids = []string{""}
	case 3:
		rids = []string{"q", "h", "f"}
	default:
		return nil, fmt.Errorf("video: %d layers; want 1, or 3 for simulcast", len(sources))
	}
	capability := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: videoClock}
	newPayloader := func() rtp.Payloader { return &codecs.VP8Payloader{EnablePictureID: true} }
	if p.opts.VideoH264 != "" {
		if len(sources) != 1 {
			return nil, errors.New("video: H.264 is sent in one layer")
		}
		capability = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: videoClock, SDPFmtpLine: p.opts.VideoH264}
		newPayloader = func() rtp.Payloader { return &codecs.H264Payloader{} }
	}
	var transceiver *webrtc.RTPTransceiver
	for i, rid := range rids {
		var options []func(*webrtc.TrackLocalStaticRTP)
		if rid != "" {
			options = append(options, webrtc.WithRTPStreamID(rid))
		}
		track, err := webrtc.NewTrackLocalStaticRTP(capability, protocol.Camera, p.you.ID, options...)
		if err != nil {
			return nil, fmt.Errorf("video track: %w", err)
		}
		p.videoLayers = append(p.videoLayers, &videoLayer{rid: rid, track: track, source: sources[i],
			packet: rtp.NewPacketizer(rtpMTU, 0, 0, newPayloader(), rtp.NewRandomSequencer(), videoClock)})
		if i == 0 {
			if transceiver, err = p.publish.AddTransceiverFromTrack(track,
				webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
				return nil, fmt.Errorf("video transceiver: %w", err)
			}
			continue
		}
		if err := transceiver.Sender().AddEncoding(track); err != nil {
			return nil, fmt.Errorf("simulcast layer %s: %w", rid, err)
		}
	}
	return transceiver, nil
}

// startAudio starts sending once the publish connection is negotiated.
func (p *Participant) startAudio(ctx context.Context, transceiver *webrtc.RTPTransceiver) {
	for _, ext := range transceiver.Sender().GetParameters().HeaderExtensions {
		if ext.URI == audioLevelURI {
			p.audio.extID = uint8(ext.ID)
		}
	}
	p.workers.Go(func() { p.sendAudio(ctx) })
}

func (p *Participant) startVideo(ctx context.Context, transceiver *webrtc.RTPTransceiver) {
	parameters := transceiver.Sender().GetParameters()
	p.simulcast.midValue = transceiver.Mid()
	for _, ext := range parameters.HeaderExtensions {
		switch ext.URI {
		case "urn:ietf:params:rtp-hdrext:sdes:mid":
			p.simulcast.mid = uint8(ext.ID)
		case "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id":
			p.simulcast.rid = uint8(ext.ID)
		}
	}
	for _, l := range p.videoLayers {
		p.workers.Go(func() { p.sendVideo(ctx, l) })
		p.workers.Go(func() { p.readRTCP(transceiver.Sender(), l) })
	}
}

func (p *Participant) sendAudio(ctx context.Context) {
	var skipped time.Duration
	gate := p.gates[protocol.Microphone]
	for {
		mutedTotal, err := gate.waitOpen(ctx)
		if err != nil {
			return
		}
		if pause := mutedTotal - skipped; pause > 0 {
			p.audio.packet.SkipSamples(uint32(pause.Seconds() * audioClock))
			skipped = mutedTotal
		}
		packet, duration, level, voice, err := p.audio.source.NextPacket(ctx)
		if err != nil {
			p.sourceEnded(ctx, protocol.Microphone, err)
			return
		}
		if gate.isMuted() {
			continue // muted while the source was busy
		}
		if voice {
			level |= 0x80 // RFC 6464: the V bit marks voice, then the level in -dBov
		}
		for _, pkt := range p.audio.packet.Packetize(packet, uint32(duration.Seconds()*audioClock)) {
			if p.audio.extID != 0 {
				_ = pkt.Header.SetExtension(p.audio.extID, []byte{level})
			}
			// A write fails only while the connection is not up yet or
			// closing; the next packet tries again.
			_ = p.audio.track.WriteRTP(pkt)
		}
	}
}

func (p *Participant) sendVideo(ctx context.Context, l *videoLayer) {
	var skipped time.Duration
	gate := p.gates[protocol.Camera]
	for {
		mutedTotal, err := gate.waitOpen(ctx)
		if err != nil {
			return
		}
		if pause := mutedTotal - skipped; pause > 0 {
			// Receivers decoded nothing meanwhile and need a fresh start.
			l.packet.SkipSamples(uint32(pause.Seconds() * videoClock))
			l.source.RequestKeyframe()
			skipped = mutedTotal
		}
		frame, _, duration, err := l.source.NextFrame(ctx)
		if err != nil {
			p.sourceEnded(ctx, protocol.Camera, err)
			return
		}
		if gate.isMuted() {
			continue
		}
		for _, pkt := range l.packet.Packetize(frame, uint32(duration.Seconds()*videoClock)) {
			if l.rid != "" && p.simulcast.rid != 0 {
				_ = pkt.Header.SetExtension(p.simulcast.rid, []byte(l.rid))
				if p.simulcast.mid != 0 {
					_ = pkt.Header.SetExtension(p.simulcast.mid, []byte(p.simulcast.midValue))
				}
			}
			_ = l.track.WriteRTP(pkt)
		}
	}
}

// sourceEnded logs a source that stopped before the participant did.
func (p *Participant) sourceEnded(ctx context.Context, source string, err error) {
	if ctx.Err() == nil && !errors.Is(err, ErrSourceClosed) {
		p.logger.Warn("media source failed; no longer sending it", slog.String("source", source), slog.Any("error", err))
	}
}

// readRTCP reads a layer's RTCP, which is also what lets the NACK
// responder resend lost packets, and answers picture loss with a
// keyframe. pion keeps each simulcast layer's RTCP apart.
func (p *Participant) readRTCP(sender *webrtc.RTPSender, l *videoLayer) {
	buffer := make([]byte, 1500)
	for {
		var n int
		var err error
		if l.rid == "" {
			n, _, err = sender.Read(buffer)
		} else {
			n, _, err = sender.ReadSimulcast(buffer, l.rid)
		}
		if err != nil {
			return // the connection closed
		}
		packets, err := rtcp.Unmarshal(buffer[:n])
		if err != nil {
			continue
		}
		for _, packet := range packets {
			switch packet.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				l.source.RequestKeyframe()
			}
		}
	}
}

// Mute stops (or restarts) sending a source, microphone or camera, and
// tells the server, which tells everyone. Muting takes effect here first;
// unmuting only once the server agreed (it refuses, with a forbidden
// error, while a moderator forces the source off).
func (p *Participant) Mute(ctx context.Context, source string, muted bool) error {
	gate := p.gates[source]
	if gate == nil {
		return fmt.Errorf("mute %s: not publishing it", source)
	}
	if muted {
		gate.set(true)
	}
	if _, err := p.signal.Request(ctx, "mute", &protocol.Mute{Source: source, Muted: muted}); err != nil {
		return fmt.Errorf("mute %s: %w", source, err)
	}
	if !muted {
		gate.set(false)
	}
	return nil
}

// Muted says whether a published source is muted now, by this participant
// or a moderator.
func (p *Participant) Muted(source string) bool {
	gate := p.gates[source]
	return gate != nil && gate.isMuted()
}
