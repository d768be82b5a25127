package testenv

import (
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Coturn is an external TURN server (Debian's coturn) on loopback, with
// one long-term user.
type Coturn struct {
	Port               int
	Username, Password string
	daemon             *daemon
}

// URL is the TURN address over transport ("udp" or "tcp").
func (c *Coturn) URL(transport string) string {
	return "turn:127.0.0.1:" + strconv.Itoa(c.Port) + "?transport=" + transport
}

// Output is what coturn logged so far.
func (c *Coturn) Output() string { return c.daemon.output.String() }

// Allocations counts the relay allocations coturn logged as made.
func (c *Coturn) Allocations() int {
	return strings.Count(c.Output(), "ALLOCATE processed, success")
}

// StartCoturn runs coturn on 127.0.0.1 (UDP and TCP on a free port, relay
// ports on loopback, loopback peers allowed so it can reach a server on
// this machine) and waits until it answers. It stops when the test ends.
func StartCoturn(t testing.TB) *Coturn {
	t.Helper()
	RequireTool(t, "turnserver", "coturn")
	port := freeUDPAndTCPPort(t)
	dir := t.TempDir()
	c := &Coturn{Port: port, Username: "parley-test", Password: "Relay-Secret-7"}
	args := []string{
		"-n", // no configuration file
		"--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", "--listening-port=" + strconv.Itoa(port),
		"--min-port=49152", "--max-port=65535",
		"--lt-cred-mech", "--user=" + c.Username + ":" + c.Password, "--realm=parley.test",
		"--no-tls", "--no-dtls", "--no-cli", "--allow-loopback-peers",
		"--pidfile=" + filepath.Join(dir, "turnserver.pid"), "--userdb=" + filepath.Join(dir, "turndb"),
		"--log-file=stdout", "--simple-log", "--verbose",
	}
	cmd := exec.CommandContext(context.Background(), "turnserver", args...)
	var err error
	if c.daemon, err = startDaemon(t, "coturn", cmd); err != nil {
		t.Fatalf("start coturn: %v", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
		if err == nil {
			conn.Close()
			return c
		}
		select {
		case <-c.daemon.exited:
			t.Fatalf("coturn exited: %v\ncoturn printed:\n%s", c.daemon.cmd.ProcessState, c.Output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("coturn does not listen on port %d after 15 s\ncoturn printed:\n%s", port, c.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// freeUDPAndTCPPort finds a port that is free on 127.0.0.1 over both UDP
// and TCP.
func freeUDPAndTCPPort(t testing.TB) int {
	t.Helper()
	for range 50 {
		udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := udp.LocalAddr().(*net.UDPAddr).Port
		tcp, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		udp.Close()
		if err == nil {
			tcp.Close()
			return port
		}
	}
	t.Fatal("no port free over both UDP and TCP")
	return 0
}
