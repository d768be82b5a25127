package sip

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// fakeMedia stands in for media/phone: these tests are about the
// dialogue, which never sees a packet.
type fakeMedia struct{}

func (fakeMedia) StartCall(MediaConfig) (MediaCall, error) {
	return &fakeCall{digits: make(chan byte, 8)}, nil
}

type fakeCall struct{ digits chan byte }

func (c *fakeCall) LocalPort() int                                       { return 40000 }
func (c *fakeCall) Play(context.Context, string) error                   { return nil }
func (c *fakeCall) Digits() <-chan byte                                  { return c.digits }
func (c *fakeCall) PushDigit(key byte)                                   { c.digits <- key }
func (c *fakeCall) Close()                                               {}
func (c *fakeCall) Negotiate(netip.AddrPort, string, uint8, uint8) error { return nil }
func (c *fakeCall) VideoPort() int                                       { return 0 }
func (c *fakeCall) NegotiateVideo(netip.AddrPort, uint8)                 {}
func (c *fakeCall) DropVideo()                                           {}
func (c *fakeCall) RequestKeyframe()                                     {}
func (c *fakeCall) Join(context.Context, string, JoinRequest) (InConference, error) {
	return &fakeInside{done: make(chan struct{})}, nil
}

type fakeInside struct{ done chan struct{} }

func (f *fakeInside) Done() <-chan struct{} { return f.done }
func (f *fakeInside) Leave()                {}

// startGateway runs a gateway on loopback with fake media.
func startGateway(t *testing.T, cfg Config) int {
	t.Helper()
	_, port := startGatewayServer(t, cfg)
	return port
}

// startGatewayServer is startGateway that also returns the gateway.
func startGatewayServer(t *testing.T, cfg Config) (*Server, int) {
	t.Helper()
	cfg.Media, cfg.AnswerAfter = fakeMedia{}, time.Millisecond
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.ServeUDP(conn) }()
	t.Cleanup(func() {
		s.Close()
		conn.Close()
	})
	return s, conn.LocalAddr().(*net.UDPAddr).Port
}

// testPhone is a SIP phone made with sipgo: it calls, refreshes, and
// notes the BYEs it gets.
type testPhone struct {
	t       *testing.T
	dialogs *sipgo.DialogClientCache
	mu      sync.Mutex
	byes    []time.Time
}

func newTestPhone(t *testing.T) *testPhone {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := conn.LocalAddr().(*net.UDPAddr).Port
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("test phone"))
	if err != nil {
		t.Fatal(err)
	}
	server, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientPort(port))
	if err != nil {
		t.Fatal(err)
	}
	p := &testPhone{t: t, dialogs: sipgo.NewDialogClientCache(client, sip.ContactHeader{Address: sip.Uri{User: "phone", Host: "127.0.0.1", Port: port}})}
	server.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		p.mu.Lock()
		p.byes = append(p.byes, time.Now())
		p.mu.Unlock()
		_ = p.dialogs.ReadBye(req, tx)
	})
	go func() { _ = server.ServeUDP(conn) }()
	t.Cleanup(func() {
		ua.Close()
		conn.Close()
	})
	return p
}

const testOffer = "v=0\r\no=phone 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 41000 RTP/AVP 0\r\n"

func (p *testPhone) call(ctx context.Context, port int, headers ...sip.Header) *sipgo.DialogClientSession {
	p.t.Helper()
	headers = append(headers, sip.NewHeader("Content-Type", "application/sdp"))
	dialog, err := p.dialogs.Invite(ctx, sip.Uri{User: "4711", Host: "127.0.0.1", Port: port}, []byte(testOffer), headers...)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := dialog.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
		p.t.Fatal(err)
	}
	if err := dialog.Ack(ctx); err != nil {
		p.t.Fatal(err)
	}
	return dialog
}

func (p *testPhone) byeCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.byes)
}

// TestSessionTimerHangsUpWithoutRefresh: a phone that asked for a 3 s
// session timer and never refreshes is hung up after 2 s (the interval
// less a third); one that refreshes with UPDATE stays.
func TestSessionTimerHangsUpWithoutRefresh(t *testing.T) {
	port := startGateway(t, Config{MinSessionExpires: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	quiet := newTestPhone(t)
	started := time.Now()
	dialog := quiet.call(ctx, port, sip.NewHeader("Session-Expires", "3;refresher=uac"), sip.NewHeader("Supported", "timer"))
	se := dialog.InviteResponse.GetHeader("Session-Expires")
	if se == nil || !strings.HasPrefix(se.Value(), "3;refresher=uac") || dialog.InviteResponse.GetHeader("Require") == nil {
		t.Fatalf("the answer's session timer: %v, Require %v", se, dialog.InviteResponse.GetHeader("Require"))
	}
	for quiet.byeCount() == 0 {
		if time.Since(started) > 6*time.Second {
			t.Fatal("no BYE for a session that was not refreshed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if took := time.Since(started); took < 1500*time.Millisecond {
		t.Errorf("hung up after %s, before the session could expire", took)
	}

	talker := newTestPhone(t)
	dialog = talker.call(ctx, port, sip.NewHeader("Session-Expires", "3;refresher=uac"), sip.NewHeader("Supported", "timer"))
	for range 8 { // 4 s of refreshes every half second
		time.Sleep(500 * time.Millisecond)
		res, err := dialog.Do(ctx, sip.NewRequest(sip.UPDATE, dialog.InviteResponse.Contact().Address))
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("UPDATE: %v %v", res, err)
		}
	}
	if n := talker.byeCount(); n != 0 {
		t.Errorf("a refreshed session was hung up")
	}
	if err := dialog.Bye(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestSessionIntervalTooSmall: an interval below Min-SE gets 422 with it.
func TestSessionIntervalTooSmall(t *testing.T) {
	port := startGateway(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	phone := newTestPhone(t)
	dialog, err := phone.dialogs.Invite(ctx, sip.Uri{User: "4711", Host: "127.0.0.1", Port: port}, []byte(testOffer),
		sip.NewHeader("Content-Type", "application/sdp"), sip.NewHeader("Session-Expires", "30"))
	if err != nil {
		t.Fatal(err)
	}
	err = dialog.WaitAnswer(ctx, sipgo.AnswerOptions{})
	var response *sipgo.ErrDialogResponse
	if !errors.As(err, &response) || response.Res.StatusCode != 422 || response.Res.GetHeader("Min-SE") == nil ||
		response.Res.GetHeader("Min-SE").Value() != strconv.Itoa(int(DefaultMinSessionExpires.Seconds())) {
		t.Fatalf("a 30 s session timer got %v", err)
	}
}

// fakeAccounts knows one user, alice, with SIP password Desk-Phone-1.
type fakeAccounts struct{}

func (fakeAccounts) SIPUser(_ context.Context, login string) (SIPUser, error) {
	if login != "alice" {
		return SIPUser{}, errors.New("no such user")
	}
	return SIPUser{ID: 7, Login: "alice", DisplayName: "Alice", HA1: md5hex("alice:" + Realm + ":Desk-Phone-1")}, nil
}

// TestRegisteredPhoneThatGoesAwayIsUnregistered: a phone registers with
// digest; while it answers the keep-alive OPTIONS it stays registered,
// and once it is gone (three unanswered) it is not any more.
func TestRegisteredPhoneThatGoesAwayIsUnregistered(t *testing.T) {
	s, port := startGatewayServer(t, Config{Accounts: fakeAccounts{}, KeepAliveEvery: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.RunKeepAlive(ctx)

	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	phonePort := conn.LocalAddr().(*net.UDPAddr).Port
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	server, _ := sipgo.NewServer(ua)
	answered := make(chan struct{}, 100)
	server.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		answered <- struct{}{}
	})
	go func() { _ = server.ServeUDP(conn) }()
	client, _ := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientPort(phonePort))
	register := sip.NewRequest(sip.REGISTER, sip.Uri{Host: "127.0.0.1", Port: port})
	aor := sip.Uri{User: "alice", Host: "127.0.0.1"}
	register.AppendHeader(&sip.ToHeader{Address: aor})
	register.AppendHeader(&sip.ContactHeader{Address: sip.Uri{User: "alice", Host: "127.0.0.1", Port: phonePort}})
	res, err := client.Do(ctx, register)
	if err != nil || res.StatusCode != 401 {
		t.Fatalf("REGISTER without credentials: %v %v", res, err)
	}
	if res, err = client.DoDigestAuth(ctx, register, res, sipgo.DigestAuth{Username: "alice", Password: "Desk-Phone-1"}); err != nil || res.StatusCode != 200 {
		t.Fatalf("REGISTER with the SIP password: %v %v", res, err)
	}
	for range 3 {
		select {
		case <-answered:
		case <-time.After(5 * time.Second):
			t.Fatal("no keep-alive OPTIONS came")
		}
	}
	if _, ok := s.registrar.lookup("alice"); !ok {
		t.Fatal("a phone that answers was unregistered")
	}
	ua.Close()
	conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := s.registrar.lookup("alice"); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a phone that went away stayed registered")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
