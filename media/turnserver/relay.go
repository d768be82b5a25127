package turnserver

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"syscall"

	"github.com/pion/turn/v5"
)

// errTCPRelay refuses RFC 6062 TCP allocations; pion answers them with 508
// (Insufficient Capacity).
var errTCPRelay = errors.New("turn: TCP relays are not offered")

// relayPorts is the RelayAddressGenerator of the server: it opens the
// relayed UDP sockets of allocations on the relay address, inside the port
// range when one is set, and tracks them for shutdown.
//
// It opens UDP relays only. WebRTC relays UDP whatever transport the client
// reaches the server over, and a TCP relay would let clients open TCP
// connections from this host; it would also need SO_REUSEPORT listeners,
// which can silently share a port between two allocations.
type relayPorts struct {
	address  netip.Addr
	min, max uint16 // 0, 0: any ephemeral port
	sockets  *sockets
	peers    *peerPolicy
}

// Validate is called by pion on start; the configuration was checked by New.
func (r *relayPorts) Validate() error { return nil }

// AllocatePacketConn opens the relayed socket of a UDP allocation.
func (r *relayPorts) AllocatePacketConn(conf turn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	if conf.RequestedPort != 0 {
		// The port next to an EVEN-PORT reservation.
		if r.min != 0 && (conf.RequestedPort < int(r.min) || conf.RequestedPort > int(r.max)) {
			return nil, nil, fmt.Errorf("turn: requested relay port %d is outside %d-%d", conf.RequestedPort, r.min, r.max)
		}
		return r.listen(conf.Network, conf.RequestedPort)
	}
	if r.min == 0 {
		return r.listen(conf.Network, 0)
	}
	// Try every port once, from a random start: random so that relay ports
	// are not predictable, every port so that a nearly full range still
	// finds the free one.
	span := int(r.max) - int(r.min) + 1
	start := rand.IntN(span)
	for i := range span {
		conn, addr, err := r.listen(conf.Network, int(r.min)+(start+i)%span)
		if !errors.Is(err, syscall.EADDRINUSE) {
			return conn, addr, err
		}
	}
	return nil, nil, fmt.Errorf("turn: every relay port in %d-%d is in use", r.min, r.max)
}

func (r *relayPorts) listen(network string, port int) (net.PacketConn, net.Addr, error) {
	conn, err := net.ListenPacket(network, net.JoinHostPort(r.address.String(), strconv.Itoa(port)))
	if err != nil {
		return nil, nil, err
	}
	tracked, err := r.sockets.trackPacketConn(conn)
	if err != nil {
		return nil, nil, err
	}
	// Bound to the relay address itself, so the local address is the one
	// to advertise.
	return &guardedPacketConn{PacketConn: tracked, peers: r.peers}, conn.LocalAddr(), nil
}

// guardedPacketConn is a relayed socket that sends to this machine's own
// addresses on its media ports only.
type guardedPacketConn struct {
	net.PacketConn
	peers *peerPolicy
}

func (c *guardedPacketConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if udp, ok := addr.(*net.UDPAddr); ok {
		peer := udp.AddrPort()
		if c.peers.ownMediaOnly(peer.Addr().Unmap()) && !c.peers.mediaPort(int(peer.Port())) {
			return len(p), nil // dropped, as a firewall would
		}
	}
	return c.PacketConn.WriteTo(p, addr)
}

// AllocateListener refuses TCP allocations.
func (r *relayPorts) AllocateListener(turn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	return nil, nil, errTCPRelay
}

// AllocateConn refuses TCP connections to peers; with no TCP allocation
// pion never asks.
func (r *relayPorts) AllocateConn(turn.AllocateConnConfig) (net.Conn, error) {
	return nil, errTCPRelay
}
