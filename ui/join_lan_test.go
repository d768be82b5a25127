package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/app/testenv"
)

func TestIsDomainInput(t *testing.T) {
	for input, want := range map[string]string{
		"example.test": "example.test", "alice@Example.test": "example.test", "alice@intranet": "intranet",
		"office-pc": "", "office-pc.local": "", "example.test:8443": "", "192.0.2.7": "", "https://example.test/": "",
	} {
		got, ok := isDomainInput(input)
		if ok != (want != "") || got != want && ok {
			t.Errorf("isDomainInput(%q) = %q, %v; want %q", input, got, ok, want)
		}
	}
}

// srvHost is a set-up server whose base URL, and so certificate, carries
// the DNS name an SRV record points at.
func srvHost(t *testing.T, ctx context.Context, name, dnsName string) (*app.Host, int) {
	t.Helper()
	host, session := ownerSession(t)
	port := host.HTTPSPort()
	base := fmt.Sprintf("https://%s:%d/", dnsName, port)
	if _, _, err := session.Client.UpdateSettings(ctx, map[string]any{"server_name": name, "base_url": base}); err != nil {
		t.Fatal(err)
	}
	// The certificate is re-issued in the background for the new name.
	for !slices.Contains(certificateNames(t, ctx, session), dnsName) {
		if ctx.Err() != nil {
			t.Fatalf("the certificate never covered %s", dnsName)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return host, port
}

func certificateNames(t *testing.T, ctx context.Context, session *Session) []string {
	info, err := session.Client.Certificate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.DNSNames
}

// TestConnectByDomainFollowsSRV types what a colleague of a company with
// DNS types: an e-mail address or the domain. The app follows the
// _parley._tcp SRV records in priority order, past a target that does not
// answer, to a real server, trusts it and signs in.
func TestConnectByDomainFollowsSRV(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, headPort := srvHost(t, ctx, "Head office", "meet.example.test")
	_, backupPort := srvHost(t, ctx, "Backup", "backup.example.test")
	deadPort := freePort(t)
	addresses := []string{
		"meet.example.test. 60 IN A 127.0.0.1",
		"backup.example.test. 60 IN A 127.0.0.1",
		"dead.example.test. 60 IN A 127.0.0.1",
	}
	srv := func(priority, port int, target string) string {
		return fmt.Sprintf("_parley._tcp.example.test. 60 IN SRV %d 5 %d %s.", priority, port, target)
	}

	store := trustStoreIn(t)
	m := newJoinModel(store)
	m.resolver = testenv.StartDNS(t, append(addresses,
		srv(10, deadPort, "dead.example.test"), srv(20, headPort, "meet.example.test"), srv(30, backupPort, "backup.example.test"))...)
	question, err := m.Connect(ctx, "alice@example.test")
	if err != nil {
		t.Fatal(err)
	}
	where := fmt.Sprintf("meet.example.test:%d", headPort)
	if question == nil || question.Address != where || m.Target.HostPort() != where {
		t.Fatalf("question %+v, target %s; want the trust question of %s (priority 20, after the dead 10)", question, m.Target.HostPort(), where)
	}
	if err := m.Trust(ctx); err != nil {
		t.Fatal(err)
	}
	if m.ServerName() != "Head office" {
		t.Errorf("connected to %q", m.ServerName())
	}
	session, err := m.SignIn(ctx, "boss", ownerPassword)
	if err != nil {
		t.Fatal(err)
	}
	session.Client.Close()

	// Priorities turned round: the backup comes first.
	swapped := newJoinModel(store)
	swapped.resolver = testenv.StartDNS(t, append(addresses,
		srv(10, backupPort, "backup.example.test"), srv(20, headPort, "meet.example.test"))...)
	if _, err := swapped.Connect(ctx, "example.test"); err != nil {
		t.Fatal(err)
	}
	if swapped.Target.HostPort() != fmt.Sprintf("backup.example.test:%d", backupPort) {
		t.Errorf("connected to %s, want the backup (priority 10)", swapped.Target.HostPort())
	}

	// A domain without a record, nor a server at <domain>:8443.
	none := newJoinModel(store)
	none.resolver = testenv.StartDNS(t, addresses...)
	_, err = none.Connect(ctx, "nobody@norecord.test")
	checkField(t, err, "address", "No Parley server found for norecord.test")
	if text := message(err); !strings.Contains(text, "norecord.test:8443") {
		t.Errorf("the message does not say what was tried: %q", text)
	}
}
