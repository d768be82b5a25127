package discovery

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"
)

// mdnsGroup is the IPv4 mDNS multicast group and port (RFC 6762).
var mdnsGroup = &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353}

// listenForGoodbyes follows the Parley instances named in mDNS traffic
// until ctx ends: heard(instance, true) for one that withdraws its
// announcement (a PTR record with TTL 0, RFC 6762 section 10.1),
// heard(instance, false) for one that announces or probes. zeroconf's
// browser drops goodbyes without a word, and without this a stopped
// server would stay in the list until it expires.
func listenForGoodbyes(ctx context.Context, ifaces []net.Interface, heard func(instance string, gone bool)) error {
	conn, err := net.ListenMulticastUDP("udp4", &ifaces[0], mdnsGroup)
	if err != nil {
		return fmt.Errorf("listen for goodbyes on %s: %w", ifaces[0].Name, err)
	}
	group := ipv4.NewPacketConn(conn)
	for i := range ifaces[1:] {
		if err := group.JoinGroup(&ifaces[1+i], &net.UDPAddr{IP: mdnsGroup.IP}); err != nil {
			conn.Close()
			return fmt.Errorf("listen for goodbyes on %s: %w", ifaces[1+i].Name, err)
		}
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	buffer := make([]byte, 9000)
	for {
		n, _, err := conn.ReadFromUDP(buffer)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("listen for goodbyes: %w", err)
		}
		gone, alive := instancesIn(buffer[:n])
		for _, instance := range gone {
			heard(instance, true)
		}
		for _, instance := range alive {
			heard(instance, false)
		}
	}
}

// instancesIn reads an mDNS packet and returns the Parley instances it
// withdraws and those it announces or probes for; nothing for anything
// else, malformed packets included.
func instancesIn(packet []byte) (gone, alive []string) {
	var msg dns.Msg
	if err := msg.Unpack(packet); err != nil {
		return nil, nil
	}
	service := ServiceType + "." + domain
	instanceOf := func(name string) (string, bool) {
		label, ok := strings.CutSuffix(name, "."+service)
		if !ok || label == "" || strings.HasPrefix(label, "_") {
			return "", false
		}
		return unescapeLabel(label), true
	}
	for _, section := range [][]dns.RR{msg.Answer, msg.Ns, msg.Extra} {
		for _, rr := range section {
			name := rr.Header().Name
			if ptr, ok := rr.(*dns.PTR); ok {
				if !strings.EqualFold(name, service) {
					continue
				}
				name = ptr.Ptr
			}
			instance, ok := instanceOf(name)
			if !ok {
				continue
			}
			if rr.Header().Ttl == 0 {
				if msg.Response && !slices.Contains(gone, instance) {
					gone = append(gone, instance)
				}
			} else if !slices.Contains(alive, instance) {
				alive = append(alive, instance)
			}
		}
	}
	return gone, alive
}
