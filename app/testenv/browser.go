package testenv

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Browser starts a headless Chromium (Debian's package) for one test and
// returns a context to drive it with chromedp. Fake camera and microphone
// are on, so later tests can join meetings; nothing reaches the network
// beyond the servers the test starts.
func Browser(t testing.TB) context.Context {
	t.Helper()
	chromium := RequireTool(t, "chromium", "chromium")
	profile := t.TempDir()
	options := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(profile),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.WindowSize(1200, 900),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns"),
		// The test servers use Parley's own CA, which this fresh profile
		// does not know; certificate trust is tested with curl --cacert.
		chromedp.Flag("ignore-certificate-errors", true),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), options...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	// The first call starts the browser, which lives as long as the context
	// of that call: it must carry no timeout. Later steps get one.
	if err := chromedp.Do(browserCtx, chromedp.Navigate("about:blank")); err != nil {
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(browserCtx, 2*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelBrowser()
		cancelAlloc()
		_ = os.RemoveAll(profile)
	})
	return ctx
}
