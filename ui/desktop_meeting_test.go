package ui

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parleyhq/parley/app/testenv"
)

// TestDesktopMeetsABrowser runs the real app under Xvfb on its autopilot:
// it starts in host mode on a new data directory, completes the wizard,
// creates a meeting and joins it publishing its test pattern. A headless
// Chromium guest joins the same meeting. The browser must decode the
// desktop app's video and receive its sound, and the desktop app must
// decode the browser's video. Screenshots of the dashboard and of the
// meeting are kept (PARLEY_TEST_SCREENSHOTS=dir keeps them for good).
func TestDesktopMeetsABrowser(t *testing.T) {
	display := startXvfb(t, testenv.RequireTool(t, "Xvfb", "xvfb"))
	bin := testenv.Parley(t)
	d := newDesktop(t, bin, display)
	shots := screenshotDir(t)
	status := filepath.Join(d.home, "status.json")
	script := autopilot{Meeting: "Desktop and browser", Status: status,
		DashboardShot: filepath.Join(shots, "desktop-dashboard.png"), MeetingShot: filepath.Join(shots, "desktop-meeting.png")}
	script.Wizard.ServerName, script.Wizard.Login, script.Wizard.DisplayName, script.Wizard.Password =
		"Office", "boss", "Anna Berg", ownerPassword
	scriptPath := filepath.Join(d.home, "autopilot.json")
	data, _ := json.Marshal(script)
	if err := os.WriteFile(scriptPath, data, 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin, "--no-discovery", "--data", d.data, "--port", strconv.Itoa(d.port), "--http-port", "-1", "--log-level", "warn", "--ice-loopback")
	cmd.Env = append(os.Environ(), "DISPLAY="+d.display, "LANG=en_US.UTF-8",
		"XDG_CONFIG_HOME="+filepath.Join(d.home, "config"), "XDG_DATA_HOME="+filepath.Join(d.home, "share"),
		"XDG_CACHE_HOME="+filepath.Join(d.home, "cache"), "DBUS_SESSION_BUS_ADDRESS=", "XDG_RUNTIME_DIR=",
		envAutopilot+"="+scriptPath)
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
	read := func() autopilotStatus {
		var s autopilotStatus
		if data, err := os.ReadFile(status); err == nil {
			_ = json.Unmarshal(data, &s)
		}
		return s
	}
	waitStatus := func(what string, within time.Duration, ok func(autopilotStatus) bool) autopilotStatus {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			s := read()
			if s.Error != "" {
				t.Fatalf("the app's autopilot failed: %s\n%s", s.Error, d.output.String())
			}
			if ok(s) {
				return s
			}
			select {
			case err := <-exited:
				t.Fatalf("the app exited waiting for %s: %v\n%s", what, err, d.output.String())
			case <-time.After(250 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s: last status %+v\n%s", what, s, d.output.String())
			}
		}
	}
	desktop := waitStatus("the desktop app in its meeting", 3*time.Minute, func(s autopilotStatus) bool {
		return s.State == meetingJoined && s.You != ""
	})

	page := testenv.NewBrowser(t).Page(t)
	page.Log = d.output.String
	base := fmt.Sprintf("https://localhost:%d/", d.port)
	testenv.OpenMeeting(page, base, desktop.Meeting, "Browser guest", "")
	testenv.ClickJoin(page)
	page.WaitState("joined", 30*time.Second)
	guest := testenv.You(page)

	testenv.WaitMediaFrom(t, page, "the browser", desktop.You)
	var label string
	page.Eval(`[...document.querySelectorAll('.tile')].map(e => e.innerText).join(' | ')`, &label)
	if !strings.Contains(label, "Anna Berg") {
		t.Errorf("the browser shows %q, not the desktop's owner", label)
	}
	first := waitStatus("the desktop app decoding the browser", time.Minute, func(s autopilotStatus) bool {
		return s.Decoded[guest+"/camera"] > 0
	})
	waitStatus("the desktop app still decoding", 30*time.Second, func(s autopilotStatus) bool {
		return s.Decoded[guest+"/camera"] > first.Decoded[guest+"/camera"]+20
	})
	for _, shot := range []string{script.DashboardShot, script.MeetingShot} {
		deadline := time.Now().Add(30 * time.Second)
		for {
			if info, err := os.Stat(shot); err == nil && info.Size() > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no screenshot %s\n%s", shot, d.output.String())
			}
			time.Sleep(200 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond)
		checkScreenshot(t, shot)
	}

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
}
