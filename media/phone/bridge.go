package phone

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/pion/rtp"

	"github.com/parleyhq/parley/media/capture"
	"github.com/parleyhq/parley/media/participant"
	"github.com/parleyhq/parley/media/playback"
	"github.com/parleyhq/parley/server/client"
	"github.com/parleyhq/parley/server/protocol"
)

// Bridge is a call in a conference: a participant whose microphone is the
// phone and whose ear is the mix of everyone else.
type Bridge struct {
	call        *Call
	participant atomic.Pointer[participant.Participant]
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
	opts.Sink = ownVoiceFilter{playback.Sink(nil, mix), b}
	c.setMouth(source.Push)
	p, err := participant.Join(ctx, gateway, cid, opts)
	if err != nil {
		c.setMouth(nil)
		_ = mix.Close()
		return nil, err // Join closed the source
	}
	b.participant.Store(p)
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

// ownVoiceFilter keeps the caller's own audio out of what the caller
// hears, should it ever come back.
type ownVoiceFilter struct {
	participant.Sink
	bridge *Bridge
}

func (f ownVoiceFilter) Audio(participant string, packet *rtp.Packet) {
	if p := f.bridge.participant.Load(); p != nil && p.ID() == participant {
		return
	}
	f.Sink.Audio(participant, packet)
}

func (f ownVoiceFilter) Video(string, string, *rtp.Packet) {} // a phone here has no screen

func (f ownVoiceFilter) Gone(participant, source string) {
	if source == protocol.Microphone {
		f.Sink.Gone(participant, source)
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
