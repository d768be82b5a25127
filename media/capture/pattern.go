package capture

import (
	"image"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// PatternLabel is what the test pattern says, and its Video's label.
const PatternLabel = "No camera"

// patternBars are the eight 75% colour bars (ITU-R BT.601 limited-range
// Y, Cb, Cr), left to right: white, yellow, cyan, green, magenta, red,
// blue, black.
var patternBars = [8][3]uint8{
	{180, 128, 128},
	{162, 44, 142},
	{131, 156, 44},
	{112, 72, 58},
	{84, 184, 198},
	{65, 100, 212},
	{35, 212, 114},
	{16, 128, 128},
}

// Luma of the pattern's other parts.
const (
	bannerLuma = 16  // black behind the label
	textLuma   = 235 // white
	stripLuma  = 40  // dark grey below the bars
	boxLuma    = 235
)

// TestPattern returns a Video of a generated picture for machines without
// a camera, or whose camera failed: colour bars with "No camera" written
// across them and, below, a white box sliding to and fro so that
// receivers see it move. width and height are rounded down to even.
func TestPattern(width, height, fps int) *Video {
	width, height = max(width, 32)&^1, max(height, 32)&^1
	pattern := newPattern(width, height)
	stop := make(chan struct{})
	produce := func(feed *frameFeed) {
		ticker := time.NewTicker(time.Second / time.Duration(fps))
		defer ticker.Stop()
		for n := 0; ; n++ {
			feed.publish(pattern.picture(n), time.Now())
			select {
			case <-stop:
				return
			case <-ticker.C:
			}
		}
	}
	return newVideo(PatternLabel, width, height, fps, produce, func() { close(stop) })
}

// pattern draws the test pattern's pictures.
type pattern struct {
	width, height int
	barsHeight    int          // the bars fill the top three quarters
	label         *image.Alpha // the label, scaled, where to draw it
	labelAt       image.Point
	banner        image.Rectangle
	still         *image.YCbCr // all but the box, drawn once
}

func newPattern(width, height int) *pattern {
	p := &pattern{width: width, height: height, barsHeight: height * 3 / 4 &^ 1}
	// basicfont's 7x13 glyphs, enlarged by whole pixels to about a
	// seventh of the height.
	face := basicfont.Face7x13
	scale := max(1, height/90)
	drawer := font.Drawer{Face: face}
	textWidth := drawer.MeasureString(PatternLabel).Ceil()
	small := image.NewAlpha(image.Rect(0, 0, textWidth, face.Height))
	drawer.Dst, drawer.Src = small, image.Opaque
	drawer.Dot = fixed.P(0, face.Ascent)
	drawer.DrawString(PatternLabel)
	p.label = image.NewAlpha(image.Rect(0, 0, textWidth*scale, face.Height*scale))
	for y := range p.label.Rect.Dy() {
		for x := range p.label.Rect.Dx() {
			p.label.SetAlpha(x, y, small.AlphaAt(x/scale, y/scale))
		}
	}
	p.labelAt = image.Pt((width-p.label.Rect.Dx())/2, (p.barsHeight-p.label.Rect.Dy())/2)
	margin := 3 * scale
	p.banner = image.Rectangle{Min: p.labelAt, Max: p.labelAt.Add(p.label.Rect.Size())}.Inset(-margin).Intersect(image.Rect(0, 0, width, p.barsHeight))
	// Even edges keep the banner's chroma clean.
	p.banner.Min.X, p.banner.Min.Y = p.banner.Min.X&^1, p.banner.Min.Y&^1
	p.banner.Max.X, p.banner.Max.Y = (p.banner.Max.X+1)&^1, (p.banner.Max.Y+1)&^1
	p.still = p.drawStill()
	return p
}

// picture draws frame n.
func (p *pattern) picture(n int) *image.YCbCr {
	picture := image.NewYCbCr(p.still.Rect, p.still.SubsampleRatio)
	copy(picture.Y, p.still.Y)
	copy(picture.Cb, p.still.Cb)
	copy(picture.Cr, p.still.Cr)
	p.drawBox(picture, n)
	return picture
}

// drawStill draws the bars, the banner and the strip.
func (p *pattern) drawStill() *image.YCbCr {
	picture := image.NewYCbCr(image.Rect(0, 0, p.width, p.height), image.YCbCrSubsampleRatio420)
	for y := range p.height {
		row := picture.Y[y*picture.YStride : y*picture.YStride+p.width]
		for x := range row {
			row[x] = p.luma(x, y)
		}
	}
	for cy := range p.height / 2 {
		for cx := range p.width / 2 {
			cb, cr := p.chroma(2*cx, 2*cy)
			picture.Cb[cy*picture.CStride+cx] = cb
			picture.Cr[cy*picture.CStride+cx] = cr
		}
	}
	return picture
}

// luma is the static picture's Y at (x, y).
func (p *pattern) luma(x, y int) uint8 {
	switch {
	case y >= p.barsHeight:
		return stripLuma
	case image.Pt(x, y).In(p.banner):
		if image.Pt(x, y).Sub(p.labelAt).In(p.label.Rect) && p.label.AlphaAt(x-p.labelAt.X, y-p.labelAt.Y).A > 0 {
			return textLuma
		}
		return bannerLuma
	default:
		return patternBars[x*len(patternBars)/p.width][0]
	}
}

// chroma is the static picture's Cb and Cr at (x, y), both even.
func (p *pattern) chroma(x, y int) (cb, cr uint8) {
	if y >= p.barsHeight || image.Pt(x, y).In(p.banner) {
		return 128, 128
	}
	bar := patternBars[x*len(patternBars)/p.width]
	return bar[1], bar[2]
}

// drawBox draws the moving box in the strip below the bars, going from
// left to right and back in about four seconds at 15 frames a second.
func (p *pattern) drawBox(picture *image.YCbCr, n int) {
	strip := p.height - p.barsHeight
	side := max(2, strip/2&^1)
	travel := p.width - side
	step := max(1, travel/30)
	position := (n * step) % (2 * travel)
	if position > travel {
		position = 2*travel - position
	}
	top := p.barsHeight + (strip-side)/2
	for y := top; y < top+side; y++ {
		row := picture.Y[y*picture.YStride:]
		for x := position; x < position+side; x++ {
			row[x] = boxLuma
		}
	}
}
