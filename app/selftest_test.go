package app_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleyhq/parley/app/testenv"
	"github.com/parleyhq/parley/server/client"
)

// selfTestResult is what the /test page exposes as window.parleySelfTest.
type selfTestResult struct {
	Done   bool `json:"done"`
	Checks map[string]struct {
		OK      *bool  `json:"ok"`
		Message string `json:"message"`
		Advice  string `json:"advice"`
		Pair    *struct {
			Protocol  string `json:"protocol"`
			LocalType string `json:"localType"`
		} `json:"pair"`
	} `json:"checks"`
}

var selfTestChecks = []string{"signalling", "udp", "tcp", "relay", "devices"}

// runSelfTest opens the connection test page at base, waits for its
// verdict and keeps a screenshot of it.
func runSelfTest(t *testing.T, s *testenv.Server, base, screenshot string) selfTestResult {
	t.Helper()
	page := testenv.NewBrowser(t).Page(t)
	page.Log = s.Output
	page.Do("open the connection test", chromedp.Navigate(base+"test"))
	page.WaitFor("the connection test to finish", `window.parleySelfTest && window.parleySelfTest.done`, 90*time.Second)
	var result selfTestResult
	page.Eval(`window.parleySelfTest`, &result)
	for _, name := range selfTestChecks {
		if check, ok := result.Checks[name]; !ok || check.OK == nil || check.Message == "" {
			t.Errorf("the %s check has no verdict: %+v", name, check)
		}
	}
	var shown bool
	page.Eval(`document.querySelectorAll('.check[data-state="running"]').length === 0 && document.querySelector('#summary').dataset.state !== 'running'`, &shown)
	if !shown {
		t.Error("the page still shows checks running after it finished")
	}
	page.Screenshot(filepath.Join(screenshotDir(t), screenshot))
	return result
}

// waitSubsystems waits until media and the built-in TURN server run: the
// checks test them.
func waitSubsystems(t *testing.T, c *client.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	waitFor(t, "media and the built-in TURN server to run", 30*time.Second, func() bool {
		status, err := c.Status(ctx)
		media, hasMedia := status.Subsystem("media")
		turn, hasTURN := status.Subsystem("turn")
		return err == nil && hasMedia && hasTURN && media.State == "running" && turn.State == "running"
	})
}

// TestSelfTestPagePassesOnLoopback opens /test without signing in on a
// server on loopback: every check passes, the UDP test connects over UDP
// and the TCP test over TCP.
func TestSelfTestPagePassesOnLoopback(t *testing.T) {
	s := testenv.StartServer(t, t.TempDir(), "--port", strconv.Itoa(freePort(t)), "--http-port", "-1", "--ice-loopback")
	waitSubsystems(t, clientOf(t, s))
	result := runSelfTest(t, s, s.URL, "selftest.png")
	for _, name := range selfTestChecks {
		if check := result.Checks[name]; check.OK == nil || !*check.OK {
			t.Errorf("the %s check fails on loopback: %s %s", name, check.Message, check.Advice)
		}
	}
	for _, transport := range []string{"udp", "tcp"} {
		check := result.Checks[transport]
		if check.Pair == nil || check.Pair.Protocol != transport {
			t.Errorf("the %s check connected over %+v, want %s", transport, check.Pair, transport)
		}
	}
}

// TestSelfTestPageWithoutUDP runs the server in a namespace whose firewall
// passes TCP on the HTTPS port and nothing else (as TestOnePortWithoutUDP):
// the UDP check fails and says so in plain words, naming the port to open;
// the TCP check passes over TCP.
func TestSelfTestPageWithoutUDP(t *testing.T) {
	s, base, dir := udpBlockedServer(t, "198.18.4")
	ca, err := os.ReadFile(filepath.Join(dir, "tls", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(base, client.Options{CACertPEM: ca})
	if err != nil {
		t.Fatal(err)
	}
	waitSubsystems(t, c)
	result := runSelfTest(t, s, base, "selftest-udp-blocked.png")

	udp, tcp := result.Checks["udp"], result.Checks["tcp"]
	if udp.OK == nil || *udp.OK {
		t.Errorf("the UDP check passes through a firewall that drops UDP: %s", udp.Message)
	}
	if want := "UDP is blocked on your network: audio and video still work over TCP, but may lag."; udp.Message != want {
		t.Errorf("the UDP check says %q, want %q", udp.Message, want)
	}
	if want := "Ask your IT to allow UDP port " + strconv.Itoa(s.Port) + " to 198.18.4.5."; udp.Advice != want {
		t.Errorf("the UDP check advises %q, want %q", udp.Advice, want)
	}
	if tcp.OK == nil || !*tcp.OK || tcp.Pair == nil || tcp.Pair.Protocol != "tcp" {
		t.Errorf("the TCP check through the open HTTPS port: %+v", tcp)
	}
	if signalling := result.Checks["signalling"]; signalling.OK == nil || !*signalling.OK {
		t.Errorf("the signalling check fails over the open HTTPS port: %s", signalling.Message)
	}
	if relay := result.Checks["relay"]; relay.OK == nil || *relay.OK || !strings.Contains(relay.Message, "cannot be reached") {
		t.Errorf("the relay check, its port closed: %+v", relay)
	}
}
