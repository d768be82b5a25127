package sfu

import "time"

// noLayer is the layer index of "nothing": as a target it means forward
// nothing (paused), as the current layer that nothing is being forwarded yet.
const noLayer = -1

// forwarderInput is what the forwarder looks at in an incoming packet.
type forwarderInput struct {
	layer     int // simulcast layer index; 0 for a stream without layers
	sequence  uint16
	timestamp uint32
	keyframe  bool           // the packet starts a keyframe
	vp8       *vp8Descriptor // nil unless the payload is VP8
}

// forwarderOutput says how to rewrite a packet the forwarder lets through.
type forwarderOutput struct {
	sequence   uint16
	timestamp  uint32
	rewriteVP8 bool // the VP8 descriptor needs the IDs below
	pictureID  uint16
	tl0PicIdx  uint8
	began      bool // first packet of a layer (a switch, a start, a resume)
}

// forwarder decides, for one down track, which incoming packets go out and
// maps their sequence numbers, timestamps and VP8 picture IDs so that the
// subscriber sees one continuous stream on one SSRC across simulcast layer
// switches, pauses and blocks. It is not safe for concurrent use.
type forwarder struct {
	clockRate    uint32
	waitKeyframe bool // video: a layer may only begin at a keyframe

	target  int // the layer wanted, or noLayer
	current int // the layer being forwarded, or noLayer

	// What was last sent, for the next layer to continue.
	started       bool
	lastSequence  uint16
	lastTimestamp uint32
	lastSentAt    time.Time
	havePictureID bool
	lastPictureID uint16
	lastTL0PicIdx uint8

	// How the current layer maps onto the output.
	sequenceOffset  uint16
	timestampOffset uint32
	pictureIDOffset uint16
	tl0PicIdxOffset uint8
	firstSequence   uint16 // where the current layer began
	highestSequence uint16
	// farFromStart is set once the layer has gone a quarter of the
	// sequence space past firstSequence: from then on no packet can be
	// from before it began, and the comparison with firstSequence, which
	// wraps after 32768 packets, must stop.
	farFromStart bool
}

// newForwarder returns a forwarder that forwards nothing until given a target.
func newForwarder(clockRate uint32, waitKeyframe bool) *forwarder {
	return &forwarder{clockRate: clockRate, waitKeyframe: waitKeyframe, target: noLayer, current: noLayer}
}

// setTarget chooses the layer to forward. Switching waits for a keyframe
// of the new layer; noLayer stops forwarding at once.
func (f *forwarder) setTarget(layer int) {
	f.target = layer
	if layer == noLayer {
		f.current = noLayer
	}
}

// interrupt makes the next packet of the target layer begin afresh, for
// input that skipped packets on purpose (a block).
func (f *forwarder) interrupt() {
	f.current = noLayer
}

// switchPending reports whether the forwarder waits for a keyframe of its
// target layer.
func (f *forwarder) switchPending() bool {
	return f.target != noLayer && f.current != f.target
}

// forward decides about one packet; ok is false when it must be dropped.
func (f *forwarder) forward(in forwarderInput, now time.Time) (out forwarderOutput, ok bool) {
	if f.target == noLayer {
		return out, false
	}
	if in.layer != f.current {
		if in.layer != f.target || (f.waitKeyframe && !in.keyframe) {
			return out, false
		}
		f.begin(in, now)
		f.current = in.layer
		out.began = true
	} else if !f.farFromStart && int16(in.sequence-f.firstSequence) < 0 {
		return out, false // late packet from before this layer began
	}

	out.sequence = in.sequence - f.sequenceOffset
	out.timestamp = in.timestamp - f.timestampOffset
	hasPictureID := in.vp8 != nil && in.vp8.hasPictureID
	if hasPictureID {
		out.pictureID = (in.vp8.pictureID - f.pictureIDOffset) & in.vp8.pictureIDMask()
		out.tl0PicIdx = in.vp8.tl0PicIdx - f.tl0PicIdxOffset
		out.rewriteVP8 = f.pictureIDOffset != 0 || (in.vp8.hasTL0PicIndex && f.tl0PicIdxOffset != 0)
	}

	if out.began || int16(in.sequence-f.highestSequence) > 0 {
		f.highestSequence = in.sequence
		if in.sequence-f.firstSequence >= 0x4000 {
			f.farFromStart = true
		}
		f.started = true
		f.lastSequence = out.sequence
		f.lastTimestamp = out.timestamp
		f.lastSentAt = now
		if hasPictureID {
			f.havePictureID = true
			f.lastPictureID = out.pictureID
			if in.vp8.hasTL0PicIndex {
				f.lastTL0PicIdx = out.tl0PicIdx
			}
		}
	}
	return out, true
}

// begin maps a new layer so that its first packet follows the last one sent.
func (f *forwarder) begin(in forwarderInput, now time.Time) {
	f.firstSequence = in.sequence
	f.highestSequence = in.sequence
	f.farFromStart = false
	if !f.started {
		return // the first stream goes out with its own numbering
	}
	f.sequenceOffset = in.sequence - (f.lastSequence + 1)
	// The timestamp advances by the wall-clock time since the last packet,
	// at least one tick, so that the receiver's jitter buffer and playout
	// see time move forward as it did.
	step := uint32(now.Sub(f.lastSentAt).Seconds() * float64(f.clockRate))
	step = max(step, 1)
	f.timestampOffset = in.timestamp - (f.lastTimestamp + step)
	f.pictureIDOffset, f.tl0PicIdxOffset = 0, 0
	if in.vp8 != nil && in.vp8.hasPictureID && f.havePictureID {
		f.pictureIDOffset = in.vp8.pictureID - (f.lastPictureID + 1)
		f.tl0PicIdxOffset = in.vp8.tl0PicIdx - (f.lastTL0PicIdx + 1)
	}
}
