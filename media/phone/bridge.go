package phone

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/parleyhq/parley/media/capture"
	"github.com/parleyhq/parley/media/participant"
	"github.com/parleyhq/parley/media/playback"
	"github.com/parleyhq/parley/server/client"
)

// Bridge is a call in a conference: a participant whose microphone is the
// phone and whose ear is the mix of everyone else.
type Bridge struct {
	call        *Call
	participant atomic.Pointer[participant.Participant] // set once joined
	mix         *playback.Audio
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
	opts.Muted.Camera = true            // a phone here has no camera: others see it off from the start
	opts.Sink = playback.Sink(nil, mix) // audio only: a phone here has no screen
	c.setMouth(source.Push)
	p, err := participant.Join(ctx, gateway, cid, opts)
	if err != nil {
		c.setMouth(nil)
		_ = mix.Close()
		return nil, err // Join closed the source
	}
	b.participant.Store(p)
	// The server sends nobody their own audio; should it ever, the caller
	// still must not hear an echo of their own voice.
	mix.Exclude(p.ID())
	return b, nil
}

// Participant is the call's participant in the conference.
func (b *Bridge) Participant() *participant.Participant { return b.participant.Load() }

// Leave takes the call out of the conference; the call goes on (for a
// prompt, or another conference).
func (b *Bridge) Leave() {
	b.participant.Load().Close()
	b.call.setMouth(nil)
	_ = b.mix.Close()
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
