package h264

import (
	"errors"
	"fmt"
	"image"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/codec/openh264"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// EncoderConfig is what an Encoder makes.
type EncoderConfig struct {
	Width, Height, FPS int
	Bitrate            int // bits per second
	// MaxSlice, if not 0, keeps every slice (NAL unit) within this many
	// bytes, for packetization-mode 0 where a packet is one NAL unit.
	MaxSlice int
}

// Encoder is OpenH264 encoding one picture at a time in constrained
// baseline profile. It is not safe for concurrent use.
type Encoder struct {
	encoder  codec.ReadCloser
	keyframe codec.KeyFrameController
	next     image.Image // what the encoder's reader returns next
}

// NewEncoder makes an encoder; it makes a keyframe at least every 4 s,
// for receivers whose keyframe requests got lost.
func NewEncoder(cfg EncoderConfig) (*Encoder, error) {
	params, err := openh264.NewParams()
	if err != nil {
		return nil, fmt.Errorf("H.264 encoder: %w", err)
	}
	params.BitRate = cfg.Bitrate
	params.IntraPeriod = uint(cfg.FPS) * 4
	params.SliceMode = openh264.SMSingleSlice
	if cfg.MaxSlice > 0 {
		params.SliceMode, params.SliceSizeConstraint, params.MaxNalSize = openh264.SMSizelimitedSlice, uint(cfg.MaxSlice), uint(cfg.MaxSlice)
	}
	e := &Encoder{}
	reader := video.ReaderFunc(func() (image.Image, func(), error) { return e.next, func() {}, nil })
	e.encoder, err = params.BuildVideoEncoder(reader, prop.Media{Video: prop.Video{Width: cfg.Width, Height: cfg.Height, FrameRate: float32(cfg.FPS)}})
	if err != nil {
		return nil, fmt.Errorf("H.264 encoder %dx%d: %w", cfg.Width, cfg.Height, err)
	}
	keyframe, ok := e.encoder.Controller().(codec.KeyFrameController)
	if !ok {
		_ = e.encoder.Close()
		return nil, errors.New("H.264 encoder: no keyframe control")
	}
	e.keyframe = keyframe
	return e, nil
}

// Encode encodes one I420 picture of the encoder's size into an Annex B
// access unit; an empty one means the rate control skipped it.
func (e *Encoder) Encode(picture *image.YCbCr, keyframe bool) ([]byte, error) {
	if keyframe {
		_ = e.keyframe.ForceKeyFrame()
	}
	e.next = picture
	frame, release, err := e.encoder.Read()
	e.next = nil
	if err != nil {
		return nil, fmt.Errorf("H.264 encode: %w", err)
	}
	defer release()
	return frame, nil
}

func (e *Encoder) Close() error { return e.encoder.Close() }
