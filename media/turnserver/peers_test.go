package turnserver

import (
	"net"
	"net/netip"
	"testing"
)

func TestPeerPolicy(t *testing.T) {
	relay := netip.MustParseAddr("192.0.2.10")
	policy := newPeerPolicy(false, []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("fe80::5/128")}, []netip.Addr{relay}, nil)
	open := newPeerPolicy(true, nil, []netip.Addr{relay}, nil)
	for _, c := range []struct {
		peer      string
		permitted bool
	}{
		{"203.0.113.7", true},
		{"2001:db8::7", true},
		{"10.1.2.3", true},  // private, but not this machine nor its link
		{"127.0.0.1", true}, // in AllowedPeers
		{"fe80::5", true},   // in AllowedPeers
		{"127.0.0.2", false},
		{"::1", false},
		{"::ffff:127.0.0.2", false},
		{"169.254.169.254", false}, // cloud metadata service
		{"fe80::1", false},
		{"0.0.0.0", false},
		{"0.1.2.3", false},
		{"::", false},
		{"224.0.0.251", false},
		{"ff02::1", false},
		{"255.255.255.255", false},
		{"192.0.2.10", false}, // the relay address
		{"::ffff:192.0.2.10", false},
	} {
		ip := net.ParseIP(c.peer)
		if ok, reason := policy.permit(ip); ok != c.permitted {
			t.Errorf("permit(%s) = %v (%s), want %v", c.peer, ok, reason, c.permitted)
		}
		if ok, _ := open.permit(ip); !ok {
			t.Errorf("with AllowPrivatePeers, permit(%s) = false", c.peer)
		}
	}
	if ok, _ := policy.permit(net.IP{1, 2, 3}); ok {
		t.Error("permit(invalid IP) = true")
	}

	// Every address of this machine is refused.
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range addrs {
		ip := addr.(*net.IPNet).IP
		if peer, _ := netip.AddrFromSlice(ip); peer.Unmap() == netip.MustParseAddr("127.0.0.1") {
			continue // in AllowedPeers
		}
		if ok, _ := policy.permit(ip); ok {
			t.Errorf("permit(%v), an address of this machine, = true", ip)
		}
	}
}
