//go:build linux

package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/parleyhq/parley/app/testenv"
	"github.com/parleyhq/parley/discovery"
	"github.com/parleyhq/parley/ui/truststore"
)

// joinRoleEnv makes the test binary a colleague's app on a LAN host (see
// TestJoinAServerFoundOnTheLAN): "<server name> <trust store file>".
const joinRoleEnv = "PARLEY_UI_JOIN_DISCOVERED"

func TestMain(m *testing.M) {
	if role := os.Getenv(joinRoleEnv); role != "" {
		var args struct{ Name, TrustFile string }
		if err := json.Unmarshal([]byte(role), &args); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		encoder := json.NewEncoder(os.Stdout)
		if err := encoder.Encode(joinDiscovered(args.Name, args.TrustFile)); err != nil {
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// joinOutcome is what the app on the other host saw.
type joinOutcome struct {
	Error      string
	FoundAfter time.Duration // from the start of browsing
	Server     discovery.Server
	Question   *TrustQuestion
	Connected  string // the server's name, once connected
	Pinned     map[string]truststore.Server
}

// joinDiscovered browses the network as the app's server list does,
// chooses the server named name and connects to it.
func joinDiscovered(name, trustFile string) (outcome joinOutcome) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	found := make(chan discovery.Server, 1)
	browser := discovery.NewBrowser(func(list []discovery.Server) {
		for _, s := range list {
			if s.Name == name {
				select {
				case found <- s:
				default:
				}
			}
		}
	}, nil)
	browsing, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- browser.Run(browsing) }()
	defer func() { stop(); <-done }()
	start := time.Now()
	select {
	case outcome.Server = <-found:
		outcome.FoundAfter = time.Since(start)
	case err := <-done:
		outcome.Error = fmt.Sprintf("browsing ended: %v", err)
		return outcome
	case <-time.After(10 * time.Second):
		outcome.Error = fmt.Sprintf("%q not found in 10s", name)
		return outcome
	}

	store := truststore.Open(trustFile)
	model := newJoinModel(store)
	question, err := model.ConnectDiscovered(ctx, outcome.Server)
	if err != nil {
		outcome.Error = err.Error()
		return outcome
	}
	outcome.Question = question
	if question == nil {
		outcome.Connected = model.ServerName()
	}
	outcome.Pinned = map[string]truststore.Server{}
	for _, key := range []string{serverIDKey(outcome.Server.ID), model.Target.HostPort()} {
		if pinned, ok, err := store.Lookup(key); err == nil && ok {
			outcome.Pinned[key] = pinned
		}
	}
	return outcome
}

// setUpDataDir is the data directory of a server named name whose owner
// exists, ready to start on a LAN host.
func setUpDataDir(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	testenv.SetSettings(t, dir, map[string]any{"server_name": name})
	if out, err := testenv.Run(t, ownerPassword+"\n", "user", "add", "boss", "--role", "owner", "--data", dir); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	return dir
}

// TestJoinAServerFoundOnTheLAN is a colleague's app on another host of
// the LAN: it finds the server within two seconds, connects without a
// question, its CA pinned from the announcement; when the server comes
// back with another CA, the app warns instead of connecting.
func TestJoinAServerFoundOnTheLAN(t *testing.T) {
	lan := testenv.NewLAN(t, "10.77.41.0/24", "office", "desk")
	office, desk := lan.Host("office"), lan.Host("desk")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := setUpDataDir(t, "Office")
	trustFile := filepath.Join(t.TempDir(), "trusted.json")

	run := func() joinOutcome {
		t.Helper()
		role, _ := json.Marshal(map[string]string{"Name": "Office", "TrustFile": trustFile})
		cmd := desk.Command(ctx, os.Args[0], "-test.run=^$", "-test.timeout=2m")
		cmd.Env = append(os.Environ(), joinRoleEnv+"="+string(role))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("the app on %s: %v\n%s", desk.Name, err, out)
		}
		var outcome joinOutcome
		if err := json.Unmarshal(out, &outcome); err != nil {
			t.Fatalf("the app on %s printed %q: %v", desk.Name, out, err)
		}
		return outcome
	}

	server := testenv.StartServerOn(t, office, dir, "--http-port", "-1")
	testenv.WaitForAnnouncement(t, ctx, office, server)
	first := run()
	if first.Error != "" || first.Question != nil || first.Connected != "Office" {
		t.Fatalf("first join: %+v", first)
	}
	if first.FoundAfter > 2*time.Second {
		t.Errorf("found after %s, want within 2s", first.FoundAfter)
	}
	t.Logf("found on the network after %s", first.FoundAfter.Round(time.Millisecond))
	caPEM, err := os.ReadFile(filepath.Join(dir, "tls", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	fingerprint, err := truststore.Fingerprint(caPEM)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{serverIDKey(first.Server.ID), fmt.Sprintf("%s:%d", office.IP, server.Port)} {
		if pinned := first.Pinned[key]; pinned.Fingerprint != fingerprint || pinned.Name != "Office" {
			t.Errorf("pinned under %s: %+v, want the server's CA %s", key, pinned, fingerprint)
		}
	}

	// The server is reinstalled: same id, new certificate authority.
	if err := server.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "tls")); err != nil {
		t.Fatal(err)
	}
	server = testenv.StartServerOn(t, office, dir, "--http-port", "-1")
	testenv.WaitForAnnouncement(t, ctx, office, server)
	second := run()
	if second.Error != "" || second.Connected != "" || second.Question == nil || !second.Question.Changed ||
		second.Question.Previous.Fingerprint != fingerprint || second.Question.Fingerprint == fingerprint {
		t.Fatalf("after the CA changed the app did not warn: %+v", second)
	}
	if second.Server.ID != first.Server.ID {
		t.Errorf("the reinstalled server has id %s, was %s", second.Server.ID, first.Server.ID)
	}
}

// listRoleEnv runs TestServerListOnTheLAN's app part, on a LAN host: the
// server's name and its address (host:port), as JSON.
const listRoleEnv = "PARLEY_UI_SERVER_LIST"

// TestServerListOnTheLAN opens the start screen of the app on a
// colleague's host: the server on the other host appears in "Servers on
// your network", and Connect leads to signing in to it, its certificate
// authority pinned without a question.
func TestServerListOnTheLAN(t *testing.T) {
	if role := os.Getenv(listRoleEnv); role != "" {
		var want struct{ Name, Address string }
		if err := json.Unmarshal([]byte(role), &want); err != nil {
			t.Fatal(err)
		}
		chooseFromTheList(t, want.Name, want.Address)
		return
	}
	lan := testenv.NewLAN(t, "10.77.42.0/24", "office", "desk")
	office, desk := lan.Host("office"), lan.Host("desk")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := setUpDataDir(t, "Reception desk")
	server := testenv.StartServerOn(t, office, dir, "--http-port", "-1")
	testenv.WaitForAnnouncement(t, ctx, office, server)

	role, _ := json.Marshal(map[string]string{"Name": "Reception desk", "Address": fmt.Sprintf("%s:%d", office.IP, server.Port)})
	cmd := desk.Command(ctx, os.Args[0], "-test.run=^TestServerListOnTheLAN$", "-test.v", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), listRoleEnv+"="+string(role))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the app on %s: %v\n%s", desk.Name, err, out)
	}
	t.Logf("the app on %s:\n%s", desk.Name, out)
}

// chooseFromTheList is the app's part of TestServerListOnTheLAN.
func chooseFromTheList(t *testing.T, name, address string) {
	a := newUIApp(t)
	s := newShell(a, Options{Version: "test", Logger: quiet, Discovery: true}, trustStoreIn(t))
	t.Cleanup(s.shutdown)
	a.Preferences().SetString(prefMode, "join") // the start screen, not hosting
	a.run(func() { s.start(false) })
	var listed string
	eventually(t, "the server in the list", 5*time.Second, func() bool {
		a.run(func() { listed = texts(s.win.Content()) })
		return strings.Contains(listed, name+"\n") && strings.Contains(listed, address)
	})
	a.run(func() { test.Tap(button(t, s.win.Content(), "Connect")) })
	eventually(t, "the sign-in screen", 30*time.Second, func() bool { return a.screen(s) == screenSignIn })
	a.run(func() {
		if dialog := topDialog(s.win); dialog != nil {
			t.Errorf("a question was asked: %s", texts(dialog))
		}
		if text := texts(s.win.Content()); !strings.Contains(text, name) {
			t.Errorf("the sign-in screen does not name %q:\n%s", name, text)
		}
	})
	if pinned, ok, err := s.trust.Lookup(address); err != nil || !ok {
		t.Errorf("nothing pinned for %s: %v", address, err)
	} else {
		t.Logf("pinned %s: %s", address, pinned.Fingerprint)
	}
}
