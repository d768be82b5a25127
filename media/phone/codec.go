package phone

import (
	"fmt"
	"strings"

	"gopkg.in/hraban/opus.v2"

	"github.com/parleyhq/parley/media/g711"
	"github.com/parleyhq/parley/media/g722"
	"github.com/parleyhq/parley/media/resample"
)

// A call's codec works in 20 ms frames of the conference's 48 kHz audio:
// an encoder turns one into a payload, a decoder a payload back into
// 48 kHz samples. Each is used by one goroutine (send, receive), so each
// keeps its own state.
type (
	encoder interface {
		encode(dst []byte, frame []int16) ([]byte, error)
		// ticks is how far the RTP timestamp moves per frame.
		ticks() uint32
	}
	decoder interface {
		decode(dst []int16, payload []byte) ([]int16, error)
	}
)

// Codec names as in SDP, upper case.
const (
	PCMU = "PCMU"
	PCMA = "PCMA"
	G722 = "G722"
	Opus = "OPUS"
)

// newCodec makes the encoder and decoder of a codec.
func newCodec(name string) (encoder, decoder, error) {
	switch strings.ToUpper(name) {
	case PCMU, PCMA:
		law := g711.Ulaw
		if strings.ToUpper(name) == PCMA {
			law = g711.Alaw
		}
		return narrowband(8000, law.Encode, law.Decode)
	case G722:
		enc, dec := g722.NewEncoder(), g722.NewDecoder()
		return narrowband(g722.SampleRate, enc.Encode, dec.Decode)
	case Opus:
		enc, err := opus.NewEncoder(conferenceRate, 1, opus.AppVoIP)
		if err != nil {
			return nil, nil, fmt.Errorf("opus encoder: %w", err)
		}
		if err := enc.SetInBandFEC(true); err != nil {
			return nil, nil, fmt.Errorf("opus encoder: %w", err)
		}
		dec, err := opus.NewDecoder(conferenceRate, 1)
		if err != nil {
			return nil, nil, fmt.Errorf("opus decoder: %w", err)
		}
		return &opusEncoder{enc: enc}, &opusDecoder{dec: dec, pcm: make([]int16, conferenceRate*120/1000)}, nil
	}
	return nil, nil, fmt.Errorf("call codec %q: only PCMU, PCMA, G722 and opus", name)
}

// narrowband makes the encoder and decoder of a codec at a lower rate
// than the conference's: the audio is resampled on the way. Its RTP clock
// is 8 kHz (G.722's too, though it samples at 16: RFC 3551).
func narrowband(rate int, encode func([]byte, []int16) []byte, decode func([]int16, []byte) []int16) (encoder, decoder, error) {
	down, err := resample.Down(conferenceRate / rate)
	if err != nil {
		return nil, nil, err
	}
	up, err := resample.Up(conferenceRate / rate)
	if err != nil {
		return nil, nil, err
	}
	return &resampledEncoder{down: down, codec: encode}, &resampledDecoder{up: up, codec: decode}, nil
}

type resampledEncoder struct {
	down  *resample.Resampler
	codec func([]byte, []int16) []byte
	pcm   []int16
}

func (e *resampledEncoder) encode(dst []byte, frame []int16) ([]byte, error) {
	e.pcm = e.down.Process(e.pcm[:0], frame)
	return e.codec(dst, e.pcm), nil
}

func (e *resampledEncoder) ticks() uint32 { return 8000 / 50 }

type resampledDecoder struct {
	up    *resample.Resampler
	codec func([]int16, []byte) []int16
	pcm   []int16
}

func (d *resampledDecoder) decode(dst []int16, payload []byte) ([]int16, error) {
	d.pcm = d.codec(d.pcm[:0], payload)
	return d.up.Process(dst, d.pcm), nil
}

// Opus (RFC 7587): 48 kHz already; sent mono.
type opusEncoder struct {
	enc *opus.Encoder
	buf [1500]byte
}

func (e *opusEncoder) encode(dst []byte, frame []int16) ([]byte, error) {
	n, err := e.enc.Encode(frame, e.buf[:])
	if err != nil {
		return nil, fmt.Errorf("opus encode: %w", err)
	}
	return append(dst, e.buf[:n]...), nil
}

func (e *opusEncoder) ticks() uint32 { return conferenceRate / 50 }

type opusDecoder struct {
	dec *opus.Decoder
	pcm []int16
}

func (d *opusDecoder) decode(dst []int16, payload []byte) ([]int16, error) {
	n, err := d.dec.Decode(payload, d.pcm)
	if err != nil {
		return dst, fmt.Errorf("opus decode: %w", err)
	}
	return append(dst, d.pcm[:n]...), nil
}
