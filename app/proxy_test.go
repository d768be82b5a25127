package app_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleyhq/parley/app/testenv"
	"github.com/parleyhq/parley/server/client"
	"github.com/parleyhq/parley/server/eventlog"
)

// TestBehindNginxUnderAPrefix publishes Parley through nginx at
// /parley/ (docs/deploy.md's configuration): a browser signs in and two
// people meet through it, signalling over the proxied WebSocket. A client
// on another host reaches the proxy, and the event log names that host,
// not the proxy; the same forged header sent straight to Parley, which
// does not trust that sender, is ignored.
func TestBehindNginxUnderAPrefix(t *testing.T) {
	curl := testenv.RequireTool(t, "curl", "curl")
	ns := testenv.NewNamespace(t, [2]string{"198.18.2.1/24", "198.18.2.5/24"})
	s, owner, c := meetingServer(t, map[string]any{"name": "Proxied", "lobby": "off"})
	// Generous: on a loaded two-core runner the browser part alone can
	// take a minute or more; each curl below has its own limit.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := owner.Do(ctx, http.MethodPatch, "/api/v1/settings", map[string]any{"trusted_proxies": []string{"127.0.0.1", "198.18.2.1"}}, nil); err != nil {
		t.Fatal(err)
	}
	proxy := testenv.StartNginx(t, s, "/parley", "127.0.0.1", "198.18.2.1")
	base := "https://127.0.0.1:" + strconv.Itoa(proxy.Port) + "/parley/"

	browser := testenv.NewBrowser(t)
	boss, gina := browser.Page(t), browser.Page(t)
	for _, page := range []*testenv.Page{boss, gina} {
		page.Log = func() string { return s.Output() + "\nnginx:\n" + proxy.Output() }
	}
	boss.Do("sign in through the proxy",
		chromedp.Navigate(base),
		chromedp.WaitVisible("#sign-in-form"),
		chromedp.SendKeys("#sign-in-login", "boss"),
		chromedp.SendKeys("#sign-in-password", ownerPassword),
		chromedp.Click("#sign-in-form button[type=submit]"),
		chromedp.WaitVisible("#view-signed-in"),
	)
	testenv.OpenMeeting(boss, base, c.CID, "", "")
	testenv.ClickJoin(boss)
	boss.WaitState("joined", 30*time.Second)
	testenv.OpenMeeting(gina, base, c.CID, "Gina", "")
	testenv.ClickJoin(gina)
	gina.WaitState("joined", 30*time.Second)
	testenv.WaitMediaFrom(t, gina, "Gina", testenv.You(boss))
	var link string
	boss.Eval(`document.baseURI`, &link)
	if link != base {
		t.Errorf("the meeting page's base is %s, want %s", link, base)
	}

	// A failed sign-in from 198.18.2.5 through the proxy, then one
	// straight to Parley with a forged X-Forwarded-For.
	caFile := filepath.Join(s.DataDir, "tls", "ca.crt")
	for _, attempt := range []struct {
		login, url string
		trust      []string
		forged     string
	}{
		// The proxy's certificate is a throwaway one.
		{"through-proxy", "https://198.18.2.1:" + strconv.Itoa(proxy.Port) + "/parley/api/v1/auth/sign-in", []string{"--insecure"}, ""},
		{"forged", "https://198.18.2.1:" + strconv.Itoa(s.Port) + "/api/v1/auth/sign-in", []string{"--cacert", caFile}, "10.9.9.9"},
	} {
		args := append([]string{"--silent", "--show-error", "--max-time", "30", "--output", "/dev/null", "--header", "Content-Type: application/json"}, attempt.trust...)
		args = append(args,
			"--data", `{"login":"`+attempt.login+`","password":"wrong-password-1"}`, attempt.url)
		if attempt.forged != "" {
			args = append(args, "--header", "X-Forwarded-For: "+attempt.forged)
		}
		if out, err := ns.Command(ctx, curl, args...).CombinedOutput(); err != nil {
			t.Fatalf("curl %s from 198.18.2.5: %v %s", attempt.url, err, out)
		}
	}
	events, _, err := owner.Events(ctx, client.EventQuery{Kind: eventlog.SignInFailed})
	if err != nil {
		t.Fatal(err)
	}
	var sources []string
	for _, e := range events {
		sources = append(sources, e.Source)
	}
	if len(sources) != 2 || sources[0] != "198.18.2.5" || sources[1] != "198.18.2.5" {
		t.Errorf("failed sign-ins recorded from %v, want two from 198.18.2.5 (the client, not the proxy nor the forged address)", sources)
	}
}
