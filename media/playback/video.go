package playback

import (
	"image"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// trackQueue is how many packets of one track may wait for its decoder; a
// decoder that falls further behind loses packets and waits for a keyframe.
const trackQueue = 512

// keyframeRetry is how long a decoder waits for the keyframe it asked for
// before asking again.
const keyframeRetry = time.Second

// FrameFunc receives each decoded picture of a remote video track, in the
// track's own goroutine: one call per decoded frame, so never faster than
// the sender's frame rate. The picture is the callee's to keep.
type FrameFunc func(participant, source string, picture image.Image)

// VideoStats counts what one remote video track decoded.
type VideoStats struct {
	Packets            int64 // RTP packets received
	FramesDecoded      int64
	FramesDropped      int64 // whole frames skipped while waiting for a keyframe, or undecodable
	KeyframesRequested int64
	Width, Height      int // of the last decoded picture
}

// Video decodes the VP8 and H.264 tracks of remote participants into
// pictures. Feed it with Push (or through Sink); it is safe for
// concurrent use.
type Video struct {
	onFrame FrameFunc
	logger  *slog.Logger
	request atomic.Pointer[func(participant, source string)]

	mu     sync.Mutex
	tracks map[trackKey]*videoTrack
	closed bool
}

type trackKey struct{ participant, source string }

// videoTrack is one remote video track and the goroutine decoding it.
type videoTrack struct {
	key     trackKey
	packets chan *rtp.Packet
	done    chan struct{}

	statsMu sync.Mutex
	stats   VideoStats
}

// NewVideo returns a decoder of remote video that hands each picture to
// onFrame.
func NewVideo(onFrame FrameFunc) *Video {
	return &Video{onFrame: onFrame, logger: slog.Default().With(slog.String("component", "playback.video")),
		tracks: map[trackKey]*videoTrack{}}
}

// OnKeyframeNeeded sets how to ask a sender for a keyframe when packets
// were lost (participant.Participant.RequestKeyframe, typically). Without
// it a decoder waits for the next keyframe the sender makes by itself.
func (v *Video) OnKeyframeNeeded(request func(participant, source string)) {
	v.request.Store(&request)
}

// Push hands over one RTP packet of a remote video track in codec
// (video/VP8 or video/H264); the packet is Video's from then on. Packets
// of a track that has no decoder yet start one.
func (v *Video) Push(participant, source, codec string, packet *rtp.Packet) {
	key := trackKey{participant, source}
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return
	}
	track := v.tracks[key]
	if track == nil {
		decoder, err := newPictureDecoder(codec)
		if err != nil {
			v.mu.Unlock()
			v.logger.Error("no decoder", slog.String("track", participant+"/"+source), slog.Any("error", err))
			return
		}
		track = &videoTrack{key: key, packets: make(chan *rtp.Packet, trackQueue), done: make(chan struct{})}
		v.tracks[key] = track
		go v.decode(track, decoder)
	}
	track.count(func(s *VideoStats) { s.Packets++ })
	// Under v.mu, so that Remove and Close cannot close the queue meanwhile.
	select {
	case track.packets <- packet:
	default:
		// The decoder is behind: this packet is lost to it, which the
		// assembler sees as a gap.
	}
	v.mu.Unlock()
}

// Remove stops decoding a track that went away and waits for its
// goroutine.
func (v *Video) Remove(participant, source string) {
	key := trackKey{participant, source}
	v.mu.Lock()
	track := v.tracks[key]
	delete(v.tracks, key)
	v.mu.Unlock()
	if track != nil {
		close(track.packets)
		<-track.done
	}
}

// Stats returns the counts of one remote track (zero if unknown).
func (v *Video) Stats(participant, source string) VideoStats {
	v.mu.Lock()
	track := v.tracks[trackKey{participant, source}]
	v.mu.Unlock()
	if track == nil {
		return VideoStats{}
	}
	track.statsMu.Lock()
	defer track.statsMu.Unlock()
	return track.stats
}

// Close stops every decoder and waits for them.
func (v *Video) Close() error {
	v.mu.Lock()
	v.closed = true
	tracks := v.tracks
	v.tracks = map[trackKey]*videoTrack{}
	v.mu.Unlock()
	for _, track := range tracks {
		close(track.packets)
		<-track.done
	}
	return nil
}

// decode runs for one track: packets in, frames assembled and decoded,
// pictures out. After a loss it skips frames until a keyframe, which it
// asks the sender for.
func (v *Video) decode(track *videoTrack, decoder pictureDecoder) {
	defer close(track.done)
	defer decoder.close()
	assembler := decoder.assembler()
	needKeyframe := true
	var askedAt time.Time
	ask := func() {
		if time.Since(askedAt) < keyframeRetry {
			return
		}
		askedAt = time.Now()
		if request := v.request.Load(); request != nil {
			(*request)(track.key.participant, track.key.source)
			track.count(func(s *VideoStats) { s.KeyframesRequested++ })
		}
	}
	for packet := range track.packets {
		for _, frame := range assembler.push(packet) {
			if frame.afterLoss {
				needKeyframe = true
			}
			if needKeyframe && !decoder.isKeyframe(frame.data) {
				track.count(func(s *VideoStats) { s.FramesDropped++ })
				ask()
				continue
			}
			picture, err := decoder.decode(frame.data)
			if err != nil {
				v.logger.Debug("undecodable frame", slog.String("track", track.key.participant+"/"+track.key.source), slog.Any("error", err))
				track.count(func(s *VideoStats) { s.FramesDropped++ })
				needKeyframe = true
				ask()
				continue
			}
			needKeyframe = false
			if picture == nil {
				continue
			}
			track.count(func(s *VideoStats) {
				s.FramesDecoded++
				s.Width, s.Height = picture.Rect.Dx(), picture.Rect.Dy()
			})
			if v.onFrame != nil {
				v.onFrame(track.key.participant, track.key.source, picture)
			}
		}
	}
}

func (t *videoTrack) count(update func(*VideoStats)) {
	t.statsMu.Lock()
	update(&t.stats)
	t.statsMu.Unlock()
}
