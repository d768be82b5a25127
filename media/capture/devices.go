package capture

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/gen2brain/malgo"
	"github.com/pion/mediadevices/pkg/driver"
	"github.com/pion/mediadevices/pkg/driver/camera"
)

// Errors saying that a kind of device is missing; the caller falls back to
// TestPattern or Silence and tells the user.
var (
	ErrNoCamera     = errors.New("no camera found")
	ErrNoMicrophone = errors.New("no microphone found")
)

// Kind is what a device captures.
type Kind string

// Kinds of device.
const (
	Camera     Kind = "camera"
	Microphone Kind = "microphone"
)

// Device is a camera or microphone that OpenCamera or OpenMicrophone can
// open by its ID.
type Device struct {
	Kind    Kind
	ID      string
	Label   string
	Default bool // the one opened for the ID ""
}

// Devices lists the cameras and microphones there are now. Failing to list
// one kind does not hide the other: the error says what failed.
func Devices() ([]Device, error) {
	devices := cameraDevices()
	microphones, err := microphoneDevices()
	devices = append(devices, microphones...)
	return devices, err
}

// cameraDevices looks for cameras afresh (one may have been plugged in)
// with mediadevices' camera driver (V4L2 on Linux). The first is the
// default.
func cameraDevices() []Device {
	camera.Initialize()
	var devices []Device
	for _, d := range cameraDrivers() {
		devices = append(devices, Device{Kind: Camera, ID: d.Info().Label, Label: cameraName(d.Info())})
	}
	if len(devices) > 0 {
		devices[0].Default = true
	}
	return devices
}

// cameraDrivers returns the cameras mediadevices knows, the preferred
// first.
func cameraDrivers() []driver.Driver {
	drivers := driver.GetManager().Query(driver.FilterAnd(driver.FilterVideoRecorder(), driver.FilterDeviceType(driver.Camera)))
	slices.SortFunc(drivers, func(a, b driver.Driver) int {
		if c := cmp.Compare(b.Info().Priority, a.Info().Priority); c != 0 {
			return c
		}
		return strings.Compare(a.Info().Label, b.Info().Label)
	})
	return drivers
}

// cameraName is the driver's name for people: on Linux "name;bus".
func cameraName(info driver.Info) string {
	name, _, _ := strings.Cut(info.Name, camera.LabelSeparator)
	if name == "" {
		name, _, _ = strings.Cut(info.Label, camera.LabelSeparator)
	}
	return name
}

// audioContext is the process's miniaudio context, made on first use: it
// chooses the backend (PulseAudio, ALSA...) and lists devices.
var audioContext = sync.OnceValues(func() (*malgo.AllocatedContext, error) {
	ctx, err := malgo.InitContext(nil, malgo.ContextConfig{}, func(message string) {
		slog.Debug("miniaudio", slog.String("message", strings.TrimSpace(message)))
	})
	if err != nil {
		return nil, fmt.Errorf("audio system: %w", err)
	}
	return ctx, nil
})

// microphoneDevices lists capture devices that are microphones: not ALSA's
// "null" device, which makes up silence, nor PulseAudio's monitors, which
// record what the speakers play (everyone would hear themselves).
func microphoneDevices() ([]Device, error) {
	ctx, err := audioContext()
	if err != nil {
		return nil, err
	}
	infos, err := ctx.Devices(malgo.Capture)
	if err != nil {
		return nil, fmt.Errorf("list microphones: %w", err)
	}
	var devices []Device
	for _, info := range infos {
		name, _, _ := bytes.Cut(info.ID[:], []byte{0})
		if string(name) == "null" || strings.HasSuffix(string(name), ".monitor") {
			continue
		}
		devices = append(devices, Device{Kind: Microphone, ID: info.ID.String(), Label: info.Name(), Default: info.IsDefault != 0})
	}
	return devices, nil
}
