package ui

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/data/binding"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/parleyhq/parley/server/client"
)

// trunksEditor lists the SIP trunks of the settings form, with a dialog
// to add, change or remove one; Save settings sends them.
type trunksEditor struct {
	s       *shell
	model   *SettingsModel
	rows    *fyne.Container
	content fyne.CanvasObject
}

func newTrunksEditor(s *shell, m *SettingsModel, canEdit bool) *trunksEditor {
	e := &trunksEditor{s: s, model: m, rows: container.NewVBox()}
	add := widget.NewButtonWithIcon("Add a trunk…", theme.ContentAddIcon(), func() { e.edit(-1) })
	if !canEdit {
		add.Disable()
	}
	e.content = container.NewVBox(e.rows, container.NewHBox(add))
	m.Trunks.AddListener(binding.NewDataListener(e.render))
	return e
}

// describeTrunk is a trunk in one line.
func describeTrunk(t client.Trunk) string {
	port := t.Port
	if port == 0 {
		port = 5060
	}
	text := fmt.Sprintf("%s — %s:%d over %s", t.Name, t.Host, port, strings.ToUpper(t.Transport))
	if t.Registration == "permanent" {
		text += " · registers as " + t.Login
	}
	if t.Default {
		text += " · numbers go here"
	}
	return text
}

func (e *trunksEditor) render() {
	trunks, _ := e.model.Trunks.Get()
	e.rows.RemoveAll()
	if len(trunks) == 0 {
		e.rows.Add(caption("None: moderators call registered phones and SIP addresses, not numbers."))
	}
	for i, t := range trunks {
		edit := widget.NewButtonWithIcon("", theme.DocumentCreateIcon(), func() { e.edit(i) })
		remove := widget.NewButtonWithIcon("", theme.DeleteIcon(), func() {
			current, _ := e.model.Trunks.Get()
			if i < len(current) {
				_ = e.model.Trunks.Set(slices.Delete(slices.Clone(current), i, i+1))
			}
		})
		e.rows.Add(container.NewBorder(nil, nil, nil, container.NewHBox(edit, remove), widget.NewLabel(describeTrunk(t))))
	}
}

// edit opens the dialog for trunk i, or a new one for -1.
func (e *trunksEditor) edit(i int) {
	trunks, _ := e.model.Trunks.Get()
	t := client.Trunk{Transport: "udp", Registration: "off", Port: 5060}
	if i >= 0 && i < len(trunks) {
		t = trunks[i]
	}
	name, host, port := widget.NewEntry(), widget.NewEntry(), widget.NewEntry()
	name.SetText(t.Name)
	host.SetText(t.Host)
	port.SetText(strconv.Itoa(t.Port))
	transport := widget.NewSelect([]string{"udp", "tcp"}, nil)
	transport.SetSelected(t.Transport)
	registers := widget.NewCheck("Register with it, as a phone would", nil)
	registers.SetChecked(t.Registration == "permanent")
	login, authName, password := widget.NewEntry(), widget.NewEntry(), widget.NewPasswordEntry()
	login.SetText(t.Login)
	authName.SetText(t.AuthName)
	password.SetText(t.Password)
	prefix, codecs := widget.NewEntry(), widget.NewEntry()
	prefix.SetText(t.InternationalPrefix)
	codecs.SetText(strings.Join(t.Codecs, ", "))
	codecs.SetPlaceHolder("G722, PCMU, PCMA")
	isDefault := widget.NewCheck("Call numbers through this trunk", nil)
	isDefault.SetChecked(t.Default)

	fields := newFieldSet()
	fields.add("name", "Name", name, "Shown on the dashboard.")
	fields.add("host", "Host", host, "The PBX's or provider's IP address or DNS name.")
	fields.add("port", "Port", port, "5060 usually.")
	fields.add("transport", "Transport", transport, "")
	fields.add("registration", "Registration", registers, "")
	fields.add("login", "Login", login, "The account the PBX gave Parley: for registering, and for its challenges to calls.")
	fields.add("auth_name", "Authentication name", authName, "Only if it differs from the login.")
	fields.add("password", "Password", password, "")
	fields.add("international_prefix", "International prefix", prefix, "Replaces a leading + of numbers, such as 00; empty keeps the +.")
	fields.add("codecs", "Codecs", codecs, "What to offer it, in order; empty for all.")
	fields.add("default", "Numbers", isDefault, "")
	title := "Add a trunk"
	if i >= 0 {
		title = "Trunk " + t.Name
	}
	e.s.formDialog(title, "Keep", container.NewVScroll(fields.content()), fields, fyne.NewSize(600, 560), func() func(context.Context) error {
		portNumber, portErr := strconv.Atoi(strings.TrimSpace(port.Text))
		edited := client.Trunk{Name: strings.TrimSpace(name.Text), Host: strings.TrimSpace(host.Text), Port: portNumber,
			Transport: transport.Selected, Registration: "off", Login: strings.TrimSpace(login.Text),
			AuthName: strings.TrimSpace(authName.Text), Password: password.Text,
			InternationalPrefix: strings.TrimSpace(prefix.Text), Default: isDefault.Checked}
		if registers.Checked {
			edited.Registration = "permanent"
		}
		for _, codec := range strings.FieldsFunc(codecs.Text, func(r rune) bool { return r == ',' || r == ' ' }) {
			edited.Codecs = append(edited.Codecs, strings.ToUpper(codec))
		}
		return func(context.Context) error {
			switch {
			case edited.Name == "":
				return fieldError("name", "A name.")
			case edited.Host == "":
				return fieldError("host", "The PBX's address.")
			case portErr != nil:
				return fieldError("port", "A whole number.")
			case edited.Registration == "permanent" && (edited.Login == "" || edited.Password == ""):
				return fieldError("login", "Registering needs a login and a password.")
			}
			current, _ := e.model.Trunks.Get()
			current = slices.Clone(current)
			if edited.Default { // one default at most
				for j := range current {
					current[j].Default = false
				}
			}
			if i >= 0 && i < len(current) {
				current[i] = edited
			} else {
				current = append(current, edited)
			}
			return e.model.Trunks.Set(current)
		}
	})
}
