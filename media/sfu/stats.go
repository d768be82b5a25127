package sfu

import (
	"sync"
	"time"
)

const (
	statsInterval = time.Second     // how often loss, jitter and bitrate are rolled up
	layerIdleTime = 2 * time.Second // a layer without packets for this long is not being sent
)

// receptionStats follows one incoming RTP stream the way an RTCP receiver
// report does (RFC 3550 appendix A): packets expected and received, loss
// per interval and interarrival jitter; and its bitrate, for layer choice.
type receptionStats struct {
	clockRate float64

	mu            sync.Mutex
	started       bool
	cycles        uint32 // sequence number wrap-arounds, shifted left by 16
	highest       uint16
	received      uint64
	base          uint32
	reference     time.Time // arrival times are measured from here
	haveArrival   bool
	lastArrival   float64 // in timestamp units since reference
	lastTimestamp uint32
	jitter        float64 // in timestamp units
	lastPacketAt  time.Time

	intervalStart    time.Time
	intervalExpected uint64
	intervalReceived uint64
	intervalBytes    int
	lossFraction     float64 // lost share of the last interval
	bitrate          float64 // bits per second over the last interval
}

func newReceptionStats(clockRate uint32) *receptionStats {
	return &receptionStats{clockRate: float64(max(clockRate, 1))}
}

// observe records a packet that arrived at now.
func (s *receptionStats) observe(sequence uint16, timestamp uint32, size int, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		s.started = true
		s.highest = sequence
		s.base = uint32(sequence)
		s.reference = now
		s.intervalStart = now
	}
	s.received++
	s.intervalBytes += size
	s.lastPacketAt = now
	if delta := sequence - s.highest; delta != 0 && delta < 0x8000 {
		if sequence < s.highest {
			s.cycles += 1 << 16
		}
		s.highest = sequence
		// Jitter from in-order packets only; retransmissions arrive late on purpose.
		arrival := now.Sub(s.reference).Seconds() * s.clockRate
		if s.haveArrival {
			d := (arrival - s.lastArrival) - float64(int32(timestamp-s.lastTimestamp))
			if d < 0 {
				d = -d
			}
			s.jitter += (d - s.jitter) / 16
		}
		s.haveArrival, s.lastArrival, s.lastTimestamp = true, arrival, timestamp
	}
	if elapsed := now.Sub(s.intervalStart); elapsed >= statsInterval {
		expected := uint64(s.cycles|uint32(s.highest)) - uint64(s.base) + 1
		expectedInterval := expected - s.intervalExpected
		receivedInterval := s.received - s.intervalReceived
		s.lossFraction = 0
		if expectedInterval > receivedInterval && expectedInterval > 0 {
			s.lossFraction = float64(expectedInterval-receivedInterval) / float64(expectedInterval)
		}
		s.bitrate = float64(s.intervalBytes*8) / elapsed.Seconds()
		s.intervalExpected, s.intervalReceived, s.intervalBytes = expected, s.received, 0
		s.intervalStart = now
	}
}

// active reports whether the stream had packets recently.
func (s *receptionStats) active(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started && now.Sub(s.lastPacketAt) < layerIdleTime
}

// currentBitrate is the bitrate of the last complete interval, in bits per second.
func (s *receptionStats) currentBitrate() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bitrate
}

// lossAndJitter returns the loss fraction of the last interval and the
// jitter in milliseconds.
func (s *receptionStats) lossAndJitter() (loss float64, jitterMs float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lossFraction, s.jitter / s.clockRate * 1000
}

// qualityScore maps uplink loss and jitter to 1 (bad) … 5 (excellent).
func qualityScore(loss, jitterMs float64) int {
	switch {
	case loss < 0.01 && jitterMs < 30:
		return 5
	case loss < 0.03 && jitterMs < 50:
		return 4
	case loss < 0.08 && jitterMs < 100:
		return 3
	case loss < 0.15 && jitterMs < 200:
		return 2
	default:
		return 1
	}
}
