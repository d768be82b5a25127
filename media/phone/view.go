package phone

import (
	"image"
	"sync"
	"time"

	"github.com/parleyhq/parley/media/participant"
	"github.com/parleyhq/parley/server/protocol"
)

// freshVideo is how recent a track's last picture must be for it to be
// shown: older means its camera is off or it stalled.
const freshVideo = time.Second

// viewChooser picks what a video phone sees, as a meeting's speaker view
// would: a shared screen first, else the active speaker's camera, else
// the camera shown so far, else any camera.
type viewChooser struct {
	show func(*image.YCbCr)

	mu      sync.Mutex
	speaker string
	current videoKey
	seen    map[videoKey]time.Time // last picture of each track
}

type videoKey struct{ participant, source string }

func newViewChooser(show func(*image.YCbCr)) *viewChooser {
	return &viewChooser{show: show, seen: map[videoKey]time.Time{}}
}

func (v *viewChooser) setSpeaker(participant string) {
	v.mu.Lock()
	v.speaker = participant
	v.mu.Unlock()
}

// frame is the playback.FrameFunc of the bridge's video.
func (v *viewChooser) frame(participant, source string, picture image.Image) {
	yuv, ok := picture.(*image.YCbCr)
	if !ok || yuv.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		return
	}
	key, now := videoKey{participant, source}, time.Now()
	v.mu.Lock()
	v.seen[key] = now
	v.current = v.choose(now)
	shown := v.current == key
	v.mu.Unlock()
	if shown {
		v.show(yuv)
	}
}

// choose is the track to show now; under mu.
func (v *viewChooser) choose(now time.Time) videoKey {
	fresh := func(key videoKey) bool {
		at, ok := v.seen[key]
		return ok && now.Sub(at) < freshVideo
	}
	if v.current.source == protocol.Screen && fresh(v.current) {
		return v.current
	}
	var anyCamera videoKey
	for key := range v.seen {
		if key.source == protocol.Screen && fresh(key) {
			return key
		}
		if fresh(key) && (anyCamera == videoKey{} || key.participant < anyCamera.participant) {
			anyCamera = key
		}
	}
	if speaker := (videoKey{v.speaker, protocol.Camera}); fresh(speaker) {
		return speaker
	}
	if fresh(v.current) {
		return v.current
	}
	return anyCamera
}

// gone forgets a track that ended; the phone's screen goes dark if it was
// the one shown, until another track's next picture.
func (v *viewChooser) gone(participant, source string) {
	key := videoKey{participant, source}
	v.mu.Lock()
	delete(v.seen, key)
	wasShown := v.current == key
	if wasShown {
		v.current = videoKey{}
	}
	v.mu.Unlock()
	if wasShown {
		v.show(nil)
	}
}

// sink passes media to next and tells the chooser of tracks that end.
func (v *viewChooser) sink(next participant.Sink) participant.Sink {
	return chooserSink{Sink: next, chooser: v}
}

type chooserSink struct {
	participant.Sink
	chooser *viewChooser
}

func (s chooserSink) Gone(participant, source string) {
	s.Sink.Gone(participant, source)
	if source != protocol.Microphone {
		s.chooser.gone(participant, source)
	}
}
