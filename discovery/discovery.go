// Package discovery lets people on the office network find a Parley host
// without typing an address: the server announces itself over mDNS/DNS-SD
// (_parley._tcp, and _https._tcp for ordinary service browsers) with
// github.com/grandcat/zeroconf, apps browse for those announcements, and a
// company with DNS points clients at its server with an SRV record
// (_parley._tcp.<domain>).
package discovery

import (
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Service types.
const (
	ServiceType = "_parley._tcp"
	webService  = "_https._tcp"
	domain      = "local."
)

// ProtocolVersion is the signalling protocol a server speaks, announced so
// that apps can skip servers they cannot talk to.
const ProtocolVersion = "1"

// TXT record keys (short: the whole TXT record travels in one packet).
const (
	keyID      = "id"     // the server's stable id
	keyVersion = "v"      // protocol version
	keyPath    = "path"   // base URL path
	keyGuests  = "guests" // "1" when guests may join by link
	keyCert    = "fp"     // SHA-256 of the served certificate
	keyCA      = "ca"     // SHA-256 of the certificate authority that signs it
)

// Announcement is what a server says about itself.
type Announcement struct {
	Name     string // the server's display name, the instance name
	Port     int    // HTTPS
	ServerID string
	Path     string // "/" unless the server sits below a path
	Guests   bool
	CertSHA  string // hex SHA-256 of the served certificate
	CASHA    string // hex SHA-256 of the CA certificate served at /ca.crt
	// Address, when set, is the one address the server listens on: only
	// it is announced, on its interface.
	Address string
}

func (a Announcement) text() []string {
	guests := "0"
	if a.Guests {
		guests = "1"
	}
	path := a.Path
	if path == "" {
		path = "/"
	}
	return []string{keyID + "=" + a.ServerID, keyVersion + "=" + ProtocolVersion, keyPath + "=" + path,
		keyGuests + "=" + guests, keyCert + "=" + a.CertSHA, keyCA + "=" + a.CASHA}
}

// parseText reads TXT strings "key=value" into a map.
func parseText(text []string) map[string]string {
	values := map[string]string{}
	for _, item := range text {
		if key, value, ok := strings.Cut(item, "="); ok {
			values[key] = value
		}
	}
	return values
}

// multicastInterfaces lists the interfaces mDNS can use: up, multicast
// capable, not loopback, with an address; and the addresses, sorted.
func multicastInterfaces() ([]net.Interface, []string) {
	all, err := net.Interfaces()
	if err != nil {
		return nil, nil
	}
	var usable []net.Interface
	var addresses []string
	for _, iface := range all {
		if iface.Flags&net.FlagUp == 0 || iface.Flags&net.FlagMulticast == 0 || iface.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := iface.Addrs()
		if err != nil {
			continue
		}
		var found []string
		for _, addr := range addrs {
			ipnet, ok := addr.(*net.IPNet)
			if !ok || ipnet.IP.IsLinkLocalUnicast() {
				continue
			}
			found = append(found, ipnet.IP.String())
		}
		if len(found) > 0 {
			usable = append(usable, iface)
			addresses = append(addresses, found...)
		}
	}
	sort.Strings(addresses)
	return usable, addresses
}

// onlyAddress keeps the interface that has address, and that address.
func onlyAddress(ifaces []net.Interface, addresses []string, address string) ([]net.Interface, []string) {
	ip := net.ParseIP(address)
	if ip == nil || !slices.Contains(addresses, ip.String()) {
		return nil, nil
	}
	for _, iface := range ifaces {
		addrs, err := iface.Addrs()
		if err != nil {
			continue
		}
		for _, addr := range addrs {
			if ipnet, ok := addr.(*net.IPNet); ok && ipnet.IP.Equal(ip) {
				return []net.Interface{iface}, []string{ip.String()}
			}
		}
	}
	return nil, nil
}

// interfaceNames is a short description of interfaces for the status.
func interfaceNames(ifaces []net.Interface) string {
	names := make([]string, len(ifaces))
	for i, iface := range ifaces {
		names[i] = iface.Name
	}
	return strings.Join(names, ", ")
}

// instanceName is the name with the number DNS-SD adds on a conflict:
// "Office", then "Office (2)", "Office (3)"...
// A DNS label, the instance name, holds at most 63 bytes: a long name is
// cut, on a character boundary, to make room for the number.
func instanceName(name string, attempt int) string {
	suffix := ""
	if attempt > 1 {
		suffix = " (" + strconv.Itoa(attempt) + ")"
	}
	for len(name)+len(suffix) > maxLabel {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	return name + suffix
}

// maxLabel is the longest DNS label, in bytes.
const maxLabel = 63
