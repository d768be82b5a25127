package sfu

import (
	"bytes"
	"testing"
)

func TestParseVP8(t *testing.T) {
	keyframe := vp8TestPayload(2, true, true, 0x1234, 7, 1280, 720, 40)
	d, err := parseVP8(keyframe)
	if err != nil {
		t.Fatal(err)
	}
	want := vp8Descriptor{
		size: 5, startOfFrame: true, keyframe: true, width: 1280, height: 720,
		pictureIDAt: 2, pictureIDWide: true, pictureID: 0x1234, hasPictureID: true,
		tl0PicIdxAt: 4, tl0PicIdx: 7, hasTL0PicIndex: true,
	}
	if d != want {
		t.Errorf("keyframe descriptor\n got %+v\nwant %+v", d, want)
	}

	d, err = parseVP8(vp8TestPayload(0, false, true, 5, 1, 320, 180, 20))
	if err != nil || d.startOfFrame || d.keyframe {
		t.Errorf("continuation packet: %+v, %v; want no frame start", d, err)
	}
	d, err = parseVP8(vp8TestPayload(0, true, false, 5, 1, 320, 180, 20))
	if err != nil || !d.startOfFrame || d.keyframe {
		t.Errorf("delta frame: %+v, %v; want a frame start that is no keyframe", d, err)
	}

	// Short picture ID, no TL0PICIDX; then no extension at all.
	d, err = parseVP8([]byte{0x90, 0x80, 0x05, 0x01})
	if err != nil || d.pictureIDWide || d.pictureID != 5 || d.hasTL0PicIndex || d.size != 3 {
		t.Errorf("7-bit picture ID: %+v, %v", d, err)
	}
	d, err = parseVP8([]byte{0x10, 0x00})
	if err != nil || d.hasPictureID || d.size != 1 || !d.keyframe {
		t.Errorf("plain descriptor: %+v, %v", d, err)
	}

	for _, short := range [][]byte{{}, {0x80}, {0x80, 0x80}, {0x80, 0x80, 0x80}, {0x80, 0x40}, {0x80, 0x20}} {
		if _, err := parseVP8(short); err == nil {
			t.Errorf("parseVP8(% x) accepted a truncated descriptor", short)
		}
	}
}

func TestRewriteVP8(t *testing.T) {
	payload := vp8TestPayload(1, true, false, 0x7ffe, 200, 640, 360, 30)
	d, _ := parseVP8(payload)
	d.rewrite(payload, 0x0102, 9)
	again, err := parseVP8(payload)
	if err != nil || again.pictureID != 0x0102 || again.tl0PicIdx != 9 || again.size != d.size {
		t.Errorf("after rewrite: %+v, %v", again, err)
	}

	short := []byte{0x90, 0x80, 0x05, 0x01}
	d, _ = parseVP8(short)
	d.rewrite(short, 0x1ff, 0)
	if short[2] != 0x7f {
		t.Errorf("7-bit picture ID rewritten to %#x, want it cut to 0x7f", short[2])
	}
}

func TestH264Keyframe(t *testing.T) {
	cases := []struct {
		name    string
		payload []byte
		want    bool
	}{
		{"IDR", []byte{0x65, 0x88}, true},
		{"SPS", []byte{0x67, 0x42}, true},
		{"non-IDR slice", []byte{0x41, 0x9a}, false},
		{"STAP-A with SPS", []byte{0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce}, true},
		{"STAP-A with PPS only", []byte{0x78, 0x00, 0x02, 0x68, 0xce}, false},
		{"STAP-A truncated", []byte{0x78, 0x00, 0x09, 0x67}, false},
		{"FU-A start of IDR", []byte{0x7c, 0x85, 0x88}, true},
		{"FU-A middle of IDR", []byte{0x7c, 0x05, 0x88}, false},
		{"empty", nil, false},
	}
	for _, c := range cases {
		if got := h264Keyframe(c.payload); got != c.want {
			t.Errorf("%s: h264Keyframe = %v, want %v", c.name, got, c.want)
		}
	}
}

// FuzzVP8Descriptor checks that parsing never reads past the payload and
// that rewriting changes exactly the picture ID and TL0PICIDX bytes.
func FuzzVP8Descriptor(f *testing.F) {
	f.Add(vp8TestPayload(2, true, true, 0x1234, 7, 1280, 720, 40), uint16(77), uint8(3))
	f.Add(vp8TestPayload(0, false, false, 1, 1, 320, 180, 8), uint16(0x7fff), uint8(255))
	f.Add([]byte{0x90, 0x80, 0x05, 0x01}, uint16(300), uint8(0))
	f.Add([]byte{0x90, 0xf0, 0x85}, uint16(1), uint8(1))
	f.Add([]byte{0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00}, uint16(1), uint8(1))
	f.Fuzz(func(t *testing.T, payload []byte, pictureID uint16, tl0 uint8) {
		d, err := parseVP8(payload)
		if err != nil {
			return
		}
		if d.size < 1 || d.size > len(payload) {
			t.Fatalf("descriptor size %d for %d bytes", d.size, len(payload))
		}
		if d.keyframe && !d.startOfFrame {
			t.Fatal("keyframe that does not start a frame")
		}
		rewritten := bytes.Clone(payload)
		d.rewrite(rewritten, pictureID, tl0)
		again, err := parseVP8(rewritten)
		if err != nil {
			t.Fatalf("rewritten payload does not parse: %v", err)
		}
		if again.size != d.size || again.hasPictureID != d.hasPictureID || again.pictureIDWide != d.pictureIDWide ||
			again.hasTL0PicIndex != d.hasTL0PicIndex || again.keyframe != d.keyframe {
			t.Fatalf("rewrite changed the layout: %+v became %+v", d, again)
		}
		if d.hasPictureID && again.pictureID != pictureID&d.pictureIDMask() {
			t.Fatalf("picture ID %d, want %d", again.pictureID, pictureID&d.pictureIDMask())
		}
		if d.hasTL0PicIndex && again.tl0PicIdx != tl0 {
			t.Fatalf("TL0PICIDX %d, want %d", again.tl0PicIdx, tl0)
		}
		for i := range payload {
			touched := (d.hasPictureID && (i == d.pictureIDAt || (d.pictureIDWide && i == d.pictureIDAt+1))) ||
				(d.hasTL0PicIndex && i == d.tl0PicIdxAt)
			if !touched && payload[i] != rewritten[i] {
				t.Fatalf("byte %d changed from %#x to %#x", i, payload[i], rewritten[i])
			}
		}
	})
}
