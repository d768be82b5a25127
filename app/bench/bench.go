// Package bench measures Parley's media server under load that anyone can
// rerun: synthetic participants (the public protocol, through
// media/participant) join one conference, publish tagged VP8 simulcast
// and Opus, and receive the others, while the run measures join times,
// end-to-end delay, loss, forwarded traffic and the server's CPU and
// memory (from its /metrics). A bare UDP relay run on the same traffic
// (Relay) is the baseline its cost per packet is read against.
package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/parleyhq/parley/media/participant"
	"github.com/parleyhq/parley/server/client"
)

// Scenario is a kind of load.
type Scenario string

// The standard scenarios.
const (
	// Meeting: everyone publishes camera and microphone and receives
	// everyone else.
	Meeting Scenario = "meeting"
	// Webinar: one publisher, everyone else only receives.
	Webinar Scenario = "webinar"
	// Audio: everyone publishes and receives audio only.
	Audio Scenario = "audio"
	// JoinStorm: one publisher, then everyone else joins at once.
	JoinStorm Scenario = "join-storm"
)

// Scenarios are the standard scenarios, in the order a full run takes.
var Scenarios = []Scenario{Meeting, Webinar, Audio, JoinStorm}

// Config is one run.
type Config struct {
	Scenario     Scenario
	Participants int
	// Settle is the time after everyone joined before measuring, for the
	// layer choice and bandwidth estimates to settle; Duration is the
	// measured phase.
	Settle, Duration time.Duration
	// Bitrates are the simulcast layers' kbit/s (q, h, f), at FPS frames
	// a second with a keyframe every KeyframeInterval.
	Bitrates         [3]int
	FPS              int
	KeyframeInterval time.Duration
	// Tile is the video tile every receiver reports, which picks the
	// layer it gets: 640x360 is the middle one.
	Tile [2]int
	// MaxLoss is the loss above which the run counts as broken.
	MaxLoss float64
	Logger  *slog.Logger
}

// Defaults fills in what a config leaves zero.
func (c Config) withDefaults() Config {
	if c.Scenario == "" {
		c.Scenario = Meeting
	}
	if c.Participants == 0 {
		c.Participants = 4
	}
	if c.Settle == 0 {
		c.Settle = 3 * time.Second
	}
	if c.Duration == 0 {
		c.Duration = 10 * time.Second
	}
	if c.Bitrates == ([3]int{}) {
		c.Bitrates = [3]int{150, 500, 1500}
	}
	if c.FPS == 0 {
		c.FPS = 30
	}
	if c.KeyframeInterval == 0 {
		c.KeyframeInterval = 3 * time.Second
	}
	if c.Tile == ([2]int{}) {
		c.Tile = [2]int{640, 360}
	}
	if c.MaxLoss == 0 {
		c.MaxLoss = 0.02
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// layerSizes are the simulcast layers' pictures: q, h and f.
var layerSizes = [3][2]int{{320, 180}, {640, 360}, {1280, 720}}

// Target is the server a run drives.
type Target struct {
	URL       string // https://host:port/
	CACertPEM []byte
	// Owner is signed in as the owner, or an administrator: it creates
	// the conference, raises the connection limit the run needs, and
	// reads /metrics.
	Owner *client.Client
}

// Percentiles summarise a distribution, in milliseconds.
type Percentiles struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	Max float64 `json:"max"`
	N   int     `json:"n"`
}

func percentiles(samples []time.Duration) Percentiles {
	if len(samples) == 0 {
		return Percentiles{}
	}
	slices.Sort(samples)
	at := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(samples)))) - 1
		return float64(samples[max(i, 0)]) / float64(time.Millisecond)
	}
	return Percentiles{P50: at(0.5), P95: at(0.95), Max: at(1), N: len(samples)}
}

// Result is what a run measured. Rates are per second of the measured
// phase.
type Result struct {
	Scenario     Scenario `json:"scenario"`
	Participants int      `json:"participants"`
	Seconds      float64  `json:"seconds"`
	BitrateKbps  [3]int   `json:"bitrates_kbps"`

	JoinMillis       Percentiles `json:"join_ms"`
	VideoDelayMillis Percentiles `json:"video_delay_ms"`
	AudioDelayMillis Percentiles `json:"audio_delay_ms"`
	// Loss is the share of packets the receivers missed.
	Loss float64 `json:"loss"`

	ReceivedPacketsPerSecond  float64 `json:"received_packets_per_second"`
	ForwardedPacketsPerSecond float64 `json:"forwarded_packets_per_second"`
	ForwardedBitsPerSecond    float64 `json:"forwarded_bits_per_second"`
	NACKsPerSecond            float64 `json:"nacks_per_second"`
	DroppedPerSecond          float64 `json:"dropped_per_second"`

	// ServerCPU is the server's CPU time over wall time (1 = one core).
	ServerCPU          float64 `json:"server_cpu"`
	ServerPeakRSSBytes float64 `json:"server_peak_rss_bytes"`
	// CPUMicrosPerPacket is the server's CPU per forwarded packet.
	CPUMicrosPerPacket float64 `json:"cpu_us_per_forwarded_packet"`

	// Failures say why the run is broken; empty when it is not.
	Failures []string `json:"failures,omitempty"`
}

// Broken reports whether the run failed.
func (r Result) Broken() bool { return len(r.Failures) > 0 }

// Run drives one scenario against a server.
func Run(ctx context.Context, target Target, cfg Config) (Result, error) {
	cfg = cfg.withDefaults()
	result := Result{Scenario: cfg.Scenario, Participants: cfg.Participants, BitrateKbps: cfg.Bitrates}
	if !slices.Contains(Scenarios, cfg.Scenario) {
		return result, fmt.Errorf("unknown scenario %q (meeting, webinar, audio or join-storm)", cfg.Scenario)
	}
	if cfg.Participants < 2 {
		return result, errors.New("a run needs at least two participants")
	}
	// Every participant's signalling socket comes from this machine.
	if _, _, err := target.Owner.UpdateSettings(ctx, map[string]any{"max_sockets_per_address": max(32, 2*cfg.Participants+8)}); err != nil {
		return result, fmt.Errorf("raise the connection limit: %w", err)
	}
	conf, err := target.Owner.CreateConference(ctx, client.ConferenceSpec{
		Name: fmt.Sprintf("bench %s %d", cfg.Scenario, cfg.Participants), Kind: client.KindRoom, Access: client.AccessPublic,
		Lobby: "off", MaxParticipants: cfg.Participants,
	})
	if err != nil {
		return result, fmt.Errorf("create the conference: %w", err)
	}
	defer func() { _ = target.Owner.DeleteConference(context.WithoutCancel(ctx), conf.CID) }()

	run := &run{ctx: ctx, cfg: cfg, target: target, cid: conf.CID}
	defer run.close()
	if err := run.join(); err != nil {
		return result, err
	}
	// Wait for every receiver's first frame (audio: the run goes on).
	deadline := time.Now().Add(20 * time.Second)
	for !run.everyoneReceives() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	select {
	case <-time.After(cfg.Settle):
	case <-ctx.Done():
		return result, ctx.Err()
	}

	before, err := target.Owner.Metrics(ctx)
	if err != nil {
		return result, fmt.Errorf("read the server's metrics: %w", err)
	}
	started := time.Now()
	for _, m := range run.members {
		m.receiver.startMeasuring()
	}
	select {
	case <-time.After(cfg.Duration):
	case <-ctx.Done():
		return result, ctx.Err()
	}
	after, err := target.Owner.Metrics(ctx)
	if err != nil {
		return result, fmt.Errorf("read the server's metrics: %w", err)
	}
	seconds := time.Since(started).Seconds()
	result.Seconds = seconds
	run.summarise(&result, before, after, seconds)
	return result, nil
}

// member is one synthetic participant.
type member struct {
	p        *participant.Participant
	receiver *receiver
}

type run struct {
	ctx    context.Context
	cfg    Config
	target Target
	cid    string

	mu      sync.Mutex
	members []*member
}

// join brings everyone in: one after another, or for a join storm, the
// publisher first and then everyone else at once.
func (r *run) join() error {
	n := r.cfg.Participants
	publishes := func(i int) bool {
		switch r.cfg.Scenario {
		case Webinar, JoinStorm:
			return i == 0
		}
		return true
	}
	if r.cfg.Scenario == JoinStorm {
		if err := r.joinOne(0, true); err != nil {
			return err
		}
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := 1; i < n; i++ {
			wg.Go(func() { errs[i] = r.joinOne(i, false) })
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	for i := range n {
		if err := r.joinOne(i, publishes(i)); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) joinOne(i int, publishes bool) error {
	guest, err := client.New(r.target.URL, client.Options{CACertPEM: r.target.CACertPEM})
	if err != nil {
		return err
	}
	opts := participant.Options{Name: fmt.Sprintf("Load %d", i+1), Loopback: true, Logger: r.cfg.Logger}
	video := r.cfg.Scenario != Audio
	if publishes {
		opts.AudioSource = newAudioSource(i == 0)
		if video {
			for layer, size := range layerSizes {
				opts.VideoLayers = append(opts.VideoLayers,
					newVideoLayer(size[0], size[1], r.cfg.FPS, r.cfg.Bitrates[layer], r.cfg.KeyframeInterval))
			}
		}
	}
	m := &member{}
	// Ask for the layer the tile fits of every remote camera: those
	// whose first packets come while joining, once joined.
	var joinedMu sync.Mutex
	var joined *participant.Participant
	var pending []string
	setLayer := func(p *participant.Participant, from string) {
		_ = p.SetLayer(r.ctx, from, r.cfg.Tile[0], r.cfg.Tile[1])
	}
	m.receiver = newReceiver(time.Now(), func(from string) {
		joinedMu.Lock()
		p := joined
		if p == nil {
			pending = append(pending, from)
		}
		joinedMu.Unlock()
		if p != nil {
			setLayer(p, from)
		}
	})
	opts.Sink = m.receiver
	ctx, cancel := context.WithTimeout(r.ctx, 30*time.Second)
	defer cancel()
	p, err := participant.Join(ctx, guest, r.cid, opts)
	if err != nil {
		return fmt.Errorf("participant %d joins: %w", i+1, err)
	}
	joinedMu.Lock()
	joined, pending = p, append([]string(nil), pending...)
	joinedMu.Unlock()
	for _, from := range pending {
		setLayer(p, from)
	}
	m.p = p
	r.mu.Lock()
	r.members = append(r.members, m)
	r.mu.Unlock()
	return nil
}

// receives reports whether the i-th member receives video: in a
// meeting everyone, else everyone but the one publisher.
func (r *run) receivesVideo(i int) bool {
	switch r.cfg.Scenario {
	case Audio:
		return false
	case Meeting:
		return true
	}
	return i > 0
}

// everyoneReceives reports whether every member who should see video has
// had a frame.
func (r *run) everyoneReceives() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, m := range r.members {
		if _, ok := m.receiver.joinTime(); r.receivesVideo(i) && !ok {
			return false
		}
	}
	return true
}

func (r *run) close() {
	r.mu.Lock()
	members := r.members
	r.members = nil
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, m := range members {
		wg.Go(m.p.Close)
	}
	wg.Wait()
}

// summarise fills in the result from the receivers and the server's
// metrics before and after the measured phase.
func (r *run) summarise(result *Result, before, after map[string]float64, seconds float64) {
	delta := func(name string) float64 { return after[name] - before[name] }
	var joins, video, audio []time.Duration
	var expected, received uint64
	r.mu.Lock()
	members := r.members
	r.mu.Unlock()
	for i, m := range members {
		// The first to join waits for someone to publish: its time says
		// nothing of the server.
		if join, ok := m.receiver.joinTime(); ok && i > 0 {
			joins = append(joins, join)
		}
		e, rcv, v, a := m.receiver.measured()
		expected, received = expected+e, received+rcv
		video, audio = append(video, v...), append(audio, a...)
	}
	result.JoinMillis = percentiles(joins)
	result.VideoDelayMillis, result.AudioDelayMillis = percentiles(video), percentiles(audio)
	if expected > 0 && received < expected {
		result.Loss = float64(expected-received) / float64(expected)
	}
	result.ReceivedPacketsPerSecond = delta("parley_media_packets_received_total") / seconds
	result.ForwardedPacketsPerSecond = delta("parley_media_packets_forwarded_total") / seconds
	result.ForwardedBitsPerSecond = 8 * delta("parley_media_forwarded_bytes_total") / seconds
	result.NACKsPerSecond = delta("parley_media_nacks_received_total") / seconds
	result.DroppedPerSecond = delta("parley_media_packets_dropped_total") / seconds
	cpu := delta("process_cpu_seconds_total")
	result.ServerCPU = cpu / seconds
	result.ServerPeakRSSBytes = after["process_resident_memory_peak_bytes"]
	if forwarded := delta("parley_media_packets_forwarded_total"); forwarded > 0 {
		result.CPUMicrosPerPacket = cpu / forwarded * 1e6
	}

	if len(members) < r.cfg.Participants {
		result.Failures = append(result.Failures, fmt.Sprintf("%d of %d participants joined", len(members), r.cfg.Participants))
	}
	if r.cfg.Scenario != Audio && len(joins) < r.cfg.Participants-1 {
		result.Failures = append(result.Failures, fmt.Sprintf("%d of %d participants who joined after the first got a frame", len(joins), r.cfg.Participants-1))
	}
	if received == 0 {
		result.Failures = append(result.Failures, "no media arrived in the measured phase")
	}
	if result.Loss > r.cfg.MaxLoss {
		result.Failures = append(result.Failures, fmt.Sprintf("loss %.2f%% is above %.2f%%", 100*result.Loss, 100*r.cfg.MaxLoss))
	}
}
