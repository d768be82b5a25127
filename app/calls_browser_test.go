package app_test

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleyhq/parley/app/testenv"
)

// TestCallsInTheBrowser has Anna call Bob from the landing page, each in
// their own Chromium page: Bob declines with a message, which Anna sees;
// Anna calls again, Bob accepts, and both end up in the same conference.
func TestCallsInTheBrowser(t *testing.T) {
	dir := t.TempDir()
	for _, u := range []struct{ login, name, password string }{
		{"boss", "The Boss", ownerPassword},
		{"anna", "Anna Berg", "Berg-Secret-41"},
		{"bob", "Bob Meyer", "Meyer-Secret-42"},
	} {
		args := []string{"user", "add", u.login, "--name", u.name, "--data", dir}
		if u.login == "boss" {
			args = append(args, "--role", "owner") // else the server waits to be set up
		}
		if out, err := testenv.Run(t, u.password+"\n", args...); err != nil {
			t.Fatalf("add %s: %v\n%s", u.login, err, out)
		}
	}
	s := testenv.StartServer(t, dir, "--port", strconv.Itoa(freePort(t)), "--http-port", "-1", "--ice-loopback")
	browser := testenv.NewBrowser(t)
	anna, bob := browser.Page(t), browser.Page(t)
	anna.Log, bob.Log = s.Output, s.Output
	shots := screenshotDir(t)

	signIn(anna, s, "anna", "Berg-Secret-41")
	signIn(bob, s, "bob", "Meyer-Secret-42")
	anna.WaitFor("Anna reachable for calls", `window.parleyCalls && window.parleyCalls.state === 'ready'`, 15*time.Second)
	bob.WaitFor("Bob reachable for calls", `window.parleyCalls && window.parleyCalls.state === 'ready'`, 15*time.Second)

	var bobID int
	anna.Eval(`fetch('/api/v1/directory?q=bob').then(r => r.json()).then(d => d.users.find(u => u.login === 'bob').id)`, &bobID)
	person := `.person[data-user="` + strconv.Itoa(bobID) + `"]`
	callBob := person + ` [data-action="call"]`
	bobAvailable := func(what string) {
		t.Helper()
		anna.WaitFor(what, `(() => { const p = document.querySelector('`+person+` .presence');
			const b = document.querySelector('`+callBob+`');
			return p && p.dataset.presence === 'available' && b && !b.disabled; })()`, 20*time.Second)
	}
	// A search reloads the list at once rather than at the next refresh.
	anna.Do("search for Bob", chromedp.SendKeys("#people-search", "bob"))
	bobAvailable("Bob available to Anna")
	if got := anna.Text(person + " .presence"); !strings.Contains(got, "Available") {
		t.Errorf("Bob's presence reads %q", got)
	}
	anna.Screenshot(filepath.Join(shots, "people-desktop.png"))

	// First call: Bob declines with a quick message.
	anna.Do("call Bob", chromedp.Click(callBob))
	anna.WaitFor("Anna calling", `window.parleyCalls.state === 'calling' && document.querySelector('#call-dialog').open`, 10*time.Second)
	bob.WaitFor("the call to ring at Bob's", `window.parleyCalls.state === 'ringing' && document.querySelector('#incoming-dialog').open`, 10*time.Second)
	if from := bob.Text("#incoming-from"); from != "Anna Berg" {
		t.Errorf("the incoming call is from %q", from)
	}
	anna.WaitFor("Anna's call ringing", `document.querySelector('#call-status').textContent.includes('Ringing')`, 10*time.Second)
	anna.Screenshot(filepath.Join(shots, "calling-desktop.png"))
	bob.WaitFor("the tab title to flash", `document.title.includes('Anna Berg is calling')`, 5*time.Second)
	bob.Screenshot(filepath.Join(shots, "incoming-desktop.png"))
	bob.Do("pick a message", chromedp.Click(`#incoming-quick [data-reason="In a meeting"]`))
	var reason string
	bob.Eval(`document.querySelector('#incoming-reason').value`, &reason)
	if reason != "In a meeting" {
		t.Errorf("the quick pick filled in %q", reason)
	}
	bob.Do("decline", chromedp.Click("#incoming-decline"))
	anna.WaitFor("the decline", `window.parleyCalls.lastEnded && window.parleyCalls.lastEnded.reason === 'declined' && window.parleyCalls.state === 'ready'`, 10*time.Second)
	var ended struct{ Reason, Message string }
	anna.Eval(`window.parleyCalls.lastEnded`, &ended)
	if ended.Message != "In a meeting" {
		t.Errorf("Anna's call ended with %+v", ended)
	}
	if shown := anna.Text("#call-notice"); !strings.Contains(shown, "Bob Meyer declined") || !strings.Contains(shown, "In a meeting") {
		t.Errorf("Anna sees %q after the decline", shown)
	}
	var open bool
	anna.Eval(`document.querySelector('#call-dialog').open`, &open)
	if open {
		t.Error("the calling dialog stays open after the decline")
	}
	bob.WaitFor("Bob's dialog closed and the ring stopped", `window.parleyCalls.state === 'ready' && !document.querySelector('#incoming-dialog').open && !window.parleyCalls.sound`, 10*time.Second)

	// Anna hangs up while it rings: a missed call for Bob.
	bobAvailable("Bob available after declining")
	anna.Do("call Bob and hang up", chromedp.Click(callBob))
	bob.WaitFor("the call to ring again", `window.parleyCalls.state === 'ringing'`, 10*time.Second)
	anna.Do("hang up", chromedp.WaitVisible("#call-hangup"), chromedp.Click("#call-hangup"))
	anna.WaitFor("the cancel", `window.parleyCalls.lastEnded.reason === 'cancelled' && window.parleyCalls.state === 'ready'`, 10*time.Second)
	bob.WaitFor("the missed call", `window.parleyCalls.lastEnded && window.parleyCalls.lastEnded.reason === 'cancelled' && window.parleyCalls.state === 'ready'`, 10*time.Second)
	if shown := bob.Text("#call-notice"); !strings.Contains(shown, "Missed call from Anna Berg") {
		t.Errorf("Bob sees %q after Anna hung up", shown)
	}

	// Bob's connection drops and comes back: he is reachable again.
	var connections int
	bob.Eval(`(window.parleyCalls.dropConnection(), window.parleyCalls.connections)`, &connections)
	bob.WaitFor("Bob reconnected", `window.parleyCalls.connections > `+strconv.Itoa(connections)+
		` && window.parleyCalls.state === 'ready' && document.querySelector('#calls-offline').hidden`, 15*time.Second)

	// Second call, on phone-sized screens: Bob accepts.
	for _, page := range []*testenv.Page{anna, bob} {
		page.Do("use a phone-sized window", chromedp.EmulateViewport(390, 844))
	}
	bobAvailable("Bob available again")
	anna.Screenshot(filepath.Join(shots, "people-phone.png"))
	anna.Do("call Bob again", chromedp.Click(callBob))
	bob.WaitFor("the second call to ring", `window.parleyCalls.state === 'ringing' && document.querySelector('#incoming-dialog').open`, 10*time.Second)
	bob.Screenshot(filepath.Join(shots, "incoming-phone.png"))
	bob.Do("accept", chromedp.Click("#incoming-accept"))

	var cids [2]string
	for i, page := range []*testenv.Page{anna, bob} {
		// An answered call joins without a click on the pre-join screen.
		page.WaitState("joined", 30*time.Second)
		page.Eval(`window.parley.conference.cid`, &cids[i])
		var path string
		page.Eval(`location.pathname`, &path)
		if path != "/c/"+cids[i] {
			t.Errorf("page %d is on %s in conference %s", i, path, cids[i])
		}
	}
	if cids[0] == "" || cids[0] != cids[1] {
		t.Fatalf("Anna is in conference %q, Bob in %q", cids[0], cids[1])
	}
	anna.WaitFor("Bob in Anna's call", `window.parley.participants().length === 2`, 15*time.Second)
}
