package h264

import (
	"image"
	"math"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// gradient is a picture with detail for the encoder to keep.
func gradient(width, height, shift int) *image.YCbCr {
	picture := image.NewYCbCr(image.Rect(0, 0, width, height), image.YCbCrSubsampleRatio420)
	for y := range height {
		for x := range width {
			picture.Y[y*picture.YStride+x] = uint8((x + 2*y + shift) % 256)
		}
	}
	for i := range picture.Cb {
		picture.Cb[i], picture.Cr[i] = 90, 200
	}
	return picture
}

// psnr compares the luma of two pictures of the same size, in dB.
func psnr(a, b *image.YCbCr) float64 {
	var sum float64
	w, h := a.Rect.Dx(), a.Rect.Dy()
	for y := range h {
		for x := range w {
			d := float64(a.Y[y*a.YStride+x]) - float64(b.Y[y*b.YStride+x])
			sum += d * d
		}
	}
	if sum == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(sum/float64(w*h)))
}

// TestRoundTrip encodes, packetizes, assembles and decodes, in both
// packetization modes.
func TestRoundTrip(t *testing.T) {
	for _, c := range []struct {
		name     string
		maxSlice int
		payload  codecs.H264Payloader
	}{
		{"mode 1", 0, codecs.H264Payloader{}},
		{"mode 0", 1100, codecs.H264Payloader{DisableStapA: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			encoder, err := NewEncoder(EncoderConfig{Width: 320, Height: 180, FPS: 15, Bitrate: 600_000, MaxSlice: c.maxSlice})
			if err != nil {
				t.Fatal(err)
			}
			defer encoder.Close()
			decoder, err := NewDecoder()
			if err != nil {
				t.Fatal(err)
			}
			defer decoder.Close()
			packetizer := rtp.NewPacketizer(1200, 96, 1, &c.payload, rtp.NewRandomSequencer(), 90000)
			assembler := &Assembler{}
			decoded := 0
			for i := range 10 {
				original := gradient(320, 180, i*4)
				frame, err := encoder.Encode(original, false)
				if err != nil {
					t.Fatal(err)
				}
				if len(frame) == 0 {
					continue
				}
				for _, packet := range packetizer.Packetize(frame, 6000) {
					if c.maxSlice > 0 && len(packet.Payload) > c.maxSlice+20 {
						t.Errorf("a packet of %d bytes in mode 0", len(packet.Payload))
					}
					assembled, ok := assembler.Push(packet)
					if !ok {
						continue
					}
					if assembled.Keyframe != (i == 0) || assembled.AfterLoss {
						t.Errorf("frame %d: keyframe %v, after loss %v", i, assembled.Keyframe, assembled.AfterLoss)
					}
					picture, err := decoder.Decode(assembled.Data)
					if err != nil {
						t.Fatalf("frame %d: %v", i, err)
					}
					if picture == nil {
						continue
					}
					decoded++
					if picture.Rect.Dx() != 320 || picture.Rect.Dy() != 180 {
						t.Fatalf("decoded %v", picture.Rect)
					}
					if q := psnr(original, picture); q < 30 {
						t.Errorf("frame %d decodes at %.1f dB", i, q)
					}
				}
			}
			if decoded < 9 {
				t.Errorf("%d of 10 frames decoded", decoded)
			}
		})
	}
}

func TestAssemblerAfterALoss(t *testing.T) {
	idr := []byte{0x65, 1, 2, 3}   // an IDR slice
	slice := []byte{0x41, 4, 5, 6} // a non-IDR slice
	a := &Assembler{}
	push := func(seq uint16, ts uint32, payload []byte, marker bool) (Frame, bool) {
		return a.Push(&rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: ts, Marker: marker}, Payload: payload})
	}
	if f, ok := push(1, 100, idr, true); !ok || !f.Keyframe || f.AfterLoss {
		t.Fatalf("a keyframe: %+v %v", f, ok)
	}
	if f, ok := push(2, 200, slice, true); !ok || f.Keyframe {
		t.Fatalf("a slice: %+v %v", f, ok)
	}
	// Packet 3 lost: the frame of packet 4 may lack its start.
	if _, ok := push(4, 300, slice, true); ok {
		t.Error("a frame right after a gap was taken")
	}
	if _, ok := push(3, 300, slice, true); ok {
		t.Error("a late packet was taken")
	}
	if f, ok := push(5, 400, slice, true); !ok || !f.AfterLoss {
		t.Errorf("the next frame: %+v %v, want it marked after a loss", f, ok)
	}
	if f, ok := push(6, 500, slice, true); !ok || f.AfterLoss {
		t.Errorf("the one after: %+v %v", f, ok)
	}
	// A frame without a marker ends where the next timestamp begins.
	if _, ok := push(7, 600, idr, false); ok {
		t.Error("a frame without its marker ended early")
	}
	if f, ok := push(8, 700, slice, false); !ok || !f.Keyframe || f.Timestamp != 600 {
		t.Errorf("the frame without a marker: %+v %v", f, ok)
	}
}

func TestDecoderRefusesGarbage(t *testing.T) {
	decoder, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer decoder.Close()
	if _, err := decoder.Decode(nil); err == nil {
		t.Error("an empty frame decoded")
	}
	for _, garbage := range [][]byte{{0, 0, 0, 1, 0x65, 0xff, 0xff, 0xff}, {1, 2, 3}, {0, 0, 1, 0x67, 0x42}} {
		if picture, err := decoder.Decode(garbage); picture != nil {
			t.Errorf("%x decoded into %v (err %v)", garbage, picture.Rect, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	encoder, err := NewEncoder(EncoderConfig{Width: 64, Height: 64, FPS: 15, Bitrate: 100_000})
	if err != nil {
		f.Fatal(err)
	}
	frame, err := encoder.Encode(gradient(64, 64, 0), true)
	encoder.Close()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(frame)
	f.Fuzz(func(t *testing.T, data []byte) {
		decoder, err := NewDecoder()
		if err != nil {
			t.Fatal(err)
		}
		defer decoder.Close()
		if picture, err := decoder.Decode(data); err == nil && picture != nil && picture.Rect.Dx() > 8192 {
			t.Fatal("an impossible picture")
		}
	})
}

func TestStartsKeyframe(t *testing.T) {
	for _, c := range []struct {
		payload []byte
		want    bool
	}{
		{[]byte{0x67, 0x42}, true},                   // SPS
		{[]byte{0x65, 0x88}, true},                   // an IDR slice
		{[]byte{0x41, 0x9a}, false},                  // a P slice
		{[]byte{0x78, 0x00, 0x0a, 0x67, 0x42}, true}, // STAP-A with the SPS first
		{[]byte{0x78, 0x00, 0x0a, 0x41, 0x9a}, false},
		{[]byte{0x7c, 0x85, 0x88}, true},  // FU-A, start of an IDR slice
		{[]byte{0x7c, 0x05, 0x88}, false}, // FU-A, the middle of one
		{[]byte{0x7c, 0x81, 0x88}, false}, // FU-A, start of a P slice
		{[]byte{0x65}, false},
	} {
		if got := StartsKeyframe(c.payload); got != c.want {
			t.Errorf("%x: %v, want %v", c.payload, got, c.want)
		}
	}
}

// FuzzAssemble feeds packets from the network to the assembler: whatever
// comes, frames are whole Annex B units or nothing.
func FuzzAssemble(f *testing.F) {
	f.Add([]byte{0x7c, 0x85, 1, 2, 3}, []byte{0x7c, 0x45, 4, 5}, uint16(2))
	f.Add([]byte{0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce}, []byte{0x65, 1}, uint16(1))
	f.Fuzz(func(t *testing.T, first, second []byte, gap uint16) {
		a := &Assembler{}
		a.Push(&rtp.Packet{Header: rtp.Header{SequenceNumber: 10, Timestamp: 1}, Payload: first})
		frame, ok := a.Push(&rtp.Packet{Header: rtp.Header{SequenceNumber: 10 + gap, Timestamp: 1, Marker: true}, Payload: second})
		if ok && len(frame.Data) == 0 {
			t.Fatal("an empty frame")
		}
	})
}
