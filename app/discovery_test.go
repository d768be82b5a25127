//go:build linux

package app_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/app/supervisor"
	"github.com/parleyhq/parley/app/testenv"
	"github.com/parleyhq/parley/discovery"
)

// The discovery tests run every server and client in network namespaces
// of their own LAN (testenv.NewLAN): mDNS is multicast, and must never
// reach this machine's network.

// caSHA256Of is the fingerprint a server announces: SHA-256 of its CA.
func caSHA256Of(t *testing.T, dataDir string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dataDir, "tls", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("no PEM in %s/tls/ca.crt", dataDir)
	}
	sum := sha256.Sum256(block.Bytes)
	return hex.EncodeToString(sum[:])
}

// watchEvent is one line of `parley find --watch --json`.
type watchEvent struct {
	Event  string
	Server discovery.Server
	At     time.Time // when the line was read
}

// watch is `parley find --watch --json` running on a host.
type watch struct {
	events  chan watchEvent
	pending []watchEvent // read, not yet asked for
}

// startWatch runs `parley find --watch --json` on host.
func startWatch(t *testing.T, ctx context.Context, host *testenv.Host) *watch {
	t.Helper()
	cmd := host.Command(ctx, testenv.Parley(t), "find", "--watch", "--json")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &watch{events: make(chan watchEvent, 16)}
	go func() {
		defer close(w.events)
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			var event watchEvent
			if err := json.Unmarshal(lines.Bytes(), &event); err != nil {
				t.Errorf("parley find --watch --json printed %q: %v", lines.Text(), err)
				continue
			}
			event.At = time.Now()
			w.events <- event
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("parley find --watch: %s", stderr.String())
		}
	})
	return w
}

// next waits up to within for the next event about the server named name.
func (w *watch) next(t *testing.T, name string, within time.Duration) watchEvent {
	t.Helper()
	for i, event := range w.pending {
		if event.Server.Name == name {
			w.pending = append(w.pending[:i], w.pending[i+1:]...)
			return event
		}
	}
	deadline := time.After(within)
	for {
		select {
		case event, ok := <-w.events:
			if !ok {
				t.Fatalf("parley find --watch ended before an event about %q", name)
			}
			if event.Server.Name == name {
				return event
			}
			w.pending = append(w.pending, event)
		case <-deadline:
			t.Fatalf("no event about %q within %s (others: %+v)", name, within, w.pending)
		}
	}
}

// TestServersOnTheLAN is two hosts named "Office" and a colleague's
// computer on one LAN: both are found, under distinct names, by Parley and
// by avahi; one that stops says goodbye and leaves the list at once, one
// whose cable is pulled leaves it when its records expire.
func TestServersOnTheLAN(t *testing.T) {
	lan := testenv.NewLAN(t, "10.77.31.0/24", "office1", "office2", "annex", "desk")
	office1, office2, annex, desk := lan.Host("office1"), lan.Host("office2"), lan.Host("annex"), lan.Host("desk")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// Another server first: a name of its own is no conflict.
	dir0, dir1, dir2 := t.TempDir(), t.TempDir(), t.TempDir()
	testenv.SetSettings(t, dir0, map[string]any{"server_name": "Annex", "guests_allowed": false})
	testenv.SetSettings(t, dir1, map[string]any{"server_name": "Office", "guests_allowed": true})
	testenv.SetSettings(t, dir2, map[string]any{"server_name": "Office", "guests_allowed": false})
	other := testenv.StartServerOn(t, annex, dir0, "--http-port", "-1")
	testenv.WaitForAnnouncement(t, ctx, annex, other)
	first := testenv.StartServerOn(t, office1, dir1, "--http-port", "-1")
	if note := testenv.WaitForAnnouncement(t, ctx, office1, first); !strings.Contains(note, `"Office"`) {
		t.Errorf("the first server's discovery note: %q", note)
	}
	second := testenv.StartServerOn(t, office2, dir2, "--http-port", "-1")
	if note := testenv.WaitForAnnouncement(t, ctx, office2, second); !strings.Contains(note, `"Office (2)"`) {
		t.Errorf("the second server named Office did not take another name: %q", note)
	}

	// A colleague's computer looks for two seconds.
	out, err := desk.Command(ctx, testenv.Parley(t), "find", "--json", "--wait", "2s").Output()
	if err != nil {
		t.Fatalf("parley find: %v\n%s", err, out)
	}
	var found []discovery.Server
	if err := json.Unmarshal(out, &found); err != nil {
		t.Fatalf("parley find --json: %v\n%s", err, out)
	}
	want := []discovery.Server{
		{Name: "Annex", Addresses: []string{annex.IP}, Port: other.Port, Version: discovery.ProtocolVersion, Path: "/", Guests: false, CASHA: caSHA256Of(t, dir0)},
		{Name: "Office", Addresses: []string{office1.IP}, Port: first.Port, Version: discovery.ProtocolVersion, Path: "/", Guests: true, CASHA: caSHA256Of(t, dir1)},
		{Name: "Office (2)", Addresses: []string{office2.IP}, Port: second.Port, Version: discovery.ProtocolVersion, Path: "/", Guests: false, CASHA: caSHA256Of(t, dir2)},
	}
	if len(found) != len(want) {
		t.Fatalf("found %d servers in 2s, want %d: %s", len(found), len(want), out)
	}
	for i, w := range want {
		f := found[i]
		if f.Name != w.Name || !slices.Equal(f.Addresses, w.Addresses) || f.Port != w.Port || f.Version != w.Version ||
			f.Path != w.Path || f.Guests != w.Guests || f.CASHA != w.CASHA || len(f.CertSHA) != 64 || f.ID == "" {
			t.Errorf("found %+v\nwant %+v", f, w)
		}
	}
	if found[1].ID == found[2].ID {
		t.Errorf("both servers named Office have id %s", found[1].ID)
	}

	// avahi, a third-party client, sees the same, TXT records included.
	env := testenv.StartAvahi(t, desk)
	browse := func(service string) string {
		t.Helper()
		cmd := desk.Command(ctx, testenv.RequireTool(t, "avahi-browse", "avahi-utils"), "--resolve", "--parsable", "--terminate", "--no-db-lookup", service)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("avahi-browse -rpt %s: %v\n%s", service, err, out)
		}
		return string(out)
	}
	resolved := map[string]string{} // instance name as avahi prints it -> the line
	for _, line := range strings.Split(browse(discovery.ServiceType), "\n") {
		// =;interface;IPv4;name;type;domain;host;address;port;"txt" "txt"
		fields := strings.SplitN(line, ";", 10)
		if len(fields) == 10 && fields[0] == "=" {
			resolved[fields[3]] = line
		}
	}
	for i, name := range []string{"Annex", "Office", `Office\032\0402\041`} {
		line := resolved[name]
		for _, part := range []string{
			";" + want[i].Addresses[0] + ";" + fmt.Sprint(want[i].Port) + ";",
			`"id=` + found[i].ID + `"`, `"ca=` + want[i].CASHA + `"`, `"fp=` + found[i].CertSHA + `"`,
			`"v=` + discovery.ProtocolVersion + `"`, `"path=/"`, fmt.Sprintf(`"guests=%d"`, map[bool]int{false: 0, true: 1}[want[i].Guests]),
		} {
			if !strings.Contains(line, part) {
				t.Errorf("avahi-browse resolves %q without %s: %q (all: %v)", name, part, line, resolved)
			}
		}
	}
	if web := browse("_https._tcp"); !strings.Contains(web, ";Office;_https._tcp;") || !strings.Contains(web, `;Office\032\0402\041;_https._tcp;`) {
		t.Errorf("ordinary service browsers do not list the web pages:\n%s", web)
	}

	// Watching the network: all appear; one gets a new address, which it
	// announces; the first Office stops (goodbye), the second is
	// unplugged (expiry).
	watch := startWatch(t, ctx, desk)
	start := time.Now()
	for _, name := range []string{"Annex", "Office", "Office (2)"} {
		if event := watch.next(t, name, 2*time.Second-time.Since(start)); event.Event != "up" {
			t.Errorf("first event about %s: %+v", name, event)
		}
	}
	const newAddress = "10.77.31.201"
	if out, err := exec.Command("ip", "-n", annex.Name, "address", "add", newAddress+"/24", "dev", annex.Link).CombinedOutput(); err != nil {
		t.Fatalf("add an address: %v %s", err, out)
	}
	// The advertiser compares its interfaces every ten seconds. The
	// server stays in the list meanwhile: no "gone" first.
	if event := watch.next(t, "Annex", 15*time.Second); event.Event != "up" || !slices.Contains(event.Server.Addresses, newAddress) {
		t.Errorf("after a new address: %+v", event)
	}
	stopCtx, stopCancel := context.WithTimeout(ctx, 30*time.Second)
	defer stopCancel()
	if err := first.Stop(stopCtx); err != nil {
		t.Fatalf("stop the first server: %v\n%s", err, first.Output())
	}
	// Its goodbye removes it within a second or so, not at expiry.
	if event := watch.next(t, "Office", 3*time.Second); event.Event != "gone" {
		t.Errorf("after the first server stopped: %+v", event)
	}
	lan.Disconnect("office2")
	unplugged := time.Now()
	// Not heard for two rounds of three seconds, the last one listening
	// two: at most eight seconds and a little.
	if event := watch.next(t, "Office (2)", 10*time.Second); event.Event != "gone" {
		t.Errorf("after the second server was unplugged: %+v", event)
	} else {
		t.Logf("a server that was unplugged leaves the list %s after", event.At.Sub(unplugged).Round(time.Millisecond))
	}
}

// TestDiscoveryWithoutMulticast is a host whose only network interface is
// down: discovery says why it cannot work, the rest of the server works.
func TestDiscoveryWithoutMulticast(t *testing.T) {
	lan := testenv.NewLAN(t, "10.77.32.0/24", "alone")
	alone := lan.Host("alone")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := exec.Command("ip", "-n", alone.Name, "link", "set", alone.Link, "down").CombinedOutput(); err != nil {
		t.Fatalf("take the link down: %v %s", err, out)
	}
	s := testenv.StartServerOn(t, alone, t.TempDir(), "--http-port", "-1")
	for {
		health := testenv.SubsystemOn(t, ctx, alone, s, "discovery")
		if health.State == supervisor.Degraded && strings.Contains(health.Reason, "no multicast-capable network interface") {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("discovery is %s (%s), want degraded for want of a multicast interface", health.State, health.Reason)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if web := testenv.SubsystemOn(t, ctx, alone, s, "web"); web.State != supervisor.Running {
		t.Errorf("web is %s (%s) without multicast", web.State, web.Reason)
	}
	out, err := alone.Command(ctx, testenv.Parley(t), "find").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no multicast-capable network interface") {
		t.Errorf("parley find without multicast: %v\n%s", err, out)
	}
}
