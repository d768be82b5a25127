package ui

import (
	"context"
	"fmt"
	"image/png"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parleyhq/parley/app/testenv"
	"github.com/parleyhq/parley/server/client"
	"github.com/parleyhq/parley/server/protocol"
)

// TestDesktopUnderXvfb runs the real app, built as `make build` builds it,
// on a virtual X display and takes screenshots of its window: the
// first-start wizard, and the dashboard of a server in use, in
// the dark and the light variant. Each run ends with SIGTERM, which must
// stop the embedded server and free its port. PARLEY_TEST_SCREENSHOTS=dir
// keeps the pictures.
func TestDesktopUnderXvfb(t *testing.T) {
	display := startXvfb(t, testenv.RequireTool(t, "Xvfb", "xvfb"))
	bin := testenv.Parley(t)
	shots := screenshotDir(t)

	// A first start hosts at once: the wizard.
	t.Run("wizard", func(t *testing.T) {
		d := newDesktop(t, bin, display)
		d.run(t, filepath.Join(shots, "wizard.png"), 6, nil)
	})
	for _, variant := range []string{"dark", "light"} {
		t.Run("dashboard-"+variant, func(t *testing.T) {
			d := newDesktop(t, bin, display)
			if out, err := testenv.Run(t, ownerPassword+"\n", "user", "add", "boss", "--role", "owner", "--name", "Anna Berg",
				"--data", d.data); err != nil {
				t.Fatalf("parley user add: %v\n%s", err, out)
			}
			d.run(t, filepath.Join(shots, "dashboard-"+variant+".png"), 8, []string{"PARLEY_START=host", "FYNE_THEME=" + variant},
				func() { d.activity(t) })
		})
	}
}

// desktopRun is one run of the app with its own data, config and port.
type desktopRun struct {
	bin, display, data, home string
	port                     int
	output                   testenv.OutputBuffer
}

func newDesktop(t *testing.T, bin, display string) *desktopRun {
	home := t.TempDir()
	return &desktopRun{bin: bin, display: display, data: filepath.Join(home, "data"), home: home, port: freePort(t)}
}

// run starts the app, lets busy do its part, waits for the screenshot
// taken after the given seconds, checks it, and stops the app.
func (d *desktopRun) run(t *testing.T, shot string, after int, env []string, busy ...func()) {
	t.Helper()
	_ = os.Remove(shot)
	cmd := exec.Command(d.bin, "--no-discovery", "--data", d.data, "--port", strconv.Itoa(d.port), "--http-port", "-1", "--log-level", "warn")
	cmd.Env = append(os.Environ(), "DISPLAY="+d.display, "LANG=en_US.UTF-8",
		"XDG_CONFIG_HOME="+filepath.Join(d.home, "config"), "XDG_DATA_HOME="+filepath.Join(d.home, "share"),
		"XDG_CACHE_HOME="+filepath.Join(d.home, "cache"), "DBUS_SESSION_BUS_ADDRESS=", "XDG_RUNTIME_DIR=",
		envScreenshot+"="+shot, envScreenshotAfter+"="+strconv.Itoa(after))
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = &d.output, &d.output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	for _, f := range busy {
		f()
	}
	deadline := time.Now().Add(time.Duration(after)*time.Second + 30*time.Second)
	for {
		if info, err := os.Stat(shot); err == nil && info.Size() > 0 {
			time.Sleep(200 * time.Millisecond) // let the writer finish
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("the app exited before its screenshot: %v\n%s", err, d.output.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no screenshot after %ds\n%s", after, d.output.String())
		}
	}
	checkScreenshot(t, shot)

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("the app ended with %v after SIGTERM\n%s", err, d.output.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the app did not stop on SIGTERM\n%s", d.output.String())
	}
	if strings.Contains(d.output.String(), "panic") {
		t.Errorf("the app panicked:\n%s", d.output.String())
	}
	if l, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(d.port))); err != nil {
		t.Errorf("port %d still taken after the app quit: %v", d.port, err)
	} else {
		l.Close()
	}
}

// activity makes the dashboard show something: colleagues, rooms, and a
// guest in one of them, who stays until the screenshot is taken.
func (d *desktopRun) activity(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base := fmt.Sprintf("https://localhost:%d/", d.port)
	var ca []byte
	for {
		var err error
		if ca, err = client.FetchCA(ctx, base, client.Options{}); err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the app's server did not come up: %v\n%s", err, d.output.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	owner, err := client.New(base, client.Options{CACertPEM: ca})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(owner.Close)
	if _, err := owner.SignIn(ctx, "boss", ownerPassword); err != nil {
		t.Fatal(err)
	}
	for _, u := range []client.NewUser{{Login: "bert", DisplayName: "Bert Brun"}, {Login: "chloe", DisplayName: "Chloé Martin"}} {
		u.Password = "Secret-Word-42"
		if _, err := owner.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	room, err := owner.CreateConference(ctx, client.ConferenceSpec{Name: "Front desk", Lobby: "off"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := owner.CreateConference(ctx, client.ConferenceSpec{Name: "Monday planning", Lobby: "guests"}); err != nil {
		t.Fatal(err)
	}
	visitor, err := client.New(base, client.Options{CACertPEM: ca})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(visitor.Close)
	sig, err := visitor.Signal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sig.Close)
	if _, err := sig.Request(ctx, "join", &protocol.Join{Conference: room.CID, Name: "Gina (visitor)",
		Muted: &protocol.Sources{Microphone: true, Camera: true}}); err != nil {
		t.Fatal(err)
	}
}

// checkScreenshot reads the picture: the window's size, and not one
// colour.
func checkScreenshot(t *testing.T, path string) {
	t.Helper()
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	img, err := png.Decode(file)
	if err != nil {
		t.Fatalf("screenshot %s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 500 || blank(img) {
		t.Errorf("screenshot %s is %v and blank=%v", path, b, blank(img))
	}
	colours := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 5 {
		for x := b.Min.X; x < b.Max.X; x += 5 {
			r, g, bl, a := img.At(x, y).RGBA()
			colours[[4]uint32{r, g, bl, a}] = true
		}
	}
	if len(colours) < 50 {
		t.Errorf("screenshot %s has %d colours: hardly a window", path, len(colours))
	}
}

// screenshotDir is where the desktop tests put their screenshots:
// $PARLEY_TEST_SCREENSHOTS to keep them, else a temporary folder.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("PARLEY_TEST_SCREENSHOTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// startXvfb starts a virtual X display for the test and returns its name.
func startXvfb(t *testing.T, xvfb string) string {
	t.Helper()
	var output testenv.OutputBuffer
	for n := 91; n < 200; n++ {
		socket := fmt.Sprintf("/tmp/.X11-unix/X%d", n)
		if _, err := os.Stat(socket); err == nil {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X%d-lock", n)); err == nil {
			continue
		}
		display := ":" + strconv.Itoa(n)
		cmd := exec.Command(xvfb, display, "-screen", "0", "1280x800x24", "-nolisten", "tcp")
		cmd.Stdout, cmd.Stderr = &output, &output
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		if waitForSocket(socket, exited) {
			t.Cleanup(func() {
				_ = cmd.Process.Signal(syscall.SIGTERM)
				select {
				case <-exited:
				case <-time.After(5 * time.Second):
					_ = cmd.Process.Kill()
					<-exited
				}
			})
			return display
		}
		_ = cmd.Process.Kill() // another display took the number, or it hangs: try the next
	}
	t.Fatalf("Xvfb did not start:\n%s", output.String())
	return ""
}

// waitForSocket waits for Xvfb's socket, or for Xvfb to give up.
func waitForSocket(socket string, exited chan error) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if _, err := os.Stat(socket); err == nil {
			return true
		}
		select {
		case err := <-exited:
			exited <- err
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
	return false
}
