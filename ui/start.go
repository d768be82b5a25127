package ui

import (
	"context"
	"log/slog"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/parleyhq/parley/assets/icons"
)

// startView is the first screen: host meetings here, or join a server.
type startView struct {
	address    *widget.Entry
	addressErr *widget.Label
	host, join *widget.Button
}

func (s *shell) showStart() { s.startScreen() }

// startScreen shows the start screen and returns it.
func (s *shell) startScreen() *startView {
	s.endSession()
	v := &startView{address: widget.NewEntry(), addressErr: widget.NewLabel("")}
	v.address.SetPlaceHolder("office-pc:8443, your company's domain, or a meeting link")
	v.address.SetText(s.app.Preferences().String(prefServer))
	v.addressErr.Importance = widget.DangerImportance
	v.addressErr.Wrapping = fyne.TextWrapWord
	v.addressErr.Hide()
	v.host = widget.NewButtonWithIcon("Host meetings", theme.ComputerIcon(), s.startHosting)
	v.host.Importance = widget.HighImportance
	v.join = widget.NewButtonWithIcon("Join", theme.LoginIcon(), func() { s.connect(v) })
	v.address.OnSubmitted = func(string) { s.connect(v) }

	logo := canvas.NewImageFromResource(fyne.NewStaticResource("parley.png", icons.AppPNG))
	logo.FillMode = canvas.ImageFillContain
	logo.SetMinSize(fyne.NewSize(72, 72))
	title := pageTitle("Parley")
	title.Alignment = fyne.TextAlignCenter
	tagline := widget.NewLabelWithStyle("Video meetings for your office, on your own network.", fyne.TextAlignCenter, fyne.TextStyle{})

	hostCard := card("Host meetings on this computer", "", container.NewBorder(nil,
		container.NewHBox(layout.NewSpacer(), v.host), nil, nil,
		wrapped("This computer becomes your office's Parley server. Colleagues connect to it from their computers, "+
			"guests join from a browser with a link. You manage accounts, meetings and settings here.")))
	joinCard := card("Join a Parley server", "", container.NewBorder(nil,
		container.NewVBox(v.address, v.addressErr, container.NewHBox(layout.NewSpacer(), v.join)), nil, nil,
		wrapped("Type your office's Parley server address, your company's domain or e-mail address, or paste a meeting link.")))
	choices := container.NewGridWithColumns(2, minSize(0, 210, hostCard), minSize(0, 210, joinCard))
	version := note("Parley " + s.opts.Version)
	version.Alignment = fyne.TextAlignCenter
	page := container.NewVBox(spacer(24), container.NewCenter(logo), title, tagline, spacer(16), choices)
	var servers *lanList
	if s.opts.Discovery {
		servers = newLANList(s.connectDiscovered)
		page.Add(spacer(8))
		page.Add(card("Servers on your network", "Parley servers on this network announce themselves here.", servers.box))
	}
	page.Add(spacer(16))
	page.Add(version)
	s.show(screenStart, container.NewVScroll(centered(860, container.NewPadded(page))))
	if servers != nil {
		s.browseLAN(servers)
	}
	s.win.Canvas().Focus(v.address)
	return v
}

// startHostTimeout bounds starting the embedded server: opening its data,
// measuring password hashing on a first start, binding its ports.
const startHostTimeout = 2 * time.Minute

// startHosting starts the embedded server, then opens the wizard on a
// first start and the console after that.
func (s *shell) startHosting() {
	s.app.Preferences().SetString(prefMode, "host")
	s.showProgress("Starting Parley…", "Starting the server on this computer: its database, certificate, media and web service.")
	var (
		host    Host
		setup   bool
		session *Session
	)
	s.background(func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, startHostTimeout)
		defer cancel()
		host = s.currentHost()
		if host == nil {
			started, err := s.opts.StartHost(ctx)
			if err != nil {
				return err
			}
			s.setHost(started)
			host = started
			s.log.Info("embedded server started", slog.String("url", host.LocalURL()))
		}
		if setup = host.SetupToken() != ""; setup {
			return nil
		}
		var err error
		session, err = hostSession(ctx, host)
		return err
	}, func(err error) {
		switch {
		case err != nil:
			s.app.Preferences().SetString(prefMode, "")
			s.showStart()
			s.showError("Parley could not start its server on this computer", err)
		case setup:
			s.showWizard(host)
		default:
			s.openConsole(session, "")
		}
	})
}
