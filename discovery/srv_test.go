package discovery

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func TestDomainOf(t *testing.T) {
	cases := []struct {
		input, domain string
		ok            bool
	}{
		{"example.test", "example.test", true},
		{"  Example.TEST. ", "example.test", true},
		{"alice@example.test", "example.test", true},
		{"Alice.Martin@Sub.Example.test", "sub.example.test", true},
		{"intranet", "intranet", true},
		{"example.test:8443", "", false},
		{"https://example.test/", "", false},
		{"192.0.2.7", "", false},
		{"alice@", "", false},
		{"", "", false},
		{"exa mple.test", "", false},
		{"-bad.test", "", false},
	}
	for _, c := range cases {
		domain, ok := DomainOf(c.input)
		if domain != c.domain || ok != c.ok {
			t.Errorf("DomainOf(%q) = %q, %v; want %q, %v", c.input, domain, ok, c.domain, c.ok)
		}
	}
}

// zone is what the test DNS server answers: SRV records by owner name.
type zone map[string][]*dns.SRV

// startDNS serves zone on a loopback UDP port and returns a resolver that
// asks only it.
func startDNS(t *testing.T, records zone) *net.Resolver {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		reply := new(dns.Msg)
		reply.SetReply(req)
		reply.Authoritative = true
		question := req.Question[0]
		found, known := records[strings.ToLower(question.Name)]
		switch {
		case !known:
			reply.Rcode = dns.RcodeNameError
		case question.Qtype == dns.TypeSRV:
			for _, rr := range found {
				reply.Answer = append(reply.Answer, rr)
			}
		}
		_ = w.WriteMsg(reply)
	})
	server := &dns.Server{PacketConn: conn, Handler: handler}
	started := make(chan struct{})
	server.NotifyStartedFunc = func() { close(started) }
	go func() { _ = server.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = server.Shutdown() })
	address := conn.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", address)
	}}
}

func srv(owner string, priority, weight, port uint16, target string) *dns.SRV {
	return &dns.SRV{Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: 60},
		Priority: priority, Weight: weight, Port: port, Target: target}
}

func TestTargetsFollowPriority(t *testing.T) {
	const owner = "_parley._tcp.example.test."
	resolver := startDNS(t, zone{owner: {
		srv(owner, 20, 0, 9443, "backup.example.test."),
		srv(owner, 10, 5, 8443, "meet.example.test."),
		srv(owner, 30, 0, 7443, "last.example.test."),
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Weights choose among equal priorities at random; priorities never
	// change the order, whatever the draw.
	for range 5 {
		targets, err := Targets(ctx, resolver, "example.test")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, target := range targets {
			got = append(got, target.Address())
		}
		want := "meet.example.test:8443 backup.example.test:9443 last.example.test:7443 example.test:8443"
		if strings.Join(got, " ") != want {
			t.Fatalf("targets = %v, want %s", got, want)
		}
		if !targets[0].FromSRV || targets[3].FromSRV {
			t.Fatalf("FromSRV wrong: %+v", targets)
		}
	}
}

func TestTargetsWeightsWithinPriority(t *testing.T) {
	const owner = "_parley._tcp.example.test."
	resolver := startDNS(t, zone{owner: {
		srv(owner, 10, 90, 8443, "heavy.example.test."),
		srv(owner, 10, 10, 8443, "light.example.test."),
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	first := map[string]int{}
	for range 200 {
		targets, err := Targets(ctx, resolver, "example.test")
		if err != nil {
			t.Fatal(err)
		}
		first[targets[0].Host]++
	}
	// 90:10 over 200 draws: the heavy target comes first far more often,
	// the light one still sometimes (the odds of either failing are
	// below one in a million).
	if first["heavy.example.test"] < 140 || first["light.example.test"] == 0 {
		t.Fatalf("first choices %v do not follow the weights 90:10", first)
	}
}

func TestTargetsWithoutRecordFallBack(t *testing.T) {
	resolver := startDNS(t, zone{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	targets, err := Targets(ctx, resolver, "norecord.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != 1 || targets[0].Address() != "norecord.test:8443" || targets[0].FromSRV {
		t.Fatalf("targets = %+v, want only the fallback norecord.test:8443", targets)
	}
	if got := NotFound("norecord.test").Error(); got != "no Parley server found for norecord.test" {
		t.Fatalf("message = %q", got)
	}
}

func TestTargetsServiceDeclaredAbsent(t *testing.T) {
	const owner = "_parley._tcp.example.test."
	resolver := startDNS(t, zone{owner: {srv(owner, 0, 0, 0, ".")}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	targets, err := Targets(ctx, resolver, "example.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != 1 || targets[0].FromSRV {
		t.Fatalf("targets = %+v, want only the fallback", targets)
	}
}

func TestTargetsCancelled(t *testing.T) {
	resolver := startDNS(t, zone{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Targets(ctx, resolver, "example.test"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
