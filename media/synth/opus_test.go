package synth

import (
	"sync"
	"testing"
	"time"
)

// opusConfigDuration is the frame duration of each Opus TOC configuration
// (RFC 6716 section 3.1, Table 2).
func opusConfigDuration(config byte) time.Duration {
	ms := func(tenths int) time.Duration { return time.Duration(tenths) * time.Millisecond / 10 }
	switch {
	case config < 12: // SILK-only: 10, 20, 40, 60 ms
		return []time.Duration{ms(100), ms(200), ms(400), ms(600)}[config%4]
	case config < 16: // Hybrid: 10, 20 ms
		return []time.Duration{ms(100), ms(200)}[config%2]
	default: // CELT-only: 2.5, 5, 10, 20 ms
		return []time.Duration{ms(25), ms(50), ms(100), ms(200)}[config%4]
	}
}

func TestAudioPackets(t *testing.T) {
	a := NewAudio()
	for range 3 {
		p, d := a.Next()
		if d != 20*time.Millisecond {
			t.Errorf("duration %v, want 20ms", d)
		}
		if len(p) < 2 {
			t.Fatalf("packet %x has no frame", p)
		}
		toc := p[0]
		// Code 0 means the packet holds exactly one frame (section 3.2.2), so
		// the configuration's frame duration is the packet's.
		if code := toc & 3; code != 0 {
			t.Errorf("TOC %#x has frame count code %d, want 0", toc, code)
		}
		if got := opusConfigDuration(toc >> 3); got != 20*time.Millisecond {
			t.Errorf("TOC %#x configuration %d has %v frames, want 20ms", toc, toc>>3, got)
		}
		p[0] = 0 // the caller owns the packet: changing it must not change the next
	}
}

func TestAudioLevel(t *testing.T) {
	a := NewAudio()
	if l := a.Level(); l != 127 {
		t.Errorf("new source's level %d, want 127 (silence)", l)
	}
	a.SetSpeaking(true)
	if l := a.Level(); l > 40 {
		t.Errorf("speaking level %d, want a speech level (at most 40)", l)
	}
	a.SetSpeaking(false)
	if l := a.Level(); l != 127 {
		t.Errorf("silent level %d, want 127", l)
	}

	// The speaking state is set from one goroutine and read from another.
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 1000 {
			a.SetSpeaking(i%2 == 0)
		}
	})
	for range 1000 {
		a.Next()
		a.Level()
	}
	wg.Wait()
}
