package ui

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/parleyhq/parley/server/client"
	"github.com/parleyhq/parley/server/protocol"
	"github.com/parleyhq/parley/ui/address"
	"github.com/parleyhq/parley/ui/truststore"
)

// JoinModel connects to a Parley server on another computer: it reads
// the address, makes sure the server is who it was (trust on first use of
// its certificate authority), then signs in or goes on as a guest.
type JoinModel struct {
	trust    *truststore.Store
	resolver *net.Resolver // nil: the system's
	Target   address.Target

	ca        []byte // the CA that verifies the server; nil: the system's roots
	pendingCA []byte // a CA shown by the server that the user has not trusted yet
	pendingID string // the id of the discovered server pendingCA is for
	status    client.Status
}

// TrustQuestion asks the user whether to trust a server's certificate
// authority: for the first time, or again after it changed.
type TrustQuestion struct {
	Address     string
	Fingerprint string
	// Changed: the server showed another CA before; Previous is it.
	Changed  bool
	Previous truststore.Server
}

func newJoinModel(trust *truststore.Store) *JoinModel { return &JoinModel{trust: trust} }

// ServerName is the name the server gives itself.
func (m *JoinModel) ServerName() string { return m.status.Server.Name }

// Connect reads the address and reaches the server. It returns a question
// when the user must decide whether to trust the server; nil when the
// server is verified and ready for signing in. A company domain or an
// e-mail address is looked up in DNS first (SRV records).
func (m *JoinModel) Connect(ctx context.Context, input string) (*TrustQuestion, error) {
	m.ca, m.pendingCA, m.pendingID = nil, nil, ""
	if domain, ok := isDomainInput(input); ok {
		return m.connectDomain(ctx, domain)
	}
	target, err := address.ParseServer(input)
	if err != nil {
		return nil, fieldError("address", sentence(err.Error()))
	}
	m.Target = target
	return m.connectTarget(ctx)
}

// connectTarget reaches the server at m.Target, trusting it on first use.
func (m *JoinModel) connectTarget(ctx context.Context) (*TrustQuestion, error) {
	base, where := m.Target.BaseURL(), m.Target.HostPort()

	// A certificate the system trusts (uploaded by the administrator)
	// needs no question.
	err := m.probe(ctx, nil)
	if err == nil || !isCertificateError(err) {
		return nil, err
	}
	known, remembered, err := m.trust.Lookup(where)
	if err != nil {
		return nil, err
	}
	if remembered {
		err = m.probe(ctx, []byte(known.CAPEM))
		if err == nil {
			m.ca = []byte(known.CAPEM)
			return nil, nil
		}
		if !isCertificateError(err) {
			return nil, err
		}
	}
	ca, err := client.FetchCA(ctx, base, client.Options{Resolver: m.resolver})
	if err != nil {
		return nil, err
	}
	verdict, previous, err := m.trust.Check(where, ca)
	if err != nil {
		return nil, err
	}
	fingerprint, err := truststore.Fingerprint(ca)
	if err != nil {
		return nil, err
	}
	switch verdict {
	case truststore.Same:
		// The CA is the trusted one, yet it does not verify the server:
		// say why (a name the certificate does not cover, say).
		return nil, m.probe(ctx, ca)
	case truststore.Changed:
		m.pendingCA = ca
		return &TrustQuestion{Address: where, Fingerprint: fingerprint, Changed: true, Previous: previous}, nil
	}
	m.pendingCA = ca
	return &TrustQuestion{Address: where, Fingerprint: fingerprint}, nil
}

// Trust accepts the CA of the last question, checks the server with it and
// remembers it for this server.
func (m *JoinModel) Trust(ctx context.Context) error {
	if m.pendingCA == nil {
		return errors.New("no certificate authority is waiting for a decision")
	}
	if err := m.probe(ctx, m.pendingCA); err != nil {
		return err
	}
	if err := m.trust.Remember(m.Target.HostPort(), m.status.Server.Name, m.pendingCA); err != nil {
		return err
	}
	if m.pendingID != "" {
		if err := m.trust.Remember(serverIDKey(m.pendingID), m.status.Server.Name, m.pendingCA); err != nil {
			return err
		}
	}
	m.ca, m.pendingCA, m.pendingID = m.pendingCA, nil, ""
	return nil
}

// probe reads the server's status, verifying it with ca.
func (m *JoinModel) probe(ctx context.Context, ca []byte) error {
	c, err := client.New(m.Target.BaseURL(), client.Options{CACertPEM: ca, Timeout: 15 * time.Second, Resolver: m.resolver})
	if err != nil {
		return err
	}
	defer c.Close()
	status, err := c.Status(ctx)
	if err != nil {
		return err
	}
	if status.SetupRequired {
		return errors.New("this Parley server is not set up yet: its owner finishes the first start on the server computer")
	}
	m.status = status
	return nil
}

func isCertificateError(err error) bool {
	var verify *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var host x509.HostnameError
	return errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &invalid) || errors.As(err, &host)
}

func (m *JoinModel) newClient() (*client.Client, error) {
	return client.New(m.Target.BaseURL(), client.Options{CACertPEM: m.ca, Resolver: m.resolver})
}

// SignIn signs in with an account of the server.
func (m *JoinModel) SignIn(ctx context.Context, login, password string) (*Session, error) {
	if strings.TrimSpace(login) == "" {
		return nil, fieldError("login", "Type your login.")
	}
	if password == "" {
		return nil, fieldError("password", "Type your password.")
	}
	c, err := m.newClient()
	if err != nil {
		return nil, err
	}
	id, err := c.SignIn(ctx, login, password)
	if err != nil {
		c.Close()
		var apiErr *client.Error
		if errors.As(err, &apiErr) && apiErr.Code == "bad_credentials" {
			return nil, fieldError("password", "The login or the password is wrong.")
		}
		return nil, err
	}
	return &Session{Client: c, CA: m.ca, Me: &id, ServerName: m.status.Server.Name}, nil
}

// Guest goes on without an account: guests may only join meetings that
// allow them.
func (m *JoinModel) Guest(name string) (*Session, error) {
	name = strings.TrimSpace(name)
	if err := protocol.CheckName(name); err != nil {
		return nil, fieldError("name", "Type your name as others should see it, up to 64 characters.")
	}
	c, err := m.newClient()
	if err != nil {
		return nil, err
	}
	return &Session{Client: c, CA: m.ca, GuestName: name, ServerName: m.status.Server.Name}, nil
}

// connect reaches the server typed on the start screen.
func (s *shell) connect(v *startView) {
	input := v.address.Text
	model := newJoinModel(s.trust)
	v.addressErr.Hide()
	s.showProgress("Connecting…", "Reaching "+strings.TrimSpace(input)+" and checking that it is a Parley server.")
	var question *TrustQuestion
	s.background(func(ctx context.Context) (err error) {
		question, err = model.Connect(ctx, input)
		return err
	}, func(err error) {
		s.connected(model, question, err, strings.TrimSpace(input))
	})
}

// connected goes on once the server answered: to signing in, through the
// trust question if there is one. remember is what the start screen
// offers next time.
func (s *shell) connected(model *JoinModel, question *TrustQuestion, err error, remember string) {
	if err != nil {
		s.showStart()
		s.showError("Parley could not connect", err)
		return
	}
	s.app.Preferences().SetString(prefMode, "join")
	s.app.Preferences().SetString(prefServer, remember)
	if question == nil {
		s.showSignIn(model)
		return
	}
	s.askTrust(question, func() {
		s.showProgress("Connecting…", "Checking "+question.Address+" with the certificate authority you trusted.")
		s.background(model.Trust, func(err error) {
			if err != nil {
				s.showStart()
				s.showError("Parley could not connect", err)
				return
			}
			s.showSignIn(model)
		})
	}, s.showStart)
}

// askTrust shows a server's CA fingerprint and asks whether to trust it,
// loudly when it changed since the user trusted another one.
func (s *shell) askTrust(q *TrustQuestion, yes, no func()) {
	fingerprint := widget.NewLabelWithStyle(splitFingerprint(q.Fingerprint), fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	var (
		title, confirm string
		body           []fyne.CanvasObject
	)
	if q.Changed {
		title, confirm = "Warning: this server's identity has changed", "Trust the new authority"
		alarm := widget.NewLabel(fmt.Sprintf("The server at %s shows a different certificate authority from the one you trusted on %s.",
			q.Address, q.Previous.TrustedAt.Local().Format("2 January 2006")))
		alarm.Importance = widget.DangerImportance
		alarm.Wrapping = fyne.TextWrapWord
		alarm.TextStyle.Bold = true
		body = append(body, container.NewBorder(nil, nil, widget.NewIcon(theme.WarningIcon()), nil, alarm),
			wrapped("This happens when Parley was reinstalled on that computer, or when someone is intercepting your connection "+
				"to read or change what you send. Do not continue unless the server's administrator confirms the change."),
			heading("Trusted until now"),
			widget.NewLabelWithStyle(splitFingerprint(q.Previous.Fingerprint), fyne.TextAlignLeading, fyne.TextStyle{Monospace: true}),
			heading("Shown now"), fingerprint)
	} else {
		title, confirm = "Trust this server?", "Trust this server"
		body = append(body,
			wrapped(fmt.Sprintf("This is the first time this computer connects to %s. Parley servers sign their connections "+
				"with their own certificate authority; this is its fingerprint (SHA-256):", q.Address)),
			fingerprint,
			wrapped("Compare it with the one Parley shows on the server computer, under Settings, HTTPS certificate. "+
				"Trust the server only if they are the same. Parley remembers your choice for this server."))
	}
	d := dialog.NewCustomConfirm(title, confirm, "Cancel", minWidth(520, container.NewVBox(body...)),
		func(ok bool) {
			if ok {
				yes()
			} else {
				no()
			}
		}, s.win)
	// Wrapped text cannot size a dialog by itself.
	if q.Changed {
		d.Resize(fyne.NewSize(620, 600))
	} else {
		d.Resize(fyne.NewSize(600, 370))
	}
	d.Show()
}

// splitFingerprint puts the 32 pairs of a fingerprint on two lines.
func splitFingerprint(f string) string {
	if len(f) > 48 {
		return f[:48] + "\n" + f[48:]
	}
	return f
}

// showSignIn offers signing in, or joining a meeting as a guest.
func (s *shell) showSignIn(model *JoinModel) {
	signIn := newFieldSet()
	login := widget.NewEntry()
	password := widget.NewPasswordEntry()
	signIn.add("login", "Login", login, "")
	signIn.add("password", "Password", password, "")
	signInButton := widget.NewButtonWithIcon("Sign in", theme.LoginIcon(), nil)
	signInButton.Importance = widget.HighImportance

	guest := newFieldSet()
	name := widget.NewEntry()
	meeting := widget.NewEntry()
	meeting.SetPlaceHolder("4820117735, or a meeting link")
	if model.Target.CID != "" {
		meeting.SetText(model.Target.CID)
	}
	guest.add("name", "Your name", name, "As others see you in the meeting.")
	guest.add("meeting", "Meeting", meeting, "The meeting's ID or link.")
	guestButton := widget.NewButtonWithIcon("Join meeting", theme.MediaVideoIcon(), nil)

	busy := widget.NewActivity()
	setBusy := func(on bool) {
		for _, b := range []*widget.Button{signInButton, guestButton} {
			if on {
				b.Disable()
			} else {
				b.Enable()
			}
		}
		if on {
			busy.Start()
			busy.Show()
		} else {
			busy.Stop()
			busy.Hide()
		}
	}
	busy.Hide()

	signInButton.OnTapped = func() {
		signIn.show(nil)
		setBusy(true)
		var session *Session
		s.background(func(ctx context.Context) (err error) {
			session, err = model.SignIn(ctx, login.Text, password.Text)
			return err
		}, func(err error) {
			setBusy(false)
			if err != nil {
				signIn.show(err)
				return
			}
			s.openConsole(session, "")
			if model.Target.CID != "" {
				s.joinMeeting(model.Target.CID)
			}
		})
	}
	password.OnSubmitted = func(string) { signInButton.OnTapped() }
	guestButton.OnTapped = func() {
		guest.show(nil)
		target, err := address.ParseMeeting(meeting.Text)
		if err != nil {
			guest.show(fieldError("meeting", sentence(err.Error())))
			return
		}
		session, err := model.Guest(name.Text)
		if err != nil {
			guest.show(err)
			return
		}
		s.adoptSession(session, func() { s.showSignIn(model) })
		s.joinMeeting(target.CID)
	}

	back := widget.NewButtonWithIcon("Another server", theme.NavigateBackIcon(), s.showStart)
	back.Importance = widget.LowImportance
	title := pageTitle(model.ServerName())
	where := caption(model.Target.HostPort())
	signInCard := card("Sign in", "With your account on this server",
		container.NewVBox(signIn.content(), container.NewHBox(layout.NewSpacer(), signInButton)))
	guestCard := card("Join as a guest", "Without an account, for meetings open to guests",
		container.NewVBox(guest.content(), container.NewHBox(layout.NewSpacer(), guestButton)))
	page := container.NewVBox(container.NewHBox(back, layout.NewSpacer(), busy), title, where,
		container.NewGridWithColumns(2, signInCard, guestCard))
	s.show(screenSignIn, container.NewVScroll(centered(900, container.NewPadded(page))))
	s.win.Canvas().Focus(login)
}

// reconnectRemote follows a remote server to its new port after its
// administrator (this user) moved it, keeping the session and the trust.
func (s *shell) reconnectRemote(ctx context.Context, session *Session, port int) (*Session, error) {
	old, err := url.Parse(session.Client.BaseURL())
	if err != nil {
		return nil, err
	}
	target := address.Target{Host: old.Hostname(), Port: port}
	c, err := client.New(target.BaseURL(), client.Options{CACertPEM: session.CA})
	if err != nil {
		return nil, err
	}
	c.SetToken(session.Client.Token())
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		select {
		case <-ctx.Done():
			c.Close()
			return nil, fmt.Errorf("reach %s: %w", target.HostPort(), ctx.Err())
		case <-time.After(300 * time.Millisecond):
		}
		if _, err := c.Me(ctx); err != nil {
			continue
		}
		if session.CA != nil {
			if err := s.trust.Remember(target.HostPort(), session.ServerName, session.CA); err != nil {
				return nil, err
			}
		}
		s.app.Preferences().SetString(prefServer, target.HostPort())
		session.Client.Close()
		moved := *session
		moved.Client = c
		return &moved, nil
	}
}
