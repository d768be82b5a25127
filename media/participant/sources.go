package participant

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/parleyhq/parley/media/synth"
)

// VideoSource is one encoded VP8 (or, with Options.VideoH264, H.264)
// stream of a camera: a simulcast layer, or the only one. The participant calls NextFrame from one goroutine and
// RequestKeyframe from any.
type VideoSource interface {
	// NextFrame blocks until the next frame (or ctx ends) and returns it
	// with its duration, which advances the RTP timestamp.
	NextFrame(ctx context.Context) (frame []byte, keyframe bool, duration time.Duration, err error)
	// RequestKeyframe makes a coming frame a keyframe, for a receiver that
	// lost packets or a layer switch.
	RequestKeyframe()
	Close() error
}

// AudioSource is a microphone's Opus packets, normally 20 ms each.
type AudioSource interface {
	// NextPacket blocks until the next packet (or ctx ends). level is the
	// RFC 6464 audio level in -dBov (0 loudest, 127 silence) and voice
	// whether the packet holds speech, both for the audio-level header
	// extension that the server picks the active speaker from.
	NextPacket(ctx context.Context) (packet []byte, duration time.Duration, level uint8, voice bool, err error)
	Close() error
}

// ErrSourceClosed is what a source's Next method returns once it is closed.
var ErrSourceClosed = errors.New("media source closed")

// Pacer paces a synthetic source by a ticker, and ends its waits on
// Close: embedded, it gives a source its Close.
type Pacer struct {
	ticker *time.Ticker
	closed chan struct{}
	once   sync.Once
}

// NewPacer ticks every interval.
func NewPacer(interval time.Duration) Pacer {
	return Pacer{ticker: time.NewTicker(interval), closed: make(chan struct{})}
}

// Wait waits for the next tick; it fails once ctx ends or the pacer closes.
func (t *Pacer) Wait(ctx context.Context) error {
	select {
	case <-t.ticker.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.closed:
		return ErrSourceClosed
	}
}

// Close stops the pacer: waits then fail with ErrSourceClosed.
func (t *Pacer) Close() error {
	t.once.Do(func() {
		t.ticker.Stop()
		close(t.closed)
	})
	return nil
}

// synthVideo is media/synth's moving test picture at a steady frame rate.
type synthVideo struct {
	Pacer
	video *synth.Video
}

// SynthVideo returns a video source of media/synth's test picture (pure
// Go, no cgo), width x height at fps frames a second.
func SynthVideo(width, height, fps int) VideoSource {
	return &synthVideo{Pacer: NewPacer(time.Second / time.Duration(fps)), video: synth.NewVideo(width, height, fps)}
}

func (s *synthVideo) NextFrame(ctx context.Context) ([]byte, bool, time.Duration, error) {
	if err := s.Wait(ctx); err != nil {
		return nil, false, 0, err
	}
	frame, keyframe, duration := s.video.Next()
	return frame, keyframe, duration, nil
}

func (s *synthVideo) RequestKeyframe() { s.video.RequestKeyframe() }

// synthAudio is media/synth's silent Opus packets, every 20 ms, announced
// as speech or silence.
type synthAudio struct {
	Pacer
	audio    *synth.Audio
	speaking bool
}

// SynthAudio returns an audio source of Opus silence whose audio level
// says speech when speaking is set: the server's speaker detection sees
// someone talk without anything to hear.
func SynthAudio(speaking bool) AudioSource {
	audio := synth.NewAudio()
	audio.SetSpeaking(speaking)
	return &synthAudio{Pacer: NewPacer(20 * time.Millisecond), audio: audio, speaking: speaking}
}

func (s *synthAudio) NextPacket(ctx context.Context) ([]byte, time.Duration, uint8, bool, error) {
	if err := s.Wait(ctx); err != nil {
		return nil, 0, 0, false, err
	}
	packet, duration := s.audio.Next()
	return packet, duration, s.audio.Level(), s.speaking, nil
}
