package playback

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/pion/rtp"
	"gopkg.in/hraban/opus.v2"
)

// manualOutput is an Output the test drives: it pulls samples only when
// the test calls pull.
type manualOutput struct {
	fill func([]int16)
}

func (m *manualOutput) Start(fill func([]int16)) error { m.fill = fill; return nil }
func (m *manualOutput) Close() error                   { return nil }
func (m *manualOutput) Name() string                   { return "test output" }

func (m *manualOutput) pull(n int) []int16 {
	out := make([]int16, n)
	m.fill(out)
	return out
}

// toneStream makes the RTP packets of a participant speaking a tone.
type toneStream struct {
	t         *testing.T
	encoder   *opus.Encoder
	hz, level float64
	sequence  uint16
	timestamp uint32
	offset    int
}

func newToneStream(t *testing.T, hz, level float64) *toneStream {
	t.Helper()
	encoder, err := opus.NewEncoder(SampleRate, 1, opus.AppAudio)
	if err != nil {
		t.Fatal(err)
	}
	return &toneStream{t: t, encoder: encoder, hz: hz, level: level, sequence: 100, timestamp: 4_294_960_000}
}

func (s *toneStream) next() *rtp.Packet {
	pcm := make([]int16, frameSamples)
	for i := range pcm {
		pcm[i] = int16(s.level * 32767 * math.Sin(2*math.Pi*s.hz*float64(s.offset+i)/SampleRate))
	}
	s.offset += frameSamples
	data := make([]byte, 1500)
	n, err := s.encoder.Encode(pcm, data)
	if err != nil {
		s.t.Fatal(err)
	}
	p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: s.sequence, Timestamp: s.timestamp}, Payload: data[:n]}
	s.sequence++
	s.timestamp += frameSamples
	return p
}

func (s *toneStream) packets(n int) []*rtp.Packet {
	var packets []*rtp.Packet
	for range n {
		packets = append(packets, s.next())
	}
	return packets
}

func newTestAudio(t *testing.T) (*Audio, *manualOutput) {
	t.Helper()
	output := &manualOutput{}
	audio, err := NewAudio(output)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = audio.Close() })
	return audio, output
}

// play pushes packets for one participant into a fresh Audio and returns
// what it plays, 10 ms at a time as a sound card asks.
func play(t *testing.T, streams map[string][]*rtp.Packet, pulls int) []int16 {
	audio, output := newTestAudio(t)
	for participant, packets := range streams {
		for _, p := range packets {
			audio.Push(participant, p)
		}
	}
	var played []int16
	for range pulls {
		played = append(played, output.pull(480)...)
	}
	return played
}

// TestMixSumsAndLimits plays two participants together: the mix is the
// sum of each played alone while that stays below the limiter's knee, and
// above it bends towards full scale without clipping or wrapping around.
func TestMixSumsAndLimits(t *testing.T) {
	for _, c := range []struct {
		name        string
		levelA      float64
		levelB      float64
		wantLimited bool
	}{{"quiet", 0.2, 0.3, false}, {"loud", 0.7, 0.7, true}} { // each alone stays below the knee
		t.Run(c.name, func(t *testing.T) {
			a, b := newToneStream(t, 440, c.levelA).packets(10), newToneStream(t, 660, c.levelB).packets(10)
			aloneA := play(t, map[string][]*rtp.Packet{"a": a}, 20)
			aloneB := play(t, map[string][]*rtp.Packet{"b": b}, 20)
			mixed := play(t, map[string][]*rtp.Packet{"a": a, "b": b}, 20)
			limited, atFullScale := 0, 0
			for i := range mixed {
				sum := int32(aloneA[i]) + int32(aloneB[i])
				magnitude, got := math.Abs(float64(sum)), math.Abs(float64(mixed[i]))
				switch {
				case magnitude <= limiterKnee && int32(mixed[i]) != sum:
					t.Fatalf("sample %d: mixed %d, want the sum %d+%d = %d", i, mixed[i], aloneA[i], aloneB[i], sum)
				case magnitude > limiterKnee:
					limited++
					if got <= limiterKnee || got > magnitude || (sum < 0) != (mixed[i] < 0) {
						t.Fatalf("sample %d: the sum %d became %d", i, sum, mixed[i])
					}
				}
				if got >= math.MaxInt16 {
					atFullScale++
				}
			}
			if (limited > 0) != c.wantLimited {
				t.Errorf("%d samples went through the limiter", limited)
			}
			if atFullScale > len(mixed)/1000 {
				t.Errorf("%d samples at full scale: clipped", atFullScale)
			}
			if loudness(aloneA[4800:]) == 0 {
				t.Error("a plays nothing")
			}
		})
	}
}

// TestMixLeavesOutTheExcluded: a phone hears everyone but itself.
func TestMixLeavesOutTheExcluded(t *testing.T) {
	a, b := newToneStream(t, 440, 0.3).packets(10), newToneStream(t, 660, 0.3).packets(10)
	aloneA := play(t, map[string][]*rtp.Packet{"a": a}, 20)
	audio, output := newTestAudio(t)
	audio.Exclude("b")
	for i := range a {
		audio.Push("a", a[i])
		audio.Push("b", b[i])
	}
	for i := range 20 {
		got := output.pull(480)
		for j, sample := range got {
			if want := aloneA[i*480+j]; sample != want {
				t.Fatalf("sample %d: %d, want %d (a alone)", i*480+j, sample, want)
			}
		}
	}
}

// TestJitterBufferOrdersAndDropsLate plays a stream whose packets arrive
// out of order, one too late and one never.
func TestJitterBufferOrdersAndDropsLate(t *testing.T) {
	audio, output := newTestAudio(t)
	packets := newToneStream(t, 440, 0.3).packets(20)
	// Buffering: nothing plays before 60 ms (three packets) are there.
	audio.Push("a", packets[1])
	audio.Push("a", packets[0])
	if out := output.pull(960); loudness(out) != 0 {
		t.Error("played before the buffer filled")
	}
	audio.Push("a", packets[2])
	var played int
	for range 2 {
		played += countSound(output.pull(960))
	}
	if played == 0 {
		t.Fatal("nothing played after the buffer filled")
	}
	// Packet 3 is lost; 4 and 5 come; then 3 comes after its time.
	audio.Push("a", packets[5])
	audio.Push("a", packets[4])
	output.pull(960) // packet 2
	output.pull(960) // packet 3's time: concealed
	audio.Push("a", packets[3])
	output.pull(960 * 2)
	stats := audio.Stats("a")
	if stats.Concealed != 1 || stats.Late != 1 || stats.Packets != 6 {
		t.Errorf("stats %+v, want 1 concealed, 1 late, 6 packets", stats)
	}
	// The stream ran dry: it buffers again.
	output.pull(960)
	if stats := audio.Stats("a"); stats.Underruns == 0 {
		t.Errorf("no underrun counted: %+v", stats)
	}
	if levels := audio.Levels(); levels["a"] <= 0 {
		t.Errorf("levels %v", levels)
	}
	audio.Remove("a")
	if levels := audio.Levels(); len(levels) != 0 {
		t.Errorf("levels after Remove: %v", levels)
	}
}

// TestJitterBufferBounded: a burst beyond 200 ms drops the oldest audio
// rather than lag behind.
func TestJitterBufferBounded(t *testing.T) {
	audio, output := newTestAudio(t)
	for _, p := range newToneStream(t, 440, 0.3).packets(50) {
		audio.Push("a", p)
	}
	stats := audio.Stats("a")
	if want := int64(50 - jitterLimit/frameSamples); stats.Dropped != want {
		t.Errorf("dropped %d, want %d", stats.Dropped, want)
	}
	output.pull(jitterLimit)
	if stats := audio.Stats("a"); stats.Played != jitterLimit || stats.Underruns != 0 {
		t.Errorf("stats %+v", stats)
	}
}

func countSound(samples []int16) int {
	n := 0
	for _, s := range samples {
		if s != 0 {
			n++
		}
	}
	return n
}

// TestNullOutputPlaysNothingButKeepsTime: on a machine without sound the
// mix still drains at real time, and says where it goes.
func TestNullOutputPlaysNothingButKeepsTime(t *testing.T) {
	audio, err := NewAudio(NullOutput())
	if err != nil {
		t.Fatal(err)
	}
	if audio.Output() != "no audio output" {
		t.Errorf("output named %q", audio.Output())
	}
	for _, p := range newToneStream(t, 440, 0.3).packets(10) {
		audio.Push("a", p)
	}
	deadline := time.Now().Add(5 * time.Second)
	for audio.Stats("a").Played < 5*frameSamples {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v", audio.Stats("a"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := audio.Close(); err != nil {
		t.Fatal(err)
	}
	played := audio.Stats("a").Played
	time.Sleep(60 * time.Millisecond)
	if audio.Stats("a").Played != played {
		t.Error("still playing after Close")
	}
}

// TestOpenSpeaker opens the default sound output if there is one; where
// there is none (CI) the error must say so, not crash.
func TestOpenSpeaker(t *testing.T) {
	speakers, err := Speakers()
	t.Logf("speakers: %+v (error %v)", speakers, err)
	output, err := OpenSpeaker("")
	if err != nil {
		if !errors.Is(err, ErrNoAudioOutput) {
			t.Fatalf("error %v does not say there is no audio output", err)
		}
		t.Logf("as expected without sound: %v", err)
		return
	}
	audio, err := NewAudio(output)
	if err != nil {
		t.Fatal(err)
	}
	if err := audio.Close(); err != nil {
		t.Fatal(err)
	}
}
