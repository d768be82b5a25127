package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/parleyhq/parley/app/bench"
)

// Desktop opens the desktop window with the server options of the command
// line, returning when the window closes. The ui package provides it; a
// build without a window passes nil.
type Desktop func(opts Options) error

// Main runs the parley command and returns its exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer, desktop Desktop) int {
	cmd := &command{stdin: stdin, stdout: stdout, stderr: stderr, openDesktop: desktop}
	if err := cmd.run(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		var usage usageError
		if errors.As(err, &usage) {
			fmt.Fprintln(stderr, "parley:", err)
			fmt.Fprintln(stderr, "Run 'parley help' for usage.")
			return 2
		}
		fmt.Fprintln(stderr, "parley:", err)
		return 1
	}
	return 0
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

type command struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	openDesktop    Desktop
}

const usage = `Parley: video conferencing for the office, in one program.

Usage:
  parley [flags]                 open the desktop app (headless: run the server)
  parley [flags] LINK            open the desktop app on a meeting link
                                 (parley://server:8443/c/ID, as a browser passes it)
  parley serve [flags]           run the server without a window
  parley version                 print the version
  parley find [DOMAIN|EMAIL]     list the Parley servers on the local network,
                                 or those a domain's DNS (SRV) points at
  parley user add LOGIN [flags]  create an account (asks for its password)
  parley user list               list accounts
  parley user passwd LOGIN       set an account's password
  parley user disable LOGIN      stop an account from signing in
  parley user enable LOGIN       let a disabled account sign in again
  parley user unlock LOGIN       lift a lockout after failed sign-ins
  parley bench [flags]           measure the media server under synthetic load
                                 (docs/benchmarks.md)

Run 'parley COMMAND -h' for a command's flags.
`

func (c *command) run(args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") || isLink(args[0]) {
		return c.desktop(args)
	}
	switch args[0] {
	case "serve":
		return c.serve(args[1:])
	case "version":
		fmt.Fprintf(c.stdout, "parley %s (%s, %s/%s)\n", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return nil
	case "user":
		return c.user(args[1:])
	case "find":
		return c.find(args[1:])
	case "bench":
		return c.bench(args[1:])
	case "bench-relay": // the relay process of parley bench's baseline
		return bench.ServeRelay(c.stdin, c.stdout)
	case "help", "-h", "--help":
		fmt.Fprint(c.stdout, usage)
		return nil
	}
	return usageError{fmt.Sprintf("unknown command %q", args[0])}
}

// isLink reports whether an argument is a parley:// link, which the
// system passes when someone clicks one.
func isLink(arg string) bool { return strings.HasPrefix(strings.ToLower(arg), "parley://") }

// serverFlags are the flags of `parley` and `parley serve`.
type serverFlags struct {
	opts        Options
	logLevel    string
	noDiscovery bool
	service     bool   // run under Windows' service manager
	cpuProfile  string // file for a CPU profile of the run
}

// parse reads the flags; discovery is on unless turned off.
func (f *serverFlags) parse(set *flag.FlagSet, args []string) error {
	if err := set.Parse(args); err != nil {
		return err
	}
	f.opts.Discovery = !f.noDiscovery
	return nil
}

func (c *command) serverFlagSet(name string) (*flag.FlagSet, *serverFlags) {
	f := &serverFlags{}
	set := flag.NewFlagSet(name, flag.ContinueOnError)
	set.SetOutput(c.stderr)
	set.StringVar(&f.opts.DataDir, "data", "", "data directory (default: the per-user data folder)")
	set.IntVar(&f.opts.HTTPSPort, "port", 0, "HTTPS port (default: from settings, 8443; the next free one if taken); a later change of settings wins")
	set.IntVar(&f.opts.HTTPPort, "http-port", 0, "plain-HTTP redirect port (default: from settings, 8080; -1 for none)")
	set.StringVar(&f.opts.Listen, "listen", "", "address to listen on (default: all)")
	set.IntVar(&f.opts.SIPPort, "sip-port", 0, "SIP gateway's UDP and TCP port (default: from settings, 5060; the next free one if taken; -1 for no SIP gateway)")
	set.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	set.BoolVar(&f.noDiscovery, "no-discovery", false, "do not announce the server on the local network (mDNS), nor look for others there")
	set.BoolVar(&f.opts.ICELoopback, "ice-loopback", false, "offer loopback ICE candidates (tests, and meetings between programs on this machine)")
	if name == "parley serve" {
		set.BoolVar(&f.service, "service", false, "run as a Windows service (the installer's service registers it so); logs go to parley.log in the data directory")
		set.StringVar(&f.cpuProfile, "cpu-profile", "", "write a CPU profile of the server to this file until it stops (for go tool pprof)")
	}
	return set, f
}

func (c *command) logger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError{fmt.Sprintf("unknown log level %q", level)}
	}
	return slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: l})), nil
}

// desktop opens the desktop app. This build has no window yet, so it says
// so and runs the server, as it does on a machine without a display.
func (c *command) desktop(args []string) error {
	set, f := c.serverFlagSet("parley")
	if err := f.parse(set, args); err != nil {
		return err
	}
	switch {
	case set.NArg() == 1 && isLink(set.Arg(0)):
		f.opts.Link = set.Arg(0)
	case set.NArg() > 0:
		return usageError{fmt.Sprintf("unknown command %q", set.Arg(0))}
	}
	switch {
	case f.opts.Link != "" && (!hasDisplay() || c.openDesktop == nil):
		return usageError{"a meeting link opens in the desktop app, which needs a display; open it in a browser instead (https:// in place of parley://)"}
	case !hasDisplay():
		fmt.Fprintln(c.stdout, "No display found; running the Parley server without a window.")
	case c.openDesktop == nil:
		fmt.Fprintln(c.stdout, "This build of Parley has no desktop window; running the server without one.")
	default:
		logger, err := c.logger(f.logLevel)
		if err != nil {
			return err
		}
		f.opts.Logger = logger
		return c.openDesktop(f.opts)
	}
	return c.runServer(f)
}

func (c *command) serve(args []string) error {
	set, f := c.serverFlagSet("parley serve")
	if err := f.parse(set, args); err != nil {
		return err
	}
	if set.NArg() > 0 {
		return usageError{fmt.Sprintf("serve takes no arguments, got %q", set.Arg(0))}
	}
	return c.runServer(f)
}

func (c *command) runServer(f *serverFlags) error {
	// Started by Windows' service manager, it answers to that instead of
	// signals, and writes to a log file for want of a console.
	if handled, err := runAsService(f.service, func(ctx context.Context) error {
		logFile, err := openServiceLog(f.opts.DataDir)
		if err != nil {
			return err
		}
		defer logFile.Close()
		c.stdout, c.stderr = logFile, logFile
		return c.serveUntil(ctx, f)
	}); handled {
		return err
	}
	// The first signal stops gracefully; once stop() has run, a second one
	// ends the process at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
	}()
	return c.serveUntil(ctx, f)
}

// serveUntil runs the server until ctx ends.
func (c *command) serveUntil(ctx context.Context, f *serverFlags) error {
	logger, err := c.logger(f.logLevel)
	if err != nil {
		return err
	}
	f.opts.Logger = logger
	if f.cpuProfile != "" {
		stopProfile, err := startCPUProfile(f.cpuProfile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	host, err := Start(ctx, f.opts)
	if err != nil {
		return err
	}
	c.printWelcome(host)
	<-ctx.Done()
	fmt.Fprintln(c.stdout, "Stopping Parley...")
	host.Stop()
	fmt.Fprintln(c.stdout, "Parley stopped.")
	return nil
}

func (c *command) printWelcome(h *Host) {
	out := c.stdout
	fmt.Fprintf(out, "Parley %s is running (data in %s).\n", Version, h.DataDir())
	fmt.Fprintf(out, "  Open %s in a browser (on this machine: %s).\n", h.URL(), h.LocalURL())
	fmt.Fprintf(out, "  Trust this server's certificate authority: %sca.crt\n", h.URL())
	if link := h.SetupLink(); link != "" {
		fmt.Fprintf(out, "  First start: create the owner account at\n    %s\n", link)
		fmt.Fprintln(out, "  (the link works once, for 24 hours; or run 'parley user add LOGIN --role owner')")
	}
	fmt.Fprintln(out, "Press Ctrl+C to stop.")
}

// startCPUProfile profiles the process into path until the returned
// function runs.
func startCPUProfile(path string) (stop func(), err error) {
	file, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(file); err != nil {
		file.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		file.Close()
	}, nil
}
