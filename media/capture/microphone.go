package capture

// #include <stdlib.h>
import "C"

import (
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gen2brain/malgo"
	"gopkg.in/hraban/opus.v2"

	"github.com/parleyhq/parley/media/participant"
)

// Microphone audio is captured and encoded as 48 kHz mono, Opus's own
// rate, in 20 ms packets.
const (
	sampleRate     = 48000
	packetSamples  = sampleRate / 50
	packetDuration = 20 * time.Millisecond
	// maxPending bounds the audio waiting to be encoded: while the
	// participant takes none (muted), older audio is dropped, so that
	// unmuting never sends stale speech.
	maxPending = 5 * packetSamples
)

// Opus settings for speech over lossy networks.
const (
	opusBitrate     = 32_000
	opusLossPercent = 5 // expected loss, for in-band forward error correction
)

// voiceLevel is the RFC 6464 level (-dBov) from which a packet counts as
// speech: quieter is room noise.
const voiceLevel = 50

// Level is a microphone's loudness for a meter, updated as audio comes in
// (also while muted): 0 for silence (-60 dBFS and below) to 1 for full
// scale, on a decibel scale.
type Level struct {
	bits atomic.Uint32
}

// Value is the loudness now.
func (l *Level) Value() float32 { return math.Float32frombits(l.bits.Load()) }

// update lets the meter rise at once and fall gently.
func (l *Level) update(samples []int16) {
	current, loud := l.Value(), meterValue(samples)
	l.bits.Store(math.Float32bits(max(loud, current*0.85)))
}

// microphone is an AudioSource of a capture device, encoded with libopus.
type microphone struct {
	device   *malgo.Device
	deviceID unsafe.Pointer // C memory, for miniaudio
	encoder  *opus.Encoder
	encoded  []byte
	level    *Level

	mu      sync.Mutex
	pending []int16
	arrived chan struct{} // signalled when samples come
	closed  chan struct{}
	once    sync.Once
}

// OpenMicrophone opens a microphone by its Devices ID ("" for the
// default) as an Opus source, with its level for a meter. Errors wrap
// ErrNoMicrophone when there is none.
func OpenMicrophone(id string) (participant.AudioSource, *Level, error) {
	devices, err := microphoneDevices()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrNoMicrophone, err)
	}
	var chosen *Device
	for i, device := range devices {
		if device.ID == id || id == "" && (device.Default || chosen == nil) {
			chosen = &devices[i]
		}
	}
	if chosen == nil {
		if id != "" {
			return nil, nil, fmt.Errorf("microphone %q: %w", id, ErrNoMicrophone)
		}
		return nil, nil, ErrNoMicrophone
	}
	m, err := newMicrophone()
	if err != nil {
		return nil, nil, err
	}
	ctx, err := audioContext()
	if err != nil {
		return nil, nil, err
	}
	rawID, err := hex.DecodeString(chosen.ID)
	var deviceID malgo.DeviceID
	if err != nil || len(rawID) > len(deviceID) {
		return nil, nil, fmt.Errorf("microphone %q: bad device id", chosen.ID)
	}
	copy(deviceID[:], rawID)
	m.deviceID = deviceID.Pointer()
	config := malgo.DefaultDeviceConfig(malgo.Capture)
	config.Capture.Format = malgo.FormatS16
	config.Capture.Channels = 1
	config.Capture.DeviceID = m.deviceID
	config.SampleRate = sampleRate
	config.PeriodSizeInMilliseconds = 10
	config.PerformanceProfile = malgo.LowLatency
	device, err := malgo.InitDevice(ctx.Context, config, malgo.DeviceCallbacks{Data: m.data})
	if err != nil {
		C.free(m.deviceID)
		return nil, nil, fmt.Errorf("open microphone %s: %w", chosen.Label, err)
	}
	m.device = device
	if err := device.Start(); err != nil {
		_ = m.Close()
		return nil, nil, fmt.Errorf("start microphone %s: %w", chosen.Label, err)
	}
	return m, m.level, nil
}

// newMicrophone makes the encoding half of a microphone, fed by push.
func newMicrophone() (*microphone, error) {
	encoder, err := opus.NewEncoder(sampleRate, 1, opus.AppVoIP)
	if err != nil {
		return nil, fmt.Errorf("opus encoder: %w", err)
	}
	for _, set := range []func() error{
		func() error { return encoder.SetBitrate(opusBitrate) },
		func() error { return encoder.SetInBandFEC(true) },
		func() error { return encoder.SetPacketLossPerc(opusLossPercent) },
	} {
		if err := set(); err != nil {
			return nil, fmt.Errorf("opus encoder: %w", err)
		}
	}
	return &microphone{encoder: encoder, encoded: make([]byte, 1500), level: &Level{},
		arrived: make(chan struct{}, 1), closed: make(chan struct{})}, nil
}

// data is miniaudio's callback, on its audio thread.
func (m *microphone) data(_, input []byte, frames uint32) {
	if len(input) < int(frames)*2 {
		return
	}
	m.push(unsafe.Slice((*int16)(unsafe.Pointer(unsafe.SliceData(input))), frames))
}

// push adds captured samples (copying them).
func (m *microphone) push(samples []int16) {
	m.level.update(samples)
	m.mu.Lock()
	m.pending = append(m.pending, samples...)
	if excess := len(m.pending) - maxPending; excess > 0 {
		m.pending = append(m.pending[:0], m.pending[excess:]...)
	}
	m.mu.Unlock()
	select {
	case m.arrived <- struct{}{}:
	default:
	}
}

// NextPacket waits for 20 ms of audio and encodes it.
func (m *microphone) NextPacket(ctx context.Context) ([]byte, time.Duration, uint8, bool, error) {
	frame := make([]int16, packetSamples)
	for {
		m.mu.Lock()
		ready := len(m.pending) >= packetSamples
		if ready {
			copy(frame, m.pending)
			m.pending = append(m.pending[:0], m.pending[packetSamples:]...)
		}
		m.mu.Unlock()
		if ready {
			break
		}
		select {
		case <-m.arrived:
		case <-ctx.Done():
			return nil, 0, 0, false, ctx.Err()
		case <-m.closed:
			return nil, 0, 0, false, participant.ErrSourceClosed
		}
	}
	n, err := m.encoder.Encode(frame, m.encoded)
	if err != nil {
		return nil, 0, 0, false, fmt.Errorf("opus encode: %w", err)
	}
	level := audioLevel(frame)
	return append([]byte(nil), m.encoded[:n]...), packetDuration, level, level <= voiceLevel, nil
}

// Close stops the device (waiting for its thread) and ends NextPacket.
func (m *microphone) Close() error {
	m.once.Do(func() {
		close(m.closed)
		if m.device != nil {
			m.device.Uninit()
		}
		if m.deviceID != nil {
			C.free(m.deviceID)
		}
	})
	return nil
}

// Silence is the AudioSource for machines without a microphone: Opus
// packets of silence every 20 ms (media/synth's, no encoder needed),
// announced as silence.
func Silence() participant.AudioSource {
	return participant.SynthAudio(false)
}

// rms is the root mean square of samples relative to full scale.
func rms(samples []int16) float64 {
	if len(samples) == 0 {
		return 0
	}
	var sum float64
	for _, sample := range samples {
		sum += float64(sample) * float64(sample)
	}
	return math.Sqrt(sum/float64(len(samples))) / 32768
}

// audioLevel is the RFC 6464 level of samples: -dBov from 0 to 127.
func audioLevel(samples []int16) uint8 {
	level := rms(samples)
	if level <= 0 {
		return 127
	}
	return uint8(max(0, min(127, math.Round(-20*math.Log10(level)))))
}

// meterValue maps samples onto 0..1 over -60..0 dBFS.
func meterValue(samples []int16) float32 {
	level := rms(samples)
	if level <= 0 {
		return 0
	}
	return float32(max(0, min(1, (20*math.Log10(level)+60)/60)))
}

// PCMSource is an AudioSource fed with 48 kHz mono samples by Push: the
// encoding half of a microphone, for audio that comes from elsewhere, such
// as a telephone call through the SIP gateway.
type PCMSource struct{ *microphone }

// NewPCMSource returns a source with nothing pushed yet.
func NewPCMSource() (*PCMSource, error) {
	m, err := newMicrophone()
	if err != nil {
		return nil, err
	}
	return &PCMSource{m}, nil
}

// Push adds samples (copying them); NextPacket encodes each 20 ms as it
// completes.
func (s *PCMSource) Push(samples []int16) { s.push(samples) }
