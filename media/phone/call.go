package phone

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/parleyhq/parley/assets"
	"github.com/parleyhq/parley/media/resample"
)

// The conference side of a call is 48 kHz (Opus's rate) in 20 ms frames;
// the telephone side is the codec's rate.
const (
	conferenceRate = 48000
	frameDuration  = 20 * time.Millisecond
	frameSamples   = conferenceRate / 50
	maxPacket      = 1500
)

// Config is what the SIP dialogue agreed for a call.
type Config struct {
	// Conn is the call's own RTP socket; the Call closes it.
	Conn net.PacketConn
	// Remote is where the SDP says the phone receives; the source of the
	// phone's first packet replaces it (symmetric RTP).
	Remote      netip.AddrPort
	Codec       string // PCMU, PCMA or opus
	PayloadType uint8
	// DTMFPayloadType is the payload type of RFC 4733 telephone-events,
	// or 0 when the phone offered none.
	DTMFPayloadType uint8
	// SRTP, if set, encrypts the call's RTP (keys agreed by SDES).
	SRTP *SRTP
	// Video, if set, is the call's H.264 video.
	Video  *VideoConfig
	Logger *slog.Logger
}

// SRTP is a call's keying: the suite and each side's master key and salt
// (30 bytes).
type SRTP struct {
	Suite         string // AES_CM_128_HMAC_SHA1_80 or AES_CM_128_HMAC_SHA1_32
	Local, Remote []byte
}

// srtpProfiles are the suites' profiles in pion/srtp.
var srtpProfiles = map[string]srtp.ProtectionProfile{
	"AES_CM_128_HMAC_SHA1_80": srtp.ProtectionProfileAes128CmHmacSha1_80,
	"AES_CM_128_HMAC_SHA1_32": srtp.ProtectionProfileAes128CmHmacSha1_32,
}

// srtpContexts makes the encrypting (our key) and decrypting (the phone's
// key) contexts of a call.
func srtpContexts(keys *SRTP) (encrypt, decrypt *srtp.Context, err error) {
	profile, ok := srtpProfiles[keys.Suite]
	if !ok {
		return nil, nil, fmt.Errorf("SRTP suite %q: only AES_CM_128_HMAC_SHA1_80 and _32", keys.Suite)
	}
	keyLength, err := profile.KeyLen()
	if err != nil {
		return nil, nil, err
	}
	saltLength, err := profile.SaltLen()
	if err != nil {
		return nil, nil, err
	}
	for _, key := range [][]byte{keys.Local, keys.Remote} {
		if len(key) != keyLength+saltLength {
			return nil, nil, fmt.Errorf("SRTP key of %d bytes, want %d", len(key), keyLength+saltLength)
		}
	}
	if encrypt, err = srtp.CreateContext(keys.Local[:keyLength], keys.Local[keyLength:], profile); err != nil {
		return nil, nil, fmt.Errorf("SRTP: %w", err)
	}
	if decrypt, err = srtp.CreateContext(keys.Remote[:keyLength], keys.Remote[keyLength:], profile, srtp.SRTPReplayProtection(256)); err != nil {
		return nil, nil, fmt.Errorf("SRTP: %w", err)
	}
	return encrypt, decrypt, nil
}

// Stats count a call's packets.
type Stats struct {
	Received, Sent, Dropped int64
	// Video: the phone's packets and frames, and ours to it (VideoSent
	// counts the packets relayed from another phone too, VideoRelayed
	// only those).
	VideoReceived, VideoSent, VideoRelayed, FramesReceived, FramesSent int64
}

// negotiated is what the SDP exchange settled; a re-INVITE or the answer
// to a call placed by the gateway may change it.
type negotiated struct {
	codec       string
	encoder     encoder // the send goroutine's
	decoder     decoder // the receive goroutine's
	payloadType uint8
	dtmf        uint8 // 0: none
}

// newNegotiated makes the codec state of a negotiation.
func newNegotiated(codec string, payloadType, dtmf uint8) (*negotiated, error) {
	enc, dec, err := newCodec(codec)
	if err != nil {
		return nil, err
	}
	return &negotiated{codec: strings.ToUpper(codec), encoder: enc, decoder: dec, payloadType: payloadType, dtmf: dtmf}, nil
}

// Call is the media of one telephone call, from Start to Close.
type Call struct {
	cfg    Config
	media  atomic.Pointer[negotiated]
	video  atomic.Pointer[videoStream] // nil: an audio call
	logger *slog.Logger
	// encrypt and decrypt are the SRTP contexts, nil without SRTP; each
	// is used by one goroutine (send, receive).
	encrypt, decrypt *srtp.Context

	remote  atomic.Pointer[netip.AddrPort]
	latched atomic.Bool // remote was learnt from the phone's packets
	held    atomic.Bool // the phone put the call on hold: send nothing
	digits  chan byte

	// Sending: what the phone hears, built every 20 ms.
	mu         sync.Mutex
	prompt     []int16       // 48 kHz samples still to play
	promptDone chan struct{} // closed when prompt has played
	ear        func([]int16) // fills 48 kHz samples with what the phone hears; nil: silence
	mouth      func([]int16) // takes the phone's audio at 48 kHz; nil: dropped

	ssrc      uint32
	sequence  uint16
	timestamp uint32

	stats struct{ received, sent, dropped atomic.Int64 }

	closed chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
}

// Start begins a call's media: the phone hears silence until Play or a
// bridge gives it something else.
func Start(cfg Config) (*Call, error) {
	media, err := newNegotiated(cfg.Codec, cfg.PayloadType, cfg.DTMFPayloadType)
	if err != nil {
		return nil, err
	}
	if cfg.Conn == nil {
		return nil, errors.New("a call needs its RTP socket")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	var random [10]byte
	_, _ = rand.Read(random[:])
	c := &Call{cfg: cfg, logger: cfg.Logger, digits: make(chan byte, 32),
		ssrc: binary.BigEndian.Uint32(random[:4]), sequence: binary.BigEndian.Uint16(random[4:6]),
		timestamp: binary.BigEndian.Uint32(random[6:]), closed: make(chan struct{})}
	if cfg.SRTP != nil {
		if c.encrypt, c.decrypt, err = srtpContexts(cfg.SRTP); err != nil {
			return nil, err
		}
	}
	if cfg.Video != nil {
		video, err := startVideo(*cfg.Video, cfg.Logger)
		if err != nil {
			return nil, err
		}
		c.video.Store(video)
	}
	c.media.Store(media)
	remote := cfg.Remote
	c.remote.Store(&remote)
	c.wg.Add(2)
	go c.receive()
	go c.send()
	return c, nil
}

// Negotiate changes where the phone receives and in which codec, after
// the SDP of an answer or a re-INVITE. Packets already coming from the
// phone keep deciding the address (symmetric RTP). A remote of zero (or
// 0.0.0.0) holds the call: nothing is sent until a real one comes.
func (c *Call) Negotiate(remote netip.AddrPort, codec string, payloadType, dtmfPayloadType uint8) error {
	if current := c.media.Load(); current.codec == strings.ToUpper(codec) {
		// The same codec: keep its state (the encoder is the send
		// goroutine's), change only the payload types.
		c.media.Store(&negotiated{codec: current.codec, encoder: current.encoder, decoder: current.decoder, payloadType: payloadType, dtmf: dtmfPayloadType})
	} else {
		media, err := newNegotiated(codec, payloadType, dtmfPayloadType)
		if err != nil {
			return err
		}
		c.media.Store(media)
	}
	held := isHold(remote)
	c.held.Store(held)
	if !held && !c.latched.Load() {
		c.remote.Store(&remote)
	}
	return nil
}

// NegotiateVideo changes where the phone receives video (zero: nowhere,
// on hold) and its payload type; nothing for an audio call.
func (c *Call) NegotiateVideo(remote netip.AddrPort, payloadType uint8) {
	if v := c.video.Load(); v != nil {
		v.negotiate(remote, payloadType)
	}
}

// DropVideo makes the call audio only, before Join: the phone refused
// the video offered.
func (c *Call) DropVideo() {
	if v := c.video.Swap(nil); v != nil {
		v.close()
	}
}

// RequestKeyframe makes the next frame sent to the phone a keyframe, as
// a SIP INFO picture_fast_update (RFC 5168) asks.
func (c *Call) RequestKeyframe() {
	if v := c.video.Load(); v != nil {
		v.wantKey.Store(true)
	}
}

// VideoPort is the port of the call's video socket, 0 for an audio call.
func (c *Call) VideoPort() int {
	v := c.video.Load()
	if v == nil {
		return 0
	}
	if addr, ok := v.cfg.Conn.LocalAddr().(*net.UDPAddr); ok {
		return addr.Port
	}
	return 0
}

// LocalPort is the port of the call's RTP socket, for the SDP answer.
func (c *Call) LocalPort() int {
	if addr, ok := c.cfg.Conn.LocalAddr().(*net.UDPAddr); ok {
		return addr.Port
	}
	return 0
}

// Digits delivers the keys pressed on the phone ('0'-'9', '*', '#', 'A'-'D'),
// from RFC 4733 events and from PushDigit.
func (c *Call) Digits() <-chan byte { return c.digits }

// PushDigit adds a key that came another way (SIP INFO).
func (c *Call) PushDigit(key byte) {
	select {
	case c.digits <- key:
	default: // nobody reads keys now: forget it
	}
}

// Stats returns the counts so far.
func (c *Call) Stats() Stats {
	stats := Stats{Received: c.stats.received.Load(), Sent: c.stats.sent.Load(), Dropped: c.stats.dropped.Load()}
	if v := c.video.Load(); v != nil {
		stats.VideoReceived, stats.VideoSent, stats.VideoRelayed = v.stats.received.Load(), v.stats.sent.Load(), v.stats.relayed.Load()
		stats.FramesReceived, stats.FramesSent = v.stats.framesIn.Load(), v.stats.framesOut.Load()
	}
	return stats
}

// Play plays a prompt of assets.Prompt and returns when it has played
// (or ctx ended, or the call closed, which stop it).
func (c *Call) Play(ctx context.Context, prompt string) error {
	samples, err := loadPrompt(prompt)
	if err != nil {
		return err
	}
	done := make(chan struct{})
	c.mu.Lock()
	c.prompt, c.promptDone = samples, done
	c.mu.Unlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		c.stopPrompt(done)
		return ctx.Err()
	case <-c.closed:
		return errCallClosed
	}
}

var errCallClosed = errors.New("the call has ended")

func (c *Call) stopPrompt(done chan struct{}) {
	c.mu.Lock()
	if c.promptDone == done {
		c.prompt, c.promptDone = nil, nil
	}
	c.mu.Unlock()
}

// setEar sets what fills the 48 kHz frames the phone hears; nil: silence.
func (c *Call) setEar(ear func([]int16)) {
	c.mu.Lock()
	c.ear = ear
	c.mu.Unlock()
}

// setMouth sets where the phone's audio goes, at 48 kHz; nil: nowhere.
func (c *Call) setMouth(mouth func([]int16)) {
	c.mu.Lock()
	c.mouth = mouth
	c.mu.Unlock()
}

// Close ends the call's media and closes its socket.
func (c *Call) Close() {
	c.once.Do(func() {
		close(c.closed)
		_ = c.cfg.Conn.Close()
	})
	c.wg.Wait()
	c.DropVideo()
}

// send sends 20 ms of what the phone hears every 20 ms.
func (c *Call) send() {
	defer c.wg.Done()
	ticker := time.NewTicker(frameDuration)
	defer ticker.Stop()
	frame := make([]int16, frameSamples)
	packet := &rtp.Packet{Header: rtp.Header{Version: 2, SSRC: c.ssrc, Marker: true}}
	buf, sealed := make([]byte, maxPacket), make([]byte, maxPacket)
	for {
		select {
		case <-c.closed:
			return
		case <-ticker.C:
		}
		c.nextFrame(frame)
		media := c.media.Load()
		packet.PayloadType, packet.SequenceNumber, packet.Timestamp = media.payloadType, c.sequence, c.timestamp
		payload, err := media.encoder.encode(packet.Payload[:0], frame)
		if err != nil {
			c.logger.Error("encode for the phone", slog.Any("error", err))
			continue
		}
		packet.Payload = payload
		c.sequence++
		c.timestamp += media.encoder.ticks()
		n, err := packet.MarshalTo(buf)
		packet.Marker = false
		if err != nil {
			c.logger.Error("marshal RTP", slog.Any("error", err))
			continue
		}
		remote := *c.remote.Load()
		if c.held.Load() || isHold(remote) {
			continue // a phone on hold, or none yet
		}
		out := buf[:n]
		if c.encrypt != nil {
			if out, err = c.encrypt.EncryptRTP(sealed[:0], out, nil); err != nil {
				c.logger.Error("SRTP encrypt", slog.Any("error", err))
				continue
			}
		}
		if _, err := c.cfg.Conn.WriteTo(out, net.UDPAddrFromAddrPort(remote)); err != nil {
			c.stats.dropped.Add(1)
			continue
		}
		c.stats.sent.Add(1)
	}
}

// nextFrame fills frame with the prompt, else what the bridge hears, else
// silence.
func (c *Call) nextFrame(frame []int16) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.promptDone != nil:
		n := copy(frame, c.prompt)
		clear(frame[n:])
		c.prompt = c.prompt[n:]
		if len(c.prompt) == 0 {
			close(c.promptDone)
			c.prompt, c.promptDone = nil, nil
		}
	case c.ear != nil:
		c.ear(frame)
	default:
		clear(frame)
	}
}

// receive reads the phone's packets: keys, and audio for the bridge.
func (c *Call) receive() {
	defer c.wg.Done()
	buf, opened := make([]byte, maxPacket), make([]byte, maxPacket)
	var (
		packet          rtp.Packet
		lastSequence    uint16
		haveSequence    bool
		lastKeyTime     uint32
		haveKey         bool
		lastKeyEnded    bool
		wide            []int16
		expectedAddress = *c.remote.Load()
	)
	for {
		n, from, err := c.cfg.Conn.ReadFrom(buf)
		if err != nil {
			select {
			case <-c.closed:
			default:
				c.logger.Warn("RTP socket", slog.Any("error", err))
			}
			return
		}
		data := buf[:n]
		if c.decrypt != nil {
			// What does not decrypt (a stranger's, or damaged) is dropped
			// before it can move the call's address.
			if data, err = c.decrypt.DecryptRTP(opened[:0], data, nil); err != nil {
				c.stats.dropped.Add(1)
				continue
			}
		}
		if err := packet.Unmarshal(data); err != nil || packet.Version != 2 {
			c.stats.dropped.Add(1)
			continue
		}
		source, ok := from.(*net.UDPAddr)
		if !ok {
			continue
		}
		// Symmetric RTP: answer where the phone's packets come from, which
		// behind NAT is not what its SDP said. Learnt once; after that,
		// packets from elsewhere are dropped.
		sourceAddr := netip.AddrPortFrom(source.AddrPort().Addr().Unmap(), source.AddrPort().Port())
		media := c.media.Load()
		if !c.latched.Load() {
			if packet.PayloadType != media.payloadType && (media.dtmf == 0 || packet.PayloadType != media.dtmf) {
				c.stats.dropped.Add(1)
				continue
			}
			c.remote.Store(&sourceAddr)
			c.latched.Store(true)
			if sourceAddr != expectedAddress {
				c.logger.Debug("phone sends from another address than its SDP", slog.String("sdp", expectedAddress.String()), slog.String("from", sourceAddr.String()))
			}
		} else if sourceAddr != *c.remote.Load() {
			c.stats.dropped.Add(1)
			continue
		}
		c.stats.received.Add(1)
		switch {
		case media.dtmf != 0 && packet.PayloadType == media.dtmf:
			key, ended, ok := telephoneEvent(packet.Payload)
			if !ok {
				continue
			}
			// One key is many packets with the timestamp of its start, the
			// last ones (end bit) repeated. A new timestamp is a new key,
			// and so is a packet without the end bit after the end: the
			// same key again, from a sender that reuses timestamps.
			if !haveKey || packet.Timestamp != lastKeyTime || lastKeyEnded && !ended {
				lastKeyTime, haveKey = packet.Timestamp, true
				c.PushDigit(key)
			}
			lastKeyEnded = ended
		case packet.PayloadType == media.payloadType:
			if haveSequence && int16(packet.SequenceNumber-lastSequence) <= 0 {
				c.stats.dropped.Add(1) // late or repeated
				continue
			}
			lastSequence, haveSequence = packet.SequenceNumber, true
			if wide, err = media.decoder.decode(wide[:0], packet.Payload); err != nil {
				c.stats.dropped.Add(1)
				continue
			}
			c.mu.Lock()
			mouth := c.mouth
			c.mu.Unlock()
			if mouth != nil {
				mouth(wide)
			}
		}
	}
}

// telephoneEvent reads an RFC 4733 event: the key, if it is one, and
// whether the packet ends it.
func telephoneEvent(payload []byte) (key byte, ended, ok bool) {
	if len(payload) < 4 {
		return 0, false, false
	}
	const keys = "0123456789*#ABCD"
	if event := int(payload[0]); event < len(keys) {
		return keys[event], payload[1]&0x80 != 0, true
	}
	return 0, false, false
}

var prompts sync.Map // name -> []int16 at 48 kHz

// loadPrompt reads a prompt from assets and converts it to 48 kHz once.
func loadPrompt(name string) ([]int16, error) {
	if samples, ok := prompts.Load(name); ok {
		return samples.([]int16), nil
	}
	data, err := assets.Prompt(name)
	if err != nil {
		return nil, fmt.Errorf("prompt %q: %w", name, err)
	}
	samples, rate, err := readWAV(data)
	if err != nil {
		return nil, fmt.Errorf("prompt %q: %w", name, err)
	}
	if rate <= 0 || conferenceRate%rate != 0 {
		return nil, fmt.Errorf("prompt %q: %d Hz does not divide 48 kHz", name, rate)
	}
	up, err := resample.Up(conferenceRate / rate)
	if err != nil {
		return nil, fmt.Errorf("prompt %q: %w", name, err)
	}
	samples = up.Process(nil, samples)
	prompts.Store(name, samples)
	return samples, nil
}
