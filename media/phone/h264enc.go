package phone

import (
	"errors"
	"fmt"
	"image"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/codec/openh264"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// h264Encoder is OpenH264 (through mediadevices, which links it
// statically on every platform Parley ships for) encoding one picture at
// a time. It is not safe for concurrent use.
type h264Encoder struct {
	encoder  codec.ReadCloser
	keyframe codec.KeyFrameController
	next     image.Image // what the encoder's reader returns next
}

// newH264Encoder makes a constrained baseline encoder; singleNAL keeps
// every slice within one packet (packetization-mode 0).
func newH264Encoder(q VideoQuality, singleNAL bool) (*h264Encoder, error) {
	params, err := openh264.NewParams()
	if err != nil {
		return nil, fmt.Errorf("H.264 encoder: %w", err)
	}
	params.BitRate = q.Bitrate
	params.IntraPeriod = uint(q.FPS) * 4 // a keyframe at least every 4 s, if requests get lost
	params.SliceMode = openh264.SMSingleSlice
	if singleNAL {
		params.SliceMode, params.SliceSizeConstraint, params.MaxNalSize = openh264.SMSizelimitedSlice, videoMTU, videoMTU
	}
	e := &h264Encoder{}
	reader := video.ReaderFunc(func() (image.Image, func(), error) { return e.next, func() {}, nil })
	e.encoder, err = params.BuildVideoEncoder(reader, prop.Media{Video: prop.Video{Width: q.Width, Height: q.Height, FrameRate: float32(q.FPS)}})
	if err != nil {
		return nil, fmt.Errorf("H.264 encoder %dx%d: %w", q.Width, q.Height, err)
	}
	keyframe, ok := e.encoder.Controller().(codec.KeyFrameController)
	if !ok {
		_ = e.encoder.Close()
		return nil, errors.New("H.264 encoder: no keyframe control")
	}
	e.keyframe = keyframe
	return e, nil
}

// encode encodes one picture of the encoder's size; an empty frame means
// the rate control skipped it.
func (e *h264Encoder) encode(picture *image.YCbCr, keyframe bool) ([]byte, error) {
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

func (e *h264Encoder) Close() error { return e.encoder.Close() }
