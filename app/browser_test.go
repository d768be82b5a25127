package app_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleyhq/parley/app/testenv"
)

// TestSetupAndSignInInTheBrowser creates the owner through the setup page
// in Chromium, signs out and in again on the landing page, and finds the
// used setup link refused.
func TestSetupAndSignInInTheBrowser(t *testing.T) {
	s := testenv.StartServer(t, t.TempDir(), "--port", strconv.Itoa(freePort(t)), "--http-port", "-1")
	// The printed link names the LAN address; the browser uses localhost.
	setup := s.URL + "setup/" + s.Setup[strings.LastIndex(s.Setup, "/")+1:]
	browser := testenv.Browser(t)
	text := func(selector string) string {
		t.Helper()
		value, err := chromedp.Run(browser, chromedp.Text(selector))
		if err != nil {
			t.Fatalf("read %s: %v", selector, err)
		}
		return value
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(browser, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(ctx, steps...); err != nil {
			page, _ := chromedp.Run(browser, chromedp.Text("main"))
			t.Fatalf("%s: %v\npage shows:\n%s\nserver output:\n%s", what, err, page, s.Output())
		}
	}

	do("fill the setup form with a mistyped confirmation",
		chromedp.Navigate(setup),
		chromedp.WaitVisible("#setup-form"),
		chromedp.SendKeys("#setup-login", "boss"),
		chromedp.SendKeys("#setup-display-name", "The Boss"),
		chromedp.SendKeys("#setup-password", "Owner-Password-1"),
		chromedp.SendKeys("#setup-confirm", "Owner-Password-2"),
		chromedp.Click("#setup-form button[type=submit]"),
		chromedp.WaitVisible("#setup-confirm-error:not(:empty)"),
	)
	if got := text("#setup-confirm-error"); !strings.Contains(got, "do not match") {
		t.Errorf("mismatched confirmation shows %q", got)
	}

	if _, err := chromedp.Run(browser, chromedp.Evaluate[bool](`(document.querySelector("#setup-confirm").value = "") === ""`)); err != nil {
		t.Fatal(err)
	}
	do("create the owner",
		chromedp.SendKeys("#setup-confirm", "Owner-Password-1"),
		chromedp.Click("#setup-form button[type=submit]"),
		chromedp.WaitVisible("#view-done"),
	)
	if got := text("#done-title"); !strings.Contains(got, "you are the owner") {
		t.Errorf("done page says %q", got)
	}
	do("open the landing page", chromedp.Navigate(s.URL), chromedp.WaitVisible("#view-signed-in"))
	if name, role := text("#user-name"), text("#user-role"); name != "The Boss" || role != "owner" {
		t.Errorf("signed in as %q (%q)", name, role)
	}

	do("sign out and try a wrong password",
		chromedp.Click("#sign-out"),
		chromedp.WaitVisible("#sign-in-form"),
		chromedp.SendKeys("#sign-in-login", "boss"),
		chromedp.SendKeys("#sign-in-password", "not-it"),
		chromedp.Click("#sign-in-form button[type=submit]"),
		chromedp.WaitVisible("#sign-in-form [data-form-error]:not(:empty)"),
	)
	if got := text("#sign-in-form [data-form-error]"); !strings.Contains(strings.ToLower(got), "wrong login or password") {
		t.Errorf("wrong password shows %q", got)
	}
	do("sign in",
		chromedp.SendKeys("#sign-in-password", "Owner-Password-1"),
		chromedp.Click("#sign-in-form button[type=submit]"),
		chromedp.WaitVisible("#view-signed-in"),
	)
	do("reopen the used setup link", chromedp.Navigate(setup), chromedp.WaitVisible("#view-problem"))
	if got := text("#problem-message"); !strings.Contains(got, "already been used") {
		t.Errorf("used setup link shows %q", got)
	}
}
