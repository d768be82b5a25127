// Package synth makes synthetic media for Parley's headless test
// participant: VP8 video frames of a moving test picture, produced by a tiny
// pure-Go encoder (no cgo; about 0.1 ms of CPU for a 720p frame), and 20 ms
// Opus packets with an RFC 6464 audio level to send beside them.
//
// What it makes is meant to be decoded by real receivers (browsers, the
// server's own pipeline), so the VP8 encoder follows RFC 6386 exactly, but
// only for the handful of features a flat-coloured picture needs.
package synth
