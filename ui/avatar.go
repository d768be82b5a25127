package ui

import (
	"hash/fnv"
	"image/color"
	"strings"
	"unicode"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/widget"
)

// avatarColors are calm colours white initials read well on; a name
// always gets the same one.
var avatarColors = []color.NRGBA{
	{0x0f, 0x6e, 0x66, 0xff}, {0x1d, 0x4e, 0x89, 0xff}, {0x7a, 0x3e, 0x9d, 0xff}, {0xa2, 0x3b, 0x4f, 0xff},
	{0xb0, 0x5a, 0x12, 0xff}, {0x3d, 0x6b, 0x21, 0xff}, {0x5b, 0x4c, 0xa8, 0xff}, {0x2b, 0x61, 0x70, 0xff},
}

// avatar is a round badge with a person's initials.
type avatar struct {
	widget.BaseWidget
	name string
	size float32
}

func newAvatar(name string, size float32) *avatar {
	a := &avatar{name: name, size: size}
	a.ExtendBaseWidget(a)
	return a
}

func (a *avatar) CreateRenderer() fyne.WidgetRenderer {
	hash := fnv.New32a()
	_, _ = hash.Write([]byte(strings.ToLower(a.name)))
	circle := canvas.NewCircle(avatarColors[hash.Sum32()%uint32(len(avatarColors))])
	text := canvas.NewText(initials(a.name), color.White)
	text.TextStyle.Bold = true
	text.TextSize = a.size * 0.38
	text.Alignment = fyne.TextAlignCenter
	return &avatarRenderer{a: a, circle: circle, text: text}
}

type avatarRenderer struct {
	a      *avatar
	circle *canvas.Circle
	text   *canvas.Text
}

func (r *avatarRenderer) Layout(size fyne.Size) {
	side := min(size.Width, size.Height)
	offset := fyne.NewPos((size.Width-side)/2, (size.Height-side)/2)
	r.circle.Resize(fyne.NewSize(side, side))
	r.circle.Move(offset)
	textHeight := r.text.MinSize().Height
	r.text.Resize(fyne.NewSize(side, textHeight))
	r.text.Move(offset.AddXY(0, (side-textHeight)/2))
}

func (r *avatarRenderer) MinSize() fyne.Size { return fyne.NewSize(r.a.size, r.a.size) }

func (r *avatarRenderer) Refresh() {
	r.text.Text = initials(r.a.name)
	r.text.Refresh()
	r.circle.Refresh()
}

func (r *avatarRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.circle, r.text} }

func (r *avatarRenderer) Destroy() {}

// initials are the first letters of the first and last words of a name
// ("Anna Berg" → "AB"; "anna" → "A").
func initials(name string) string {
	words := strings.FieldsFunc(name, func(r rune) bool { return unicode.IsSpace(r) || r == '-' || r == '.' || r == '_' })
	var out []rune
	for i, w := range words {
		if i == 0 || i == len(words)-1 {
			for _, r := range w {
				if unicode.IsLetter(r) || unicode.IsDigit(r) {
					out = append(out, unicode.ToUpper(r))
					break
				}
			}
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return string(out)
}
