package sfu

import (
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// TestOnePortMedia gives the SFU one UDP socket and one ICE-TCP listener:
// a client that only speaks UDP and one that only speaks TCP both reach it
// there, and media flows both ways.
func TestOnePortMedia(t *testing.T) {
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	engine, err := New(Config{IncludeLoopback: true, Logger: testLogger(), UDP: udp, TCP: tcp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = engine.Close() })
	room := engine.Room("one-port")
	alice := joinClientWith(t, room, "alice", newClientAPI(t, webrtc.NetworkTypeUDP4))
	bob := joinClientWith(t, room, "bob", newClientAPI(t, webrtc.NetworkTypeTCP4))
	alice.publish()
	bob.publish()
	alice.waitPackets("bob", SourceCamera, 20)
	bob.waitPackets("alice", SourceCamera, 20)

	for _, c := range []struct {
		client   *testClient
		protocol string
		port     int
	}{
		{alice, "udp", udp.LocalAddr().(*net.UDPAddr).Port},
		{bob, "tcp", tcp.Addr().(*net.TCPAddr).Port},
	} {
		for _, pc := range []*webrtc.PeerConnection{c.client.publishPC, c.client.subscribePC} {
			protocol, port := selectedRemote(t, pc)
			if protocol != c.protocol || port != c.port {
				t.Errorf("%s reaches the SFU at %s port %d, want %s port %d", c.client.id, protocol, port, c.protocol, c.port)
			}
		}
	}
	if err := engine.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if again, err := net.ListenPacket("udp4", udp.LocalAddr().String()); err != nil {
		t.Errorf("the SFU kept its UDP port after Close: %v", err)
	} else {
		again.Close()
	}
}

// selectedRemote is the protocol and port of the remote candidate of a
// connection's selected pair.
func selectedRemote(t *testing.T, pc *webrtc.PeerConnection) (protocol string, port int) {
	t.Helper()
	var selected *webrtc.ICECandidatePair
	waitFor(t, 10*time.Second, "a selected candidate pair", func() bool {
		pair, err := pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
		selected = pair
		return err == nil && pair != nil
	})
	return selected.Remote.Protocol.String(), int(selected.Remote.Port)
}

// TestExternalAddressAndPortRange gives the SFU a UDP port range and an
// external address: its host candidates take ports in the range, and the
// external address comes as a server-reflexive candidate with them.
func TestExternalAddressAndPortRange(t *testing.T) {
	external := netip.MustParseAddr("198.51.100.77")
	engine, err := New(Config{IncludeLoopback: true, Logger: testLogger(), UDPPortMin: 47000, UDPPortMax: 47099,
		ExternalAddresses: []netip.Addr{external}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = engine.Close() })
	alice := joinClient(t, engine.Room("range"), "alice")
	alice.publish()
	var lines []string
	waitFor(t, 10*time.Second, "a server-reflexive candidate", func() bool {
		alice.mu.Lock()
		lines = append(lines[:0], alice.candidates...)
		alice.mu.Unlock()
		return slices.ContainsFunc(lines, func(line string) bool { return strings.Contains(line, " typ srflx") })
	})
	for _, line := range lines {
		fields := strings.Fields(line)
		if len(fields) < 8 || !strings.EqualFold(fields[2], "udp") {
			continue
		}
		port, _ := strconv.Atoi(fields[5])
		if port < 47000 || port > 47099 {
			t.Errorf("candidate outside the port range: %s", line)
		}
		if fields[7] == "srflx" && fields[4] != external.String() {
			t.Errorf("a server-reflexive candidate that is not the external address: %s", line)
		}
	}
}
