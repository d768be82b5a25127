package bench

import (
	"context"
	"encoding/binary"
	"sync"
	"time"

	"github.com/pion/rtp"

	"github.com/parleyhq/parley/media/participant"
	"github.com/parleyhq/parley/media/synth"
)

// tagMagic starts the tag at the end of every frame and audio packet the
// benchmark sends: the send time, which the receiving participant (in the
// same process, on the same clock) turns into the end-to-end delay.
var tagMagic = [4]byte{'P', 'L', 'Y', 'B'}

const tagSize = len(tagMagic) + 8

// tag appends the tag with the time now to payload.
func tag(payload []byte, now time.Time) []byte {
	payload = append(payload, tagMagic[:]...)
	return binary.BigEndian.AppendUint64(payload, uint64(now.UnixNano()))
}

// sentAt reads the tag at the end of a packet's payload.
func sentAt(payload []byte) (time.Time, bool) {
	if len(payload) < tagSize || [4]byte(payload[len(payload)-tagSize:]) != tagMagic {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(payload[len(payload)-8:]))), true
}

// videoLayer is one simulcast layer at a set bitrate: media/synth's VP8
// picture, padded to the frame size the bitrate asks for, a keyframe
// every keyframeEvery (and when asked), each frame tagged. Receivers
// count and time the packets; nothing decodes them.
type videoLayer struct {
	participant.Pacer
	video         *synth.Video
	frameBytes    int
	keyframeEvery int // frames
	frames        int
}

func newVideoLayer(width, height, fps, kbps int, keyframeInterval time.Duration) *videoLayer {
	return &videoLayer{
		Pacer: participant.NewPacer(time.Second / time.Duration(fps)), video: synth.NewVideo(width, height, fps),
		frameBytes:    kbps * 1000 / 8 / fps,
		keyframeEvery: max(int(keyframeInterval.Seconds()*float64(fps)), 1),
	}
}

func (l *videoLayer) NextFrame(ctx context.Context) ([]byte, bool, time.Duration, error) {
	if err := l.Wait(ctx); err != nil {
		return nil, false, 0, err
	}
	if l.frames%l.keyframeEvery == 0 {
		l.video.RequestKeyframe()
	}
	l.frames++
	frame, keyframe, duration := l.video.Next()
	if pad := l.frameBytes - len(frame) - tagSize; pad > 0 {
		frame = append(frame, make([]byte, pad)...)
	}
	return tag(frame, time.Now()), keyframe, duration, nil
}

func (l *videoLayer) RequestKeyframe() { l.video.RequestKeyframe() }

// audioSource sends 20 ms Opus packets, tagged, at a level that reads as
// speech for one speaker and silence for the others.
type audioSource struct {
	participant.Pacer
	audio    *synth.Audio
	speaking bool
}

func newAudioSource(speaking bool) *audioSource {
	audio := synth.NewAudio()
	audio.SetSpeaking(speaking)
	return &audioSource{Pacer: participant.NewPacer(20 * time.Millisecond), audio: audio, speaking: speaking}
}

func (a *audioSource) NextPacket(ctx context.Context) ([]byte, time.Duration, uint8, bool, error) {
	if err := a.Wait(ctx); err != nil {
		return nil, 0, 0, false, err
	}
	packet, duration := a.audio.Next()
	return tag(append([]byte(nil), packet...), time.Now()), duration, a.audio.Level(), a.speaking, nil
}

// receiver is one participant's sink: it counts what arrives per remote
// track, finds losses from the sequence numbers, and records delays.
type receiver struct {
	joinStarted time.Time
	onNewRemote func(participant string) // once per remote participant with video

	mu          sync.Mutex
	tracks      map[string]*trackCount // "<participant>/<source>"
	firstFrame  time.Time              // of any remote participant
	measuring   bool
	videoDelays []time.Duration
	audioDelays []time.Duration
}

// trackCount follows one remote track's sequence numbers.
type trackCount struct {
	started      bool
	highest      uint32 // extended with wrap-arounds
	first        uint32
	received     uint64
	baseExpected uint64 // at the start of the measured phase
	baseReceived uint64
}

func (t *trackCount) observe(sequence uint16) {
	t.received++
	if !t.started {
		t.started, t.highest, t.first = true, uint32(sequence), uint32(sequence)
		return
	}
	delta := sequence - uint16(t.highest)
	if delta != 0 && delta < 0x8000 {
		t.highest += uint32(delta)
	}
}

func (t *trackCount) expected() uint64 {
	if !t.started {
		return 0
	}
	return uint64(t.highest-t.first) + 1
}

func newReceiver(joinStarted time.Time, onNewRemote func(string)) *receiver {
	return &receiver{joinStarted: joinStarted, onNewRemote: onNewRemote, tracks: map[string]*trackCount{}}
}

func (r *receiver) Video(from, source, _ string, packet *rtp.Packet) {
	r.packet(from, source, packet, true)
}

func (r *receiver) Audio(from string, packet *rtp.Packet) {
	r.packet(from, "microphone", packet, false)
}

func (r *receiver) Gone(string, string) {}

func (r *receiver) packet(from, source string, packet *rtp.Packet, video bool) {
	now := time.Now()
	sent, tagged := time.Time{}, false
	if !video || packet.Marker { // a frame's tag is in its last packet
		sent, tagged = sentAt(packet.Payload)
	}
	key := from + "/" + source
	r.mu.Lock()
	track := r.tracks[key]
	isNew := track == nil
	if isNew {
		track = &trackCount{}
		r.tracks[key] = track
	}
	track.observe(packet.SequenceNumber)
	if tagged && video && r.firstFrame.IsZero() {
		r.firstFrame = now
	}
	if tagged && r.measuring {
		if video {
			r.videoDelays = append(r.videoDelays, now.Sub(sent))
		} else {
			r.audioDelays = append(r.audioDelays, now.Sub(sent))
		}
	}
	r.mu.Unlock()
	if isNew && video && r.onNewRemote != nil {
		go r.onNewRemote(from)
	}
}

// joinTime is from the start of the join to the first remote frame;
// false while none came.
func (r *receiver) joinTime() (time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.firstFrame.IsZero() {
		return 0, false
	}
	return r.firstFrame.Sub(r.joinStarted), true
}

// startMeasuring begins the measured phase: delays count from now on,
// and losses from here.
func (r *receiver) startMeasuring() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.measuring = true
	for _, track := range r.tracks {
		track.baseExpected, track.baseReceived = track.expected(), track.received
	}
}

// measured is what arrived in the measured phase: packets expected and
// received over every remote track, and the delays.
func (r *receiver) measured() (expected, received uint64, video, audio []time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, track := range r.tracks {
		expected += track.expected() - track.baseExpected
		received += track.received - track.baseReceived
	}
	return expected, received, append([]time.Duration(nil), r.videoDelays...), append([]time.Duration(nil), r.audioDelays...)
}
