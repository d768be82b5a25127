package app_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/app/testenv"
	"github.com/parleyhq/parley/media/participant"
	"github.com/parleyhq/parley/server/iceservers"
	"github.com/parleyhq/parley/server/protocol"
)

// selectedCandidateTypes is, for a page's two connections, the type of
// the local candidate of the selected pair (host, srflx, prflx, relay).
const selectedCandidateTypes = `(async () => {
  const types = {};
  for (const [name, pc] of Object.entries(window.parley.pcs)) {
    if (!pc) continue;
    const stats = await pc.getStats();
    stats.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) {
        const pair = stats.get(s.selectedCandidatePairId);
        types[name] = pair ? stats.get(pair.localCandidateId).candidateType : '';
      }
    });
  }
  return types;
})()`

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
	results := checkICE(t, owner)
	if len(results) != 2 {
		t.Fatalf("the settings test checked %d URLs, want coturn over UDP and TCP: %+v", len(results), results)
	}
	for _, r := range results {
		if !r.OK {
			t.Errorf("the settings test says %s fails: %s", r.URL, r.Error)
		}
	}

	gopher, err := participant.Join(ctx, owner, c.CID, participant.Options{Audio: true, Video: true, Loopback: true})
	if err != nil {
		t.Fatalf("the Go participant joins: %v", err)
	}
	defer gopher.Close()
	browser := testenv.NewBrowser(t)
	page := browser.Page(t)
	page.Log = s.Output
	testenv.OpenMeeting(page, s.URL, c.CID, "Gina", "")
	testenv.ClickJoin(page)
	page.WaitState("joined", 30*time.Second)
	var relayed bool
	page.Eval(`window.parley.conference.relay_only && !document.querySelector('#relay-badge').hidden`, &relayed)
	if !relayed {
		t.Error("the meeting page does not show that media is relayed")
	}
	testenv.WaitMediaFrom(t, page, "Gina", gopher.ID())
	waitFor(t, "the Go participant to receive the browser's video", 30*time.Second, func() bool {
		packets, _ := gopher.Received(testenv.You(page), protocol.Camera)
		return packets > 20
	})
	var types map[string]string
	page.Eval(selectedCandidateTypes, &types)
	if types["publish"] != "relay" || types["subscribe"] != "relay" {
		t.Errorf("the browser's selected local candidates are %v, want relay on both connections", types)
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
	results := checkICE(t, owner)
	if len(results) != 2 {
		t.Fatalf("the settings test checked %d URLs, want the built-in TURN over UDP and TCP: %+v", len(results), results)
	}
	for _, r := range results {
		if !r.OK {
			t.Errorf("the settings test says %s fails: %s", r.URL, r.Error)
		}
	}
	gopher, err := participant.Join(ctx, owner, c.CID, participant.Options{Audio: true, Video: true, Loopback: true})
	if err != nil {
		t.Fatalf("the Go participant joins: %v", err)
	}
	defer gopher.Close()
	page := testenv.NewBrowser(t).Page(t)
	page.Log = s.Output
	testenv.OpenMeeting(page, s.URL, c.CID, "Gina", "")
	testenv.ClickJoin(page)
	page.WaitState("joined", 30*time.Second)
	testenv.WaitMediaFrom(t, page, "Gina", gopher.ID())
	waitFor(t, "the Go participant to receive the browser's video", 30*time.Second, func() bool {
		packets, _ := gopher.Received(testenv.You(page), protocol.Camera)
		return packets > 20
	})
	var types map[string]string
	page.Eval(selectedCandidateTypes, &types)
	if types["publish"] != "relay" || types["subscribe"] != "relay" {
		t.Errorf("the browser's selected local candidates are %v, want relay on both connections", types)
	}
}
