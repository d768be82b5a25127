package app

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/stun/v4"

	"github.com/parleyhq/parley/server/settings"
)

// mediaNetwork is where the media plane listens and what it advertises:
// worked out from the settings and the web port, compared to know when
// the SFU must be made again.
type mediaNetwork struct {
	listen   string // listen address, "" = all
	onePort  int    // UDP and ICE-TCP on this port (the HTTPS port), 0 = none
	udpRange [2]uint16
	external []netip.Addr
	stun     string // asked for the public address at start
}

func (n mediaNetwork) equal(o mediaNetwork) bool {
	return n.listen == o.listen && n.onePort == o.onePort && n.udpRange == o.udpRange &&
		slices.Equal(n.external, o.external) && n.stun == o.stun
}

// planNetwork reads what the media network should be now. The web port is
// 0 while the web subsystem is not listening: media then runs without
// the one port until it is.
func planNetwork(ctx context.Context, current settings.Settings, listen string, webPort int) (mediaNetwork, []string) {
	plan := mediaNetwork{listen: listen, stun: current.PublicAddressSTUN}
	var notes []string
	low, high, _ := settings.ParsePortRange(current.MediaUDPPorts) // validated when stored
	if low != 0 {
		plan.udpRange = [2]uint16{low, high}
	}
	plan.onePort = webPort
	for _, name := range current.ExternalAddresses {
		if addr, err := netip.ParseAddr(name); err == nil {
			plan.external = append(plan.external, addr.Unmap())
			continue
		}
		lookup, cancel := context.WithTimeout(ctx, 5*time.Second)
		addrs, err := net.DefaultResolver.LookupNetIP(lookup, "ip", name)
		cancel()
		if err != nil || len(addrs) == 0 {
			notes = append(notes, fmt.Sprintf("external address %s does not resolve", name))
			continue
		}
		for _, addr := range addrs {
			plan.external = append(plan.external, addr.Unmap())
		}
	}
	return plan, notes
}

// bindUDP opens the one UDP socket of one-port mode.
func bindUDP(listen string, port int) (net.PacketConn, error) {
	conn, err := net.ListenPacket("udp", net.JoinHostPort(listen, strconv.Itoa(port)))
	if err != nil {
		if addressInUse(err) {
			return nil, fmt.Errorf("UDP port %d in use by another program", port)
		}
		return nil, fmt.Errorf("UDP port %d: %w", port, err)
	}
	return conn, nil
}

func addressInUse(err error) bool {
	return err != nil && strings.Contains(err.Error(), "address already in use") ||
		err != nil && strings.Contains(err.Error(), "Only one usage of each socket address")
}

// publicAddress asks a STUN server, from the media socket itself, which
// address the Internet sees it at.
func publicAddress(ctx context.Context, conn net.PacketConn, server string) (netip.Addr, error) {
	hostPort := strings.TrimPrefix(server, "stun:")
	if _, _, err := net.SplitHostPort(hostPort); err != nil {
		hostPort = net.JoinHostPort(strings.Trim(hostPort, "[]"), "3478")
	}
	lookup, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	host, port, _ := net.SplitHostPort(hostPort)
	addrs, err := net.DefaultResolver.LookupNetIP(lookup, "ip", host)
	if err != nil || len(addrs) == 0 {
		return netip.Addr{}, fmt.Errorf("STUN server %s does not resolve", host)
	}
	portNumber, _ := strconv.Atoi(port)
	target := net.UDPAddrFromAddrPort(netip.AddrPortFrom(addrs[0].Unmap(), uint16(portNumber)))
	request := stun.MustBuild(stun.TransactionID, stun.BindingRequest)
	deadline := time.Now().Add(3 * time.Second)
	if err := conn.SetReadDeadline(deadline); err != nil {
		return netip.Addr{}, err
	}
	defer conn.SetReadDeadline(time.Time{})
	buffer := make([]byte, 1500)
	// UDP loses packets: ask three times within the deadline.
	for attempt := 0; attempt < 3; attempt++ {
		if _, err := conn.WriteTo(request.Raw, target); err != nil {
			return netip.Addr{}, fmt.Errorf("ask STUN server %s: %w", server, err)
		}
		wait := time.Now().Add(time.Second)
		for time.Now().Before(wait) {
			_ = conn.SetReadDeadline(wait)
			n, from, err := conn.ReadFrom(buffer)
			if err != nil {
				break
			}
			if from.String() != target.String() || !stun.IsMessage(buffer[:n]) {
				continue
			}
			answer := &stun.Message{Raw: append([]byte(nil), buffer[:n]...)}
			if answer.Decode() != nil || answer.TransactionID != request.TransactionID {
				continue
			}
			var mapped stun.XORMappedAddress
			if err := mapped.GetFrom(answer); err != nil {
				return netip.Addr{}, fmt.Errorf("STUN server %s answered without an address: %w", server, err)
			}
			addr, _ := netip.AddrFromSlice(mapped.IP)
			return addr.Unmap(), nil
		}
	}
	return netip.Addr{}, fmt.Errorf("STUN server %s did not answer", server)
}

// iceTCPHub passes the ICE-TCP connections the web listener accepts on
// the HTTPS port to the SFU that runs now, whichever that is after
// restarts of either.
type iceTCPHub struct {
	mu      sync.Mutex
	current *connQueue
}

// pass hands a connection on, or closes it while no SFU takes them.
func (h *iceTCPHub) pass(conn net.Conn) {
	h.mu.Lock()
	queue := h.current
	h.mu.Unlock()
	if queue == nil || !queue.offer(conn) {
		conn.Close()
	}
}

// listener is a new listener for the next SFU, advertising addr; the one
// before it stops receiving connections.
func (h *iceTCPHub) listener(addr net.Addr) net.Listener {
	queue := &connQueue{addr: addr, conns: make(chan net.Conn), closed: make(chan struct{})}
	queue.detach = func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.current == queue {
			h.current = nil
		}
	}
	h.mu.Lock()
	h.current = queue
	h.mu.Unlock()
	return queue
}

// connQueue is a net.Listener fed with connections accepted elsewhere.
type connQueue struct {
	addr   net.Addr
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
	detach func()
}

func (q *connQueue) offer(conn net.Conn) bool {
	select {
	case q.conns <- conn:
		return true
	case <-q.closed:
		return false
	}
}

func (q *connQueue) Accept() (net.Conn, error) {
	select {
	case conn := <-q.conns:
		return conn, nil
	case <-q.closed:
		return nil, net.ErrClosed
	}
}

func (q *connQueue) Close() error {
	q.once.Do(func() {
		q.detach()
		close(q.closed)
	})
	return nil
}

func (q *connQueue) Addr() net.Addr { return q.addr }
