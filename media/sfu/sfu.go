package sfu

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/webrtc/v4"

	"github.com/parleyhq/parley/media/pionlog"
)

// ErrClosed is returned by operations on an SFU, room or participant that
// has been closed or has left.
var ErrClosed = errors.New("sfu: closed")

// Config configures an SFU.
type Config struct {
	// IncludeLoopback offers loopback ICE candidates as well as the host
	// addresses (tests, single-machine use).
	IncludeLoopback bool
	// UDP is the one socket all ICE/UDP media shares (one-port mode); the
	// SFU owns it from New on. Without it, each connection takes a port in
	// UDPPortMin..UDPPortMax, or any port when those are zero.
	UDP                    net.PacketConn
	UDPPortMin, UDPPortMax uint16
	// TCP delivers ICE-TCP connections (RFC 6544, passive candidates) that
	// another listener accepted; its Addr is the port advertised. The SFU
	// owns it from New on. Nil means no ICE-TCP.
	TCP net.Listener
	// ExternalAddresses are public IP addresses that reach this machine
	// (1:1 NAT, port forwarding): advertised as server-reflexive candidates
	// beside the host ones, which the LAN keeps using.
	ExternalAddresses []netip.Addr
	// Logger receives the SFU's and pion's messages; nil means slog.Default().
	Logger *slog.Logger
}

// SFU holds the rooms of one server and the webrtc.API their peer
// connections are made from.
type SFU struct {
	api *webrtc.API
	log *slog.Logger
	// muxes are the shared media sockets, closed with the SFU.
	muxes []io.Closer

	// counts is what the SFU has done since it started (Counters).
	counts counters

	// newConnectionMu serialises NewPeerConnection so that the bandwidth
	// estimator the congestion controller reports during the call can be
	// attributed to the connection being made.
	newConnectionMu  sync.Mutex
	createdEstimator cc.BandwidthEstimator

	mu     sync.Mutex
	rooms  map[string]*Room
	closed bool
	// probes are the running connection tests (Probe).
	probes        map[*probe]struct{}
	probesRunning sync.WaitGroup
}

// New creates an SFU.
func New(cfg Config) (*SFU, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	s := &SFU{log: logger.With("component", "sfu"), rooms: map[string]*Room{}, probes: map[*probe]struct{}{}}
	api, muxes, err := newAPI(cfg, pionlog.Factory{Logger: s.log, ErrorLevel: slog.LevelError}, func(_ string, estimator cc.BandwidthEstimator) {
		s.createdEstimator = estimator // newConnectionMu is held by newPeerConnection
	})
	if err != nil {
		closeAll(muxes)
		if cfg.UDP != nil {
			cfg.UDP.Close()
		}
		if cfg.TCP != nil {
			cfg.TCP.Close()
		}
		return nil, fmt.Errorf("sfu: %w", err)
	}
	s.api, s.muxes = api, muxes
	return s, nil
}

// newPeerConnection creates a peer connection and returns it with its
// bandwidth estimator.
func (s *SFU) newPeerConnection() (*webrtc.PeerConnection, cc.BandwidthEstimator, error) {
	s.newConnectionMu.Lock()
	defer s.newConnectionMu.Unlock()
	s.createdEstimator = nil
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{
		BundlePolicy:  webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("new peer connection: %w", err)
	}
	estimator := s.createdEstimator
	s.createdEstimator = nil
	return pc, estimator, nil
}

// Room returns the room with this id, creating it if needed. A room stays
// until Room.Close or SFU.Close, even while nobody is in it, so that what
// was set on it (OnSpeaker) survives participants coming and going.
func (s *SFU) Room(id string) *Room {
	s.mu.Lock()
	defer s.mu.Unlock()
	if room, ok := s.rooms[id]; ok {
		return room
	}
	room := newRoom(s, id)
	if s.closed {
		room.closed = true // every Join on it fails
		return room
	}
	s.rooms[id] = room
	return room
}

// forgetRoom removes a closed room, unless the id already names a newer one.
func (s *SFU) forgetRoom(room *Room) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rooms[room.id] == room {
		delete(s.rooms, room.id)
	}
}

// Close closes every room. Rooms asked for afterwards are closed already.
func (s *SFU) Close() error {
	s.mu.Lock()
	s.closed = true
	rooms := make([]*Room, 0, len(s.rooms))
	for _, room := range s.rooms {
		rooms = append(rooms, room)
	}
	for p := range s.probes {
		p.end()
	}
	s.mu.Unlock()
	s.probesRunning.Wait()

	var wg sync.WaitGroup
	for _, room := range rooms {
		wg.Go(room.Close)
	}
	wg.Wait()
	return closeAll(s.muxes)
}

func closeAll(closers []io.Closer) error {
	var err error
	for _, c := range closers {
		err = errors.Join(err, c.Close())
	}
	return err
}

// Counters are totals since the SFU started: the dashboard's bandwidth
// chart and the server's metrics read them.
type Counters struct {
	PacketsIn, BytesIn   uint64 // RTP received from publishers
	PacketsOut, BytesOut uint64 // RTP sent to subscribers
	// Dropped are packets for a subscriber whose queue was full: one that
	// does not keep up loses packets rather than slowing the others.
	Dropped uint64
	NACKs   uint64 // NACK packets subscribers sent, asking for retransmissions
	// KeyframeRequests are the picture loss indications sent to
	// publishers (for new subscribers, layer switches and losses).
	KeyframeRequests uint64
}

type counters struct {
	packetsIn, bytesIn, packetsOut, bytesOut, dropped, nacks, keyframeRequests atomic.Uint64
}

// Counters returns the totals since the SFU started.
func (s *SFU) Counters() Counters {
	c := &s.counts
	return Counters{
		PacketsIn: c.packetsIn.Load(), BytesIn: c.bytesIn.Load(),
		PacketsOut: c.packetsOut.Load(), BytesOut: c.bytesOut.Load(),
		Dropped: c.dropped.Load(), NACKs: c.nacks.Load(), KeyframeRequests: c.keyframeRequests.Load(),
	}
}
