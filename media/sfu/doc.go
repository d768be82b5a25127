// Package sfu owns forwarding RTP between the participants of a room: it is
// Parley's selective forwarding unit, the media half of the signalling
// protocol in docs/protocol.md.
//
// Each participant has two peer connections with the SFU. On the publish
// connection the client offers and the SFU answers; it carries what the
// client sends (microphone, camera as simulcast layers q, h and f, screen).
// On the subscribe connection the SFU offers and the client answers; it
// carries every other participant's tracks, one m= line each.
//
// Inside, one goroutine reads each incoming stream (each simulcast layer
// separately) and hands every packet to the down tracks subscribed to it. A
// down track decides whether the packet goes out (the layer it forwards, a
// keyframe when it switches, paused or blocked tracks), rewrites its SSRC,
// sequence number, timestamp and VP8 picture IDs so that the subscriber sees
// one continuous stream, and puts it on its subscriber's small bounded queue;
// one goroutine per subscriber drains that queue into the subscribe
// connection, so a slow subscriber only ever loses its own packets.
//
// The SFU never touches the database or the WebSocket: the signalling layer
// drives it through Room and Participant, and hears back through the
// Signaller it passes to Join.
package sfu
