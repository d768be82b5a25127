package sfu

import (
	"log/slog"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// A subscriber whose writer is stuck fills its own queue and then loses
// packets; the fan-out never waits for it, and another subscriber of the
// same publication (with room in its queue) gets every packet.
func TestFullQueueDropsWithoutBlocking(t *testing.T) {
	opus, _ := matchSupportedCodec(supportedCodecs()[0].RTPCodecCapability)
	counts := &counters{}
	pub := newPublication("alice", SourceMicrophone, "0", opus, false, nil, counts)
	const packets = queueLength + 300
	newSubscriberOf := func(queue int) (*subscriber, *downTrack) {
		s := &subscriber{log: slog.New(slog.DiscardHandler), queue: make(chan outboundPacket, queue), counts: counts, done: make(chan struct{})}
		dt := newDownTrack(s, pub)
		dt.forwarding = true
		dt.forwarder.setTarget(0)
		pub.addDownTrack(dt)
		return s, dt
	}
	stuck, _ := newSubscriberOf(queueLength)
	reading, _ := newSubscriberOf(packets) // room for all: only the stuck one may drop
	start := time.Now()
	for i := range packets {
		in := inboundPacket{
			packet:  &rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(i), Timestamp: uint32(i * 960)}, Payload: []byte{1}},
			input:   forwarderInput{sequence: uint16(i), timestamp: uint32(i * 960)},
			arrival: start,
		}
		for _, dt := range *pub.downTracks.Load() {
			dt.forward(&in)
		}
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("fan-out of %d packets took %v", packets, elapsed)
	}
	if len(stuck.queue) != queueLength || stuck.dropped.Load() != packets-queueLength {
		t.Errorf("stuck subscriber: %d queued, %d dropped; want %d and %d",
			len(stuck.queue), stuck.dropped.Load(), queueLength, packets-queueLength)
	}
	if got := len(reading.queue); got != packets || reading.dropped.Load() != 0 {
		t.Errorf("other subscriber got %d packets, want all %d", got, packets)
	}
	if counts.dropped.Load() != packets-queueLength {
		t.Errorf("the SFU counts %d dropped, want %d", counts.dropped.Load(), packets-queueLength)
	}
}
