package synth

import (
	"bytes"
	"fmt"
	"image"
	"math/rand/v2"
	"testing"
	"time"

	"golang.org/x/image/vp8"
)

// decodeKeyframe decodes one VP8 keyframe with golang.org/x/image/vp8, an
// independent implementation of RFC 6386 (it decodes keyframes only).
func decodeKeyframe(t *testing.T, frame []byte) *image.YCbCr {
	t.Helper()
	d := vp8.NewDecoder()
	d.Init(bytes.NewReader(frame), len(frame))
	fh, err := d.DecodeFrameHeader()
	if err != nil {
		t.Fatalf("decoding the frame header: %v", err)
	}
	if !fh.KeyFrame || !fh.ShowFrame {
		t.Fatalf("frame header %+v, want a shown keyframe", fh)
	}
	img, err := d.DecodeFrame()
	if err != nil {
		t.Fatalf("decoding the frame: %v", err)
	}
	return img
}

// checkPicture fails unless every pixel of img is the colour v's picture has
// there in frame n.
func checkPicture(t *testing.T, v *Video, n uint64, img *image.YCbCr) {
	t.Helper()
	if got, want := img.Bounds(), image.Rect(0, 0, v.width, v.height); got != want {
		t.Fatalf("frame %d: decoded bounds %v, want %v", n, got, want)
	}
	pic := make([]yuv, len(v.cur))
	v.paint(n, pic)
	for y := range v.height {
		for x := range v.width {
			want := pic[y/16*v.mbCols+x/16]
			got := img.YCbCrAt(x, y)
			if got.Y != want.y || got.Cb != want.u || got.Cr != want.v {
				t.Fatalf("frame %d: pixel (%d,%d) is YCbCr %d/%d/%d, want %d/%d/%d",
					n, x, y, got.Y, got.Cb, got.Cr, want.y, want.u, want.v)
			}
		}
	}
}

var sizes = []struct{ w, h int }{
	{320, 180}, {640, 360}, {1280, 720}, {100, 60}, {17, 33}, {1, 1},
}

// TestKeyframesDecode decodes keyframes of several sizes, including partial
// macroblocks, around the picture's changes: every frame moves the marker and
// the 61st rotates the bars. It checks every pixel, and that each frame
// differs from the one before.
func TestKeyframesDecode(t *testing.T) {
	decoded := map[uint64]bool{0: true, 1: true, 2: true, 59: true, 60: true, 61: true, 120: true}
	for _, s := range sizes {
		t.Run(fmt.Sprintf("%dx%d", s.w, s.h), func(t *testing.T) {
			v := NewVideo(s.w, s.h, 30)
			var prev *image.YCbCr
			for n := range uint64(121) {
				v.RequestKeyframe()
				frame, key, _ := v.Next()
				if !key {
					t.Fatalf("frame %d is not a keyframe although one was requested", n)
				}
				if !decoded[n] {
					prev = nil
					continue
				}
				img := decodeKeyframe(t, frame)
				checkPicture(t, v, n, img)
				// A single macroblock is always the marker.
				if prev != nil && len(v.cur) > 1 && bytes.Equal(prev.Y, img.Y) {
					t.Errorf("frame %d has the same luma as frame %d", n, n-1)
				}
				prev = img
			}
		})
	}
}

// TestPicture pins down the picture itself, independently of the encoder's
// model of it: where the marker is and which bar is where.
func TestPicture(t *testing.T) {
	white, yellow, blue, black := yuv{180, 128, 128}, yuv{162, 44, 142}, yuv{35, 212, 114}, yuv{16, 128, 128}
	checks := map[uint64][]struct {
		x, y int
		want yuv
	}{
		// 320x180 is 20x12 macroblocks, and each bar 40 pixels wide.
		0: {
			{8, 8, marker},    // The marker starts top left,
			{8, 24, white},    // below it is the first bar,
			{300, 100, black}, // and the last one is on the right.
		},
		1:   {{8, 8, white}, {24, 8, marker}, {50, 8, yellow}},       // The marker moves right
		21:  {{24, 24, marker}},                                      // and down, one macroblock a frame.
		60:  {{8, 100, yellow}, {300, 100, white}, {220, 160, blue}}, // After 2 s the bars rotate.
		240: {{8, 8, marker}},                                        // The marker wraps after the last macroblock.
	}
	v := NewVideo(320, 180, 30)
	for n := range uint64(241) {
		v.RequestKeyframe()
		frame, _, _ := v.Next()
		if len(checks[n]) == 0 {
			continue
		}
		img := decodeKeyframe(t, frame)
		for _, c := range checks[n] {
			p := img.YCbCrAt(c.x, c.y)
			if got := (yuv{p.Y, p.Cb, p.Cr}); got != c.want {
				t.Errorf("frame %d, pixel (%d,%d) = %v, want %v", n, c.x, c.y, got, c.want)
			}
		}
	}
}

// TestFrameSchedule checks keyframes come every 2 s and when asked, and that
// the frame tag says so.
func TestFrameSchedule(t *testing.T) {
	v := NewVideo(160, 90, 10)
	for n := range 45 {
		if n == 25 {
			v.RequestKeyframe()
		}
		frame, key, d := v.Next()
		wantKey := n%20 == 0 || n == 25
		if key != wantKey {
			t.Errorf("frame %d: keyframe %v, want %v", n, key, wantKey)
		}
		if tagKey := frame[0]&1 == 0; tagKey != key {
			t.Errorf("frame %d: frame tag says keyframe %v, Next says %v", n, tagKey, key)
		}
		if d != 100*time.Millisecond {
			t.Errorf("frame %d: duration %v, want 100ms", n, d)
		}
	}
}

// TestFrameSizes guards against frames growing: at 720p a keyframe codes
// 3600 macroblocks, while an inter frame codes residual for just two.
func TestFrameSizes(t *testing.T) {
	v := NewVideo(1280, 720, 30)
	for n := range 61 {
		frame, key, _ := v.Next()
		limit := 200
		if key {
			limit = 2500
		}
		if len(frame) > limit {
			t.Errorf("frame %d (keyframe %v) is %d bytes, want at most %d", n, key, len(frame), limit)
		}
	}
}

// TestLumaLevels checks every luma change has a level that makes it exactly.
func TestLumaLevels(t *testing.T) {
	for d := -255; d <= 255; d++ {
		if got := lumaDelta(int(lumaLevels[d+255])); got != d {
			t.Errorf("level %d changes luma by %d, want %d", lumaLevels[d+255], got, d)
		}
	}
}

func TestNewVideoRejectsBadSizes(t *testing.T) {
	for _, c := range []struct{ w, h, fps int }{{0, 10, 30}, {10, 0, 30}, {4097, 10, 30}, {10, 10, 0}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewVideo(%d, %d, %d) did not panic", c.w, c.h, c.fps)
				}
			}()
			NewVideo(c.w, c.h, c.fps)
		}()
	}
}

// boolDecoder is the boolean decoder of RFC 6386 section 7.3, to check the
// encoder against.
type boolDecoder struct {
	in       []byte
	value    uint32
	rng      uint32
	bitCount int
}

func newBoolDecoder(in []byte) *boolDecoder {
	d := &boolDecoder{in: in, rng: 255}
	d.value = uint32(d.next())<<8 | uint32(d.next())
	return d
}

func (d *boolDecoder) next() byte {
	if len(d.in) == 0 {
		panic("read past the end of the partition")
	}
	b := d.in[0]
	d.in = d.in[1:]
	return b
}

func (d *boolDecoder) readBool(prob uint8) bool {
	split := 1 + (((d.rng - 1) * uint32(prob)) >> 8)
	bigSplit := split << 8
	var b bool
	if d.value >= bigSplit {
		b = true
		d.rng -= split
		d.value -= bigSplit
	} else {
		d.rng = split
	}
	for d.rng < 128 {
		d.value <<= 1
		d.rng <<= 1
		d.bitCount++
		if d.bitCount == 8 {
			d.bitCount = 0
			d.value |= uint32(d.next())
		}
	}
	return b
}

// TestBoolEncoderRoundTrip codes random bools with random, often extreme,
// probabilities.
func TestBoolEncoderRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		n := r.IntN(5000)
		probs, bits := make([]uint8, n), make([]bool, n)
		var e boolEncoder
		e.reset(nil)
		for i := range n {
			probs[i] = uint8(1 + r.IntN(255))
			if r.IntN(2) == 0 {
				probs[i] = []uint8{1, 2, 254, 255}[r.IntN(4)]
			}
			bits[i] = r.IntN(256) >= int(probs[i])
			if r.IntN(10) == 0 {
				bits[i] = !bits[i]
			}
			e.putBool(probs[i], bits[i])
		}
		d := newBoolDecoder(e.flush())
		for i := range n {
			if got := d.readBool(probs[i]); got != bits[i] {
				t.Fatalf("trial %d: bool %d of %d decoded as %v, want %v", trial, i, n, got, bits[i])
			}
		}
	}
}

// TestBoolEncoderCarries codes random bools until a few of them have carried
// into bytes already written, which takes a few million, and decodes them.
func TestBoolEncoderCarries(t *testing.T) {
	const seed, wantCarries, limit = 7, 3, 50_000_000
	next := func(r *rand.Rand) (uint8, bool) { return uint8(1 + r.IntN(255)), r.IntN(2) == 0 }
	r := rand.New(rand.NewPCG(seed, seed))
	var e boolEncoder
	e.reset(nil)
	n, carries := 0, 0
	for ; carries < wantCarries; n++ {
		if n == limit {
			t.Fatalf("no %d carries in %d bools", wantCarries, limit)
		}
		last := len(e.out) - 1
		var before byte
		if last >= 0 {
			before = e.out[last]
		}
		e.putBool(next(r))
		if last >= 0 && e.out[last] != before {
			carries++
		}
	}
	d := newBoolDecoder(e.flush())
	r = rand.New(rand.NewPCG(seed, seed))
	for i := range n {
		prob, bit := next(r)
		if got := d.readBool(prob); got != bit {
			t.Fatalf("bool %d of %d decoded as %v, want %v", i, n, got, bit)
		}
	}
}

func TestBoolEncoderCarryThroughFF(t *testing.T) {
	e := boolEncoder{out: []byte{0x12, 0xff, 0xff}}
	e.carry()
	if want := []byte{0x13, 0, 0}; !bytes.Equal(e.out, want) {
		t.Errorf("carry into % x gave % x, want % x", []byte{0x12, 0xff, 0xff}, e.out, want)
	}
}

// BenchmarkVideoNext measures a 720p stream at 30 fps: one keyframe, then 59
// inter frames, and so on.
func BenchmarkVideoNext(b *testing.B) {
	v := NewVideo(1280, 720, 30)
	frames, total := 0, 0
	for b.Loop() {
		frame, _, _ := v.Next()
		frames++
		total += len(frame)
	}
	b.ReportMetric(float64(total)/float64(frames), "bytes/frame")
}
