package ui

import (
	"context"
	"fmt"
	"image/color"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/data/binding"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/parleyhq/parley/server/client"
)

// dashboardRefresh is how often the dashboard reads the server's numbers.
const dashboardRefresh = 5 * time.Second

// DashboardModel holds what the dashboard shows: the server's subsystems
// (GET /api/v1/status) and live counters with the bandwidth of the last
// hour (GET /api/v1/stats).
type DashboardModel struct {
	client *client.Client

	ServerName         binding.String
	Version            binding.String
	UsersOnline        binding.Int
	ConferencesRunning binding.Int
	Participants       binding.Int
	Guests             binding.Int
	Waiting            binding.Int
	Subsystems         binding.List[client.Subsystem]
	Bandwidth          binding.List[client.Bandwidth]
}

func newDashboardModel(c *client.Client) *DashboardModel {
	never := func(a, b client.Subsystem) bool { return a == b }
	return &DashboardModel{
		client: c, ServerName: binding.NewString(), Version: binding.NewString(),
		UsersOnline: binding.NewInt(), ConferencesRunning: binding.NewInt(), Participants: binding.NewInt(),
		Guests: binding.NewInt(), Waiting: binding.NewInt(),
		Subsystems: binding.NewList(never),
		Bandwidth:  binding.NewList(func(a, b client.Bandwidth) bool { return a == b }),
	}
}

// Refresh reads the status and the counters.
func (m *DashboardModel) Refresh(ctx context.Context) error {
	status, err := m.client.Status(ctx)
	if err != nil {
		return err
	}
	stats, err := m.client.Stats(ctx)
	if err != nil {
		return err
	}
	_ = m.ServerName.Set(status.Server.Name)
	_ = m.Version.Set(status.Server.Version)
	_ = m.Subsystems.Set(status.Subsystems)
	_ = m.UsersOnline.Set(stats.UsersOnline)
	_ = m.ConferencesRunning.Set(stats.ConferencesRunning)
	_ = m.Participants.Set(stats.Participants)
	_ = m.Guests.Set(stats.Guests)
	_ = m.Waiting.Set(stats.Waiting)
	_ = m.Bandwidth.Set(stats.Bandwidth)
	return nil
}

// health is the colour class of a subsystem state.
type health int

const (
	healthy health = iota
	unsettled
	failing
)

func stateHealth(state string) health {
	switch state {
	case "running":
		return healthy
	case "starting", "degraded", "stopping":
		return unsettled
	}
	return failing
}

func healthColor(h health) color.Color {
	variant := fyne.CurrentApp().Settings().ThemeVariant()
	th := fyne.CurrentApp().Settings().Theme()
	switch h {
	case healthy:
		return th.Color(theme.ColorNameSuccess, variant)
	case unsettled:
		return th.Color(theme.ColorNameWarning, variant)
	}
	return th.Color(theme.ColorNameError, variant)
}

// dashboardView lays out the dashboard.
type dashboardView struct {
	s       *shell
	model   *DashboardModel
	session *Session
	status  *widget.Label // the last refresh's failure, if any
	root    fyne.CanvasObject
}

func newDashboardView(s *shell, session *Session) *dashboardView {
	m := newDashboardModel(session.Client)
	v := &dashboardView{s: s, model: m, session: session, status: caption("")}
	v.status.Importance = widget.DangerImportance
	v.status.Hide()

	share := session.ShareURL()
	shareLabel := widget.NewLabelWithStyle(share, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	copyShare := widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() {
		s.app.Clipboard().SetContent(share)
	})
	serverName := widget.NewLabelWithData(m.ServerName)
	serverName.TextStyle.Bold = true
	serverName.SizeName = theme.SizeNameSubHeadingText
	version := widget.NewLabelWithData(binding.NewSprintf("Parley %s", m.Version))
	version.Importance = widget.LowImportance
	version.SizeName = theme.SizeNameCaptionText
	version.Alignment = fyne.TextAlignTrailing
	addressCard := card("", "", container.NewBorder(nil, nil,
		container.NewVBox(serverName, note("Colleagues open this address in a browser or in the Parley app")),
		container.NewVBox(layout.NewSpacer(), container.NewHBox(shareLabel, copyShare), layout.NewSpacer())))

	counters := container.NewGridWithColumns(5,
		counter("Users online", m.UsersOnline),
		counter("Meetings running", m.ConferencesRunning),
		counter("Participants", m.Participants),
		counter("Guests", m.Guests),
		counter("Waiting in lobbies", m.Waiting))

	subsystems := container.NewVBox()
	var page *fyne.Container
	m.Subsystems.AddListener(binding.NewDataListener(func() {
		list, _ := m.Subsystems.Get()
		subsystems.RemoveAll()
		for _, sub := range list {
			subsystems.Add(subsystemRow(sub))
		}
		subsystems.Add(version)
		if page != nil {
			page.Refresh() // the cards grow with their rows
		}
	}))
	chart := newBandwidthChart()
	m.Bandwidth.AddListener(binding.NewDataListener(func() {
		samples, _ := m.Bandwidth.Get()
		chart.SetSamples(samples, time.Now())
	}))

	health := card("Services", "The parts of the server and how they are doing", subsystems)
	traffic := card("Media traffic", "The last hour, per minute", chart)
	page = container.NewVBox(addressCard, counters, v.status, container.NewGridWithColumns(2, health, traffic))
	v.root = container.NewVScroll(container.NewPadded(page))
	return v
}

func (v *dashboardView) content() fyne.CanvasObject { return v.root }

// shown refreshes the numbers while the dashboard is visible.
func (v *dashboardView) shown(ctx context.Context) {
	v.s.tasks.Go(func() {
		ticker := time.NewTicker(dashboardRefresh)
		defer ticker.Stop()
		for {
			err := v.model.Refresh(ctx)
			if ctx.Err() != nil {
				return
			}
			fyne.Do(func() {
				if err != nil {
					v.status.SetText("Could not read the server's numbers: " + message(err))
					v.status.Show()
				} else {
					v.status.Hide()
				}
			})
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
		}
	})
}

// counter is a big number with its name.
func counter(name string, value binding.Int) fyne.CanvasObject {
	number := canvas.NewText("0", theme.Color(theme.ColorNamePrimary))
	number.TextSize = 34
	number.TextStyle.Bold = true
	value.AddListener(binding.NewDataListener(func() {
		n, _ := value.Get()
		number.Text = fmt.Sprint(n)
		number.Color = theme.Color(theme.ColorNamePrimary)
		number.Refresh()
	}))
	return card("", "", container.NewVBox(number, note(name)))
}

// subsystemRow is a coloured dot, a subsystem's name and state, and why.
func subsystemRow(sub client.Subsystem) fyne.CanvasObject {
	dot := canvas.NewCircle(healthColor(stateHealth(sub.State)))
	dot.Resize(fyne.NewSize(10, 10))
	dot.Move(fyne.NewPos(4, 13))
	dotBox := container.NewWithoutLayout(dot)
	dots := container.NewGridWrap(fyne.NewSize(18, 36), dotBox)
	name := widget.NewLabelWithStyle(sub.Name, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	reason := note(sub.Reason)
	reason.Truncation = fyne.TextTruncateEllipsis
	return container.NewBorder(nil, nil, container.NewHBox(dots, name, widget.NewLabel(stateText(sub))), nil, reason)
}

func stateText(sub client.Subsystem) string {
	text := sub.State
	if sub.Restarts > 0 {
		text += fmt.Sprintf(" (restarted %d×)", sub.Restarts)
	}
	return text
}
