package playback

// #include <stdlib.h>
import "C"

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unsafe"

	"github.com/gen2brain/malgo"
)

// ErrNoAudioOutput is wrapped by OpenSpeaker's errors when there is no
// sound device to play on (a server, a CI machine, Xvfb): the caller plays
// to NullOutput instead and says so.
var ErrNoAudioOutput = errors.New("no audio output")

// Output plays mixed audio: once started it calls fill, from its own clock,
// with a buffer of 48 kHz mono samples to fill.
type Output interface {
	Start(fill func(samples []int16)) error
	// Close stops the output and waits until fill is no longer called.
	Close() error
	// Name says where the audio goes, for the user.
	Name() string
}

// Speaker is a sound output device.
type Speaker struct {
	ID      string // for OpenSpeaker
	Label   string
	Default bool
}

// audioContext is the process's miniaudio context, made on first use: it
// chooses the backend (PulseAudio, ALSA...) and lists devices.
var audioContext = sync.OnceValues(func() (*malgo.AllocatedContext, error) {
	ctx, err := malgo.InitContext(nil, malgo.ContextConfig{}, func(message string) {
		slog.Debug("miniaudio", slog.String("message", string(bytes.TrimSpace([]byte(message)))))
	})
	if err != nil {
		return nil, fmt.Errorf("audio system: %w", err)
	}
	return ctx, nil
})

// Speakers lists the sound output devices. ALSA's "null" device, which
// discards everything, is left out: it is no speaker.
func Speakers() ([]Speaker, error) {
	ctx, err := audioContext()
	if err != nil {
		return nil, err
	}
	devices, err := ctx.Devices(malgo.Playback)
	if err != nil {
		return nil, fmt.Errorf("list audio outputs: %w", err)
	}
	var speakers []Speaker
	for _, device := range devices {
		if isNullDevice(device.ID) {
			continue
		}
		speakers = append(speakers, Speaker{ID: device.ID.String(), Label: device.Name(), Default: device.IsDefault != 0})
	}
	return speakers, nil
}

// isNullDevice recognises ALSA's "null" PCM, whose id is that string.
func isNullDevice(id malgo.DeviceID) bool {
	name, _, _ := bytes.Cut(id[:], []byte{0})
	return string(name) == "null"
}

// speaker plays through a miniaudio device.
type speaker struct {
	device   *malgo.Device
	deviceID unsafe.Pointer // C memory miniaudio may keep pointing at
	name     string

	mu   sync.Mutex
	fill func([]int16)
}

// OpenSpeaker opens a sound output device by its Speakers ID, or the
// system's default for "". Errors wrap ErrNoAudioOutput.
func OpenSpeaker(id string) (Output, error) {
	ctx, err := audioContext()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoAudioOutput, err)
	}
	s := &speaker{name: "default audio output"}
	config := malgo.DefaultDeviceConfig(malgo.Playback)
	config.Playback.Format = malgo.FormatS16
	config.Playback.Channels = 1
	config.SampleRate = SampleRate
	config.PeriodSizeInMilliseconds = 10
	config.PerformanceProfile = malgo.LowLatency
	if id != "" {
		raw, err := hex.DecodeString(id)
		var deviceID malgo.DeviceID
		if err != nil || len(raw) > len(deviceID) {
			return nil, fmt.Errorf("%w: bad device id %q", ErrNoAudioOutput, id)
		}
		copy(deviceID[:], raw)
		s.deviceID = deviceID.Pointer()
		config.Playback.DeviceID = s.deviceID
		s.name = id
		if speakers, err := Speakers(); err == nil {
			for _, candidate := range speakers {
				if candidate.ID == id {
					s.name = candidate.Label
				}
			}
		}
	}
	device, err := malgo.InitDevice(ctx.Context, config, malgo.DeviceCallbacks{Data: s.data})
	if err != nil {
		s.freeDeviceID()
		return nil, fmt.Errorf("%w: open %s: %w", ErrNoAudioOutput, s.name, err)
	}
	s.device = device
	return s, nil
}

func (s *speaker) Name() string { return s.name }

func (s *speaker) Start(fill func([]int16)) error {
	s.mu.Lock()
	s.fill = fill
	s.mu.Unlock()
	if err := s.device.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.name, err)
	}
	return nil
}

// data is miniaudio's callback, on its audio thread.
func (s *speaker) data(output, _ []byte, frames uint32) {
	samples := unsafe.Slice((*int16)(unsafe.Pointer(unsafe.SliceData(output))), frames)
	s.mu.Lock()
	fill := s.fill
	s.mu.Unlock()
	if fill == nil {
		clear(samples)
		return
	}
	fill(samples)
}

func (s *speaker) Close() error {
	s.device.Uninit() // stops the audio thread first
	s.freeDeviceID()
	return nil
}

func (s *speaker) freeDeviceID() {
	if s.deviceID != nil {
		C.free(s.deviceID)
		s.deviceID = nil
	}
}

// nullOutput discards audio at the pace a sound card would take it, so
// that buffers drain, levels move and statistics count as in a real call.
type nullOutput struct {
	stop chan struct{}
	done chan struct{}
}

// NullOutput is the Output for machines without sound: it plays nothing
// and is named "no audio output".
func NullOutput() Output {
	return &nullOutput{stop: make(chan struct{}), done: make(chan struct{})}
}

func (n *nullOutput) Name() string { return ErrNoAudioOutput.Error() }

func (n *nullOutput) Start(fill func([]int16)) error {
	go func() {
		defer close(n.done)
		ticker := time.NewTicker(20 * time.Millisecond)
		defer ticker.Stop()
		samples := make([]int16, frameSamples)
		for {
			select {
			case <-n.stop:
				return
			case <-ticker.C:
				fill(samples)
			}
		}
	}()
	return nil
}

func (n *nullOutput) Close() error {
	select {
	case <-n.stop:
		return nil
	default:
	}
	close(n.stop)
	<-n.done
	return nil
}
