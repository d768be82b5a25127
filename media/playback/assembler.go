package playback

import (
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// Limits of how long the assembler waits for a missing packet, which
// pion's NACK interceptor asks to have sent again. Past them the packet
// counts as lost and the decoder needs a keyframe.
const (
	maxWaitingPackets = 1024      // packets held back behind a gap
	maxWaitTicks      = 90000 / 4 // 250 ms at VP8's 90 kHz clock
)

// vp8Assembler joins the RTP packets of one VP8 stream (RFC 7741) into
// whole frames, in order. Unlike pion's samplebuilder it hands a frame out
// as soon as its last packet (the marker) is there, instead of waiting for
// the first packet of the next one.
type vp8Assembler struct {
	waiting map[uint16]*rtp.Packet // by sequence number, all at or after next
	next    uint16                 // first sequence number of the next frame
	started bool                   // next is known
	lost    bool                   // packets were given up on since the last frame
}

func newVP8Assembler() *vp8Assembler {
	return &vp8Assembler{waiting: map[uint16]*rtp.Packet{}}
}

// assembledFrame is a whole VP8 frame and whether packets were lost before it.
type assembledFrame struct {
	data      []byte
	timestamp uint32
	afterLoss bool
}

// push adds a packet and returns the frames it completes.
func (a *vp8Assembler) push(packet *rtp.Packet) []assembledFrame {
	if a.started && seqBefore(packet.SequenceNumber, a.next) {
		return nil // late: its frame was given up on, or a duplicate
	}
	a.waiting[packet.SequenceNumber] = packet
	if !a.started {
		if !isFrameStart(packet.Payload) {
			if len(a.waiting) > maxWaitingPackets {
				clear(a.waiting) // no frame starts at all
			}
			return nil
		}
		a.next, a.started = packet.SequenceNumber, true
		for seq := range a.waiting {
			if seqBefore(seq, a.next) {
				delete(a.waiting, seq) // the rest of a frame whose start is lost
				a.lost = true
			}
		}
	}
	var frames []assembledFrame
	for {
		frame, progress := a.take()
		if frame.data != nil {
			frames = append(frames, frame)
		}
		if progress {
			continue
		}
		if !a.overdue() || !a.skipToNextFrame() {
			return frames
		}
	}
}

// take removes the frame at next if all of it has arrived. progress says
// whether it removed anything, frame or not.
func (a *vp8Assembler) take() (frame assembledFrame, progress bool) {
	first, ok := a.waiting[a.next]
	if !ok {
		return assembledFrame{}, false
	}
	if len(first.Payload) == 0 {
		// Padding between frames, as bandwidth probes send.
		delete(a.waiting, a.next)
		a.next++
		return assembledFrame{}, true
	}
	if !isFrameStart(first.Payload) {
		// The start of this frame is lost.
		return assembledFrame{}, a.skipToNextFrame()
	}
	end := a.next
	for {
		packet, ok := a.waiting[end]
		if !ok || packet.Timestamp != first.Timestamp {
			return assembledFrame{}, false
		}
		if packet.Marker {
			break
		}
		end++
	}
	var data []byte
	var depacketizer codecs.VP8Packet
	broken := false
	for seq := a.next; ; seq++ {
		payload, err := depacketizer.Unmarshal(a.waiting[seq].Payload)
		if err != nil {
			broken = true
		}
		data = append(data, payload...)
		delete(a.waiting, seq)
		if seq == end {
			break
		}
	}
	a.next = end + 1
	if broken || len(data) == 0 {
		a.lost = true
		return assembledFrame{}, true
	}
	frame = assembledFrame{data: data, timestamp: first.Timestamp, afterLoss: a.lost}
	a.lost = false
	return frame, true
}

// overdue says the packets at next are too long missing to wait on.
func (a *vp8Assembler) overdue() bool {
	if len(a.waiting) > maxWaitingPackets {
		return true
	}
	oldest, newest, found := uint32(0), uint32(0), false
	for _, packet := range a.waiting {
		if !found {
			oldest, newest, found = packet.Timestamp, packet.Timestamp, true
			continue
		}
		if int32(packet.Timestamp-oldest) < 0 {
			oldest = packet.Timestamp
		}
		if int32(packet.Timestamp-newest) > 0 {
			newest = packet.Timestamp
		}
	}
	return found && newest-oldest > maxWaitTicks
}

// skipToNextFrame drops the incomplete frame at next and moves on to the
// earliest waiting frame start after it; false if there is none yet.
func (a *vp8Assembler) skipToNextFrame() bool {
	a.lost = true
	start, found := uint16(0), false
	for seq, packet := range a.waiting {
		if seq == a.next || !isFrameStart(packet.Payload) {
			continue
		}
		if !found || seqBefore(seq, start) {
			start, found = seq, true
		}
	}
	for seq := range a.waiting {
		if !found || seqBefore(seq, start) {
			delete(a.waiting, seq)
		}
	}
	if !found {
		a.started = false
		return false
	}
	a.next = start
	return true
}

// isFrameStart says an RTP payload begins a VP8 frame: the S bit set on
// partition 0 (RFC 7741 section 4.2).
func isFrameStart(payload []byte) bool {
	var depacketizer codecs.VP8Packet
	if _, err := depacketizer.Unmarshal(payload); err != nil {
		return false
	}
	return depacketizer.S == 1 && depacketizer.PID == 0
}

// isKeyframe reads the frame tag of a VP8 frame (RFC 6386 section 9.1).
func isKeyframe(frame []byte) bool {
	return len(frame) > 0 && frame[0]&1 == 0
}

// seqBefore compares RTP sequence numbers across wrap-around.
func seqBefore(a, b uint16) bool {
	return int16(a-b) < 0
}
