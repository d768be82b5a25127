package synth

import (
	"sync/atomic"
	"time"
)

// opusFrameDuration is how much audio each packet carries.
const opusFrameDuration = 20 * time.Millisecond

// opusSilence is a complete Opus packet (RFC 6716) that decoders play as
// 20 ms of silence. Its TOC byte 0xf8 says configuration 31 (CELT-only,
// fullband, 20 ms frames), mono, code 0: one frame (section 3.1). The frame
// 0xff 0xfe decodes with the silence flag, the first symbol of a CELT frame
// (section 4.3), set, so the decoder reads nothing more and outputs zeros.
var opusSilence = [...]byte{0xf8, 0xff, 0xfe}

// RFC 6464 audio levels: the level of the audio in -dBov, from 0 (loudest)
// to 127 (silence).
const (
	speakingLevel = 20 // -20 dBov: ordinary speech
	silentLevel   = 127
)

// Audio makes 20 ms Opus packets, and the audio level to announce with them.
// The packets always decode to silence: the speaking state is carried only
// by the RFC 6464 header extension, which is what servers use to tell who
// speaks. All methods are safe for concurrent use.
type Audio struct {
	speaking atomic.Bool
}

// NewAudio returns a silent audio source.
func NewAudio() *Audio {
	return &Audio{}
}

// Next returns the next Opus packet and how long it plays.
func (a *Audio) Next() (packet []byte, duration time.Duration) {
	p := opusSilence
	return p[:], opusFrameDuration
}

// SetSpeaking sets whether Level reports speech or silence.
func (a *Audio) SetSpeaking(speaking bool) {
	a.speaking.Store(speaking)
}

// Level returns the RFC 6464 level to put in the audio-level header
// extension of the next packet: 0 is the loudest, 127 silence.
func (a *Audio) Level() uint8 {
	if a.speaking.Load() {
		return speakingLevel
	}
	return silentLevel
}
