// Package capture turns the local camera and microphone into the sources
// a participant publishes: VP8 video (three simulcast layers) and 20 ms
// Opus packets.
//
// pion/mediadevices provides the camera driver (V4L2 on Linux), picture
// conversion and scaling, and the libvpx VP8 encoder; the microphone is
// read with miniaudio (gen2brain/malgo) and encoded with libopus
// (gopkg.in/hraban/opus.v2). Machines without a camera or microphone get
// ErrNoCamera or ErrNoMicrophone and use TestPattern, a generated picture
// that says "No camera", and Silence instead.
//
// It needs cgo with the Debian packages libvpx-dev, libopus-dev and
// libopusfile-dev (for hraban/opus; or build with the nolibopusfile tag).
package capture
