package ui

import (
	"context"
	"image"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/parleyhq/parley/server/protocol"
)

// Timing of the stage: how often pictures are drawn, and how often the
// tile sizes are told to the server so that it sends the layer that fits.
const (
	drawEvery  = time.Second / 20
	layerEvery = time.Second
)

// stage shows the people of a meeting: each person's camera in a tile (a
// name card while it is off or before the first picture), yourself with
// the camera's preview, in a gallery or with the active speaker large.
type stage struct {
	area    *meetingArea
	content *fyne.Container // what the meeting screen shows

	mu       sync.Mutex
	tiles    map[string]*tile // by participant id
	order    []string
	you      string
	speaker  string
	speakerV bool // speaker layout rather than gallery
	sent     map[string]fyne.Size
	stopping chan struct{}
	running  bool
	done     sync.WaitGroup
	// drawing is set while a draw waits for the UI goroutine, so a busy
	// window skips frames instead of queueing them.
	drawing atomic.Bool
}

// tile is one person on the stage.
type tile struct {
	person  protocol.Participant
	picture *canvas.Image
	card    fyne.CanvasObject
	label   *widget.Label
	box     *fyne.Container
	shown   image.Image // the picture last drawn
}

func newStage(area *meetingArea) *stage {
	return &stage{area: area, content: container.NewStack(), tiles: map[string]*tile{}, sent: map[string]fyne.Size{}}
}

// setPeople follows who is in the meeting.
func (st *stage) setPeople(people []protocol.Participant, you string) {
	st.mu.Lock()
	st.you = you
	seen := map[string]bool{}
	st.order = st.order[:0]
	for _, p := range people {
		seen[p.ID] = true
		st.order = append(st.order, p.ID)
		t := st.tiles[p.ID]
		if t == nil {
			t = newTile(p, p.ID == you)
			st.tiles[p.ID] = t
		}
		t.person = p
		t.label.SetText(tileLabel(p, p.ID == you))
	}
	for id := range st.tiles {
		if !seen[id] {
			delete(st.tiles, id)
			st.area.devices.forget(id + "/" + protocol.Camera)
		}
	}
	st.mu.Unlock()
	st.arrange()
}

func tileLabel(p protocol.Participant, you bool) string {
	name := p.Name
	if you {
		name += " (you)"
	}
	if p.Muted.Microphone {
		name += " · muted"
	}
	return name
}

func newTile(p protocol.Participant, you bool) *tile {
	t := &tile{person: p, picture: canvas.NewImageFromImage(nil)}
	t.picture.FillMode = canvas.ImageFillContain
	t.picture.ScaleMode = canvas.ImageScaleFastest
	t.card = container.NewCenter(newAvatar(p.Name, 72))
	t.label = widget.NewLabelWithStyle(tileLabel(p, you), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	t.label.Truncation = fyne.TextTruncateEllipsis
	background := canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))
	background.CornerRadius = 8
	t.box = container.NewStack(background, t.card, t.picture, container.NewBorder(nil, t.label, nil, nil))
	return t
}

// setSpeaker makes someone the large tile of the speaker layout.
func (st *stage) setSpeaker(id string) {
	st.mu.Lock()
	changed := st.speaker != id
	st.speaker = id
	speakerView := st.speakerV
	st.mu.Unlock()
	if changed && speakerView {
		st.arrange()
	}
}

func (st *stage) toggleLayout() {
	st.mu.Lock()
	st.speakerV = !st.speakerV
	st.mu.Unlock()
	st.arrange()
}

func (st *stage) speakerView() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.speakerV
}

// arrange lays the tiles out: a grid, or the speaker large over a strip.
func (st *stage) arrange() {
	st.mu.Lock()
	boxes := make([]fyne.CanvasObject, 0, len(st.order))
	var big fyne.CanvasObject
	var strip []fyne.CanvasObject
	speaker := st.speaker
	if st.tiles[speaker] == nil || speaker == st.you {
		// Nobody spoke yet, or it is you: show the first other person.
		for _, id := range st.order {
			if id != st.you {
				speaker = id
				break
			}
		}
	}
	for _, id := range st.order {
		t := st.tiles[id]
		boxes = append(boxes, t.box)
		if id == speaker {
			big = t.box
		} else {
			strip = append(strip, t.box)
		}
	}
	speakerView := st.speakerV && big != nil
	st.mu.Unlock()

	var content fyne.CanvasObject
	if speakerView {
		row := container.NewGridWrap(fyne.NewSize(200, 112), strip...)
		content = container.NewBorder(nil, container.NewHScroll(row), nil, nil, big)
	} else {
		content = container.New(&galleryLayout{}, boxes...)
	}
	st.content.Objects = []fyne.CanvasObject{container.NewPadded(content)}
	st.content.Refresh()
}

// start draws pictures and tells tile sizes while the meeting runs.
// The loop only queues work for the UI goroutine and never waits for it:
// stop runs on the UI goroutine and waits for the loop.
func (st *stage) start() {
	st.mu.Lock()
	if st.running {
		st.mu.Unlock()
		return
	}
	st.running = true
	st.stopping = make(chan struct{})
	stopping := st.stopping
	st.mu.Unlock()
	sizes := make(chan []layerRequest, 1)
	st.done.Go(func() {
		draw := time.NewTicker(drawEvery)
		defer draw.Stop()
		layers := time.NewTicker(layerEvery)
		defer layers.Stop()
		for {
			select {
			case <-stopping:
				return
			case <-draw.C:
				if st.drawing.CompareAndSwap(false, true) {
					fyne.Do(func() {
						defer st.drawing.Store(false)
						if !closed(stopping) {
							st.draw()
						}
					})
				}
			case <-layers.C:
				fyne.Do(func() {
					select {
					case sizes <- st.layerRequests():
					default: // the last ones are still being sent
					}
				})
			case requests := <-sizes:
				st.sendLayers(requests)
			}
		}
	})
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// stop ends the drawing; it waits for the drawing loop.
func (st *stage) stop() {
	st.mu.Lock()
	running := st.running
	st.running = false
	stopping := st.stopping
	st.mu.Unlock()
	if running {
		close(stopping)
		st.done.Wait()
	}
}

// draw puts the latest picture in each tile (on the UI goroutine).
func (st *stage) draw() {
	st.mu.Lock()
	tiles := make([]*tile, 0, len(st.tiles))
	you := st.you
	for _, t := range st.tiles {
		tiles = append(tiles, t)
	}
	st.mu.Unlock()
	for _, t := range tiles {
		var picture image.Image
		switch {
		case t.person.Muted.Camera:
		case t.person.ID == you:
			picture = st.area.devices.preview()
		default:
			picture = st.area.devices.frame(t.person.ID + "/" + protocol.Camera)
		}
		if picture == t.shown {
			continue
		}
		t.shown = picture
		t.picture.Image = picture
		if picture == nil {
			t.card.Show()
		} else {
			t.card.Hide()
		}
		t.picture.Refresh()
	}
}

// layerRequest is the size of one remote tile, for the server to send
// the layer that fits.
type layerRequest struct {
	who           string
	size          fyne.Size // as laid out, to know when it changes
	width, height int       // in pixels, for the server
}

// layerRequests lists the tiles whose size the server has not been told
// (on the UI goroutine, which owns the sizes).
func (st *stage) layerRequests() []layerRequest {
	scale := float32(1)
	if canvas := st.area.s.win.Canvas(); canvas != nil {
		scale = canvas.Scale()
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	var requests []layerRequest
	for id, t := range st.tiles {
		size := t.box.Size()
		if id == st.you || size.Width < 1 || st.sent[id] == size {
			continue
		}
		requests = append(requests, layerRequest{who: id, size: size, width: int(size.Width * scale), height: int(size.Height * scale)})
	}
	return requests
}

// sendLayers asks the server for the layer that fits each tile.
func (st *stage) sendLayers(requests []layerRequest) {
	if len(requests) == 0 {
		return
	}
	member := st.area.model.Member()
	if member == nil {
		return
	}
	for _, r := range requests {
		ctx, cancel := context.WithTimeout(st.area.ctx, 5*time.Second)
		err := member.SetLayer(ctx, r.who, r.width, r.height)
		cancel()
		if err == nil {
			st.mu.Lock()
			st.sent[r.who] = r.size
			st.mu.Unlock()
		}
	}
}

// galleryLayout puts tiles in the grid of 16:9 cells that makes them
// largest.
type galleryLayout struct{}

func (g *galleryLayout) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	if len(objects) == 0 {
		return
	}
	pad := theme.Padding()
	columns, cell := bestGrid(len(objects), size, pad)
	for i, o := range objects {
		row, column := i/columns, i%columns
		o.Move(fyne.NewPos(float32(column)*(cell.Width+pad), float32(row)*(cell.Height+pad)))
		o.Resize(cell)
	}
}

func (g *galleryLayout) MinSize(objects []fyne.CanvasObject) fyne.Size {
	return fyne.NewSize(160, 90)
}

// bestGrid chooses the number of columns that gives the largest 16:9
// cells for n tiles in size.
func bestGrid(n int, size fyne.Size, pad float32) (int, fyne.Size) {
	bestColumns, best := 1, fyne.NewSize(0, 0)
	for columns := 1; columns <= n; columns++ {
		rows := (n + columns - 1) / columns
		width := (size.Width - pad*float32(columns-1)) / float32(columns)
		height := (size.Height - pad*float32(rows-1)) / float32(rows)
		if width*9/16 > height {
			width = height * 16 / 9
		} else {
			height = width * 9 / 16
		}
		if width > best.Width {
			bestColumns, best = columns, fyne.NewSize(width, height)
		}
	}
	return bestColumns, best
}

var _ fyne.Layout = (*galleryLayout)(nil)
