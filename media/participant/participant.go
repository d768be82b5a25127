// Package participant is a headless conference participant in Go: it joins
// through the public signalling protocol (server/client), publishes
// synthetic VP8 video (simulcast) and Opus audio from media/synth with
// pion/webrtc, receives everyone else's media and counts it. Tests use it
// as a peer that needs no browser; the benchmark runs many of them.
package participant

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/parleyhq/parley/media/synth"
	"github.com/parleyhq/parley/server/client"
	"github.com/parleyhq/parley/server/protocol"
)

// Options choose what the participant sends.
type Options struct {
	Name      string // for guests
	PIN       string
	Audio     bool
	Video     bool
	Width     int  // full layer; default 640
	Height    int  // default 360
	FPS       int  // default 15
	Simulcast bool // three layers q, h, f
	Speaking  bool // audio level loud instead of silent
	// Loopback adds loopback ICE candidates, for servers on loopback.
	Loopback bool
	Logger   *slog.Logger
}

// Participant is one joined participant.
type Participant struct {
	opts   Options
	signal *client.Signal
	logger *slog.Logger

	you    protocol.Participant
	joined *protocol.Joined

	publish   *webrtc.PeerConnection
	subscribe *webrtc.PeerConnection

	mu       sync.Mutex
	tracks   map[string]protocol.RemoteTrack // mid -> what it carries
	received map[string]*Counter             // "<participant>/<source>" -> counts
	events   []client.Incoming

	videoLayers []*layer
	simulcast   simulcastIDs
	audio       *audioSender

	stop    chan struct{}
	workers sync.WaitGroup
	closed  atomic.Bool
}

// Counter counts what arrives on one remote track.
type Counter struct {
	Packets atomic.Int64
	Bytes   atomic.Int64
	First   atomic.Int64 // unix nanoseconds of the first packet
}

type layer struct {
	rid    string
	track  *webrtc.TrackLocalStaticRTP
	video  *synth.Video
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
	audio  *synth.Audio
	packet rtp.Packetizer
	extID  atomic.Uint32 // negotiated id of the audio-level extension
}

const audioLevelURI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

func newAPI(loopback bool) (*webrtc.API, error) {
	media := &webrtc.MediaEngine{}
	if err := media.RegisterDefaultCodecs(); err != nil {
		return nil, fmt.Errorf("register codecs: %w", err)
	}
	for _, uri := range []string{"urn:ietf:params:rtp-hdrext:sdes:mid", "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
		"urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"} {
		if err := media.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, fmt.Errorf("register %s: %w", uri, err)
		}
	}
	if err := media.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: audioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("register audio level: %w", err)
	}
	registry := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(media, registry); err != nil {
		return nil, fmt.Errorf("register interceptors: %w", err)
	}
	var settings webrtc.SettingEngine
	settings.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if loopback {
		// A server on loopback: gather nothing else, so that tests send no
		// packet beyond this machine's loopback interface.
		settings.SetIncludeLoopbackCandidate(true)
		settings.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(media), webrtc.WithInterceptorRegistry(registry), webrtc.WithSettingEngine(settings)), nil
}

// Join joins a conference with the client's session (or as a guest named
// opts.Name) and starts publishing. If the conference has a lobby, Join
// waits there until admitted or ctx ends.
func Join(ctx context.Context, c *client.Client, cid string, opts Options) (*Participant, error) {
	if opts.Width == 0 {
		opts.Width, opts.Height = 640, 360
	}
	if opts.FPS == 0 {
		opts.FPS = 15
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	signal, err := c.Signal(ctx)
	if err != nil {
		return nil, err
	}
	p := &Participant{opts: opts, signal: signal, logger: opts.Logger, tracks: map[string]protocol.RemoteTrack{},
		received: map[string]*Counter{}, stop: make(chan struct{})}
	if err := p.join(ctx, cid); err != nil {
		signal.Close()
		return nil, err
	}
	if err := p.connect(ctx); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func (p *Participant) join(ctx context.Context, cid string) error {
	answer, err := p.signal.Request(ctx, "join", &protocol.Join{Conference: cid, Name: p.opts.Name, PIN: p.opts.PIN})
	if err != nil {
		return err
	}
	if joined, ok := answer.(*protocol.Joined); ok {
		p.joined, p.you = joined, joined.You
		return nil
	}
	// In the lobby: wait for joined (or refused).
	for {
		select {
		case in, ok := <-p.signal.Events():
			if !ok {
				return fmt.Errorf("connection closed in the lobby: %w", p.signal.Err())
			}
			switch event := in.Event.(type) {
			case *protocol.Joined:
				p.joined, p.you = event, event.You
				return nil
			case *protocol.Refused:
				return fmt.Errorf("refused from the lobby; retry after %d s", event.RetryAfter)
			case *protocol.Ended:
				return fmt.Errorf("the conference ended: %s", event.Reason)
			}
		case <-ctx.Done():
			return fmt.Errorf("waiting in the lobby: %w", ctx.Err())
		}
	}
}

// ID is the participant's id in the conference.
func (p *Participant) ID() string { return p.you.ID }

// Joined is the state the server sent on entry.
func (p *Participant) Joined() *protocol.Joined { return p.joined }

// Signal is the participant's signalling connection, for requests tests
// make beyond media.
func (p *Participant) Signal() *client.Signal { return p.signal }

func (p *Participant) connect(ctx context.Context) error {
	api, err := newAPI(p.opts.Loopback)
	if err != nil {
		return err
	}
	config := webrtc.Configuration{ICEServers: p.joined.ICEServers, BundlePolicy: webrtc.BundlePolicyMaxBundle}
	if p.subscribe, err = api.NewPeerConnection(config); err != nil {
		return fmt.Errorf("subscribe connection: %w", err)
	}
	p.subscribe.OnICECandidate(p.trickle("subscribe"))
	p.subscribe.OnTrack(p.receive)
	p.workers.Go(p.handleEvents)

	if !p.opts.Audio && !p.opts.Video {
		return nil
	}
	if p.publish, err = api.NewPeerConnection(config); err != nil {
		return fmt.Errorf("publish connection: %w", err)
	}
	p.publish.OnICECandidate(p.trickle("publish"))
	var tracks []protocol.TrackInfo
	var audioTransceiver, videoTransceiver *webrtc.RTPTransceiver
	if p.opts.Audio {
		if audioTransceiver, err = p.addAudio(); err != nil {
			return err
		}
	}
	if p.opts.Video {
		if videoTransceiver, err = p.addVideo(); err != nil {
			return err
		}
	}
	offer, err := p.publish.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("publish offer: %w", err)
	}
	if err := p.publish.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("publish offer: %w", err)
	}
	if audioTransceiver != nil {
		tracks = append(tracks, protocol.TrackInfo{Mid: audioTransceiver.Mid(), Source: protocol.Microphone})
	}
	if videoTransceiver != nil {
		tracks = append(tracks, protocol.TrackInfo{Mid: videoTransceiver.Mid(), Source: protocol.Camera})
	}
	answer, err := p.signal.Request(ctx, "publish", &protocol.Publish{SDP: offer.SDP, Tracks: tracks})
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if err := p.publish.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer,
		SDP: answer.(*protocol.PublishAnswer).SDP}); err != nil {
		return fmt.Errorf("publish answer: %w", err)
	}
	if audioTransceiver != nil {
		p.audio.findExtension(audioTransceiver.Sender())
		p.workers.Go(p.sendAudio)
	}
	if videoTransceiver != nil {
		p.simulcast.midValue = videoTransceiver.Mid()
		for _, ext := range videoTransceiver.Sender().GetParameters().HeaderExtensions {
			switch ext.URI {
			case "urn:ietf:params:rtp-hdrext:sdes:mid":
				p.simulcast.mid = uint8(ext.ID)
			case "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id":
				p.simulcast.rid = uint8(ext.ID)
			}
		}
		p.workers.Go(p.sendVideo)
		p.workers.Go(func() { p.readRTCP(videoTransceiver.Sender()) })
	}
	return nil
}

func (p *Participant) addAudio() (*webrtc.RTPTransceiver, error) {
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2},
		protocol.Microphone, p.you.ID)
	if err != nil {
		return nil, fmt.Errorf("audio track: %w", err)
	}
	transceiver, err := p.publish.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return nil, fmt.Errorf("audio transceiver: %w", err)
	}
	audio := synth.NewAudio()
	audio.SetSpeaking(p.opts.Speaking)
	p.audio = &audioSender{track: track, audio: audio,
		packet: rtp.NewPacketizer(1200, 0, 0, &codecs.OpusPayloader{}, rtp.NewRandomSequencer(), 48000)}
	return transceiver, nil
}

func (a *audioSender) findExtension(sender *webrtc.RTPSender) {
	for _, ext := range sender.GetParameters().HeaderExtensions {
		if ext.URI == audioLevelURI {
			a.extID.Store(uint32(ext.ID))
		}
	}
}

func (p *Participant) addVideo() (*webrtc.RTPTransceiver, error) {
	rids := []string{""}
	if p.opts.Simulcast {
		rids = []string{"q", "h", "f"}
	}
	capability := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
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
		scale := 1 << (len(rids) - 1 - i) // q = 1/4, h = 1/2, f = 1
		video := synth.NewVideo(max(p.opts.Width/scale, 16), max(p.opts.Height/scale, 16), p.opts.FPS)
		p.videoLayers = append(p.videoLayers, &layer{rid: rid, track: track, video: video,
			packet: rtp.NewPacketizer(1200, 0, 0, &codecs.VP8Payloader{EnablePictureID: true}, rtp.NewRandomSequencer(), 90000)})
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

func (p *Participant) sendAudio() {
	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-ticker.C:
		}
		packet, _ := p.audio.audio.Next()
		for _, pkt := range p.audio.packet.Packetize(packet, 960) {
			if id := p.audio.extID.Load(); id != 0 {
				// RFC 6464: the V bit marks voice, then the level in -dBov.
				level := p.audio.audio.Level()
				if p.opts.Speaking {
					level |= 0x80
				}
				_ = pkt.Header.SetExtension(uint8(id), []byte{level})
			}
			// A write fails only while the connection is not up yet or
			// closing; the next packet tries again.
			_ = p.audio.track.WriteRTP(pkt)
		}
	}
}

func (p *Participant) sendVideo() {
	ticker := time.NewTicker(time.Second / time.Duration(p.opts.FPS))
	defer ticker.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-ticker.C:
		}
		for _, l := range p.videoLayers {
			frame, _, _ := l.video.Next()
			for _, pkt := range l.packet.Packetize(frame, uint32(90000/p.opts.FPS)) {
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
}

// readRTCP answers picture-loss requests with keyframes.
func (p *Participant) readRTCP(sender *webrtc.RTPSender) {
	for {
		packets, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, packet := range packets {
			switch packet.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				for _, l := range p.videoLayers {
					l.video.RequestKeyframe()
				}
			}
		}
	}
}

func (p *Participant) trickle(target string) func(*webrtc.ICECandidate) {
	return func(candidate *webrtc.ICECandidate) {
		if p.closed.Load() {
			return
		}
		message := &protocol.Candidate{Target: target}
		if candidate != nil {
			init := candidate.ToJSON()
			message.Candidate = &init
		}
		message.Type = "candidate"
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.signal.Send(ctx, message)
	}
}

// handleEvents handles what the server sends: subscribe offers, candidates, and
// everything else kept for tests.
func (p *Participant) handleEvents() {
	for in := range p.signal.Events() {
		switch event := in.Event.(type) {
		case *protocol.SubscribeOffer:
			if err := p.answerSubscribe(event); err != nil {
				p.logger.Warn("subscribe offer", slog.Any("error", err))
			}
		case *protocol.ServerCandidate:
			pc := p.subscribe
			if event.Target == "publish" {
				pc = p.publish
			}
			if pc != nil && event.Candidate != nil {
				if err := pc.AddICECandidate(*event.Candidate); err != nil {
					p.logger.Debug("add candidate", slog.Any("error", err))
				}
			}
		default:
			p.mu.Lock()
			if len(p.events) < 10000 {
				p.events = append(p.events, in)
			}
			p.mu.Unlock()
		}
	}
}

func (p *Participant) answerSubscribe(offer *protocol.SubscribeOffer) error {
	p.mu.Lock()
	for _, t := range offer.Tracks {
		p.tracks[t.Mid] = t
	}
	p.mu.Unlock()
	if err := p.subscribe.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer.SDP}); err != nil {
		return err
	}
	answer, err := p.subscribe.CreateAnswer(nil)
	if err != nil {
		return err
	}
	if err := p.subscribe.SetLocalDescription(answer); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return p.signal.Send(ctx, &protocol.SubscribeAnswer{Envelope: protocol.Envelope{Type: "subscribe_answer"}, SDP: answer.SDP})
}

// receive counts the packets of a remote track.
func (p *Participant) receive(track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	key := track.StreamID() + "/" + track.ID()
	p.mu.Lock()
	counter := p.received[key]
	if counter == nil {
		counter = &Counter{}
		p.received[key] = counter
	}
	p.mu.Unlock()
	buffer := make([]byte, 1500)
	for {
		n, _, err := track.Read(buffer)
		if err != nil {
			return
		}
		if counter.Packets.Add(1) == 1 {
			counter.First.Store(time.Now().UnixNano())
		}
		counter.Bytes.Add(int64(n))
	}
}

// Received returns the counts of media from a participant's source.
func (p *Participant) Received(participant, source string) (packets, bytes int64) {
	p.mu.Lock()
	counter := p.received[participant+"/"+source]
	p.mu.Unlock()
	if counter == nil {
		return 0, 0
	}
	return counter.Packets.Load(), counter.Bytes.Load()
}

// FirstPacket is when the first packet from a participant's source came.
func (p *Participant) FirstPacket(participant, source string) time.Time {
	p.mu.Lock()
	counter := p.received[participant+"/"+source]
	p.mu.Unlock()
	if counter == nil || counter.First.Load() == 0 {
		return time.Time{}
	}
	return time.Unix(0, counter.First.Load())
}

// Events returns what the server sent that the participant did not handle
// itself (chat, participant updates...), oldest first.
func (p *Participant) Events() []client.Incoming {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]client.Incoming(nil), p.events...)
}

// SetLayer asks for the layer of a remote video that fits a tile.
func (p *Participant) SetLayer(ctx context.Context, participant string, width, height int) error {
	_, err := p.signal.Request(ctx, "layer", &protocol.Layer{Track: participant + "/" + protocol.Camera, Width: width, Height: height})
	return err
}

// Close leaves: media stops, both connections and the signalling close.
func (p *Participant) Close() {
	if p.closed.Swap(true) {
		return
	}
	close(p.stop)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_, _ = p.signal.Request(ctx, "leave", &protocol.Leave{})
	cancel()
	for _, pc := range []*webrtc.PeerConnection{p.publish, p.subscribe} {
		if pc != nil {
			_ = pc.Close()
		}
	}
	p.signal.Close()
	p.workers.Wait()
}
