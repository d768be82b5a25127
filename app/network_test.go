package app_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/app/testenv"
	"github.com/parleyhq/parley/media/participant"
	"github.com/parleyhq/parley/server/client"
	"github.com/parleyhq/parley/server/conference"
	"github.com/parleyhq/parley/server/iceservers"
	"github.com/parleyhq/parley/server/protocol"
)

// selectedPairs is JavaScript that evaluates describe, a function of the
// local and remote candidates of the selected pair (and the stats), for
// each of a page's two connections: {publish: ..., subscribe: ...}.
func selectedPairs(describe string) string {
	return `(async () => {
  const seen = {};
  for (const [name, pc] of Object.entries(window.parley.pcs)) {
    if (!pc) continue;
    const stats = await pc.getStats();
    stats.forEach((s) => {
      const pair = s.type === 'transport' && s.selectedCandidatePairId && stats.get(s.selectedCandidatePairId);
      if (pair) seen[name] = (` + describe + `)(stats.get(pair.localCandidateId), stats.get(pair.remoteCandidateId), stats);
    });
  }
  return seen;
})()`
}

// selectedCandidateTypes is the type of the local candidate of each
// connection's selected pair (host, srflx, prflx, relay).
var selectedCandidateTypes = selectedPairs(`(local) => local.candidateType`)

// selectedRemote is the protocol and port of the server's side of each
// connection's selected pair.
var selectedRemote = selectedPairs(`(local, remote) => remote.protocol + ':' + remote.port`)

// localCandidate describes the local candidate of each connection's
// selected pair: type, protocol, and for relayed ones the protocol to the
// TURN server; and whether any direct UDP pair (not through a relay) ever
// worked.
var localCandidate = selectedPairs(`(local, remote, stats) => {
  let direct = false;
  stats.forEach((s) => {
    const mine = s.type === 'candidate-pair' && s.state === 'succeeded' && stats.get(s.localCandidateId);
    if (mine && mine.protocol === 'udp' && mine.candidateType !== 'relay') direct = true;
  });
  return local.candidateType + '/' + local.protocol + (local.relayProtocol ? '/' + local.relayProtocol : '') + (direct ? ' direct-udp-worked' : '');
}`)

// checkICE runs the settings' test of the STUN and TURN servers.
func checkICE(t *testing.T, owner interface {
	Do(ctx context.Context, method, path string, body, out any) error
}) []iceservers.Result {
	t.Helper()
	var answer struct {
		Results []iceservers.Result `json:"results"`
	}
	if err := owner.Do(context.Background(), http.MethodPost, "/api/v1/settings/ice-servers/check", nil, &answer); err != nil {
		t.Fatalf("check the ICE servers: %v", err)
	}
	return answer.Results
}

// checkServersWork runs the settings' test and wants every URL to work,
// and as many as want.
func checkServersWork(t *testing.T, owner *client.Client, want int, what string) {
	t.Helper()
	results := checkICE(t, owner)
	if len(results) != want {
		t.Fatalf("the settings test checked %d URLs, want %s: %+v", len(results), what, results)
	}
	for _, r := range results {
		if !r.OK {
			t.Errorf("the settings test says %s fails: %s", r.URL, r.Error)
		}
	}
}

// meetRelayed joins a Go participant and a browser page to a relay-only
// conference, waits for media both ways, and checks that the browser's
// selected candidates are relay ones on both connections.
func meetRelayed(t *testing.T, ctx context.Context, s *testenv.Server, owner *client.Client, cid string, browser *testenv.Browser) *testenv.Page {
	t.Helper()
	gopher, err := participant.Join(ctx, owner, cid, participant.Options{Audio: true, Video: true, Loopback: true})
	if err != nil {
		t.Fatalf("the Go participant joins: %v", err)
	}
	t.Cleanup(gopher.Close)
	page := browser.Page(t)
	page.Log = func() string {
		var states, types map[string]string
		page.Eval(`Object.fromEntries(Object.entries(window.parley.pcs).map(([k, pc]) => [k, pc ? pc.iceConnectionState + '/' + pc.iceGatheringState : 'none']))`, &states)
		page.Eval(selectedCandidateTypes, &types)
		var events []string
		for _, in := range gopher.Events() {
			events = append(events, in.Type)
		}
		return fmt.Sprintf("page ICE %v, selected %v; the Go participant got %v\n%s", states, types, events, s.Output())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(page.Log())
		}
	})
	testenv.OpenMeeting(page, s.URL, cid, "Gina", "")
	testenv.ClickJoin(page)
	page.WaitState("joined", 30*time.Second)
	testenv.WaitMediaFrom(t, page, "Gina", gopher.ID())
	// A minute: on a loaded two-core runner the relayed video may be slow to start.
	waitFor(t, "the Go participant to receive the browser's video", 60*time.Second, func() bool {
		packets, _ := gopher.Received(testenv.You(page), protocol.Camera)
		return packets > 20
	})
	var types map[string]string
	page.Eval(selectedCandidateTypes, &types)
	if types["publish"] != "relay" || types["subscribe"] != "relay" {
		t.Errorf("the browser's selected local candidates are %v, want relay on both connections", types)
	}
	return page
}

// TestRelayOnlyThroughCoturn configures coturn as the TURN server in the
// reference product's loose syntax and forces relaying: a browser and a
// Go participant exchange media, the browser's selected candidates are
// relay ones, and coturn made the allocations. With a wrong password the
// settings test says so and the meeting page explains why media fails.
func TestRelayOnlyThroughCoturn(t *testing.T) {
	coturn := testenv.StartCoturn(t)
	s, owner, c := meetingServer(t, map[string]any{"name": "Relayed", "lobby": "off"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	configure := func(password string) {
		t.Helper()
		loose := fmt.Sprintf("{ 'url': '%s', 'username': '%s', 'credential': '%s' },\n{ 'url': '%s', 'username': '%s', 'credential': '%s' }",
			coturn.URL("udp"), coturn.Username, password, coturn.URL("tcp"), coturn.Username, password)
		patch := map[string]any{"ice_servers": loose, "relay_only": true, "turn": map[string]any{"enabled": false}}
		if err := owner.Do(ctx, http.MethodPatch, "/api/v1/settings", patch, nil); err != nil {
			t.Fatalf("configure coturn: %v", err)
		}
	}
	configure(coturn.Password)
	checkServersWork(t, owner, 2, "coturn over UDP and TCP")
	browser := testenv.NewBrowser(t)
	page := meetRelayed(t, ctx, s, owner, c.CID, browser)
	var relayed bool
	page.Eval(`window.parley.conference.relay_only && !document.querySelector('#relay-badge').hidden`, &relayed)
	if !relayed {
		t.Error("the meeting page does not show that media is relayed")
	}
	if n := coturn.Allocations(); n < 2 {
		t.Errorf("coturn logged %d allocations, want the browser's and the Go participant's\n%s", n, coturn.Output())
	}

	configure("not-the-password")
	for _, r := range checkICE(t, owner) {
		if r.OK || !strings.Contains(strings.ToLower(r.Error), "authentication") {
			t.Errorf("with a wrong password the settings test says of %s: ok=%v %q", r.URL, r.OK, r.Error)
		}
	}
	late := browser.Page(t)
	late.Log = s.Output
	testenv.OpenMeeting(late, s.URL, c.CID, "Late", "")
	testenv.ClickJoin(late)
	late.WaitState("joined", 30*time.Second)
	late.WaitFor("the page to explain the refused TURN password",
		`window.parley.relayProblem.includes('refused the user name and password') && !document.querySelector('#banner').hidden &&
		 document.querySelector('#banner').textContent.includes('refused the user name and password')`, 30*time.Second)
	late.Screenshot(screenshotDir(t) + "/relay-refused.png")
}

// TestRelayOnlyThroughTheBuiltInTURN forces relaying with no TURN server
// configured but Parley's own: the settings test allocates on it with the
// credentials clients get, and a browser and a Go participant exchange
// media over relay candidates.
func TestRelayOnlyThroughTheBuiltInTURN(t *testing.T) {
	s, owner, c := meetingServer(t, map[string]any{"name": "Relayed here", "lobby": "off", "relay_only": true})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	waitFor(t, "the built-in TURN server (on by default)", 20*time.Second, func() bool {
		status, err := owner.Status(ctx)
		turn, ok := status.Subsystem("turn")
		return err == nil && ok && turn.State == "running"
	})
	checkServersWork(t, owner, 2, "the built-in TURN over UDP and TCP")
	meetRelayed(t, ctx, s, owner, c.CID, testenv.NewBrowser(t))
}

// TestOnePortWithoutUDP runs the server in a namespace whose firewall
// passes TCP on the HTTPS port and nothing else, either way (no UDP at
// all, no TURN): two browsers still meet, their media over ICE-TCP on
// that port.
func TestOnePortWithoutUDP(t *testing.T) {
	s, base, dir := udpBlockedServer(t, "198.18.1")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	owner := remoteOwner(t, ctx, dir, base)
	var c conference.Conference
	if err := owner.Do(ctx, http.MethodPost, "/api/v1/conferences", map[string]any{"name": "Through a firewall", "lobby": "off"}, &c); err != nil {
		t.Fatal(err)
	}
	gina, ralf := twoMeet(t, testenv.NewBrowser(t), s, base, c.CID)
	for _, page := range []*testenv.Page{gina, ralf} {
		var remote map[string]string
		page.Eval(selectedRemote, &remote)
		want := "tcp:" + strconv.Itoa(s.Port)
		if remote["publish"] != want || remote["subscribe"] != want {
			t.Errorf("%s reaches the server at %v, want %s on both connections", testenv.You(page), remote, want)
		}
	}
}

// TestHomeBehindNAT puts this machine's browsers behind a NAT router that
// masquerades and lets out TCP to the server's HTTPS and TURN ports only,
// no UDP at all. Direct UDP never works; a meeting still connects over
// TCP (straight to the server or through the built-in TURN server, as the
// browser prefers), and a relay-only one through TURN over TCP, with media
// flowing in both.
func TestHomeBehindNAT(t *testing.T) {
	nat := testenv.NewNAT(t)
	dir := t.TempDir()
	addOwner(t, dir)
	port := freePort(t)
	nat.Router.Firewall(t, fmt.Sprintf(`chain forward { type filter hook forward priority 0; policy drop;
		ct state established,related accept
		iifname "%s" tcp dport { %d, 3478 } accept
	}
	chain postrouting { type nat hook postrouting priority 100; policy accept;
		oifname "%s" masquerade
	}`, nat.HomeLink, port, nat.WANLink))
	s := testenv.StartServerIn(t, nat.Office, dir, "--port", strconv.Itoa(port), "--http-port", "-1")
	base := "https://" + nat.OfficeIP + ":" + strconv.Itoa(s.Port) + "/"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	owner := remoteOwner(t, ctx, dir, base)
	browser := testenv.NewBrowser(t)
	overTCP := []string{"host/tcp", "prflx/tcp", "relay/udp/tcp"}
	for _, meeting := range []struct {
		name      string
		relayOnly bool
		want      []string
	}{
		{"Over TCP", false, overTCP},
		{"Relayed over TCP", true, []string{"relay/udp/tcp"}},
	} {
		var c conference.Conference
		if err := owner.Do(ctx, http.MethodPost, "/api/v1/conferences", map[string]any{"name": meeting.name, "lobby": "off", "relay_only": meeting.relayOnly}, &c); err != nil {
			t.Fatal(err)
		}
		gina, ralf := twoMeet(t, browser, s, base, c.CID)
		for _, page := range []*testenv.Page{gina, ralf} {
			var local map[string]string
			page.Eval(localCandidate, &local)
			if !slices.Contains(meeting.want, local["publish"]) || !slices.Contains(meeting.want, local["subscribe"]) {
				t.Errorf("%s: %s's connections use %v, want one of %v on both (and no direct UDP pair that worked)", meeting.name, testenv.You(page), local, meeting.want)
			}
		}
	}
}

// addOwner adds the owner, "boss", to a data directory.
func addOwner(t *testing.T, dir string) {
	t.Helper()
	if out, err := testenv.Run(t, ownerPassword+"\n", "user", "add", "boss", "--role", "owner", "--name", "The Boss", "--data", dir); err != nil {
		t.Fatalf("%v %s", err, out)
	}
}

// remoteOwner is a client signed in as the owner of a server this machine
// reaches at base, off loopback, trusting the CA in its data directory.
func remoteOwner(t *testing.T, ctx context.Context, dir, base string) *client.Client {
	t.Helper()
	ca, err := os.ReadFile(filepath.Join(dir, "tls", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	owner, err := client.New(base, client.Options{CACertPEM: ca})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := owner.SignIn(ctx, "boss", ownerPassword); err != nil {
		t.Fatalf("sign in at %s: %v", base, err)
	}
	return owner
}

// udpBlockedServer runs a server, with an owner, in a namespace linked to
// this machine on subnet (such as "198.18.1", a /24: this machine is .1,
// the server .5) whose firewall passes TCP on the HTTPS port and nothing
// else, either way. It returns the server, its base URL and data folder.
func udpBlockedServer(t *testing.T, subnet string) (*testenv.Server, string, string) {
	t.Helper()
	ns := testenv.NewNamespace(t, [2]string{subnet + ".1/24", subnet + ".5/24"})
	dir := t.TempDir()
	addOwner(t, dir)
	port := freePort(t)
	ns.Firewall(t, `chain input { type filter hook input priority 0; policy accept;
		iifname "lo" accept
		tcp dport `+strconv.Itoa(port)+` accept
		drop
	}
	chain output { type filter hook output priority 0; policy accept;
		oifname "lo" accept
		tcp sport `+strconv.Itoa(port)+` accept
		drop
	}`)
	s := testenv.StartServerIn(t, ns, dir, "--port", strconv.Itoa(port), "--http-port", "-1")
	return s, "https://" + subnet + ".5:" + strconv.Itoa(s.Port) + "/", dir
}

// twoMeet joins Gina and Ralf, two pages of browser, to a conference at
// base and waits until each gets the other's media.
func twoMeet(t *testing.T, browser *testenv.Browser, s *testenv.Server, base, cid string) (gina, ralf *testenv.Page) {
	t.Helper()
	gina, ralf = browser.Page(t), browser.Page(t)
	for _, page := range []*testenv.Page{gina, ralf} {
		page.Log = s.Output
	}
	testenv.OpenMeeting(gina, base, cid, "Gina", "")
	testenv.ClickJoin(gina)
	gina.WaitState("joined", 30*time.Second)
	testenv.OpenMeeting(ralf, base, cid, "Ralf", "")
	testenv.ClickJoin(ralf)
	ralf.WaitState("joined", 30*time.Second)
	testenv.WaitMediaFrom(t, gina, "Gina", testenv.You(ralf))
	testenv.WaitMediaFrom(t, ralf, "Ralf", testenv.You(gina))
	return gina, ralf
}
