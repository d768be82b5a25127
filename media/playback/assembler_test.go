package playback

import (
	"bytes"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// testStream packetizes made-up VP8 frames of 3000 bytes (three packets
// each); byte 0 of each frame says keyframe (even) or not, byte 1 numbers
// the frame.
type testStream struct {
	packetizer rtp.Packetizer
}

func newTestStream() *testStream {
	return &testStream{rtp.NewPacketizer(1200, 96, 1, &codecs.VP8Payloader{EnablePictureID: true}, rtp.NewFixedSequencer(65530), 90000)}
}

func (s *testStream) frame(n int, keyframe bool) ([]byte, []*rtp.Packet) {
	data := bytes.Repeat([]byte{byte(n)}, 3000)
	data[0] = 1
	if keyframe {
		data[0] = 0
	}
	data[1] = byte(n)
	return data, s.packetizer.Packetize(data, 3000)
}

func push(a *vp8Assembler, packets ...*rtp.Packet) []assembledFrame {
	var frames []assembledFrame
	for _, p := range packets {
		frames = append(frames, a.push(p)...)
	}
	return frames
}

func TestAssemblerJoinsFramesInOrder(t *testing.T) {
	s, a := newTestStream(), newVP8Assembler()
	// Across the sequence number wrap, with packets of a frame reordered.
	for n := range 4 {
		data, packets := s.frame(n, n == 0)
		if len(packets) != 3 {
			t.Fatalf("%d packets", len(packets))
		}
		if frames := push(a, packets[2], packets[0]); len(frames) != 0 {
			t.Fatalf("frame %d complete without its middle", n)
		}
		frames := push(a, packets[1])
		if len(frames) != 1 || !bytes.Equal(frames[0].data, data) || frames[0].afterLoss {
			t.Fatalf("frame %d: %d frames, after loss %v", n, len(frames), len(frames) > 0 && frames[0].afterLoss)
		}
		if isKeyframe(frames[0].data) != (n == 0) {
			t.Errorf("frame %d keyframe %v", n, isKeyframe(frames[0].data))
		}
	}
}

func TestAssemblerGivesUpOnLostPackets(t *testing.T) {
	s, a := newTestStream(), newVP8Assembler()
	_, first := s.frame(0, true)
	if frames := push(a, first...); len(frames) != 1 {
		t.Fatal("the first frame did not come out")
	}
	_, lost := s.frame(1, false)
	push(a, lost[0], lost[2]) // lost[1] never comes
	// Frames keep arriving behind the gap; after 250 ms worth (of 3000
	// ticks each) the gap is given up on.
	var out []assembledFrame
	for n := 2; n < 12; n++ {
		_, packets := s.frame(n, false)
		out = append(out, push(a, packets...)...)
	}
	if len(out) == 0 {
		t.Fatal("nothing after the loss")
	}
	if !out[0].afterLoss {
		t.Error("the first frame after the gap is not marked as after a loss")
	}
	if out[0].data[1] != 2 {
		t.Errorf("resumed with frame %d, want 2", out[0].data[1])
	}
	for _, f := range out[1:] {
		if f.afterLoss {
			t.Error("a later frame is marked as after a loss")
		}
	}
	// The lost packet, arriving now, is too late and ignored.
	if frames := push(a, lost[1]); len(frames) != 0 {
		t.Error("a late packet made a frame")
	}
}

func TestAssemblerSkipsPaddingAndJoinsMidStream(t *testing.T) {
	s, a := newTestStream(), newVP8Assembler()
	_, skipped := s.frame(0, true)
	// Joining in the middle of a frame: its tail is useless.
	if frames := push(a, skipped[1:]...); len(frames) != 0 {
		t.Fatal("a frame without its start")
	}
	data, packets := s.frame(1, false)
	frames := push(a, packets...)
	if len(frames) != 1 || !bytes.Equal(frames[0].data, data) || !frames[0].afterLoss {
		t.Fatalf("after joining mid-frame: %d frames", len(frames))
	}
	// A padding packet between frames takes a sequence number.
	padding := &rtp.Packet{Header: rtp.Header{SequenceNumber: packets[2].SequenceNumber + 1, Timestamp: packets[2].Timestamp}}
	push(a, padding)
	_, next := s.frame(2, false)
	for _, p := range next {
		p.SequenceNumber++
	}
	frames = push(a, next...)
	if len(frames) != 1 || frames[0].afterLoss {
		t.Fatalf("after padding: %d frames", len(frames))
	}
}
