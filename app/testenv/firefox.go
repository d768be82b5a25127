//go:build unix

package testenv

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Firefox is a headless Firefox ESR (Debian's package) showing one page.
// Debian has no geckodriver, so the test speaks Marionette, the remote
// protocol built into Firefox, itself. As with Browser, the camera and
// microphone are fake and loopback ICE is allowed; nothing may reach the
// network beyond the servers the test starts (see firefoxPrefs).
type Firefox struct {
	t      testing.TB
	cmd    *exec.Cmd
	exited chan struct{}
	output *firefoxOutput
	conn   net.Conn
	reader *bufio.Reader
	lastID int
	// Log is printed with a failure (the server's output, say).
	Log func() string
}

// firefoxPrefs is the profile's user.js. Firefox phones home at startup
// (updates, telemetry, remote settings, safe browsing...): each feature is
// turned off, and whatever is left goes to a proxy on loopback where
// nothing listens. On top of that, MOZ_DISABLE_NONLOCAL_CONNECTIONS makes
// Firefox abort rather than connect anywhere but loopback.
const firefoxPrefs = `// Written by Parley's tests (app/testenv/firefox.go).
// Marionette on a port the system picks; Firefox writes it to MarionetteActivePort.
user_pref("marionette.port", 0);

// Every HTTP(S) request but those to the test server goes to a dead proxy.
user_pref("network.proxy.type", 1);
user_pref("network.proxy.http", "127.0.0.1");
user_pref("network.proxy.http_port", 9);
user_pref("network.proxy.ssl", "127.0.0.1");
user_pref("network.proxy.ssl_port", 9);
user_pref("network.proxy.no_proxies_on", "localhost,127.0.0.1");
user_pref("network.proxy.allow_hijacking_localhost", false);
user_pref("network.proxy.failover_direct", false);
user_pref("network.trr.mode", 5);
user_pref("network.dns.disablePrefetch", true);
user_pref("network.prefetch-next", false);
user_pref("network.http.speculative-parallel-limit", 0);
user_pref("browser.urlbar.speculativeConnect.enabled", false);
user_pref("browser.places.speculativeConnect.enabled", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);

// Updates, telemetry, studies and remote settings.
user_pref("app.update.auto", false);
user_pref("app.update.disabledForTesting", true);
user_pref("app.update.background.enabled", false);
user_pref("app.update.staging.enabled", false);
user_pref("app.normandy.enabled", false);
user_pref("app.normandy.api_url", "");
user_pref("app.shield.optoutstudies.enabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("datareporting.healthreport.uploadEnabled", false);
user_pref("datareporting.usage.uploadEnabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("toolkit.telemetry.unified", false);
user_pref("toolkit.telemetry.archive.enabled", false);
user_pref("toolkit.telemetry.server", "");
user_pref("toolkit.telemetry.shutdownPingSender.enabled", false);
user_pref("toolkit.telemetry.newProfilePing.enabled", false);
user_pref("toolkit.telemetry.firstShutdownPing.enabled", false);
user_pref("toolkit.telemetry.updatePing.enabled", false);
user_pref("toolkit.telemetry.bhrPing.enabled", false);
user_pref("toolkit.coverage.opt-out", true);
// With MOZ_DISABLE_NONLOCAL_CONNECTIONS, this server makes remote settings skip all syncing.
user_pref("services.settings.server", "data:,#remote-settings-dummy/v1");
user_pref("extensions.update.enabled", false);
user_pref("extensions.systemAddon.update.enabled", false);
user_pref("extensions.getAddons.cache.enabled", false);
user_pref("extensions.blocklist.enabled", false);
user_pref("browser.search.update", false);
user_pref("browser.region.update.enabled", false);
user_pref("browser.region.network.url", "");
user_pref("geo.provider.network.url", "");
user_pref("browser.crashReports.unsubmittedCheck.enabled", false);
user_pref("browser.tabs.crashReporting.sendReport", false);

// Safe browsing, certificate checks that fetch lists, media plugins.
user_pref("browser.safebrowsing.malware.enabled", false);
user_pref("browser.safebrowsing.phishing.enabled", false);
user_pref("browser.safebrowsing.downloads.enabled", false);
user_pref("browser.safebrowsing.downloads.remote.enabled", false);
user_pref("browser.safebrowsing.blockedURIs.enabled", false);
user_pref("browser.safebrowsing.update.enabled", false);
user_pref("privacy.trackingprotection.enabled", false);
user_pref("security.OCSP.enabled", 0);
user_pref("security.remote_settings.crlite_filters.enabled", false);
user_pref("security.remote_settings.intermediates.enabled", false);
user_pref("security.certerrors.mitm.priming.enabled", false);
user_pref("media.gmp-manager.url", "http://127.0.0.1:9");
user_pref("media.gmp-manager.updateEnabled", false);
user_pref("media.gmp-gmpopenh264.enabled", false);
user_pref("media.gmp-widevinecdm.enabled", false);
user_pref("media.eme.enabled", false);
user_pref("dom.push.enabled", false);
user_pref("dom.push.connection.enabled", false);
user_pref("dom.push.serverURL", "");

// No first-run, welcome or new-tab pages, which load remote content.
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("browser.startup.page", 0);
user_pref("browser.startup.homepage", "about:blank");
user_pref("startup.homepage_welcome_url", "about:blank");
user_pref("startup.homepage_welcome_url.additional", "");
user_pref("datareporting.policy.firstRunURL", "");
user_pref("browser.aboutwelcome.enabled", false);
user_pref("browser.newtabpage.enabled", false);
user_pref("browser.newtabpage.activity-stream.feeds.system.topstories", false);
user_pref("browser.newtabpage.activity-stream.feeds.section.topstories", false);
user_pref("browser.topsites.contile.enabled", false);
user_pref("browser.discovery.enabled", false);
user_pref("browser.uitour.enabled", false);
user_pref("browser.translations.enable", false);
user_pref("browser.ml.enable", false);
user_pref("identity.fxaccounts.enabled", false);
user_pref("browser.backup.enabled", false);

// WebRTC on loopback only, with a fake camera and microphone that need
// no permission; no mDNS names, which the server could not resolve.
user_pref("media.navigator.streams.fake", true);
user_pref("media.navigator.permission.disabled", true);
user_pref("media.peerconnection.ice.loopback", true);

user_pref("media.peerconnection.ice.obfuscate_host_addresses", false);
user_pref("media.autoplay.default", 0);

// The page's console goes to Firefox's output, which a failure prints.
user_pref("devtools.console.stdout.content", true);
`

// webElementKey names a web element reference in WebDriver's JSON.
const webElementKey = "element-6066-11e4-a52e-4f735466cecf"

// commandTimeout bounds each Marionette command; Marionette's own script
// and page load timeouts are shorter, so they report first.
const commandTimeout = 30 * time.Second

// NewFirefox starts Firefox with a fresh profile and opens a Marionette
// session; it stops when the test ends.
func NewFirefox(t testing.TB) *Firefox {
	t.Helper()
	firefox := RequireTool(t, "firefox-esr", "firefox-esr")
	profile := t.TempDir() // removed after the cleanup below has killed Firefox
	if err := os.WriteFile(filepath.Join(profile, "user.js"), []byte(firefoxPrefs), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &Firefox{t: t, exited: make(chan struct{}), output: &firefoxOutput{}}
	f.cmd = exec.Command(firefox, "--headless", "--marionette", "--no-remote", "--profile", profile)
	f.cmd.Env = append(os.Environ(),
		"MOZ_DISABLE_NONLOCAL_CONNECTIONS=1", // abort on a connection beyond loopback
		"MOZ_CRASHREPORTER_DISABLE=1",        // a crash fails the test; no report to send
	)
	f.cmd.Stdout, f.cmd.Stderr = f.output, f.output
	// A process group of its own, so that the content processes stop with it.
	f.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	f.cmd.WaitDelay = 5 * time.Second
	if err := f.cmd.Start(); err != nil {
		t.Fatalf("start firefox: %v", err)
	}
	go func() {
		_ = f.cmd.Wait()
		close(f.exited)
	}()
	t.Cleanup(f.stop)

	if err := f.connect(filepath.Join(profile, "MarionetteActivePort")); err != nil {
		t.Fatalf("connect to firefox: %v\nfirefox printed:\n%s", err, f.output.tail())
	}
	session := map[string]any{
		// The test servers use Parley's own CA, which this fresh profile
		// does not know; certificate trust is tested with curl --cacert.
		"acceptInsecureCerts": true,
		"timeouts":            map[string]int{"script": 20000, "pageLoad": 20000, "implicit": 0},
	}
	if err := f.call("WebDriver:NewSession", session, nil); err != nil {
		t.Fatalf("start a marionette session: %v\nfirefox printed:\n%s", err, f.output.tail())
	}
	if err := f.call("WebDriver:SetWindowRect", map[string]int{"width": 1280, "height": 800}, nil); err != nil {
		t.Fatalf("size the firefox window: %v", err)
	}
	return f
}

// connect waits for Marionette to listen and reads its greeting.
func (f *Firefox) connect(portFile string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		// The file may be missing or half written yet: try again.
		text, err := os.ReadFile(portFile)
		if err == nil {
			f.conn, err = net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strings.TrimSpace(string(text))), 5*time.Second)
			if err == nil {
				break
			}
		}
		select {
		case <-f.exited:
			return errors.New("firefox exited before marionette listened")
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("marionette did not listen within 30s: %w", err)
		}
	}
	f.reader = bufio.NewReader(f.conn)
	_ = f.conn.SetDeadline(time.Now().Add(commandTimeout))
	packet, err := readPacket(f.reader)
	if err != nil {
		return fmt.Errorf("read marionette's greeting: %w", err)
	}
	var hello struct {
		ApplicationType    string `json:"applicationType"`
		MarionetteProtocol int    `json:"marionetteProtocol"`
	}
	if err := json.Unmarshal(packet, &hello); err != nil || hello.ApplicationType != "gecko" || hello.MarionetteProtocol != 3 {
		return fmt.Errorf("unexpected marionette greeting %s", packet)
	}
	return nil
}

// stop ends the session and kills Firefox with all its processes.
func (f *Firefox) stop() {
	if f.conn != nil {
		_ = f.call("WebDriver:DeleteSession", nil, nil)
		_ = f.conn.Close()
	}
	_ = syscall.Kill(-f.cmd.Process.Pid, syscall.SIGKILL)
	<-f.exited
}

// call sends a Marionette command, [0, id, name, params], and decodes the
// result of its answer, [1, id, error, result], into out unless nil.
func (f *Firefox) call(name string, params, out any) error {
	if params == nil {
		params = map[string]any{}
	}
	f.lastID++
	id := f.lastID
	body, err := json.Marshal([]any{0, id, name, params})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	_ = f.conn.SetDeadline(time.Now().Add(commandTimeout))
	if _, err := fmt.Fprintf(f.conn, "%d:%s", len(body), body); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	for {
		packet, err := readPacket(f.reader)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		var answer []json.RawMessage
		if err := json.Unmarshal(packet, &answer); err != nil || len(answer) != 4 {
			return fmt.Errorf("%s: unexpected answer %s", name, packet)
		}
		var answerID int
		if err := json.Unmarshal(answer[1], &answerID); err != nil {
			return fmt.Errorf("%s: unexpected answer %s", name, packet)
		}
		if answerID != id {
			continue // the late answer to a command that timed out
		}
		if string(answer[2]) != "null" {
			var failure struct{ Error, Message string }
			_ = json.Unmarshal(answer[2], &failure)
			return fmt.Errorf("%s: %s: %s", name, failure.Error, failure.Message)
		}
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(answer[3], out); err != nil {
			return fmt.Errorf("%s: decode %s: %w", name, answer[3], err)
		}
		return nil
	}
}

// readPacket reads one Marionette packet: its length in bytes, a colon,
// and that much JSON.
func readPacket(r *bufio.Reader) ([]byte, error) {
	prefix, err := r.ReadString(':')
	if err != nil {
		return nil, err
	}
	length, err := strconv.Atoi(strings.TrimSuffix(prefix, ":"))
	if err != nil || length < 0 {
		return nil, fmt.Errorf("bad packet length %q", prefix)
	}
	packet := make([]byte, length)
	if _, err := io.ReadFull(r, packet); err != nil {
		return nil, err
	}
	return packet, nil
}

// Navigate loads a page and waits for its load event.
func (f *Firefox) Navigate(url string) {
	f.t.Helper()
	if err := f.call("WebDriver:Navigate", map[string]string{"url": url}, nil); err != nil {
		f.fail("navigate to %s: %v", url, err)
	}
}

// Eval evaluates a JavaScript expression (awaiting a promise) and decodes
// its JSON-serialisable value into out.
func (f *Firefox) Eval(expression string, out any) {
	f.t.Helper()
	evalInto(f, expression, out)
}

// evaluate returns the JSON of an expression's value. Marionette runs
// the script in a sandbox that sees the page's own objects (window.parley)
// and awaits the promise it returns.
func (f *Firefox) evaluate(expression string) (string, error) {
	script := `return (async () => JSON.stringify(await (` + expression + `)))();`
	var result struct {
		Value *string `json:"value"`
	}
	if err := f.call("WebDriver:ExecuteScript", map[string]any{"script": script, "args": []any{}}, &result); err != nil {
		return "", err
	}
	if result.Value == nil { // JSON.stringify(undefined)
		return "null", nil
	}
	return *result.Value, nil
}

// WaitFor polls a JavaScript condition until it is true.
func (f *Firefox) WaitFor(what, condition string, within time.Duration) {
	f.t.Helper()
	waitFor(f, what, condition, within)
}

// WaitState waits until the meeting page reaches a state.
func (f *Firefox) WaitState(state string, within time.Duration) {
	f.t.Helper()
	waitFor(f, "state "+state, meetingState(state), within)
}

// Click clicks an element once it is shown, as a person would.
func (f *Firefox) Click(selector string) {
	f.t.Helper()
	if err := f.call("WebDriver:ElementClick", map[string]string{"id": f.shown(selector)}, nil); err != nil {
		f.fail("click %s: %v", selector, err)
	}
}

// SendKeys types text into an element once it is shown.
func (f *Firefox) SendKeys(selector, text string) {
	f.t.Helper()
	if err := f.call("WebDriver:ElementSendKeys", map[string]string{"id": f.shown(selector), "text": text}, nil); err != nil {
		f.fail("type into %s: %v", selector, err)
	}
}

// shown waits up to 10 s for an element to be visible and returns its
// WebDriver reference.
func (f *Firefox) shown(selector string) string {
	f.t.Helper()
	f.WaitFor(selector+" to show", `document.querySelector(`+quote(selector)+`)?.checkVisibility()`, 10*time.Second)
	var found struct {
		Value map[string]string `json:"value"`
	}
	if err := f.call("WebDriver:FindElement", map[string]string{"using": "css selector", "value": selector}, &found); err != nil {
		f.fail("find %s: %v", selector, err)
	}
	return found.Value[webElementKey]
}

// Screenshot saves the whole page as a PNG.
func (f *Firefox) Screenshot(path string) {
	f.t.Helper()
	var shot struct {
		Value string `json:"value"`
	}
	if err := f.call("WebDriver:TakeScreenshot", map[string]bool{"full": true}, &shot); err != nil {
		f.fail("screenshot: %v", err)
	}
	png, err := base64.StdEncoding.DecodeString(shot.Value)
	if err != nil {
		f.fail("decode the screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// fail ends the test with what the page shows, its state and what
// Firefox printed.
func (f *Firefox) fail(format string, args ...any) {
	f.t.Helper()
	message := fmt.Sprintf(format, args...)
	select {
	case <-f.exited:
		message += "\nfirefox has exited"
	default:
		state, err := f.evaluate(`window.parley ? {state: parley.state, lastError: parley.lastError} : null`)
		if err != nil {
			state = err.Error()
		}
		var shown string
		if raw, err := f.evaluate(`document.body ? document.body.innerText.slice(0, 2000) : ""`); err != nil {
			shown = err.Error()
		} else {
			_ = json.Unmarshal([]byte(raw), &shown)
		}
		message += "\npage state: " + state + "\npage shows:\n" + shown
	}
	message += "\nfirefox printed:\n" + f.output.tail()
	if f.Log != nil {
		message += "\n" + f.Log()
	}
	f.t.Fatal(message)
}

// PageErrors lists what pages reported as errors: uncaught exceptions
// and console.error calls from Parley's scripts, which prefix their
// messages with "parley:".
func (f *Firefox) PageErrors() []string {
	var reported []string
	for _, line := range strings.Split(f.output.String(), "\n") {
		if strings.HasPrefix(line, "JavaScript error: http") || strings.HasPrefix(line, `console.error: "parley:`) {
			reported = append(reported, line)
		}
	}
	return reported
}

// firefoxOutput keeps what Firefox printed, the last 1 MiB of it.
type firefoxOutput struct {
	mu   sync.Mutex
	text []byte
}

func (o *firefoxOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.text = append(o.text, p...)
	if excess := len(o.text) - 1<<20; excess > 0 {
		o.text = append(o.text[:0], o.text[excess:]...)
	}
	return len(p), nil
}

func (o *firefoxOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return string(o.text)
}

// tail is the end of the output, enough to explain a failure.
func (o *firefoxOutput) tail() string {
	text := o.String()
	return text[max(0, len(text)-8<<10):]
}
