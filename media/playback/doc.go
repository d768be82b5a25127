// Package playback turns the media of remote participants into what a
// person sees and hears: VP8 video tracks into pictures (libvpx), and
// phones' H.264 too (OpenH264, media/h264), and the
// Opus microphones of everyone into one mix played on a sound device
// (libopus, miniaudio through malgo), behind a jitter buffer.
//
// It needs cgo with the Debian packages libvpx-dev and libopus-dev
// (and libopusfile-dev, which gopkg.in/hraban/opus.v2 links unless built
// with the nolibopusfile tag). Machines without a sound device play to
// NullOutput.
package playback
