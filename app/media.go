package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pion/webrtc/v4"

	"github.com/parleyhq/parley/app/supervisor"
	"github.com/parleyhq/parley/media/sfu"
	"github.com/parleyhq/parley/server/conference"
	"github.com/parleyhq/parley/server/protocol"
	"github.com/parleyhq/parley/server/settings"
)

// mediaService runs the SFU as the "media" subsystem and adapts it to what
// conferences consume (conference.Media). A restart makes a new SFU; rooms
// that were running end, as their media is gone. So does a change of the
// media network (settings, or the web subsystem's port, which media
// shares).
type mediaService struct {
	config   sfu.Config // the parts that do not depend on the network
	settings func() settings.Settings
	listen   func() string   // the listen address in use
	webAddr  func() net.Addr // the HTTPS listener's, nil while down
	iceTCP   *iceTCPHub

	// networkChanged wakes Serve to compare the network with the one the
	// SFU was made for.
	networkChanged chan struct{}

	mu      sync.Mutex
	current *sfu.SFU
	// ports are the UDP ports the current SFU receives on, for the TURN
	// server, which asks for every relayed packet.
	ports atomic.Pointer[[2]int]
}

func newMediaService(config sfu.Config, current func() settings.Settings, listen func() string, webAddr func() net.Addr) *mediaService {
	return &mediaService{config: config, settings: current, listen: listen, webAddr: webAddr,
		iceTCP: &iceTCPHub{}, networkChanged: make(chan struct{}, 1)}
}

var errMediaDown = errors.New("the media subsystem is not running")

func (m *mediaService) Name() string { return "media" }

// checkNetwork asks Serve to make the SFU again if its network changed.
func (m *mediaService) checkNetwork() {
	select {
	case m.networkChanged <- struct{}{}:
	default:
	}
}

func (m *mediaService) Serve(ctx context.Context, st *supervisor.Status) error {
	for {
		plan, notes := m.plan(ctx)
		engine, more, err := m.open(ctx, plan)
		if err != nil {
			return err
		}
		notes = append(notes, more...)
		m.mu.Lock()
		m.current = engine
		m.mu.Unlock()
		if len(notes) > 0 {
			st.Degraded(strings.Join(notes, "; "))
		} else {
			st.Ready(plan.describe())
		}
		same := true
		for same {
			select {
			case <-ctx.Done():
				same = false
			case <-m.networkChanged:
				next, _ := m.plan(ctx)
				same = next.equal(plan)
			}
		}
		m.mu.Lock()
		m.current = nil
		m.mu.Unlock()
		if err := engine.Close(); err != nil || ctx.Err() != nil {
			return err
		}
	}
}

func (m *mediaService) plan(ctx context.Context) (mediaNetwork, []string) {
	port := 0
	if addr, ok := m.webAddr().(*net.TCPAddr); ok {
		port = addr.Port
	}
	return planNetwork(ctx, m.settings(), m.listen(), port)
}

// open makes an SFU on a network, with notes on what could not be had.
func (m *mediaService) open(ctx context.Context, plan mediaNetwork) (*sfu.SFU, []string, error) {
	m.ports.Store(nil) // any free port, unless one of the cases below
	config := m.config
	config.ExternalAddresses = plan.external
	var notes []string
	switch {
	case plan.udpRange != [2]uint16{}:
		config.UDPPortMin, config.UDPPortMax = plan.udpRange[0], plan.udpRange[1]
		m.ports.Store(&[2]int{int(plan.udpRange[0]), int(plan.udpRange[1])})
	case plan.onePort != 0:
		udp, err := bindUDP(plan.listen, plan.onePort)
		if err != nil {
			notes = append(notes, err.Error()+": media uses any free UDP port")
			break
		}
		config.UDP = udp
		m.ports.Store(&[2]int{plan.onePort, plan.onePort})
	default:
		notes = append(notes, "waiting for the web port: media uses any free UDP port")
	}
	if config.UDP != nil && plan.stun != "" {
		if public, err := publicAddress(ctx, config.UDP, plan.stun); err != nil {
			notes = append(notes, "public address unknown: "+err.Error())
		} else if !slices.Contains(config.ExternalAddresses, public) {
			config.ExternalAddresses = append(slices.Clone(config.ExternalAddresses), public)
		}
	}
	if addr := m.webAddr(); addr != nil && plan.onePort != 0 {
		config.TCP = m.iceTCP.listener(addr)
	}
	engine, err := sfu.New(config)
	return engine, notes, err
}

// describe says where media goes, for the status.
func (n mediaNetwork) describe() string {
	var parts []string
	switch {
	case n.udpRange != [2]uint16{}:
		parts = append(parts, fmt.Sprintf("UDP ports %d-%d", n.udpRange[0], n.udpRange[1]))
	case n.onePort != 0:
		parts = append(parts, fmt.Sprintf("UDP port %d", n.onePort))
	}
	if n.onePort != 0 {
		parts = append(parts, fmt.Sprintf("ICE-TCP on port %d", n.onePort))
	}
	for _, addr := range n.external {
		parts = append(parts, "external address "+addr.String())
	}
	return strings.Join(parts, ", ")
}

func (m *mediaService) sfu() *sfu.SFU {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.current
}

// counters are the SFU's, zero while it is down.
func (m *mediaService) counters() sfu.Counters {
	if engine := m.sfu(); engine != nil {
		return engine.Counters()
	}
	return sfu.Counters{}
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
