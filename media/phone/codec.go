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

// Supported reports whether a call can use a codec (by SDP name, any
// case).
func Supported(name string) bool {
	switch strings.ToUpper(name) {
	case PCMU, PCMA, G722, Opus:
		return true
	}
	return false
}

// newCodec makes the encoder and decoder of a codec.
func newCodec(name string) (encoder, decoder, error) {
	switch strings.ToUpper(name) {
	case PCMU, PCMA:
		law := g711.Ulaw
		if strings.ToUpper(name) == PCMA {
			law = g711.Alaw
		}
		down, err := resample.Down(conferenceRate / 8000)
		if err != nil {
			return nil, nil, err
		}
		up, err := resample.Up(conferenceRate / 8000)
		if err != nil {
			return nil, nil, err
		}
		return &g711Encoder{law: law, down: down}, &g711Decoder{law: law, up: up}, nil
	case G722:
		down, err := resample.Down(conferenceRate / g722.SampleRate)
		if err != nil {
			return nil, nil, err
		}
		up, err := resample.Up(conferenceRate / g722.SampleRate)
		if err != nil {
			return nil, nil, err
		}
		return &g722Encoder{enc: g722.NewEncoder(), down: down}, &g722Decoder{dec: g722.NewDecoder(), up: up}, nil
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

// G.711: 8 kHz, one byte a sample.
type g711Encoder struct {
	law    g711.Codec
	down   *resample.Resampler
	narrow []int16
}

func (e *g711Encoder) encode(dst []byte, frame []int16) ([]byte, error) {
	e.narrow = e.down.Process(e.narrow[:0], frame)
	return e.law.Encode(dst, e.narrow), nil
}

func (e *g711Encoder) ticks() uint32 { return 8000 / 50 }

type g711Decoder struct {
	law    g711.Codec
	up     *resample.Resampler
	narrow []int16
}

func (d *g711Decoder) decode(dst []int16, payload []byte) ([]int16, error) {
	d.narrow = d.law.Decode(d.narrow[:0], payload)
	return d.up.Process(dst, d.narrow), nil
}

// G.722: 16 kHz, one byte per two samples; its RTP clock is 8 kHz all
// the same (RFC 3551).
type g722Encoder struct {
	enc  *g722.Encoder
	down *resample.Resampler
	wide []int16
}

func (e *g722Encoder) encode(dst []byte, frame []int16) ([]byte, error) {
	e.wide = e.down.Process(e.wide[:0], frame)
	return e.enc.Encode(dst, e.wide), nil
}

func (e *g722Encoder) ticks() uint32 { return 8000 / 50 }

type g722Decoder struct {
	dec  *g722.Decoder
	up   *resample.Resampler
	wide []int16
}

func (d *g722Decoder) decode(dst []int16, payload []byte) ([]int16, error) {
	d.wide = d.dec.Decode(d.wide[:0], payload)
	return d.up.Process(dst, d.wide), nil
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
