package ui

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/ui/truststore"
)

// TestTrustOnFirstUse connects to a server the way a colleague's app
// does: the first time it asks to trust the server's CA by fingerprint,
// later it verifies against the remembered CA, and when another server
// (a reinstall, or someone in the middle) answers at the same address, it
// warns loudly.
func TestTrustOnFirstUse(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	port := freePort(t)
	where := "localhost:" + strconv.Itoa(port)
	first, err := app.Start(ctx, hostOptions(t, t.TempDir(), port))
	if err != nil {
		t.Fatal(err)
	}
	setUp(t, first)
	firstPrint, _ := truststore.Fingerprint(first.CACertificatePEM())
	store := trustStoreIn(t)

	m := newJoinModel(store)
	question, err := m.Connect(ctx, where)
	if err != nil {
		t.Fatal(err)
	}
	if question == nil || question.Changed || question.Fingerprint != firstPrint || question.Address != where {
		t.Fatalf("first connection: %+v; want a question about %s", question, firstPrint)
	}
	if again, _ := newJoinModel(store).Connect(ctx, where); again == nil {
		t.Fatal("a CA not yet trusted was remembered")
	}
	if err := m.Trust(ctx); err != nil {
		t.Fatal(err)
	}

	// Later: a meeting link to the same server needs no question.
	later := newJoinModel(store)
	question, err = later.Connect(ctx, "https://"+where+"/c/4820117735")
	if err != nil || question != nil {
		t.Fatalf("a trusted server: %+v %v", question, err)
	}
	if later.Target.CID != "4820117735" || later.ServerName() == "" {
		t.Errorf("target %+v, server %q", later.Target, later.ServerName())
	}
	_, err = later.SignIn(ctx, "boss", "wrong password")
	checkField(t, err, "password", "wrong")
	session, err := later.SignIn(ctx, "boss", ownerPassword)
	if err != nil {
		t.Fatal(err)
	}
	session.Client.Close()
	if session.Me.User.Login != "boss" || !session.canAdminister() {
		t.Errorf("signed in as %+v", session.Me.User)
	}
	_, err = later.Guest(" ")
	checkField(t, err, "name", "Type your name")
	if g, err := later.Guest("Gina"); err != nil || g.GuestName != "Gina" || g.Me != nil {
		t.Errorf("guest %+v %v", g, err)
	} else {
		g.Client.Close()
	}

	// Another server at the same address.
	first.Stop()
	second, err := app.Start(ctx, hostOptions(t, t.TempDir(), port))
	if err != nil {
		t.Fatal(err)
	}
	defer second.Stop()
	setUp(t, second)
	secondPrint, _ := truststore.Fingerprint(second.CACertificatePEM())
	changed := newJoinModel(store)
	question, err = changed.Connect(ctx, where)
	if err != nil {
		t.Fatal(err)
	}
	if question == nil || !question.Changed || question.Fingerprint != secondPrint || question.Previous.Fingerprint != firstPrint {
		t.Fatalf("a changed CA: %+v", question)
	}

	// The warning says so, loudly, with both fingerprints.
	a := newUIApp(t)
	s := newTestShell(t, a, nil)
	var answered string
	a.run(func() {
		s.win = a.NewWindow("test")
		s.askTrust(question, func() { answered = "yes" }, func() { answered = "no" })
		warning := texts(topDialog(s.win))
		for _, want := range []string{"Warning: this server's identity has changed", "intercepting",
			splitFingerprint(firstPrint), splitFingerprint(secondPrint)} {
			if !strings.Contains(warning, want) {
				t.Errorf("the warning lacks %q:\n%s", want, warning)
			}
		}
		button(t, topDialog(s.win), "Cancel").OnTapped()
	})
	if answered != "no" {
		t.Errorf("cancel answered %q", answered)
	}
	if q, _ := newJoinModel(store).Connect(ctx, where); q == nil || !q.Changed {
		t.Error("a refused CA was trusted anyway")
	}
	if err := changed.Trust(ctx); err != nil {
		t.Fatal(err)
	}
	if q, err := newJoinModel(store).Connect(ctx, where); q != nil || err != nil {
		t.Errorf("the newly trusted CA: %+v %v", q, err)
	}
}

func TestConnectTellsWhatIsWrong(t *testing.T) {
	ctx := context.Background()
	m := newJoinModel(trustStoreIn(t))
	_, err := m.Connect(ctx, "http://localhost:8443/")
	checkField(t, err, "address", "https://")
	_, err = m.Connect(ctx, "localhost:"+strconv.Itoa(freePort(t)))
	if text := message(err); !strings.Contains(text, "Nothing answers at this address") {
		t.Errorf("nothing listening: %q", text)
	}
}

// TestOpenALink starts the app on a parley:// meeting link, as the system
// does when someone clicks one: it connects to that server (its CA
// trusted before) and offers to sign in or join that meeting as a guest.
func TestOpenALink(t *testing.T) {
	a := newUIApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	port := freePort(t)
	host, err := app.Start(ctx, hostOptions(t, t.TempDir(), port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(host.Stop)
	setUp(t, host)
	where := "localhost:" + strconv.Itoa(port)
	s := newShell(a, Options{Version: "test", Logger: quiet, Link: "parley://" + where + "/c/4820117735"}, trustStoreIn(t))
	t.Cleanup(s.shutdown)
	if err := s.trust.Remember(where, "Office", host.CACertificatePEM()); err != nil {
		t.Fatal(err)
	}
	a.run(func() { s.start(false) })
	eventually(t, "the sign-in screen of the linked server", 30*time.Second, func() bool { return a.screen(s) == screenSignIn })
	var meeting string
	a.run(func() {
		for _, e := range entries(s.win.Content()) {
			if e.Text == "4820117735" {
				meeting = e.Text
			}
		}
	})
	if meeting != "4820117735" {
		t.Error("the meeting of the link is not filled in")
	}
}
