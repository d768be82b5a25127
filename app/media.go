package app

import (
	"context"
	"errors"
	"sync"

	"github.com/pion/webrtc/v4"

	"github.com/parleyhq/parley/app/supervisor"
	"github.com/parleyhq/parley/media/sfu"
	"github.com/parleyhq/parley/server/conference"
	"github.com/parleyhq/parley/server/protocol"
)

// mediaService runs the SFU as the "media" subsystem and adapts it to what
// conferences consume (conference.Media). A restart makes a new SFU; rooms
// that were running end, as their media is gone.
type mediaService struct {
	config sfu.Config

	mu      sync.Mutex
	current *sfu.SFU
}

var errMediaDown = errors.New("the media subsystem is not running")

func (m *mediaService) Name() string { return "media" }

func (m *mediaService) Serve(ctx context.Context, st *supervisor.Status) error {
	engine, err := sfu.New(m.config)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.current = engine
	m.mu.Unlock()
	st.Ready("")
	<-ctx.Done()
	m.mu.Lock()
	m.current = nil
	m.mu.Unlock()
	return engine.Close()
}

func (m *mediaService) sfu() *sfu.SFU {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.current
}

// traffic is the SFU's byte counts, zero while it is down.
func (m *mediaService) traffic() (in, out uint64) {
	if engine := m.sfu(); engine != nil {
		return engine.Traffic()
	}
	return 0, 0
}

// Join adds a participant to the media room of a conference.
func (m *mediaService) Join(room, participant string, events conference.MediaEvents) (conference.MediaPeer, error) {
	engine := m.sfu()
	if engine == nil {
		return nil, errMediaDown
	}
	p, err := engine.Room(room).Join(participant, signaller{events})
	if err != nil {
		return nil, err
	}
	return peer{p}, nil
}

// OnSpeaker reports the loudest participant of a room.
func (m *mediaService) OnSpeaker(room string, fn func(string)) {
	if engine := m.sfu(); engine != nil {
		engine.Room(room).OnSpeaker(fn)
	}
}

// CloseRoom ends a media room.
func (m *mediaService) CloseRoom(room string) {
	if engine := m.sfu(); engine != nil {
		engine.Room(room).Close()
	}
}

// signaller carries SFU callbacks to a participant in protocol terms.
type signaller struct{ events conference.MediaEvents }

func (s signaller) SubscribeOffer(sdp string, tracks []sfu.RemoteTrack) {
	list := make([]protocol.RemoteTrack, len(tracks))
	for i, t := range tracks {
		list[i] = protocol.RemoteTrack{Mid: t.Mid, Participant: t.Participant, Source: string(t.Source), Kind: t.Kind, Track: t.Track}
	}
	s.events.SubscribeOffer(sdp, list)
}

func (s signaller) Candidate(target sfu.Target, c *webrtc.ICECandidateInit) {
	s.events.Candidate(string(target), c)
}

func (s signaller) ConnectionState(sfu.Target, webrtc.PeerConnectionState) {}

// peer adapts an SFU participant to conference.MediaPeer.
type peer struct{ p *sfu.Participant }

func (p peer) Publish(offer string, tracks []protocol.TrackInfo) (string, error) {
	list := make([]sfu.TrackInfo, len(tracks))
	for i, t := range tracks {
		list[i] = sfu.TrackInfo{Mid: t.Mid, Source: sfu.Source(t.Source)}
	}
	return p.p.Publish(offer, list)
}

func (p peer) SubscribeAnswer(answer string) error { return p.p.SubscribeAnswer(answer) }

func (p peer) AddCandidate(target string, c webrtc.ICECandidateInit) error {
	return p.p.AddCandidate(sfu.Target(target), c)
}

func (p peer) RestartICE() { p.p.RestartICE() }

func (p peer) SetLayer(track string, width, height int, paused bool) {
	p.p.SetLayer(track, width, height, paused)
}

func (p peer) Block(source string, blocked bool) { p.p.Block(sfu.Source(source), blocked) }

func (p peer) Quality() int { return p.p.Quality() }

func (p peer) Leave() { p.p.Leave() }
