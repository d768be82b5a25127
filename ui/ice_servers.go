package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/data/binding"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/parleyhq/parley/server/client"
)

// simpleICEKeys are the simple form's fields, named as the API's simple
// form of ice_servers names them.
var simpleICEKeys = []string{"stun", "turn", "login", "password"}

// ICEServersModel is the ice_servers setting as the form edits it: the
// list as text, or the simple form's four fields, whichever was edited;
// and what testing the servers found.
type ICEServersModel struct {
	client *client.Client

	mu     sync.Mutex
	loaded []client.ICEServer

	// Text is the list: pretty JSON as loaded; edited, anything the
	// server reads (JSON, or the loose form pasted from elsewhere).
	Text binding.String
	// Simple holds the simple form's fields by simpleICEKeys.
	Simple map[string]binding.String
	// SimpleShown says the simple form is on screen rather than the list.
	SimpleShown binding.Bool
	// Fits says the saved list fits the simple form.
	Fits binding.Bool
	// Checks are the results of the last test, one per URL.
	Checks binding.List[client.ICECheck]
}

func newICEServersModel(c *client.Client) *ICEServersModel {
	m := &ICEServersModel{client: c, Text: binding.NewString(), Simple: map[string]binding.String{},
		SimpleShown: binding.NewBool(), Fits: binding.NewBool(),
		Checks: binding.NewList(func(a, b client.ICECheck) bool { return a == b })}
	for _, key := range simpleICEKeys {
		m.Simple[key] = binding.NewString()
	}
	return m
}

// show puts a saved list in both editors.
func (m *ICEServersModel) show(list []client.ICEServer) {
	m.mu.Lock()
	m.loaded = list
	m.mu.Unlock()
	_ = m.Text.Set(iceServersText(list))
	fields, fits := simpleICEFields(list)
	for key, text := range fields {
		_ = m.Simple[key].Set(text)
	}
	_ = m.Fits.Set(fits)
}

// Edited is the value of ice_servers to send, if the form changed it:
// the simple form's fields or the list's text, whichever differs from
// what was loaded; the one on screen when both do.
func (m *ICEServersModel) Edited() (any, bool) {
	m.mu.Lock()
	loaded := m.loaded
	m.mu.Unlock()
	text, _ := m.Text.Get()
	textEdited := text != iceServersText(loaded)
	fields := map[string]string{}
	for _, key := range simpleICEKeys {
		fields[key], _ = m.Simple[key].Get()
	}
	loadedFields, _ := simpleICEFields(loaded)
	simpleEdited := !maps.Equal(fields, loadedFields)
	simpleShown, _ := m.SimpleShown.Get()
	switch {
	case simpleEdited && (simpleShown || !textEdited):
		return fields, true
	case textEdited:
		return text, true
	}
	return nil, false
}

// Check tests the servers in the form if it changed them, else those
// clients get now, and keeps the results. It says which it tested. The
// server's refusal of the form's servers is about the ice_servers field.
func (m *ICEServersModel) Check(ctx context.Context) (edited bool, err error) {
	servers, edited := m.Edited()
	results, err := m.client.CheckICEServers(ctx, servers)
	var refused *client.Error
	if errors.As(err, &refused) && refused.Status == http.StatusBadRequest {
		return edited, fieldError("ice_servers", sentence(refused.Message))
	}
	if err != nil {
		return edited, err
	}
	return edited, m.Checks.Set(results)
}

func (m *ICEServersModel) checks() []client.ICECheck {
	results, _ := m.Checks.Get()
	return results
}

// iceServersText is a list as the form shows it: pretty JSON, or nothing
// for no servers.
func iceServersText(list []client.ICEServer) string {
	if len(list) == 0 {
		return ""
	}
	text, _ := json.MarshalIndent(list, "", "  ") // strings always encode
	return string(text)
}

// simpleICEFields fills the simple form from a list, and says whether the
// list fits it: at most a STUN server with one URL, then at most a TURN
// server with one URL and its login. A list that does not fit leaves
// the fields empty.
func simpleICEFields(list []client.ICEServer) (map[string]string, bool) {
	fields := map[string]string{"stun": "", "turn": "", "login": "", "password": ""}
	var stun, turn *client.ICEServer
	rest := list
	if len(rest) > 0 && len(rest[0].URLs) == 1 && strings.HasPrefix(rest[0].URLs[0], "stun:") &&
		rest[0].Username == "" && rest[0].Credential == "" {
		stun, rest = &rest[0], rest[1:]
	}
	if len(rest) > 0 && len(rest[0].URLs) == 1 && strings.HasPrefix(rest[0].URLs[0], "turn") {
		turn, rest = &rest[0], rest[1:]
	}
	if len(rest) > 0 {
		return fields, false
	}
	if stun != nil {
		fields["stun"] = stun.URLs[0]
	}
	if turn != nil {
		fields["turn"], fields["login"], fields["password"] = turn.URLs[0], turn.Username, turn.Credential
	}
	return fields, true
}

// Labels of the two ways to edit the list.
const (
	iceAsList     = "List"
	iceSimpleForm = "Simple form"
)

// iceServersEditor edits ice_servers as a list or in the simple form,
// and tests the servers without saving them.
type iceServersEditor struct {
	s      *shell
	model  *ICEServersModel
	fields *fieldSet
	test   *widget.Button
	status *widget.Label
	checks *fyne.Container
	// editor is the list or the simple form; tester the Test button and
	// its results, a row of its own below the field's note.
	editor, tester fyne.CanvasObject
}

func newICEServersEditor(s *shell, m *ICEServersModel, fields *fieldSet) *iceServersEditor {
	e := &iceServersEditor{s: s, model: m, fields: fields, status: caption(""), checks: container.NewVBox()}
	list := bindEntry(widget.NewMultiLineEntry(), m.Text)
	list.TextStyle = fyne.TextStyle{Monospace: true}
	list.SetMinRowsVisible(8)
	list.SetPlaceHolder("[\n  {\"urls\": \"stun:stun.example.com:3478\"},\n" +
		"  {\"urls\": \"turn:turn.example.com:3478\", \"username\": \"parley\", \"credential\": \"secret\"}\n]")

	password := bindEntry(widget.NewPasswordEntry(), m.Simple["password"])
	simpleEntry := func(key, placeholder string) *widget.Entry {
		entry := boundEntry(m.Simple[key])
		entry.SetPlaceHolder(placeholder)
		return entry
	}
	notFitting := caption("The saved list holds more than one STUN and one TURN server: saving the simple form replaces it.")
	notFitting.Importance = widget.WarningImportance
	m.Fits.AddListener(binding.NewDataListener(func() {
		if fits, _ := m.Fits.Get(); fits {
			notFitting.Hide()
		} else {
			notFitting.Show()
		}
	}))
	simple := container.NewVBox(
		container.NewGridWithColumns(2,
			labelled("STUN server", simpleEntry("stun", "stun.example.com:3478")),
			labelled("TURN server", simpleEntry("turn", "turn.example.com:3478"))),
		container.NewGridWithColumns(2,
			labelled("Login", simpleEntry("login", "TURN user name")),
			labelled("Password", password)),
		notFitting)

	way := widget.NewRadioGroup([]string{iceAsList, iceSimpleForm}, func(label string) {
		_ = m.SimpleShown.Set(label == iceSimpleForm)
	})
	way.Horizontal, way.Required = true, true
	m.SimpleShown.AddListener(binding.NewDataListener(func() {
		shown, _ := m.SimpleShown.Get()
		label := iceAsList
		if shown {
			label = iceSimpleForm
			list.Hide()
			simple.Show()
		} else {
			simple.Hide()
			list.Show()
		}
		if way.Selected != label {
			way.SetSelected(label)
		}
	}))

	applies := note("Applies to meetings joined after saving.")
	applies.Alignment = fyne.TextAlignTrailing
	e.editor = container.NewVBox(container.NewBorder(nil, nil, way, nil, applies), list, simple)

	e.test = widget.NewButtonWithIcon("Test servers", theme.MediaPlayIcon(), e.runTest)
	m.Checks.AddListener(binding.NewDataListener(e.renderChecks))
	e.tester = container.NewVBox(container.NewBorder(nil, nil, e.test, nil, e.status), e.checks)
	return e
}

// runTest tests the servers in the background; the window stays live for
// the seconds a server that does not answer takes.
func (e *iceServersEditor) runTest() {
	e.fields.show(nil)
	e.test.Disable()
	e.status.SetText("Testing…")
	var edited bool
	e.s.background(func(ctx context.Context) (err error) {
		edited, err = e.model.Check(ctx)
		return err
	}, func(err error) {
		e.test.Enable()
		if _, _, aboutField := fieldOf(err); aboutField {
			e.status.SetText("")
			e.fields.show(err)
			return
		}
		if err != nil {
			e.status.SetText(message(err))
			return
		}
		e.status.SetText(checkSummary(e.model.checks(), edited, time.Now()))
	})
}

// checkSummary says what was tested and how it went.
func checkSummary(results []client.ICECheck, edited bool, at time.Time) string {
	tested := "the servers clients get now, the built-in TURN server included"
	if edited {
		tested = "the servers in the form, not saved yet"
	}
	failed := 0
	for _, r := range results {
		if !r.OK {
			failed++
		}
	}
	outcome := "every one answered"
	switch {
	case len(results) == 0:
		outcome = "there is none"
	case failed > 0:
		outcome = fmt.Sprintf("%d of %d did not work", failed, len(results))
	}
	return fmt.Sprintf("At %s, tested %s: %s.", at.Format("15:04"), tested, outcome)
}

// renderChecks shows one line per URL tested: a check mark or a cross,
// the URL, what it gave, and how long it took.
func (e *iceServersEditor) renderChecks() {
	e.checks.RemoveAll()
	for _, r := range e.model.checks() {
		var mark fyne.Resource = theme.NewSuccessThemedResource(theme.ConfirmIcon())
		outcome := &widget.TextSegment{Text: r.Detail, Style: widget.RichTextStyleInline}
		if !r.OK {
			mark = theme.NewErrorThemedResource(theme.CancelIcon())
			outcome = &widget.TextSegment{Text: sentence(r.Error), Style: widget.RichTextStyle{Inline: true, ColorName: theme.ColorNameError}}
		}
		url := &widget.TextSegment{Text: r.URL + "  ", Style: widget.RichTextStyleStrong}
		url.Style.Inline = true
		line := widget.NewRichText(url, outcome)
		line.Wrapping = fyne.TextWrapWord
		e.checks.Add(container.NewBorder(nil, nil, widget.NewIcon(mark), note(duration(r.Millis)), line))
	}
}

// duration is a test's time as people read it.
func duration(millis int64) string {
	if millis < 1000 {
		return fmt.Sprintf("%d ms", millis)
	}
	return fmt.Sprintf("%.1f s", float64(millis)/1000)
}
