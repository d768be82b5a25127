package capture

import (
	"context"
	"errors"
	"image"
	"math"
	"testing"
	"time"

	"github.com/pion/mediadevices/pkg/frame"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
	"gopkg.in/hraban/opus.v2"

	"github.com/parleyhq/parley/media/participant"
)

// sine returns n samples of a tone at amplitude (0..1 of full scale),
// continuing from sample offset.
func sine(offset, n int, hz, amplitude float64) []int16 {
	samples := make([]int16, n)
	for i := range samples {
		samples[i] = int16(amplitude * 32767 * math.Sin(2*math.Pi*hz*float64(offset+i)/sampleRate))
	}
	return samples
}

// TestOpusRoundTrip feeds a microphone's encoder a tone in 10 ms chunks,
// as miniaudio does, and decodes its packets with libopus: 960 samples
// each, about as loud as the tone, with the RFC 6464 level and the voice
// flag to match.
func TestOpusRoundTrip(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := newMicrophone()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	decoder, err := opus.NewDecoder(sampleRate, 1)
	if err != nil {
		t.Fatal(err)
	}
	const amplitude = 0.25 // a sine's RMS is amplitude/√2: -15 dBFS
	const chunk = sampleRate / 100
	pcm := make([]int16, 5760)
	for n := range 25 {
		m.push(sine(2*n*chunk, chunk, 440, amplitude))
		m.push(sine((2*n+1)*chunk, chunk, 440, amplitude))
		packet, duration, level, voice, err := m.NextPacket(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if duration != 20*time.Millisecond {
			t.Fatalf("packet %d lasts %v", n, duration)
		}
		if level < 14 || level > 16 || !voice {
			t.Errorf("packet %d: level %d voice %v, want 15 (-15 dBov) and voice", n, level, voice)
		}
		samples, err := decoder.Decode(packet, pcm)
		if err != nil {
			t.Fatal(err)
		}
		if samples != 960 {
			t.Fatalf("packet %d decodes to %d samples, want 960", n, samples)
		}
		if n >= 5 { // past the codec's start-up
			if got := audioLevel(pcm[:samples]); got < 13 || got > 18 {
				t.Errorf("packet %d decodes at -%d dBFS, want about -15", n, got)
			}
		}
	}
	if meter := m.level.Value(); meter < 0.7 || meter > 0.8 {
		t.Errorf("meter shows %.2f for -15 dBFS, want 0.75", meter)
	}
}

// TestMicrophoneSilenceAndBacklog checks that silence is announced as
// such, that audio nobody takes (while muted) does not pile up, and how
// NextPacket ends.
func TestMicrophoneSilenceAndBacklog(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := newMicrophone()
	if err != nil {
		t.Fatal(err)
	}
	m.push(make([]int16, sampleRate)) // a second of silence, unread
	for range maxPending / packetSamples {
		_, _, level, voice, err := m.NextPacket(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if level != 127 || voice {
			t.Errorf("silence has level %d, voice %v", level, voice)
		}
	}
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	if _, _, _, _, err := m.NextPacket(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("after the backlog NextPacket gives %v, want to wait", err)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		_ = m.Close()
	}()
	if _, _, _, _, err := m.NextPacket(ctx); !errors.Is(err, participant.ErrSourceClosed) {
		t.Errorf("NextPacket on close gives %v", err)
	}
}

// TestMissingDevicesSayWhy opens devices that do not exist: errors that
// say so, and no crash. (Whether this machine has any is not assumed.)
func TestMissingDevicesSayWhy(t *testing.T) {
	if _, err := OpenCamera("no-such-camera", 640, 360, 15); !errors.Is(err, ErrNoCamera) {
		t.Errorf("OpenCamera of a missing camera: %v", err)
	}
	if _, _, err := OpenMicrophone("00ff"); !errors.Is(err, ErrNoMicrophone) {
		t.Errorf("OpenMicrophone of a missing microphone: %v", err)
	}
	devices, err := Devices()
	t.Logf("devices here: %+v (error %v)", devices, err)
	for _, d := range devices {
		if d.Kind != Camera && d.Kind != Microphone || d.ID == "" {
			t.Errorf("device %+v", d)
		}
	}
}

// TestTestPattern checks the pattern's pictures: its size, the label, the
// box that moves, and what ends when it closes.
func TestTestPattern(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v := TestPattern(641, 361, 30)
	if w, h := v.Size(); w != 640 || h != 360 {
		t.Errorf("size %dx%d, want it rounded to even 640x360", w, h)
	}
	if v.Label() != "No camera" {
		t.Errorf("label %q", v.Label())
	}
	layers, err := v.Encoders(true)
	if err != nil {
		t.Fatal(err)
	}
	full := layers[2]
	// Each frame comes from a new picture: the box moved.
	var previous *image.YCbCr
	for range 3 {
		if _, _, _, err := full.NextFrame(ctx); err != nil {
			t.Fatal(err)
		}
		picture := v.Preview().(*image.YCbCr)
		if picture == previous {
			t.Error("the same picture twice")
		}
		previous = picture
	}
	first, second := newPattern(640, 360).picture(0), newPattern(640, 360).picture(10)
	if string(first.Y) == string(second.Y) {
		t.Error("the box does not move")
	}
	// The label's banner is black and has white letters in it.
	p := newPattern(640, 360)
	white := 0
	for y := p.banner.Min.Y; y < p.banner.Max.Y; y++ {
		for x := p.banner.Min.X; x < p.banner.Max.X; x++ {
			switch first.Y[y*first.YStride+x] {
			case textLuma:
				white++
			case bannerLuma:
			default:
				t.Fatalf("banner pixel (%d,%d) is %d", x, y, first.Y[y*first.YStride+x])
			}
		}
	}
	if white < 500 {
		t.Errorf("only %d white pixels of text", white)
	}

	full.RequestKeyframe()
	if _, keyframe, _, err := full.NextFrame(ctx); err != nil || !keyframe {
		t.Errorf("after RequestKeyframe: keyframe %v, error %v", keyframe, err)
	}
	// Closing the Video closes the encoders still open.
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	for _, layer := range layers {
		if _, _, _, err := layer.NextFrame(ctx); !errors.Is(err, participant.ErrSourceClosed) {
			t.Errorf("NextFrame after Close: %v", err)
		}
	}
	if _, err := v.Encoders(true); !errors.Is(err, participant.ErrSourceClosed) {
		t.Errorf("Encoders after Close: %v", err)
	}
	if v.Err() != nil {
		t.Errorf("a closed pattern reports %v", v.Err())
	}
}

// TestNextFrameEndsWithItsContext: an encoder waiting for a picture
// returns when the participant stops.
func TestNextFrameEndsWithItsContext(t *testing.T) {
	v := TestPattern(64, 64, 1)
	defer v.Close()
	layers, err := v.Encoders(false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, _, err := layers[0].NextFrame(ctx); err != nil { // the first picture is there at once
		t.Fatal(err)
	}
	short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancelShort()
	start := time.Now()
	if _, _, _, err := layers[0].NextFrame(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want the deadline", err)
	}
	if waited := time.Since(start); waited > 500*time.Millisecond {
		t.Errorf("returned after %v", waited)
	}
}

// TestChooseCameraMode picks camera modes for a few requests.
func TestChooseCameraMode(t *testing.T) {
	mode := func(w, h int, fps float32, format frame.Format) prop.Media {
		return prop.Media{Video: prop.Video{Width: w, Height: h, FrameRate: fps, FrameFormat: format}}
	}
	modes := []prop.Media{
		mode(640, 480, 30, frame.FormatYUYV),
		mode(1280, 720, 30, frame.FormatMJPEG),
		mode(1280, 720, 10, frame.FormatYUYV),
		mode(320, 240, 30, frame.FormatYUYV),
		mode(1920, 1080, 30, frame.FormatZ16), // a depth camera's: not decoded
	}
	for _, c := range []struct {
		width, height, fps int
		want               prop.Media
	}{
		{640, 360, 30, modes[0]},
		{1280, 720, 30, modes[1]},
		{1280, 720, 10, modes[2]},
		{320, 180, 15, mode(320, 240, 15, frame.FormatYUYV)}, // the rate asked for
	} {
		got, ok := chooseCameraMode(modes, c.width, c.height, c.fps)
		if c.want.FrameRate > float32(c.fps) {
			c.want.FrameRate = float32(c.fps)
		}
		if !ok || got.Video != c.want.Video {
			t.Errorf("%dx%d@%d: chose %+v, want %+v", c.width, c.height, c.fps, got.Video, c.want.Video)
		}
	}
	if _, ok := chooseCameraMode(modes[4:], 640, 360, 15); ok {
		t.Error("chose a format that cannot be decoded")
	}
}

// TestCameraPicturesAreCroppedAndScaled runs a camera's pictures (4:2:2,
// 4:3, as webcams deliver YUYV) through the conversion: I420 at the size
// asked for, the bands above and below cut off.
func TestCameraPicturesAreCroppedAndScaled(t *testing.T) {
	raw := image.NewYCbCr(image.Rect(0, 0, 640, 480), image.YCbCrSubsampleRatio422)
	for y := range 480 {
		luma := uint8(200) // the middle, which stays
		if y < 60 || y >= 420 {
			luma = 20 // the bands that go
		}
		for x := range 640 {
			raw.Y[y*raw.YStride+x] = luma
		}
	}
	for i := range raw.Cb {
		raw.Cb[i], raw.Cr[i] = 128, 128
	}
	camera := video.ReaderFunc(func() (image.Image, func(), error) { return raw, func() {}, nil })
	for _, size := range []image.Point{{640, 360}, {320, 180}} {
		picture, release, err := fitPictures(camera, 640, 480, size.X, size.Y).Read()
		if err != nil {
			t.Fatal(err)
		}
		copied, err := copyI420(picture)
		release()
		if err != nil {
			t.Fatal(err)
		}
		if copied.Rect.Size() != size {
			t.Errorf("picture %v, want %v", copied.Rect.Size(), size)
		}
		for _, luma := range copied.Y {
			if luma != 200 {
				t.Fatalf("%v: a pixel of luma %d: the bands were not cropped", size, luma)
			}
		}
	}
	if got := cropRect(1280, 720, 640, 480); got != image.Rect(160, 0, 1120, 720) {
		t.Errorf("crop of 16:9 to 4:3: %v", got)
	}
}
