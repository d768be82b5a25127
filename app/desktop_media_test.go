package app_test

import (
	"context"
	"image"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/media/capture"
	"github.com/parleyhq/parley/media/participant"
	"github.com/parleyhq/parley/media/playback"
	"github.com/parleyhq/parley/server/protocol"
)

// TestDesktopMediaThroughTheServer runs the desktop app's media engine
// through the real server and SFU: one participant publishes the capture
// package's test pattern (libvpx, three simulcast layers) and silence,
// another decodes with the playback package. The pictures decode at the
// size of the layer the SFU forwards, follow the tile size asked for,
// and look like the pattern; the audio is played (to no audio output).
func TestDesktopMediaThroughTheServer(t *testing.T) {
	s, owner, c := meetingServer(t, map[string]any{"lobby": "off"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	pattern := capture.TestPattern(640, 360, 15)
	defer pattern.Close()
	layers, err := pattern.Encoders(true)
	if err != nil {
		t.Fatal(err)
	}
	publisher, err := participant.Join(ctx, owner, c.CID, participant.Options{VideoLayers: layers, AudioSource: capture.Silence(), Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer publisher.Close()

	var mu sync.Mutex
	var last image.Image
	video := playback.NewVideo(func(from, source string, picture image.Image) {
		mu.Lock()
		last = picture
		mu.Unlock()
	})
	defer video.Close()
	audio, err := playback.NewAudio(playback.NullOutput())
	if err != nil {
		t.Fatal(err)
	}
	defer audio.Close()
	viewer, err := participant.Join(ctx, clientOf(t, s), c.CID, participant.Options{Name: "Viewer", Loopback: true,
		Sink: playback.Sink(video, audio)})
	if err != nil {
		t.Fatal(err)
	}
	defer viewer.Close() // before the players close: it stops feeding them
	video.OnKeyframeNeeded(func(from, source string) {
		if err := viewer.RequestKeyframe(from, source); err != nil {
			t.Logf("keyframe request: %v", err)
		}
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server output:\n%s", s.Output())
		}
	})

	stats := func() playback.VideoStats { return video.Stats(publisher.ID(), protocol.Camera) }
	waitSize := func(what string, want image.Point) {
		t.Helper()
		start := time.Now()
		waitFor(t, what, 30*time.Second, func() bool {
			s := stats()
			return s.Width == want.X && s.Height == want.Y && s.FramesDecoded > 0
		})
		decoded := stats().FramesDecoded
		waitFor(t, what+" going on", 10*time.Second, func() bool { return stats().FramesDecoded >= decoded+5 })
		t.Logf("%s: %+v after %v", what, stats(), time.Since(start).Round(time.Millisecond))
	}
	// A new subscriber gets the middle layer.
	waitSize("the middle layer", image.Pt(320, 180))
	if err := viewer.SetLayer(ctx, publisher.ID(), 160, 90); err != nil {
		t.Fatal(err)
	}
	waitSize("the quarter layer in a small tile", image.Pt(160, 90))
	if err := viewer.SetLayer(ctx, publisher.ID(), 640, 360); err != nil {
		t.Fatal(err)
	}
	waitSize("the full layer in a large tile", image.Pt(640, 360))

	mu.Lock()
	picture := last
	mu.Unlock()
	for _, point := range []struct {
		name    string
		x, y    int
		r, g, b uint32
	}{{"white bar", 40, 30, 191, 191, 191}, {"red bar", 440, 30, 191, 0, 0}, {"blue bar", 520, 30, 0, 0, 191}} {
		r, g, b, _ := picture.At(point.x, point.y).RGBA()
		if absDiff(r>>8, point.r) > 40 || absDiff(g>>8, point.g) > 40 || absDiff(b>>8, point.b) > 40 {
			t.Errorf("the %s decodes as %d,%d,%d", point.name, r>>8, g>>8, b>>8)
		}
	}

	// Muting the camera stops its packets and tells the others; unmuting
	// brings the pictures back, from a keyframe.
	if err := publisher.Mute(ctx, protocol.Camera, true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the viewer to see the camera muted", 10*time.Second, func() bool {
		for _, in := range viewer.Events() {
			if update, ok := in.Event.(*protocol.ParticipantChanged); ok && in.Type == "participant_updated" && update.Participant.ID == publisher.ID() && update.Participant.Muted.Camera {
				return true
			}
		}
		return false
	})
	time.Sleep(500 * time.Millisecond) // packets on their way
	muted := stats().Packets
	time.Sleep(time.Second)
	if now := stats().Packets; now != muted {
		t.Errorf("%d video packets came while muted", now-muted)
	}
	if err := publisher.Mute(ctx, protocol.Camera, false); err != nil {
		t.Fatal(err)
	}
	decoded := stats().FramesDecoded
	waitFor(t, "pictures after unmuting", 10*time.Second, func() bool { return stats().FramesDecoded >= decoded+5 })

	waitFor(t, "the publisher's audio to play", 20*time.Second, func() bool {
		return audio.Stats(publisher.ID()).Played >= playback.SampleRate/2
	})
	if packets, _ := viewer.Received(publisher.ID(), protocol.Microphone); packets == 0 {
		t.Error("the audio counter counts nothing")
	}
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}
