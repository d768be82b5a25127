package testenv

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// LAN is a private Ethernet segment: a switch namespace holding a bridge,
// and host namespaces each attached to it by a veth pair, with addresses
// in subnet. Nothing connects it to the root namespace, so multicast
// (mDNS) sent on it never reaches this machine's real network.
type LAN struct {
	t        testing.TB
	switchNS string // holds the bridge
	hosts    map[string]*Host
}

// Host is one machine on a LAN.
type Host struct {
	Name string // namespace name
	IP   string // address on the LAN, without the prefix length
	Link string // interface name inside the namespace

	switchPort string // the other end of Link, in the switch namespace
}

var lanCount atomic.Int64

// hostNamePattern keeps host names usable in namespace names (file names
// under /run/netns).
var hostNamePattern = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// maxInterfaceName is the kernel's limit (IFNAMSIZ less the NUL).
const maxInterfaceName = 15

// NewLAN creates a LAN on subnet (an IPv4 prefix such as "10.77.1.0/24")
// whose hosts get the first addresses in order: .1, .2, .3... Inside every
// namespace lo is up and IPv6 is off, so that mDNS runs over IPv4 only.
// Multicast floods to every port (no IGMP snooping), and each host routes
// 224.0.0.0/4 to its link. Everything is removed when the test ends. It
// needs root, iproute2 and procps (sysctl).
func NewLAN(t testing.TB, subnet string, hosts ...string) *LAN {
	t.Helper()
	RequireTool(t, "ip", "iproute2")
	RequireTool(t, "sysctl", "procps")
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root to create network namespaces (ip netns); run it as root, as CI does")
	}
	prefix, err := netip.ParsePrefix(subnet)
	if err != nil || !prefix.Addr().Is4() {
		t.Fatalf("NewLAN: subnet %q is not an IPv4 prefix such as 10.77.1.0/24", subnet)
	}
	prefix = prefix.Masked()
	if len(hosts) == 0 {
		t.Fatal("NewLAN: no hosts")
	}

	n := lanCount.Add(1)
	namespacePrefix := fmt.Sprintf("parley-lan%d-%d-", os.Getpid(), n)
	// Interfaces live in the LAN's own namespaces, so they cannot clash
	// with the root namespace's; they are unique anyway, so that any
	// interface name in a log points at one LAN.
	linkPrefix := fmt.Sprintf("pl%d-%d-", os.Getpid()%100000, n)
	l := &LAN{t: t, switchNS: namespacePrefix + "switch", hosts: map[string]*Host{}}
	bridge := linkPrefix + "br"

	var members []*Host // in the order given
	address := prefix.Addr()
	for i, name := range hosts {
		if !hostNamePattern.MatchString(name) || name == "switch" || l.hosts[name] != nil {
			t.Fatalf("NewLAN: host name %q is not a unique lower-case name (letters, digits, '-'; not \"switch\")", name)
		}
		address = address.Next()
		// The last address of the prefix is its broadcast address.
		if !prefix.Contains(address.Next()) {
			t.Fatalf("NewLAN: subnet %s has no room for %d hosts", subnet, len(hosts))
		}
		link := linkPrefix + strconv.Itoa(i+1)
		h := &Host{Name: namespacePrefix + name, IP: address.String(), Link: link, switchPort: link + "s"}
		l.hosts[name] = h
		members = append(members, h)
	}
	if last := members[len(members)-1].switchPort; len(last) > maxInterfaceName {
		t.Fatalf("NewLAN: interface name %q is longer than %d characters", last, maxInterfaceName)
	}

	var created []string
	t.Cleanup(func() {
		for _, namespace := range created {
			// Deleting a namespace deletes the veth ends inside it, and
			// with them their peers.
			if out, err := exec.Command("ip", "netns", "del", namespace).CombinedOutput(); err != nil {
				t.Errorf("remove network namespace %s: %v: %s", namespace, err, out)
			}
		}
	})
	addNamespace := func(namespace string) {
		runIP(t, "netns", "add", namespace)
		created = append(created, namespace)
		disableIPv6(t, namespace)
		runIP(t, "-n", namespace, "link", "set", "lo", "up")
	}

	addNamespace(l.switchNS)
	// Without IGMP snooping the bridge floods multicast to every port, as
	// a plain switch does.
	runIP(t, "-n", l.switchNS, "link", "add", bridge, "type", "bridge", "mcast_snooping", "0")
	runIP(t, "-n", l.switchNS, "link", "set", bridge, "up")
	for _, h := range members {
		addNamespace(h.Name)
		// Both ends are created inside the LAN's namespaces: no interface
		// ever appears in the root namespace, even for a moment.
		runIP(t, "-n", l.switchNS, "link", "add", h.switchPort, "type", "veth", "peer", "name", h.Link, "netns", h.Name)
		runIP(t, "-n", l.switchNS, "link", "set", h.switchPort, "master", bridge, "multicast", "on", "up")
		runIP(t, "-n", h.Name, "link", "set", h.Link, "multicast", "on", "up")
		runIP(t, "-n", h.Name, "addr", "add", h.IP+"/"+strconv.Itoa(prefix.Bits()), "dev", h.Link)
		// The hosts have no default route: multicast needs a route of its own.
		runIP(t, "-n", h.Name, "route", "add", "224.0.0.0/4", "dev", h.Link)
	}
	return l
}

// disableIPv6 turns IPv6 off in a namespace before its interfaces are
// created ("default" covers those, "all" covers lo). A kernel without
// IPv6 has nothing to turn off.
func disableIPv6(t testing.TB, namespace string) {
	t.Helper()
	if _, err := os.Stat("/proc/sys/net/ipv6"); err != nil {
		return
	}
	cmd := exec.Command("ip", "netns", "exec", namespace, "sysctl", "-q", "-w",
		"net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("turn IPv6 off in network namespace %s: %v: %s", namespace, err, out)
	}
}

func runIP(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// Host returns the host with the name given to NewLAN.
func (l *LAN) Host(name string) *Host {
	l.t.Helper()
	h := l.hosts[name]
	if h == nil {
		l.t.Fatalf("the LAN has no host %q", name)
	}
	return h
}

// Disconnect unplugs a host from the switch: its switch port goes down,
// so the host's link loses carrier and nothing passes either way. The
// host sends no goodbye: those it sends now go nowhere, as with a pulled
// cable, so the others only notice when records expire.
func (l *LAN) Disconnect(name string) {
	l.t.Helper()
	runIP(l.t, "-n", l.switchNS, "link", "set", l.Host(name).switchPort, "down")
}

// Command runs a program inside the host's namespace.
func (h *Host) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.Name, name}, args...)...)
}
