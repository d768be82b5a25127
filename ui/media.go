package ui

import (
	"errors"
	"fmt"
	"image"
	"log/slog"
	"sync"

	"github.com/parleyhq/parley/media/capture"
	"github.com/parleyhq/parley/media/participant"
	"github.com/parleyhq/parley/media/playback"
	"github.com/parleyhq/parley/server/protocol"
)

// Camera size the desktop app sends (its full simulcast layer).
const (
	cameraWidth  = 640
	cameraHeight = 360
	cameraFPS    = 24
)

// noDevice is the choice of sending a test pattern or silence instead of a
// camera or microphone.
const noDevice = "none"

// devices is what a meeting sends and plays: the camera (or a labelled
// test pattern), the microphone (or silence), the decoders of remote video
// and the mix of remote sound. It lives from the pre-join screen to
// leaving, so the self view runs before joining and after.
type devices struct {
	log *slog.Logger

	mu         sync.Mutex
	camera     *capture.Video
	cameraNote string // why a test pattern is sent instead of a camera
	micID      string // the chosen microphone, noDevice for silence
	micNote    string
	video      *playback.Video
	audio      *playback.Audio
	audioNote  string
	frames     map[string]image.Image // latest picture per "<participant>/<source>"
	onFrame    func(track string)
}

// openDevices opens the camera (id "" is the default one; noDevice sends
// the test pattern), and the decoders and sound output.
func openDevices(cameraID, micID string, log *slog.Logger) *devices {
	d := &devices{log: log, micID: micID, frames: map[string]image.Image{}}
	d.setCamera(cameraID)
	d.video = playback.NewVideo(func(who, source string, picture image.Image) {
		track := who + "/" + source
		d.mu.Lock()
		d.frames[track] = picture
		notify := d.onFrame
		d.mu.Unlock()
		if notify != nil {
			notify(track)
		}
	})
	output, err := playback.OpenSpeaker("")
	if err != nil {
		d.audioNote = "No sound output: you will not hear the others (" + err.Error() + ")."
		output = playback.NullOutput()
	}
	if d.audio, err = playback.NewAudio(output); err != nil {
		d.audioNote = "Sound cannot play: " + err.Error()
		d.audio, _ = playback.NewAudio(playback.NullOutput())
	}
	return d
}

// setCamera switches the camera; a camera that cannot be opened gives way
// to the test pattern, with the reason kept for the window.
func (d *devices) setCamera(id string) {
	var (
		camera *capture.Video
		note   string
	)
	if id != noDevice {
		var err error
		camera, err = capture.OpenCamera(id, cameraWidth, cameraHeight, cameraFPS)
		if err != nil {
			note = cameraProblem(err)
			camera = nil
		}
	} else {
		note = "You chose to send a test pattern instead of a camera."
	}
	if camera == nil {
		camera = capture.TestPattern(cameraWidth, cameraHeight, cameraFPS)
	}
	d.mu.Lock()
	old := d.camera
	d.camera, d.cameraNote = camera, note
	d.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
}

func cameraProblem(err error) string {
	if errors.Is(err, capture.ErrNoCamera) {
		return "No camera found: the others see a test pattern labelled “" + capture.PatternLabel + "”."
	}
	return "The camera cannot be used (" + err.Error() + "): the others see a test pattern."
}

// preview is the latest picture of the camera or test pattern.
func (d *devices) preview() image.Image {
	d.mu.Lock()
	camera := d.camera
	d.mu.Unlock()
	return camera.Preview()
}

// notes are what the window should say about the devices.
func (d *devices) notes() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var notes []string
	for _, note := range []string{d.cameraNote, d.micNote, d.audioNote} {
		if note != "" {
			notes = append(notes, note)
		}
	}
	return notes
}

// joinOptions makes the participant's media for one join: fresh encoders
// of the camera, the microphone (or silence), and the sink that feeds the
// decoders and the mix.
func (d *devices) joinOptions(muted protocol.Sources) (participant.Options, error) {
	d.mu.Lock()
	camera, micID := d.camera, d.micID
	d.mu.Unlock()
	layers, err := camera.Encoders(true)
	if err != nil {
		return participant.Options{}, fmt.Errorf("start the video encoder: %w", err)
	}
	var microphone participant.AudioSource
	note := ""
	if micID == noDevice {
		microphone, note = capture.Silence(), "You chose to join without a microphone."
	} else {
		microphone, _, err = capture.OpenMicrophone(micID)
		if err != nil {
			microphone = capture.Silence()
			note = "No microphone: the others will not hear you (" + err.Error() + ")."
		}
	}
	d.mu.Lock()
	d.micNote = note
	d.mu.Unlock()
	return participant.Options{VideoLayers: layers, AudioSource: microphone, Muted: muted,
		Sink: playback.Sink(d.video, d.audio)}, nil
}

// frame is the latest decoded picture of a remote track.
func (d *devices) frame(track string) image.Image {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.frames[track]
}

// forget drops what is kept of a track that went away.
func (d *devices) forget(track string) {
	d.mu.Lock()
	delete(d.frames, track)
	d.mu.Unlock()
}

// close releases the camera, the decoders and the sound output.
func (d *devices) close() {
	d.mu.Lock()
	camera := d.camera
	d.camera, d.onFrame = nil, nil
	d.mu.Unlock()
	if camera != nil {
		_ = camera.Close()
	}
	_ = d.video.Close()
	_ = d.audio.Close()
}

// deviceChoices lists cameras and microphones for the pickers: labels in
// order, and the id behind each label.
func deviceChoices() (cameras, microphones []string, ids map[string]string) {
	ids = map[string]string{}
	list, err := capture.Devices()
	if err != nil {
		list = nil
	}
	for _, device := range list {
		label := device.Label
		if label == "" {
			label = device.ID
		}
		ids[label] = device.ID
		if device.Kind == capture.Camera {
			cameras = append(cameras, label)
		} else {
			microphones = append(microphones, label)
		}
	}
	cameras = append(cameras, testPatternChoice)
	microphones = append(microphones, silenceChoice)
	ids[testPatternChoice], ids[silenceChoice] = noDevice, noDevice
	return cameras, microphones, ids
}

const (
	testPatternChoice = "No camera (send a test pattern)"
	silenceChoice     = "No microphone"
)
