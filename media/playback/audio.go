package playback

import (
	"fmt"
	"log/slog"
	"math"
	"sort"
	"sync"

	"github.com/pion/rtp"
	"gopkg.in/hraban/opus.v2"
)

// Audio is played as 48 kHz mono 16-bit samples: Opus's own rate, so
// nothing is resampled here (the output device converts if it must).
const (
	SampleRate   = 48000
	frameSamples = SampleRate / 50 // 20 ms, the usual Opus packet
	maxSamples   = SampleRate / 8  // 120 ms, the longest Opus packet
)

// Jitter buffer sizes, in samples (= RTP timestamp ticks for Opus).
const (
	// jitterTarget is how much audio a stream buffers before it starts
	// playing, and again after it ran dry: enough to ride out ordinary
	// network jitter without adding much delay.
	jitterTarget = SampleRate * 60 / 1000
	// jitterLimit is the most a stream may buffer; beyond it (a burst, or a
	// sender whose clock runs fast) the oldest packets are dropped.
	jitterLimit = SampleRate * 200 / 1000
	// maxGap is the largest jump in timestamps taken as loss; a larger one
	// means the sender restarted or was muted, and the stream starts over.
	maxGap = SampleRate
)

// AudioStats counts what one remote participant's audio did.
type AudioStats struct {
	Packets   int64 // RTP packets received
	Late      int64 // packets that came after their time to play, dropped
	Dropped   int64 // packets dropped because the buffer overflowed
	Concealed int64 // 20 ms frames made up by Opus loss concealment
	Underruns int64 // times the stream ran dry and went back to buffering
	Played    int64 // samples played
}

// Audio decodes the Opus tracks of remote participants, mixes them and
// plays the mix on an Output. It is safe for concurrent use.
type Audio struct {
	output Output
	logger *slog.Logger

	mu       sync.Mutex
	streams  map[string]*audioStream
	excluded string // a participant left out of the mix
	mix      []int32
	closed   bool
}

// audioStream is one participant's audio: a jitter buffer of packets in
// timestamp order, decoded as the output asks for samples.
type audioStream struct {
	decoder *opus.Decoder
	packets []*rtp.Packet // sorted by timestamp, none before next while playing
	playing bool
	next    uint32  // RTP timestamp of the next sample to decode
	pcm     []int16 // decoded and not yet played
	decoded []int16 // scratch for the decoder
	level   float32
	stats   AudioStats
}

// NewAudio starts playing remote audio on output (OpenSpeaker or
// NullOutput); Close stops it and closes the output.
func NewAudio(output Output) (*Audio, error) {
	a := &Audio{output: output, logger: slog.Default().With(slog.String("component", "playback.audio")),
		streams: map[string]*audioStream{}}
	if err := output.Start(a.fill); err != nil {
		return nil, fmt.Errorf("start audio output %s: %w", output.Name(), err)
	}
	return a, nil
}

// Output names where the audio goes ("no audio output" for NullOutput).
func (a *Audio) Output() string { return a.output.Name() }

// Push hands over one RTP packet of a participant's microphone; the packet
// is Audio's from then on.
func (a *Audio) Push(participant string, packet *rtp.Packet) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	s := a.streams[participant]
	if s == nil {
		decoder, err := opus.NewDecoder(SampleRate, 1)
		if err != nil {
			a.logger.Error("no Opus decoder", slog.String("participant", participant), slog.Any("error", err))
			return
		}
		s = &audioStream{decoder: decoder, decoded: make([]int16, maxSamples)}
		a.streams[participant] = s
	}
	s.push(packet)
}

// Remove forgets a participant whose audio went away.
func (a *Audio) Remove(participant string) {
	a.mu.Lock()
	delete(a.streams, participant)
	a.mu.Unlock()
}

// Levels returns how loud each participant was just played, from 0
// (silent, or -60 dBFS and below) to 1 (full scale), on a decibel scale:
// enough for a speaking indicator.
func (a *Audio) Levels() map[string]float32 {
	a.mu.Lock()
	defer a.mu.Unlock()
	levels := make(map[string]float32, len(a.streams))
	for participant, s := range a.streams {
		levels[participant] = s.level
	}
	return levels
}

// Stats returns the counts of one participant's audio (zero if unknown).
func (a *Audio) Stats(participant string) AudioStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s := a.streams[participant]; s != nil {
		return s.stats
	}
	return AudioStats{}
}

// Close stops the output (waiting for it) and drops every stream.
func (a *Audio) Close() error {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	err := a.output.Close()
	a.mu.Lock()
	a.streams = map[string]*audioStream{}
	a.mu.Unlock()
	if err != nil {
		return fmt.Errorf("close audio output: %w", err)
	}
	return nil
}

// Exclude leaves one participant out of the mix (their packets are still
// taken and dropped): a phone in a conference must not hear its own voice.
func (a *Audio) Exclude(participant string) {
	a.mu.Lock()
	a.excluded = participant
	a.mu.Unlock()
}

// fill is the output's callback: it mixes the next len(out) samples of
// every stream, summing and limiting.
func (a *Audio) fill(out []int16) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if cap(a.mix) < len(out) {
		a.mix = make([]int32, len(out))
	}
	mix := a.mix[:len(out)]
	clear(mix)
	for participant, s := range a.streams {
		samples := s.read(len(out))
		if participant == a.excluded {
			continue
		}
		for i, sample := range samples {
			mix[i] += int32(sample)
		}
	}
	for i, sample := range mix {
		out[i] = limit(sample)
	}
}

// limiterKnee is where the limiter starts to bend: below it the mix is
// the plain sum.
const limiterKnee = 24576 // 3/4 of full scale

// limit brings a sum of samples into 16 bits without clipping: above the
// knee it bends smoothly (tanh) towards full scale, so that several loud
// speakers at once sound loud, not broken.
func limit(sum int32) int16 {
	magnitude := math.Abs(float64(sum))
	if magnitude <= limiterKnee {
		return int16(sum)
	}
	headroom := float64(math.MaxInt16 - limiterKnee)
	bent := limiterKnee + headroom*math.Tanh((magnitude-limiterKnee)/headroom)
	if sum < 0 {
		return int16(-math.Round(bent))
	}
	return int16(math.Round(bent))
}

func (s *audioStream) push(packet *rtp.Packet) {
	s.stats.Packets++
	if len(packet.Payload) == 0 {
		return
	}
	if s.playing {
		ahead := int32(packet.Timestamp - s.next)
		switch {
		case ahead < -maxGap || ahead > maxGap:
			s.restart()
		case ahead < 0:
			s.stats.Late++
			return
		}
	}
	at := sort.Search(len(s.packets), func(i int) bool { return int32(s.packets[i].Timestamp-packet.Timestamp) >= 0 })
	if at < len(s.packets) && s.packets[at].Timestamp == packet.Timestamp {
		return // a duplicate
	}
	s.packets = append(s.packets, nil)
	copy(s.packets[at+1:], s.packets[at:])
	s.packets[at] = packet
	for s.buffered() > jitterLimit {
		s.packets = s.packets[1:]
		s.stats.Dropped++
		if s.playing {
			s.next = s.packets[0].Timestamp
		}
	}
}

// restart forgets everything buffered, as for a new stream.
func (s *audioStream) restart() {
	s.packets, s.pcm, s.playing = nil, nil, false
}

// buffered is how much audio the packets waiting span, in samples, counting
// the last as one frame.
func (s *audioStream) buffered() int {
	if len(s.packets) == 0 {
		return 0
	}
	return int(s.packets[len(s.packets)-1].Timestamp-s.packets[0].Timestamp) + frameSamples
}

// read returns up to n samples to play now (fewer, or none, while
// buffering) and updates the level.
func (s *audioStream) read(n int) []int16 {
	if !s.playing {
		if s.buffered() < jitterTarget {
			s.level *= 0.8
			return nil
		}
		s.playing, s.next = true, s.packets[0].Timestamp
	}
	for len(s.pcm) < n {
		if len(s.packets) == 0 {
			s.stats.Underruns++
			s.playing = false
			break
		}
		head := s.packets[0]
		switch ahead := int32(head.Timestamp - s.next); {
		case ahead < 0:
			s.packets = s.packets[1:] // overtaken by concealment
			s.stats.Late++
		case ahead == 0:
			s.packets = s.packets[1:]
			decoded, err := s.decoder.Decode(head.Payload, s.decoded)
			if err != nil {
				decoded = s.conceal(nil, frameSamples)
			}
			s.pcm = append(s.pcm, s.decoded[:decoded]...)
			s.next += uint32(decoded)
		default:
			// A packet is missing: conceal it, from the next packet's
			// forward error correction if it carries any.
			var fec []byte
			if ahead <= frameSamples {
				fec = head.Payload // the lost packet was the one just before
			}
			missing := s.conceal(fec, min(int(ahead), frameSamples))
			s.pcm = append(s.pcm, s.decoded[:missing]...)
			s.next += uint32(missing)
			s.stats.Concealed++
		}
	}
	played := s.pcm[:min(n, len(s.pcm))]
	s.pcm = s.pcm[len(played):]
	s.stats.Played += int64(len(played))
	s.level = max(loudness(played), s.level*0.8)
	return played
}

// conceal fills s.decoded with samples standing in for lost audio and
// returns how many; Opus conceals in steps of 2.5 ms.
func (s *audioStream) conceal(next []byte, samples int) int {
	const step = SampleRate / 400
	samples = max(step, samples/step*step)
	pcm := s.decoded[:samples:samples]
	var err error
	if next != nil {
		err = s.decoder.DecodeFEC(next, pcm)
	} else {
		err = s.decoder.DecodePLC(pcm)
	}
	if err != nil {
		clear(pcm)
	}
	return samples
}

// loudness maps the RMS of samples onto 0..1 over -60..0 dBFS.
func loudness(samples []int16) float32 {
	if len(samples) == 0 {
		return 0
	}
	var sum float64
	for _, sample := range samples {
		sum += float64(sample) * float64(sample)
	}
	rms := math.Sqrt(sum/float64(len(samples))) / 32768
	if rms <= 0 {
		return 0
	}
	return float32(max(0, min(1, (20*math.Log10(rms)+60)/60)))
}
