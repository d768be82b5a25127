package ui

import (
	"context"
	"fmt"
	"net"
	"os/user"
	"regexp"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/data/binding"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/parleyhq/parley/server/client"
)

// WizardModel is the first-start wizard: the server's name, where it
// listens, whether guests may join, and the owner's account. It submits
// through the public API: the setup token creates the owner, the desktop
// token signs in, and the settings are patched.
type WizardModel struct {
	host        Host
	token       string
	policy      client.PasswordPolicy
	currentPort int
	// Addresses are the listen choices: "" (all) first, then this
	// computer's own addresses.
	Addresses []string

	ServerName    binding.String
	ListenAddress binding.String
	HTTPSPort     binding.String
	GuestsAllowed binding.Bool
	Login         binding.String
	DisplayName   binding.String
	Email         binding.String
	Password      binding.String
	Confirm       binding.String

	ownerCreated bool
}

// newWizardModel reads the setup token's details and fills in defaults.
func newWizardModel(ctx context.Context, host Host) (*WizardModel, error) {
	token := host.SetupToken()
	if token == "" {
		return nil, fmt.Errorf("this server is already set up")
	}
	c, err := hostClient(ctx, host)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	info, err := c.SetupInfo(ctx, token)
	if err != nil {
		return nil, fmt.Errorf("read the setup details: %w", err)
	}
	m := &WizardModel{
		host: host, token: token, policy: info.PasswordPolicy, currentPort: host.HTTPSPort(),
		Addresses:  append([]string{""}, localAddresses()...),
		ServerName: binding.NewString(), ListenAddress: binding.NewString(), HTTPSPort: binding.NewString(),
		GuestsAllowed: binding.NewBool(), Login: binding.NewString(), DisplayName: binding.NewString(),
		Email: binding.NewString(), Password: binding.NewString(), Confirm: binding.NewString(),
	}
	login, name := osAccount()
	_ = m.ServerName.Set(info.ServerName)
	_ = m.HTTPSPort.Set(strconv.Itoa(m.currentPort))
	_ = m.GuestsAllowed.Set(true)
	_ = m.Login.Set(login)
	_ = m.DisplayName.Set(name)
	return m, nil
}

// PolicyText describes the password policy.
func (m *WizardModel) PolicyText() string { return describePolicy(m.policy) }

// OwnerCreated reports that the owner account exists: a later submit only
// saves the settings.
func (m *WizardModel) OwnerCreated() bool { return m.ownerCreated }

func describePolicy(p client.PasswordPolicy) string {
	return fmt.Sprintf("At least %d characters, with %d of: lower case, upper case, digits, symbols.", p.MinLength, p.MinClasses)
}

var loginPattern = regexp.MustCompile(`^[a-z0-9._-]{1,64}$`)

// Check finds the first problem the app can see before asking the server.
func (m *WizardModel) Check() error {
	name, _ := m.ServerName.Get()
	if strings.TrimSpace(name) == "" || len(name) > 63 {
		return fieldError("server_name", "Give the server a name of 1 to 63 characters; people see it when they sign in.")
	}
	listen, _ := m.ListenAddress.Get()
	portText, _ := m.HTTPSPort.Get()
	port, err := strconv.Atoi(strings.TrimSpace(portText))
	if err != nil || port < 1 || port > 65535 {
		return fieldError("https_port", "The port is a number from 1 to 65535.")
	}
	if err := checkPortFree(listen, port, m.currentPort); err != nil {
		return err
	}
	if m.ownerCreated {
		return nil
	}
	login, _ := m.Login.Get()
	if !loginPattern.MatchString(login) {
		return fieldError("login", "A login is 1 to 64 characters of a-z, 0-9, '.', '_' and '-'.")
	}
	display, _ := m.DisplayName.Get()
	if strings.TrimSpace(display) == "" {
		return fieldError("display_name", "Type your name as colleagues should see it.")
	}
	password, _ := m.Password.Get()
	if err := checkPassword(m.policy, password); err != nil {
		return err
	}
	if confirm, _ := m.Confirm.Get(); confirm != password {
		return fieldError("confirm", "The two passwords differ.")
	}
	return nil
}

// checkPassword applies the server's policy, so that a short password is
// caught before the round trip (the server checks again, and more).
func checkPassword(policy client.PasswordPolicy, password string) error {
	if len([]rune(password)) < policy.MinLength {
		return fieldError("password", fmt.Sprintf("The password needs at least %d characters.", policy.MinLength))
	}
	if client.CharacterClasses(password) < policy.MinClasses {
		return fieldError("password", fmt.Sprintf("The password needs %d of: lower case, upper case, digits, symbols.", policy.MinClasses))
	}
	return nil
}

// Submit creates the owner (once), signs in and saves the settings. When
// the server moves to another port or address it returns a session with
// a client of the new place.
func (m *WizardModel) Submit(ctx context.Context) (*Session, error) {
	if err := m.Check(); err != nil {
		return nil, err
	}
	if !m.ownerCreated {
		if err := m.createOwner(ctx); err != nil {
			return nil, err
		}
	}
	session, err := hostSession(ctx, m.host)
	if err != nil {
		return nil, err
	}
	name, _ := m.ServerName.Get()
	listen, _ := m.ListenAddress.Get()
	portText, _ := m.HTTPSPort.Get()
	port, _ := strconv.Atoi(strings.TrimSpace(portText))
	guests, _ := m.GuestsAllowed.Get()
	before, err := session.Client.Settings(ctx)
	if err != nil {
		session.Client.Close()
		return nil, err
	}
	oldPort := m.host.HTTPSPort()
	patch := map[string]any{"server_name": strings.TrimSpace(name), "listen_address": listen, "https_port": port, "guests_allowed": guests}
	if _, _, err := session.Client.UpdateSettings(ctx, patch); err != nil {
		session.Client.Close()
		return nil, err
	}
	session.ServerName = strings.TrimSpace(name)
	if port != before.HTTPSPort || listen != before.ListenAddress {
		return reconnectHost(ctx, session, oldPort, port != oldPort)
	}
	return session, nil
}

func (m *WizardModel) createOwner(ctx context.Context) error {
	c, err := hostClient(ctx, m.host)
	if err != nil {
		return err
	}
	defer c.Close()
	login, _ := m.Login.Get()
	display, _ := m.DisplayName.Get()
	email, _ := m.Email.Get()
	password, _ := m.Password.Get()
	owner := client.NewUser{Login: login, DisplayName: strings.TrimSpace(display), Email: strings.TrimSpace(email), Password: password}
	if _, err := c.CompleteSetup(ctx, m.token, owner); err != nil {
		return err
	}
	m.ownerCreated = true
	return nil
}

// checkPortFree reports a port another program holds, naming a free one.
// The port the server holds now is its own, so it is fine.
func checkPortFree(listen string, port, current int) error {
	if port == current || portFree(listen, port) {
		return nil
	}
	for next := port + 1; next <= 65535 && next < port+200; next++ {
		if next != current && portFree(listen, next) {
			return fieldError("https_port", fmt.Sprintf("Port %d is in use by another program; port %d is free.", port, next))
		}
	}
	return fieldError("https_port", fmt.Sprintf("Port %d is in use by another program.", port))
}

// portFree tries to listen, which is the only sure test.
func portFree(listen string, port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort(listen, strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

// localAddresses lists this computer's addresses that others can reach:
// up, not loopback, not link-local.
func localAddresses() []string {
	interfaces, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var list []string
	for _, iface := range interfaces {
		if iface.Flags&net.FlagUp == 0 || iface.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := iface.Addrs()
		if err != nil {
			continue
		}
		for _, addr := range addrs {
			ipNet, ok := addr.(*net.IPNet)
			if !ok || ipNet.IP.IsLinkLocalUnicast() || ipNet.IP.IsLoopback() {
				continue
			}
			list = append(list, ipNet.IP.String())
		}
	}
	return list
}

// osAccount suggests the owner's login and name from the computer's
// account: the login lower-cased and cut to what logins allow.
func osAccount() (login, name string) {
	u, err := user.Current()
	if err != nil {
		return "owner", ""
	}
	login = cleanLogin(u.Username)
	name = strings.TrimSpace(strings.Split(u.Name, ",")[0])
	if name == "" {
		name = u.Username
	}
	return login, name
}

// cleanLogin lower-cases s and keeps only [a-z0-9._-] (a Windows account
// "OFFICE\Anna" becomes "officeanna"), or "owner" when nothing is left.
func cleanLogin(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			b.WriteRune(r)
		}
	}
	login := b.String()
	if len(login) > 64 {
		login = login[:64]
	}
	if login == "" {
		return "owner"
	}
	return login
}

// wizardView lays the wizard out.
type wizardView struct {
	model       *WizardModel
	fields      *fieldSet
	submit      *widget.Button
	joinInstead *widget.Button
	busy        *widget.Activity
	owner       []fyne.Disableable
}

func (s *shell) showWizard(host Host) {
	s.showProgress("Preparing the first start…", "Reading this server's details.")
	var model *WizardModel
	s.background(func(ctx context.Context) (err error) {
		model, err = newWizardModel(ctx, host)
		return err
	}, func(err error) {
		if err != nil {
			s.showError("Parley could not start its setup", err)
			s.showStart()
			return
		}
		v := newWizardView(model, func(v *wizardView) { s.submitWizard(v) })
		v.joinInstead = widget.NewButton("Join another Parley server instead", s.stopHosting)
		v.joinInstead.Importance = widget.LowImportance
		s.show(screenWizard, v.content())
		if s.autopilot != nil {
			s.autopilot.fillWizard(s, v)
		}
	})
}

func newWizardView(m *WizardModel, submit func(*wizardView)) *wizardView {
	v := &wizardView{model: m, fields: newFieldSet(), busy: widget.NewActivity()}
	v.busy.Hide()
	v.submit = widget.NewButton("Start using Parley", func() { submit(v) })
	v.submit.Importance = widget.HighImportance

	listenLabels := make([]string, len(m.Addresses))
	for i, addr := range m.Addresses {
		listenLabels[i] = listenLabel(addr)
	}
	listen := widget.NewSelect(listenLabels, func(label string) {
		for i, l := range listenLabels {
			if l == label {
				_ = m.ListenAddress.Set(m.Addresses[i])
			}
		}
	})
	listen.SetSelectedIndex(0)
	login := boundEntry(m.Login)
	display := boundEntry(m.DisplayName)
	email := boundEntry(m.Email)
	email.SetPlaceHolder("optional")
	password := bindEntry(widget.NewPasswordEntry(), m.Password)
	confirm := bindEntry(widget.NewPasswordEntry(), m.Confirm)
	v.owner = []fyne.Disableable{login, display, email, password, confirm}

	f := v.fields
	f.heading("This server")
	f.add("server_name", "Server name", boundEntry(m.ServerName), "People see it when they sign in and in invitations.")
	f.add("listen_address", "Listen on", listen, "Where colleagues can reach this computer. All addresses is right for most offices.")
	f.add("https_port", "HTTPS port", boundEntry(m.HTTPSPort), "Colleagues and browsers use it in the address.")
	f.add("guests_allowed", "Guests", widget.NewCheckWithData("People without an account may join by link", m.GuestsAllowed),
		"Each meeting still chooses whether guests may come in.")
	f.heading("Your account: you are the owner")
	f.add("login", "Your login", login, "For signing in from other computers.")
	f.add("display_name", "Your name", display, "As colleagues see you in meetings.")
	f.add("email", "Email", email, "")
	f.add("password", "Password", password, "For signing in from other computers. "+m.PolicyText())
	f.add("confirm", "Password again", confirm, "")
	return v
}

func listenLabel(addr string) string {
	if addr == "" {
		return "All addresses of this computer"
	}
	return addr
}

func (v *wizardView) content() fyne.CanvasObject {
	title := pageTitle("Welcome to Parley")
	intro := wrapped("Parley now runs on this computer: it is your office's meeting server. " +
		"Choose its name and where it listens, then create your account: you are its owner. " +
		"On this computer you are signed in without a password.")
	actions := container.NewHBox(layout.NewSpacer(), v.busy, v.submit)
	if v.joinInstead != nil {
		actions.Objects = append([]fyne.CanvasObject{v.joinInstead}, actions.Objects...)
	}
	column := container.NewVBox(title, intro, spacer(8), v.fields.content(), spacer(8), actions)
	return container.NewVScroll(centered(760, container.NewPadded(column)))
}

// setBusy shows the submit in progress and locks the button.
func (v *wizardView) setBusy(busy bool) {
	if busy {
		v.submit.Disable()
		v.busy.Start()
		v.busy.Show()
		return
	}
	v.submit.Enable()
	v.busy.Stop()
	v.busy.Hide()
	if v.model.OwnerCreated() {
		for _, input := range v.owner {
			input.Disable()
		}
	}
}

func (s *shell) submitWizard(v *wizardView) {
	if err := v.model.Check(); err != nil {
		v.fields.show(err)
		return
	}
	v.fields.show(nil)
	v.setBusy(true)
	var session *Session
	s.background(func(ctx context.Context) (err error) {
		session, err = v.model.Submit(ctx)
		return err
	}, func(err error) {
		v.setBusy(false)
		if err != nil {
			v.fields.show(err)
			return
		}
		s.openConsole(session, "")
	})
}
