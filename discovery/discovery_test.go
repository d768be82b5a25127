package discovery

import (
	"net"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/grandcat/zeroconf"
	"github.com/miekg/dns"
)

func TestInstanceNameNumbersAndFits(t *testing.T) {
	if got := instanceName("Office", 1); got != "Office" {
		t.Errorf("first attempt = %q", got)
	}
	if got := instanceName("Office", 2); got != "Office (2)" {
		t.Errorf("second attempt = %q", got)
	}
	long := strings.Repeat("é", 31) + "x" // 63 bytes
	for _, attempt := range []int{1, 2, 12} {
		got := instanceName(long, attempt)
		if len(got) > maxLabel || !utf8.ValidString(got) {
			t.Errorf("attempt %d: %q is %d bytes or cut inside a character", attempt, got, len(got))
		}
	}
	if got := instanceName(long, 12); !strings.HasSuffix(got, " (12)") {
		t.Errorf("the number was cut: %q", got)
	}
}

func TestAnnouncementText(t *testing.T) {
	ann := Announcement{Name: "Office", Port: 8443, ServerID: "abc", Guests: true, CertSHA: "11", CASHA: "22"}
	values := parseText(ann.text())
	want := map[string]string{keyID: "abc", keyVersion: ProtocolVersion, keyPath: "/", keyGuests: "1", keyCert: "11", keyCA: "22"}
	for key, value := range want {
		if values[key] != value {
			t.Errorf("TXT %s = %q, want %q", key, values[key], value)
		}
	}
	if len(values) != len(want) {
		t.Errorf("TXT has %d keys, want %d: %v", len(values), len(want), values)
	}
	if got := parseText([]string{"novalue", "k=v=w"}); got["k"] != "v=w" || len(got) != 1 {
		t.Errorf("parseText = %v", got)
	}
}

// Instance names go through miekg/dns's text form both ways.
func TestInstanceNamesRoundTripThroughDNS(t *testing.T) {
	for _, name := range []string{"Office", "Office (2)", "Zoé's office", `a.b; "c" @d \e`, "tab\there"} {
		wire := make([]byte, 512)
		fqdn := escapeLabel(name) + "." + ServiceType + "." + domain
		end, err := dns.PackDomainName(fqdn, wire, 0, nil, false)
		if err != nil {
			t.Fatalf("%q: pack %q: %v", name, fqdn, err)
		}
		if int(wire[0]) != len(name) || string(wire[1:1+len(name)]) != name {
			t.Errorf("%q: the first label on the wire is %q", name, wire[1:1+int(wire[0])])
		}
		printed, _, err := dns.UnpackDomainName(wire[:end], 0)
		if err != nil {
			t.Fatal(err)
		}
		if printed != fqdn {
			t.Errorf("%q: printed back as %q, escaped as %q", name, printed, fqdn)
		}
		label := strings.TrimSuffix(printed, "."+ServiceType+"."+domain)
		if got := unescapeLabel(label); got != name {
			t.Errorf("%q: unescaped back as %q", name, got)
		}
	}
}

func goodbyePacket(t testing.TB, instance string, ttl uint32) []byte {
	service := ServiceType + "." + domain
	msg := new(dns.Msg)
	msg.Response = true
	msg.Answer = []dns.RR{
		&dns.PTR{Hdr: dns.RR_Header{Name: service, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: ttl}, Ptr: escapeLabel(instance) + "." + service},
		&dns.PTR{Hdr: dns.RR_Header{Name: "_other._tcp.local.", Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: ttl}, Ptr: "x._other._tcp.local."},
	}
	packet, err := msg.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return packet
}

func TestGoodbyesNameTheWithdrawnServer(t *testing.T) {
	if gone, alive := instancesIn(goodbyePacket(t, "Office (2)", 0)); len(gone) != 1 || gone[0] != "Office (2)" || len(alive) != 0 {
		t.Errorf("goodbye: gone %q, alive %q", gone, alive)
	}
	if gone, alive := instancesIn(goodbyePacket(t, "Office", 120)); len(gone) != 0 || len(alive) != 1 || alive[0] != "Office" {
		t.Errorf("announcement: gone %q, alive %q", gone, alive)
	}
	if gone, alive := instancesIn([]byte("not dns")); gone != nil || alive != nil {
		t.Errorf("garbage: gone %q, alive %q", gone, alive)
	}
}

func FuzzInstancesIn(f *testing.F) {
	f.Add(goodbyePacket(f, "Office", 0))
	f.Add(goodbyePacket(f, "Zoé's office (3)", 0))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, packet []byte) {
		gone, alive := instancesIn(packet)
		for _, name := range append(gone, alive...) {
			if name == "" {
				t.Error("an empty instance name")
			}
		}
	})
}

func FuzzUnescapeLabel(f *testing.F) {
	for _, seed := range []string{"Office", `Office\ \(2\)`, `Zo\195\169`, `\`, `\99`, `\999x`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if got := unescapeLabel(escapeLabel(text)); got != text {
			t.Errorf("escape then unescape %q = %q", text, got)
		}
		_ = unescapeLabel(text)
	})
}

// One server heard on two interfaces, with an address on each, is one
// entry with both addresses.
func TestAServerHeardTwiceIsOneEntry(t *testing.T) {
	var lists [][]Server
	b := NewBrowser(func(list []Server) { lists = append(lists, list) }, nil)
	entry := func(ip string) *zeroconf.ServiceEntry {
		e := zeroconf.NewServiceEntry(escapeLabel("Office (2)"), ServiceType, domain)
		e.Port = 8443
		e.Text = Announcement{ServerID: "abc", CASHA: "22"}.text()
		e.AddrIPv4 = []net.IP{net.ParseIP(ip)}
		return e
	}
	b.heardFrom(entry("192.168.1.20"), 1)
	b.heardFrom(entry("10.0.0.20"), 1)
	b.heardFrom(entry("10.0.0.20"), 1) // no change, no call
	servers := b.Servers()
	if len(servers) != 1 || servers[0].Name != "Office (2)" || !slices.Equal(servers[0].Addresses, []string{"10.0.0.20", "192.168.1.20"}) {
		t.Fatalf("servers %+v", servers)
	}
	if len(lists) != 2 {
		t.Errorf("onChange called %d times, want 2", len(lists))
	}
	b.expire(1 + expireRounds)
	if len(b.Servers()) != 0 || len(lists) != 3 {
		t.Errorf("not expired after %d rounds: %+v", expireRounds, b.Servers())
	}
}

// A goodbye removes a server unless it announces itself again within the
// grace period.
func TestGoodbyeThenBackKeepsTheServer(t *testing.T) {
	b := NewBrowser(nil, nil)
	defer b.stopLeaving()
	for _, name := range []string{"Office", "Annex"} {
		e := zeroconf.NewServiceEntry(name, ServiceType, domain)
		e.Text = Announcement{ServerID: name}.text()
		e.AddrIPv4 = []net.IP{net.ParseIP("192.0.2.1")}
		b.heardFrom(e, 1)
	}
	b.heardOf("Office", true)
	b.heardOf("Annex", true)
	b.heardOf("Office", false) // announced again at once
	deadline := time.Now().Add(5 * time.Second)
	for len(b.Servers()) != 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if servers := b.Servers(); len(servers) != 1 || servers[0].Name != "Office" {
		t.Errorf("servers %+v, want Office only", servers)
	}
}
