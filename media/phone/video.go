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

	// encrypt is used by the sender and by keyframe requests, under
	// writeMu; decrypt by the receive goroutine only.
	writeMu          sync.Mutex
	encrypt, decrypt *srtp.Context

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
	stats     struct{ received, sent, framesIn, framesOut atomic.Int64 }
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
	var random [4]byte
	_, _ = rand.Read(random[:])
	v := &videoStream{cfg: cfg, logger: logger, encoder: encoder, ssrc: binary.BigEndian.Uint32(random[:]),
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

// send encodes what the phone sees, at the quality's frame rate.
func (v *videoStream) send() {
	defer v.wg.Done()
	q := v.cfg.Quality
	interval := time.Second / time.Duration(q.FPS)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	packetizer := rtp.NewPacketizer(videoMTU+12, v.cfg.PayloadType, v.ssrc,
		&codecs.H264Payloader{DisableStapA: v.cfg.SingleNAL}, rtp.NewRandomSequencer(), videoClock)
	canvas := blankPicture(q.Width, q.Height)
	var shown *image.YCbCr
	buf, sealed := make([]byte, maxPacket), make([]byte, maxPacket)
	last := time.Now()
	for {
		var now time.Time
		select {
		case <-v.closed:
			return
		case now = <-ticker.C:
		}
		ticks := uint32(now.Sub(last).Seconds() * videoClock)
		last = now
		remote := *v.remote.Load()
		if v.held.Load() || isHold(remote) {
			packetizer.SkipSamples(ticks)
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
			packetizer.SkipSamples(ticks)
			continue
		}
		v.stats.framesOut.Add(1)
		v.writeMu.Lock()
		for _, packet := range packetizer.Packetize(frame, ticks) {
			packet.PayloadType = uint8(v.pt.Load())
			n, err := packet.MarshalTo(buf)
			if err != nil {
				continue
			}
			out := buf[:n]
			if v.encrypt != nil {
				if out, err = v.encrypt.EncryptRTP(sealed[:0], out, nil); err != nil {
					continue
				}
			}
			if _, err := v.cfg.Conn.WriteTo(out, net.UDPAddrFromAddrPort(remote)); err == nil {
				v.stats.sent.Add(1)
			}
		}
		v.writeMu.Unlock()
	}
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

// videoSizes are the 16:9 pictures a quality steps down through.
var videoSizes = [][2]int{{1280, 720}, {960, 540}, {640, 360}, {480, 270}, {320, 180}, {192, 108}}

// QualityFor is what a phone that decodes pictures of up to
// maxMacroblocks (16x16) receives at the named quality.
func QualityFor(name string, maxMacroblocks int) (VideoQuality, error) {
	q, ok := videoQualities[name]
	if !ok {
		return VideoQuality{}, fmt.Errorf("video quality %q: low, standard or high", name)
	}
	macroblocks := func(w, h int) int { return (w + 15) / 16 * ((h + 15) / 16) }
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
