package ui

import (
	"context"
	"slices"
	"strconv"
	"strings"
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

// ConferencesModel lists conferences (all of them for administrators,
// one's own otherwise) and makes the changes to them.
type ConferencesModel struct {
	client      *client.Client
	scope       string
	Conferences binding.List[client.Conference]
}

func newConferencesModel(c *client.Client, scope string) *ConferencesModel {
	return &ConferencesModel{client: c, scope: scope,
		Conferences: binding.NewList(func(a, b client.Conference) bool { return false })}
}

// Load reads the list.
func (m *ConferencesModel) Load(ctx context.Context) error {
	list, err := m.client.Conferences(ctx, m.scope)
	if err != nil {
		return err
	}
	return m.Conferences.Set(list)
}

// Create creates a conference from the form.
func (m *ConferencesModel) Create(ctx context.Context, form ConferenceForm) (client.Conference, error) {
	spec, err := form.Spec()
	if err != nil {
		return client.Conference{}, err
	}
	c, err := m.client.CreateConference(ctx, spec)
	if err != nil {
		return client.Conference{}, err
	}
	return c, m.Load(ctx)
}

// Update changes a conference to what the form says.
func (m *ConferencesModel) Update(ctx context.Context, before client.Conference, form ConferenceForm) (client.Conference, error) {
	patch, err := form.Patch(before)
	if err != nil {
		return client.Conference{}, err
	}
	c, err := m.client.UpdateConference(ctx, before.CID, patch)
	if err != nil {
		return client.Conference{}, err
	}
	return c, m.Load(ctx)
}

// End ends a running conference for everyone.
func (m *ConferencesModel) End(ctx context.Context, cid string) error {
	if err := m.client.EndConference(ctx, cid); err != nil {
		return err
	}
	return m.Load(ctx)
}

// Delete deletes a conference; its ID stays taken.
func (m *ConferencesModel) Delete(ctx context.Context, cid string) error {
	if err := m.client.DeleteConference(ctx, cid); err != nil {
		return err
	}
	return m.Load(ctx)
}

// conferenceGroup is a section of the list.
type conferenceGroup struct {
	Title string
	Items []client.Conference
}

// groupConferences sorts conferences into what runs now, what is
// scheduled, the rooms, and instant meetings that are over.
func groupConferences(list []client.Conference) []conferenceGroup {
	groups := []conferenceGroup{{Title: "Running now"}, {Title: "Scheduled"}, {Title: "Rooms"}, {Title: "Instant meetings"}}
	for _, c := range list {
		switch {
		case c.Running:
			groups[0].Items = append(groups[0].Items, c)
		case c.Kind == client.KindScheduled:
			groups[1].Items = append(groups[1].Items, c)
		case c.Kind == client.KindRoom:
			groups[2].Items = append(groups[2].Items, c)
		default:
			groups[3].Items = append(groups[3].Items, c)
		}
	}
	slices.SortStableFunc(groups[1].Items, func(a, b client.Conference) int {
		return nextStart(a).Compare(nextStart(b))
	})
	return slices.DeleteFunc(groups, func(g conferenceGroup) bool { return len(g.Items) == 0 })
}

func nextStart(c client.Conference) time.Time {
	if c.OpensAt != nil {
		return *c.OpensAt
	}
	if c.Schedule != nil {
		return c.Schedule.StartsAt
	}
	return c.CreatedAt
}

// conferenceSummary is one line about a conference's state and rules.
func conferenceSummary(c client.Conference) string {
	parts := []string{"ID " + c.CID}
	switch {
	case c.Running:
		parts = append(parts, plural(c.Participants, "person", "people")+" in it")
	case c.State == "ended":
		parts = append(parts, "ended")
	case c.State == "not_started" && c.OpensAt != nil:
		parts = append(parts, "opens "+when(*c.OpensAt))
	}
	if c.Access == client.AccessInternal {
		parts = append(parts, "accounts only")
	} else {
		parts = append(parts, "guests welcome")
	}
	if c.Lobby != "off" {
		parts = append(parts, "lobby: "+c.Lobby)
	}
	if c.HasPIN {
		parts = append(parts, "PIN")
	}
	if c.Mode == client.ModeWebinar {
		parts = append(parts, "webinar")
	}
	if c.RelayOnly {
		parts = append(parts, "media relayed")
	}
	return strings.Join(parts, " · ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// conferencesView is the meetings tab.
type conferencesView struct {
	s       *shell
	session *Session
	model   *ConferencesModel
	list    *fyne.Container
	problem *widget.Label
	root    fyne.CanvasObject
}

func newConferencesView(s *shell, session *Session) *conferencesView {
	scope := "mine"
	if session.canAudit() {
		scope = "all"
	}
	m := newConferencesModel(session.Client, scope)
	v := &conferencesView{s: s, session: session, model: m, list: container.NewVBox(), problem: caption("")}
	v.problem.Importance = widget.DangerImportance
	v.problem.Hide()
	m.Conferences.AddListener(binding.NewDataListener(v.render))

	instant := widget.NewButtonWithIcon("New meeting", theme.MediaVideoIcon(), v.startInstant)
	instant.Importance = widget.HighImportance
	create := widget.NewButtonWithIcon("Schedule or create a room…", theme.ContentAddIcon(), func() { v.editor(nil) })
	if !session.hasRight("create_conferences") {
		instant.Disable()
		create.Disable()
	}
	refresh := widget.NewButtonWithIcon("", theme.ViewRefreshIcon(), func() { v.shown(s.ctx) })
	title := "Your meetings"
	if scope == "all" {
		title = "Meetings on this server"
	}
	top := container.NewVBox(container.NewHBox(pageTitle(title), layout.NewSpacer(), refresh, create, instant), v.problem)
	v.root = container.NewBorder(container.NewPadded(top), nil, nil, nil, container.NewVScroll(container.NewPadded(v.list)))
	return v
}

func (v *conferencesView) content() fyne.CanvasObject { return v.root }

func (v *conferencesView) shown(context.Context) {
	v.s.background(v.model.Load, v.showProblem)
}

func (v *conferencesView) showProblem(err error) {
	if err == nil {
		v.problem.Hide()
		return
	}
	v.problem.SetText(message(err))
	v.problem.Show()
}

func (v *conferencesView) render() {
	list, _ := v.model.Conferences.Get()
	v.list.RemoveAll()
	groups := groupConferences(list)
	if len(groups) == 0 {
		v.list.Add(caption("No meetings yet. Start one with New meeting, or create a room that stays open."))
	}
	for _, group := range groups {
		v.list.Add(heading(group.Title))
		for _, c := range group.Items {
			v.list.Add(v.row(c))
		}
	}
}

// row is one conference with its actions.
func (v *conferencesView) row(c client.Conference) fyne.CanvasObject {
	name := widget.NewLabelWithStyle(c.Name, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	summary := caption(conferenceSummary(c))
	join := widget.NewButtonWithIcon("Join", theme.MediaVideoIcon(), func() { v.s.joinMeeting(c.CID) })
	join.Importance = widget.HighImportance
	copyLink := widget.NewButtonWithIcon("Copy link", theme.ContentCopyIcon(), func() { v.s.app.Clipboard().SetContent(c.Link) })
	edit := widget.NewButtonWithIcon("Edit", theme.DocumentCreateIcon(), func() { v.edit(c.CID) })
	end := widget.NewButtonWithIcon("End", theme.MediaStopIcon(), func() {
		dialog.ShowConfirm("End "+c.Name+" for everyone?", plural(c.Participants, "person", "people")+" will be disconnected.", func(ok bool) {
			if ok {
				v.s.background(func(ctx context.Context) error { return v.model.End(ctx, c.CID) }, v.showProblem)
			}
		}, v.s.win)
	})
	remove := widget.NewButtonWithIcon("", theme.DeleteIcon(), func() {
		dialog.ShowConfirm("Delete "+c.Name+"?", "Its link stops working; its ID stays taken. A running meeting ends.", func(ok bool) {
			if ok {
				v.s.background(func(ctx context.Context) error { return v.model.Delete(ctx, c.CID) }, v.showProblem)
			}
		}, v.s.win)
	})
	actions := container.NewHBox(copyLink, edit)
	if c.Running {
		actions.Add(end)
	}
	actions.Add(remove)
	if c.State != "ended" {
		actions.Add(join)
	}
	return card("", "", container.NewBorder(nil, nil, nil, actions, container.NewVBox(name, summary)))
}

// startInstant creates an instant meeting and joins it.
func (v *conferencesView) startInstant() {
	form := newConferenceForm(time.Now())
	form.Kind = client.KindInstant
	form.Name = "Meeting of " + v.session.Me.User.DisplayName
	var created client.Conference
	v.s.background(func(ctx context.Context) (err error) {
		created, err = v.model.Create(ctx, form)
		return err
	}, func(err error) {
		if err != nil {
			v.s.showError("Parley could not start a meeting", err)
			return
		}
		v.s.joinMeeting(created.CID)
	})
}

// edit opens the editor on a conference as GET /conferences/{cid} has it
// (the list leaves invitees out).
func (v *conferencesView) edit(cid string) {
	var full client.Conference
	v.s.background(func(ctx context.Context) (err error) {
		full, err = v.session.Client.Conference(ctx, cid)
		return err
	}, func(err error) {
		if err != nil {
			v.s.showError("Parley could not read the meeting", err)
			return
		}
		v.editor(&full)
	})
}

// editor creates (nil) or changes a conference in a dialog.
func (v *conferencesView) editor(existing *client.Conference) {
	form := newConferenceForm(time.Now())
	title, action := "Schedule a meeting or create a room", "Create"
	if existing != nil {
		form = editForm(*existing, time.Now())
		title, action = "Edit "+existing.Name, "Save changes"
	}
	e := newConferenceEditor(v.s, v.session, form, existing == nil)
	v.s.formDialog(title, action, container.NewVScroll(e.content()), e.fields, fyne.NewSize(760, 680), func() func(context.Context) error {
		f := e.form()
		return func(ctx context.Context) (err error) {
			if existing == nil {
				_, err = v.model.Create(ctx, f)
			} else {
				_, err = v.model.Update(ctx, *existing, f)
			}
			return err
		}
	})
}

// Labels of the editor's choices, with the API values they stand for.
var (
	kindChoices   = []choice{{client.KindRoom, "Room: always open"}, {client.KindScheduled, "Scheduled meeting"}, {client.KindInstant, "Instant: ends when everyone has left"}}
	accessChoices = []choice{{client.AccessPublic, "Anyone with the link, guests too"}, {client.AccessInternal, "Only people with an account on this server"}}
	modeChoices   = []choice{{client.ModeMeeting, "Meeting: everyone may speak"}, {client.ModeWebinar, "Webinar: speakers talk, the others listen"}}
	lobbyChoices  = []choice{{"off", "Off: everyone comes straight in"}, {"guests", "Guests wait until a moderator lets them in"},
		{"uninvited", "Everyone who was not invited waits"}, {"everyone", "Everyone waits for a moderator"}}
	pinChoices      = []choice{{pinNone, "None"}, {pinAuto, "Random"}, {pinCustom, "Choose"}}
	durationChoices = []choice{{"15", "15 minutes"}, {"30", "30 minutes"}, {"45", "45 minutes"}, {"60", "1 hour"}, {"90", "1½ hours"},
		{"120", "2 hours"}, {"180", "3 hours"}, {"240", "4 hours"}, {"480", "8 hours"}}
	joinBeforeChoices = []choice{{"0", "at the start time"}, {"5", "5 minutes early"}, {"10", "10 minutes early"}, {"15", "15 minutes early"}, {"30", "30 minutes early"}}
	inviteeRoles      = []choice{{"participant", "Participant"}, {"moderator", "Moderator"}, {"speaker", "Speaker (webinars)"}}
)

// choice is an API value and its label.
type choice struct{ value, label string }

func labelsOf(choices []choice) []string {
	labels := make([]string, len(choices))
	for i, c := range choices {
		labels[i] = c.label
	}
	return labels
}

func labelOf(choices []choice, value string) string {
	for _, c := range choices {
		if c.value == value {
			return c.label
		}
	}
	return value
}

func valueOf(choices []choice, label string) string {
	for _, c := range choices {
		if c.label == label {
			return c.value
		}
	}
	return label
}
