// Package h264 is H.264 for video phones: RTP packets joined into frames
// (RFC 6184), and OpenH264's encoder and decoder. OpenH264 comes linked
// statically through github.com/pion/mediadevices (which ships it for
// every platform Parley builds for); the decoder uses the same library
// through the headers in include/, of the same version (2.1.1).
package h264
