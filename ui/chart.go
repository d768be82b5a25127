package ui

import (
	"fmt"
	"image/color"
	"math"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/parleyhq/parley/server/client"
)

// chartSpan is the time the bandwidth chart covers, ending now.
const chartSpan = time.Hour

// outColor draws outgoing traffic next to the primary colour's incoming.
var outColor = color.NRGBA{R: 0xd9, G: 0x77, B: 0x06, A: 0xff}

// bandwidthChart draws media traffic in and out over the last hour as two
// lines of canvas segments, with a scale and a legend.
type bandwidthChart struct {
	widget.BaseWidget
	samples []client.Bandwidth
	now     time.Time
}

func newBandwidthChart() *bandwidthChart {
	c := &bandwidthChart{now: time.Now()}
	c.ExtendBaseWidget(c)
	return c
}

// SetSamples shows new samples, placing them against now.
func (c *bandwidthChart) SetSamples(samples []client.Bandwidth, now time.Time) {
	c.samples, c.now = samples, now
	c.Refresh()
}

func (c *bandwidthChart) CreateRenderer() fyne.WidgetRenderer {
	return &chartRenderer{chart: c}
}

type chartRenderer struct {
	chart   *bandwidthChart
	objects []fyne.CanvasObject
	size    fyne.Size
}

const (
	chartLeft   = 78 // room for the scale's labels
	chartTop    = 28 // room for the legend
	chartBottom = 22 // room for the time labels
)

func (r *chartRenderer) Layout(size fyne.Size) {
	r.size = size
	r.build()
}

func (r *chartRenderer) MinSize() fyne.Size { return fyne.NewSize(320, 200) }

func (r *chartRenderer) Refresh() { r.build() }

func (r *chartRenderer) Objects() []fyne.CanvasObject { return r.objects }

func (r *chartRenderer) Destroy() {}

// build draws everything anew: it is a few dozen objects.
func (r *chartRenderer) build() {
	size := r.size
	r.objects = r.objects[:0]
	if size.Width < chartLeft+10 || size.Height < chartTop+chartBottom+10 {
		return
	}
	plotW, plotH := size.Width-chartLeft, size.Height-chartTop-chartBottom
	grid := theme.Color(theme.ColorNameSeparator)
	muted := theme.Color(theme.ColorNamePlaceHolder)
	in := theme.Color(theme.ColorNamePrimary)

	top := niceCeiling(peak(r.chart.samples))
	for i := 0; i <= 4; i++ {
		y := chartTop + plotH - plotH*float32(i)/4
		line := canvas.NewLine(grid)
		line.StrokeWidth = 1
		line.Position1, line.Position2 = fyne.NewPos(chartLeft, y), fyne.NewPos(size.Width, y)
		label := smallText(formatBits(top*float64(i)/4), muted)
		label.Move(fyne.NewPos(0, y-label.MinSize().Height/2))
		label.Resize(fyne.NewSize(chartLeft-8, label.MinSize().Height))
		label.Alignment = fyne.TextAlignTrailing
		r.objects = append(r.objects, line, label)
	}
	for i, text := range []string{"60 min ago", "30 min ago", "now"} {
		label := smallText(text, muted)
		w := label.MinSize().Width
		x := chartLeft + plotW*float32(i)/2 - w/2
		x = float32(math.Max(chartLeft, math.Min(float64(x), float64(size.Width-w))))
		label.Move(fyne.NewPos(x, size.Height-chartBottom+4))
		r.objects = append(r.objects, label)
	}
	r.legend(in)

	start := r.chart.now.Add(-chartSpan)
	point := func(at time.Time, bps float64) fyne.Position {
		x := chartLeft + plotW*float32(at.Sub(start).Seconds()/chartSpan.Seconds())
		y := chartTop + plotH - plotH*float32(bps/top)
		return fyne.NewPos(x, y)
	}
	r.polyline(in, func(b client.Bandwidth) float64 { return b.InBPS }, point, start)
	r.polyline(outColor, func(b client.Bandwidth) float64 { return b.OutBPS }, point, start)
	if peak(r.chart.samples) == 0 {
		quiet := canvas.NewText("No meeting media in the last hour", muted)
		quiet.Alignment = fyne.TextAlignCenter
		quiet.Move(fyne.NewPos(chartLeft, chartTop+plotH/2-quiet.MinSize().Height))
		quiet.Resize(fyne.NewSize(plotW, quiet.MinSize().Height))
		r.objects = append(r.objects, quiet)
	}
}

func (r *chartRenderer) legend(in color.Color) {
	x := float32(chartLeft)
	for _, entry := range []struct {
		name  string
		color color.Color
	}{{"In", in}, {"Out", outColor}} {
		swatch := canvas.NewLine(entry.color)
		swatch.StrokeWidth = 3
		swatch.Position1, swatch.Position2 = fyne.NewPos(x, 12), fyne.NewPos(x+18, 12)
		label := smallText(entry.name, theme.Color(theme.ColorNameForeground))
		label.Move(fyne.NewPos(x+24, 12-label.MinSize().Height/2))
		r.objects = append(r.objects, swatch, label)
		x += 24 + label.MinSize().Width + 18
	}
}

// polyline joins the samples inside the span with segments.
func (r *chartRenderer) polyline(c color.Color, value func(client.Bandwidth) float64, point func(time.Time, float64) fyne.Position, start time.Time) {
	var last *fyne.Position
	for _, sample := range r.chart.samples {
		if sample.At.Before(start) {
			continue
		}
		p := point(sample.At, value(sample))
		if last != nil {
			segment := canvas.NewLine(c)
			segment.StrokeWidth = 2
			segment.Position1, segment.Position2 = *last, p
			r.objects = append(r.objects, segment)
		}
		last = &p
	}
}

func smallText(text string, c color.Color) *canvas.Text {
	t := canvas.NewText(text, c)
	t.TextSize = theme.CaptionTextSize()
	return t
}

func peak(samples []client.Bandwidth) float64 {
	var top float64
	for _, s := range samples {
		top = math.Max(top, math.Max(s.InBPS, s.OutBPS))
	}
	return top
}

// niceCeiling rounds up to 1, 2 or 5 times a power of ten, at least
// 1 Mbit/s so that an idle server shows a flat line, not noise.
func niceCeiling(v float64) float64 {
	v = math.Max(v, 1e6)
	power := math.Pow(10, math.Floor(math.Log10(v)))
	for _, step := range []float64{1, 2, 5, 10} {
		if v <= step*power {
			return step * power
		}
	}
	return 10 * power
}

// formatBits writes a rate as people read it.
func formatBits(bps float64) string {
	switch {
	case bps == 0:
		return "0"
	case bps >= 1e9:
		return trimZero(bps/1e9) + " Gbit/s"
	case bps >= 1e6:
		return trimZero(bps/1e6) + " Mbit/s"
	case bps >= 1e3:
		return trimZero(bps/1e3) + " kbit/s"
	}
	return fmt.Sprintf("%.0f bit/s", bps)
}

func trimZero(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}
