package ui

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/media/participant"
	"github.com/parleyhq/parley/server/client"
	"github.com/parleyhq/parley/ui/truststore"
)

// The tests run the window on Fyne's test driver, without a display, and
// the real embedded server (app.Start) on loopback.

const ownerPassword = "Owner-Password-1"

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// freePort finds a TCP port nobody listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func hostOptions(t *testing.T, dir string, port int) app.Options {
	return app.Options{DataDir: dir, HTTPSPort: port, HTTPPort: -1, ICELoopback: true, Logger: quiet}
}

// startHost starts an embedded server that is not set up yet.
func startHost(t *testing.T) *app.Host {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	host, err := app.Start(ctx, hostOptions(t, t.TempDir(), freePort(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(host.Stop)
	return host
}

// setUp creates the owner "boss" through the public API, as the wizard
// does, on a server that has none.
func setUp(t *testing.T, host Host) {
	t.Helper()
	c, err := client.New(host.LocalURL(), client.Options{CACertPEM: host.CACertificatePEM()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	owner := client.NewUser{Login: "boss", DisplayName: "The Boss", Password: ownerPassword}
	if _, err := c.CompleteSetup(context.Background(), host.SetupToken(), owner); err != nil {
		t.Fatal(err)
	}
}

// ownerSession starts a set-up server and signs in as its owner the way
// the desktop app does.
func ownerSession(t *testing.T) (*app.Host, *Session) {
	t.Helper()
	host := startHost(t)
	setUp(t, host)
	session, err := hostSession(context.Background(), host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(session.Client.Close)
	return host, session
}

// signedIn makes an account and returns a session signed in with it.
func signedIn(t *testing.T, owner *Session, login, name string, role client.Role) *Session {
	t.Helper()
	ctx := context.Background()
	password := "Secret-Word-42"
	if _, err := owner.Client.CreateUser(ctx, client.NewUser{Login: login, DisplayName: name, Password: password, Role: role}); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(owner.Client.BaseURL(), client.Options{CACertPEM: owner.CA})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	id, err := c.SignIn(ctx, login, password)
	if err != nil {
		t.Fatal(err)
	}
	return &Session{Client: c, CA: owner.CA, Me: &id, ServerName: owner.ServerName}
}

// guest is a session without an account.
func guest(t *testing.T, owner *Session, name string) *Session {
	t.Helper()
	c, err := client.New(owner.Client.BaseURL(), client.Options{CACertPEM: owner.CA})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return &Session{Client: c, CA: owner.CA, GuestName: name, ServerName: owner.ServerName}
}

// eventually polls cond until it holds or the time is up.
func eventually(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// uiApp is Fyne's test app whose fyne.Do runs functions one at a time on
// one goroutine, like the real driver's event loop. (The test driver runs
// them at once on the caller's goroutine, which races when background work
// updates widgets.) Tests touch widgets only inside run.
type uiApp struct {
	fyne.App
	driver *serialDriver
}

type serialDriver struct {
	fyne.Driver
	mu    sync.Mutex
	queue []func()
	wake  chan struct{}
	stop  chan struct{}
	done  chan struct{}
}

func (d *serialDriver) DoFromGoroutine(fn func(), wait bool) {
	if !wait {
		d.enqueue(fn)
		return
	}
	finished := make(chan struct{})
	d.enqueue(func() {
		defer close(finished)
		fn()
	})
	<-finished
}

func (d *serialDriver) enqueue(fn func()) {
	d.mu.Lock()
	d.queue = append(d.queue, fn)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *serialDriver) loop() {
	defer close(d.done)
	for {
		d.mu.Lock()
		batch := d.queue
		d.queue = nil
		d.mu.Unlock()
		for _, fn := range batch {
			fn()
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-d.wake:
		case <-d.stop:
			return
		}
	}
}

func (a *uiApp) Driver() fyne.Driver { return a.driver }

// newUIApp makes the current app a test app with a serial UI goroutine,
// until the test ends.
func newUIApp(t *testing.T) *uiApp {
	t.Helper()
	base := test.NewApp()
	d := &serialDriver{Driver: base.Driver(), wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	a := &uiApp{App: base, driver: d}
	fyne.SetCurrentApp(a)
	go d.loop()
	t.Cleanup(func() {
		close(d.stop)
		select {
		case <-d.done:
		case <-time.After(time.Minute):
			// A deadlock on the UI goroutine: show where, rather than
			// hang until the package's timeout.
			stacks := make([]byte, 1<<22)
			t.Fatalf("the UI goroutine is still busy a minute after the test:\n%s", stacks[:runtime.Stack(stacks, true)])
		}
		test.NewApp() // later tests get a plain app again
	})
	return a
}

// run runs fn on the UI goroutine and waits for it.
func (a *uiApp) run(fn func()) { fyne.DoAndWait(fn) }

// newTestShell is a shell on the test app whose trust store is in a
// temporary folder.
func newTestShell(t *testing.T, a *uiApp, startHost func(context.Context) (Host, error)) *shell {
	t.Helper()
	s := newShell(a, Options{StartHost: startHost, Version: "test", Logger: quiet}, trustStoreIn(t))
	t.Cleanup(s.shutdown)
	return s
}

// screen reads the shell's screen on the UI goroutine.
func (a *uiApp) screen(s *shell) string {
	var name string
	a.run(func() { name = s.screen })
	return name
}

func trustStoreIn(t *testing.T) *truststore.Store {
	return truststore.Open(filepath.Join(t.TempDir(), "Parley", "servers.json"))
}

// objectsIn lists everything under root, the insides of widgets too.
// Call it on the UI goroutine.
func objectsIn(root fyne.CanvasObject) []fyne.CanvasObject { return test.LaidOutObjects(root) }

// button finds the button with a label under root.
func button(t *testing.T, root fyne.CanvasObject, label string) *widget.Button {
	t.Helper()
	for _, o := range objectsIn(root) {
		if b, ok := o.(*widget.Button); ok && b.Text == label {
			return b
		}
	}
	t.Fatalf("no button %q", label)
	return nil
}

// entries lists the entries under root, in order.
func entries(root fyne.CanvasObject) []*widget.Entry {
	var list []*widget.Entry
	for _, o := range objectsIn(root) {
		if e, ok := o.(*widget.Entry); ok {
			list = append(list, e)
		}
	}
	return list
}

// texts joins the text of every label under root.
func texts(root fyne.CanvasObject) string {
	var b strings.Builder
	for _, o := range objectsIn(root) {
		switch l := o.(type) {
		case *widget.Label:
			b.WriteString(l.Text + "\n")
		case *canvas.Text:
			b.WriteString(l.Text + "\n")
		}
	}
	return b.String()
}

// topDialog is what the window shows above its content, if anything.
func topDialog(win fyne.Window) fyne.CanvasObject { return win.Canvas().Overlays().Top() }

// joined joins a meeting through signalling and follows it until the
// test ends.
func joined(t *testing.T, session *Session, join JoinRequest) *MeetingModel {
	t.Helper()
	m := newMeetingModel(session.Connection(), quiet)
	ctx, cancel := context.WithCancel(context.Background())
	// Join returns once in; in a lobby it waits, so run it aside and wait
	// for the lobby or the meeting. These meetings send no media.
	result := make(chan error, 1)
	go func() { result <- m.Join(ctx, join, participant.Options{}) }()
	t.Cleanup(func() {
		cancel()
		<-result
		m.Leave()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if s := state(m); s == meetingLobby || s == meetingJoined {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not get into %s (state %q)", session.Connection().GuestName, join.CID, state(m))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
