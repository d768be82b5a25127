package app

import (
	"context"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/app/supervisor"
	"github.com/parleyhq/parley/media/turnserver"
	"github.com/parleyhq/parley/server/settings"
)

// holdPort takes a UDP and a TCP port of the same number on loopback, as
// another program would.
func holdPort(t *testing.T) (port int, release func()) {
	t.Helper()
	for range 20 {
		udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port = udp.LocalAddr().(*net.UDPAddr).Port
		tcp, err := net.Listen("tcp4", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			udp.Close()
			continue
		}
		return port, func() { udp.Close(); tcp.Close() }
	}
	t.Fatal("no port free for both UDP and TCP")
	return 0, nil
}

// TestTURNKeepsItsPortAcrossRestarts: when the configured port was taken
// and the server moved to the next one, a restart (say for new relay
// settings) keeps that port even though the configured one is free
// again, because clients were given it.
func TestTURNKeepsItsPortAcrossRestarts(t *testing.T) {
	configured, release := holdPort(t)
	var current atomic.Pointer[settings.Settings]
	s := settings.Defaults()
	s.TURN.Enabled, s.TURN.Port = true, configured
	current.Store(&s)
	turn := &turnService{settings: func() settings.Settings { return *current.Load() }, secret: []byte("0123456789abcdef"),
		listen: func() string { return "127.0.0.1" }, mediaPort: func(int) bool { return false }}
	sup := supervisor.New(supervisor.Options{BackoffMin: 10 * time.Millisecond})
	sup.Add(turn)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := sup.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer sup.Stop()
	// servingOn waits for a run other than the one before.
	var before *turnserver.Server
	servingOn := func(what string) int {
		t.Helper()
		for ctx.Err() == nil {
			if running, port := turn.serving(); running != nil && running != before {
				before = running
				return port
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("%s: the TURN server does not run", what)
		return 0
	}
	moved := servingOn("configured port taken")
	if moved <= configured {
		t.Fatalf("with port %d taken the server listens on %d", configured, moved)
	}

	release()
	changed := *current.Load()
	changed.TURN.RelayPorts = "49152-49407"
	current.Store(&changed)
	sup.Restart(turn.Name())
	if port := servingOn("restarted"); port != moved {
		t.Errorf("after a restart the server listens on %d, want %d as before", port, moved)
	}

	// A new configured port is searched afresh.
	fresh, releaseFresh := holdPort(t)
	releaseFresh()
	changed.TURN.Port = fresh
	current.Store(&changed)
	sup.Restart(turn.Name())
	if port := servingOn("new port"); port != fresh {
		t.Errorf("with port %d configured the server listens on %d", fresh, port)
	}
}
