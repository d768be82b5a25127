package turnserver

import (
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// interfaceRereadInterval is how long the machine's interface addresses
// are trusted: they change (DHCP, VPNs), but permission requests come in
// bursts and listing the interfaces is a system call.
const interfaceRereadInterval = 5 * time.Second

var (
	thisNetwork      = netip.MustParsePrefix("0.0.0.0/8") // "this host on this network", reaches the host itself
	limitedBroadcast = netip.MustParseAddr("255.255.255.255")
)

// peerPolicy decides which peers clients may relay to. pion consults it
// for CreatePermission and ChannelBind; without a permission nothing is
// relayed to or from a peer.
type peerPolicy struct {
	allowPrivate bool
	allowed      []netip.Prefix
	fixed        []netip.Addr // the relay and listen addresses
	// mediaPort, when set, opens this machine's own addresses (loopback
	// included) to relaying on its media ports, and on those only: the
	// permission pion asks for covers an IP, so the relayed sockets check
	// the port of every packet (guardedPacketConn).
	mediaPort func(port int) bool

	mu             sync.Mutex
	interfaceAddrs []netip.Addr
	readAt         time.Time
}

func newPeerPolicy(allowPrivate bool, allowed []netip.Prefix, fixed []netip.Addr, mediaPort func(int) bool) *peerPolicy {
	return &peerPolicy{allowPrivate: allowPrivate, allowed: allowed, fixed: fixed, mediaPort: mediaPort}
}

// ownMediaOnly reports whether packets to peer must go to a media port:
// it is this machine, opened to relaying for its media server only.
func (p *peerPolicy) ownMediaOnly(peer netip.Addr) bool {
	if p.mediaPort == nil || p.allowPrivate || slices.ContainsFunc(p.allowed, func(prefix netip.Prefix) bool { return prefix.Contains(peer) }) {
		return false
	}
	if peer.IsLoopback() || slices.Contains(p.fixed, peer) {
		return true
	}
	own, err := p.isInterfaceAddr(peer)
	return own || err != nil
}

// permit reports whether clients may relay to peerIP, and if not why.
func (p *peerPolicy) permit(peerIP net.IP) (ok bool, reason string) {
	peer, valid := netip.AddrFromSlice(peerIP)
	if !valid {
		return false, "not an IP address"
	}
	// An IPv4-mapped IPv6 address reaches the IPv4 host.
	peer = peer.Unmap()
	if p.allowPrivate || slices.ContainsFunc(p.allowed, func(prefix netip.Prefix) bool { return prefix.Contains(peer) }) {
		return true, ""
	}
	if p.mediaPort != nil && (peer.IsLoopback() || slices.Contains(p.fixed, peer)) {
		return true, "" // the media ports only
	}
	switch {
	case peer.IsLoopback():
		return false, "loopback"
	case peer.IsLinkLocalUnicast(), peer.IsLinkLocalMulticast():
		return false, "link-local"
	case peer.IsUnspecified(), thisNetwork.Contains(peer):
		return false, "unspecified"
	case peer.IsMulticast(), peer == limitedBroadcast:
		return false, "multicast or broadcast"
	case slices.Contains(p.fixed, peer):
		return false, "this server's address"
	}
	own, err := p.isInterfaceAddr(peer)
	switch {
	case err != nil:
		// Fail closed: the peer may be this machine.
		return false, "cannot list this server's addresses: " + err.Error()
	case own && p.mediaPort == nil:
		return false, "this server's address"
	}
	return true, ""
}

func (p *peerPolicy) isInterfaceAddr(peer netip.Addr) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.readAt) > interfaceRereadInterval {
		addrs, err := net.InterfaceAddrs()
		if err != nil {
			return false, err
		}
		p.interfaceAddrs = p.interfaceAddrs[:0]
		for _, addr := range addrs {
			if prefix, err := netip.ParsePrefix(addr.String()); err == nil {
				p.interfaceAddrs = append(p.interfaceAddrs, prefix.Addr().Unmap())
			}
		}
		p.readAt = time.Now()
	}
	return slices.Contains(p.interfaceAddrs, peer), nil
}
