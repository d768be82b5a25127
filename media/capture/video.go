package capture

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/codec/vpx"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"

	"github.com/parleyhq/parley/media/participant"
)

// Bitrate of the full layer at 640x360, the size conferencing tiles use
// most; other sizes scale with their pixel count to the power 0.75, as
// perceived quality does.
const (
	referenceBitrate = 800_000
	referencePixels  = 640 * 360
	minBitrate       = 60_000
)

// keyframeInterval is the longest run without a keyframe, so a receiver
// recovers even if its keyframe request is lost.
const keyframeInterval = 4 * time.Second

// Video is a running camera or test pattern: it makes pictures at a steady
// rate, shows the newest in Preview, and feeds the VP8 encoders that
// Encoders makes for a participant. It is safe for concurrent use.
type Video struct {
	label              string
	width, height, fps int
	feed               *frameFeed
	stopProducer       func() // ends the goroutine that publishes pictures
	producerDone       chan struct{}

	mu       sync.Mutex
	closed   bool
	encoders []*layerEncoder // open ones, to close with the Video
}

// newVideo starts produce, which publishes pictures to the feed until stop
// is called.
func newVideo(label string, width, height, fps int, produce func(feed *frameFeed), stop func()) *Video {
	v := &Video{label: label, width: width, height: height, fps: fps, feed: newFrameFeed(),
		stopProducer: stop, producerDone: make(chan struct{})}
	go func() {
		defer close(v.producerDone)
		produce(v.feed)
	}()
	return v
}

// Label names what the pictures come from: the camera's name, or "No
// camera" for the test pattern.
func (v *Video) Label() string { return v.label }

// Size is the size of the pictures and of the full encoded layer.
func (v *Video) Size() (width, height int) { return v.width, v.height }

// Preview returns the newest picture, for the self view (nil before the
// first). Pictures are never changed once returned.
func (v *Video) Preview() image.Image {
	picture := v.feed.state().picture
	if picture == nil {
		return nil // not a typed nil in an interface
	}
	return picture
}

// Err says why pictures stopped coming (a camera unplugged, say); nil
// while they come.
func (v *Video) Err() error {
	err := v.feed.state().err
	if errors.Is(err, participant.ErrSourceClosed) {
		return nil
	}
	return err
}

// Encoders starts VP8 encoders of the pictures for a participant
// (participant.Options.VideoLayers): three simulcast layers q, h and f at
// a quarter, half and full size, or just the full one. Closing them (the
// participant does) leaves the Video running; every call makes new ones.
func (v *Video) Encoders(simulcast bool) ([]participant.VideoSource, error) {
	scales := []int{1}
	if simulcast {
		scales = []int{4, 2, 1}
	}
	var layers []participant.VideoSource
	for _, scale := range scales {
		// Even sizes: I420 chroma covers two pixels each way.
		width, height := max(v.width/scale, 16)&^1, max(v.height/scale, 16)&^1
		encoder, err := v.newEncoder(width, height)
		if err != nil {
			for _, layer := range layers {
				_ = layer.Close()
			}
			return nil, err
		}
		layers = append(layers, encoder)
	}
	return layers, nil
}

// Close stops the pictures and every encoder, and waits for them.
func (v *Video) Close() error {
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return nil
	}
	v.closed = true
	encoders := slices.Clone(v.encoders) // each Close below edits v.encoders
	v.mu.Unlock()
	v.stopProducer()
	<-v.producerDone
	v.feed.stop(participant.ErrSourceClosed)
	for _, encoder := range encoders {
		_ = encoder.Close()
	}
	return nil
}

func bitrate(width, height int) int {
	scaled := referenceBitrate * math.Pow(float64(width*height)/referencePixels, 0.75)
	return max(minBitrate, int(scaled))
}

// layerEncoder is one VP8 encoder (mediadevices' libvpx binding) of the
// feed's pictures, scaled to its layer's size. Its methods other than
// RequestKeyframe and Close are for one goroutine.
type layerEncoder struct {
	video    *Video
	reader   *feedReader
	encoder  codec.ReadCloser
	keyframe codec.KeyFrameController
	nominal  time.Duration // one frame at the nominal rate

	lastPictureTime time.Time // of the last frame NextFrame returned

	mu             sync.Mutex
	keyframeWanted bool
	closed         bool
}

func (v *Video) newEncoder(width, height int) (*layerEncoder, error) {
	params, err := vpx.NewVP8Params()
	if err != nil {
		return nil, fmt.Errorf("vp8 encoder: %w", err)
	}
	params.BitRate = bitrate(width, height)
	params.KeyFrameInterval = int(keyframeInterval.Seconds()) * v.fps
	// Constant bitrate and error resilience: what real-time calls over
	// lossy networks want (libvpx's defaults are for files).
	params.RateControlEndUsage = vpx.RateControlCBR
	params.ErrorResilient = vpx.ErrorResilientDefault
	params.RateControlMaxQuantizer = 56
	reader := &feedReader{feed: v.feed, closed: make(chan struct{})}
	var source video.Reader = reader
	if width != v.width || height != v.height {
		source = video.Scale(width, height, video.ScalerFastBoxSampling)(reader)
	}
	encoder, err := params.BuildVideoEncoder(source, prop.Media{Video: prop.Video{Width: width, Height: height, FrameRate: float32(v.fps)}})
	if err != nil {
		return nil, fmt.Errorf("vp8 encoder %dx%d: %w", width, height, err)
	}
	keyframe, ok := encoder.Controller().(codec.KeyFrameController)
	if !ok {
		_ = encoder.Close()
		return nil, errors.New("vp8 encoder: no keyframe control")
	}
	e := &layerEncoder{video: v, reader: reader, encoder: encoder, keyframe: keyframe, nominal: time.Second / time.Duration(v.fps)}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		_ = encoder.Close()
		return nil, fmt.Errorf("vp8 encoder: %w", participant.ErrSourceClosed)
	}
	v.encoders = append(v.encoders, e)
	return e, nil
}

// NextFrame encodes the next picture.
func (e *layerEncoder) NextFrame(ctx context.Context) ([]byte, bool, time.Duration, error) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, false, 0, participant.ErrSourceClosed
	}
	if e.keyframeWanted {
		e.keyframeWanted = false
		_ = e.keyframe.ForceKeyFrame()
	}
	e.mu.Unlock()
	// The encoder pulls pictures from the reader within Read, in this
	// goroutine: the reader waits on this call's ctx.
	e.reader.ctx = ctx
	for {
		frame, release, err := e.encoder.Read()
		if err != nil {
			if e.isClosed() {
				return nil, false, 0, participant.ErrSourceClosed
			}
			return nil, false, 0, fmt.Errorf("vp8 encode: %w", err)
		}
		release()
		if len(frame) == 0 {
			continue // rate control skipped this picture
		}
		duration := e.reader.pictureTime.Sub(e.lastPictureTime)
		if e.lastPictureTime.IsZero() || duration <= 0 || duration > 4*e.nominal {
			// The first picture, or the first after a pause (muted): the
			// participant accounts for pauses itself.
			duration = e.nominal
		}
		e.lastPictureTime = e.reader.pictureTime
		return frame, isVP8Keyframe(frame), duration, nil
	}
}

func (e *layerEncoder) isClosed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closed
}

// RequestKeyframe makes the next frame a keyframe. It does not wait for
// the encoder, which may be busy in NextFrame.
func (e *layerEncoder) RequestKeyframe() {
	e.mu.Lock()
	e.keyframeWanted = true
	e.mu.Unlock()
}

func (e *layerEncoder) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	v := e.video
	v.mu.Lock()
	v.encoders = slices.DeleteFunc(v.encoders, func(other *layerEncoder) bool { return other == e })
	v.mu.Unlock()
	e.reader.close() // ends a Read in progress, which holds the encoder
	if err := e.encoder.Close(); err != nil {
		return fmt.Errorf("close vp8 encoder: %w", err)
	}
	return nil
}

// isVP8Keyframe reads the frame tag (RFC 6386 section 9.1).
func isVP8Keyframe(frame []byte) bool {
	return len(frame) > 0 && frame[0]&1 == 0
}

// frameFeed holds the newest picture for every reader; a reader that falls
// behind skips pictures rather than queue them.
type frameFeed struct {
	mu      sync.Mutex
	picture *image.YCbCr
	at      time.Time
	seq     uint64
	changed chan struct{} // closed on each new picture or stop, then replaced
	err     error         // why pictures stopped
}

func newFrameFeed() *frameFeed {
	return &frameFeed{changed: make(chan struct{})}
}

// publish makes picture, which must not change afterwards, the newest.
func (f *frameFeed) publish(picture *image.YCbCr, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return
	}
	f.picture, f.at = picture, at
	f.seq++
	close(f.changed)
	f.changed = make(chan struct{})
}

// stop ends the feed: readers get err once they took the last picture.
func (f *frameFeed) stop(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return
	}
	f.err = err
	close(f.changed)
}

// feedState is a snapshot of the feed, with the channel that closes when
// it changes.
type feedState struct {
	picture *image.YCbCr
	at      time.Time
	seq     uint64
	err     error
	changed chan struct{}
}

func (f *frameFeed) state() feedState {
	f.mu.Lock()
	defer f.mu.Unlock()
	return feedState{picture: f.picture, at: f.at, seq: f.seq, err: f.err, changed: f.changed}
}

// feedReader is the video.Reader an encoder pulls pictures from: each Read
// waits for a picture newer than the last it returned.
type feedReader struct {
	feed *frameFeed
	// ctx is the context of the NextFrame call now reading: set before
	// each encoder Read, in the same goroutine.
	ctx         context.Context
	pictureTime time.Time // of the last picture returned
	seen        uint64
	closed      chan struct{}
	closeOnce   sync.Once
}

func (r *feedReader) Read() (image.Image, func(), error) {
	for {
		state := r.feed.state()
		if state.seq > r.seen {
			r.seen, r.pictureTime = state.seq, state.at
			return state.picture, func() {}, nil
		}
		if state.err != nil {
			return nil, func() {}, state.err
		}
		select {
		case <-state.changed:
		case <-r.ctx.Done():
			return nil, func() {}, r.ctx.Err()
		case <-r.closed:
			return nil, func() {}, participant.ErrSourceClosed
		}
	}
}

func (r *feedReader) close() {
	r.closeOnce.Do(func() { close(r.closed) })
}
