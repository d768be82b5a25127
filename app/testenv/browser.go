package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Browser is a headless Chromium (Debian's package) for one test. Fake
// camera and microphone are on, and loopback ICE is allowed, so pages can
// join meetings on a server on loopback; nothing reaches the network
// beyond the servers the test starts.
type Browser struct {
	root context.Context
}

// NewBrowser starts Chromium; it stops when the test ends.
func NewBrowser(t testing.TB) *Browser {
	t.Helper()
	chromium := RequireTool(t, "chromium", "chromium")
	options := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns"),
		// Pages in background tabs must keep their timers and media going.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		// The test servers use Parley's own CA, which this fresh profile
		// does not know; certificate trust is tested with curl --cacert.
		chromedp.Flag("ignore-certificate-errors", true),
	}
	// Chromium now and then exits at launch before it says where DevTools
	// listen (seen on a loaded 2-core CI machine); a second launch works.
	const launches = 3
	var (
		root                    context.Context
		cancelRoot, cancelAlloc context.CancelFunc
		profile                 string
	)
	for launch := 1; ; launch++ {
		profile = t.TempDir() // a fresh profile: nothing left by a failed launch
		var allocCtx context.Context
		allocCtx, cancelAlloc = chromedp.NewExecAllocator(context.Background(), append(options, chromedp.UserDataDir(profile))...)
		root, cancelRoot = chromedp.NewContext(allocCtx)
		// The first call starts the browser, which lives as long as the
		// context of that call: it must carry no timeout.
		err := chromedp.Do(root, chromedp.Navigate("about:blank"))
		if err == nil {
			break
		}
		cancelRoot()
		cancelAlloc()
		if launch == launches {
			t.Fatalf("start chromium (%d launches): %v", launches, err)
		}
		t.Logf("chromium did not start (launch %d of %d), launching again: %v", launch, launches, err)
	}
	t.Cleanup(func() {
		cancelRoot()
		cancelAlloc()
		_ = os.RemoveAll(profile)
	})
	return &Browser{root: root}
}

// Page is one tab with its own cookies, as if another person's browser.
type Page struct {
	t   testing.TB
	Ctx context.Context
	// Log is printed with a failure (the server's output, say).
	Log func() string
}

// Page opens a tab in a browser context of its own.
func (b *Browser) Page(t testing.TB) *Page {
	t.Helper()
	tab, cancelTab := chromedp.NewContext(b.root, chromedp.WithNewBrowserContext())
	if err := chromedp.Do(tab, chromedp.Navigate("about:blank")); err != nil {
		cancelTab()
		t.Fatalf("open a tab: %v", err)
	}
	ctx, cancel := context.WithTimeout(tab, 5*time.Minute)
	t.Cleanup(func() {
		cancel()
		cancelTab()
	})
	return &Page{t: t, Ctx: ctx}
}

// Do runs steps, failing the test with what the page shows if they fail
// or take longer than 30 s.
func (p *Page) Do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.Ctx, 30*time.Second)
	defer cancel()
	err := chromedp.Do(ctx, steps...)
	// Tests add and remove network links; a page load that a browser
	// dropped because of it is tried again.
	for retry := 0; retry < 2 && err != nil && strings.Contains(err.Error(), "ERR_NETWORK_CHANGED"); retry++ {
		time.Sleep(time.Second)
		err = chromedp.Do(ctx, steps...)
	}
	if err != nil {
		p.fail("%s: %v", what, err)
	}
}

func (p *Page) fail(format string, args ...any) {
	p.t.Helper()
	shown, _ := chromedp.Run(p.Ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 2000) : ""`))
	state, _ := chromedp.Run(p.Ctx, chromedp.Evaluate[string](`JSON.stringify(window.parley ? {state: parley.state, lastError: parley.lastError} : null)`))
	message := fmt.Sprintf(format, args...) + "\npage state: " + state + "\npage shows:\n" + shown
	if p.Log != nil {
		message += "\n" + p.Log()
	}
	p.t.Fatal(message)
}

// Text returns the visible text of an element.
func (p *Page) Text(selector string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.Ctx, 30*time.Second)
	defer cancel()
	text, err := chromedp.Run(ctx, chromedp.Text(selector))
	if err != nil {
		p.fail("read %s: %v", selector, err)
	}
	return text
}

// Eval evaluates a JavaScript expression (awaiting a promise) and decodes
// its JSON-serialisable value into out.
func (p *Page) Eval(expression string, out any) {
	p.t.Helper()
	evalInto(p, expression, out)
}

// evaluate returns the JSON of an expression's value.
func (p *Page) evaluate(expression string) (string, error) {
	ctx, cancel := context.WithTimeout(p.Ctx, 30*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => JSON.stringify(await (`+expression+`)))()`, chromedp.EvalAwaitPromise))
}

// scriptedPage is a browser page a test drives with JavaScript: Chromium
// (Page) or Firefox.
type scriptedPage interface {
	evaluate(expression string) (string, error)
	fail(format string, args ...any)
}

// evalInto evaluates an expression on page and decodes its value into out.
func evalInto(page scriptedPage, expression string, out any) {
	raw, err := page.evaluate(expression)
	if err != nil {
		page.fail("evaluate %s: %v", expression, err)
	}
	if err := json.Unmarshal([]byte(raw), out); err != nil {
		page.fail("decode %s: %v", raw, err)
	}
}

// waitFor polls a JavaScript condition on page until it is true. An
// evaluation that fails is tried again: the page may be navigating, as
// when an answered call opens the meeting.
func waitFor(page scriptedPage, what, condition string, within time.Duration) {
	deadline := time.Now().Add(within)
	var lastErr error
	for {
		raw, err := page.evaluate("Boolean(" + condition + ")")
		if err == nil && raw == "true" {
			return
		}
		if err != nil {
			lastErr = err
		}
		if time.Now().After(deadline) {
			if lastErr != nil {
				page.fail("timed out after %v waiting for %s (%s); last error: %v", within, what, condition, lastErr)
			}
			page.fail("timed out after %v waiting for %s (%s)", within, what, condition)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// meetingState is the condition of the meeting page being in state.
func meetingState(state string) string {
	return "window.parley && window.parley.state === " + quote(state)
}

// WaitFor polls a JavaScript condition until it is true.
func (p *Page) WaitFor(what, condition string, within time.Duration) {
	p.t.Helper()
	waitFor(p, what, condition, within)
}

// WaitState waits until the meeting page reaches a state.
func (p *Page) WaitState(state string, within time.Duration) {
	p.t.Helper()
	waitFor(p, "state "+state, meetingState(state), within)
}

// Screenshot saves the whole page as a PNG.
func (p *Page) Screenshot(path string) {
	p.t.Helper()
	png, err := chromedp.Run(p.Ctx, chromedp.FullScreenshot(100)) // 100 makes a PNG; less, a JPEG
	if err != nil {
		p.fail("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

func quote(s string) string {
	encoded, _ := json.Marshal(s)
	return strings.TrimSpace(string(encoded))
}
