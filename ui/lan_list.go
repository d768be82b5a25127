package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/parleyhq/parley/discovery"
)

// quietAfter is how long the list says it is looking before it says that
// nothing answered: two rounds of browsing.
const quietAfter = 6 * time.Second

// lanList is the start screen's "Servers on your network": the Parley
// servers that announce themselves on the LAN, each with a Connect button.
type lanList struct {
	box     *fyne.Container
	connect func(discovery.Server)
	started time.Time
	servers []discovery.Server
	err     error
}

func newLANList(connect func(discovery.Server)) *lanList {
	l := &lanList{box: container.NewVBox(), connect: connect, started: time.Now()}
	l.render()
	return l
}

// set shows the list now; err is why browsing stopped, if it did.
func (l *lanList) set(servers []discovery.Server, err error) {
	l.servers, l.err = servers, err
	l.render()
}

func (l *lanList) render() {
	var rows []fyne.CanvasObject
	switch {
	case len(l.servers) > 0:
		for _, server := range l.servers {
			rows = append(rows, l.row(server))
		}
	case errors.Is(l.err, discovery.ErrNoMulticast):
		rows = append(rows, caption("This computer is on no network where servers can announce themselves. Type the server's address above."))
	case l.err != nil:
		rows = append(rows, caption("Looking for servers stopped: "+l.err.Error()))
	case time.Since(l.started) < quietAfter:
		activity := widget.NewActivity()
		activity.Start()
		rows = append(rows, container.NewHBox(activity, note("Looking for Parley servers on this network…")))
	default:
		rows = append(rows, caption("No Parley server has answered on this network. Parley keeps looking; "+
			"you can also type the server's address, or your company's domain, above."))
	}
	l.box.Objects = rows
	l.box.Refresh()
}

// row is one server: its name, where it is, and Connect.
func (l *lanList) row(server discovery.Server) fyne.CanvasObject {
	details := []string{strings.TrimSuffix(strings.TrimPrefix(server.URL(), "https://"), "/")}
	if server.Guests {
		details = append(details, "guests welcome")
	}
	connect := widget.NewButtonWithIcon("Connect", theme.LoginIcon(), func() { l.connect(server) })
	if server.Version != discovery.ProtocolVersion {
		// Another version of Parley speaks another protocol.
		connect.Disable()
		details = append(details, fmt.Sprintf("needs another version of Parley (protocol %q)", server.Version))
	}
	name := widget.NewLabelWithStyle(server.Name, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	return container.NewBorder(nil, nil, widget.NewIcon(theme.ComputerIcon()), container.NewCenter(connect),
		container.NewVBox(name, note(strings.Join(details, " · "))))
}

// browseLAN keeps list up to date while the start screen shows.
func (s *shell) browseLAN(list *lanList) {
	s.stopBrowsingLAN()
	ctx, cancel := context.WithCancel(s.ctx)
	done := make(chan struct{})
	s.lanStop = func() { cancel(); <-done }
	update := func(servers []discovery.Server, err error) {
		fyne.Do(func() {
			if ctx.Err() == nil {
				list.set(servers, err)
			}
		})
	}
	browser := discovery.NewBrowser(func(servers []discovery.Server) { update(servers, nil) }, s.log)
	s.tasks.Go(func() {
		defer close(done)
		// The list changes from "looking" to "none yet" by itself.
		quiet := time.AfterFunc(quietAfter, func() { update(browser.Servers(), nil) })
		defer quiet.Stop()
		if err := browser.Run(ctx); err != nil {
			update(nil, err)
		}
	})
}

// stopBrowsingLAN stops the start screen's browsing, if it runs.
func (s *shell) stopBrowsingLAN() {
	if s.lanStop != nil {
		s.lanStop()
		s.lanStop = nil
	}
}

// connectDiscovered connects to a server chosen in the list, its
// certificate authority checked against its announcement.
func (s *shell) connectDiscovered(server discovery.Server) {
	model := newJoinModel(s.trust)
	s.showProgress("Connecting…", "Reaching "+server.Name+" and checking that it is the server announced on the network.")
	var question *TrustQuestion
	s.background(func(ctx context.Context) (err error) {
		question, err = model.ConnectDiscovered(ctx, server)
		return err
	}, func(err error) {
		s.connected(model, question, err, model.Target.HostPort())
	})
}
