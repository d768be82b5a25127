package ui

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/data/binding"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/parleyhq/parley/server/client"
)

// eventKinds are the log's filters by kind prefix ("" for all).
var eventKinds = []choice{{"", "All events"}, {"auth.", "Sign-in (auth.)"}, {"user.", "Users (user.)"},
	{"group.", "Groups (group.)"}, {"settings.", "Settings (settings.)"}, {"tls.", "Certificate (tls.)"},
	{"conference.", "Meetings (conference.)"}, {"subsystem.", "Services (subsystem.)"}}

// eventPeriods are the log's filters by age.
var eventPeriods = []struct {
	label string
	span  time.Duration // 0: any time
}{{"Any time", 0}, {"Last hour", time.Hour}, {"Last 24 hours", 24 * time.Hour}, {"Last 7 days", 7 * 24 * time.Hour}, {"Last 30 days", 30 * 24 * time.Hour}}

// eventsPerPage is a page of the log; the CSV export pages with the API's
// largest page.
const (
	eventsPerPage = 100
	csvPage       = 1000
)

// LogsModel is the event log with its filters and paging.
type LogsModel struct {
	client *client.Client
	now    func() time.Time

	Kind   binding.String              // a kind prefix, "" for all
	UserID binding.Item[int64]         // 0 for anyone
	Period binding.Item[time.Duration] // 0 for any time

	Events   binding.List[client.Event]
	HasOlder binding.Bool

	pageSize, exportPage int

	mu   sync.Mutex
	next int64 // the id to page back from
}

func newLogsModel(c *client.Client) *LogsModel {
	return &LogsModel{client: c, now: time.Now, Kind: binding.NewString(), HasOlder: binding.NewBool(),
		UserID:   binding.NewItem(func(a, b int64) bool { return a == b }),
		Period:   binding.NewItem(func(a, b time.Duration) bool { return a == b }),
		Events:   binding.NewList(func(a, b client.Event) bool { return a.ID == b.ID }),
		pageSize: eventsPerPage, exportPage: csvPage}
}

func (m *LogsModel) query() client.EventQuery {
	kind, _ := m.Kind.Get()
	user, _ := m.UserID.Get()
	q := client.EventQuery{Kind: kind, User: user}
	if period, _ := m.Period.Get(); period > 0 {
		q.Since = m.now().Add(-period)
	}
	return q
}

// Load reads the newest page for the filters.
func (m *LogsModel) Load(ctx context.Context) error {
	q := m.query()
	q.Limit = m.pageSize
	events, next, err := m.client.Events(ctx, q)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.next = next
	m.mu.Unlock()
	_ = m.HasOlder.Set(next != 0)
	return m.Events.Set(events)
}

// Older adds the next page of older events.
func (m *LogsModel) Older(ctx context.Context) error {
	m.mu.Lock()
	before := m.next
	m.mu.Unlock()
	if before == 0 {
		return nil
	}
	q := m.query()
	q.Limit, q.Before = m.pageSize, before
	events, next, err := m.client.Events(ctx, q)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.next = next
	m.mu.Unlock()
	_ = m.HasOlder.Set(next != 0)
	shown, _ := m.Events.Get()
	return m.Events.Set(append(shown, events...))
}

// Export writes every event matching the filters as the server's CSV,
// page after page, with one header line; it returns how many.
func (m *LogsModel) Export(ctx context.Context, w io.Writer) (int, error) {
	q := m.query()
	q.Limit = m.exportPage
	count := 0
	for {
		page, err := m.client.EventsCSV(ctx, q)
		if err != nil {
			return count, err
		}
		records, err := csv.NewReader(bytes.NewReader(page)).ReadAll()
		if err != nil {
			return count, fmt.Errorf("read the server's CSV: %w", err)
		}
		if len(records) == 0 {
			return count, nil
		}
		if count > 0 {
			// Later pages repeat the header line.
			_, page, _ = bytes.Cut(page, []byte("\n"))
		}
		if _, err := w.Write(page); err != nil {
			return count, fmt.Errorf("write the CSV: %w", err)
		}
		rows := records[1:]
		count += len(rows)
		if len(rows) < m.exportPage {
			return count, nil
		}
		if q.Before, err = strconv.ParseInt(rows[len(rows)-1][0], 10, 64); err != nil {
			return count, fmt.Errorf("read the server's CSV: event id %q", rows[len(rows)-1][0])
		}
	}
}

// eventColumns are the table's columns and their widths.
var eventColumns = []struct {
	title string
	width float32
}{{"Time", 150}, {"Kind", 190}, {"By", 130}, {"From", 120}, {"About", 150}, {"Details", 420}}

func eventCell(e client.Event, column int) string {
	switch column {
	case 0:
		return e.At.Local().Format("2006-01-02 15:04:05")
	case 1:
		return e.Kind
	case 2:
		return personOr(e.ActorUser, e.Actor)
	case 3:
		return e.Source
	case 4:
		return personOr(e.SubjectUser, e.Subject)
	}
	if len(e.Details) == 0 || string(e.Details) == "null" {
		return ""
	}
	return string(e.Details)
}

func personOr(p *client.EventPerson, fallback string) string {
	if p == nil {
		return fallback
	}
	return p.DisplayName + " (" + p.Login + ")"
}

// logsView is the event log tab.
type logsView struct {
	s       *shell
	model   *LogsModel
	users   *widget.Select
	userIDs map[string]int64
	problem *widget.Label
	table   *widget.Table
	root    fyne.CanvasObject
}

func newLogsView(s *shell, session *Session) *logsView {
	m := newLogsModel(session.Client)
	v := &logsView{s: s, model: m, userIDs: map[string]int64{}, problem: caption("")}
	v.problem.Importance = widget.DangerImportance
	v.problem.Hide()

	kinds := widget.NewSelect(labelsOf(eventKinds), func(label string) {
		_ = m.Kind.Set(valueOf(eventKinds, label))
		v.load()
	})
	kinds.SetSelected(eventKinds[0].label)
	v.users = widget.NewSelect([]string{"Anyone"}, func(label string) {
		_ = m.UserID.Set(v.userIDs[label])
		v.load()
	})
	v.users.SetSelected("Anyone")
	var periodLabels []string
	for _, p := range eventPeriods {
		periodLabels = append(periodLabels, p.label)
	}
	periods := widget.NewSelect(periodLabels, func(label string) {
		for _, p := range eventPeriods {
			if p.label == label {
				_ = m.Period.Set(p.span)
			}
		}
		v.load()
	})
	periods.SetSelected(periodLabels[0])

	v.table = widget.NewTable(
		func() (int, int) { return m.Events.Length(), len(eventColumns) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(id widget.TableCellID, o fyne.CanvasObject) {
			if events, _ := m.Events.Get(); id.Row < len(events) {
				o.(*widget.Label).SetText(eventCell(events[id.Row], id.Col))
			}
		})
	v.table.ShowHeaderRow = true
	v.table.CreateHeader = func() fyne.CanvasObject {
		return widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	}
	v.table.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		if id.Col >= 0 {
			o.(*widget.Label).SetText(eventColumns[id.Col].title)
		}
	}
	for i, c := range eventColumns {
		v.table.SetColumnWidth(i, c.width)
	}
	v.table.OnSelected = func(id widget.TableCellID) {
		if events, _ := m.Events.Get(); id.Row < len(events) {
			v.showEvent(events[id.Row])
		}
		v.table.UnselectAll()
	}
	m.Events.AddListener(binding.NewDataListener(v.table.Refresh))

	older := widget.NewButtonWithIcon("Show older", theme.MoreVerticalIcon(), func() {
		v.s.background(m.Older, v.showProblem)
	})
	m.HasOlder.AddListener(binding.NewDataListener(func() {
		if has, _ := m.HasOlder.Get(); has {
			older.Enable()
		} else {
			older.Disable()
		}
	}))
	export := widget.NewButtonWithIcon("Export CSV…", theme.DownloadIcon(), v.export)
	filters := container.NewHBox(widget.NewLabel("Show"), kinds, widget.NewLabel("by or about"), v.users, periods,
		layout.NewSpacer(), export)
	top := container.NewVBox(pageTitle("Event log"), filters, v.problem)
	v.root = container.NewBorder(container.NewPadded(top), container.NewPadded(container.NewHBox(layout.NewSpacer(), older)), nil, nil, v.table)
	return v
}

func (v *logsView) content() fyne.CanvasObject { return v.root }

// shown reloads the events and the people to filter by.
func (v *logsView) shown(context.Context) {
	v.load()
	var users []client.User
	v.s.background(func(ctx context.Context) (err error) {
		users, err = v.model.client.Users(ctx, client.UserQuery{Limit: 1000})
		return err
	}, func(err error) {
		if err != nil {
			return
		}
		options := []string{"Anyone"}
		v.userIDs = map[string]int64{"Anyone": 0}
		for _, u := range users {
			label := u.DisplayName + " (" + u.Login + ")"
			options = append(options, label)
			v.userIDs[label] = u.ID
		}
		v.users.SetOptions(options)
	})
}

func (v *logsView) load() {
	if v.table == nil {
		return // still building: the filters set their first value
	}
	v.s.background(v.model.Load, v.showProblem)
}

func (v *logsView) showProblem(err error) {
	if err == nil {
		v.problem.Hide()
		return
	}
	v.problem.SetText(message(err))
	v.problem.Show()
}

// showEvent shows one event in full.
func (v *logsView) showEvent(e client.Event) {
	var lines []string
	for i, c := range eventColumns {
		lines = append(lines, c.title+": "+eventCell(e, i))
	}
	text := wrapped(strings.Join(lines, "\n"))
	d := dialog.NewCustom(e.Kind, "Close", text, v.s.win)
	d.Resize(dialogSize(text.Text, 640, 130))
	d.Show()
}

// export asks where to save the CSV and writes it there.
func (v *logsView) export() {
	d := dialog.NewFileSave(func(file fyne.URIWriteCloser, err error) {
		if err != nil {
			v.s.showError("Parley could not save the file", err)
			return
		}
		if file == nil {
			return // cancelled
		}
		v.s.background(func(ctx context.Context) error {
			_, err := v.model.Export(ctx, file)
			if closeErr := file.Close(); err == nil {
				err = closeErr
			}
			return err
		}, func(err error) {
			if err != nil {
				v.s.showError("The export failed", err)
			}
		})
	}, v.s.win)
	d.SetFileName("parley-events-" + time.Now().Format("2006-01-02") + ".csv")
	d.Resize(fyne.NewSize(760, 520))
	d.Show()
}
