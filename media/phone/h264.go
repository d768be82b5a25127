package phone

import (
	"image"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// frameAssembler joins a phone's H.264 RTP packets (RFC 6184: single NAL
// units, STAP-A, FU-A) into access units in Annex B. After a loss it
// drops frames until the next keyframe: a decoder would only show a
// broken picture.
type frameAssembler struct {
	depacketizer codecs.H264Packet
	frame        []byte
	timestamp    uint32
	started      bool // frame holds the start of the frame at timestamp
	broken       bool // a packet of this frame is missing
	lastSequence uint16
	haveSequence bool
	waitKeyframe bool
}

// push adds a packet. It returns the frame the packet completes, if any,
// and whether packets were lost just before it.
func (a *frameAssembler) push(packet *rtp.Packet) (frame phoneFrame, complete, lost bool) {
	if a.haveSequence {
		gap := int16(packet.SequenceNumber - a.lastSequence)
		if gap <= 0 {
			return phoneFrame{}, false, false // late or repeated
		}
		if gap > 1 {
			lost, a.broken, a.waitKeyframe = true, true, true
			a.depacketizer = codecs.H264Packet{} // a fragment in progress is lost
		}
	}
	a.lastSequence, a.haveSequence = packet.SequenceNumber, true
	if a.started && packet.Timestamp != a.timestamp {
		// The last frame ended without a marker bit: it is complete
		// unless something of it was lost.
		frame, complete = a.finish()
	}
	if !a.started {
		a.started, a.timestamp, a.broken = true, packet.Timestamp, a.broken && lost
	}
	data, err := a.depacketizer.Unmarshal(packet.Payload)
	if err != nil {
		a.broken, a.waitKeyframe = true, true
	}
	a.frame = append(a.frame, data...)
	if packet.Marker {
		if complete {
			// Two frames end here (the one without a marker, and this
			// one): the newer one wins, the older is dropped, and the
			// chain with it.
			a.waitKeyframe = true
		}
		frame, complete = a.finish()
	}
	return frame, complete, lost
}

// finish ends the frame in progress and returns it if it can be decoded.
func (a *frameAssembler) finish() (phoneFrame, bool) {
	data, broken, timestamp := a.frame, a.broken, a.timestamp
	a.frame, a.started, a.broken = nil, false, false
	if broken || len(data) == 0 {
		a.waitKeyframe = true
		return phoneFrame{}, false
	}
	keyframe := hasIDR(data)
	if a.waitKeyframe && !keyframe {
		return phoneFrame{}, false
	}
	a.waitKeyframe = false
	return phoneFrame{data: data, keyframe: keyframe, timestamp: timestamp}, true
}

// hasIDR reports whether an Annex B access unit holds an IDR slice (NAL
// unit type 5): a frame a decoder can start from.
func hasIDR(data []byte) bool {
	zeros := 0
	for i, b := range data {
		switch {
		case b == 0:
			zeros++
			continue
		case b == 1 && zeros >= 2 && i+1 < len(data) && data[i+1]&0x1f == 5:
			return true
		}
		zeros = 0
	}
	return false
}

// blankPicture is a dark grey I420 picture, what a phone sees before
// there is any video to show.
func blankPicture(width, height int) *image.YCbCr {
	picture := image.NewYCbCr(image.Rect(0, 0, width, height), image.YCbCrSubsampleRatio420)
	for i := range picture.Y {
		picture.Y[i] = 32
	}
	for i := range picture.Cb {
		picture.Cb[i], picture.Cr[i] = 128, 128
	}
	return picture
}

// fitPicture draws src into dst as large as it fits, keeping its aspect,
// centred on black bars (nearest neighbour: the encoder's quantising
// costs more detail than the scaling).
func fitPicture(dst, src *image.YCbCr) {
	dw, dh := dst.Rect.Dx(), dst.Rect.Dy()
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	if sw <= 0 || sh <= 0 {
		return
	}
	w, h := dw, sh*dw/sw
	if h > dh {
		w, h = sw*dh/sh, dh
	}
	w, h = max(w&^1, 2), max(h&^1, 2)
	x0, y0 := (dw-w)/2&^1, (dh-h)/2&^1
	for i := range dst.Y {
		dst.Y[i] = 16
	}
	for i := range dst.Cb {
		dst.Cb[i], dst.Cr[i] = 128, 128
	}
	scalePlane(dst.Y, dst.YStride, x0, y0, w, h, src.Y, src.YStride, src.Rect.Min.X, src.Rect.Min.Y, sw, sh)
	// 4:2:0 chroma planes are half the size both ways.
	cx, cy := src.Rect.Min.X/2, src.Rect.Min.Y/2
	scalePlane(dst.Cb, dst.CStride, x0/2, y0/2, w/2, h/2, src.Cb, src.CStride, cx, cy, (sw+1)/2, (sh+1)/2)
	scalePlane(dst.Cr, dst.CStride, x0/2, y0/2, w/2, h/2, src.Cr, src.CStride, cx, cy, (sw+1)/2, (sh+1)/2)
}

// scalePlane copies a sw x sh area of one plane into a w x h area of
// another, nearest neighbour.
func scalePlane(dst []byte, dstStride, x0, y0, w, h int, src []byte, srcStride, sx0, sy0, sw, sh int) {
	for y := range h {
		sy := sy0 + y*sh/h
		row := dst[(y0+y)*dstStride+x0:]
		srcRow := src[sy*srcStride:]
		for x := range w {
			row[x] = srcRow[sx0+x*sw/w]
		}
	}
}
