package testenv

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dbusConfig is a system bus for one avahi-daemon: avahi may own its name
// and anyone may call it and hear its signals. %s is the socket's path.
const dbusConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<!-- Written by Parley's tests (app/testenv/avahi.go). -->
<busconfig>
  <type>system</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="org.freedesktop.Avahi"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`

// avahiConfig makes avahi-daemon a browser on one interface (%s) over
// IPv4: it publishes nothing, not even this machine's name, and asks no
// unicast DNS server.
const avahiConfig = `# Written by Parley's tests (app/testenv/avahi.go).
[server]
use-ipv4=yes
use-ipv6=no
allow-interfaces=%s
enable-dbus=yes
ratelimit-interval-usec=1000000
ratelimit-burst=1000

[wide-area]
enable-wide-area=no

[publish]
disable-publishing=yes
disable-user-service-publishing=yes

[reflector]
enable-reflector=no
`

// privateRun gives avahi-daemon a /run of its own before it starts.
// avahi-daemon keeps its pid file and socket in /run/avahi-daemon, built
// in, and refuses to start when the pid file names a live process. `ip
// netns exec` runs the command in a new mount namespace whose mounts do
// not propagate back, so this tmpfs is seen by this avahi-daemon alone:
// any number of them may run at once, beside a system avahi too. It also
// hides the real system bus's socket from it.
const privateRun = `mount -t tmpfs -o mode=0755,size=1m parley-avahi /run && mkdir /run/avahi-daemon && exec "$@"`

// StartAvahi runs a private D-Bus system bus and avahi-daemon inside a
// host's namespace, bound to the host's LAN link, and waits until avahi
// answers. It returns the environment that avahi-browse, run in the same
// namespace, needs to reach it: append it to os.Environ(). Both daemons
// stop when the test ends.
func StartAvahi(t testing.TB, h *Host) []string {
	t.Helper()
	RequireTool(t, "dbus-daemon", "dbus")
	RequireTool(t, "avahi-daemon", "avahi-daemon")
	RequireTool(t, "avahi-browse", "avahi-utils")
	RequireTool(t, "mount", "mount")

	// Not t.TempDir: its path holds the test's name and may pass the
	// 108-byte limit of a unix socket's path.
	dir, err := os.MkdirTemp("", "parley-avahi-")
	if err != nil {
		t.Fatalf("make a directory for avahi: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	busConfig := filepath.Join(dir, "bus.conf")
	daemonConfig := filepath.Join(dir, "avahi-daemon.conf")
	if err := os.WriteFile(busConfig, fmt.Appendf(nil, dbusConfig, filepath.Join(dir, "bus")), 0o644); err != nil {
		t.Fatalf("write the D-Bus configuration: %v", err)
	}
	if err := os.WriteFile(daemonConfig, fmt.Appendf(nil, avahiConfig, h.Link), 0o644); err != nil {
		t.Fatalf("write the avahi-daemon configuration: %v", err)
	}

	bus := h.Command(context.Background(), "dbus-daemon", "--config-file="+busConfig, "--nofork", "--print-address")
	address, err := startBus(t, bus)
	if err != nil {
		t.Fatalf("start dbus-daemon in %s: %v", h.Name, err)
	}
	env := []string{"DBUS_SYSTEM_BUS_ADDRESS=" + address}

	avahi := h.Command(context.Background(), "sh", "-c", privateRun, "sh",
		"avahi-daemon", "--no-drop-root", "--no-chroot", "--no-rlimits", "-f", daemonConfig)
	avahi.Env = append(os.Environ(), env...)
	avahiDaemon, err := startDaemon(t, "avahi-daemon", avahi)
	if err != nil {
		t.Fatalf("start avahi-daemon in %s: %v", h.Name, err)
	}
	if err := waitForAvahi(h, env, avahiDaemon); err != nil {
		t.Fatalf("avahi-daemon in %s: %v\navahi-daemon printed:\n%s", h.Name, err, avahiDaemon.output.String())
	}
	return env
}

// startBus starts dbus-daemon and returns the address it prints once it
// listens.
func startBus(t testing.TB, cmd *exec.Cmd) (string, error) {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", fmt.Errorf("pipe dbus-daemon's output: %w", err)
	}
	bus, err := startDaemon(t, "dbus-daemon", cmd)
	if err != nil {
		return "", err
	}
	addresses := make(chan string, 1)
	go func() {
		// dbus-daemon prints nothing more on stdout, so this is its only read.
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		addresses <- strings.TrimSpace(line)
	}()
	select {
	case address := <-addresses:
		if address == "" {
			return "", fmt.Errorf("it printed no address\ndbus-daemon printed:\n%s", bus.output.String())
		}
		return address, nil
	case <-time.After(10 * time.Second):
		return "", fmt.Errorf("it printed no address in 10 s\ndbus-daemon printed:\n%s", bus.output.String())
	}
}

// daemon is a background process that a test starts and stops.
type daemon struct {
	name   string
	cmd    *exec.Cmd
	output *OutputBuffer
	exited chan struct{}
}

// startDaemon starts cmd, collecting its stderr (and stdout, unless
// piped), and stops it with SIGTERM when the test ends.
func startDaemon(t testing.TB, name string, cmd *exec.Cmd) (*daemon, error) {
	d := &daemon{name: name, cmd: cmd, output: &OutputBuffer{}, exited: make(chan struct{})}
	if cmd.Stdout == nil {
		cmd.Stdout = d.output
	}
	cmd.Stderr = d.output
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		_ = cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() { d.stop(t) })
	return d, nil
}

// stop ends the daemon with SIGTERM, or SIGKILL if it lingers, and waits
// for it.
func (d *daemon) stop(t testing.TB) {
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(5 * time.Second):
		t.Errorf("%s did not stop within 5 s of SIGTERM; killing it\n%s printed:\n%s", d.name, d.name, d.output.String())
		_ = d.cmd.Process.Kill()
		<-d.exited
	}
}

// waitForAvahi waits until avahi-browse gets answers from the daemon.
func waitForAvahi(h *Host, env []string, avahi *daemon) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-avahi.exited:
			return fmt.Errorf("it exited: %v", avahi.cmd.ProcessState)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		browse := h.Command(ctx, "avahi-browse", "--all", "--terminate", "--parsable")
		browse.Env = append(os.Environ(), env...)
		out, err := browse.CombinedOutput()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("avahi-browse still fails after 20 s: %w: %s", err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
