package testenv

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// StartDNS runs a DNS server on a loopback UDP port that answers with the
// records given as zone-file lines ("_parley._tcp.example.test. 60 IN SRV
// 10 5 8443 meet.example.test."), NXDOMAIN for names it has none for, and
// returns a resolver that asks only it. It stops when the test ends.
func StartDNS(t testing.TB, zoneLines ...string) *net.Resolver {
	t.Helper()
	records := map[string][]dns.RR{}
	for _, line := range zoneLines {
		rr, err := dns.NewRR(line)
		if err != nil || rr == nil {
			t.Fatalf("StartDNS: record %q: %v", line, err)
		}
		name := strings.ToLower(rr.Header().Name)
		records[name] = append(records[name], rr)
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		reply := new(dns.Msg)
		reply.SetReply(req)
		reply.Authoritative = true
		if len(req.Question) == 1 {
			question := req.Question[0]
			found, known := records[strings.ToLower(question.Name)]
			if !known {
				reply.Rcode = dns.RcodeNameError
			}
			for _, rr := range found {
				if rr.Header().Rrtype == question.Qtype {
					reply.Answer = append(reply.Answer, rr)
				}
			}
		} else {
			reply.Rcode = dns.RcodeFormatError
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
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", address)
	}}
}
