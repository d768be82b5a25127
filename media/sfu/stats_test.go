package sfu

import (
	"math"
	"testing"
	"time"
)

func TestReceptionStats(t *testing.T) {
	s := newReceptionStats(90000)
	start := time.Unix(0, 0)
	sequence, timestamp := uint16(65500), uint32(4_294_960_000) // both wrap during the test
	for i := range 300 {
		now := start.Add(time.Duration(i) * 10 * time.Millisecond)
		if i%10 != 3 { // lose one packet in ten
			s.observe(sequence, timestamp, 1000, now)
		}
		sequence++
		timestamp += 900 // 10 ms at 90 kHz: packets arrive exactly on time
	}
	loss, jitter := s.lossAndJitter()
	if math.Abs(loss-0.1) > 0.02 {
		t.Errorf("loss %.3f, want 0.1", loss)
	}
	if jitter > 1 {
		t.Errorf("jitter %.2f ms for packets on time, want ~0", jitter)
	}
	if bitrate := s.currentBitrate(); math.Abs(bitrate-720_000) > 80_000 {
		t.Errorf("bitrate %.0f b/s, want 720000", bitrate)
	}
	if !s.active(start.Add(3*time.Second)) || s.active(start.Add(10*time.Second)) {
		t.Error("activity does not follow the last packet")
	}
	if got := qualityScore(loss, jitter); got != 2 {
		t.Errorf("quality with 10%% loss = %d, want 2", got)
	}
}

func TestQualityScore(t *testing.T) {
	cases := []struct {
		loss, jitter float64
		want         int
	}{
		{0, 5, 5}, {0.02, 10, 4}, {0, 40, 4}, {0.05, 10, 3}, {0.1, 10, 2}, {0.3, 10, 1}, {0, 500, 1},
	}
	for _, c := range cases {
		if got := qualityScore(c.loss, c.jitter); got != c.want {
			t.Errorf("qualityScore(%.2f, %.0f ms) = %d, want %d", c.loss, c.jitter, got, c.want)
		}
	}
}
