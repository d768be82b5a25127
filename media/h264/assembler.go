package h264

import (
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// Frame is one access unit in Annex B.
type Frame struct {
	Data      []byte
	Keyframe  bool   // it holds an IDR slice: a decoder can start here
	Timestamp uint32 // RTP, 90 kHz
	// AfterLoss: frames (or parts of them) before this one were lost, so
	// only a keyframe decodes correctly now.
	AfterLoss bool
}

// Assembler joins H.264 RTP packets (single NAL units, STAP-A, FU-A)
// into frames. A frame with a packet missing is dropped; the next
// complete one says AfterLoss.
type Assembler struct {
	depacketizer codecs.H264Packet
	frame        []byte
	timestamp    uint32
	started      bool // frame holds the start of the frame at timestamp
	broken       bool // a packet of this frame is missing
	lost         bool // something was lost since the last frame returned
	lastSequence uint16
	haveSequence bool
}

// Push adds a packet and returns the frame it completes, if any. Packets
// come in order; late and repeated ones are dropped.
func (a *Assembler) Push(packet *rtp.Packet) (Frame, bool) {
	gapped := false
	if a.haveSequence {
		gap := int16(packet.SequenceNumber - a.lastSequence)
		if gap <= 0 {
			return Frame{}, false
		}
		if gap > 1 {
			gapped, a.lost = true, true
			a.depacketizer = codecs.H264Packet{} // a fragment in progress is lost
		}
	}
	a.lastSequence, a.haveSequence = packet.SequenceNumber, true
	var frame Frame
	complete := false
	if a.started && packet.Timestamp != a.timestamp {
		// The last frame ended without a marker bit: it is complete
		// unless something of it was lost.
		a.broken = a.broken || gapped
		frame, complete = a.finish()
	}
	if !a.started {
		a.started, a.timestamp = true, packet.Timestamp
	}
	// What was lost may have been this frame's start as well as the last
	// one's end: there is no telling, so both are broken.
	a.broken = a.broken || gapped
	data, err := a.depacketizer.Unmarshal(packet.Payload)
	if err != nil {
		a.broken = true
	}
	a.frame = append(a.frame, data...)
	if packet.Marker {
		if complete {
			// Two frames end here: the newer one is returned, the older
			// dropped, which the newer one's AfterLoss says.
			a.lost = true
		}
		frame, complete = a.finish()
	}
	return frame, complete
}

// finish ends the frame in progress and returns it if nothing of it is
// missing.
func (a *Assembler) finish() (Frame, bool) {
	data, broken := a.frame, a.broken
	a.frame, a.started, a.broken = nil, false, false
	if broken || len(data) == 0 {
		a.lost = true
		return Frame{}, false
	}
	frame := Frame{Data: data, Keyframe: HasIDR(data), Timestamp: a.timestamp, AfterLoss: a.lost}
	a.lost = false
	return frame, true
}

// HasIDR reports whether an Annex B access unit holds an IDR slice (NAL
// unit type 5): a frame a decoder can start from.
func HasIDR(data []byte) bool {
	zeros := 0
	for i, b := range data {
		if b == 1 && zeros >= 2 && i+1 < len(data) && data[i+1]&0x1f == 5 {
			return true
		}
		if b == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return false
}

// StartsKeyframe reports whether an H.264 RTP payload begins a frame a
// decoder can start from: parameter sets (alone or leading a STAP-A) or
// the first piece of an IDR slice.
func StartsKeyframe(payload []byte) bool {
	if len(payload) < 2 {
		return false
	}
	const idr, sps, stapA, fuA = 5, 7, 24, 28
	switch payload[0] & 0x1f {
	case idr, sps:
		return true
	case stapA:
		// After the STAP-A header, the first unit's two-byte size.
		return len(payload) > 3 && (payload[3]&0x1f == sps || payload[3]&0x1f == idr)
	case fuA:
		return payload[1]&0x80 != 0 && payload[1]&0x1f == idr
	}
	return false
}
