package phone

import (
	"image"
	"strings"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/parleyhq/parley/media/participant"
	"github.com/parleyhq/parley/server/protocol"
)

// freshVideo is how recent a track's last picture must be for it to be
// shown: older means its camera is off or it stalled.
const freshVideo = time.Second

// viewChooser picks what a video phone sees, as a meeting's speaker view
// would: a shared screen first, else the active speaker's camera, else
// the camera shown so far, else any camera. Another phone's H.264 that
// this phone can take is relayed as it is; anything else is encoded for
// it.
type viewChooser struct {
	video *videoStream
	// requestKeyframe asks a track's sender for a keyframe; setTile asks
	// the server for the simulcast layer of a camera that fits a size.
	requestKeyframe func(participant, source string)
	setTile         func(participant string, width, height int)

	mu       sync.Mutex
	speaker  string
	current  videoKey
	relaying videoKey                 // the track relayed, if any
	seen     map[videoKey]time.Time   // last picture of each track
	sizes    map[videoKey]image.Point // of that picture
	codecs   map[videoKey]string      // each track's, from its first packet
	tiles    map[string]image.Point   // the layer size asked for each camera
}

// hiddenTile is the size asked for cameras the phone does not show: the
// smallest layer, which is cheap to decode while waiting to be chosen.
var hiddenTile = image.Point{X: 160, Y: 90}

type videoKey struct{ participant, source string }

func newViewChooser(video *videoStream, requestKeyframe func(participant, source string), setTile func(participant string, width, height int)) *viewChooser {
	return &viewChooser{video: video, requestKeyframe: requestKeyframe, setTile: setTile,
		seen: map[videoKey]time.Time{}, sizes: map[videoKey]image.Point{}, codecs: map[videoKey]string{}, tiles: map[string]image.Point{}}
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
	v.seen[key], v.sizes[key] = now, yuv.Rect.Size()
	v.current = v.choose(now)
	shown := v.current == key
	relay := videoKey{}
	if size := v.sizes[v.current]; strings.EqualFold(v.codecs[v.current], webrtc.MimeTypeH264) && v.video.canRelay(size.X, size.Y) {
		relay = v.current
	}
	changed := relay != v.relaying
	v.relaying = relay
	tile, askTile := v.tileLocked(key)
	v.mu.Unlock()
	if changed {
		v.relayFrom(relay)
	}
	if askTile {
		go v.setTile(participant, tile.X, tile.Y) // a request to the server: not on the decoding goroutine
	}
	if shown {
		v.video.show(yuv)
	}
}

// tileLocked is the layer size a camera should come in: the phone's
// picture for the one shown, the smallest for the others; ask is true
// when that differs from what was asked before. Under mu.
func (v *viewChooser) tileLocked(key videoKey) (tile image.Point, ask bool) {
	if key.source != protocol.Camera {
		return image.Point{}, false
	}
	tile = hiddenTile
	if key == v.current {
		tile = image.Point{X: v.video.cfg.Quality.Width, Y: v.video.cfg.Quality.Height}
	}
	if v.tiles[key.participant] == tile {
		return tile, false
	}
	v.tiles[key.participant] = tile
	return tile, true
}

// relayFrom relays a track to the phone, or (the zero key) none.
func (v *viewChooser) relayFrom(key videoKey) {
	if key == (videoKey{}) {
		v.video.setRelay(nil)
		return
	}
	v.video.setRelay(func() { v.requestKeyframe(key.participant, key.source) })
}

// packet sees each packet of a remote video track before it is decoded.
func (v *viewChooser) packet(participant, source, codec string, packet *rtp.Packet) {
	key := videoKey{participant, source}
	v.mu.Lock()
	if _, known := v.codecs[key]; !known {
		v.codecs[key] = codec
	}
	relayed := v.relaying == key
	v.mu.Unlock()
	if relayed {
		v.video.relay(packet)
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
	delete(v.sizes, key)
	delete(v.codecs, key)
	if key.source == protocol.Camera {
		delete(v.tiles, key.participant)
	}
	wasShown, wasRelayed := v.current == key, v.relaying == key
	if wasShown {
		v.current = videoKey{}
	}
	if wasRelayed {
		v.relaying = videoKey{}
	}
	v.mu.Unlock()
	if wasRelayed {
		v.relayFrom(videoKey{})
	}
	if wasShown {
		v.video.show(nil)
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

func (s chooserSink) Video(participant, source, codec string, packet *rtp.Packet) {
	s.chooser.packet(participant, source, codec, packet) // before the player owns the packet
	s.Sink.Video(participant, source, codec, packet)
}

func (s chooserSink) Gone(participant, source string) {
	s.Sink.Gone(participant, source)
	if source != protocol.Microphone {
		s.chooser.gone(participant, source)
	}
}
