package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Report is a set of runs with what they ran on.
type Report struct {
	Date      time.Time     `json:"date"`
	Command   string        `json:"command"`
	Machine   Machine       `json:"machine"`
	Runs      []Result      `json:"runs"`
	Baselines []RelayResult `json:"baselines,omitempty"`
}

// Machine describes where a report was measured.
type Machine struct {
	CPU    string `json:"cpu"`
	Cores  int    `json:"cores"`
	OS     string `json:"os"`
	Go     string `json:"go"`
	Kernel string `json:"kernel,omitempty"`
}

// ThisMachine describes the machine the benchmark runs on.
func ThisMachine() Machine {
	m := Machine{CPU: "unknown", Cores: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version()}
	if file, err := os.Open("/proc/cpuinfo"); err == nil {
		scanner := bufio.NewScanner(file)
		for scanner.Scan() {
			if name, value, ok := strings.Cut(scanner.Text(), ":"); ok && strings.TrimSpace(name) == "model name" {
				m.CPU = strings.TrimSpace(value)
				break
			}
		}
		file.Close()
	}
	if release, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(release))
	}
	return m
}

// Summary is a run in one line.
func (r Result) Summary() string {
	line := fmt.Sprintf("%-10s n=%-3d join p95 %s, video delay p50/p95 %s/%s ms, audio p95 %s ms, loss %.2f%%, forwarded %.0f pkt/s %.1f Mbit/s, server CPU %.0f%%, %.1f µs/packet, peak RSS %.0f MB",
		r.Scenario, r.Participants, millis(r.JoinMillis.P95), millis(r.VideoDelayMillis.P50), millis(r.VideoDelayMillis.P95),
		millis(r.AudioDelayMillis.P95), 100*r.Loss, r.ForwardedPacketsPerSecond, r.ForwardedBitsPerSecond/1e6,
		100*r.ServerCPU, r.CPUMicrosPerPacket, r.ServerPeakRSSBytes/1e6)
	if r.Broken() {
		line += " BROKEN: " + strings.Join(r.Failures, "; ")
	}
	return line
}

// Summary is a baseline run in one line.
func (r RelayResult) Summary() string {
	return fmt.Sprintf("%-10s n=%-3d forwarded %.0f pkt/s %.1f Mbit/s, loss %.2f%%, relay CPU %.0f%%, %.1f µs/packet",
		"relay", r.Participants, r.ForwardedPacketsPerSecond, r.ForwardedBitsPerSecond/1e6, 100*r.Loss, 100*r.CPU, r.CPUMicrosPerPacket)
}

func millis(ms float64) string {
	if ms == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", ms)
}

// WriteJSON writes the report as JSON.
func (rep Report) WriteJSON(w io.Writer) error {
	encoder := json.NewEncoder(w)
	encoder.SetIndent("", "  ")
	return encoder.Encode(rep)
}

// baselineFor is the relay run with as many participants, if any.
func (rep Report) baselineFor(participants int) (RelayResult, bool) {
	for _, b := range rep.Baselines {
		if b.Participants == participants {
			return b, true
		}
	}
	return RelayResult{}, false
}

// notesMarker starts the part of the page that people write: a new
// report keeps it (KeptNotes).
const notesMarker = "<!-- What follows is written by hand; make bench keeps it. -->"

// KeptNotes is the hand-written part of an earlier page, from its marker
// on; "" when it has none.
func KeptNotes(page []byte) string {
	if i := strings.Index(string(page), notesMarker); i >= 0 {
		return string(page[i:])
	}
	return ""
}

// WriteMarkdown writes the report as the page docs/benchmarks.md is,
// with the chart's path and the notes kept from the page before.
func (rep Report) WriteMarkdown(w io.Writer, chart, notes string) error {
	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	b.WriteString("What Parley's media server does under load, measured by `parley bench`\n")
	b.WriteString("(`app/bench`): synthetic participants join one conference through the\n")
	b.WriteString("public protocol, publish VP8 simulcast and Opus, and receive the others;\n")
	b.WriteString("the server runs as a process of its own, and its CPU time and memory come\n")
	b.WriteString("from its `/metrics`. A bare UDP relay (read a packet, write a copy to every\n")
	b.WriteString("other participant; no SRTP, no RTCP) forwarding the same traffic is the\n")
	b.WriteString("baseline: *ratio* is Parley's CPU per forwarded packet over the relay's.\n\n")
	fmt.Fprintf(&b, "Measured %s on %s (%d cores, %s, %s, Linux %s), the load generator on\n",
		rep.Date.UTC().Format("2006-01-02"), rep.Machine.CPU, rep.Machine.Cores, rep.Machine.OS, rep.Machine.Go, rep.Machine.Kernel)
	b.WriteString("the same machine as the server, with:\n\n")
	fmt.Fprintf(&b, "```sh\n%s\n```\n\n", rep.Command)
	if chart != "" {
		fmt.Fprintf(&b, "![Server CPU and delay against participants](%s)\n\n", chart)
	}
	b.WriteString("| scenario | participants | join p50 / p95 / max (ms) | video delay p50 / p95 (ms) | audio delay p95 (ms) | loss | forwarded (packets/s, Mbit/s) | NACKs/s | server CPU | peak RSS | CPU per packet | relay | ratio |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rep.Runs {
		relay, ratio := "", ""
		if base, ok := rep.baselineFor(r.Participants); ok && r.Scenario == Meeting && base.CPUMicrosPerPacket > 0 {
			relay = fmt.Sprintf("%.1f µs", base.CPUMicrosPerPacket)
			ratio = fmt.Sprintf("%.1f×", r.CPUMicrosPerPacket/base.CPUMicrosPerPacket)
		}
		scenario := string(r.Scenario)
		if r.Broken() {
			scenario += " (broken: " + strings.Join(r.Failures, "; ") + ")"
		}
		fmt.Fprintf(&b, "| %s | %d | %s / %s / %s | %s / %s | %s | %.2f%% | %.0f, %.1f | %.1f | %.0f%% | %.0f MB | %.1f µs | %s | %s |\n",
			scenario, r.Participants, millis(r.JoinMillis.P50), millis(r.JoinMillis.P95), millis(r.JoinMillis.Max),
			millis(r.VideoDelayMillis.P50), millis(r.VideoDelayMillis.P95), millis(r.AudioDelayMillis.P95), 100*r.Loss,
			r.ForwardedPacketsPerSecond, r.ForwardedBitsPerSecond/1e6, r.NACKsPerSecond, 100*r.ServerCPU,
			r.ServerPeakRSSBytes/1e6, r.CPUMicrosPerPacket, relay, ratio)
	}
	b.WriteString("\nServer CPU is its CPU time over the measured wall time (100% = one core).\n")
	b.WriteString("Delay is from the sender's packetizer to the receiver's read, both in the\n")
	b.WriteString("benchmark's process (one clock). Join is from opening the signalling\n")
	b.WriteString("socket to the first remote video frame. Peak RSS is the server process's\n")
	b.WriteString("highest so far: the runs share one server, in this order.\n")
	if notes == "" {
		notes = notesMarker + "\n"
	}
	b.WriteString("\n" + notes)
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteSVG draws the meeting runs: the server's CPU and the p95 video
// delay against the number of participants, with the relay's CPU.
func (rep Report) WriteSVG(w io.Writer) error {
	var meetings []Result
	for _, r := range rep.Runs {
		if r.Scenario == Meeting {
			meetings = append(meetings, r)
		}
	}
	slices.SortFunc(meetings, func(a, b Result) int { return a.Participants - b.Participants })
	const width, height, left, right, top, bottom = 640, 360, 60, 60, 30, 50
	plotW, plotH := float64(width-left-right), float64(height-top-bottom)
	maxN, maxCPU, maxDelay := 2.0, 0.5, 50.0
	for _, r := range meetings {
		maxN = max(maxN, float64(r.Participants))
		maxCPU = max(maxCPU, r.ServerCPU)
		maxDelay = max(maxDelay, r.VideoDelayMillis.P95)
	}
	x := func(n int) float64 { return left + plotW*float64(n)/maxN }
	yCPU := func(v float64) float64 { return top + plotH*(1-v/(maxCPU*1.1)) }
	yDelay := func(v float64) float64 { return top + plotH*(1-v/(maxDelay*1.1)) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, height-bottom, width-right, height-bottom)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#1f77b4"/>`+"\n", left, top, left, height-bottom)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#d62728"/>`+"\n", width-right, top, width-right, height-bottom)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">participants in one meeting</text>`+"\n", left+int(plotW/2), height-12)
	fmt.Fprintf(&b, `<text x="14" y="%d" fill="#1f77b4" transform="rotate(-90 14 %d)" text-anchor="middle">server CPU (cores)</text>`+"\n", top+int(plotH/2), top+int(plotH/2))
	fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#d62728" transform="rotate(90 %d %d)" text-anchor="middle">p95 video delay (ms)</text>`+"\n", width-14, top+int(plotH/2), width-14, top+int(plotH/2))
	for i := 0; i <= 4; i++ {
		cpu, delay := maxCPU*1.1*float64(i)/4, maxDelay*1.1*float64(i)/4
		fmt.Fprintf(&b, `<text x="%d" y="%.0f" text-anchor="end" fill="#1f77b4">%.2f</text>`+"\n", left-4, yCPU(cpu)+4, cpu)
		fmt.Fprintf(&b, `<text x="%d" y="%.0f" fill="#d62728">%.0f</text>`+"\n", width-right+4, yDelay(delay)+4, delay)
	}
	line := func(color string, dashed bool, points [][2]float64) {
		if len(points) == 0 {
			return
		}
		var coords []string
		for _, p := range points {
			coords = append(coords, fmt.Sprintf("%.1f,%.1f", p[0], p[1]))
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", p[0], p[1], color)
		}
		dash := ""
		if dashed {
			dash = ` stroke-dasharray="5,4"`
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.Join(coords, " "), color, dash)
	}
	var cpu, delay, relay [][2]float64
	for _, r := range meetings {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", x(r.Participants), height-bottom+16, r.Participants)
		cpu = append(cpu, [2]float64{x(r.Participants), yCPU(r.ServerCPU)})
		delay = append(delay, [2]float64{x(r.Participants), yDelay(r.VideoDelayMillis.P95)})
		if base, ok := rep.baselineFor(r.Participants); ok {
			relay = append(relay, [2]float64{x(r.Participants), yCPU(base.CPU)})
		}
	}
	line("#1f77b4", false, cpu)
	line("#1f77b4", true, relay)
	line("#d62728", false, delay)
	fmt.Fprintf(&b, `<text x="%d" y="18" fill="#1f77b4">— Parley CPU   - - bare relay CPU</text>`+"\n", left+10)
	fmt.Fprintf(&b, `<text x="%d" y="18" fill="#d62728" text-anchor="end">— p95 video delay</text>`+"\n", width-right-10)
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
