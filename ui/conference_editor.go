package ui

import (
	"context"
	"slices"
	"strconv"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/parleyhq/parley/server/client"
)

// conferenceEditor is the form of every conference option.
type conferenceEditor struct {
	start  ConferenceForm // what the form began with
	fields *fieldSet
	root   fyne.CanvasObject

	name, cid, pin, max, startTime *widget.Entry
	startDate                      *widget.DateEntry
	kind, access, pinMode          *widget.RadioGroup
	mode, lobby, duration, before  *widget.Select
	zone                           *widget.SelectEntry
	days                           *widget.CheckGroup
	relayOnly                      *widget.Check
	invitees                       *inviteePicker
	// pinValue reads the PIN choice: its labels depend on the conference.
	pinValue func() string
}

func newConferenceEditor(s *shell, session *Session, form ConferenceForm, creating bool) *conferenceEditor {
	e := &conferenceEditor{start: form, fields: newFieldSet()}
	e.name = widget.NewEntry()
	e.name.SetText(form.Name)
	e.cid = widget.NewEntry()
	e.cid.SetText(form.CID)
	e.kind = widget.NewRadioGroup(labelsOf(kindChoices), nil)
	e.kind.SetSelected(labelOf(kindChoices, form.Kind))
	e.access = widget.NewRadioGroup(labelsOf(accessChoices), nil)
	e.access.SetSelected(labelOf(accessChoices, form.Access))
	e.mode = widget.NewSelect(labelsOf(modeChoices), nil)
	e.mode.SetSelected(labelOf(modeChoices, form.Mode))
	e.lobby = widget.NewSelect(labelsOf(lobbyChoices), nil)
	e.lobby.SetSelected(labelOf(lobbyChoices, form.Lobby))
	e.max = widget.NewEntry()
	e.max.SetText(form.MaxParticipants)

	pinChoicesHere := pinChoices
	if form.PINMode == pinKeep {
		pinChoicesHere = append([]choice{{pinKeep, "Keep " + form.PIN}}, pinChoices...)
	}
	e.pin = widget.NewEntry()
	e.pin.SetPlaceHolder("4 to 10 digits")
	e.pinMode = widget.NewRadioGroup(labelsOf(pinChoicesHere), func(label string) {
		if valueOf(pinChoicesHere, label) == pinCustom {
			e.pin.Show()
		} else {
			e.pin.Hide()
		}
	})
	e.pinMode.Horizontal = true
	e.pinMode.SetSelected(labelOf(pinChoicesHere, form.PINMode))
	e.pinMode.OnChanged(e.pinMode.Selected)
	pinValue := func() string { return valueOf(pinChoicesHere, e.pinMode.Selected) }

	e.startDate = widget.NewDateEntry()
	if day, err := time.Parse("2006-01-02", form.StartDate); err == nil {
		e.startDate.SetDate(&day)
	}
	e.startTime = widget.NewEntry()
	e.startTime.SetText(form.StartTime)
	e.startTime.SetPlaceHolder("09:30")
	e.duration = widget.NewSelect(labelsOf(durationChoices), nil)
	e.duration.SetSelected(labelOf(durationChoices, strconv.Itoa(form.DurationMinutes)))
	e.zone = widget.NewSelectEntry(zoneChoices())
	e.zone.SetText(form.TimeZone)
	e.days = widget.NewCheckGroup(weekdays, nil)
	e.days.Horizontal = true
	e.days.SetSelected(form.Weekdays)
	e.before = widget.NewSelect(labelsOf(joinBeforeChoices), nil)
	e.before.SetSelected(labelOf(joinBeforeChoices, strconv.Itoa(form.JoinBeforeMinutes)))
	e.invitees = newInviteePicker(s, session, form.Invitees)
	e.relayOnly = widget.NewCheck("Send all media through the relay (TURN) server", nil)
	e.relayOnly.SetChecked(form.RelayOnly)

	schedule := container.NewVBox(
		container.NewGridWithColumns(2, labelled("Starts on", e.startDate), labelled("at", e.startTime)),
		container.NewGridWithColumns(2, labelled("Duration", e.duration), labelled("Time zone", e.zone)),
		labelled("Repeat every week on (optional)", e.days),
		labelled("People may join", e.before))
	showSchedule := func(kindLabel string) {
		if valueOf(kindChoices, kindLabel) == client.KindScheduled {
			schedule.Show()
		} else {
			schedule.Hide()
		}
	}
	e.kind.OnChanged = showSchedule
	showSchedule(e.kind.Selected)

	f := e.fields
	f.add("name", "Name", e.name, "")
	if creating {
		f.add("cid", "Meeting ID", e.cid, "Optional: leave empty for a random number. Letters, digits, - and _, up to 32.")
		f.add("kind", "Kind", e.kind, "")
	} else {
		f.add("cid", "Meeting ID", widget.NewLabel(form.CID), "The ID and the kind never change.")
		f.add("kind", "Kind", widget.NewLabel(labelOf(kindChoices, form.Kind)), "")
	}
	f.add("schedule", "Schedule", schedule, "")
	f.add("access", "Who may join", e.access, "")
	f.add("mode", "Type", e.mode, "")
	f.add("pin", "PIN", container.NewVBox(e.pinMode, e.pin), "Asked of everyone who joins; moderators see it in the meeting.")
	f.add("lobby", "Lobby", e.lobby, "Moderators see who waits and let them in.")
	f.add("max_participants", "Maximum participants", e.max, "2 to 500.")
	f.add("invitees", "Invitees", e.invitees.content(), "Invited colleagues see the meeting in their list; moderators may run it.")
	f.add("relay_only", "Network", e.relayOnly, "For participants whose network blocks direct connections; media may lag a little more.")
	e.root = f.content()
	e.pinValue = pinValue
	return e
}

// labelled puts a small label over an input.
func labelled(label string, input fyne.CanvasObject) fyne.CanvasObject {
	return container.NewVBox(caption(label), input)
}

func (e *conferenceEditor) content() fyne.CanvasObject { return e.root }

// form reads the inputs back into a ConferenceForm.
func (e *conferenceEditor) form() ConferenceForm {
	f := e.start
	f.Name, f.CID = e.name.Text, e.cid.Text
	if e.kind.Selected != "" {
		f.Kind = valueOf(kindChoices, e.kind.Selected)
	}
	f.Access = valueOf(accessChoices, e.access.Selected)
	f.Mode = valueOf(modeChoices, e.mode.Selected)
	f.Lobby = valueOf(lobbyChoices, e.lobby.Selected)
	f.PINMode, f.PIN = e.pinValue(), e.pin.Text
	if f.PINMode == pinKeep {
		f.PIN = e.start.PIN
	}
	f.MaxParticipants = e.max.Text
	if e.startDate.Date != nil {
		f.StartDate = e.startDate.Date.Format("2006-01-02")
	}
	f.StartTime = e.startTime.Text
	f.DurationMinutes, _ = strconv.Atoi(valueOf(durationChoices, e.duration.Selected))
	f.TimeZone = e.zone.Text
	f.Weekdays = slices.Clone(e.days.Selected)
	f.JoinBeforeMinutes, _ = strconv.Atoi(valueOf(joinBeforeChoices, e.before.Selected))
	f.Invitees = e.invitees.chosen()
	f.RelayOnly = e.relayOnly.Checked
	return f
}

// inviteePicker chooses colleagues from the directory, each with a role.
type inviteePicker struct {
	s        *shell
	session  *Session
	invited  []client.Invitee
	names    map[int64]string
	rows     *fyne.Container
	search   *widget.Entry
	results  *fyne.Container
	searchAt *time.Timer
	root     fyne.CanvasObject
}

func newInviteePicker(s *shell, session *Session, invited []client.Invitee) *inviteePicker {
	p := &inviteePicker{s: s, session: session, invited: slices.Clone(invited), names: map[int64]string{},
		rows: container.NewVBox(), results: container.NewVBox(), search: widget.NewEntry()}
	p.search.SetPlaceHolder("Find a colleague to invite")
	p.search.OnChanged = func(string) {
		if p.searchAt != nil {
			p.searchAt.Stop()
		}
		p.searchAt = time.AfterFunc(300*time.Millisecond, func() { fyne.Do(p.find) })
	}
	p.root = container.NewVBox(p.rows, p.search, p.results)
	p.render()
	// Names of the people invited already.
	var everyone []client.DirectoryEntry
	s.background(func(ctx context.Context) (err error) {
		everyone, err = session.Client.Directory(ctx, "")
		return err
	}, func(err error) {
		for _, u := range everyone {
			p.names[u.ID] = u.DisplayName
		}
		p.render()
	})
	return p
}

func (p *inviteePicker) content() fyne.CanvasObject { return p.root }

func (p *inviteePicker) chosen() []client.Invitee { return slices.Clone(p.invited) }

func (p *inviteePicker) render() {
	p.rows.RemoveAll()
	for i, inv := range p.invited {
		name := p.names[inv.UserID]
		if name == "" {
			name = "User " + strconv.FormatInt(inv.UserID, 10)
		}
		role := widget.NewSelect(labelsOf(inviteeRoles), func(label string) { p.invited[i].Role = valueOf(inviteeRoles, label) })
		role.SetSelected(labelOf(inviteeRoles, inv.Role))
		remove := widget.NewButtonWithIcon("", theme.ContentRemoveIcon(), func() {
			p.invited = slices.Delete(p.invited, i, i+1)
			p.render()
		})
		p.rows.Add(container.NewBorder(nil, nil, nil, container.NewHBox(role, remove), widget.NewLabel(name)))
	}
}

// find shows the directory's matches for the search.
func (p *inviteePicker) find() {
	q := p.search.Text
	if q == "" {
		p.results.RemoveAll()
		return
	}
	var found []client.DirectoryEntry
	p.s.background(func(ctx context.Context) (err error) {
		found, err = p.session.Client.Directory(ctx, q)
		return err
	}, func(err error) {
		p.results.RemoveAll()
		if err != nil {
			p.results.Add(caption(message(err)))
			return
		}
		for _, u := range found {
			p.names[u.ID] = u.DisplayName
			if slices.ContainsFunc(p.invited, func(i client.Invitee) bool { return i.UserID == u.ID }) {
				continue
			}
			add := widget.NewButtonWithIcon("Invite", theme.ContentAddIcon(), func() {
				p.invited = append(p.invited, client.Invitee{UserID: u.ID, Role: "participant"})
				p.search.SetText("")
				p.results.RemoveAll()
				p.render()
			})
			p.results.Add(container.NewBorder(nil, nil, nil, add, widget.NewLabel(u.DisplayName+" ("+u.Login+")")))
		}
		if len(found) == 0 {
			p.results.Add(caption("Nobody matches."))
		}
	})
}
