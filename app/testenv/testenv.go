// Package testenv gives Parley's end-to-end tests the real parts they run
// against: the parley binary itself, external tools that `make deps`
// installs, and network namespaces that stand in for other hosts. A
// missing tool fails the test: `make test` installs every one, so a skip
// would only hide a broken setup.
package testenv

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RequireTool returns the path of an external program or fails the test,
// naming the Debian package that provides it.
func RequireTool(t testing.TB, name, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("this test needs %s: run 'make deps' or 'apt-get install %s'", name, debianPackage)
	}
	return path
}

// RequireFile fails the test when a file that a Debian package installs
// is missing.
func RequireFile(t testing.TB, path, debianPackage string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("this test needs %s: run 'make deps' or 'apt-get install %s'", path, debianPackage)
	}
}

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// Parley builds the parley command once per test process and returns its
// path.
func Parley(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "parley-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "parley")
		if runtime.GOOS == "windows" {
			binary += ".exe"
		}
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		cmd := exec.Command("go", "build", "-o", binary, "-ldflags", "-X github.com/parleyhq/parley/app.Version=test", "./app/cmd/parley")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

// Server is a running `parley serve` process.
type Server struct {
	t       testing.TB
	cmd     *exec.Cmd
	DataDir string
	Port    int    // bound HTTPS port, from the welcome text
	URL     string // https://localhost:<port>/
	Setup   string // the setup link, when one was printed

	mu     sync.Mutex
	output OutputBuffer
	exited chan struct{}
	err    error
}

var (
	localURL  = regexp.MustCompile(`on this machine: (https://localhost:(\d+)/)`)
	setupLink = regexp.MustCompile(`(https://\S+/setup/\S+)`)
)

// StartServer runs `parley serve --data dir args...` on this machine and
// waits until it prints where it listens. Discovery is off: mDNS must not
// reach the machine's real network.
func StartServer(t testing.TB, dir string, args ...string) *Server {
	t.Helper()
	s, err := LaunchServer(t, dir, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Kill() })
	return s
}

// LaunchServer is StartServer that returns an error when the server exits
// before it is up, with everything it printed.
func LaunchServer(t testing.TB, dir string, args ...string) (*Server, error) {
	t.Helper()
	return launch(t, exec.Command(Parley(t), append([]string{"serve", "--no-discovery", "--data", dir, "--log-level", "warn"}, args...)...), dir)
}

// StartServerOn runs `parley serve` on a host of a test LAN, discovery on.
func StartServerOn(t testing.TB, host *Host, dir string, args ...string) *Server {
	t.Helper()
	return startServerIn(t, host.Name, dir, args...)
}

// StartServerIn runs `parley serve` inside a namespace linked to this
// machine, discovery off.
func StartServerIn(t testing.TB, ns *Namespace, dir string, args ...string) *Server {
	t.Helper()
	return startServerIn(t, ns.Name, dir, append([]string{"--no-discovery"}, args...)...)
}

func startServerIn(t testing.TB, namespace, dir string, args ...string) *Server {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", namespace, Parley(t), "serve", "--data", dir, "--log-level", "warn"}, args...)...)
	s, err := launch(t, cmd, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Kill() })
	return s
}

func launch(t testing.TB, cmd *exec.Cmd, dir string) (*Server, error) {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s := &Server{t: t, cmd: cmd, DataDir: dir, exited: make(chan struct{})}
	cmd.Stderr = s
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	up := make(chan struct{})
	go func() {
		lines := bufio.NewScanner(stdout)
		signalled := false
		for lines.Scan() {
			line := lines.Text()
			s.Write([]byte(line + "\n"))
			if m := localURL.FindStringSubmatch(line); m != nil {
				s.mu.Lock()
				s.URL = m[1]
				s.Port, _ = strconv.Atoi(m[2])
				s.mu.Unlock()
			}
			if m := setupLink.FindStringSubmatch(line); m != nil {
				s.mu.Lock()
				s.Setup = m[1]
				s.mu.Unlock()
			}
			if strings.HasPrefix(line, "Press Ctrl+C") && !signalled {
				signalled = true
				close(up)
			}
		}
	}()
	go func() {
		s.err = cmd.Wait()
		close(s.exited)
	}()
	select {
	case <-up:
		return s, nil
	case <-s.exited:
		return nil, &ExitError{Err: s.err, Output: s.Output()}
	case <-time.After(60 * time.Second):
		s.Kill()
		return nil, fmt.Errorf("parley serve did not come up in 60s:\n%s", s.Output())
	}
}

// ExitError is a server that stopped before it was up.
type ExitError struct {
	Err    error
	Output string
}

func (e *ExitError) Error() string { return fmt.Sprintf("parley exited: %v\n%s", e.Err, e.Output) }

// Write collects the process's output.
func (s *Server) Write(p []byte) (int, error) { return s.output.Write(p) }

// Output is everything the server printed so far.
func (s *Server) Output() string { return s.output.String() }

// Pid is the server process's ID, to look at it in /proc.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Kill ends the server with SIGKILL, as a crash or power cut would.
func (s *Server) Kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// Stop asks the server to stop with SIGTERM and waits for it.
func (s *Server) Stop(ctx context.Context) error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-s.exited:
		return s.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run runs the parley command to completion with stdin, returning its
// combined output.
func Run(t testing.TB, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(Parley(t), args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
