package web

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/server/certs"
)

type reporter struct {
	mu      sync.Mutex
	ready   chan struct{}
	note    string
	reason  string
	readied bool
}

func newReporter() *reporter { return &reporter{ready: make(chan struct{})} }

func (r *reporter) Ready(note string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.note = note
	if !r.readied {
		r.readied = true
		close(r.ready)
	}
}

func (r *reporter) Degraded(reason string) {
	r.mu.Lock()
	r.reason = reason
	r.mu.Unlock()
	r.Ready("")
}

func newTestServer(t *testing.T, handler http.Handler, ports Ports) *Server {
	t.Helper()
	manager, err := certs.Open(t.TempDir(), certs.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return New(handler, manager.GetCertificate, func() Ports { return ports }, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func insecureClient() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
}

// TestStopLetsRequestsInFlightFinish starts a slow request, stops the
// server while it runs, and checks that the request still completes.
func TestStopLetsRequestsInFlightFinish(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "finished")
	})
	server := newTestServer(t, handler, Ports{Address: "127.0.0.1", HTTPSPort: 0})
	ctx, cancel := context.WithCancel(context.Background())
	st := newReporter()
	served := make(chan error, 1)
	go func() { served <- server.Serve(ctx, st) }()
	<-st.ready

	answer := make(chan string, 1)
	go func() {
		resp, err := insecureClient().Get("https://127.0.0.1:" + strconv.Itoa(server.HTTPSPort()) + "/")
		if err != nil {
			answer <- "error: " + err.Error()
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answer <- string(body)
	}()
	<-started
	cancel()
	select {
	case err := <-served:
		t.Fatalf("server returned (%v) while a request was in flight", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if got := <-answer; got != "finished" {
		t.Errorf("in-flight request got %q", got)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve after stop: %v", err)
	}
}

func TestTakenPortMovesToTheNextAndSaysSo(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	server := newTestServer(t, http.NotFoundHandler(), Ports{Address: "127.0.0.1", HTTPSPort: port})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := newReporter()
	served := make(chan error, 1)
	go func() { served <- server.Serve(ctx, st) }()
	<-st.ready
	if server.HTTPSPort() == port || server.HTTPSPort() == 0 {
		t.Fatalf("bound %d", server.HTTPSPort())
	}
	st.mu.Lock()
	note := st.note
	st.mu.Unlock()
	if !strings.Contains(note, "port "+strconv.Itoa(port)+" in use") {
		t.Errorf("note %q", note)
	}
	cancel()
	<-served
}

func TestRedirectKeepsPathAndQuery(t *testing.T) {
	handler := redirectToHTTPS(9443)
	for _, c := range []struct{ method, host, target, want string }{
		{"GET", "office.local:8080", "/c/123?pin=4", "https://office.local:9443/c/123?pin=4"},
		{"GET", "[fd00::1]:8080", "/", "https://[fd00::1]:9443/"},
		{"POST", "10.0.0.2", "/api/v1/status", "https://10.0.0.2:9443/api/v1/status"},
	} {
		req, _ := http.NewRequest(c.method, "http://"+c.host+c.target, nil)
		req.Host = c.host
		rec := &recorder{header: http.Header{}}
		handler.ServeHTTP(rec, req)
		if rec.header.Get("Location") != c.want {
			t.Errorf("%s %s%s -> %q, want %q", c.method, c.host, c.target, rec.header.Get("Location"), c.want)
		}
		if c.method == "POST" && rec.status != http.StatusPermanentRedirect {
			t.Errorf("POST redirect status %d", rec.status)
		}
	}
}

type recorder struct {
	header http.Header
	status int
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(p []byte) (int, error) { return len(p), nil }
func (r *recorder) WriteHeader(status int)      { r.status = status }
