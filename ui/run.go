package ui

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"github.com/parleyhq/parley/ui/truststore"
)

// Host is the embedded server as the desktop app sees it (app.Host). The
// app reaches it only through these and the public API.
type Host interface {
	LocalURL() string
	URL() string // the address to share
	HTTPSPort() int
	CACertificatePEM() []byte
	SetupToken() string // "" once an owner exists
	DesktopToken(ctx context.Context) (string, error)
	Stop()
}

// Options configure the desktop app.
type Options struct {
	// StartHost starts the embedded server, for "Host meetings on this
	// computer".
	StartHost func(ctx context.Context) (Host, error)
	Version   string
	Logger    *slog.Logger
	// Discovery lists the Parley servers on the LAN (mDNS) on the start
	// screen.
	Discovery bool
	// Link is a meeting link or server address to open at once, as the
	// system passes a parley:// link someone clicked.
	Link string
}

// appID names the app to the system (preferences, notifications); it is
// the ID in app/cmd/parley/FyneApp.toml.
const appID = "com.parleyhq.parley"

// Environment variables for automation (tests, screenshots for the docs);
// people never need them.
const (
	// envStart = "host" starts hosting at once, as if chosen.
	envStart = "PARLEY_START"
	// envScreenshot = path captures the window to a PNG there after
	// envScreenshotAfter seconds (default 6), under Xvfb too.
	envScreenshot      = "PARLEY_SCREENSHOT"
	envScreenshotAfter = "PARLEY_SCREENSHOT_AFTER"
)

// Run opens the window and blocks until the app quits (Fyne quits on
// SIGINT and SIGTERM too). An embedded server it started is stopped by
// then.
func Run(opts Options) error {
	a := fyneapp.NewWithID(appID)
	trustPath, err := truststore.DefaultPath()
	if err != nil {
		return err
	}
	s := newShell(a, opts, truststore.Open(trustPath))
	if s.autopilot, err = loadAutopilot(); err != nil {
		return err
	}
	s.start(os.Getenv(envStart) == "host" || s.autopilot != nil)
	if path := os.Getenv(envScreenshot); path != "" {
		after := 6 * time.Second
		if seconds, err := strconv.Atoi(os.Getenv(envScreenshotAfter)); err == nil && seconds > 0 {
			after = time.Duration(seconds) * time.Second
		}
		time.AfterFunc(after, func() {
			fyne.Do(func() {
				if err := s.screenshot(path); err != nil {
					s.log.Error("screenshot", slog.Any("error", err))
				}
			})
		})
	}
	a.Run()
	// The window is gone: whatever way the app quit, stop what runs.
	s.shutdown()
	return nil
}
