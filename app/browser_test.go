package app_test

import (
	"strconv"
	"strings"
	"testing"

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
	page := testenv.NewBrowser(t).Page(t)
	page.Log = s.Output

	page.Do("fill the setup form with a mistyped confirmation",
		chromedp.Navigate(setup),
		chromedp.WaitVisible("#setup-form"),
		chromedp.SendKeys("#setup-login", "boss"),
		chromedp.SendKeys("#setup-display-name", "The Boss"),
		chromedp.SendKeys("#setup-password", "Owner-Password-1"),
		chromedp.SendKeys("#setup-confirm", "Owner-Password-2"),
		chromedp.Click("#setup-form button[type=submit]"),
		chromedp.WaitVisible("#setup-confirm-error:not(:empty)"),
	)
	if got := page.Text("#setup-confirm-error"); !strings.Contains(got, "do not match") {
		t.Errorf("mismatched confirmation shows %q", got)
	}
	var cleared bool
	page.Eval(`(document.querySelector("#setup-confirm").value = "") === ""`, &cleared)
	page.Do("create the owner",
		chromedp.SendKeys("#setup-confirm", "Owner-Password-1"),
		chromedp.Click("#setup-form button[type=submit]"),
		chromedp.WaitVisible("#view-done"),
	)
	if got := page.Text("#done-title"); !strings.Contains(got, "you are the owner") {
		t.Errorf("done page says %q", got)
	}
	page.Do("open the landing page", chromedp.Navigate(s.URL), chromedp.WaitVisible("#view-signed-in"))
	if name, role := page.Text("#user-name"), page.Text("#user-role"); name != "The Boss" || role != "owner" {
		t.Errorf("signed in as %q (%q)", name, role)
	}

	page.Do("sign out and try a wrong password",
		chromedp.Click("#sign-out"),
		chromedp.WaitVisible("#sign-in-form"),
		chromedp.SendKeys("#sign-in-login", "boss"),
		chromedp.SendKeys("#sign-in-password", "not-it"),
		chromedp.Click("#sign-in-form button[type=submit]"),
		chromedp.WaitVisible("#sign-in-form [data-form-error]:not(:empty)"),
	)
	if got := page.Text("#sign-in-form [data-form-error]"); !strings.Contains(strings.ToLower(got), "wrong login or password") {
		t.Errorf("wrong password shows %q", got)
	}
	page.Do("sign in",
		chromedp.SendKeys("#sign-in-password", "Owner-Password-1"),
		chromedp.Click("#sign-in-form button[type=submit]"),
		chromedp.WaitVisible("#view-signed-in"),
	)
	page.Do("reopen the used setup link", chromedp.Navigate(setup), chromedp.WaitVisible("#view-problem"))
	if got := page.Text("#problem-message"); !strings.Contains(got, "already been used") {
		t.Errorf("used setup link shows %q", got)
	}
}
