package app_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/app/testenv"
	"github.com/parleyhq/parley/server/accounts"
	"github.com/parleyhq/parley/server/client"
	"github.com/parleyhq/parley/server/store"
)

const ownerPassword = "Owner-Password-1"

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

// caOf downloads /ca.crt without trusting anything yet, as a new user does.
func caOf(t *testing.T, s *testenv.Server) []byte {
	t.Helper()
	out, err := exec.Command(testenv.RequireTool(t, "curl", "curl"), "--silent", "--show-error", "--insecure", s.URL+"ca.crt").Output()
	if err != nil {
		t.Fatalf("download ca.crt: %v", err)
	}
	return out
}

func clientOf(t *testing.T, s *testenv.Server) *client.Client {
	t.Helper()
	c, err := client.New(s.URL, client.Options{CACertPEM: caOf(t, s)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestServeAnswersOverHTTPSWithItsOwnCA is the README's promise: status
// over HTTPS with a certificate that verifies against /ca.crt, checked
// with curl --cacert.
func TestServeAnswersOverHTTPSWithItsOwnCA(t *testing.T) {
	curl := testenv.RequireTool(t, "curl", "curl")
	s := testenv.StartServer(t, t.TempDir(), "--port", strconv.Itoa(freePort(t)), "--http-port", "-1")
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(caFile, caOf(t, s), 0o600); err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(caOf(t, s))
	if block == nil {
		t.Fatal("ca.crt is not PEM")
	}
	if ca, err := x509.ParseCertificate(block.Bytes); err != nil || !ca.IsCA {
		t.Fatalf("ca.crt is not a CA: %v", err)
	}

	out, err := exec.Command(curl, "--silent", "--show-error", "--fail", "--cacert", caFile, s.URL+"api/v1/status").CombinedOutput()
	if err != nil {
		t.Fatalf("curl --cacert: %v: %s", err, out)
	}
	for _, want := range []string{`"name":"store","state":"running"`, `"name":"web","state":"running"`, `"setup_required":true`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("status lacks %s: %s", want, out)
		}
	}
	// Without the CA, curl must refuse: the certificate is really ours.
	if err := exec.Command(curl, "--silent", "--fail", s.URL+"api/v1/status").Run(); err == nil {
		t.Error("curl accepted the certificate without the CA")
	}
	if s.Setup == "" {
		t.Error("no setup link printed on a new server")
	}
}

func TestSecondServerOnTheSameDataDirectoryRefuses(t *testing.T) {
	dir := t.TempDir()
	testenv.StartServer(t, dir, "--port", strconv.Itoa(freePort(t)), "--http-port", "-1")
	_, err := testenv.LaunchServer(t, dir, "--port", strconv.Itoa(freePort(t)), "--http-port", "-1")
	var exit *testenv.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("second server did not exit: %v", err)
	}
	if !strings.Contains(exit.Output, "already using the data directory "+dir) || !strings.Contains(exit.Output, "https://localhost:") {
		t.Errorf("unclear refusal: %s", exit.Output)
	}
}

func TestSecondServerTakesTheNextFreePort(t *testing.T) {
	port := freePort(t)
	first := testenv.StartServer(t, t.TempDir(), "--port", strconv.Itoa(port), "--http-port", "-1")
	if first.Port != port {
		t.Fatalf("first server on %d, asked %d", first.Port, port)
	}
	second := testenv.StartServer(t, t.TempDir(), "--port", strconv.Itoa(port), "--http-port", "-1")
	if second.Port <= port {
		t.Fatalf("second server on %d", second.Port)
	}
	status, err := clientOf(t, second).Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	web, _ := status.Subsystem("web")
	want := fmt.Sprintf("port %d in use, serving HTTPS on port %d", port, second.Port)
	if web.State != "running" || web.Reason != want {
		t.Errorf("web status %+v, want reason %q", web, want)
	}
}

func TestRedirectPortOnlyRedirects(t *testing.T) {
	httpPort := freePort(t)
	s := testenv.StartServer(t, t.TempDir(), "--port", strconv.Itoa(freePort(t)), "--http-port", strconv.Itoa(httpPort))
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(fmt.Sprintf("http://localhost:%d/api/v1/status?x=1", httpPort))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := fmt.Sprintf("https://localhost:%d/api/v1/status?x=1", s.Port)
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
		t.Errorf("redirect %d to %q, want %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
}

func TestANewerDatabaseIsRefused(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(context.Background(), dir, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().Exec(fmt.Sprintf("PRAGMA user_version = %d", store.LatestVersion()+5)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = testenv.LaunchServer(t, dir, "--port", strconv.Itoa(freePort(t)), "--http-port", "-1")
	var exit *testenv.ExitError
	if !errors.As(err, &exit) || !strings.Contains(exit.Output, "written by a newer Parley") {
		t.Fatalf("newer database: %v", err)
	}
}

func TestGracefulStopClosesTheDatabase(t *testing.T) {
	dir := t.TempDir()
	s := testenv.StartServer(t, dir, "--port", strconv.Itoa(freePort(t)), "--http-port", "-1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatalf("stop: %v\n%s", err, s.Output())
	}
	if !strings.Contains(s.Output(), "Parley stopped.") {
		t.Errorf("no goodbye: %s", s.Output())
	}
	// A clean close checkpoints the write-ahead log into the database file.
	if info, err := os.Stat(filepath.Join(dir, store.FileName+"-wal")); err == nil && info.Size() > 0 {
		t.Errorf("write-ahead log left with %d bytes", info.Size())
	}
	out, err := testenv.Run(t, "", "user", "list", "--data", dir)
	if err != nil {
		t.Fatalf("database unusable after stop: %v %s", err, out)
	}
}

// TestHostCommandsManageAccounts drives `parley user ...` beside a running
// server, the way an administrator on the host would.
func TestHostCommandsManageAccounts(t *testing.T) {
	dir := t.TempDir()
	s := testenv.StartServer(t, dir, "--port", strconv.Itoa(freePort(t)), "--http-port", "-1")
	run := func(stdin string, args ...string) string {
		t.Helper()
		out, err := testenv.Run(t, stdin, append(args, "--data", dir)...)
		if err != nil {
			t.Fatalf("parley %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	run(ownerPassword+"\n", "user", "add", "boss", "--role", "owner", "--name", "The Boss")
	run("Member-Password-2\n", "user", "add", "anna", "--email", "anna@example.com")
	if out, err := testenv.Run(t, "weak\n", "user", "add", "weakling", "--data", dir); err == nil || !strings.Contains(out, "password must have at least") {
		t.Errorf("weak password accepted: %s", out)
	}
	if out, err := testenv.Run(t, ownerPassword+"\n", "user", "add", "second", "--role", "owner", "--data", dir); err == nil || !strings.Contains(out, "already has an owner") {
		t.Errorf("second owner: %s", out)
	}
	list := run("", "user", "list")
	if !strings.Contains(list, "boss") || !strings.Contains(list, "anna") || !strings.Contains(list, "owner") {
		t.Errorf("list:\n%s", list)
	}

	c := clientOf(t, s)
	ctx := context.Background()
	if _, err := c.SignIn(ctx, "anna", "Member-Password-2"); err != nil {
		t.Fatal(err)
	}
	run("Member-Password-3\n", "user", "passwd", "anna")
	if err := c.Do(ctx, http.MethodGet, "/api/v1/me", nil, nil); client.StatusOf(err) != http.StatusUnauthorized {
		t.Errorf("session survived a password change: %v", err)
	}
	if _, err := c.SignIn(ctx, "anna", "Member-Password-3"); err != nil {
		t.Fatal(err)
	}
	run("", "user", "disable", "anna")
	if _, err := c.SignIn(ctx, "anna", "Member-Password-3"); client.StatusOf(err) != http.StatusForbidden {
		t.Errorf("disabled account signed in: %v", err)
	}
	if !strings.Contains(run("", "user", "list"), "disabled") {
		t.Error("list does not show the disabled account")
	}
	run("", "user", "enable", "anna")
	for i := 0; i < 5; i++ {
		c.SignIn(ctx, "anna", "wrong")
	}
	if !strings.Contains(run("", "user", "list"), "locked until") {
		t.Error("list does not show the lock")
	}
	run("", "user", "unlock", "anna")
	if _, err := c.SignIn(ctx, "anna", "Member-Password-3"); err != nil {
		t.Errorf("after unlock: %v", err)
	}
	status, _ := c.Status(ctx)
	if status.SetupRequired {
		t.Error("an owner made on the host still leaves setup required")
	}
	if out, err := testenv.Run(t, "", "user", "frobnicate", "x", "--data", dir); err == nil || !strings.Contains(out, "unknown user subcommand") {
		t.Errorf("unknown subcommand: %s", out)
	}
}

// TestKillDuringWritesLosesNothingCommitted kills the server with SIGKILL
// while clients create accounts, restarts it, and finds every account whose
// creation was acknowledged.
func TestKillDuringWritesLosesNothingCommitted(t *testing.T) {
	dir := t.TempDir()
	port := strconv.Itoa(freePort(t))
	if out, err := testenv.Run(t, ownerPassword+"\n", "user", "add", "boss", "--role", "owner", "--data", dir); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	s := testenv.StartServer(t, dir, "--port", port, "--http-port", "-1")
	ca := caOf(t, s)
	ctx := context.Background()

	var mu sync.Mutex
	var acknowledged []string
	stop := make(chan struct{})
	var writers sync.WaitGroup
	for w := 0; w < 3; w++ {
		writers.Go(func() {
			c, _ := client.New(s.URL, client.Options{CACertPEM: ca, Timeout: 5 * time.Second})
			if _, err := c.SignIn(ctx, "boss", ownerPassword); err != nil {
				t.Errorf("sign in: %v", err)
				return
			}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				login := fmt.Sprintf("w%d-%d", w, i)
				err := c.Do(ctx, http.MethodPost, "/api/v1/users", accounts.NewUser{Login: login, Password: "Durable-Pass-1"}, nil)
				if err != nil {
					return // the server died under us
				}
				mu.Lock()
				acknowledged = append(acknowledged, login)
				mu.Unlock()
			}
		})
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(acknowledged)
		mu.Unlock()
		if n >= 30 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.Kill()
	close(stop)
	writers.Wait()
	if len(acknowledged) < 30 {
		t.Fatalf("only %d accounts were created before the kill", len(acknowledged))
	}

	restarted := testenv.StartServer(t, dir, "--port", port, "--http-port", "-1")
	c := clientOf(t, restarted)
	if _, err := c.SignIn(ctx, "boss", ownerPassword); err != nil {
		t.Fatal(err)
	}
	var listed struct{ Users []accounts.User }
	if err := c.Do(ctx, http.MethodGet, "/api/v1/users?limit=1000", nil, &listed); err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{}
	for _, u := range listed.Users {
		present[u.Login] = true
	}
	for _, login := range acknowledged {
		if !present[login] {
			t.Errorf("acknowledged account %s is lost", login)
		}
	}
	var events struct {
		Events []struct{ Kind string }
	}
	if err := c.Do(ctx, http.MethodGet, "/api/v1/events?kind=user.created&limit=1000", nil, &events); err != nil {
		t.Fatal(err)
	}
	if len(events.Events) < len(acknowledged)+1 {
		t.Errorf("%d user.created rows for %d acknowledged accounts and the owner", len(events.Events), len(acknowledged))
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestFirstStartRecordsItsMigration checks the event row of a migration
// from an empty database, and that a second start records none.
func TestFirstStartRecordsItsMigration(t *testing.T) {
	dir := t.TempDir()
	if out, err := testenv.Run(t, ownerPassword+"\n", "user", "add", "boss", "--role", "owner", "--data", dir); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	port := strconv.Itoa(freePort(t))
	for start := 1; start <= 2; start++ {
		s := testenv.StartServer(t, dir, "--port", port, "--http-port", "-1")
		c := clientOf(t, s)
		ctx := context.Background()
		if _, err := c.SignIn(ctx, "boss", ownerPassword); err != nil {
			t.Fatal(err)
		}
		var page struct {
			Events []struct {
				Actor   string
				Details map[string]int
			}
		}
		if err := c.Do(ctx, http.MethodGet, "/api/v1/events?kind=store.migrated", nil, &page); err != nil {
			t.Fatal(err)
		}
		if len(page.Events) != 1 || page.Events[0].Details["from"] != 0 || page.Events[0].Details["to"] != store.LatestVersion() || page.Events[0].Actor != "system" {
			t.Fatalf("start %d: migration rows %+v", start, page.Events)
		}
		stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := s.Stop(stopCtx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestALinkWithoutADisplay: a parley:// link given on a machine without a
// display says to use a browser, rather than starting a server.
func TestALinkWithoutADisplay(t *testing.T) {
	cmd := exec.Command(testenv.Parley(t), "parley://office-pc:8443/c/4820117735")
	cmd.Env = append(os.Environ(), "DISPLAY=", "WAYLAND_DISPLAY=")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "open it in a browser instead") {
		t.Errorf("parley LINK without a display: %v\n%s", err, out)
	}
	if out, err := testenv.Run(t, "", "parley-not-a-link"); err == nil || !strings.Contains(out, `unknown command "parley-not-a-link"`) {
		t.Errorf("an unknown word: %v\n%s", err, out)
	}
}
