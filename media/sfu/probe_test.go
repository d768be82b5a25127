package sfu

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// probeClient is the browser's side of a connection test: a peer
// connection with one data channel and its complete offer.
type probeClient struct {
	pc      *webrtc.PeerConnection
	channel *webrtc.DataChannel
	offer   string
	echoes  chan string
}

func newProbeClient(t *testing.T, api *webrtc.API) *probeClient {
	t.Helper()
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	channel, err := pc.CreateDataChannel("test", nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &probeClient{pc: pc, channel: channel, echoes: make(chan string, 16)}
	channel.OnMessage(func(message webrtc.DataChannelMessage) { c.echoes <- string(message.Data) })
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	c.offer = pc.LocalDescription().SDP
	return c
}

// candidateTransports lists the transports of a description's candidates.
func candidateTransports(description string) []string {
	var transports []string
	for line := range strings.SplitSeq(description, "\r\n") {
		if value, ok := strings.CutPrefix(line, "a=candidate:"); ok {
			transports = append(transports, strings.ToLower(strings.Fields(value)[2]))
		}
	}
	return transports
}

func waitProbesEnded(t *testing.T) {
	t.Helper()
	waitFor(t, 10*time.Second, "every connection test to end", func() bool { return len(probeSlots) == 0 })
}

// TestProbeEchoesOverEachTransport connects a client that speaks UDP and
// TCP (it offers UDP candidates; pion makes active TCP ones when it sees
// the SFU's) once per transport: each time the answer names only that
// transport, the connection uses it on the SFU's shared socket, and the
// data channel echoes. Closing the client ends the probe.
func TestProbeEchoesOverEachTransport(t *testing.T) {
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
	api := newClientAPI(t, webrtc.NetworkTypeUDP4, webrtc.NetworkTypeTCP4)

	for _, c := range []struct {
		transport string
		port      int
	}{
		{"udp", udp.LocalAddr().(*net.UDPAddr).Port},
		{"tcp", tcp.Addr().(*net.TCPAddr).Port},
	} {
		client := newProbeClient(t, api)
		answer, err := engine.Probe(client.offer, c.transport, 30*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", c.transport, err)
		}
		transports := candidateTransports(answer)
		if len(transports) == 0 {
			t.Fatalf("%s: the answer has no candidates:\n%s", c.transport, answer)
		}
		for _, transport := range transports {
			if transport != c.transport {
				t.Errorf("%s: the answer has a %s candidate", c.transport, transport)
			}
		}
		if err := client.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
			t.Fatal(err)
		}
		opened := make(chan struct{})
		client.channel.OnOpen(func() { close(opened) })
		select {
		case <-opened:
		case <-time.After(15 * time.Second):
			t.Fatalf("%s: the data channel did not open", c.transport)
		}
		if err := client.channel.SendText("ping " + c.transport); err != nil {
			t.Fatal(err)
		}
		select {
		case echo := <-client.echoes:
			if echo != "ping "+c.transport {
				t.Errorf("%s: echo %q", c.transport, echo)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no echo", c.transport)
		}
		if protocol, port := selectedRemote(t, client.pc); protocol != c.transport || port != c.port {
			t.Errorf("the %s test reaches the SFU at %s port %d, want %s port %d", c.transport, protocol, port, c.transport, c.port)
		}
		if err := client.pc.Close(); err != nil {
			t.Fatal(err)
		}
		waitProbesEnded(t)
	}
}

// TestProbeEndsAfterItsTimeout leaves a probe's offerer silent: the probe
// gives its slot back once its time is up.
func TestProbeEndsAfterItsTimeout(t *testing.T) {
	engine := newTestSFU(t)
	client := newProbeClient(t, newClientAPI(t))
	if _, err := engine.Probe(client.offer, "udp", 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if len(probeSlots) != 1 {
		t.Errorf("%d probes running, want 1", len(probeSlots))
	}
	waitProbesEnded(t)
}

// TestProbeLimit refuses a probe while the maximum run, and any probe on
// a closed SFU.
func TestProbeLimit(t *testing.T) {
	engine := newTestSFU(t)
	client := newProbeClient(t, newClientAPI(t))
	for range maxProbes {
		probeSlots <- struct{}{}
	}
	_, err := engine.Probe(client.offer, "udp", time.Second)
	for range maxProbes {
		<-probeSlots
	}
	if !errors.Is(err, ErrTooManyProbes) {
		t.Errorf("with %d probes running: %v, want ErrTooManyProbes", maxProbes, err)
	}
	if err := engine.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := engine.Probe(client.offer, "udp", time.Second); !errors.Is(err, ErrClosed) {
		t.Errorf("on a closed SFU: %v, want ErrClosed", err)
	}
	if len(probeSlots) != 0 {
		t.Errorf("refused probes hold %d slots", len(probeSlots))
	}
}

// TestProbeRefusesBadArguments: an unknown transport, text that is not SDP
// and an offer with media are invalid, and hold no slot.
func TestProbeRefusesBadArguments(t *testing.T) {
	engine := newTestSFU(t)
	client := newProbeClient(t, newClientAPI(t))
	media := "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\n"
	for _, c := range []struct{ name, offer, transport string }{
		{"unknown transport", client.offer, "sctp"},
		{"no transport", client.offer, ""},
		{"not SDP", "hello", "udp"},
		{"empty", "", "tcp"},
		{"no media", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", "udp"},
		{"audio", media, "udp"},
		{"no ICE credentials", strings.ReplaceAll(client.offer, "a=ice-ufrag:", "a=x-ufrag:"), "udp"},
	} {
		if _, err := engine.Probe(c.offer, c.transport, time.Second); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", c.name, err)
		}
	}
	waitProbesEnded(t)
}

func TestKeepCandidates(t *testing.T) {
	description := "v=0\r\n" +
		"a=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\n" +
		"a=candidate:2 1 tcp 1671430143 127.0.0.1 5000 typ host tcptype passive\r\n" +
		"a=candidate:3 1 UDP 1694498815 203.0.113.1 5000 typ srflx raddr 0.0.0.0 rport 5000\r\n" +
		"a=candidate:broken\r\n" +
		"a=end-of-candidates\r\n"
	want := "v=0\r\n" +
		"a=candidate:2 1 tcp 1671430143 127.0.0.1 5000 typ host tcptype passive\r\n" +
		"a=end-of-candidates\r\n"
	if got := keepCandidates(description, "tcp"); got != want {
		t.Errorf("tcp: got\n%s\nwant\n%s", got, want)
	}
	if got := candidateTransports(keepCandidates(description, "udp")); strings.Join(got, " ") != "udp udp" {
		t.Errorf("udp keeps %v", got)
	}
}

// TestCloseEndsProbes closes an SFU while a probe with a long timeout
// runs: Close ends it and returns once it is gone.
func TestCloseEndsProbes(t *testing.T) {
	engine := newTestSFU(t)
	client := newProbeClient(t, newClientAPI(t))
	if _, err := engine.Probe(client.offer, "udp", time.Hour); err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		_ = engine.Close()
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for the probe's timeout")
	}
	if len(probeSlots) != 0 {
		t.Errorf("%d probes still hold a slot after Close", len(probeSlots))
	}
}
