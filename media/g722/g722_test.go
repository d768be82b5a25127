package g722

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/parleyhq/parley/assets"
)

func tone(frequency, amplitude float64, n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amplitude * math.Sin(2*math.Pi*frequency*float64(i)/SampleRate))
	}
	return out
}

// snr compares decoded with the input, after the codec's delay (the two
// QMFs: 22 samples), in dB.
func snr(in, out []int16) float64 {
	const delay = 22
	var signal, noise float64
	for i := SampleRate / 4; i+delay < len(out) && i < len(in); i++ {
		s := float64(in[i])
		e := float64(out[i+delay]) - s
		signal += s * s
		noise += e * e
	}
	return 10 * math.Log10(signal/noise)
}

// TestTonesComeBack: tones across the wideband come back through the
// codec with the quality G.722 has at 64 kbit/s, in both sub-bands.
func TestTonesComeBack(t *testing.T) {
	for _, c := range []struct {
		frequency, minSNR float64
	}{
		{300, 25}, {1000, 25}, {3000, 20}, {5000, 10}, {7000, 8},
	} {
		in := tone(c.frequency, 8000, SampleRate)
		code := NewEncoder().Encode(nil, in)
		if len(code) != len(in)/2 {
			t.Fatalf("%d samples gave %d bytes", len(in), len(code))
		}
		out := NewDecoder().Decode(nil, code)
		if got := snr(in, out); got < c.minSNR {
			t.Errorf("%.0f Hz: SNR %.1f dB, want at least %.0f", c.frequency, got, c.minSNR)
		}
	}
}

// TestStreamsInPieces: encoding in 20 ms pieces is encoding all at once.
func TestStreamsInPieces(t *testing.T) {
	in := tone(440, 12000, SampleRate)
	whole := NewEncoder().Encode(nil, in)
	enc := NewEncoder()
	var pieces []byte
	for start := 0; start < len(in); start += 320 {
		pieces = enc.Encode(pieces, in[start:start+320])
	}
	if string(whole) != string(pieces) {
		t.Error("encoding in pieces differs")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte{0, 0xff, 0x3f, 0xc0})
	f.Fuzz(func(t *testing.T, code []byte) {
		if n := len(NewDecoder().Decode(nil, code)); n != 2*len(code) {
			t.Fatalf("%d bytes decoded to %d samples", len(code), n)
		}
	})
}

// reference builds testdata/reference.c, SpanDSP's G.722, which conforms
// to the recommendation's test vectors; make deps installs gcc and
// libspandsp-dev.
func reference(t *testing.T) string {
	t.Helper()
	binary := filepath.Join(t.TempDir(), "g722ref")
	out, err := exec.Command("gcc", "-o", binary, filepath.Join("testdata", "reference.c"), "-lspandsp").CombinedOutput()
	if err != nil {
		t.Fatalf("build the SpanDSP reference (make deps, or apt-get install gcc libspandsp-dev): %v\n%s", err, out)
	}
	return binary
}

func run(t *testing.T, binary string, input []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Stdin = bytes.NewReader(input)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("reference %v: %v", args, err)
	}
	return out
}

// speechLike is two seconds of a spoken prompt of Parley's voice menu,
// then loud tones and noise that reach the quantizers' limits.
func speechLike(t *testing.T) []int16 {
	t.Helper()
	data, err := assets.Prompt("welcome")
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(data, []byte("data"))
	var pcm []int16
	for i := at + 8; i+1 < len(data) && len(pcm) < 2*SampleRate; i += 2 {
		pcm = append(pcm, int16(binary.LittleEndian.Uint16(data[i:])))
	}
	random := rand.New(rand.NewPCG(1, 2))
	for i := range SampleRate {
		v := 20000*math.Sin(2*math.Pi*700*float64(i)/SampleRate) + 12000*math.Sin(2*math.Pi*6100*float64(i)/SampleRate) + random.NormFloat64()*3000
		pcm = append(pcm, int16(max(-32768, min(32767, v))))
	}
	return pcm
}

// TestBitExactWithSpanDSP: the same bytes as SpanDSP for the same input,
// and the same samples back from the same bytes, but where the synthesis
// overflows 16 bits: SpanDSP wraps round (a loud click of the opposite
// sign), this decoder holds the sample at full scale.
func TestBitExactWithSpanDSP(t *testing.T) {
	ref := reference(t)
	pcm := speechLike(t)
	raw := make([]byte, 2*len(pcm))
	for i, s := range pcm {
		binary.LittleEndian.PutUint16(raw[2*i:], uint16(s))
	}
	want := run(t, ref, raw)
	got := NewEncoder().Encode(nil, pcm)
	if len(got) != len(want) {
		t.Fatalf("%d bytes, the reference %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("byte %d (sample %d): %#02x, the reference %#02x", i, 2*i, got[i], want[i])
		}
	}
	wantPCM := run(t, ref, want, "-d")
	decoded := NewDecoder().Decode(nil, want)
	clipped := 0
	for i, s := range decoded {
		r := int16(binary.LittleEndian.Uint16(wantPCM[2*i:]))
		if s == r {
			continue
		}
		if (s == 32767 && r < 0) || (s == -32768 && r > 0) {
			clipped++
			continue
		}
		t.Fatalf("decoded sample %d: %d, the reference %d", i, s, r)
	}
	if clipped > len(decoded)/100 {
		t.Errorf("%d samples held at full scale where the reference wrapped round", clipped)
	}
}
