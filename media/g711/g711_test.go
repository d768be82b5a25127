package g711

import (
	"math"
	"testing"
)

// Vectors worked by hand from the recommendation's tables (and agreeing
// with the reference g711.c of ITU-T G.191): linear input, µ-law and
// A-law codes, and what each code decodes to (the middle of its step).
func TestKnownVectors(t *testing.T) {
	for _, v := range []struct {
		linear       int16
		ulaw, alaw   byte
		fromU, fromA int16
	}{
		{0, 0xFF, 0xD5, 0, 8},
		{-1, 0x7F, 0x55, 0, -8},
		{8, 0xFE, 0xD5, 8, 8},
		{100, 0xF2, 0xD3, 104, 104},
		{-100, 0x72, 0x53, -104, -104},
		{1000, 0xCE, 0xFA, 988, 1008},
		{-1000, 0x4E, 0x7A, -988, -1008},
		{4096, 0xAF, 0x85, 4092, 4224},
		{32767, 0x80, 0xAA, 32124, 32256},
		{-32768, 0x00, 0x2A, -32124, -32256},
	} {
		if got := EncodeUlaw(v.linear); got != v.ulaw {
			t.Errorf("µ-law of %d = %#02x, want %#02x", v.linear, got, v.ulaw)
		}
		if got := EncodeAlaw(v.linear); got != v.alaw {
			t.Errorf("A-law of %d = %#02x, want %#02x", v.linear, got, v.alaw)
		}
		if got := DecodeUlaw(v.ulaw); got != v.fromU {
			t.Errorf("µ-law %#02x decodes to %d, want %d", v.ulaw, got, v.fromU)
		}
		if got := DecodeAlaw(v.alaw); got != v.fromA {
			t.Errorf("A-law %#02x decodes to %d, want %d", v.alaw, got, v.fromA)
		}
	}
}

// Every code decodes to a value that encodes back to the same code (but
// µ-law's negative zero, 0x7F, which is 0 like 0xFF), and decoding is
// monotonic in the segments' order.
func TestEveryCodeRoundTrips(t *testing.T) {
	for code := 0; code < 256; code++ {
		if back := EncodeUlaw(DecodeUlaw(byte(code))); back != byte(code) && code != 0x7F {
			t.Errorf("µ-law %#02x -> %d -> %#02x", code, DecodeUlaw(byte(code)), back)
		}
		if back := EncodeAlaw(DecodeAlaw(byte(code))); back != byte(code) {
			t.Errorf("A-law %#02x -> %d -> %#02x", code, DecodeAlaw(byte(code)), back)
		}
	}
}

// Companding keeps the error within half a step of its segment: about 3%
// of the value above the smallest segments.
func TestErrorIsRelative(t *testing.T) {
	for _, c := range []Codec{Ulaw, Alaw} {
		for linear := -32768; linear <= 32767; linear += 7 {
			got := int(c.Decode(nil, c.Encode(nil, []int16{int16(linear)}))[0])
			limit := math.Max(math.Abs(float64(linear))*0.035, 16)
			if math.Abs(float64(got-linear)) > limit && math.Abs(float64(linear)) < 32000 {
				t.Fatalf("%s: %d came back as %d", c.Name, linear, got)
			}
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte{0, 0x7F, 0xFF, 0xD5})
	f.Fuzz(func(t *testing.T, payload []byte) {
		for _, c := range []Codec{Ulaw, Alaw} {
			if n := len(c.Decode(nil, payload)); n != len(payload) {
				t.Fatalf("%s decoded %d bytes to %d samples", c.Name, len(payload), n)
			}
		}
	})
}
