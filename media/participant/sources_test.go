package participant

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestGateHoldsSendersWhileMuted checks the mute switch the senders wait
// on, and that it counts the time muted, which RTP timestamps skip.
func TestGateHoldsSendersWhileMuted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	g := newGate(true)
	opened := make(chan time.Duration)
	go func() {
		total, err := g.waitOpen(ctx)
		if err != nil {
			t.Error(err)
		}
		opened <- total
	}()
	select {
	case <-opened:
		t.Fatal("a muted gate let a sender through")
	case <-time.After(50 * time.Millisecond):
	}
	g.set(false)
	if total := <-opened; total < 50*time.Millisecond {
		t.Errorf("muted for %v, counted %v", 50*time.Millisecond, total)
	}
	g.set(false) // unmuting twice changes nothing
	if g.isMuted() {
		t.Error("muted after unmuting")
	}
	g.set(true)
	short, cancelShort := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancelShort()
	if _, err := g.waitOpen(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting on a muted gate ended with %v", err)
	}
}

// TestSynthSourcesKeepTheirPace checks the synthetic sources' frame rate,
// durations and levels, and that Close ends a wait.
func TestSynthSourcesKeepTheirPace(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	video := SynthVideo(320, 180, 20)
	start := time.Now()
	for n := range 10 {
		frame, keyframe, duration, err := video.NextFrame(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(frame) == 0 || keyframe != (n == 0) || duration != 50*time.Millisecond {
			t.Errorf("frame %d: %d bytes, keyframe %v, lasts %v", n, len(frame), keyframe, duration)
		}
	}
	if elapsed := time.Since(start); elapsed < 450*time.Millisecond {
		t.Errorf("10 frames at 20 fps took %v", elapsed)
	}
	video.RequestKeyframe()
	if _, keyframe, _, _ := video.NextFrame(ctx); !keyframe {
		t.Error("no keyframe on request")
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		_ = video.Close()
	}()
	for {
		if _, _, _, err := video.NextFrame(ctx); err != nil {
			if !errors.Is(err, ErrSourceClosed) {
				t.Errorf("after Close: %v", err)
			}
			break
		}
	}

	for _, speaking := range []bool{true, false} {
		audio := SynthAudio(speaking)
		packet, duration, level, voice, err := audio.NextPacket(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(packet) == 0 || duration != 20*time.Millisecond || voice != speaking || (level == 127) == speaking {
			t.Errorf("speaking %v: %d bytes, %v, level %d, voice %v", speaking, len(packet), duration, level, voice)
		}
		_ = audio.Close()
	}
}
