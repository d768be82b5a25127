// Package sip is Parley's SIP gateway, its signalling half (RFC 3261 with
// github.com/emiago/sipgo): it answers calls from desk phones, softphones
// and PBX trunks, works out the conference (from the dialled address, or
// by a voice menu and the keypad), and brings the caller in as a phone
// participant through the same signalling protocol as any other client,
// subject to the conference's PIN, lobby, lock and limits. Hanging up,
// being removed and the end of the conference each end the call.
//
// It never touches a media packet: the Media it is given (media/phone,
// wired by app) runs the call's RTP, prompts and keypad.
package sip
