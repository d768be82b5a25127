package ui

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
)

func checkField(t *testing.T, err error, field, says string) {
	t.Helper()
	got, text, ok := fieldOf(err)
	if !ok || got != field || !strings.Contains(text, says) {
		t.Errorf("error %v: want field %q saying %q, got field %q saying %q", err, field, says, got, text)
	}
}

func TestWizardChecksWhatItCanBeforeAsking(t *testing.T) {
	host := startHost(t)
	m, err := newWizardModel(context.Background(), host)
	if err != nil {
		t.Fatal(err)
	}
	if port, _ := m.HTTPSPort.Get(); port != strconv.Itoa(host.HTTPSPort()) {
		t.Errorf("the port shown is %s, the server holds %d", port, host.HTTPSPort())
	}
	if login, _ := m.Login.Get(); !loginPattern.MatchString(login) {
		t.Errorf("suggested login %q is not a login", login)
	}
	if m.Addresses[0] != "" {
		t.Errorf("the first listen choice should be all addresses, got %q", m.Addresses[0])
	}
	fill := func() {
		_ = m.ServerName.Set("Office")
		_ = m.HTTPSPort.Set(strconv.Itoa(host.HTTPSPort()))
		_ = m.Login.Set("anna")
		_ = m.DisplayName.Set("Anna Berg")
		_ = m.Password.Set("Secret-Word-42")
		_ = m.Confirm.Set("Secret-Word-42")
	}
	fill()
	if err := m.Check(); err != nil {
		t.Fatalf("a good form: %v", err)
	}

	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenPort := strconv.Itoa(taken.Addr().(*net.TCPAddr).Port)

	for _, tc := range []struct {
		set         func()
		field, says string
	}{
		{func() { _ = m.ServerName.Set("  ") }, "server_name", "1 to 63"},
		{func() { _ = m.HTTPSPort.Set("http") }, "https_port", "1 to 65535"},
		{func() { _ = m.HTTPSPort.Set("70000") }, "https_port", "1 to 65535"},
		{func() { _ = m.HTTPSPort.Set(takenPort) }, "https_port", "in use by another program; port "},
		{func() { _ = m.Login.Set("Anna Berg") }, "login", "a-z, 0-9"},
		{func() { _ = m.DisplayName.Set("") }, "display_name", "your name"},
		{func() { _ = m.Password.Set("Short-1"); _ = m.Confirm.Set("Short-1") }, "password", "at least 10 characters"},
		{func() { _ = m.Password.Set("onlylowercase"); _ = m.Confirm.Set("onlylowercase") }, "password", "3 of"},
		{func() { _ = m.Confirm.Set("Secret-Word-43") }, "confirm", "differ"},
	} {
		fill()
		tc.set()
		checkField(t, m.Check(), tc.field, tc.says)
	}
}

// TestWizardSubmitsThroughTheAPI: the setup token makes the owner, the
// desktop token signs in, the settings move the server to the chosen
// port, and the session follows it there. A refusal of the server lands
// on its field, and the owner is made once.
func TestWizardSubmitsThroughTheAPI(t *testing.T) {
	host := startHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	m, err := newWizardModel(ctx, host)
	if err != nil {
		t.Fatal(err)
	}
	newPort := freePort(t)
	_ = m.ServerName.Set("Office")
	_ = m.GuestsAllowed.Set(false)
	_ = m.HTTPSPort.Set(strconv.Itoa(newPort))
	_ = m.Login.Set("anna")
	_ = m.DisplayName.Set("Anna Berg")
	_ = m.Email.Set("not an address")
	_ = m.Password.Set("Secret-Word-42")
	_ = m.Confirm.Set("Secret-Word-42")

	_, err = m.Submit(ctx)
	checkField(t, err, "email", "")
	if m.OwnerCreated() || host.SetupToken() == "" {
		t.Fatal("a refused setup spent the token")
	}

	_ = m.Email.Set("anna@example.com")
	session, err := m.Submit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer session.Client.Close()
	if !m.OwnerCreated() || host.SetupToken() != "" {
		t.Error("the owner exists but the token is still valid")
	}
	if host.HTTPSPort() != newPort || !strings.Contains(session.Client.BaseURL(), ":"+strconv.Itoa(newPort)+"/") {
		t.Errorf("server on %d, session at %s; want both on %d", host.HTTPSPort(), session.Client.BaseURL(), newPort)
	}
	if session.Me.User.Login != "anna" || session.Me.User.Role != "owner" || session.ServerName != "Office" {
		t.Errorf("session %+v %q", session.Me.User, session.ServerName)
	}
	settings, err := session.Client.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if settings.ServerName != "Office" || settings.GuestsAllowed || settings.HTTPSPort != newPort {
		t.Errorf("settings after the wizard: %+v", settings)
	}
}

// TestWizardScreen fills the wizard's form in the window and submits it:
// the console opens on the dashboard.
func TestWizardScreen(t *testing.T) {
	a := newUIApp(t)
	host := startHost(t)
	s := newTestShell(t, a, func(context.Context) (Host, error) { return host, nil })
	a.run(func() { s.start(true) })
	eventually(t, "the wizard", 20*time.Second, func() bool { return a.screen(s) == screenWizard })

	a.run(func() {
		inputs := entries(s.win.Content())
		// server name, port, login, name, email, password, again
		if len(inputs) != 7 {
			t.Fatalf("the wizard has %d entries, want 7", len(inputs))
		}
		inputs[5].SetText("Secret-Word-42")
		inputs[6].SetText("Secret-Word-41")
		test.Tap(button(t, s.win.Content(), "Start using Parley"))
	})
	a.run(func() {
		if !strings.Contains(texts(s.win.Content()), "The two passwords differ.") {
			t.Error("the mismatch is not shown under its field")
		}
		entries(s.win.Content())[6].SetText("Secret-Word-42")
		test.Tap(button(t, s.win.Content(), "Start using Parley"))
	})
	eventually(t, "the console", 30*time.Second, func() bool { return a.screen(s) == screenConsole })
	if host.SetupToken() != "" {
		t.Error("the wizard did not make the owner")
	}
}
