package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/app/testenv"
)

func TestTagRoundTrip(t *testing.T) {
	now := time.Unix(1700000000, 123456789)
	sent, ok := sentAt(tag([]byte("frame"), now))
	if !ok || !sent.Equal(now) {
		t.Errorf("tag read back %v %v", sent, ok)
	}
	for _, untagged := range [][]byte{nil, []byte("short"), bytes.Repeat([]byte{1}, 40)} {
		if _, ok := sentAt(untagged); ok {
			t.Errorf("%q read as tagged", untagged)
		}
	}
}

func TestPercentiles(t *testing.T) {
	var samples []time.Duration
	for i := 100; i >= 1; i-- {
		samples = append(samples, time.Duration(i)*time.Millisecond)
	}
	if p := percentiles(samples); p.P50 != 50 || p.P95 != 95 || p.Max != 100 || p.N != 100 {
		t.Errorf("percentiles %+v", p)
	}
	if p := percentiles(nil); p != (Percentiles{}) {
		t.Errorf("no samples: %+v", p)
	}
}

// TestTrackCountAcrossWrapAndLoss: sequence numbers that wrap, with two
// packets lost and one late.
func TestTrackCountAcrossWrapAndLoss(t *testing.T) {
	var track trackCount
	for _, seq := range []uint16{65533, 65534, 1, 0, 2, 5} {
		track.observe(seq)
	}
	if track.expected() != 9 || track.received != 6 {
		t.Errorf("expected %d, received %d; want 9 and 6", track.expected(), track.received)
	}
}

// TestBenchmarkRuns keeps the tool working: a tiny meeting against a real
// server process, and the relay baseline, with sane numbers. The numbers
// themselves live in docs/benchmarks.md, not here.
func TestBenchmarkRuns(t *testing.T) {
	binary := testenv.Parley(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	server, err := StartServer(ctx, binary, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer server.Stop()
	cfg := Config{Participants: 3, Settle: time.Second, Duration: 2 * time.Second}
	result, err := Run(ctx, server.Target, cfg)
	if err != nil {
		t.Fatalf("%v\n%s", err, server.Output())
	}
	t.Log(result.Summary())
	if result.Broken() || result.ForwardedPacketsPerSecond == 0 || result.VideoDelayMillis.N == 0 || result.AudioDelayMillis.N == 0 ||
		result.JoinMillis.N != 2 || result.ServerCPU <= 0 || result.CPUMicrosPerPacket <= 0 || result.ServerPeakRSSBytes <= 0 {
		t.Errorf("meeting of 3: %+v", result)
	}

	relay, err := Relay(ctx, binary, Config{Participants: 3, Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(relay.Summary())
	if relay.ForwardedPacketsPerSecond == 0 || relay.CPUMicrosPerPacket <= 0 || relay.Loss > 0.1 {
		t.Errorf("relay of 3: %+v", relay)
	}

	report := Report{Date: time.Now(), Command: "parley bench", Machine: ThisMachine(), Runs: []Result{result}, Baselines: []RelayResult{relay}}
	var page, chart, encoded strings.Builder
	if err := report.WriteMarkdown(&page, "chart.svg", ""); err != nil || !strings.Contains(page.String(), "| meeting | 3 |") || !strings.Contains(page.String(), "×") {
		t.Errorf("the page: %v\n%s", err, page.String())
	}
	notes := KeptNotes([]byte(page.String() + "\n## Findings\n\nSome.\n"))
	var again strings.Builder
	if err := report.WriteMarkdown(&again, "chart.svg", notes); err != nil || !strings.HasSuffix(again.String(), "## Findings\n\nSome.\n") {
		t.Errorf("the notes are not kept:\n%s", again.String())
	}
	if err := report.WriteSVG(&chart); err != nil || !strings.Contains(chart.String(), "<polyline") {
		t.Errorf("the chart: %v\n%s", err, chart.String())
	}
	if err := report.WriteJSON(&encoded); err != nil || !json.Valid([]byte(encoded.String())) {
		t.Errorf("the JSON: %v", err)
	}
}
