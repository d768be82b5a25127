package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// A probe is the server's end of a connection test (the web client's /test
// page): a peer connection with one data channel, made from the SFU's own
// webrtc.API so that the test reaches the very sockets media uses, and
// advertising only the candidates of one transport so that the test tells
// UDP from TCP.

// Probe limits. The endpoint that starts probes is public: they are few,
// short-lived and echo little.
const (
	maxProbes          = 20
	maxProbeEchoes     = 100  // messages echoed per probe
	maxProbeMessage    = 1024 // bytes; longer messages are not echoed
	probeGatherTimeout = 5 * time.Second
)

// ErrTooManyProbes is returned by Probe while maxProbes probes are running.
var ErrTooManyProbes = errors.New("sfu: too many connection tests are running; try again shortly")

// probeSlots bounds the probes of the whole process. There is one SFU at a
// time; one replaced by a restart keeps its probes' slots until they end.
var probeSlots = make(chan struct{}, maxProbes)

// Probe answers a connection test's offer: a data channel and nothing else,
// gathered completely (no trickle). transport is "udp" or "tcp": the answer
// carries only candidates of that transport, and only the offer's
// candidates of that transport are tried, so that the connection uses it
// or fails. The answer has no candidate at all when the SFU does not offer
// that transport (no ICE-TCP). The probe echoes what its data channels
// receive and closes when its peer closes or disconnects, and after timeout
// at the latest. Errors about the arguments wrap ErrInvalid.
func (s *SFU) Probe(offer, transport string, timeout time.Duration) (answer string, err error) {
	if transport != "udp" && transport != "tcp" {
		return "", fmt.Errorf("%w: transport %q: want udp or tcp", ErrInvalid, transport)
	}
	if err := checkProbeOffer(offer); err != nil {
		return "", err
	}
	select {
	case probeSlots <- struct{}{}:
	default:
		return "", ErrTooManyProbes
	}
	// The bandwidth estimator stays idle: a probe sends no media.
	pc, _, err := s.newPeerConnection()
	if err != nil {
		<-probeSlots
		return "", fmt.Errorf("connection test: %w", err)
	}
	p := &probe{pc: pc, ended: make(chan struct{})}
	// The SFU owns its probes: Close ends them and waits for them.
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = pc.Close()
		<-probeSlots
		return "", ErrClosed
	}
	s.probes[p] = struct{}{}
	s.probesRunning.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.probesRunning.Done()
		p.run(timeout, s.log.With("connection_test", transport))
		s.mu.Lock()
		delete(s.probes, p)
		s.mu.Unlock()
	}()

	pc.OnConnectionStateChange(func(state webrtc.PeerConnectionState) {
		switch state {
		case webrtc.PeerConnectionStateConnected:
			p.connected.Store(true)
		case webrtc.PeerConnectionStateDisconnected, webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			p.end()
		}
	})
	pc.OnDataChannel(p.echo)

	remote := webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: keepCandidates(offer, transport)}
	if err := pc.SetRemoteDescription(remote); err != nil {
		p.end()
		return "", fmt.Errorf("%w: connection test offer: %v", ErrInvalid, err)
	}
	local, err := pc.CreateAnswer(nil)
	if err != nil {
		p.end()
		return "", fmt.Errorf("%w: connection test answer: %v", ErrInvalid, err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(local); err != nil {
		p.end()
		return "", fmt.Errorf("connection test answer: %w", err)
	}
	gatherTimer := time.NewTimer(probeGatherTimeout)
	defer gatherTimer.Stop()
	select {
	case <-gathered:
	case <-gatherTimer.C:
		p.end()
		return "", fmt.Errorf("connection test: gathering candidates took more than %v", probeGatherTimeout)
	}
	return keepCandidates(pc.LocalDescription().SDP, transport), nil
}

// probe is one running connection test.
type probe struct {
	pc        *webrtc.PeerConnection
	ended     chan struct{} // closed by end
	endOnce   sync.Once
	echoes    atomic.Int32
	connected atomic.Bool
}

// end asks run to close the probe; pion's callbacks call it, so it must
// not block.
func (p *probe) end() {
	p.endOnce.Do(func() { close(p.ended) })
}

// run waits for the end or the timeout, then closes the connection and
// gives the slot back.
func (p *probe) run(timeout time.Duration, log *slog.Logger) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	reason := "closed"
	select {
	case <-p.ended:
	case <-timer.C:
		reason = "timed out"
	}
	if err := p.pc.Close(); err != nil {
		log.Debug("close connection test", "error", err)
	}
	<-probeSlots
	log.Debug("connection test ended", "reason", reason, "connected", p.connected.Load())
}

// echo sends back what a data channel receives, within the probe's limits.
func (p *probe) echo(channel *webrtc.DataChannel) {
	channel.OnMessage(func(message webrtc.DataChannelMessage) {
		if len(message.Data) > maxProbeMessage || p.echoes.Add(1) > maxProbeEchoes {
			return
		}
		if message.IsString {
			_ = channel.SendText(string(message.Data)) // a failed echo is what the test measures
		} else {
			_ = channel.Send(message.Data)
		}
	})
	channel.OnClose(p.end)
}

// checkProbeOffer accepts an offer of data channels only: a probe carries
// no media.
func checkProbeOffer(offer string) error {
	var parsed sdp.SessionDescription
	if err := parsed.UnmarshalString(offer); err != nil {
		return fmt.Errorf("%w: the connection test offer is not SDP: %v", ErrInvalid, err)
	}
	if len(parsed.MediaDescriptions) == 0 {
		return fmt.Errorf("%w: the connection test offer has no data channel", ErrInvalid)
	}
	for _, media := range parsed.MediaDescriptions {
		if media.MediaName.Media != "application" {
			return fmt.Errorf("%w: the connection test offer has %s; want a data channel only", ErrInvalid, media.MediaName.Media)
		}
	}
	return nil
}

// keepCandidates drops the a=candidate lines of a session description
// whose transport is not the one given.
func keepCandidates(description, transport string) string {
	lines := strings.SplitAfter(description, "\n")
	kept := lines[:0]
	for _, line := range lines {
		if value, isCandidate := strings.CutPrefix(line, "a=candidate:"); isCandidate {
			// foundation component transport priority address port typ type …
			fields := strings.Fields(value)
			if len(fields) < 3 || !strings.EqualFold(fields[2], transport) {
				continue
			}
		}
		kept = append(kept, line)
	}
	return strings.Join(kept, "")
}
