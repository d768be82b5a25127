package h264

/*
#cgo CFLAGS: -I${SRCDIR}/include
#include <stdlib.h>
#include <string.h>
#include <openh264/codec_api.h>

// OpenH264's C interface is a table of functions; these wrappers call it.
static int parley_h264_open(ISVCDecoder **out) {
	ISVCDecoder *decoder = NULL;
	if (WelsCreateDecoder(&decoder) != 0 || decoder == NULL) {
		return -1;
	}
	// Errors are the caller's to report; OpenH264 would print them too.
	int quiet = WELS_LOG_QUIET;
	(*decoder)->SetOption(decoder, DECODER_OPTION_TRACE_LEVEL, &quiet);
	SDecodingParam param;
	memset(&param, 0, sizeof param);
	param.sVideoProperty.eVideoBsType = VIDEO_BITSTREAM_AVC;
	// No concealment: a frame with missing references is an error, and
	// the caller waits for a keyframe rather than show a smeared one.
	param.eEcActiveIdc = ERROR_CON_DISABLE;
	if ((*decoder)->Initialize(decoder, &param) != 0) {
		WelsDestroyDecoder(decoder);
		return -2;
	}
	*out = decoder;
	return 0;
}

// parley_h264_decode returns 1 with a picture, 0 without one yet, and
// the decoder's state (negative) on an error.
static int parley_h264_decode(ISVCDecoder *decoder, const unsigned char *frame, int length,
		unsigned char **planes, int *strides, int *size) {
	unsigned char *dst[3] = {NULL, NULL, NULL};
	SBufferInfo info;
	memset(&info, 0, sizeof info);
	DECODING_STATE state = (*decoder)->DecodeFrameNoDelay(decoder, frame, length, dst, &info);
	if (state != dsErrorFree) {
		return -(int)state;
	}
	if (info.iBufferStatus != 1) {
		return 0;
	}
	planes[0] = dst[0];
	planes[1] = dst[1];
	planes[2] = dst[2];
	strides[0] = info.UsrData.sSystemBuffer.iStride[0];
	strides[1] = info.UsrData.sSystemBuffer.iStride[1];
	size[0] = info.UsrData.sSystemBuffer.iWidth;
	size[1] = info.UsrData.sSystemBuffer.iHeight;
	return 1;
}

static void parley_h264_close(ISVCDecoder *decoder) {
	(*decoder)->Uninitialize(decoder);
	WelsDestroyDecoder(decoder);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"unsafe"

	// The OpenH264 library itself, linked statically.
	_ "github.com/pion/mediadevices/pkg/codec/openh264"
)

// Decoder is one OpenH264 decoder. It is not safe for concurrent use.
type Decoder struct {
	decoder *C.ISVCDecoder
}

// NewDecoder makes a decoder.
func NewDecoder() (*Decoder, error) {
	var decoder *C.ISVCDecoder
	if status := C.parley_h264_open(&decoder); status != 0 {
		return nil, fmt.Errorf("H.264 decoder: OpenH264 refused to start (%d)", int(status))
	}
	return &Decoder{decoder: decoder}, nil
}

// Decode decodes one access unit (Annex B) into a new picture; nil if it
// shows nothing yet.
func (d *Decoder) Decode(frame []byte) (*image.YCbCr, error) {
	if len(frame) == 0 {
		return nil, errors.New("H.264: empty frame")
	}
	planes := make([]*C.uchar, 3)
	strides := make([]C.int, 2)
	size := make([]C.int, 2)
	// Go memory may be passed for the call: OpenH264 copies what it keeps.
	status := C.parley_h264_decode(d.decoder, (*C.uchar)(unsafe.Pointer(&frame[0])), C.int(len(frame)),
		(**C.uchar)(unsafe.Pointer(&planes[0])), (*C.int)(unsafe.Pointer(&strides[0])), (*C.int)(unsafe.Pointer(&size[0])))
	if status < 0 {
		return nil, fmt.Errorf("H.264: decode: state %#x", int(-status))
	}
	if status == 0 {
		return nil, nil
	}
	width, height := int(size[0]), int(size[1])
	if width <= 0 || height <= 0 || width > 8192 || height > 8192 {
		return nil, fmt.Errorf("H.264: a picture of %dx%d", width, height)
	}
	// The planes are the decoder's until the next call: copied out.
	picture := image.NewYCbCr(image.Rect(0, 0, width, height), image.YCbCrSubsampleRatio420)
	copyPlane(picture.Y, picture.YStride, planes[0], int(strides[0]), width, height)
	copyPlane(picture.Cb, picture.CStride, planes[1], int(strides[1]), (width+1)/2, (height+1)/2)
	copyPlane(picture.Cr, picture.CStride, planes[2], int(strides[1]), (width+1)/2, (height+1)/2)
	return picture, nil
}

func copyPlane(dst []byte, dstStride int, src *C.uchar, srcStride, width, height int) {
	source := unsafe.Slice((*byte)(unsafe.Pointer(src)), srcStride*(height-1)+width)
	for y := range height {
		copy(dst[y*dstStride:y*dstStride+width], source[y*srcStride:y*srcStride+width])
	}
}

// Close frees the decoder.
func (d *Decoder) Close() {
	if d.decoder != nil {
		C.parley_h264_close(d.decoder)
		d.decoder = nil
	}
}
