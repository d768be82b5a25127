package phone

import (
	"bytes"
	"context"
	"math"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/parleyhq/parley/media/g711"
)

// fakePhone is the far end of a call: a UDP socket that sends and keeps
// what it gets.
type fakePhone struct {
	t    *testing.T
	conn *net.UDPConn
}

func newFakePhone(t *testing.T) *fakePhone {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &fakePhone{t: t, conn: conn}
}

func (p *fakePhone) addr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

func (p *fakePhone) send(to int, packet rtp.Packet) {
	raw, err := packet.Marshal()
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.conn.WriteToUDP(raw, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: to}); err != nil {
		p.t.Fatal(err)
	}
}

// receive collects the decoded audio of packets for d.
func (p *fakePhone) receive(d time.Duration) (samples []int16, packets int) {
	buf := make([]byte, 1500)
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		_ = p.conn.SetReadDeadline(deadline)
		n, _, err := p.conn.ReadFromUDP(buf)
		if err != nil {
			break
		}
		var packet rtp.Packet
		if err := packet.Unmarshal(buf[:n]); err != nil {
			p.t.Fatalf("the call sent a bad packet: %v", err)
		}
		if packet.PayloadType != 0 {
			p.t.Fatalf("the call sent payload type %d, want 0 (PCMU)", packet.PayloadType)
		}
		packets++
		samples = g711.Ulaw.Decode(samples, packet.Payload)
	}
	return samples, packets
}

func startCall(t *testing.T, remote netip.AddrPort) *Call {
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	call, err := Start(Config{Conn: conn, Remote: remote, Codec: "PCMU", PayloadType: 0, DTMFPayloadType: 101})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(call.Close)
	return call
}

func rms(samples []int16) float64 {
	var sum float64
	for _, s := range samples {
		sum += float64(s) * float64(s)
	}
	return math.Sqrt(sum / float64(max(len(samples), 1)))
}

func TestPromptIsHeardThenSilence(t *testing.T) {
	phone := newFakePhone(t)
	call := startCall(t, phone.addr())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	before, packets := phone.receive(200 * time.Millisecond)
	if packets < 5 || rms(before) > 10 {
		t.Fatalf("before any prompt: %d packets of level %.0f, want several of silence", packets, rms(before))
	}
	played := make(chan error, 1)
	go func() { played <- call.Play(ctx, "goodbye") }()
	speech, _ := phone.receive(800 * time.Millisecond)
	if rms(speech) < 300 {
		t.Errorf("the prompt reached the phone at level %.0f", rms(speech))
	}
	if err := <-played; err != nil {
		t.Fatal(err)
	}
	after, _ := phone.receive(200 * time.Millisecond)
	if rms(after) > 10 {
		t.Errorf("after the prompt the phone hears level %.0f", rms(after))
	}
	if err := call.Play(ctx, "no-such-prompt"); err == nil {
		t.Error("an unknown prompt played")
	}
}

func TestKeysFromEventsAndINFO(t *testing.T) {
	phone := newFakePhone(t)
	call := startCall(t, phone.addr())
	// "4" then "#", each sent as three packets (start, and the end
	// retransmitted), as phones do; a repeated "4" later is a new key, and
	// so is "#" again with the same timestamp (a sender replaying a
	// recording, as SIPp does).
	timestamp := uint32(1000)
	for i, key := range []byte{4, 11, 11, 4} {
		if i == 2 {
			timestamp -= 800
		}
		for _, end := range []bool{false, true, true} {
			flags := byte(10)
			if end {
				flags |= 0x80
			}
			phone.send(call.LocalPort(), rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, SequenceNumber: uint16(10 + i*3), Timestamp: timestamp, SSRC: 7},
				Payload: []byte{key, flags, 0, 160}})
		}
		timestamp += 800
	}
	var got []byte
	for len(got) < 5 {
		if len(got) == 4 {
			call.PushDigit('9')
		}
		select {
		case key := <-call.Digits():
			got = append(got, key)
		case <-time.After(2 * time.Second):
			t.Fatalf("keys so far %q, want \"4##49\"", got)
		}
	}
	if string(got) != "4##49" {
		t.Errorf("keys %q, want \"4##49\"", got)
	}
}

func TestSymmetricRTPAnswersWherePacketsComeFrom(t *testing.T) {
	phone := newFakePhone(t)
	// The SDP names a port nobody listens on (a phone behind NAT).
	call := startCall(t, netip.MustParseAddrPort("127.0.0.1:9"))
	phone.send(call.LocalPort(), rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 1, Timestamp: 160, SSRC: 9}, Payload: make([]byte, 160)})
	if _, packets := phone.receive(300 * time.Millisecond); packets < 5 {
		t.Fatalf("the phone got %d packets after it sent one, want the call's audio", packets)
	}
	// Someone else's packets do not move the call.
	other := newFakePhone(t)
	other.send(call.LocalPort(), rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 2, Timestamp: 320, SSRC: 10}, Payload: make([]byte, 160)})
	if _, packets := other.receive(200 * time.Millisecond); packets != 0 {
		t.Errorf("a stranger's packet took %d packets of the call", packets)
	}
}

func TestPromptsAreReadable(t *testing.T) {
	for _, name := range []string{"welcome", "pin", "not-found", "wrong-pin", "lobby", "entering", "refused", "locked", "ended", "not-started", "full", "unavailable", "goodbye"} {
		samples, err := loadPrompt(name)
		if err != nil {
			t.Fatal(err)
		}
		if seconds := float64(len(samples)) / conferenceRate; seconds < 0.5 || seconds > 10 {
			t.Errorf("prompt %s lasts %.1f s", name, seconds)
		}
	}
}

func FuzzReadWAV(f *testing.F) {
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x80\x3e\x00\x00\x00\x7d\x00\x00\x02\x00\x10\x00data\x02\x00\x00\x00\x01\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		samples, _, err := readWAV(data)
		if err == nil && len(samples)*2 > len(data) {
			t.Fatalf("%d samples from %d bytes", len(samples), len(data))
		}
	})
}

func FuzzTelephoneEvent(f *testing.F) {
	f.Add([]byte{11, 0x8a, 0, 160})
	f.Fuzz(func(t *testing.T, payload []byte) {
		if key, _, ok := telephoneEvent(payload); ok && key == 0 {
			t.Fatal("a key of zero")
		}
	})
}

// TestSRTPBothWays: with SDES keys, what the call sends decrypts with its
// key, what the phone sends with the phone's key is taken, and a packet
// in the clear (or under another key) is dropped.
func TestSRTPBothWays(t *testing.T) {
	phone := newFakePhone(t)
	ours, theirs := bytes.Repeat([]byte{1}, 30), bytes.Repeat([]byte{2}, 30)
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	call, err := Start(Config{Conn: conn, Remote: phone.addr(), Codec: "PCMU", DTMFPayloadType: 101,
		SRTP: &SRTP{Suite: "AES_CM_128_HMAC_SHA1_80", Local: ours, Remote: theirs}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(call.Close)
	profile := srtp.ProtectionProfileAes128CmHmacSha1_80
	decrypt, err := srtp.CreateContext(ours[:16], ours[16:], profile)
	if err != nil {
		t.Fatal(err)
	}
	encrypt, err := srtp.CreateContext(theirs[:16], theirs[16:], profile)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	_ = phone.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, _, err := phone.conn.ReadFromUDP(buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decrypt.DecryptRTP(nil, buf[:n], nil); err != nil {
		t.Fatalf("the call's packet does not decrypt with its key: %v", err)
	}
	var clear rtp.Packet
	if err := clear.Unmarshal(buf[:n]); err == nil && len(clear.Payload) == 160 {
		t.Error("the call sent its audio in the clear")
	}

	send := func(sequence uint16, key byte, sealed bool) {
		raw, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, SequenceNumber: sequence, Timestamp: uint32(sequence) * 800, SSRC: 5},
			Payload: []byte{key, 0x8a, 0, 160}}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if sealed {
			if raw, err = encrypt.EncryptRTP(nil, raw, nil); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := phone.conn.WriteToUDP(raw, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: call.LocalPort()}); err != nil {
			t.Fatal(err)
		}
	}
	send(1, 3, false) // in the clear: dropped
	send(2, 7, true)
	select {
	case key := <-call.Digits():
		if key != '7' {
			t.Errorf("key %q came through, want only the encrypted 7", key)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the encrypted key never came")
	}
	if dropped := call.Stats().Dropped; dropped < 1 {
		t.Errorf("%d packets dropped, want the one in the clear", dropped)
	}
}
