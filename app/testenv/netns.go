package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

// Namespace is a network namespace joined to this host by a veth pair: a
// second machine on a private link, so that tests can send traffic from
// other addresses without any packet leaving this computer.
type Namespace struct {
	Name     string
	HostLink string // the veth end on this host
}

var namespaceCount atomic.Int64

// NewNamespace creates a namespace linked to this host. Each pair of
// addresses is a CIDR address for the host end and one for the namespace
// end, on the same subnet ("203.0.113.1/24", "203.0.113.5/24"). The
// namespace is removed when the test ends. It needs root and iproute2.
func NewNamespace(t testing.TB, pairs ...[2]string) *Namespace {
	t.Helper()
	RequireTool(t, "ip", "iproute2")
	RequireTool(t, "sysctl", "procps")
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root to create network namespaces (ip netns); run it as root, as CI does")
	}
	removeStaleNamespaces.Do(removeNamespacesOfDeadTests)
	n := namespaceCount.Add(1)
	ns := &Namespace{
		Name:     fmt.Sprintf("parley-t%d-%d", os.Getpid(), n),
		HostLink: fmt.Sprintf("pt%d-%d", os.Getpid()%100000, n),
	}
	peer := ns.HostLink + "n"
	t.Cleanup(func() {
		_ = exec.Command("ip", "netns", "del", ns.Name).Run()
		_ = exec.Command("ip", "link", "del", ns.HostLink).Run()
	})
	for _, args := range [][]string{
		{"netns", "add", ns.Name},
		{"-n", ns.Name, "link", "set", "lo", "up"},
		{"link", "add", ns.HostLink, "type", "veth", "peer", "name", peer, "netns", ns.Name},
	} {
		runIP(t, args...)
	}
	// No IPv6 on this machine's end: its link-local address would appear
	// a second or two after the link comes up, and browsers drop their
	// loads in flight on any change of this machine's addresses
	// (ERR_NETWORK_CHANGED).
	if out, err := exec.Command("sysctl", "-qw", "net.ipv6.conf."+ns.HostLink+".disable_ipv6=1").CombinedOutput(); err != nil {
		t.Fatalf("turn IPv6 off on %s: %v: %s", ns.HostLink, err, out)
	}
	commands := [][]string{
		{"link", "set", ns.HostLink, "up"},
		{"-n", ns.Name, "link", "set", peer, "up"},
	}
	for _, pair := range pairs {
		commands = append(commands,
			[]string{"addr", "add", pair[0], "dev", ns.HostLink},
			[]string{"-n", ns.Name, "addr", "add", pair[1], "dev", peer})
	}
	for _, args := range commands {
		runIP(t, args...)
	}
	return ns
}

var removeStaleNamespaces sync.Once

// removeNamespacesOfDeadTests deletes the namespaces (and host links) that
// a test process killed before its cleanup left behind: their addresses
// would shadow the same test's next run, whose packets would then go down
// the dead link.
func removeNamespacesOfDeadTests() {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		rest, ok := strings.CutPrefix(name, "parley-t")
		if !ok {
			continue
		}
		pidText, n, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid == os.Getpid() || syscall.Kill(pid, 0) == nil {
			continue
		}
		_ = exec.Command("ip", "netns", "del", name).Run()
		_ = exec.Command("ip", "link", "del", fmt.Sprintf("pt%d-%s", pid%100000, n)).Run()
	}
}

// Command runs a program inside the namespace.
func (ns *Namespace) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// Firewall loads an nftables ruleset into the namespace, replacing the
// one before: the rules of an "inet parley" table, such as
// "chain input { type filter hook input priority 0; policy accept; udp dport 0-65535 drop; }".
func (ns *Namespace) Firewall(t testing.TB, table string) {
	t.Helper()
	nft := RequireTool(t, "nft", "nftables")
	ruleset := "table inet parley\ndelete table inet parley\ntable inet parley {\n" + table + "\n}\n"
	cmd := ns.Command(context.Background(), nft, "-f", "-")
	cmd.Stdin = strings.NewReader(ruleset)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft in %s: %v: %s\n%s", ns.Name, err, out, ruleset)
	}
}

// NAT is a router between this machine (the home network) and a server
// network: this machine reaches Office's address through NAT, which
// masquerades, so that Office sees every client as the router. Nothing
// links Office to this machine but NAT.
type NAT struct {
	Router   *Namespace
	Office   *Namespace
	OfficeIP string // the server network's address of Office
	// HomeLink and WANLink are the router's interfaces: to this machine
	// and to the server network.
	HomeLink, WANLink string
}

// NewNAT builds home (this machine, 10.99.n.1) — router (10.99.n.2 and
// 198.51.100.1) — office (198.51.100.10), with a route on this machine
// to 198.51.100.0/24 through the router, removed when the test ends. The
// router forwards and masquerades but filters nothing: give it a firewall
// (Router.Firewall) with a forward chain.
func NewNAT(t testing.TB) *NAT {
	t.Helper()
	n := namespaceCount.Add(1)
	home := fmt.Sprintf("10.99.%d", n%250)
	router := NewNamespace(t, [2]string{home + ".1/24", home + ".2/24"})
	office := &Namespace{Name: fmt.Sprintf("parley-t%d-%d-office", os.Getpid(), n)}
	wan, officeLink := fmt.Sprintf("pw%d-%d", os.Getpid()%100000, n), fmt.Sprintf("po%d-%d", os.Getpid()%100000, n)
	t.Cleanup(func() {
		_ = exec.Command("ip", "route", "del", "198.51.100.0/24", "via", home+".2").Run()
		_ = exec.Command("ip", "netns", "del", office.Name).Run()
	})
	for _, args := range [][]string{
		{"netns", "add", office.Name},
		{"-n", office.Name, "link", "set", "lo", "up"},
		{"-n", router.Name, "link", "add", wan, "type", "veth", "peer", "name", officeLink, "netns", office.Name},
		{"-n", router.Name, "addr", "add", "198.51.100.1/24", "dev", wan},
		{"-n", router.Name, "link", "set", wan, "up"},
		{"-n", office.Name, "addr", "add", "198.51.100.10/24", "dev", officeLink},
		{"-n", office.Name, "link", "set", officeLink, "up"},
		{"route", "add", "198.51.100.0/24", "via", home + ".2"},
	} {
		runIP(t, args...)
	}
	if out, err := router.Command(context.Background(), "sysctl", "-qw", "net.ipv4.ip_forward=1").CombinedOutput(); err != nil {
		t.Fatalf("turn on forwarding in the router: %v: %s", err, out)
	}
	return &NAT{Router: router, Office: office, OfficeIP: "198.51.100.10", HomeLink: router.HostLink + "n", WANLink: wan}
}
