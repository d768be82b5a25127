package playback

import (
	"github.com/pion/rtp"

	"github.com/parleyhq/parley/media/participant"
	"github.com/parleyhq/parley/server/protocol"
)

// Sink returns the participant.Sink that plays remote media: video to
// video, audio to audio (either may be nil, to ignore that kind).
func Sink(video *Video, audio *Audio) participant.Sink {
	return sink{video: video, audio: audio}
}

type sink struct {
	video *Video
	audio *Audio
}

func (s sink) Video(participant, source, codec string, packet *rtp.Packet) {
	if s.video != nil {
		s.video.Push(participant, source, codec, packet)
	}
}

func (s sink) Audio(participant string, packet *rtp.Packet) {
	if s.audio != nil {
		s.audio.Push(participant, packet)
	}
}

func (s sink) Gone(participant, source string) {
	switch {
	case source == protocol.Microphone && s.audio != nil:
		s.audio.Remove(participant)
	case source != protocol.Microphone && s.video != nil:
		s.video.Remove(participant, source)
	}
}
