package synth

// boolEncoder is the boolean entropy encoder of RFC 6386 section 7.3, which
// codes every VP8 header field, prediction mode and coefficient token. Each
// bool is coded with an 8-bit probability that it is false, so a value the
// decoder expects costs a small fraction of a bit.
type boolEncoder struct {
	out      []byte
	rng      uint32 // width of the coding interval: 128..255 between calls
	bottom   uint32 // low end of the interval; bit 31 set means a carry
	bitCount int    // shifts left before the top byte of bottom is final
}

// reset starts a new partition, reusing buf's storage.
func (e *boolEncoder) reset(buf []byte) {
	*e = boolEncoder{out: buf[:0], rng: 255, bitCount: 24}
}

// putBool codes b, which is false with probability prob/256
// (write_bool in section 7.3).
func (e *boolEncoder) putBool(prob uint8, b bool) {
	split := 1 + (((e.rng - 1) * uint32(prob)) >> 8)
	if b {
		e.bottom += split
		e.rng -= split
	} else {
		e.rng = split
	}
	// Double the interval until it is at least 128 wide again, writing out
	// each byte of bottom once no later bool can change it.
	for e.rng < 128 {
		e.rng <<= 1
		if e.bottom&(1<<31) != 0 {
			e.carry()
		}
		e.bottom <<= 1
		e.bitCount--
		if e.bitCount == 0 {
			e.out = append(e.out, byte(e.bottom>>24))
			e.bottom &= 1<<24 - 1
			e.bitCount = 8
		}
	}
}

// carry adds one to the bytes already written (add_one_to_output).
func (e *boolEncoder) carry() {
	i := len(e.out) - 1
	for ; e.out[i] == 0xff; i-- {
		e.out[i] = 0
	}
	e.out[i]++
}

// putFlag codes an even-odds bit, as header flags are (section 19.2's L(1)).
func (e *boolEncoder) putFlag(b bool) {
	e.putBool(128, b)
}

// putLiteral codes the n low bits of v, most significant first (L(n)).
func (e *boolEncoder) putLiteral(v uint32, n int) {
	for i := n - 1; i >= 0; i-- {
		e.putFlag(v>>i&1 == 1)
	}
}

// putQuantDelta codes an optional 4-bit signed quantizer index delta
// (section 9.6): a presence flag, the magnitude, then the sign.
func (e *boolEncoder) putQuantDelta(d int) {
	e.putFlag(d != 0)
	if d == 0 {
		return
	}
	mag := d
	if d < 0 {
		mag = -d
	}
	e.putLiteral(uint32(mag), 4)
	e.putFlag(d < 0)
}

// flush writes out what is left of the interval, padded so that the decoder
// never reads past the partition (flush_bool_encoder), and returns the
// partition's bytes.
func (e *boolEncoder) flush() []byte {
	c := e.bitCount
	v := e.bottom
	if v&(1<<(32-c)) != 0 {
		e.carry()
	}
	v <<= c & 7
	for c >>= 3; c > 0; c-- {
		v <<= 8
	}
	for i := 0; i < 4; i++ {
		e.out = append(e.out, byte(v>>24))
		v <<= 8
	}
	return e.out
}
