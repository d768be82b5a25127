package discovery

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"
)

// mdnsGroup is the IPv4 mDNS multicast group and port (RFC 6762).
var mdnsGroup = &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353}

// listenForGoodbyes calls gone with the instance name of each Parley
// server that withdraws its announcement (a PTR record with TTL 0, RFC
// 6762 section 10.1), until ctx ends. zeroconf's browser drops those
// records without a word, and without this a stopped server would stay
// in the list until it expires.
func listenForGoodbyes(ctx context.Context, ifaces []net.Interface, gone func(instance string)) error {
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
		for _, instance := range withdrawn(buffer[:n]) {
			gone(instance)
		}
	}
}

// withdrawn reads an mDNS packet and returns the Parley instances it
// withdraws; nothing for anything else, malformed packets included.
func withdrawn(packet []byte) []string {
	var msg dns.Msg
	if err := msg.Unpack(packet); err != nil || !msg.Response {
		return nil
	}
	service := ServiceType + "." + domain
	var names []string
	for _, rr := range msg.Answer {
		ptr, ok := rr.(*dns.PTR)
		if !ok || ptr.Hdr.Ttl != 0 || !strings.EqualFold(ptr.Hdr.Name, service) {
			continue
		}
		if label, ok := strings.CutSuffix(ptr.Ptr, "."+service); ok && label != "" {
			names = append(names, unescapeLabel(label))
		}
	}
	return names
}
