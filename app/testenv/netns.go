package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
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
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root to create network namespaces (ip netns); run it as root, as CI does")
	}
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
	commands := [][]string{
		{"netns", "add", ns.Name},
		{"-n", ns.Name, "link", "set", "lo", "up"},
		{"link", "add", ns.HostLink, "type", "veth", "peer", "name", peer, "netns", ns.Name},
		{"link", "set", ns.HostLink, "up"},
		{"-n", ns.Name, "link", "set", peer, "up"},
	}
	for _, pair := range pairs {
		commands = append(commands,
			[]string{"addr", "add", pair[0], "dev", ns.HostLink},
			[]string{"-n", ns.Name, "addr", "add", pair[1], "dev", peer})
	}
	for _, args := range commands {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	return ns
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
