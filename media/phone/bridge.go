package phone

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley/media/capture"
	"github.com/parleyhq/parley/media/participant"
	"github.com/parleyhq/parley/media/playback"
	"github.com/parleyhq/parley/server/client"
	"github.com/parleyhq/parley/server/protocol"
)

// Bridge is a call in a conference: a participant whose microphone (and
// camera, for a video phone) is the phone and whose ear is the mix of
// everyone else; a video phone's screen shows the active speaker.
type Bridge struct {
	call        *Call
	participant atomic.Pointer[participant.Participant] // set once joined
	mix         *playback.Audio
	view        *playback.Video // nil for an audio call
}

// Join brings the call into conference cid through c (the gateway's client
// of the server's public protocol), as opts says (Phone, Name, PIN,
// OnEvent; media options are the bridge's). Like participant.Join it waits
// in the lobby until admitted or ctx ends.
func (c *Call) Join(ctx context.Context, gateway *client.Client, cid string, opts participant.Options) (*Bridge, error) {
	source, err := capture.NewPCMSource()
	if err != nil {
		return nil, fmt.Errorf("phone's encoder: %w", err)
	}
	ear := &callOutput{call: c}
	mix, err := playback.NewAudio(ear)
	if err != nil {
		_ = source.Close()
		return nil, err
	}
	b := &Bridge{call: c, mix: mix}
	opts.AudioSource, opts.Audio, opts.Video, opts.VideoLayers = source, true, false, nil
	// An audio phone has no camera: others see it off from the start; and
	// no screen: only audio is played.
	opts.Muted.Camera = true
	opts.Sink = playback.Sink(nil, mix)
	if video := c.video.Load(); video != nil {
		requestKeyframe := func(participant, source string) {
			if p := b.participant.Load(); p != nil {
				_ = p.RequestKeyframe(participant, source)
			}
		}
		setTile := func(participant string, width, height int) {
			if p := b.participant.Load(); p != nil {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = p.SetLayer(ctx, participant, width, height)
			}
		}
		chooser := newViewChooser(video, requestKeyframe, setTile)
		b.view = playback.NewVideo(chooser.frame)
		b.view.OnKeyframeNeeded(requestKeyframe)
		opts.Muted.Camera = false
		opts.VideoLayers = []participant.VideoSource{&phoneCamera{video: video, closed: make(chan struct{})}}
		opts.VideoH264 = conferenceH264(video.cfg.Constrained)
		opts.Sink = chooser.sink(playback.Sink(b.view, mix))
		caller := opts.OnEvent
		opts.OnEvent = func(event any) {
			if speaker, ok := event.(*protocol.Speaker); ok {
				chooser.setSpeaker(speaker.Participant)
			}
			if caller != nil {
				caller(event)
			}
		}
	}
	c.setMouth(source.Push)
	p, err := participant.Join(ctx, gateway, cid, opts)
	if err != nil {
		c.setMouth(nil)
		b.closePlayers()
		return nil, err // Join closed the sources
	}
	b.participant.Store(p)
	// The server sends nobody their own audio; should it ever, the caller
	// still must not hear an echo of their own voice.
	mix.Exclude(p.ID())
	return b, nil
}

// conferenceH264 is the fmtp line the phone's video is published with:
// packetization-mode 1 (a single-NAL stream is one too) and the phone's
// baseline profile, constrained or not, at the level the server offers
// browsers (they decode any level).
func conferenceH264(constrained bool) string {
	profile := "42e01f"
	if !constrained {
		profile = "42001f"
	}
	return "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + profile
}

// Participant is the call's participant in the conference.
func (b *Bridge) Participant() *participant.Participant { return b.participant.Load() }

// Leave takes the call out of the conference; the call goes on (for a
// prompt, or another conference).
func (b *Bridge) Leave() {
	b.participant.Load().Close()
	b.call.setMouth(nil)
	b.closePlayers()
}

func (b *Bridge) closePlayers() {
	_ = b.mix.Close()
	if b.view != nil {
		_ = b.view.Close()
		if video := b.call.video.Load(); video != nil {
			video.setRelay(nil)
			video.show(nil)
		}
	}
}

// callOutput is the playback.Output of a bridge: the call's 20 ms clock
// pulls the mix.
type callOutput struct{ call *Call }

func (o *callOutput) Name() string { return "telephone call" }

func (o *callOutput) Start(fill func([]int16)) error {
	o.call.setEar(fill)
	return nil
}

func (o *callOutput) Close() error {
	o.call.setEar(nil)
	return nil
}
