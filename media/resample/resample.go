// Package resample converts mono 16-bit audio between rates that are
// whole multiples of each other, such as Opus's 48 kHz and the telephone
// network's 8 kHz (G.711) or 16 kHz (G.722), with a windowed-sinc
// low-pass filter so that nothing above the lower rate's band folds back
// as noise.
package resample

import (
	"fmt"
	"math"
)

// tapsPerPhase is the filter length per output phase: 16 gives better
// than 60 dB of stop-band rejection, plenty for a telephone.
const tapsPerPhase = 16

// Resampler converts one stream; it keeps the last input samples between
// calls, so a stream must use its own.
type Resampler struct {
	factor  int
	up      bool
	taps    []float64 // factor*tapsPerPhase coefficients
	history []float64 // the previous input samples the filter still needs
}

// Down returns a resampler to a rate factor times lower (48000 to 8000:
// 6).
func Down(factor int) (*Resampler, error) { return newResampler(factor, false) }

// Up returns a resampler to a rate factor times higher.
func Up(factor int) (*Resampler, error) { return newResampler(factor, true) }

func newResampler(factor int, up bool) (*Resampler, error) {
	if factor < 1 || factor > 12 {
		return nil, fmt.Errorf("resample by %d: the factor must be 1 to 12", factor)
	}
	r := &Resampler{factor: factor, up: up, taps: lowPass(factor)}
	if up {
		r.history = make([]float64, tapsPerPhase)
	} else {
		r.history = make([]float64, len(r.taps))
	}
	return r, nil
}

// lowPass designs the filter: a sinc cut at 90% of the lower rate's
// Nyquist frequency, shaped by a Blackman window, with unity gain at DC.
func lowPass(factor int) []float64 {
	n := factor * tapsPerPhase
	taps := make([]float64, n)
	cutoff := 0.9 / float64(factor) // of the higher rate's Nyquist frequency
	middle := float64(n-1) / 2
	var sum float64
	for i := range taps {
		x := float64(i) - middle
		sinc := cutoff
		if x != 0 {
			sinc = math.Sin(math.Pi*cutoff*x) / (math.Pi * x)
		}
		window := 0.42 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n-1)) + 0.08*math.Cos(4*math.Pi*float64(i)/float64(n-1))
		taps[i] = sinc * window
		sum += taps[i]
	}
	for i := range taps {
		taps[i] /= sum
	}
	return taps
}

// Process appends the converted samples of in to out. Down needs whole
// multiples of its factor (20 ms of audio always is); a remainder is
// dropped.
func (r *Resampler) Process(out, in []int16) []int16 {
	if r.factor == 1 {
		return append(out, in...)
	}
	if r.up {
		return r.upsample(out, in)
	}
	return r.downsample(out, in)
}

// downsample filters at the higher rate and keeps every factor-th output.
func (r *Resampler) downsample(out, in []int16) []int16 {
	n := len(r.taps)
	for start := 0; start+r.factor <= len(in); start += r.factor {
		// Slide the history by factor samples, newest last.
		copy(r.history, r.history[r.factor:])
		for i := range r.factor {
			r.history[n-r.factor+i] = float64(in[start+i])
		}
		var acc float64
		for i, tap := range r.taps {
			acc += tap * r.history[n-1-i]
		}
		out = append(out, clip(acc))
	}
	return out
}

// upsample puts factor-1 zeros between input samples and filters: each
// output phase uses every factor-th tap, times factor for the lost energy.
func (r *Resampler) upsample(out, in []int16) []int16 {
	for _, sample := range in {
		copy(r.history, r.history[1:])
		r.history[tapsPerPhase-1] = float64(sample)
		for phase := range r.factor {
			var acc float64
			for k := range tapsPerPhase {
				acc += r.taps[phase+k*r.factor] * r.history[tapsPerPhase-1-k]
			}
			out = append(out, clip(acc*float64(r.factor)))
		}
	}
	return out
}

func clip(v float64) int16 {
	return int16(math.Round(max(math.MinInt16, min(math.MaxInt16, v))))
}
