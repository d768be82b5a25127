// Package g722 is ITU-T G.722 at 64 kbit/s: 16 kHz wideband speech split
// by a quadrature mirror filter into two sub-bands, each coded with
// adaptive differential PCM (6 bits for 0-4 kHz, 2 for 4-8 kHz), one byte
// per two samples. Desk phones call it "HD voice". The arithmetic follows
// the recommendation's fixed-point description step by step, so that the
// bytes match other implementations exactly.
package g722

// SampleRate is G.722's audio rate; its RTP clock is 8000 all the same
// (RFC 3551), so a 20 ms packet of 160 bytes moves the timestamp by 160.
const SampleRate = 16000

// Quantizer and adaptation tables of the recommendation.
var (
	// qmfCoefficients are half of the 24-tap QMF, which is symmetric.
	qmfCoefficients = [12]int{3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11}
	// q6 are the lower band's decision levels (times the scale factor).
	q6  = [32]int{0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940, 1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919, 0, 0}
	iln = [32]int{0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 0}
	ilp = [32]int{0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 0}
	// wl and wh adapt the log scale factors of the bands.
	wl   = [8]int{-60, -30, 58, 172, 334, 538, 1198, 3042}
	rl42 = [16]int{0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0}
	// ilb is the inverse log table of the scale factors.
	ilb = [32]int{2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834,
		2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008}
	// qm4 and qm6 are the lower band's inverse quantizers (4 bits for the
	// predictor, all 6 for the output), qm2 the higher band's.
	qm4 = [16]int{0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584, 1200, 0}
	qm6 = [64]int{
		-136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856,
		-7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576, -3168, -2776, -2400, -2032, -1688, -1360, -1040, -728,
		24808, 21904, 19008, 16704, 14984, 13512, 12280, 11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456,
		4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032, 1688, 1360, 1040, 728, 432, 136, -432, -136}
	qm2 = [4]int{-7408, -1616, 7408, 1616}
	ihn = [3]int{0, 1, 0}
	ihp = [3]int{0, 3, 2}
	wh  = [3]int{0, -214, 798}
	rh2 = [4]int{2, 1, 2, 1}
)

// saturate keeps a value within 16 bits.
func saturate(v int) int {
	return max(-32768, min(32767, v))
}

// band is the ADPCM state of one sub-band: the adaptive predictor (two
// poles, six zeros), the reconstructed signals and the scale factor.
type band struct {
	s, sp, sz int
	r, a, ap  [3]int
	p         [3]int
	d, b, bp  [7]int
	sg        [7]int
	nb, det   int
}

// adapt is blocks 4L and 4H of the recommendation: with the new quantized
// difference d, update the predictor and predict the next sample.
func (b *band) adapt(d int) {
	// RECONS and PARREC.
	b.d[0] = d
	b.r[0] = saturate(b.s + d)
	b.p[0] = saturate(b.sz + d)

	// UPPOL2: the second pole.
	for i := range 3 {
		b.sg[i] = b.p[i] >> 15
	}
	wd1 := saturate(b.a[1] << 2)
	wd2 := wd1
	if b.sg[0] == b.sg[1] {
		wd2 = -wd1
	}
	wd2 = min(wd2, 32767)
	wd3 := -128
	if b.sg[0] == b.sg[2] {
		wd3 = 128
	}
	wd3 += wd2 >> 7
	wd3 += (b.a[2] * 32512) >> 15
	b.ap[2] = max(-12288, min(12288, wd3))

	// UPPOL1: the first pole.
	b.sg[0] = b.p[0] >> 15
	b.sg[1] = b.p[1] >> 15
	wd1 = -192
	if b.sg[0] == b.sg[1] {
		wd1 = 192
	}
	wd2 = (b.a[1] * 32640) >> 15
	b.ap[1] = saturate(wd1 + wd2)
	wd3 = saturate(15360 - b.ap[2])
	b.ap[1] = max(-wd3, min(wd3, b.ap[1]))

	// UPZERO: the six zeros.
	wd1 = 128
	if d == 0 {
		wd1 = 0
	}
	b.sg[0] = d >> 15
	for i := 1; i < 7; i++ {
		b.sg[i] = b.d[i] >> 15
		wd2 = -wd1
		if b.sg[i] == b.sg[0] {
			wd2 = wd1
		}
		wd3 = (b.b[i] * 32640) >> 15
		b.bp[i] = saturate(wd2 + wd3)
	}

	// DELAYA.
	for i := 6; i > 0; i-- {
		b.d[i] = b.d[i-1]
		b.b[i] = b.bp[i]
	}
	for i := 2; i > 0; i-- {
		b.r[i] = b.r[i-1]
		b.p[i] = b.p[i-1]
		b.a[i] = b.ap[i]
	}

	// FILTEP, FILTEZ and PREDIC.
	wd1 = saturate(b.r[1] + b.r[1])
	wd1 = (b.a[1] * wd1) >> 15
	wd2 = saturate(b.r[2] + b.r[2])
	wd2 = (b.a[2] * wd2) >> 15
	b.sp = saturate(wd1 + wd2)
	b.sz = 0
	for i := 6; i > 0; i-- {
		wd1 = saturate(b.d[i] + b.d[i])
		b.sz += (b.b[i] * wd1) >> 15
	}
	b.sz = saturate(b.sz)
	b.s = saturate(b.sp + b.sz)
}

// scaleLow is LOGSCL and SCALEL: adapt the lower band's scale factor to
// the 4-bit code.
func (b *band) scaleLow(code4 int) {
	nb := (b.nb*127)>>7 + wl[rl42[code4]]
	b.nb = max(0, min(18432, nb))
	b.det = scale(b.nb, 8)
}

// scaleHigh is LOGSCH and SCALEH for the higher band's 2-bit code.
func (b *band) scaleHigh(code2 int) {
	nb := (b.nb*127)>>7 + wh[rh2[code2]]
	b.nb = max(0, min(22528, nb))
	b.det = scale(b.nb, 10)
}

// scale turns a log scale factor into the linear one.
func scale(nb, shift int) int {
	wd1 := (nb >> 6) & 31
	wd2 := shift - (nb >> 11)
	var wd3 int
	if wd2 < 0 {
		wd3 = ilb[wd1] << -wd2
	} else {
		wd3 = ilb[wd1] >> wd2
	}
	return wd3 << 2
}

func newBands() [2]band {
	return [2]band{{det: 32}, {det: 8}}
}

// Encoder encodes one stream; it keeps state between calls.
type Encoder struct {
	bands [2]band
	x     [24]int // the QMF's input history
}

// NewEncoder returns an encoder at the start of a stream.
func NewEncoder() *Encoder { return &Encoder{bands: newBands()} }

// Encode appends the code of pcm (16 kHz; an even number of samples, one
// byte per two) to dst.
func (e *Encoder) Encode(dst []byte, pcm []int16) []byte {
	for j := 0; j+1 < len(pcm); j += 2 {
		// Analysis QMF: one lower and one higher band sample per pair.
		copy(e.x[:22], e.x[2:])
		e.x[22], e.x[23] = int(pcm[j]), int(pcm[j+1])
		sumOdd, sumEven := 0, 0
		for i := range 12 {
			sumOdd += e.x[2*i] * qmfCoefficients[i]
			sumEven += e.x[2*i+1] * qmfCoefficients[11-i]
		}
		xlow := (sumEven + sumOdd) >> 14
		xhigh := (sumEven - sumOdd) >> 14

		// Lower band: quantize the prediction error to 6 bits.
		low := &e.bands[0]
		el := saturate(xlow - low.s)
		magnitude := el
		if el < 0 {
			magnitude = -(el + 1)
		}
		i := 1
		for ; i < 30; i++ {
			if magnitude < (q6[i]*low.det)>>12 {
				break
			}
		}
		ilow := ilp[i]
		if el < 0 {
			ilow = iln[i]
		}
		code4 := ilow >> 2
		dlow := (low.det * qm4[code4]) >> 15
		low.scaleLow(code4)
		low.adapt(dlow)

		// Higher band: 2 bits.
		high := &e.bands[1]
		eh := saturate(xhigh - high.s)
		magnitude = eh
		if eh < 0 {
			magnitude = -(eh + 1)
		}
		mih := 1
		if magnitude >= (564*high.det)>>12 {
			mih = 2
		}
		ihigh := ihp[mih]
		if eh < 0 {
			ihigh = ihn[mih]
		}
		dhigh := (high.det * qm2[ihigh]) >> 15
		high.scaleHigh(ihigh)
		high.adapt(dhigh)

		dst = append(dst, byte(ihigh<<6|ilow))
	}
	return dst
}

// Decoder decodes one stream; it keeps state between calls.
type Decoder struct {
	bands [2]band
	x     [24]int // the QMF's history
}

// NewDecoder returns a decoder at the start of a stream.
func NewDecoder() *Decoder { return &Decoder{bands: newBands()} }

// Decode appends the 16 kHz samples of code (two per byte) to dst.
func (d *Decoder) Decode(dst []int16, code []byte) []int16 {
	for _, c := range code {
		ilow, ihigh := int(c&0x3f), int(c>>6)

		// Lower band: the output uses all 6 bits, the predictor 4.
		low := &d.bands[0]
		rlow := max(-16384, min(16383, low.s+(low.det*qm6[ilow])>>15))
		code4 := ilow >> 2
		dlow := (low.det * qm4[code4]) >> 15
		low.scaleLow(code4)
		low.adapt(dlow)

		// Higher band.
		high := &d.bands[1]
		dhigh := (high.det * qm2[ihigh]) >> 15
		rhigh := max(-16384, min(16383, dhigh+high.s))
		high.scaleHigh(ihigh)
		high.adapt(dhigh)

		// Synthesis QMF: two output samples.
		copy(d.x[:22], d.x[2:])
		d.x[22], d.x[23] = rlow+rhigh, rlow-rhigh
		out1, out2 := 0, 0
		for i := range 12 {
			out2 += d.x[2*i] * qmfCoefficients[i]
			out1 += d.x[2*i+1] * qmfCoefficients[11-i]
		}
		dst = append(dst, int16(saturate(out1>>11)), int16(saturate(out2>>11)))
	}
	return dst
}
