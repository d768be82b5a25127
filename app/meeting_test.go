package app_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleyhq/parley/app/testenv"
	"github.com/parleyhq/parley/media/participant"
)

// These scenarios run the real server with loopback ICE and real Chromium
// pages with fake cameras and microphones: the browser client, signalling,
// the SFU and WebRTC end to end.

// signIn signs a page in as a user through the landing page.
func signIn(page *testenv.Page, s *testenv.Server, login, password string) {
	page.Do("sign in as "+login,
		chromedp.Navigate(s.URL),
		chromedp.WaitVisible("#sign-in-form"),
		chromedp.SendKeys("#sign-in-login", login),
		chromedp.SendKeys("#sign-in-password", password),
		chromedp.Click("#sign-in-form button[type=submit]"),
		chromedp.WaitVisible("#view-signed-in"),
	)
}

// screenshotDir is where tests keep screenshots worth looking at:
// $PARLEY_SCREENSHOTS if set, else the test's temporary folder.
func screenshotDir(t *testing.T) string {
	if dir := os.Getenv("PARLEY_SCREENSHOTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

func sendChat(page *testenv.Page, text string) {
	var open bool
	page.Eval(`!document.querySelector('#chat-input') || document.querySelector('#chat-input').offsetParent !== null`, &open)
	if !open {
		page.Do("open the chat", chromedp.Click("#chat-toggle"))
	}
	page.Do("send a chat message", chromedp.WaitVisible("#chat-input"), chromedp.SendKeys("#chat-input", text), chromedp.Click("#chat-send"))
}

func waitChat(page *testenv.Page, text string) {
	page.WaitFor("chat "+text, `window.parley.chat().some(m => m.text === `+jsString(text)+`)`, 20*time.Second)
}

func jsString(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }

// TestThreeBrowsersMeet joins three browsers to one public conference:
// each decodes the others' video and receives their audio, chat reaches
// everyone and survives a reconnect.
func TestThreeBrowsersMeet(t *testing.T) {
	s, _, c := meetingServer(t, map[string]any{"name": "Monday planning", "lobby": "off"})
	browser := testenv.NewBrowser(t)
	boss, gina, ralf := browser.Page(t), browser.Page(t), browser.Page(t)
	for _, page := range []*testenv.Page{boss, gina, ralf} {
		page.Log = s.Output
	}
	signIn(boss, s, "boss", ownerPassword)
	testenv.OpenMeeting(boss, s.URL, c.CID, "", "")
	testenv.ClickJoin(boss)
	boss.WaitState("joined", 30*time.Second)
	testenv.OpenMeeting(gina, s.URL, c.CID, "Gina", "")
	testenv.ClickJoin(gina)
	gina.WaitState("joined", 30*time.Second)
	testenv.OpenMeeting(ralf, s.URL, c.CID, "Ralf", "")
	testenv.ClickJoin(ralf)
	ralf.WaitState("joined", 30*time.Second)
	bossID, ginaID, ralfID := testenv.You(boss), testenv.You(gina), testenv.You(ralf)

	testenv.WaitMediaFrom(t, boss, "boss", ginaID, ralfID)
	testenv.WaitMediaFrom(t, gina, "gina", bossID, ralfID)
	testenv.WaitMediaFrom(t, ralf, "ralf", bossID, ginaID)
	boss.Screenshot(filepath.Join(screenshotDir(t), "meeting-three.png"))

	sendChat(boss, "Hello from the boss")
	waitChat(gina, "Hello from the boss")
	waitChat(ralf, "Hello from the boss")

	var dropped bool
	gina.Eval(`(window.parley.dropConnection(), true)`, &dropped)
	gina.WaitState("joined", 40*time.Second)
	if id := testenv.You(gina); id != ginaID {
		t.Errorf("after reconnecting Gina is %s, was %s", id, ginaID)
	}
	waitChat(gina, "Hello from the boss")
	sendChat(ralf, "Welcome back, Gina")
	waitChat(gina, "Welcome back, Gina")
	sendChat(gina, "Thanks")
	waitChat(boss, "Thanks")
	testenv.WaitMediaFrom(t, gina, "gina after reconnecting", bossID, ralfID)

	// A media path that broke while signalling stayed up: ICE restarts on
	// both connections, and media flows again both ways.
	const ufrags = `[window.parley.pcs.publish.localDescription.sdp, window.parley.pcs.subscribe.remoteDescription.sdp]
		.map(sdp => sdp.match(/a=ice-ufrag:(\S+)/)[1]).join(' ')`
	var before string
	ralf.Eval(ufrags, &before)
	var restarted bool
	ralf.Eval(`(window.parley.restartIce(), true)`, &restarted)
	ralf.WaitFor("new ICE credentials on both connections", `(() => { const [p, s] = (`+ufrags+`).split(' '); const [p0, s0] = '`+before+`'.split(' '); return p !== p0 && s !== s0; })()`, 30*time.Second)
	testenv.WaitMediaFrom(t, ralf, "ralf after an ICE restart", bossID, ginaID)
	testenv.WaitMediaFrom(t, boss, "boss after ralf's ICE restart", ralfID)
}

// TestLobbyPINLockAndModeration walks a moderator through the lobby, a
// PIN, a forced mute, a removal and a lock, each seen from the other side.
func TestLobbyPINLockAndModeration(t *testing.T) {
	s, _, c := meetingServer(t, map[string]any{"lobby": "guests", "pin": "4711"})
	browser := testenv.NewBrowser(t)
	boss, gina, ralf, late := browser.Page(t), browser.Page(t), browser.Page(t), browser.Page(t)
	for _, page := range []*testenv.Page{boss, gina, ralf, late} {
		page.Log = s.Output
	}
	signIn(boss, s, "boss", ownerPassword)
	testenv.OpenMeeting(boss, s.URL, c.CID, "", "")
	testenv.ClickJoin(boss)
	boss.WaitState("joined", 30*time.Second)

	testenv.OpenMeeting(gina, s.URL, c.CID, "Gina", "0000")
	testenv.ClickJoin(gina)
	gina.WaitFor("the wrong PIN to be refused", `window.parley.lastError === 'wrong_pin'`, 20*time.Second)
	if shown := gina.Text("#error-message"); !strings.Contains(strings.ToLower(shown), "pin") {
		t.Errorf("a wrong PIN shows %q", shown)
	}
	var cleared bool
	gina.Eval(`(document.querySelector('#pin').value = '') === ''`, &cleared)
	gina.Do("enter the right PIN", chromedp.SendKeys("#pin", "4711"), chromedp.Click("#join"))
	gina.WaitState("lobby", 20*time.Second)

	boss.WaitFor("Gina in the lobby", `window.parley.lobby().some(p => p.name === 'Gina')`, 20*time.Second)
	var ginaID string
	boss.Eval(`window.parley.lobby().find(p => p.name === 'Gina').id`, &ginaID)
	boss.Do("admit Gina", chromedp.Click(`#participants-toggle`), chromedp.WaitVisible(`.participant[data-participant="`+ginaID+`"] [data-action="admit"]`),
		chromedp.Click(`.participant[data-participant="`+ginaID+`"] [data-action="admit"]`))
	gina.WaitState("joined", 30*time.Second)

	testenv.OpenMeeting(ralf, s.URL, c.CID, "Ralf", "4711")
	testenv.ClickJoin(ralf)
	ralf.WaitState("lobby", 20*time.Second)
	boss.WaitFor("Ralf in the lobby", `window.parley.lobby().some(p => p.name === 'Ralf')`, 20*time.Second)
	var ralfID string
	boss.Eval(`window.parley.lobby().find(p => p.name === 'Ralf').id`, &ralfID)
	boss.Do("refuse Ralf", chromedp.WaitVisible(`.participant[data-participant="`+ralfID+`"] [data-action="refuse"]`),
		chromedp.Click(`.participant[data-participant="`+ralfID+`"] [data-action="refuse"]`))
	ralf.WaitState("refused", 20*time.Second)

	// A forced mute: Gina's microphone is muted and she cannot unmute.
	var forced bool
	boss.Eval(`document.querySelector('#force-mute').checked`, &forced)
	if !forced {
		boss.Do("force mutes", chromedp.Click("#force-mute"))
	}
	ginaRow := `.participant[data-participant="` + ginaID + `"]`
	boss.Do("mute Gina", chromedp.WaitVisible(ginaRow+` [data-action="mute-microphone"]`), chromedp.Click(ginaRow+` [data-action="mute-microphone"]`))
	gina.WaitFor("Gina to be muted by force", `window.parley.you.muted.microphone && window.parley.you.forced.microphone`, 20*time.Second)
	gina.WaitFor("the unmute button to be refused", `document.querySelector('#mic-toggle').disabled || document.querySelector('#mic-toggle').getAttribute('aria-disabled') === 'true'`, 10*time.Second)
	boss.WaitFor("the roster to show Gina muted", `window.parley.participants().some(p => p.id === '`+ginaID+`' && p.muted.microphone)`, 10*time.Second)

	boss.Do("remove Gina", chromedp.Click(ginaRow+` [data-action="remove"]`), chromedp.WaitVisible("#confirm-ok"), chromedp.Click("#confirm-ok"))
	gina.WaitState("removed", 20*time.Second)
	boss.WaitFor("Gina gone", `!window.parley.participants().some(p => p.id === '`+ginaID+`')`, 10*time.Second)

	boss.Do("lock the meeting", chromedp.WaitVisible("#lock-toggle"), chromedp.Click("#lock-toggle"))
	boss.WaitFor("the lock", `window.parley.conference.locked`, 10*time.Second)
	testenv.OpenMeeting(late, s.URL, c.CID, "Latecomer", "4711")
	testenv.ClickJoin(late)
	late.WaitFor("the lock to refuse the newcomer", `window.parley.lastError === 'locked'`, 20*time.Second)
	if shown := late.Text("#error-message"); !strings.Contains(strings.ToLower(shown), "locked") {
		t.Errorf("a locked conference shows %q", shown)
	}
}

// TestSmallTileGetsTheLowLayer has a Go participant publish three
// simulcast layers and a browser watch it in a phone-sized window, then a
// large one: the browser receives the quarter layer, then a larger one.
func TestSmallTileGetsTheLowLayer(t *testing.T) {
	s, owner, c := meetingServer(t, map[string]any{"lobby": "off"})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	publisher, err := participant.Join(ctx, owner, c.CID, participant.Options{Video: true, Audio: true, Simulcast: true,
		Width: 1280, Height: 720, FPS: 15, Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer publisher.Close()
	// Three people in a window the size of a phone on its side: each tile
	// is about 200x110, which the quarter layer (320x180) covers, so that
	// is the layer the SFU must send. (A tile must be covered both ways:
	// videos fill their tiles.)
	other, err := participant.Join(ctx, clientOf(t, s), c.CID, participant.Options{Name: "Other", Video: true, Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	page := testenv.NewBrowser(t).Page(t)
	page.Log = s.Output
	page.Do("use a small window", chromedp.EmulateViewport(640, 360))
	testenv.OpenMeeting(page, s.URL, c.CID, "Watcher", "")
	testenv.ClickJoin(page)
	page.WaitState("joined", 30*time.Second)
	waitWidth := func(what string, ok func(int) bool) int {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			_, width, _ := testenv.Received(page).Video(publisher.ID())
			if width > 0 && ok(width) {
				return width
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: receiving width %d", what, width)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	var layers map[string]struct{ Width, Height int }
	page.WaitFor("a small tile to be reported", `Object.values(window.parley.layers()).some(l => l.width > 0 && l.width <= 320 && l.height <= 180)`, 30*time.Second)
	page.Eval(`window.parley.layers()`, &layers)
	small := waitWidth("the low layer in a small tile", func(w int) bool { return w <= 320 })
	page.Do("use a large window", chromedp.EmulateViewport(1600, 1000))
	large := waitWidth("a larger layer in a large tile", func(w int) bool { return w > 320 })
	t.Logf("received %d px wide in a small tile (asked %v), %d px in a large one", small, layers, large)
}

// screenShown reports whether a page shows a participant's screen share
// with a decoded picture.
const screenShownScript = `[...document.querySelectorAll('.tile[data-source="screen"] video')].some(v => v.videoWidth > 0)`

// TestScreenShareStopsAndStartsAgain shares a (fake) screen, stops, and
// shares again: the other page shows it, then not, then again.
func TestScreenShareStopsAndStartsAgain(t *testing.T) {
	s, _, c := meetingServer(t, map[string]any{"lobby": "off"})
	browser := testenv.NewBrowser(t)
	ann, bob := browser.Page(t), browser.Page(t)
	for _, page := range []*testenv.Page{ann, bob} {
		page.Log = s.Output
	}
	testenv.OpenMeeting(ann, s.URL, c.CID, "Ann", "")
	testenv.ClickJoin(ann)
	ann.WaitState("joined", 30*time.Second)
	testenv.OpenMeeting(bob, s.URL, c.CID, "Bob", "")
	testenv.ClickJoin(bob)
	bob.WaitState("joined", 30*time.Second)
	annID := testenv.You(ann)

	for round := 1; round <= 2; round++ {
		ann.Do("share the screen", chromedp.Click("#screen-toggle"))
		bob.WaitFor("Ann's screen", screenShownScript, 30*time.Second)
		bob.WaitFor("Ann marked as sharing", `window.parley.participants().some(p => p.id === '`+annID+`' && p.screen)`, 10*time.Second)
		ann.Do("stop sharing", chromedp.Click("#screen-toggle"))
		bob.WaitFor("the screen tile to go", `!document.querySelector('.tile[data-source="screen"]')`, 30*time.Second)
		bob.WaitFor("Ann no longer sharing", `window.parley.participants().some(p => p.id === '`+annID+`' && !p.screen)`, 10*time.Second)
	}
}
