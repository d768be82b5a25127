package ui

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"os"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/parleyhq/parley/assets/icons"
	"github.com/parleyhq/parley/server/client"
	"github.com/parleyhq/parley/ui/truststore"
)

// Preference keys: how the app was used last, so that the next start
// picks up there.
const (
	prefMode   = "mode" // "host" or "join"
	prefServer = "server"
)

// Screens, by name: the window shows one at a time.
const (
	screenStart    = "start"
	screenProgress = "progress"
	screenWizard   = "wizard"
	screenSignIn   = "sign-in"
	screenConsole  = "console"
	screenMeeting  = "meeting"
)

// shell is the window and the navigation between its screens. Fields
// below "UI goroutine" are only touched there.
type shell struct {
	app   fyne.App
	win   fyne.Window
	opts  Options
	log   *slog.Logger
	trust *truststore.Store

	ctx    context.Context // ends when the app quits
	cancel context.CancelFunc
	tasks  tasks

	mu           sync.Mutex
	host         Host
	clients      []*client.Client // to drop their connections at the end
	signedIn     *Session         // to sign out at the end
	shutdownOnce sync.Once

	// newMeetingView makes the meeting area (the MeetingView seam).
	newMeetingView func(done func()) MeetingView
	// autopilot, if set, walks the screens by itself (envAutopilot).
	autopilot *autopilot

	// UI goroutine.
	screen   string
	session  *Session
	home     func() // the screen after a meeting
	console  *console
	calls    *callRinger
	meeting  MeetingView
	trayUsed bool
	lanStop  func() // stops browsing the LAN for the start screen
}

func newShell(a fyne.App, opts Options, trust *truststore.Store) *shell {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &shell{app: a, opts: opts, log: opts.Logger, trust: trust, ctx: ctx, cancel: cancel}
	s.newMeetingView = func(done func()) MeetingView { return newMeetingArea(s, done) }
	return s
}

// start opens the window. A first start hosts at once, since the person
// who installs Parley is usually setting up the office's server (the
// wizard offers joining another server instead); later starts pick up the
// mode of the last time.
func (s *shell) start(hostNow bool) {
	s.app.Settings().SetTheme(newTheme())
	s.app.SetIcon(fyne.NewStaticResource("parley.png", icons.AppPNG))
	s.win = s.app.NewWindow("Parley")
	s.win.SetMaster()
	s.win.Resize(fyne.NewSize(1180, 760))
	s.win.SetCloseIntercept(s.closeRequested)
	s.addShortcuts()
	if s.opts.Link != "" {
		// A clicked link: join where it points, whatever the last mode.
		v := s.startScreen()
		v.address.SetText(s.opts.Link)
		s.connect(v)
	} else if mode := s.app.Preferences().String(prefMode); hostNow || mode == "host" || mode == "" {
		s.startHosting()
	} else {
		s.showStart()
	}
	s.win.Show()
}

// show puts a screen in the window.
func (s *shell) show(name string, content fyne.CanvasObject) {
	if name != screenStart {
		s.stopBrowsingLAN()
	}
	s.screen = name
	s.win.SetContent(content)
}

// showProgress is a screen for work that takes a while.
func (s *shell) showProgress(title, detail string) {
	heading := widget.NewLabelWithStyle(title, fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	note := widget.NewLabelWithStyle(detail, fyne.TextAlignCenter, fyne.TextStyle{})
	note.Wrapping = fyne.TextWrapWord
	bar := widget.NewProgressBarInfinite()
	s.show(screenProgress, container.NewCenter(minWidth(460, container.NewVBox(heading, note, bar))))
}

// showError tells about a failure in a dialog, in the server's words when
// it gave some.
func (s *shell) showError(title string, err error) {
	s.log.Warn(title, slog.Any("error", err))
	text := wrapped(message(err))
	d := dialog.NewCustom(title, "Close", text, s.win)
	d.Resize(dialogSize(text.Text, 480, 130))
	d.Show()
}

// background runs work off the UI goroutine, then done on it. Nothing
// comes back once the app is quitting.
func (s *shell) background(work func(ctx context.Context) error, done func(error)) {
	s.tasks.Go(func() {
		err := work(s.ctx)
		if s.ctx.Err() != nil {
			return
		}
		fyne.Do(func() { done(err) })
	})
}

// onUI runs fn on the UI goroutine and waits for it, unless the app
// ends first: after the window has gone, nothing runs queued work, so
// fyne.DoAndWait would wait for ever. It says whether fn ran.
func (s *shell) onUI(fn func()) bool {
	ran := make(chan struct{})
	fyne.Do(func() {
		defer close(ran)
		fn()
	})
	select {
	case <-ran:
		return true
	case <-s.ctx.Done():
		return false
	}
}

// keep notes a client whose connections the end of the app closes.
func (s *shell) keep(c *client.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients = append(s.clients, c)
}

func (s *shell) setHost(h Host) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.host = h
}

func (s *shell) currentHost() Host {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.host
}

// stopAndQuit quits; Run then stops the embedded server and everything
// else (shutdown), as it does however the app quits (SIGTERM included).
func (s *shell) stopAndQuit() {
	s.closeMeeting()
	s.app.Quit()
}

// shutdown ends every background task, stops the embedded server and
// drops connections. It may run on any goroutine but the UI one, and more
// than once: later calls wait for the first.
func (s *shell) shutdown() {
	s.shutdownOnce.Do(func() {
		s.cancel()
		s.tasks.Wait()
		s.mu.Lock()
		host, clients, session := s.host, s.clients, s.signedIn
		s.host, s.clients, s.signedIn = nil, nil, nil
		s.mu.Unlock()
		// The session this app opened ends with it; the server's own
		// sessions of the desktop would pile up otherwise.
		if session != nil && session.Me != nil {
			signOut(session.Client)
		}
		// Idle connections first: the server's graceful stop waits for them.
		for _, c := range clients {
			c.Close()
		}
		if host != nil {
			host.Stop()
		}
	})
}

// screenshot saves the window's picture as a PNG.
func (s *shell) screenshot(path string) error {
	file, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	err = writePNG(file, s.win)
	if closeErr := file.Close(); err == nil {
		err = closeErr
	}
	return err
}

// writePNG draws the window's canvas with Fyne's software painter: the
// same objects at the same places as on screen, and unlike reading back
// the GL front buffer it works under Xvfb.
// writePNG captures the window's canvas; where that reads an empty GL
// buffer (Xvfb), it grabs the window from the X server instead.
func writePNG(w io.Writer, win fyne.Window) error {
	picture := win.Canvas().Capture()
	if blank(picture) {
		if grabbed, ok := grabWindow(win); ok {
			picture = grabbed
		}
	}
	if err := png.Encode(w, picture); err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	return nil
}

// blank reports a picture of one colour.
func blank(img image.Image) bool {
	b := img.Bounds()
	if b.Empty() {
		return true
	}
	first := img.At(b.Min.X, b.Min.Y)
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			if img.At(x, y) != first {
				return false
			}
		}
	}
	return true
}

// tasks tracks goroutines so that quitting can wait for them.
type tasks struct {
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// Go runs fn on a new goroutine, unless the app is quitting.
func (t *tasks) Go(fn func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		fn()
	}()
}

// Wait refuses new tasks and waits for the running ones.
func (t *tasks) Wait() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.wg.Wait()
}
