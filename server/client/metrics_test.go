package client

import (
	"strings"
	"testing"
)

func TestParseMetrics(t *testing.T) {
	samples, err := ParseMetrics(strings.NewReader("# HELP a_total A.\n# TYPE a_total counter\na_total 42\n\nb{kind=\"x y\"} 1.5e3\nc -7\n"))
	if err != nil {
		t.Fatal(err)
	}
	if samples["a_total"] != 42 || samples[`b{kind="x y"}`] != 1500 || samples["c"] != -7 || len(samples) != 3 {
		t.Errorf("samples %v", samples)
	}
	for _, bad := range []string{"novalue\n", "a notanumber\n", " 5\n"} {
		if _, err := ParseMetrics(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// FuzzParseMetrics: whatever a server answers gives samples or an error,
// never a panic.
func FuzzParseMetrics(f *testing.F) {
	f.Add("# TYPE a counter\na 1\n")
	f.Add("a{b=\"c\"} +Inf\n")
	f.Add(" \n#\n x")
	f.Fuzz(func(t *testing.T, text string) {
		_, _ = ParseMetrics(strings.NewReader(text))
	})
}
