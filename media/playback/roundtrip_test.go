package playback_test

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/parleyhq/parley/media/capture"
	"github.com/parleyhq/parley/media/h264"
	"github.com/parleyhq/parley/media/playback"
)

// barColors are the test pattern's colour bars as RGB, left to right.
var barColors = []color.RGBA{
	{191, 191, 191, 255}, // white (75%)
	{191, 191, 0, 255},   // yellow
	{0, 191, 191, 255},   // cyan
	{0, 191, 0, 255},     // green
	{191, 0, 191, 255},   // magenta
	{191, 0, 0, 255},     // red
	{0, 0, 191, 255},     // blue
	{16, 16, 16, 255},    // black
}

// packetizer turns encoded frames into RTP packets, as the participant
// does.
type packetizer struct {
	rtp.Packetizer
}

func newPacketizer() packetizer {
	return packetizer{rtp.NewPacketizer(1200, 96, 1, &codecs.VP8Payloader{EnablePictureID: true}, rtp.NewFixedSequencer(1), 90000)}
}

// decodedFrames collects what a playback.Video decodes.
type decodedFrames struct {
	mu       sync.Mutex
	pictures []image.Image
	arrived  chan struct{}
}

func newDecodedFrames() *decodedFrames {
	return &decodedFrames{arrived: make(chan struct{}, 1000)}
}

func (d *decodedFrames) onFrame(_, _ string, picture image.Image) {
	d.mu.Lock()
	d.pictures = append(d.pictures, picture)
	d.mu.Unlock()
	d.arrived <- struct{}{}
}

func (d *decodedFrames) wait(t *testing.T, count int) []image.Image {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		d.mu.Lock()
		n := len(d.pictures)
		d.mu.Unlock()
		if n >= count {
			break
		}
		select {
		case <-d.arrived:
		case <-timeout:
			t.Fatalf("decoded %d frames, want %d", n, count)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]image.Image(nil), d.pictures...)
}

// TestPatternSurvivesEncodingAndDecoding encodes the capture package's
// test pattern with libvpx in three simulcast layers, carries each through
// RTP and decodes it with playback: every layer decodes at its size, with
// the colour bars where they belong.
func TestPatternSurvivesEncodingAndDecoding(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pattern := capture.TestPattern(640, 360, 30)
	defer pattern.Close()
	layers, err := pattern.Encoders(true)
	if err != nil {
		t.Fatal(err)
	}
	sizes := []image.Point{{160, 90}, {320, 180}, {640, 360}}
	for i, layer := range layers {
		t.Run(fmt.Sprint(sizes[i].X), func(t *testing.T) {
			defer layer.Close()
			frames := newDecodedFrames()
			video := playback.NewVideo(frames.onFrame)
			defer video.Close()
			send := newPacketizer()
			const count = 20
			for n := range count {
				frame, keyframe, duration, err := layer.NextFrame(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if n == 0 && !keyframe {
					t.Error("the first frame is no keyframe")
				}
				if duration <= 0 || duration > time.Second {
					t.Errorf("frame %d lasts %v", n, duration)
				}
				for _, packet := range send.Packetize(frame, uint32(duration.Seconds()*90000)) {
					video.Push("p", "camera", "video/VP8", packet)
				}
			}
			pictures := frames.wait(t, count)
			last := pictures[len(pictures)-1]
			if got := last.Bounds().Size(); got != sizes[i] {
				t.Fatalf("decoded %v, want %v", got, sizes[i])
			}
			checkBars(t, last)
			if stats := video.Stats("p", "camera"); stats.FramesDecoded != count || stats.Width != sizes[i].X || stats.Height != sizes[i].Y {
				t.Errorf("stats %+v", stats)
			}
		})
	}
}

// checkBars compares the middle of each colour bar, near the top of the
// picture, with the colour it should have.
func checkBars(t *testing.T, picture image.Image) {
	t.Helper()
	size := picture.Bounds().Size()
	for i, want := range barColors {
		x, y := (2*i+1)*size.X/16, size.Y/10
		r, g, b, _ := picture.At(x, y).RGBA()
		got := color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 255}
		if diff(got.R, want.R) > 40 || diff(got.G, want.G) > 40 || diff(got.B, want.B) > 40 {
			t.Errorf("bar %d at (%d,%d) is %v, want about %v", i, x, y, got, want)
		}
	}
}

func diff(a, b uint8) int {
	return max(int(a)-int(b), int(b)-int(a))
}

// TestLostPacketWaitsForKeyframe loses one packet of an encoded stream:
// the decoder shows nothing wrong, asks for a keyframe, and decodes again
// from the keyframe the encoder then makes.
func TestLostPacketWaitsForKeyframe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pattern := capture.TestPattern(320, 180, 30)
	defer pattern.Close()
	layers, err := pattern.Encoders(false)
	if err != nil {
		t.Fatal(err)
	}
	layer := layers[0]
	defer layer.Close()
	frames := newDecodedFrames()
	video := playback.NewVideo(frames.onFrame)
	defer video.Close()
	requests := make(chan string, 10)
	video.OnKeyframeNeeded(func(participant, source string) {
		requests <- participant + "/" + source
		layer.RequestKeyframe()
	})
	send := newPacketizer()
	encode := func(drop bool) (keyframe bool) {
		frame, keyframe, duration, err := layer.NextFrame(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i, packet := range send.Packetize(frame, uint32(duration.Seconds()*90000)) {
			if !(drop && i == 0) {
				video.Push("p", "camera", "video/VP8", packet)
			}
		}
		return keyframe
	}
	for range 5 {
		encode(false)
	}
	frames.wait(t, 5)
	if encode(true) {
		t.Fatal("dropped a keyframe; the test wants an inter frame lost")
	}
	// Frames go on; the gap is given up on after 250 ms of them, then a
	// keyframe is asked for.
	var request string
	for request == "" {
		select {
		case request = <-requests:
		default:
			encode(false)
		}
	}
	if request != "p/camera" {
		t.Errorf("keyframe asked of %q", request)
	}
	sawKeyframe := false
	for range 5 {
		sawKeyframe = encode(false) || sawKeyframe
	}
	if !sawKeyframe {
		t.Fatal("the encoder made no keyframe when asked")
	}
	stats := video.Stats("p", "camera")
	if stats.FramesDropped == 0 || stats.KeyframesRequested == 0 {
		t.Errorf("stats %+v: no frame dropped or keyframe asked for", stats)
	}
	decodedBefore := stats.FramesDecoded
	for range 3 {
		encode(false)
	}
	frames.wait(t, int(decodedBefore)+3)
}

// TestH264Plays: a phone's H.264 (as the SFU forwards it) decodes into
// pictures like VP8 does, and a lost packet waits for a keyframe, asked
// for.
func TestH264Plays(t *testing.T) {
	encoder, err := h264.NewEncoder(h264.EncoderConfig{Width: 320, Height: 180, FPS: 15, Bitrate: 400_000})
	if err != nil {
		t.Fatal(err)
	}
	defer encoder.Close()
	frames := newDecodedFrames()
	video := playback.NewVideo(frames.onFrame)
	defer video.Close()
	requests := make(chan struct{}, 10)
	video.OnKeyframeNeeded(func(string, string) { requests <- struct{}{} })
	send := rtp.NewPacketizer(1200, 102, 1, &codecs.H264Payloader{}, rtp.NewFixedSequencer(1), 90000)
	picture := image.NewYCbCr(image.Rect(0, 0, 320, 180), image.YCbCrSubsampleRatio420)
	encode := func(keyframe, drop bool) {
		for i := range picture.Y {
			picture.Y[i]++ // a moving picture: inter frames carry something
		}
		frame, err := encoder.Encode(picture, keyframe)
		if err != nil {
			t.Fatal(err)
		}
		for i, packet := range send.Packetize(frame, 6000) {
			if !(drop && i == 0) {
				video.Push("phone", "camera", "video/H264", packet)
			}
		}
	}
	for range 3 {
		encode(false, false)
	}
	if pictures := frames.wait(t, 3); pictures[2].Bounds().Dx() != 320 {
		t.Fatalf("decoded %v", pictures[2].Bounds())
	}
	encode(false, true)
	encode(false, false) // may lack its start: dropped too
	encode(false, false)
	select {
	case <-requests:
	case <-time.After(5 * time.Second):
		t.Fatal("no keyframe asked for after a loss")
	}
	stats := video.Stats("phone", "camera")
	encode(true, false)
	frames.wait(t, 4)
	if after := video.Stats("phone", "camera"); after.FramesDecoded != stats.FramesDecoded+1 || stats.FramesDropped == 0 {
		t.Errorf("before the keyframe %+v, after %+v: want the broken frames dropped and the keyframe decoded", stats, after)
	}
}
