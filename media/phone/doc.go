// Package phone is the media leg of a telephone call through the SIP
// gateway: the call's RTP socket (symmetric RTP, so phones behind NAT are
// answered where their packets come from), G.711 to and from the 48 kHz
// audio of a conference, RFC 4733 keypad events, the spoken prompts of the
// voice menu, and the bridge that brings the caller into a conference as a
// participant of its own (media/participant) whose microphone is the phone
// and whose ear is the mix of everyone else (media/playback).
//
// The SIP dialogue itself (server/sip) never sees a packet: it gives a
// Call the socket, the address and codec the SDP agreed, and asks it to
// play, collect digits, join and hang up.
package phone
