package playback

import (
	"fmt"
	"image"
	"strings"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/parleyhq/parley/media/h264"
)

// pictureDecoder is one codec's way from RTP packets to pictures.
type pictureDecoder interface {
	assembler() frameAssembler
	isKeyframe(frame []byte) bool
	decode(frame []byte) (*image.YCbCr, error)
	close()
}

// frameAssembler joins a track's packets into whole frames.
type frameAssembler interface {
	push(packet *rtp.Packet) []assembledFrame
}

// newPictureDecoder makes the decoder of a codec (a MIME type).
func newPictureDecoder(codec string) (pictureDecoder, error) {
	switch {
	case strings.EqualFold(codec, webrtc.MimeTypeVP8):
		decoder, err := newVP8Decoder()
		if err != nil {
			return nil, err
		}
		return vp8Codec{decoder}, nil
	case strings.EqualFold(codec, webrtc.MimeTypeH264):
		decoder, err := h264.NewDecoder()
		if err != nil {
			return nil, err
		}
		return h264Codec{decoder}, nil
	}
	return nil, fmt.Errorf("video in %q: only VP8 and H.264 are played", codec)
}

type vp8Codec struct{ *vp8Decoder }

func (vp8Codec) assembler() frameAssembler { return newVP8Assembler() }

func (vp8Codec) isKeyframe(frame []byte) bool { return isKeyframe(frame) }

// h264Codec is a phone's video (the SFU forwards H.264 as it came).
type h264Codec struct{ decoder *h264.Decoder }

func (h264Codec) assembler() frameAssembler { return &h264Assembler{} }

func (h264Codec) isKeyframe(frame []byte) bool { return h264.HasIDR(frame) }

func (c h264Codec) decode(frame []byte) (*image.YCbCr, error) { return c.decoder.Decode(frame) }

func (c h264Codec) close() { c.decoder.Close() }

type h264Assembler struct{ h264.Assembler }

func (a *h264Assembler) push(packet *rtp.Packet) []assembledFrame {
	frame, ok := a.Push(packet)
	if !ok {
		return nil
	}
	return []assembledFrame{{data: frame.Data, timestamp: frame.Timestamp, afterLoss: frame.AfterLoss}}
}
