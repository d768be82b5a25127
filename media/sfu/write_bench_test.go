package sfu

import (
	"log/slog"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// discardWriter stands for pion's track writer: it takes the packet and
// sends nothing.
type discardWriter struct{}

func (discardWriter) WriteRTP(header *rtp.Header, payload []byte) (int, error) {
	return header.MarshalSize() + len(payload), nil
}

func (discardWriter) Write(b []byte) (int, error) { return len(b), nil }

// BenchmarkForwardAndWrite is the SFU's own part of forwarding one audio
// packet (with its audio level) to one subscriber: the down track's
// decision and rewrite, the queue, and the write up to pion.
func BenchmarkForwardAndWrite(b *testing.B) {
	opus, _ := matchSupportedCodec(supportedCodecs()[0].RTPCodecCapability)
	counts := &counters{}
	pub := newPublication("alice", SourceMicrophone, "0", opus, false, nil, counts)
	s := &subscriber{log: slog.New(slog.DiscardHandler), queue: make(chan outboundPacket, 1), counts: counts, done: make(chan struct{})}
	dt := newDownTrack(s, pub)
	dt.forwarding = true
	dt.forwarder.setTarget(0)
	dt.binding.Store(&trackBinding{ssrc: 1234, payloadType: 111, audioLevelID: 1, writeStream: discardWriter{}})
	writer := &packetWriter{}
	packet := &rtp.Packet{Payload: make([]byte, 80)} // pion reads each into a packet of its own
	start := time.Now()
	b.ReportAllocs()
	for i := range b.N {
		packet.SequenceNumber, packet.Timestamp = uint16(i), uint32(i*960)
		in := inboundPacket{
			packet:        packet,
			input:         forwarderInput{sequence: uint16(i), timestamp: uint32(i * 960)},
			arrival:       start,
			audioLevel:    0x80 | 30,
			hasAudioLevel: true,
		}
		dt.forward(&in)
		writer.write(<-s.queue)
	}
}
