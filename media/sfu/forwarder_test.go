package sfu

import (
	"testing"
	"time"
)

// testLayer produces the packets of one simulcast layer: its own sequence
// numbers, timestamps and picture IDs, a frame per packet.
type testLayer struct {
	index     int
	sequence  uint16
	timestamp uint32
	pictureID uint16
	tl0       uint8
}

func (l *testLayer) next(keyframe bool) forwarderInput {
	l.sequence++
	l.timestamp += 3000
	l.pictureID = (l.pictureID + 1) & 0x7fff
	if keyframe {
		l.tl0++
	}
	d := &vp8Descriptor{hasPictureID: true, pictureIDWide: true, pictureID: l.pictureID, hasTL0PicIndex: true, tl0PicIdx: l.tl0}
	return forwarderInput{layer: l.index, sequence: l.sequence, timestamp: l.timestamp, keyframe: keyframe, vp8: d}
}

func TestForwarderSwitchesLayersContinuously(t *testing.T) {
	f := newForwarder(90000, true)
	q := &testLayer{index: 0, sequence: 65000, timestamp: 4_000_000_000, pictureID: 32700, tl0: 250}
	h := &testLayer{index: 1, sequence: 100, timestamp: 12345, pictureID: 7, tl0: 3}
	now := time.Unix(1000, 0)

	var sent []forwarderOutput
	step := func(in forwarderInput) bool {
		now = now.Add(10 * time.Millisecond)
		out, ok := f.forward(in, now)
		if ok {
			sent = append(sent, out)
		}
		return ok
	}

	if step(h.next(true)) {
		t.Fatal("forwarded without a target")
	}
	f.setTarget(1)
	if step(h.next(false)) {
		t.Fatal("began layer h on a delta frame")
	}
	if !step(h.next(true)) {
		t.Fatal("did not begin layer h on its keyframe")
	}
	for range 5 {
		step(q.next(false))
		step(h.next(false))
	}
	f.setTarget(0)
	if !f.switchPending() {
		t.Fatal("switch to q not pending")
	}
	for range 3 {
		if step(q.next(false)) {
			t.Fatal("switched to q on a delta frame")
		}
		step(h.next(false)) // h goes on meanwhile
	}
	late := h.next(false)
	switchedAt := len(sent)
	if !step(q.next(true)) || f.current != 0 {
		t.Fatal("did not switch to q on its keyframe")
	}
	if step(late) {
		t.Fatal("forwarded h after switching to q")
	}
	for range 5 {
		step(q.next(false))
	}

	for i := 1; i < len(sent); i++ {
		if sent[i].sequence != sent[i-1].sequence+1 {
			t.Errorf("packet %d: sequence %d after %d", i, sent[i].sequence, sent[i-1].sequence)
		}
		if d := int32(sent[i].timestamp - sent[i-1].timestamp); d <= 0 {
			t.Errorf("packet %d: timestamp went back by %d", i, -d)
		}
		if want := (sent[i-1].pictureID + 1) & 0x7fff; sent[i].pictureID != want {
			t.Errorf("packet %d: picture ID %d, want %d", i, sent[i].pictureID, want)
		}
	}
	if !sent[0].began || !sent[switchedAt].began || sent[1].began || sent[switchedAt+1].began {
		t.Error("began not set exactly on the first packet of each layer")
	}
}

func TestForwarderDropsPacketsFromBeforeTheSwitch(t *testing.T) {
	f := newForwarder(90000, true)
	f.setTarget(0)
	now := time.Unix(0, 0)
	first, _ := f.forward(forwarderInput{sequence: 10, timestamp: 100, keyframe: true}, now)
	if _, ok := f.forward(forwarderInput{sequence: 9, timestamp: 97}, now); ok {
		t.Error("forwarded a packet older than where the layer began")
	}
	second, ok := f.forward(forwarderInput{sequence: 12, timestamp: 106}, now)
	third, late := f.forward(forwarderInput{sequence: 11, timestamp: 103}, now)
	if !ok || !late || second.sequence != first.sequence+2 || third.sequence != first.sequence+1 {
		t.Errorf("reordered packets mapped to %d, %d after %d", second.sequence, third.sequence, first.sequence)
	}
}

func TestForwarderPauseAndInterrupt(t *testing.T) {
	audio := newForwarder(48000, false)
	audio.setTarget(0)
	now := time.Unix(0, 0)
	out1, _ := audio.forward(forwarderInput{sequence: 500, timestamp: 9600}, now)
	audio.interrupt() // blocked for a while: the input skips 100 packets
	now = now.Add(2 * time.Second)
	out2, ok := audio.forward(forwarderInput{sequence: 600, timestamp: 9600 + 100*960}, now)
	if !ok || out2.sequence != out1.sequence+1 || !out2.began {
		t.Errorf("after an interruption: %+v (ok %v), want sequence %d", out2, ok, out1.sequence+1)
	}
	if got, want := out2.timestamp-out1.timestamp, uint32(2*48000); got != want {
		t.Errorf("timestamp advanced by %d over 2 s, want %d", got, want)
	}

	video := newForwarder(90000, true)
	video.setTarget(0)
	video.forward(forwarderInput{sequence: 1, keyframe: true}, now)
	video.setTarget(noLayer)
	if _, ok := video.forward(forwarderInput{sequence: 2, keyframe: true}, now); ok || video.current != noLayer {
		t.Error("forwarded while paused")
	}
	video.setTarget(0)
	if _, ok := video.forward(forwarderInput{sequence: 3}, now); ok {
		t.Error("resumed video without a keyframe")
	}
	if out, ok := video.forward(forwarderInput{sequence: 4, keyframe: true}, now); !ok || out.sequence != 2 {
		t.Errorf("resumed at sequence %d (ok %v), want 2", out.sequence, ok)
	}
}

// TestForwarderKeepsForwardingPastHalfTheSequenceSpace: a long meeting's
// audio (or a layer that never switches) goes on through any number of
// sequence wraps, and a late packet still goes out once the layer is far
// from where it began.
func TestForwarderKeepsForwardingPastHalfTheSequenceSpace(t *testing.T) {
	f := newForwarder(48000, false)
	f.setTarget(0)
	now := time.Unix(1000, 0)
	sequence := uint16(100)
	for i := range 3 * 65536 {
		now = now.Add(20 * time.Millisecond)
		out, ok := f.forward(forwarderInput{sequence: sequence, timestamp: uint32(i * 960)}, now)
		if !ok || out.sequence != sequence {
			t.Fatalf("packet %d (sequence %d) not forwarded as %d: %v %+v", i, sequence, sequence, ok, out)
		}
		sequence++
	}
	late := sequence - 5
	if _, ok := f.forward(forwarderInput{sequence: late, timestamp: 0}, now); !ok {
		t.Errorf("a retransmitted packet %d, long after the start, was dropped", late)
	}
}
