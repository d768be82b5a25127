// Package participant is a conference participant in Go: it joins through
// the public signalling protocol (server/client) and, with pion/webrtc,
// publishes VP8 video (simulcast) or a single H.264 stream and Opus audio
// from sources and hands everyone else's media, counted, to a sink.
//
// The sources are interfaces: the desktop app plugs in a camera and a
// microphone (media/capture), while tests and the benchmark send
// media/synth's synthetic media (SynthVideo, SynthAudio), which is what
// Options.Video and Options.Audio ask for. The package needs no cgo.
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
	"github.com/pion/webrtc/v4"

	"github.com/parleyhq/parley/media/pionlog"
	"github.com/parleyhq/parley/server/client"
	"github.com/parleyhq/parley/server/protocol"
)

// Options choose what the participant sends and where what it receives
// goes.
type Options struct {
	Name string // for guests
	PIN  string
	// Phone makes the participant a telephone caller; only the SIP
	// gateway's client may join so.
	Phone *protocol.Phone
	// Muted sources start muted: nothing is sent until Mute unmutes them,
	// and nobody sees them on for a moment.
	Muted protocol.Sources

	// VideoLayers is the camera: one VP8 source, or three for simulcast
	// (q, h, f: quarter, half and full resolution, as the protocol asks).
	// AudioSource is the microphone. The participant closes both when it
	// closes (or fails to join).
	VideoLayers []VideoSource
	AudioSource AudioSource
	// VideoH264, if set, says the one layer of VideoLayers is H.264 (a
	// phone's, forwarded as it came) with this fmtp line, one the
	// server takes (packetization-mode=1 and a constrained baseline or
	// baseline profile-level-id); the frames are Annex B access units.
	VideoH264 string

	// Without VideoLayers or AudioSource, Video and Audio send synthetic
	// media (SynthVideo, SynthAudio), as tests and the benchmark do.
	Audio     bool
	Video     bool
	Width     int  // full layer; default 640
	Height    int  // default 360
	FPS       int  // default 15
	Simulcast bool // three layers q, h, f
	Speaking  bool // audio level loud instead of silent

	// Sink, if set, takes the packets of every remote track; the packets
	// are counted either way (Received).
	Sink Sink

	// OnEvent, if set, hears every server message the participant does not
	// handle itself, in order from one goroutine: the answer to the join
	// (lobby or joined), what comes while waiting in the lobby, then chat,
	// people, moderation... and a final Disconnected when the signalling
	// connection ends without Close. A meeting window follows the
	// conference through it.
	OnEvent func(event any)

	// Loopback adds loopback ICE candidates, for servers on loopback.
	Loopback bool
	Logger   *slog.Logger
}

// Disconnected is the last event when the signalling connection ended
// without Close: the server went away, or removed the participant.
type Disconnected struct {
	Err error
}

// Participant is one joined participant.
type Participant struct {
	opts   Options
	signal *client.Signal
	logger *slog.Logger

	you    protocol.Participant
	joined *protocol.Joined

	publish   *webrtc.PeerConnection // set under mu: the event loop reads it
	subscribe *webrtc.PeerConnection

	mu sync.Mutex
	// early holds the server's candidates that came before the remote
	// description they belong to, by target: added then, not dropped (in
	// relay-only meetings they are what the TURN permissions are made for).
	early    map[string][]webrtc.ICECandidateInit
	tracks   map[string]protocol.RemoteTrack // mid -> what it carries
	received map[string]*remoteTrack         // "<participant>/<source>"
	events   []client.Incoming
	closing  bool

	videoSources []VideoSource // what it was given or made, to close
	audioSource  AudioSource
	videoLayers  []*videoLayer
	simulcast    simulcastIDs
	audio        *audioSender
	gates        map[string]*gate // per published source; fixed after Join

	cancel    context.CancelFunc // ends the senders
	workers   sync.WaitGroup
	receivers sync.WaitGroup
	closed    atomic.Bool
}

func newAPI(loopback bool, logger *slog.Logger) (*webrtc.API, error) {
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
	// pion's own messages go to the participant's logger; a meeting that
	// ends mid-packet is no error of the program's.
	settings := webrtc.SettingEngine{LoggerFactory: pionlog.Factory{Logger: logger, ErrorLevel: slog.LevelWarn}}
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
// waits there until admitted or ctx ends. The sources in opts are the
// participant's from then on, even when Join fails.
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
	p := &Participant{opts: opts, logger: opts.Logger, tracks: map[string]protocol.RemoteTrack{}, early: map[string][]webrtc.ICECandidateInit{},
		received: map[string]*remoteTrack{}, gates: map[string]*gate{}}
	sendCtx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.videoSources, p.audioSource = p.makeVideoSources(), p.makeAudioSource()
	if p.audioSource != nil {
		p.gates[protocol.Microphone] = newGate(opts.Muted.Microphone)
	}
	if len(p.videoSources) > 0 {
		p.gates[protocol.Camera] = newGate(opts.Muted.Camera)
	}
	fail := func(err error) (*Participant, error) {
		cancel()
		closeSources(p.videoSources, p.audioSource)
		return nil, err
	}
	signal, err := c.Signal(ctx)
	if err != nil {
		return fail(err)
	}
	p.signal = signal
	if err := p.join(ctx, cid); err != nil {
		signal.Close()
		return fail(err)
	}
	if err := p.connect(ctx, sendCtx); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func closeSources(video []VideoSource, audio AudioSource) {
	for _, source := range video {
		_ = source.Close()
	}
	if audio != nil {
		_ = audio.Close()
	}
}

func (p *Participant) join(ctx context.Context, cid string) error {
	request := &protocol.Join{Conference: cid, Name: p.opts.Name, PIN: p.opts.PIN, Phone: p.opts.Phone}
	if p.opts.Muted != (protocol.Sources{}) {
		request.Muted = &p.opts.Muted
	}
	answer, err := p.signal.Request(ctx, "join", request)
	if err != nil {
		return err
	}
	p.tell(answer)
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
			p.tell(in.Event)
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

// connect negotiates both media connections and starts sending, until
// sendCtx ends.
func (p *Participant) connect(ctx, sendCtx context.Context) error {
	api, err := newAPI(p.opts.Loopback, p.logger)
	if err != nil {
		return err
	}
	config := webrtc.Configuration{ICEServers: p.joined.ICEServers, BundlePolicy: webrtc.BundlePolicyMaxBundle,
		ICETransportPolicy: webrtc.NewICETransportPolicy(p.joined.ICETransportPolicy)}
	if p.subscribe, err = api.NewPeerConnection(config); err != nil {
		return fmt.Errorf("subscribe connection: %w", err)
	}
	p.subscribe.OnICECandidate(p.trickle("subscribe"))
	p.subscribe.OnTrack(p.receive)
	p.workers.Go(p.handleEvents)

	if p.audioSource == nil && len(p.videoSources) == 0 {
		return nil
	}
	publish, err := api.NewPeerConnection(config)
	if err != nil {
		return fmt.Errorf("publish connection: %w", err)
	}
	p.mu.Lock()
	p.publish = publish
	p.mu.Unlock()
	p.publish.OnICECandidate(p.trickle("publish"))
	var tracks []protocol.TrackInfo
	var audioTransceiver, videoTransceiver *webrtc.RTPTransceiver
	if p.audioSource != nil {
		if audioTransceiver, err = p.addAudio(p.audioSource); err != nil {
			return err
		}
	}
	if len(p.videoSources) > 0 {
		if videoTransceiver, err = p.addVideo(p.videoSources); err != nil {
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
	p.addEarlyCandidates("publish")
	if audioTransceiver != nil {
		p.startAudio(sendCtx, audioTransceiver)
	}
	if videoTransceiver != nil {
		p.startVideo(sendCtx, videoTransceiver)
	}
	return nil
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

// handleEvents handles what the server sends: subscribe offers and
// candidates itself, everything else kept for tests and told to OnEvent.
func (p *Participant) handleEvents() {
	for in := range p.signal.Events() {
		switch event := in.Event.(type) {
		case *protocol.SubscribeOffer:
			if err := p.answerSubscribe(event); err != nil {
				p.logger.Warn("subscribe offer", slog.Any("error", err))
			}
		case *protocol.ServerCandidate:
			if event.Candidate != nil {
				p.addCandidate(event.Target, *event.Candidate)
			}
		default:
			if muted, ok := event.(*protocol.MutedByModerator); ok {
				// The server already marked the source muted: stop sending it.
				if gate := p.gates[muted.Source]; gate != nil {
					gate.set(true)
				}
			}
			p.mu.Lock()
			if len(p.events) < 10000 {
				p.events = append(p.events, in)
			}
			p.mu.Unlock()
			p.tell(in.Event)
		}
	}
	if !p.closed.Load() {
		p.tell(Disconnected{Err: p.signal.Err()})
	}
}

// addCandidate adds a server candidate to its connection, or keeps it
// until that connection has the server's description.
func (p *Participant) addCandidate(target string, candidate webrtc.ICECandidateInit) {
	p.mu.Lock()
	pc := p.subscribe
	if target == "publish" {
		pc = p.publish
	}
	if pc == nil || pc.RemoteDescription() == nil {
		p.early[target] = append(p.early[target], candidate)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	if err := pc.AddICECandidate(candidate); err != nil {
		p.logger.Debug("add candidate", slog.String("target", target), slog.Any("error", err))
	}
}

// addEarlyCandidates adds the candidates kept for a connection that now
// has the server's description.
func (p *Participant) addEarlyCandidates(target string) {
	p.mu.Lock()
	early := p.early[target]
	delete(p.early, target)
	p.mu.Unlock()
	for _, candidate := range early {
		p.addCandidate(target, candidate)
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
	p.addEarlyCandidates("subscribe")
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

// Close leaves: media stops, both connections and the signalling close,
// and the sources close once nothing uses them.
func (p *Participant) Close() {
	if p.closed.Swap(true) {
		return
	}
	p.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_, _ = p.signal.Request(ctx, "leave", &protocol.Leave{})
	cancel()
	p.mu.Lock()
	p.closing = true
	p.mu.Unlock()
	for _, pc := range []*webrtc.PeerConnection{p.publish, p.subscribe} {
		if pc != nil {
			_ = pc.Close()
		}
	}
	p.signal.Close()
	p.workers.Wait()
	p.receivers.Wait()
	closeSources(p.videoSources, p.audioSource)
}

// tell passes an event to OnEvent.
func (p *Participant) tell(event any) {
	if p.opts.OnEvent != nil {
		p.opts.OnEvent(event)
	}
}
