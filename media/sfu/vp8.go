package sfu

import "errors"

// errShortVP8 is returned for a VP8 payload too short for the fields its
// descriptor announces.
var errShortVP8 = errors.New("vp8: payload shorter than its descriptor")

// vp8Descriptor is the parsed VP8 payload descriptor (RFC 7741 section 4.2)
// at the start of a VP8 RTP payload, with the offsets needed to rewrite its
// picture ID and TL0PICIDX in place.
type vp8Descriptor struct {
	size           int  // bytes of descriptor before the VP8 payload
	startOfFrame   bool // S bit with partition index 0: the frame starts here
	keyframe       bool // startOfFrame and the payload header's P bit is 0
	width, height  int  // picture size, from a keyframe's header when present
	pictureIDAt    int  // offset of the picture ID, 0 when absent
	pictureIDWide  bool // 15-bit picture ID (M bit) rather than 7-bit
	pictureID      uint16
	tl0PicIdxAt    int // offset of TL0PICIDX, 0 when absent
	tl0PicIdx      uint8
	hasPictureID   bool
	hasTL0PicIndex bool
}

// parseVP8 parses the descriptor of a VP8 RTP payload.
func parseVP8(payload []byte) (vp8Descriptor, error) {
	var d vp8Descriptor
	if len(payload) < 1 {
		return d, errShortVP8
	}
	extended := payload[0]&0x80 != 0
	start := payload[0]&0x10 != 0
	partition := payload[0] & 0x07
	at := 1
	if extended {
		if len(payload) < 2 {
			return d, errShortVP8
		}
		flags := payload[1]
		at = 2
		if flags&0x80 != 0 { // I: picture ID present
			if len(payload) < at+1 {
				return d, errShortVP8
			}
			d.hasPictureID = true
			d.pictureIDAt = at
			if payload[at]&0x80 != 0 {
				if len(payload) < at+2 {
					return d, errShortVP8
				}
				d.pictureIDWide = true
				d.pictureID = uint16(payload[at]&0x7f)<<8 | uint16(payload[at+1])
				at += 2
			} else {
				d.pictureID = uint16(payload[at])
				at++
			}
		}
		if flags&0x40 != 0 { // L: TL0PICIDX present
			if len(payload) < at+1 {
				return d, errShortVP8
			}
			d.hasTL0PicIndex = true
			d.tl0PicIdxAt = at
			d.tl0PicIdx = payload[at]
			at++
		}
		if flags&0x30 != 0 { // T or K: TID/Y/KEYIDX byte present
			if len(payload) < at+1 {
				return d, errShortVP8
			}
			at++
		}
	}
	d.size = at
	d.startOfFrame = start && partition == 0
	if d.startOfFrame && len(payload) > at {
		frame := payload[at:]
		d.keyframe = frame[0]&0x01 == 0
		// A keyframe's header: 3-byte frame tag, start code 9d 01 2a, then
		// 14-bit width and height, each with 2 bits of scaling.
		if d.keyframe && len(frame) >= 10 && frame[3] == 0x9d && frame[4] == 0x01 && frame[5] == 0x2a {
			d.width = int(uint16(frame[6])|uint16(frame[7])<<8) & 0x3fff
			d.height = int(uint16(frame[8])|uint16(frame[9])<<8) & 0x3fff
		}
	}
	return d, nil
}

// pictureIDMask is the largest picture ID this descriptor can carry.
func (d *vp8Descriptor) pictureIDMask() uint16 {
	if d.pictureIDWide {
		return 0x7fff
	}
	return 0x7f
}

// rewrite writes a new picture ID and TL0PICIDX into payload, whose
// descriptor is d, keeping the descriptor's layout (a 7-bit picture ID
// stays 7-bit, so the value is cut to its width).
func (d *vp8Descriptor) rewrite(payload []byte, pictureID uint16, tl0PicIdx uint8) {
	if d.hasPictureID {
		if d.pictureIDWide {
			payload[d.pictureIDAt] = 0x80 | byte(pictureID>>8)&0x7f
			payload[d.pictureIDAt+1] = byte(pictureID)
		} else {
			payload[d.pictureIDAt] = byte(pictureID) & 0x7f
		}
	}
	if d.hasTL0PicIndex {
		payload[d.tl0PicIdxAt] = tl0PicIdx
	}
}

// h264Keyframe reports whether an H.264 RTP payload (RFC 6184) starts an
// IDR picture or carries a sequence parameter set, which precedes one.
func h264Keyframe(payload []byte) bool {
	const (
		nalIDR  = 5
		nalSPS  = 7
		nalSTAP = 24
		nalFU   = 28
	)
	if len(payload) < 1 {
		return false
	}
	switch nalType := payload[0] & 0x1f; nalType {
	case nalIDR, nalSPS:
		return true
	case nalSTAP:
		for at := 1; at+2 < len(payload); {
			size := int(payload[at])<<8 | int(payload[at+1])
			at += 2
			if size == 0 || at+size > len(payload) {
				return false
			}
			if t := payload[at] & 0x1f; t == nalIDR || t == nalSPS {
				return true
			}
			at += size
		}
		return false
	case nalFU:
		if len(payload) < 2 {
			return false
		}
		fuStart := payload[1]&0x80 != 0
		t := payload[1] & 0x1f
		return fuStart && (t == nalIDR || t == nalSPS)
	default:
		return false
	}
}
