package certs

import (
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
)

// DefaultNames returns the names users type to reach this machine: the host
// name (lowercased), its first label + ".local" (mDNS) and "localhost".
func DefaultNames() []string {
	var names []string
	if host, err := os.Hostname(); err == nil {
		host = strings.ToLower(host)
		names = append(names, host)
		if label, _, _ := strings.Cut(host, "."); label != "" {
			names = append(names, label+".local")
		}
	}
	names = append(names, "localhost")
	return normalizeNames(names)
}

// DefaultAddresses returns every unicast address of the interfaces that are
// up, except IPv6 link-local ones (browsers cannot use them without a zone),
// plus 127.0.0.1 and ::1, deduplicated and sorted.
func DefaultAddresses() []net.IP {
	addresses := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	// Without the interface list the loopback addresses are still right, and
	// Refresh adds the others once the list is readable.
	interfaces, _ := net.Interfaces()
	for _, iface := range interfaces {
		if iface.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := iface.Addrs()
		if err != nil {
			continue
		}
		for _, addr := range addrs {
			var ip net.IP
			switch a := addr.(type) {
			case *net.IPNet:
				ip = a.IP
			case *net.IPAddr:
				ip = a.IP
			}
			if ip == nil || ip.IsUnspecified() || ip.IsMulticast() ||
				(ip.To4() == nil && ip.IsLinkLocalUnicast()) {
				continue
			}
			addresses = append(addresses, ip)
		}
	}
	return normalizeAddresses(addresses)
}

// normalizeNames lowercases names, drops empty ones and a trailing dot, and
// removes duplicates while keeping the order (the first name becomes the
// certificate's common name).
func normalizeNames(names []string) []string {
	seen := make(map[string]bool, len(names))
	normalized := make([]string, 0, len(names))
	for _, name := range names {
		name = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), ".")
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
		normalized = append(normalized, name)
	}
	return normalized
}

// normalizeAddresses drops invalid addresses, turns IPv4-mapped IPv6 forms
// into plain IPv4, removes duplicates and sorts (IPv4 before IPv6).
func normalizeAddresses(ips []net.IP) []net.IP {
	addrs := make([]netip.Addr, 0, len(ips))
	for _, ip := range ips {
		if addr, ok := netip.AddrFromSlice(ip); ok {
			addrs = append(addrs, addr.Unmap())
		}
	}
	slices.SortFunc(addrs, netip.Addr.Compare)
	addrs = slices.Compact(addrs)
	normalized := make([]net.IP, len(addrs))
	for i, addr := range addrs {
		normalized[i] = net.IP(addr.AsSlice())
	}
	return normalized
}
