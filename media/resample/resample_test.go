package resample

import (
	"math"
	"testing"
)

func tone(rate, frequency float64, n int, amplitude float64) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amplitude * math.Sin(2*math.Pi*frequency*float64(i)/rate))
	}
	return out
}

// rms of the second half, after the filter has filled.
func rms(samples []int16) float64 {
	samples = samples[len(samples)/2:]
	var sum float64
	for _, s := range samples {
		sum += float64(s) * float64(s)
	}
	return math.Sqrt(sum / float64(len(samples)))
}

// processInFrames feeds 20 ms at a time, as a call does.
func processInFrames(t *testing.T, r *Resampler, in []int16, frame int) []int16 {
	t.Helper()
	var out []int16
	for start := 0; start < len(in); start += frame {
		out = r.Process(out, in[start:min(start+frame, len(in))])
	}
	return out
}

func TestDownKeepsTheBandAndDropsWhatIsAbove(t *testing.T) {
	for _, factor := range []int{3, 6} {
		lowRate := 48000.0 / float64(factor)
		for _, c := range []struct {
			frequency float64
			min, max  float64 // output rms over input rms
		}{
			{lowRate / 16, 0.95, 1.05},  // 500 Hz at 8 kHz: passes
			{lowRate * 0.35, 0.9, 1.05}, // 2.8 kHz at 8 kHz: passes
			{lowRate * 0.7, 0, 0.01},    // 5.6 kHz at 8 kHz: would fold to 2.4 kHz
			{lowRate * 1.3, 0, 0.01},
		} {
			r, err := Down(factor)
			if err != nil {
				t.Fatal(err)
			}
			in := tone(48000, c.frequency, 48000, 10000)
			out := processInFrames(t, r, in, 960)
			if len(out) != len(in)/factor {
				t.Fatalf("%d samples down by %d gave %d", len(in), factor, len(out))
			}
			if ratio := rms(out) / rms(in); ratio < c.min || ratio > c.max {
				t.Errorf("down by %d, %.0f Hz: gain %.3f, want %.2f to %.2f", factor, c.frequency, ratio, c.min, c.max)
			}
		}
	}
}

func TestUpMakesNoImages(t *testing.T) {
	r, err := Up(6)
	if err != nil {
		t.Fatal(err)
	}
	in := tone(8000, 1000, 8000, 10000)
	out := processInFrames(t, r, in, 160)
	if len(out) != len(in)*6 {
		t.Fatalf("%d samples up by 6 gave %d", len(in), len(out))
	}
	if ratio := rms(out) / rms(in); ratio < 0.95 || ratio > 1.05 {
		t.Errorf("1 kHz up by 6: gain %.3f", ratio)
	}
	// What is left after taking out the 1 kHz tone (fitted in amplitude
	// and phase, as the filter delays it) is the images (7 and 9 kHz, ...)
	// and noise, which the filter must have kept out.
	half := out[len(out)/2:]
	var sinDot, cosDot float64
	for i, s := range half {
		phase := 2 * math.Pi * 1000 * float64(i) / 48000
		sinDot += float64(s) * math.Sin(phase)
		cosDot += float64(s) * math.Cos(phase)
	}
	a, b := 2*sinDot/float64(len(half)), 2*cosDot/float64(len(half))
	var residual float64
	for i, s := range half {
		phase := 2 * math.Pi * 1000 * float64(i) / 48000
		e := float64(s) - a*math.Sin(phase) - b*math.Cos(phase)
		residual += e * e
	}
	if r := math.Sqrt(residual/float64(len(half))) / rms(out); r > 0.01 {
		t.Errorf("images and noise are %.4f of the signal, want under 1%%", r)
	}
}

func TestSilenceStaysSilent(t *testing.T) {
	down, _ := Down(6)
	for _, s := range down.Process(nil, make([]int16, 960)) {
		if s != 0 {
			t.Fatalf("silence down became %d", s)
		}
	}
}

func TestBadFactor(t *testing.T) {
	if _, err := Down(0); err == nil {
		t.Error("a factor of 0 was taken")
	}
}
