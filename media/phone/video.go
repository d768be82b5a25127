package phone

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/srtp/v3"

	"github.com/parleyhq/parley/media/h264"
	"github.com/parleyhq/parley/media/participant"
)

// VideoConfig is a call's video stream, when the phone offered H.264 and
// the gateway took it.
type VideoConfig struct {
	// Conn is the video's own RTP socket (RTCP comes on it too with
	// rtcp-mux); the call closes it.
	Conn net.PacketConn
	// Remote is where the SDP says the phone receives video; the source of
	// its first packet replaces it (symmetric RTP).
	Remote netip.AddrPort
	// RTCPMux: the phone takes RTCP on its RTP port (RFC 5761); without
	// it RTCP goes to the port after (RFC 3550).
	RTCPMux     bool
	PayloadType uint8
	// Constrained: the phone sends constrained baseline H.264 (else
	// baseline).
	Constrained bool
	// SingleNAL is packetization-mode 0: every packet carries one whole
	// NAL unit, so the encoder makes slices that fit one.
	SingleNAL bool
	// MaxMacroblocks is the largest picture the phone decodes: another
	// phone's H.264 within it is relayed rather than encoded anew.
	MaxMacroblocks int
	// Quality is what the phone receives.
	Quality VideoQuality
	// SRTP, if set, encrypts the video (its own SDES keys).
	SRTP *SRTP
}

// VideoQuality is the size, rate and bitrate of the H.264 a phone
// receives.
type VideoQuality struct {
	Width, Height, FPS int
	Bitrate            int // bits per second
}

// Video clock and packet sizes.
const (
	videoClock = 90000
	// videoMTU is the largest RTP payload sent; with packetization-mode 0
	// also the largest slice.
	videoMTU = 1100
	// keyframeRequestGap is the shortest time between two keyframe
	// requests to the phone: every lost packet of a frame would ask again.
	keyframeRequestGap = 300 * time.Millisecond
	// phoneFrames is how many of the phone's frames wait for the
	// conference: a few, so a slow reader drops rather than lags.
	phoneFrames = 4
)

// videoStream is the video of a call: H.264 from the phone, assembled into
// frames for the conference; the picture the bridge chooses, encoded in
// H.264 for the phone.
type videoStream struct {
	cfg     VideoConfig
	logger  *slog.Logger
	encoder *h264.Encoder // the send goroutine's

	// writeMu orders what goes to the phone: encoded frames, relayed
	// packets and keyframe requests, with their sequence numbers and the
	// encrypting context. decrypt is the receive goroutine's.
	writeMu          sync.Mutex
	encrypt, decrypt *srtp.Context
	sequence         uint16
	sendBuf, sealBuf []byte
	// Relaying another phone's H.264 as it is (under writeMu): on, still
	// waiting for its first keyframe, and its timestamps' offset to ours.
	relayOn, relayWaiting bool
	relayOffset           uint32
	source                atomic.Pointer[func()] // asks the relayed sender for a keyframe
	clockStart            time.Time
	clockBase             uint32

	remote    atomic.Pointer[netip.AddrPort]
	pt        atomic.Uint32 // the payload type agreed, which an answer or re-INVITE may change
	latched   atomic.Bool
	held      atomic.Bool
	phoneSSRC atomic.Uint32 // of the phone's video, once seen
	ssrc      uint32
	firSeq    uint8 // FIR command sequence, under writeMu
	lastAsked atomic.Int64
	wantKey   atomic.Bool // the phone asked us for a keyframe
	picture   atomic.Pointer[image.YCbCr]
	frames    chan h264.Frame
	closed    chan struct{}
	wg        sync.WaitGroup
	stats     struct{ received, sent, framesIn, framesOut, relayed atomic.Int64 }
	closeOnce sync.Once
}

func startVideo(cfg VideoConfig, logger *slog.Logger) (*videoStream, error) {
	if cfg.Conn == nil {
		return nil, errors.New("a video stream needs its RTP socket")
	}
	q := cfg.Quality
	if q.Width <= 0 || q.Height <= 0 || q.FPS <= 0 || q.Bitrate <= 0 {
		return nil, fmt.Errorf("video quality %dx%d at %d fps, %d bit/s: every number must be positive", q.Width, q.Height, q.FPS, q.Bitrate)
	}
	encoderConfig := h264.EncoderConfig{Width: q.Width, Height: q.Height, FPS: q.FPS, Bitrate: q.Bitrate}
	if cfg.SingleNAL {
		encoderConfig.MaxSlice = videoMTU
	}
	encoder, err := h264.NewEncoder(encoderConfig)
	if err != nil {
		return nil, err
	}
	var random [10]byte
	_, _ = rand.Read(random[:])
	v := &videoStream{cfg: cfg, logger: logger, encoder: encoder, ssrc: binary.BigEndian.Uint32(random[:4]),
		sequence: binary.BigEndian.Uint16(random[4:6]), clockBase: binary.BigEndian.Uint32(random[6:]), clockStart: time.Now(),
		sendBuf: make([]byte, maxPacket), sealBuf: make([]byte, maxPacket),
		frames: make(chan h264.Frame, phoneFrames), closed: make(chan struct{})}
	if cfg.SRTP != nil {
		if v.encrypt, v.decrypt, err = srtpContexts(cfg.SRTP); err != nil {
			_ = encoder.Close()
			return nil, err
		}
	}
	remote := cfg.Remote
	v.remote.Store(&remote)
	v.held.Store(isHold(remote))
	v.pt.Store(uint32(cfg.PayloadType))
	v.wg.Add(2)
	go v.receive()
	go v.send()
	return v, nil
}

// isHold says a remote address means "send nothing".
func isHold(remote netip.AddrPort) bool {
	return !remote.IsValid() || remote.Addr().IsUnspecified() || remote.Port() == 0
}

// negotiate takes a new address and payload type from an answer or a
// re-INVITE (zero: hold).
func (v *videoStream) negotiate(remote netip.AddrPort, payloadType uint8) {
	v.pt.Store(uint32(payloadType))
	held := isHold(remote)
	v.held.Store(held)
	if !held && !v.latched.Load() {
		v.remote.Store(&remote)
	}
}

func (v *videoStream) close() {
	v.closeOnce.Do(func() {
		close(v.closed)
		_ = v.cfg.Conn.Close()
	})
	v.wg.Wait()
	_ = v.encoder.Close()
}

// show sets the picture the phone sees from now on (nil: a dark screen).
func (v *videoStream) show(picture *image.YCbCr) { v.picture.Store(picture) }

// receive reads the phone's video and RTCP.
func (v *videoStream) receive() {
	defer v.wg.Done()
	buf, opened := make([]byte, maxPacket), make([]byte, maxPacket)
	var packet rtp.Packet
	assembler := &h264.Assembler{}
	waitKeyframe := false // after a loss, until the phone sends one
	for {
		n, from, err := v.cfg.Conn.ReadFrom(buf)
		if err != nil {
			select {
			case <-v.closed:
			default:
				v.logger.Warn("video RTP socket", slog.Any("error", err))
			}
			return
		}
		data := buf[:n]
		if isRTCP(data) {
			v.readRTCP(data, opened)
			continue
		}
		if v.decrypt != nil {
			if data, err = v.decrypt.DecryptRTP(opened[:0], data, nil); err != nil {
				continue
			}
		}
		if err := packet.Unmarshal(data); err != nil || packet.Version != 2 || uint32(packet.PayloadType) != v.pt.Load() {
			continue
		}
		source, ok := from.(*net.UDPAddr)
		if !ok {
			continue
		}
		sourceAddr := netip.AddrPortFrom(source.AddrPort().Addr().Unmap(), source.AddrPort().Port())
		if !v.latched.Load() {
			v.remote.Store(&sourceAddr)
			v.latched.Store(true)
		} else if sourceAddr != *v.remote.Load() {
			continue
		}
		v.stats.received.Add(1)
		v.phoneSSRC.Store(packet.SSRC)
		frame, complete := assembler.Push(&packet)
		if !complete {
			continue
		}
		if frame.AfterLoss {
			waitKeyframe = true
		}
		if waitKeyframe && !frame.Keyframe {
			// The conference would see a broken picture until the next
			// keyframe: ask for one now.
			v.askKeyframe()
			continue
		}
		waitKeyframe = false
		v.stats.framesIn.Add(1)
		select {
		case v.frames <- frame:
		default:
			// Nobody takes the phone's video fast enough (muted, or not
			// in a conference yet): the chain of frames is broken.
			waitKeyframe = true
		}
	}
}

// isRTCP tells RTCP from RTP on a muxed port by the packet type (RFC 5761).
func isRTCP(data []byte) bool {
	return len(data) >= 8 && data[0]>>6 == 2 && data[1] >= 192 && data[1] <= 223
}

// readRTCP takes the phone's keyframe requests.
func (v *videoStream) readRTCP(data, opened []byte) {
	var err error
	if v.decrypt != nil {
		if data, err = v.decrypt.DecryptRTCP(opened[:0], data, nil); err != nil {
			return
		}
	}
	packets, err := rtcp.Unmarshal(data)
	if err != nil {
		return
	}
	for _, packet := range packets {
		switch packet.(type) {
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			v.wantKey.Store(true)
		}
	}
}

// askKeyframe asks the phone for a keyframe by RTCP PLI and FIR (phones
// honour one or the other). Asks closer together than keyframeRequestGap
// are one.
func (v *videoStream) askKeyframe() {
	now := time.Now().UnixNano()
	last := v.lastAsked.Load()
	if now-last < int64(keyframeRequestGap) || !v.lastAsked.CompareAndSwap(last, now) {
		return
	}
	phoneSSRC := v.phoneSSRC.Load()
	remote := *v.remote.Load()
	if phoneSSRC == 0 || isHold(remote) {
		return // nothing came yet: the first frame is a keyframe anyway
	}
	if !v.cfg.RTCPMux {
		remote = netip.AddrPortFrom(remote.Addr(), remote.Port()+1)
	}
	v.writeMu.Lock()
	defer v.writeMu.Unlock()
	v.firSeq++
	data, err := rtcp.Marshal([]rtcp.Packet{
		&rtcp.ReceiverReport{SSRC: v.ssrc},
		&rtcp.PictureLossIndication{SenderSSRC: v.ssrc, MediaSSRC: phoneSSRC},
		&rtcp.FullIntraRequest{SenderSSRC: v.ssrc, FIR: []rtcp.FIREntry{{SSRC: phoneSSRC, SequenceNumber: v.firSeq}}},
	})
	if err != nil {
		return
	}
	if v.encrypt != nil {
		if data, err = v.encrypt.EncryptRTCP(nil, data, nil); err != nil {
			return
		}
	}
	_, _ = v.cfg.Conn.WriteTo(data, net.UDPAddrFromAddrPort(remote))
}

// send encodes what the phone sees, at the quality's frame rate, unless
// a relayed stream takes its place.
func (v *videoStream) send() {
	defer v.wg.Done()
	q := v.cfg.Quality
	ticker := time.NewTicker(time.Second / time.Duration(q.FPS))
	defer ticker.Stop()
	payloader := &codecs.H264Payloader{DisableStapA: v.cfg.SingleNAL}
	canvas := blankPicture(q.Width, q.Height)
	var shown *image.YCbCr
	for {
		var now time.Time
		select {
		case <-v.closed:
			return
		case now = <-ticker.C:
		}
		if v.held.Load() || isHold(*v.remote.Load()) {
			continue
		}
		if v.isRelaying() {
			if v.wantKey.Swap(false) {
				v.askSource()
			}
			continue
		}
		if picture := v.picture.Load(); picture != shown {
			shown = picture
			if picture == nil {
				canvas = blankPicture(q.Width, q.Height)
			} else {
				fitPicture(canvas, picture)
			}
		}
		frame, err := v.encoder.Encode(canvas, v.wantKey.Swap(false))
		if err != nil {
			v.logger.Error("encode H.264 for the phone", slog.Any("error", err))
			continue
		}
		if len(frame) == 0 { // the rate control skipped this one
			continue
		}
		v.stats.framesOut.Add(1)
		payloads := payloader.Payload(videoMTU, frame)
		timestamp := v.clock(now)
		v.writeMu.Lock()
		for i, payload := range payloads {
			v.writeLocked(&rtp.Packet{Header: rtp.Header{Version: 2, Timestamp: timestamp, Marker: i == len(payloads)-1}, Payload: payload})
		}
		v.writeMu.Unlock()
	}
}

// clock is the RTP timestamp of a moment: the same clock for encoded and
// relayed frames, so that switching between them keeps time.
func (v *videoStream) clock(at time.Time) uint32 {
	return v.clockBase + uint32(at.Sub(v.clockStart).Seconds()*videoClock)
}

// writeLocked sends a packet to the phone as ours (payload type, SSRC,
// the next sequence number); under writeMu.
func (v *videoStream) writeLocked(packet *rtp.Packet) {
	remote := *v.remote.Load()
	if v.held.Load() || isHold(remote) {
		return
	}
	packet.PayloadType, packet.SSRC, packet.SequenceNumber = uint8(v.pt.Load()), v.ssrc, v.sequence
	v.sequence++
	n, err := packet.MarshalTo(v.sendBuf)
	if err != nil {
		return
	}
	out := v.sendBuf[:n]
	if v.encrypt != nil {
		if out, err = v.encrypt.EncryptRTP(v.sealBuf[:0], out, nil); err != nil {
			return
		}
	}
	if _, err := v.cfg.Conn.WriteTo(out, net.UDPAddrFromAddrPort(remote)); err == nil {
		v.stats.sent.Add(1)
	}
}

// canRelay says whether H.264 of a picture size may go to the phone as
// it is, instead of encoded anew: the phone takes fragmented packets
// (packetization-mode 1) and pictures that big.
func (v *videoStream) canRelay(width, height int) bool {
	return !v.cfg.SingleNAL && macroblocks(width, height) <= v.cfg.MaxMacroblocks
}

// setRelay starts relaying H.264 to the phone (from its next keyframe,
// which ask requests) or, with a nil ask, stops and goes back to
// encoding, starting with a keyframe.
func (v *videoStream) setRelay(ask func()) {
	v.writeMu.Lock()
	v.relayOn, v.relayWaiting = ask != nil, ask != nil
	v.writeMu.Unlock()
	if ask == nil {
		v.source.Store(nil)
		v.wantKey.Store(true)
		return
	}
	v.source.Store(&ask)
	ask()
}

func (v *videoStream) isRelaying() bool {
	v.writeMu.Lock()
	defer v.writeMu.Unlock()
	return v.relayOn && !v.relayWaiting
}

// askSource asks the relayed stream's sender for a keyframe.
func (v *videoStream) askSource() {
	if ask := v.source.Load(); ask != nil {
		(*ask)()
	}
}

// relay sends a packet of the relayed H.264 to the phone, retimed onto
// the stream's clock; until its first keyframe the encoder goes on.
func (v *videoStream) relay(packet *rtp.Packet) {
	v.writeMu.Lock()
	defer v.writeMu.Unlock()
	if !v.relayOn {
		return
	}
	if v.relayWaiting {
		if !h264.StartsKeyframe(packet.Payload) {
			return
		}
		v.relayWaiting = false
		v.relayOffset = v.clock(time.Now()) - packet.Timestamp
	}
	out := *packet
	out.Header.Extension, out.Header.Extensions = false, nil
	out.Timestamp += v.relayOffset
	v.stats.relayed.Add(1)
	v.writeLocked(&out)
}

// phoneCamera is the phone's video as a participant.VideoSource: H.264
// frames as the phone sent them.
type phoneCamera struct {
	video  *videoStream
	last   uint32 // timestamp of the previous frame
	begun  bool
	closed chan struct{}
	once   sync.Once
}

func (c *phoneCamera) NextFrame(ctx context.Context) ([]byte, bool, time.Duration, error) {
	select {
	case frame := <-c.video.frames:
		duration := time.Second / 15 // a first frame: any plausible length
		if c.begun {
			if d := time.Duration(frame.Timestamp-c.last) * time.Second / videoClock; d > 0 && d < time.Second {
				duration = d
			}
		}
		c.last, c.begun = frame.Timestamp, true
		return frame.Data, frame.Keyframe, duration, nil
	case <-ctx.Done():
		return nil, false, 0, ctx.Err()
	case <-c.closed:
		return nil, false, 0, participant.ErrSourceClosed
	case <-c.video.closed:
		return nil, false, 0, participant.ErrSourceClosed
	}
}

func (c *phoneCamera) RequestKeyframe() { c.video.askKeyframe() }

func (c *phoneCamera) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

// Video qualities: the name of sip.video and what a phone receives at
// most. Phones whose H.264 level decodes less get the largest picture
// of the same shape it does.
var videoQualities = map[string]VideoQuality{
	"low":      {Width: 320, Height: 180, FPS: 15, Bitrate: 250_000},
	"standard": {Width: 640, Height: 360, FPS: 25, Bitrate: 800_000},
	"high":     {Width: 1280, Height: 720, FPS: 30, Bitrate: 2_000_000},
}

// macroblocks is the size of a picture in H.264's 16x16 macroblocks, the
// unit of the levels' limits.
func macroblocks(width, height int) int { return (width + 15) / 16 * ((height + 15) / 16) }

// videoSizes are the 16:9 pictures a quality steps down through.
var videoSizes = [][2]int{{1280, 720}, {960, 540}, {640, 360}, {480, 270}, {320, 180}, {192, 108}}

// QualityFor is what a phone that decodes pictures of up to
// maxMacroblocks (16x16) receives at the named quality.
func QualityFor(name string, maxMacroblocks int) (VideoQuality, error) {
	q, ok := videoQualities[name]
	if !ok {
		return VideoQuality{}, fmt.Errorf("video quality %q: low, standard or high", name)
	}
	for _, size := range videoSizes {
		w, h := size[0], size[1]
		if w > q.Width || macroblocks(w, h) > maxMacroblocks {
			continue
		}
		if w < q.Width {
			// Fewer pixels need fewer bits, by the 0.75 power as elsewhere.
			scale := math.Pow(float64(w*h)/float64(q.Width*q.Height), 0.75)
			q.Bitrate = int(float64(q.Bitrate) * scale)
		}
		q.Width, q.Height = w, h
		return q, nil
	}
	return VideoQuality{}, fmt.Errorf("the phone decodes pictures of %d macroblocks at most: too small for video", maxMacroblocks)
}
