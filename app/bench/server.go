package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/parleyhq/parley/server/client"
)

// Server is a Parley server the benchmark started: a process of its own,
// so that its CPU time is the server's alone.
type Server struct {
	Target
	cmd    *exec.Cmd
	exited chan error
	output lockedWriter
}

// lockedWriter keeps what a process prints, from both its streams.
type lockedWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// StartServer runs `parley serve` from binary on loopback with a fresh
// data directory in dir, with an owner account the benchmark signs in
// as; serveArgs are more flags for serve (such as --cpu-profile).
func StartServer(ctx context.Context, binary, dir string, serveArgs ...string) (*Server, error) {
	secret := make([]byte, 12)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	password := "Load-" + hex.EncodeToString(secret) // not the login, as the policy asks
	add := exec.CommandContext(ctx, binary, "user", "add", "bench", "--role", "owner", "--data", dir)
	add.Stdin = strings.NewReader(password + "\n")
	if out, err := add.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("create the benchmark's owner: %w\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{exited: make(chan error, 1)}
	s.cmd = exec.Command(binary, append([]string{"serve", "--data", dir, "--port", strconv.Itoa(port), "--http-port", "-1",
		"--listen", "127.0.0.1", "--no-discovery", "--ice-loopback", "--log-level", "warn"}, serveArgs...)...)
	s.cmd.Stdout, s.cmd.Stderr = &s.output, &s.output
	s.cmd.Env = append(os.Environ(), "LANG=C.UTF-8")
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the server: %w", err)
	}
	go func() { s.exited <- s.cmd.Wait() }()
	s.URL = "https://127.0.0.1:" + strconv.Itoa(port) + "/"

	deadline := time.Now().Add(30 * time.Second)
	for {
		ca, caErr := os.ReadFile(filepath.Join(dir, "tls", "ca.crt"))
		if caErr == nil {
			s.CACertPEM = ca
			owner, err := client.New(s.URL, client.Options{CACertPEM: ca})
			if err != nil {
				s.Stop()
				return nil, err
			}
			if _, err = owner.SignIn(ctx, "bench", password); err == nil {
				s.Owner = owner
				return s, nil
			}
			caErr = err
		}
		select {
		case err := <-s.exited:
			return nil, fmt.Errorf("the server exited: %v\n%s", err, s.Output())
		case <-ctx.Done():
			s.Stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("the server did not answer within 30 s: %v\n%s", caErr, s.Output())
		}
	}
}

// Output is what the server printed.
func (s *Server) Output() string { return s.output.String() }

// Stop stops the server gracefully, or kills it after 15 s.
func (s *Server) Stop() {
	if s.Owner != nil {
		s.Owner.Close()
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// freePort is a port free for both TCP and UDP on loopback: the server
// takes both (HTTPS and media).
func freePort() (int, error) {
	for range 50 {
		udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := udp.LocalAddr().(*net.UDPAddr).Port
		tcp, err := net.Listen("tcp4", "127.0.0.1:"+strconv.Itoa(port))
		udp.Close()
		if err == nil {
			tcp.Close()
			return port, nil
		}
	}
	return 0, errors.New("no port free for both TCP and UDP")
}
