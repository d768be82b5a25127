package sfu

import (
	"net"
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
