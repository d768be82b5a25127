package ui

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/parleyhq/parley/app"
)

// TestStartsAndStopsCleanly starts the app in host mode with the real
// embedded server and quits it, twenty times: each time the console comes
// up, and after each stop the goroutines are back to what they were and
// the port is free.
func TestStartsAndStopsCleanly(t *testing.T) {
	a := newUIApp(t)
	dir, port := t.TempDir(), freePort(t)
	startHost := func(ctx context.Context) (Host, error) {
		host, err := app.Start(ctx, hostOptions(t, dir, port))
		if err != nil {
			return nil, err
		}
		return host, nil
	}
	// The first start makes the owner, as the wizard would.
	first, err := startHost(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	setUp(t, first)
	first.Stop()

	cycle := func(i int) {
		s := newShell(a, Options{StartHost: startHost, Version: "test", Logger: quiet}, trustStoreIn(t))
		a.run(func() { s.start(true) })
		eventually(t, fmt.Sprintf("the console (start %d)", i), 30*time.Second, func() bool { return a.screen(s) == screenConsole })
		s.shutdown()
		a.run(func() { s.win.Close() })
		if l, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(port))); err != nil {
			t.Fatalf("start %d: port %d still taken after the stop: %v", i, port, err)
		} else {
			l.Close()
		}
	}
	// Once for what stays for good (pools, the test app), then a baseline.
	cycle(0)
	baseline := runtime.NumGoroutine()
	for i := 1; i <= 20; i++ {
		cycle(i)
		if n := settledGoroutines(baseline); n > baseline {
			buf := make([]byte, 1<<20)
			t.Fatalf("start %d: %d goroutines, %d before\n%s", i, n, baseline, buf[:runtime.Stack(buf, true)])
		}
	}
}

// settledGoroutines waits up to a few seconds for the goroutine count to
// come down to want (closing connections end theirs a moment later).
func settledGoroutines(want int) int {
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(5 * time.Second); n > want && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(50 * time.Millisecond)
	}
	return n
}
