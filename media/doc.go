// Package media is Parley's media plane: forwarding RTP between
// participants (SFU), simulcast layer selection, mixing, codecs, capture
// and recording. It never touches the database; the control plane drives it
// through interfaces declared where they are consumed. The conference issue
// fills it; until then nothing imports it.
package media
