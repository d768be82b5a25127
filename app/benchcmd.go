package app

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/parleyhq/parley/app/bench"
	"github.com/parleyhq/parley/server/client"
)

// bench runs `parley bench`: the standard scenarios against a
// server it starts (or one given), the relay baseline, and the reports.
func (c *command) bench(args []string) error {
	set := flag.NewFlagSet("parley bench", flag.ContinueOnError)
	set.SetOutput(c.stderr)
	scenario := set.String("scenario", "meeting", "meeting, webinar, audio, join-storm, or standard (the set make bench runs)")
	participants := set.String("participants", "4", "participants per run; several, comma-separated, make one run each")
	duration := set.Duration("duration", 10*time.Second, "measured time of each run")
	settle := set.Duration("settle", 3*time.Second, "time after the joins before measuring")
	bitrates := set.String("bitrates", "150,500,1500", "kbit/s of the three simulcast layers")
	fps := set.Int("fps", 30, "video frames a second")
	tile := set.String("tile", "640x360", "the video tile receivers report, which picks the layer they get (320x180 low, 640x360 middle, 1280x720 high)")
	maxLoss := set.Float64("max-loss", 0.02, "loss above which a run counts as broken")
	baseline := set.Bool("baseline", true, "also run the bare UDP relay on each meeting's traffic")
	serverURL := set.String("server", "", "drive this server (https://host:port/) instead of starting one; reads the password from standard input")
	login := set.String("user", "", "with --server: an administrator's login")
	caFile := set.String("ca", "", "with --server: the server's CA certificate (PEM)")
	jsonOut := set.String("json", "", "write the results as JSON to this file")
	svgOut := set.String("svg", "", "write the chart (meeting runs) as SVG to this file")
	markdownOut := set.String("markdown", "", "write the report page (docs/benchmarks.md) to this file")
	profile := set.String("cpu-profile", "", "write a CPU profile of the server it starts to this file (go tool pprof)")
	if err := set.Parse(args); err != nil {
		return err
	}
	if set.NArg() > 0 {
		return usageError{fmt.Sprintf("bench takes no arguments, got %q", set.Arg(0))}
	}
	cfg := bench.Config{Duration: *duration, Settle: *settle, FPS: *fps, MaxLoss: *maxLoss}
	if _, err := fmt.Sscanf(*bitrates, "%d,%d,%d", &cfg.Bitrates[0], &cfg.Bitrates[1], &cfg.Bitrates[2]); err != nil {
		return usageError{fmt.Sprintf("--bitrates %q: want three numbers, as 150,500,1500", *bitrates)}
	}
	if _, err := fmt.Sscanf(*tile, "%dx%d", &cfg.Tile[0], &cfg.Tile[1]); err != nil || cfg.Tile[0] <= 0 || cfg.Tile[1] <= 0 {
		return usageError{fmt.Sprintf("--tile %q: want WIDTHxHEIGHT, as 640x360", *tile)}
	}
	plan, err := benchPlan(*scenario, *participants)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	binary, err := os.Executable()
	if err != nil {
		return err
	}
	target, done, err := c.benchTarget(ctx, binary, *serverURL, *login, *caFile, *profile)
	if err != nil {
		return err
	}
	defer done()

	report := bench.Report{Date: time.Now(), Command: "parley bench " + strings.Join(args, " "), Machine: bench.ThisMachine()}
	broken := 0
	for _, step := range plan {
		cfg.Scenario, cfg.Participants = step.scenario, step.participants
		result, err := bench.Run(ctx, target, cfg)
		if err != nil {
			return fmt.Errorf("%s with %d: %w", step.scenario, step.participants, err)
		}
		fmt.Fprintln(c.stdout, result.Summary())
		report.Runs = append(report.Runs, result)
		if result.Broken() {
			broken++
		}
		if *baseline && step.scenario == bench.Meeting && *serverURL == "" {
			relay, err := bench.Relay(ctx, binary, cfg)
			if err != nil {
				return fmt.Errorf("the relay baseline with %d: %w", step.participants, err)
			}
			fmt.Fprintln(c.stdout, relay.Summary())
			report.Baselines = append(report.Baselines, relay)
		}
	}
	if err := writeReports(report, *jsonOut, *svgOut, *markdownOut); err != nil {
		return err
	}
	if broken > 0 {
		return fmt.Errorf("%d of %d runs broke", broken, len(plan))
	}
	return nil
}

type benchStep struct {
	scenario     bench.Scenario
	participants int
}

// standardPlan is what make bench runs: the meeting at growing sizes (the
// chart), then each other scenario once.
var standardPlan = []benchStep{
	{bench.Meeting, 2}, {bench.Meeting, 4}, {bench.Meeting, 8}, {bench.Meeting, 12},
	{bench.Webinar, 20}, {bench.Audio, 12}, {bench.JoinStorm, 20},
}

func benchPlan(scenario, participants string) ([]benchStep, error) {
	if scenario == "standard" {
		return standardPlan, nil
	}
	var plan []benchStep
	for field := range strings.SplitSeq(participants, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil || n < 2 || n > 200 {
			return nil, usageError{fmt.Sprintf("--participants %q: want numbers from 2 to 200", participants)}
		}
		plan = append(plan, benchStep{bench.Scenario(scenario), n})
	}
	return plan, nil
}

// benchTarget starts a server in a temporary data directory, or signs in
// to the one given.
func (c *command) benchTarget(ctx context.Context, binary, serverURL, login, caFile, profile string) (bench.Target, func(), error) {
	if serverURL == "" {
		var serveArgs []string
		if profile != "" {
			abs, err := filepath.Abs(profile)
			if err != nil {
				return bench.Target{}, nil, err
			}
			serveArgs = []string{"--cpu-profile", abs}
		}
		dir, err := os.MkdirTemp("", "parley-bench-")
		if err != nil {
			return bench.Target{}, nil, err
		}
		server, err := bench.StartServer(ctx, binary, dir, serveArgs...)
		if err != nil {
			os.RemoveAll(dir)
			return bench.Target{}, nil, err
		}
		return server.Target, func() { server.Stop(); os.RemoveAll(dir) }, nil
	}
	if profile != "" {
		return bench.Target{}, nil, usageError{"--cpu-profile profiles a server the benchmark starts; for --server, profile that server with parley serve --cpu-profile"}
	}
	if login == "" {
		return bench.Target{}, nil, usageError{"--server needs --user (an administrator) and the password on standard input"}
	}
	var ca []byte
	if caFile != "" {
		var err error
		if ca, err = os.ReadFile(caFile); err != nil {
			return bench.Target{}, nil, err
		}
	}
	owner, err := client.New(serverURL, client.Options{CACertPEM: ca})
	if err != nil {
		return bench.Target{}, nil, err
	}
	password, err := bufio.NewReader(c.stdin).ReadString('\n')
	if err != nil && password == "" {
		return bench.Target{}, nil, errors.New("no password on standard input")
	}
	if _, err := owner.SignIn(ctx, login, strings.TrimRight(password, "\r\n")); err != nil {
		return bench.Target{}, nil, err
	}
	return bench.Target{URL: serverURL, CACertPEM: ca, Owner: owner}, owner.Close, nil
}

// writeReports writes whichever of the reports were asked for.
func writeReports(report bench.Report, jsonFile, svgFile, markdownFile string) error {
	write := func(path string, fill func(*os.File) error) error {
		if path == "" {
			return nil
		}
		file, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := fill(file); err != nil {
			file.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
		return file.Close()
	}
	chart, notes := "", ""
	if markdownFile != "" {
		if svgFile != "" {
			if rel, err := filepath.Rel(filepath.Dir(markdownFile), svgFile); err == nil {
				chart = filepath.ToSlash(rel)
			}
		}
		if earlier, err := os.ReadFile(markdownFile); err == nil {
			notes = bench.KeptNotes(earlier)
		}
	}
	return errors.Join(
		write(jsonFile, func(f *os.File) error { return report.WriteJSON(f) }),
		write(svgFile, func(f *os.File) error { return report.WriteSVG(f) }),
		write(markdownFile, func(f *os.File) error { return report.WriteMarkdown(f, chart, notes) }),
	)
}
