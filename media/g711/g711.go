// Package g711 is ITU-T G.711, the telephone network's audio codec: 8 kHz
// samples companded to 8 bits, µ-law (PCMU, North America and Japan) or
// A-law (PCMA, everywhere else). Desk phones and PBX trunks all speak it.
package g711

import "math/bits"

// µ-law (G.711 section 3): a 14-bit magnitude with a bias of 33 (here 132
// on the 16-bit scale) so that every segment boundary is a power of two.
const (
	ulawBias = 0x84
	ulawClip = 32635
)

// EncodeUlaw compands one 16-bit linear sample to µ-law.
func EncodeUlaw(sample int16) byte {
	magnitude, sign := int(sample), byte(0)
	if magnitude < 0 {
		magnitude, sign = -magnitude, 0x80
	}
	magnitude = min(magnitude, ulawClip) + ulawBias
	exponent := max(bits.Len(uint(magnitude>>7))-1, 0)
	mantissa := (magnitude >> (exponent + 3)) & 0x0F
	return ^(sign | byte(exponent<<4) | byte(mantissa))
}

// DecodeUlaw expands one µ-law byte to a 16-bit linear sample.
func DecodeUlaw(code byte) int16 {
	code = ^code
	exponent := int(code>>4) & 0x07
	magnitude := ((int(code&0x0F) << 3) + ulawBias) << exponent
	magnitude -= ulawBias
	if code&0x80 != 0 {
		return int16(-magnitude)
	}
	return int16(magnitude)
}

// aLawSegmentEnds are the upper ends of A-law's eight segments on the
// 13-bit scale.
var aLawSegmentEnds = [8]int{0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF}

// EncodeAlaw compands one 16-bit linear sample to A-law (even bits
// inverted, as transmitted).
func EncodeAlaw(sample int16) byte {
	value := int(sample) >> 3 // A-law works on 13 bits
	mask := byte(0xD5)
	if value < 0 {
		mask = 0x55
		value = -value - 1
	}
	segment := 0
	for segment < len(aLawSegmentEnds) && value > aLawSegmentEnds[segment] {
		segment++
	}
	if segment == len(aLawSegmentEnds) {
		return 0x7F ^ mask
	}
	code := byte(segment << 4)
	if segment < 2 {
		code |= byte(value>>1) & 0x0F
	} else {
		code |= byte(value>>segment) & 0x0F
	}
	return code ^ mask
}

// DecodeAlaw expands one A-law byte to a 16-bit linear sample.
func DecodeAlaw(code byte) int16 {
	code ^= 0x55
	magnitude := int(code&0x0F) << 4
	switch segment := int(code&0x70) >> 4; segment {
	case 0:
		magnitude += 8
	case 1:
		magnitude += 0x108
	default:
		magnitude = (magnitude + 0x108) << (segment - 1)
	}
	if code&0x80 != 0 {
		return int16(magnitude)
	}
	return int16(-magnitude)
}

// Codec is one of the two laws, for code that handles either.
type Codec struct {
	Name   string // as in SDP: PCMU or PCMA
	encode func(int16) byte
	decode func(byte) int16
}

// The two laws, with their static RTP payload types (RFC 3551).
var (
	Ulaw = Codec{Name: "PCMU", encode: EncodeUlaw, decode: DecodeUlaw}
	Alaw = Codec{Name: "PCMA", encode: EncodeAlaw, decode: DecodeAlaw}
)

// Encode appends the companded samples to dst.
func (c Codec) Encode(dst []byte, samples []int16) []byte {
	for _, s := range samples {
		dst = append(dst, c.encode(s))
	}
	return dst
}

// Decode appends the expanded samples of payload to dst.
func (c Codec) Decode(dst []int16, payload []byte) []int16 {
	for _, b := range payload {
		dst = append(dst, c.decode(b))
	}
	return dst
}
