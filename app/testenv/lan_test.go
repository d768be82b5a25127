//go:build linux

package testenv_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parleyhq/parley/app/testenv"
)

// multicastEnv makes the test binary a multicast helper inside a LAN
// host: "receive <link>" prints "ready", then "<source> <quoted payload>"
// for each datagram to 224.0.0.251:5353 on link, until killed; "send
// <payload>" sends payload there a few times.
const multicastEnv = "PARLEY_TESTENV_MULTICAST"

// probePrefix starts every datagram the tests send on a LAN; the root
// namespace must never see it.
const probePrefix = "parley-lan-probe"

var mdnsGroup = &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353}

func TestMain(m *testing.M) {
	if role := os.Getenv(multicastEnv); role != "" {
		if err := runMulticastHelper(role); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runMulticastHelper(role string) error {
	verb, argument, _ := strings.Cut(role, " ")
	switch verb {
	case "receive":
		ifi, err := net.InterfaceByName(argument)
		if err != nil {
			return fmt.Errorf("find the link: %w", err)
		}
		conn, err := net.ListenMulticastUDP("udp4", ifi, mdnsGroup)
		if err != nil {
			return fmt.Errorf("join %v on %s: %w", mdnsGroup, argument, err)
		}
		fmt.Println("ready")
		buffer := make([]byte, 9000)
		for {
			n, from, err := conn.ReadFromUDP(buffer)
			if err != nil {
				return fmt.Errorf("receive: %w", err)
			}
			fmt.Printf("%s %q\n", from.IP, buffer[:n])
		}
	case "send":
		conn, err := net.DialUDP("udp4", nil, mdnsGroup)
		if err != nil {
			return fmt.Errorf("dial %v: %w", mdnsGroup, err)
		}
		// A few copies, in case a receiver misses the first.
		for range 3 {
			if _, err := conn.Write([]byte(argument)); err != nil {
				return fmt.Errorf("send: %w", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		return conn.Close()
	}
	return fmt.Errorf("unknown helper role %q", role)
}

// TestLAN checks a LAN's topology: hosts reach each other, multicast
// reaches every host, nothing reaches the root namespace, and a
// disconnected host is cut off.
func TestLAN(t *testing.T) {
	t.Parallel()
	const subnet = "10.77.1.0/24"
	sniffer := sniffRootNamespace(t, subnet)
	start := time.Now()
	lan := testenv.NewLAN(t, subnet, "server", "client", "other")
	t.Logf("NewLAN took %v", time.Since(start))
	server, client, other := lan.Host("server"), lan.Host("client"), lan.Host("other")

	for _, want := range []struct {
		host *testenv.Host
		ip   string
	}{{server, "10.77.1.1"}, {client, "10.77.1.2"}, {other, "10.77.1.3"}} {
		if want.host.IP != want.ip {
			t.Errorf("%s has address %s, want %s", want.host.Name, want.host.IP, want.ip)
		}
		if _, err := net.InterfaceByName(want.host.Link); err == nil {
			t.Errorf("the root namespace has an interface %s, the link of %s", want.host.Link, want.host.Name)
		}
		ipv6 := output(t, want.host, "cat", "/proc/sys/net/ipv6/conf/"+want.host.Link+"/disable_ipv6")
		if ipv6 != "1" {
			t.Errorf("IPv6 is on for %s in %s (disable_ipv6 is %q)", want.host.Link, want.host.Name, ipv6)
		}
	}

	if err := ping(t, client, other.IP); err != nil {
		t.Fatalf("client cannot ping other: %v", err)
	}

	clientHears, otherHears := startReceiver(t, client), startReceiver(t, other)
	probe := probePrefix + " from server"
	send(t, server, probe)
	expectDatagram(t, clientHears, "client", server.IP, probe)
	expectDatagram(t, otherHears, "other", server.IP, probe)
	t.Logf("multicast reached both hosts %v after start", time.Since(start))

	lan.Disconnect("other")
	if err := ping(t, client, other.IP); err == nil {
		t.Error("client still pings other after Disconnect")
	}
	probe = probePrefix + " after disconnect"
	send(t, server, probe)
	expectDatagram(t, clientHears, "client", server.IP, probe)
	// The client heard the probe, so other would have too by now. (It
	// may still hold copies of the first probe.)
	quiet := time.After(300 * time.Millisecond)
	for listening := true; listening; {
		select {
		case line, ok := <-otherHears:
			listening = ok
			if strings.Contains(line, probe) {
				t.Errorf("other, disconnected, heard %s", line)
			}
		case <-quiet:
			listening = false
		}
	}

	sniffer.check(t)
}

// TestStartAvahi runs two avahi-daemons at once on a LAN and browses
// with each; their mDNS queries reach a third host and not the root
// namespace.
func TestStartAvahi(t *testing.T) {
	t.Parallel()
	const subnet = "10.77.2.0/24"
	sniffer := sniffRootNamespace(t, subnet)
	lan := testenv.NewLAN(t, subnet, "first", "second", "listener")
	listenerHears := startReceiver(t, lan.Host("listener"))

	for _, name := range []string{"first", "second"} {
		h := lan.Host(name)
		start := time.Now()
		env := testenv.StartAvahi(t, h)
		t.Logf("StartAvahi on %s took %v", name, time.Since(start))

		start = time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		browse := h.Command(ctx, "avahi-browse", "-a", "-t", "-p", "-r")
		browse.Env = append(os.Environ(), env...)
		out, err := browse.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("avahi-browse -a -t -p -r on %s: %v: %s", name, err, out)
		}
		t.Logf("avahi-browse on %s took %v", name, time.Since(start))
		// Browsing makes avahi ask the LAN which services exist.
		expectDatagram(t, listenerHears, "listener", h.IP, "")
	}

	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mounts), "parley-avahi") {
		t.Error("avahi-daemon's private /run is mounted in the root mount namespace")
	}
	sniffer.check(t)
}

// output runs a command in a host and returns its trimmed output.
func output(t *testing.T, h *testenv.Host, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := h.Command(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s in %s: %v: %s", name, strings.Join(args, " "), h.Name, err, out)
	}
	return strings.TrimSpace(string(out))
}

func ping(t *testing.T, from *testenv.Host, ip string) error {
	t.Helper()
	testenv.RequireTool(t, "ping", "iputils-ping")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := from.Command(ctx, "ping", "-c1", "-W2", ip).CombinedOutput(); err != nil {
		return fmt.Errorf("ping %s from %s: %w: %s", ip, from.Name, err, out)
	}
	return nil
}

// helper is the test binary as a multicast helper in a host.
func helper(ctx context.Context, t *testing.T, h *testenv.Host, role string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := h.Command(ctx, self, "-test.run=^$")
	cmd.Env = append(os.Environ(), multicastEnv+"="+role)
	cmd.WaitDelay = 2 * time.Second
	return cmd
}

func send(t *testing.T, from *testenv.Host, payload string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := helper(ctx, t, from, "send "+payload).CombinedOutput(); err != nil {
		t.Fatalf("send multicast from %s: %v: %s", from.Name, err, out)
	}
}

// startReceiver listens for mDNS datagrams in a host until the test ends;
// the channel carries each as "<source> <quoted payload>".
func startReceiver(t *testing.T, h *testenv.Host) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := helper(ctx, t, h, "receive "+h.Link)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start a multicast receiver in %s: %v", h.Name, err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		close(done)
		cancel()
		_ = cmd.Wait()
	})
	ready := make(chan struct{})
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			if scanner.Text() == "ready" {
				close(ready)
				continue
			}
			select {
			case lines <- scanner.Text():
			case <-done:
				return
			}
		}
	}()
	select {
	case <-ready:
		return lines
	case <-lines: // closed before any datagram: the receiver exited
	case <-time.After(10 * time.Second):
	}
	cancel()
	_ = cmd.Wait() // after which stderr is complete
	t.Fatalf("the multicast receiver in %s did not start: %s", h.Name, stderr.String())
	return nil
}

// expectDatagram waits up to 5 s for a datagram from an address whose
// payload contains a string, skipping others.
func expectDatagram(t *testing.T, lines <-chan string, host, from, contains string) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("%s stopped listening", host)
			}
			source, payload, _ := strings.Cut(line, " ")
			if source == from && strings.Contains(payload, contains) {
				return
			}
		case <-timeout:
			t.Fatalf("%s heard no datagram from %s containing %q in 5 s", host, from, contains)
		}
	}
}

// rootSniffer watches every IPv4 packet on every interface of the
// namespace the test runs in, through a packet socket. Listening on
// 224.0.0.251:5353 instead would mean joining the group, which sends an
// IGMP report to the real network; a packet socket sends nothing, and
// sees packets for any address and port.
type rootSniffer struct {
	fd     int
	subnet netip.Prefix
	stop   chan struct{}
	done   chan struct{}

	mu      sync.Mutex
	leaks   []string
	markers map[string]bool
	err     error
}

// sniffRootNamespace starts watching for packets from subnet, or carrying
// a probe, and waits until it sees packets at all.
func sniffRootNamespace(t *testing.T, subnet string) *rootSniffer {
	t.Helper()
	ethernetIPv4 := make([]byte, 2)
	binary.BigEndian.PutUint16(ethernetIPv4, syscall.ETH_P_IP)
	protocol := int(binary.NativeEndian.Uint16(ethernetIPv4))
	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_DGRAM, protocol)
	if err != nil {
		t.Fatalf("open a packet socket in the root namespace: %v", err)
	}
	// A short timeout lets the loop notice the end of the test; a large
	// buffer keeps a burst of this machine's own traffic from hiding a leak.
	if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &syscall.Timeval{Usec: 200_000}); err != nil {
		t.Fatalf("set the packet socket's timeout: %v", err)
	}
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<20); err != nil {
		t.Fatalf("size the packet socket's buffer: %v", err)
	}
	s := &rootSniffer{fd: fd, subnet: netip.MustParsePrefix(subnet), stop: make(chan struct{}), done: make(chan struct{}), markers: map[string]bool{}}
	go s.run()
	t.Cleanup(func() {
		close(s.stop)
		<-s.done
		_ = syscall.Close(fd)
	})
	s.sync(t)
	return s
}

func (s *rootSniffer) run() {
	defer close(s.done)
	packet := make([]byte, 1<<16)
	for {
		select {
		case <-s.stop:
			return
		default:
		}
		n, _, err := syscall.Recvfrom(s.fd, packet, 0)
		if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
			return
		}
		s.inspect(packet[:n])
	}
}

func (s *rootSniffer) inspect(packet []byte) {
	if len(packet) < 20 || packet[0]>>4 != 4 {
		return
	}
	source := netip.AddrFrom4([4]byte(packet[12:16]))
	destination := netip.AddrFrom4([4]byte(packet[16:20]))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.subnet.Contains(source) || bytes.Contains(packet, []byte(probePrefix)) {
		s.leaks = append(s.leaks, fmt.Sprintf("%d bytes from %s to %s, protocol %d", len(packet), source, destination, packet[9]))
	}
	for marker := range s.markers {
		if bytes.Contains(packet, []byte(marker)) {
			s.markers[marker] = true
		}
	}
}

// sync sends a marker over loopback and waits until the sniffer sees it:
// the sniffer is live, and has looked at what came before.
func (s *rootSniffer) sync(t *testing.T) {
	t.Helper()
	marker := fmt.Sprintf("parley-root-marker %d", time.Now().UnixNano())
	s.mu.Lock()
	s.markers[marker] = false
	s.mu.Unlock()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.WriteTo([]byte(marker), conn.LocalAddr()); err != nil {
		t.Fatalf("send a marker over loopback: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		seen, err := s.markers[marker], s.err
		s.mu.Unlock()
		if err != nil {
			t.Fatalf("the root namespace's packet socket failed: %v", err)
		}
		if seen {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the root namespace's packet socket saw no marker over loopback in 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// check fails the test if any packet from the LAN reached the root
// namespace.
func (s *rootSniffer) check(t *testing.T) {
	t.Helper()
	s.sync(t)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.leaks) > 0 {
		t.Errorf("the root namespace saw %d packets from the LAN:\n%s", len(s.leaks), strings.Join(s.leaks, "\n"))
	}
}
