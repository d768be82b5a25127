package ui

import (
	"context"
	"image/color"
	"math"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/data/binding"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// fieldSet lays out labelled inputs, each with a line under it for its
// hint or, after a failed save, what is wrong with it: the app's own
// checks and the server's "field" errors land on the input they are about.
type fieldSet struct {
	rows    []fyne.CanvasObject
	byKey   map[string]*formField
	general *widget.Label // errors about no field in particular
}

type formField struct {
	hint string
	note *widget.Label
}

func newFieldSet() *fieldSet {
	general := widget.NewLabel("")
	general.Importance = widget.DangerImportance
	general.Wrapping = fyne.TextWrapWord
	general.Hide()
	return &fieldSet{byKey: map[string]*formField{}, general: general}
}

// add appends an input named by its API key.
func (f *fieldSet) add(key, label string, input fyne.CanvasObject, hint string) {
	note := widget.NewLabel(hint)
	note.Wrapping = fyne.TextWrapWord
	note.Importance = widget.LowImportance
	note.SizeName = theme.SizeNameCaptionText
	if hint == "" {
		note.Hide()
	}
	f.byKey[key] = &formField{hint: hint, note: note}
	name := widget.NewLabelWithStyle(label, fyne.TextAlignTrailing, fyne.TextStyle{Bold: true})
	f.rows = append(f.rows, container.NewVBox(name), container.NewVBox(input, note))
}

// extra appends an input that has no key of its own: it belongs to the
// field above, whose note shows its problems.
func (f *fieldSet) extra(label string, input fyne.CanvasObject) {
	name := widget.NewLabelWithStyle(label, fyne.TextAlignTrailing, fyne.TextStyle{Bold: true})
	f.rows = append(f.rows, container.NewVBox(name), input)
}

// heading starts a section of the form.
func (f *fieldSet) heading(text string) {
	f.rows = append(f.rows, layout.NewSpacer(), container.NewVBox(spacer(6), heading(text)))
}

// clear shows every hint again.
func (f *fieldSet) clear() {
	for _, field := range f.byKey {
		field.note.SetText(field.hint)
		field.note.Importance = widget.LowImportance
		field.note.Refresh()
		if field.hint == "" {
			field.note.Hide()
		}
	}
	f.general.SetText("")
	f.general.Hide()
}

// show puts an error under its field, or above the form when it names
// none of them. A nil error clears.
func (f *fieldSet) show(err error) {
	f.clear()
	if err == nil {
		return
	}
	if key, text, ok := fieldOf(err); ok {
		if field := f.byKey[key]; field != nil {
			field.note.SetText(text)
			field.note.Importance = widget.DangerImportance
			field.note.Show()
			field.note.Refresh()
			return
		}
	}
	f.general.SetText(message(err))
	f.general.Show()
}

// errorOf is the error shown under a field, "" when it shows its hint.
func (f *fieldSet) errorOf(key string) string {
	field := f.byKey[key]
	if field == nil || field.note.Importance != widget.DangerImportance {
		return ""
	}
	return field.note.Text
}

// content is the form: the general error above the labelled rows.
func (f *fieldSet) content() fyne.CanvasObject {
	return container.NewVBox(f.general, container.New(layout.NewFormLayout(), f.rows...))
}

// heading is a section title.
func heading(text string) *widget.Label {
	return widget.NewLabelWithStyle(text, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
}

// caption is small, quiet text that wraps.
func caption(text string) *widget.Label {
	l := note(text)
	l.Wrapping = fyne.TextWrapWord
	return l
}

// note is small, quiet text on one line.
func note(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Importance = widget.LowImportance
	l.SizeName = theme.SizeNameCaptionText
	return l
}

// wrapped is a label that wraps.
func wrapped(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	return l
}

// card is a surface for one part of a screen, with an optional title and
// subtitle.
func card(title, subtitle string, content fyne.CanvasObject) fyne.CanvasObject {
	items := []fyne.CanvasObject{}
	if title != "" {
		t := widget.NewLabelWithStyle(title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		t.SizeName = theme.SizeNameSubHeadingText
		items = append(items, t)
	}
	if subtitle != "" {
		items = append(items, caption(subtitle))
	}
	// The content takes the room the card is given beyond its title.
	return container.NewStack(newSurface(), container.NewPadded(container.NewBorder(container.NewVBox(items...), nil, nil, nil, content)))
}

// surface is a card's background: a rounded rectangle in the theme's
// surface colour, which follows the theme when it changes.
type surface struct{ widget.BaseWidget }

func newSurface() *surface {
	s := &surface{}
	s.ExtendBaseWidget(s)
	return s
}

func (s *surface) CreateRenderer() fyne.WidgetRenderer {
	rect := canvas.NewRectangle(color.Transparent)
	rect.StrokeWidth = 1
	rect.CornerRadius = 2 * theme.InputRadiusSize()
	r := &surfaceRenderer{rect: rect}
	r.Refresh()
	return r
}

type surfaceRenderer struct{ rect *canvas.Rectangle }

func (r *surfaceRenderer) Layout(size fyne.Size)        { r.rect.Resize(size) }
func (r *surfaceRenderer) MinSize() fyne.Size           { return fyne.NewSize(0, 0) }
func (r *surfaceRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.rect} }
func (r *surfaceRenderer) Destroy()                     {}
func (r *surfaceRenderer) Refresh() {
	r.rect.FillColor = theme.Color(theme.ColorNameHeaderBackground)
	r.rect.StrokeColor = theme.Color(theme.ColorNameSeparator)
	r.rect.Refresh()
}

// spacer is a fixed gap.
func spacer(height float32) fyne.CanvasObject {
	gap := canvas.NewRectangle(color.Transparent)
	gap.SetMinSize(fyne.NewSize(1, height))
	return gap
}

// pageTitle is a screen's large title.
func pageTitle(text string) *widget.Label {
	l := widget.NewLabelWithStyle(text, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	l.SizeName = theme.SizeNameHeadingText
	return l
}

// centered keeps content at most width wide, in the middle.
func centered(width float32, content fyne.CanvasObject) fyne.CanvasObject {
	return container.New(maxWidthLayout{width: width}, content)
}

type maxWidthLayout struct{ width float32 }

func (l maxWidthLayout) MinSize(objects []fyne.CanvasObject) fyne.Size {
	var size fyne.Size
	for _, o := range objects {
		size = size.Max(o.MinSize())
	}
	return size
}

func (l maxWidthLayout) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	width := min(size.Width, l.width)
	for _, o := range objects {
		width = max(width, o.MinSize().Width)
		o.Resize(fyne.NewSize(width, size.Height))
		o.Move(fyne.NewPos((size.Width-width)/2, 0))
	}
}

// minWidth makes content at least width wide (dialogs, whose wrapped text
// would otherwise squeeze to a column).
func minWidth(width float32, content fyne.CanvasObject) fyne.CanvasObject {
	return minSize(width, 0, content)
}

// minSize makes content at least this big: wrapped text cannot ask for the
// height it will need before it knows its width.
func minSize(width, height float32, content fyne.CanvasObject) fyne.CanvasObject {
	return container.New(minSizeLayout{size: fyne.NewSize(width, height)}, content)
}

type minSizeLayout struct{ size fyne.Size }

func (l minSizeLayout) MinSize(objects []fyne.CanvasObject) fyne.Size {
	size := l.size
	for _, o := range objects {
		size = size.Max(o.MinSize())
	}
	return size
}

func (l minSizeLayout) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objects {
		o.Resize(size)
		o.Move(fyne.NewPos(0, 0))
	}
}

// boundEntry is an entry kept in step with data. It shows no validation
// mark: problems are written under the field instead.
func boundEntry(data binding.String) *widget.Entry {
	e := widget.NewEntryWithData(data)
	e.Validator = nil
	return e
}

// bindEntry binds an entry made otherwise (password, multi-line) the same
// way.
func bindEntry(e *widget.Entry, data binding.String) *widget.Entry {
	e.Bind(data)
	e.Validator = nil
	return e
}

// dialogSize fits a dialog of width around text that wraps, plus room for
// its title and buttons: a dialog sizes itself before its text knows
// how many lines it takes.
func dialogSize(text string, width, extra float32) fyne.Size {
	inner := width - 4*theme.Padding()
	lines := float32(0)
	for _, paragraph := range strings.Split(text, "\n") {
		w := fyne.MeasureText(paragraph, theme.TextSize(), fyne.TextStyle{}).Width
		lines += float32(math.Ceil(float64(w/inner))) + 0.3 // words do not break evenly
	}
	lineHeight := fyne.MeasureText("Mg", theme.TextSize(), fyne.TextStyle{}).Height + theme.LineSpacing()
	return fyne.NewSize(width, lines*lineHeight+extra)
}

// formDialog shows a form with Cancel and a confirm button. Confirm reads
// the form (on the UI goroutine: submit returns the work), does the work
// in the background, and closes the dialog, or shows in fields what the
// server refused.
func (s *shell) formDialog(title, confirm string, content fyne.CanvasObject, fields *fieldSet, size fyne.Size,
	submit func() func(ctx context.Context) error) {
	var d *dialog.CustomDialog
	button := widget.NewButton(confirm, func() {
		s.background(submit(), func(err error) {
			if err != nil {
				fields.show(err)
				return
			}
			d.Hide()
		})
	})
	button.Importance = widget.HighImportance
	d = dialog.NewCustomWithoutButtons(title, content, s.win)
	d.SetButtons([]fyne.CanvasObject{widget.NewButton("Cancel", func() { d.Hide() }), button})
	d.Resize(size)
	d.Show()
}

// pickList is a list of items, each a bold title over a quiet detail line;
// choosing one calls chosen. It reads the binding's values itself: Fyne's
// bound list items race with Set from another goroutine.
func pickList[T any](items binding.List[T], describe func(T) (title, detail string), chosen func(T)) *widget.List {
	list := widget.NewList(items.Length,
		func() fyne.CanvasObject {
			return container.NewVBox(widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), caption(""))
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			values, _ := items.Get()
			if id >= len(values) {
				return
			}
			title, detail := describe(values[id])
			box := o.(*fyne.Container)
			box.Objects[0].(*widget.Label).SetText(title)
			box.Objects[1].(*widget.Label).SetText(detail)
		})
	list.OnSelected = func(id widget.ListItemID) {
		if values, _ := items.Get(); id < len(values) {
			chosen(values[id])
		}
	}
	return list
}
