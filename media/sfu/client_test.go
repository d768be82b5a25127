package sfu

import (
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// This file holds in-process WebRTC clients made with pion, talking to the
// SFU over loopback exactly as a browser would through the signalling
// layer: a publisher sending synthetic audio and three-layer simulcast VP8,
// and a subscriber that answers subscribe offers and records every packet.

// Synthetic media. Every video payload ends with the rid of its layer, so
// the subscriber can tell which layer it receives.
const (
	audioInterval      = 20 * time.Millisecond
	videoInterval      = 40 * time.Millisecond
	keyframeInterval   = 8 * time.Second // periodic keyframes; switches rely on PLI
	audioSamplesPerPkt = 960
	videoTicksPerFrame = 3600
)

// layerSizes are the picture sizes and packets per frame the test publisher
// sends for q, h and f.
var layerSizes = [3]struct{ width, height, packets, payload int }{
	{320, 180, 1, 60},
	{640, 360, 1, 120},
	{1280, 720, 2, 150},
}

// testLogger shows the SFU's warnings; SFU_TEST_DEBUG=1 shows everything.
func testLogger() *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("SFU_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

func newTestSFU(t *testing.T) *SFU {
	t.Helper()
	s, err := New(Config{IncludeLoopback: true, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// newClientAPI is a browser-like pion stack that only ever uses loopback,
// over UDP unless other networks are given.
func newClientAPI(t *testing.T, networks ...webrtc.NetworkType) *webrtc.API {
	t.Helper()
	media := &webrtc.MediaEngine{}
	if err := media.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	if err := media.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	if err := media.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.SDESMidURI}, webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	registry := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(media, registry); err != nil {
		t.Fatal(err)
	}
	settings := webrtc.SettingEngine{}
	settings.SetIncludeLoopbackCandidate(true)
	settings.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	if len(networks) == 0 {
		networks = []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	}
	settings.SetNetworkTypes(networks)
	settings.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return webrtc.NewAPI(webrtc.WithMediaEngine(media), webrtc.WithInterceptorRegistry(registry), webrtc.WithSettingEngine(settings))
}

// loopbackCandidate reports whether a candidate's address is on loopback:
// the SFU offers every host address, the test clients only use loopback.
func loopbackCandidate(c webrtc.ICECandidateInit) bool {
	fields := strings.Fields(c.Candidate)
	if len(fields) < 5 {
		return false
	}
	ip := net.ParseIP(fields[4])
	return ip != nil && ip.IsLoopback()
}

// offerRecord is one subscribe offer a client received.
type offerRecord struct {
	sdp    string
	tracks []RemoteTrack
}

// packetRecord is one video packet a subscriber received.
type packetRecord struct {
	layer    byte // 'q', 'h' or 'f'
	keyframe bool // first packet of a keyframe
	at       time.Time
}

// receivedTrack is what a subscriber got on one m= line.
type receivedTrack struct {
	mid, participant, source string
	kind                     webrtc.RTPCodecType

	mu       sync.Mutex
	packets  int
	gaps     int // sequence numbers that did not follow the previous one
	lastSeq  uint16
	ssrcs    map[uint32]bool
	video    []packetRecord
	lastSeen time.Time
}

func (r *receivedTrack) record(packet *rtp.Packet) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.packets > 0 && packet.SequenceNumber != r.lastSeq+1 {
		r.gaps++
	}
	r.packets++
	r.lastSeq = packet.SequenceNumber
	r.ssrcs[packet.SSRC] = true
	r.lastSeen = time.Now()
	if r.kind == webrtc.RTPCodecTypeVideo && len(packet.Payload) > 0 {
		descriptor, err := parseVP8(packet.Payload)
		if err == nil {
			r.video = append(r.video, packetRecord{
				layer:    packet.Payload[len(packet.Payload)-1],
				keyframe: descriptor.keyframe,
				at:       r.lastSeen,
			})
		}
	}
}

// snapshot returns the packet count, gap count and SSRC count.
func (r *receivedTrack) snapshot() (packets, gaps, ssrcs int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.packets, r.gaps, len(r.ssrcs)
}

// videoSince returns the video packets received at or after t.
func (r *receivedTrack) videoSince(t time.Time) []packetRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	var since []packetRecord
	for _, record := range r.video {
		if !record.at.Before(t) {
			since = append(since, record)
		}
	}
	return since
}

// testClient is one participant's client: a Signaller for the SFU and the
// two peer connections of a browser.
type testClient struct {
	t    *testing.T
	id   string
	p    *Participant
	api  *webrtc.API
	stop chan struct{}
	wg   sync.WaitGroup

	events chan func() // signalling, handled in order like a WebSocket

	subscribePC *webrtc.PeerConnection
	publishPC   *webrtc.PeerConnection

	// publisher
	audio       *webrtc.TrackLocalStaticRTP
	video       [3]*webrtc.TrackLocalStaticRTP
	audioLevel  atomic.Uint32 // RFC 6464 level the microphone reports
	plis        [3]atomic.Int32
	wantKey     [3]atomic.Bool
	screen      atomic.Pointer[webrtc.TrackLocalStaticRTP]
	screenPLIs  atomic.Int32
	wantScreen  atomic.Bool // next screen frame is a keyframe
	stopReading atomic.Bool // the subscriber stops reading its tracks
	holdOffers  atomic.Bool // subscribe offers are recorded, not answered

	mu           sync.Mutex
	offers       []offerRecord
	tracks       map[string]*receivedTrack // by mid, the latest track on it
	pendingCands map[Target][]webrtc.ICECandidateInit
	candidates   []string // every candidate the SFU trickled, as candidate lines
}

// joinClient joins a room with a new client.
func joinClient(t *testing.T, room *Room, id string) *testClient {
	t.Helper()
	return joinClientWith(t, room, id, newClientAPI(t))
}

// joinClientWith joins a room with a new client made by api.
func joinClientWith(t *testing.T, room *Room, id string, api *webrtc.API) *testClient {
	t.Helper()
	c := &testClient{
		t:            t,
		id:           id,
		api:          api,
		stop:         make(chan struct{}),
		events:       make(chan func(), 1024),
		tracks:       map[string]*receivedTrack{},
		pendingCands: map[Target][]webrtc.ICECandidateInit{},
	}
	c.audioLevel.Store(100)
	var err error
	if c.subscribePC, err = c.api.NewPeerConnection(webrtc.Configuration{BundlePolicy: webrtc.BundlePolicyMaxBundle}); err != nil {
		t.Fatal(err)
	}
	c.subscribePC.OnTrack(c.onTrack)
	c.subscribePC.OnICECandidate(func(candidate *webrtc.ICECandidate) {
		if candidate != nil {
			c.send(TargetSubscribe, candidate.ToJSON())
		}
	})
	if c.p, err = room.Join(id, c); err != nil {
		t.Fatal(err)
	}
	c.wg.Go(c.handleEvents) // signalling that came during Join waits in events
	t.Cleanup(c.close)
	return c
}

// send passes a local candidate to the SFU, as the signalling layer would.
func (c *testClient) send(target Target, candidate webrtc.ICECandidateInit) {
	c.events <- func() {
		if err := c.p.AddCandidate(target, candidate); err != nil {
			c.t.Logf("%s: add candidate: %v", c.id, err)
		}
	}
}

func (c *testClient) handleEvents() {
	for {
		select {
		case <-c.stop:
			return
		case event := <-c.events:
			event()
		}
	}
}

// SubscribeOffer implements Signaller: the client answers like a browser.
func (c *testClient) SubscribeOffer(offer string, tracks []RemoteTrack) {
	c.mu.Lock()
	c.offers = append(c.offers, offerRecord{sdp: offer, tracks: tracks})
	c.mu.Unlock()
	if !c.holdOffers.Load() {
		c.enqueue(func() { _ = c.answer(offer) })
	}
}

// answer applies a subscribe offer and returns the SFU's verdict on the answer.
func (c *testClient) answer(offer string) error {
	fail := func(step string, err error) error {
		if !c.closing() && !c.subscribePCClosed() {
			c.t.Errorf("%s: %s: %v", c.id, step, err)
		}
		return nil
	}
	if err := c.subscribePC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return fail("set subscribe offer", err)
	}
	c.flushCandidates(TargetSubscribe, c.subscribePC)
	answer, err := c.subscribePC.CreateAnswer(nil)
	if err != nil {
		return fail("create subscribe answer", err)
	}
	if err := c.subscribePC.SetLocalDescription(answer); err != nil {
		return fail("set subscribe answer", err)
	}
	err = c.p.SubscribeAnswer(answer.SDP)
	if err != nil && !c.closing() {
		c.t.Logf("%s: subscribe answer refused: %v", c.id, err)
	}
	return err
}

func (c *testClient) subscribePCClosed() bool {
	return c.subscribePC.ConnectionState() == webrtc.PeerConnectionStateClosed
}

// Candidate implements Signaller.
func (c *testClient) Candidate(target Target, candidate *webrtc.ICECandidateInit) {
	if candidate != nil {
		c.mu.Lock()
		c.candidates = append(c.candidates, candidate.Candidate)
		c.mu.Unlock()
	}
	if candidate == nil || !loopbackCandidate(*candidate) {
		return
	}
	init := *candidate
	c.enqueue(func() {
		pc := c.subscribePC
		if target == TargetPublish {
			pc = c.publishPC
		}
		if pc == nil || pc.RemoteDescription() == nil {
			c.pendingCands[target] = append(c.pendingCands[target], init)
			return
		}
		if err := pc.AddICECandidate(init); err != nil {
			c.t.Logf("%s: add %s candidate: %v", c.id, target, err)
		}
	})
}

// ConnectionState implements Signaller.
func (c *testClient) ConnectionState(Target, webrtc.PeerConnectionState) {}

func (c *testClient) enqueue(event func()) {
	select {
	case c.events <- event:
	case <-c.stop:
	}
}

func (c *testClient) flushCandidates(target Target, pc *webrtc.PeerConnection) {
	for _, candidate := range c.pendingCands[target] {
		if err := pc.AddICECandidate(candidate); err != nil {
			c.t.Logf("%s: add queued candidate: %v", c.id, err)
		}
	}
	delete(c.pendingCands, target)
}

// run executes fn on the signalling goroutine and waits for it.
func (c *testClient) run(fn func()) {
	done := make(chan struct{})
	c.enqueue(func() {
		fn()
		close(done)
	})
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		c.t.Fatalf("%s: signalling stuck", c.id)
	}
}

// publish starts sending a microphone and a three-layer simulcast camera.
func (c *testClient) publish() {
	c.t.Helper()
	var err error
	if c.publishPC, err = c.api.NewPeerConnection(webrtc.Configuration{BundlePolicy: webrtc.BundlePolicyMaxBundle}); err != nil {
		c.t.Fatal(err)
	}
	c.publishPC.OnICECandidate(func(candidate *webrtc.ICECandidate) {
		if candidate != nil {
			c.send(TargetPublish, candidate.ToJSON())
		}
	})
	opus := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	if c.audio, err = webrtc.NewTrackLocalStaticRTP(opus, "audio", c.id); err != nil {
		c.t.Fatal(err)
	}
	audioSender, err := c.publishPC.AddTrack(c.audio)
	if err != nil {
		c.t.Fatal(err)
	}
	vp8 := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	for i, rid := range layerNames {
		if c.video[i], err = webrtc.NewTrackLocalStaticRTP(vp8, "video", c.id, webrtc.WithRTPStreamID(rid)); err != nil {
			c.t.Fatal(err)
		}
	}
	videoTransceiver, err := c.publishPC.AddTransceiverFromTrack(c.video[0], webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		c.t.Fatal(err)
	}
	videoSender := videoTransceiver.Sender()
	for _, track := range c.video[1:] {
		if err := videoSender.AddEncoding(track); err != nil {
			c.t.Fatal(err)
		}
	}

	c.renegotiatePublish(nil)

	c.wg.Go(func() { c.readPublisherRTCP(audioSender) })
	for i, rid := range layerNames {
		c.wg.Go(func() { c.readPublisherRTCPLayer(videoSender, rid, i) })
	}
	c.wg.Go(func() { c.sendMedia(audioSender, videoSender) })
}

// renegotiatePublish sends a publish offer naming the source of every
// m= line that sends, and applies the answer, which it returns.
func (c *testClient) renegotiatePublish(options *webrtc.OfferOptions) (answer string) {
	c.t.Helper()
	c.run(func() {
		offer, err := c.publishPC.CreateOffer(options)
		if err != nil {
			c.t.Fatal(err)
		}
		if err := c.publishPC.SetLocalDescription(offer); err != nil {
			c.t.Fatal(err)
		}
		var tracks []TrackInfo
		for _, transceiver := range c.publishPC.GetTransceivers() {
			sender := transceiver.Sender()
			if sender == nil || sender.Track() == nil {
				continue
			}
			source := SourceCamera
			switch {
			case transceiver.Kind() == webrtc.RTPCodecTypeAudio:
				source = SourceMicrophone
			case sender.Track() == c.screen.Load():
				source = SourceScreen
			}
			tracks = append(tracks, TrackInfo{Mid: transceiver.Mid(), Source: source})
		}
		if answer, err = c.p.Publish(offer.SDP, tracks); err != nil {
			c.t.Errorf("%s: publish: %v", c.id, err)
			return
		}
		if err := c.publishPC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
			c.t.Errorf("%s: set publish answer: %v", c.id, err)
			return
		}
		c.flushCandidates(TargetPublish, c.publishPC)
	})
	return answer
}

// restartPublishICE sends a new publish offer that restarts ICE and
// returns the ufrags of the SFU's answers before and after.
func (c *testClient) restartPublishICE() (before, after string) {
	before = iceUfrag(c.publishPC.RemoteDescription().SDP)
	return before, iceUfrag(c.renegotiatePublish(&webrtc.OfferOptions{ICERestart: true}))
}

// shareScreen adds a screen track (VP8, no layers) with a new publish offer.
func (c *testClient) shareScreen() {
	c.t.Helper()
	vp8 := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	screen, err := webrtc.NewTrackLocalStaticRTP(vp8, "screen", c.id)
	if err != nil {
		c.t.Fatal(err)
	}
	transceiver, err := c.publishPC.AddTransceiverFromTrack(screen, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		c.t.Fatal(err)
	}
	c.screen.Store(screen)
	c.renegotiatePublish(nil)
	sender := transceiver.Sender()
	c.wg.Go(func() {
		for {
			packets, _, err := sender.ReadRTCP()
			if err != nil {
				if c.rtcpEnded(err) {
					return
				}
				continue
			}
			for _, packet := range packets {
				if _, ok := packet.(*rtcp.PictureLossIndication); ok {
					c.screenPLIs.Add(1)
					c.wantScreen.Store(true)
				}
			}
		}
	})
}

// stopScreen removes the screen track with a new publish offer.
func (c *testClient) stopScreen() {
	c.t.Helper()
	screen := c.screen.Load()
	for _, sender := range c.publishPC.GetSenders() {
		if sender.Track() == screen {
			if err := c.publishPC.RemoveTrack(sender); err != nil {
				c.t.Fatal(err)
			}
		}
	}
	c.renegotiatePublish(nil)
	c.screen.Store(nil)
}

// readPublisherRTCP drains the RTCP of a sender without layers.
func (c *testClient) readPublisherRTCP(sender *webrtc.RTPSender) {
	for {
		if _, _, err := sender.ReadRTCP(); err != nil && c.rtcpEnded(err) {
			return
		}
	}
}

func (c *testClient) closing() bool {
	select {
	case <-c.stop:
		return true
	default:
		return false
	}
}

// rtcpEnded tells a final RTCP read error from a malformed packet.
func (c *testClient) rtcpEnded(err error) bool {
	return c.closing() || errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe)
}

// readPublisherRTCPLayer counts the PLIs the SFU sends for one layer and
// makes the next frame of that layer a keyframe, as an encoder would.
func (c *testClient) readPublisherRTCPLayer(sender *webrtc.RTPSender, rid string, layer int) {
	for {
		packets, _, err := sender.ReadSimulcastRTCP(rid)
		if err != nil {
			if c.rtcpEnded(err) {
				return
			}
			continue
		}
		for _, packet := range packets {
			if _, ok := packet.(*rtcp.PictureLossIndication); ok {
				c.plis[layer].Add(1)
				c.wantKey[layer].Store(true)
			}
		}
	}
}

// sendMedia sends audio every 20 ms and a frame of each layer every 40 ms.
func (c *testClient) sendMedia(audioSender, videoSender *webrtc.RTPSender) {
	extensionID := func(sender *webrtc.RTPSender, uri string) uint8 {
		for _, extension := range sender.GetParameters().HeaderExtensions {
			if extension.URI == uri {
				return uint8(extension.ID)
			}
		}
		return 0
	}
	audioLevelID := extensionID(audioSender, sdp.AudioLevelURI)
	audioMidID := extensionID(audioSender, sdp.SDESMidURI)
	videoMidID := extensionID(videoSender, sdp.SDESMidURI)
	ridID := extensionID(videoSender, sdp.SDESRTPStreamIDURI)
	var audioMidValue, videoMidValue string
	for _, transceiver := range c.publishPC.GetTransceivers() {
		if transceiver.Sender() == audioSender {
			audioMidValue = transceiver.Mid()
		}
		if transceiver.Sender() == videoSender {
			videoMidValue = transceiver.Mid()
		}
	}

	audioSeq, audioTS := uint16(rand.Uint32()), rand.Uint32()
	var videoSeq [3]uint16
	var videoTS [3]uint32
	var pictureID [3]uint16
	var tl0 [3]uint8
	var lastKeyframe [3]time.Time
	screenSeq, screenTS, screenPictureID := uint16(rand.Uint32()), rand.Uint32(), uint16(0)
	for i := range videoSeq {
		videoSeq[i], videoTS[i] = uint16(rand.Uint32()), rand.Uint32()
		pictureID[i], tl0[i] = uint16(rand.IntN(0x7fff)), uint8(rand.IntN(256))
	}

	audioTicker := time.NewTicker(audioInterval)
	defer audioTicker.Stop()
	videoTicker := time.NewTicker(videoInterval)
	defer videoTicker.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-audioTicker.C:
			packet := &rtp.Packet{
				Header:  rtp.Header{Version: 2, SequenceNumber: audioSeq, Timestamp: audioTS, Marker: true},
				Payload: make([]byte, 40),
			}
			if audioLevelID != 0 {
				_ = packet.Header.SetExtension(audioLevelID, []byte{byte(c.audioLevel.Load()) | 0x80})
			}
			if audioMidID != 0 {
				_ = packet.Header.SetExtension(audioMidID, []byte(audioMidValue))
			}
			_ = c.audio.WriteRTP(packet)
			audioSeq++
			audioTS += audioSamplesPerPkt
		case now := <-videoTicker.C:
			for layer := range c.video {
				keyframe := c.wantKey[layer].Swap(false) || now.Sub(lastKeyframe[layer]) > keyframeInterval
				if keyframe {
					lastKeyframe[layer] = now
					tl0[layer]++
				}
				size := layerSizes[layer]
				for part := range size.packets {
					payload := vp8TestPayload(layer, part == 0, keyframe, pictureID[layer], tl0[layer], size.width, size.height, size.payload)
					packet := &rtp.Packet{
						Header: rtp.Header{
							Version: 2, SequenceNumber: videoSeq[layer], Timestamp: videoTS[layer],
							Marker: part == size.packets-1,
						},
						Payload: payload,
					}
					_ = packet.Header.SetExtension(videoMidID, []byte(videoMidValue))
					_ = packet.Header.SetExtension(ridID, []byte(layerNames[layer]))
					_ = c.video[layer].WriteRTP(packet)
					videoSeq[layer]++
				}
				videoTS[layer] += videoTicksPerFrame
				pictureID[layer] = (pictureID[layer] + 1) & 0x7fff
			}
			if screen := c.screen.Load(); screen != nil {
				keyframe := c.wantScreen.Swap(false) || screenPictureID%200 == 0
				payload := vp8TestPayload(2, true, keyframe, screenPictureID, 0, 1920, 1080, 100)
				payload[len(payload)-1] = 's'
				_ = screen.WriteRTP(&rtp.Packet{
					Header:  rtp.Header{Version: 2, SequenceNumber: screenSeq, Timestamp: screenTS, Marker: true},
					Payload: payload,
				})
				screenSeq++
				screenTS += videoTicksPerFrame
				screenPictureID = (screenPictureID + 1) & 0x7fff
			}
		}
	}
}

// vp8TestPayload builds a VP8 RTP payload: a descriptor with a 15-bit
// picture ID and TL0PICIDX, a frame header on the first packet (a full
// keyframe header with the picture size on keyframes), filler, and the
// layer's rid as the last byte.
func vp8TestPayload(layer int, first, keyframe bool, pictureID uint16, tl0 uint8, width, height, size int) []byte {
	payload := make([]byte, 0, size)
	b0 := byte(0x80) // X
	if first {
		b0 |= 0x10 // S, partition 0
	}
	payload = append(payload, b0, 0xc0, 0x80|byte(pictureID>>8), byte(pictureID), tl0)
	if first {
		if keyframe {
			payload = append(payload, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a,
				byte(width), byte(width>>8), byte(height), byte(height>>8))
		} else {
			payload = append(payload, 0x01, 0x00, 0x00)
		}
	}
	for len(payload) < size-1 {
		payload = append(payload, 0xaa)
	}
	return append(payload, layerNames[layer][0])
}

// onTrack records a track the SFU sends to this client.
func (c *testClient) onTrack(track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	var mid string
	for _, transceiver := range c.subscribePC.GetTransceivers() {
		if transceiver.Receiver() == receiver {
			mid = transceiver.Mid()
		}
	}
	received := &receivedTrack{
		mid: mid, participant: track.StreamID(), source: track.ID(), kind: track.Kind(),
		ssrcs: map[uint32]bool{},
	}
	c.mu.Lock()
	c.tracks[mid] = received
	c.mu.Unlock()
	c.wg.Go(func() {
		for {
			if c.stopReading.Load() {
				<-c.stop
				return
			}
			packet, _, err := track.ReadRTP()
			if err != nil {
				return
			}
			received.record(packet)
		}
	})
}

// track returns what this client receives from a participant's source.
func (c *testClient) track(participant string, source Source) *receivedTrack {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, track := range c.tracks {
		if track.participant == participant && track.source == string(source) {
			return track
		}
	}
	return nil
}

// lastOffer returns the latest subscribe offer and how many came.
func (c *testClient) lastOffer() (offerRecord, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.offers) == 0 {
		return offerRecord{}, 0
	}
	return c.offers[len(c.offers)-1], len(c.offers)
}

// close leaves the room and closes the client's connections.
func (c *testClient) close() {
	if c.closing() {
		return
	}
	close(c.stop)
	c.p.Leave()
	if c.publishPC != nil {
		_ = c.publishPC.Close()
	}
	_ = c.subscribePC.Close()
	c.wg.Wait()
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitPackets waits until the client receives packets of a participant's source.
func (c *testClient) waitPackets(participant string, source Source, atLeast int) *receivedTrack {
	c.t.Helper()
	var track *receivedTrack
	waitFor(c.t, 15*time.Second, c.id+" receiving "+participant+"/"+string(source), func() bool {
		track = c.track(participant, source)
		if track == nil {
			return false
		}
		packets, _, _ := track.snapshot()
		return packets >= atLeast
	})
	return track
}

// mediaSections splits an SDP into its m= sections.
func mediaSections(sdpText string) []string {
	parts := strings.Split(sdpText, "\r\nm=")
	if len(parts) < 2 {
		return nil
	}
	return parts[1:]
}

// sectionAttribute returns the value of an attribute (a=name:value, or
// a=name for a flag, then "") in one m= section.
func sectionAttribute(section, name string) (string, bool) {
	for line := range strings.Lines(section) {
		line = strings.TrimSpace(line)
		if line == "a="+name {
			return "", true
		}
		if value, ok := strings.CutPrefix(line, "a="+name+":"); ok {
			return value, true
		}
	}
	return "", false
}
