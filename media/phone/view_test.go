package phone

import (
	"fmt"
	"image"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley/server/protocol"
)

// TestViewChooserFollowsTheSpeaker: the phone sees the active speaker's
// camera, a shared screen before any camera, and asks the server for the
// shown camera at its own size and the others at the smallest.
func TestViewChooserFollowsTheSpeaker(t *testing.T) {
	video := &videoStream{cfg: VideoConfig{SingleNAL: true, Quality: VideoQuality{Width: 640, Height: 360, FPS: 25, Bitrate: 800_000}}}
	tiles := make(chan string, 20)
	chooser := newViewChooser(video, func(string, string) {}, func(participant string, width, height int) {
		tiles <- fmt.Sprintf("%s %dx%d", participant, width, height)
	})
	picture := func() *image.YCbCr { return image.NewYCbCr(image.Rect(0, 0, 64, 36), image.YCbCrSubsampleRatio420) }
	shows := func(want *image.YCbCr, what string) {
		t.Helper()
		if video.picture.Load() != want {
			t.Errorf("the phone does not show %s", what)
		}
	}
	asked := func(want ...string) {
		t.Helper()
		var got []string
		for range want {
			select {
			case tile := <-tiles:
				got = append(got, tile)
			case <-time.After(2 * time.Second):
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("layers asked %q, want %q", got, want)
		}
	}

	anna, bob := picture(), picture()
	chooser.frame("anna", protocol.Camera, anna) // the only camera
	chooser.frame("bob", protocol.Camera, bob)
	shows(anna, "the first camera")
	asked("anna 640x360", "bob 160x90")

	chooser.setSpeaker("bob")
	bob = picture()
	chooser.frame("bob", protocol.Camera, bob)
	chooser.frame("anna", protocol.Camera, picture())
	shows(bob, "the active speaker")
	asked("bob 640x360", "anna 160x90")

	screen := picture()
	chooser.frame("anna", protocol.Screen, screen)
	chooser.frame("bob", protocol.Camera, picture())
	shows(screen, "the shared screen")
	asked("bob 160x90")

	chooser.gone("anna", protocol.Screen)
	shows(nil, "a dark screen once the shared screen is gone")
	bob = picture()
	chooser.frame("bob", protocol.Camera, bob)
	shows(bob, "the speaker again")
	asked("bob 640x360")
}
