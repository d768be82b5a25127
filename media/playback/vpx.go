package playback

/*
#cgo pkg-config: vpx
#include <stdlib.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vp8dx.h>

// The VPX_CODEC_USE_* and control macros expand to expressions cgo cannot
// call, so thin wrappers do it.
static vpx_codec_err_t parley_vp8_init(vpx_codec_ctx_t *ctx) {
	vpx_codec_dec_cfg_t cfg = {.threads = 1};
	return vpx_codec_dec_init(ctx, vpx_codec_vp8_dx(), &cfg, 0);
}

static int parley_vp8_corrupted(vpx_codec_ctx_t *ctx) {
	int corrupted = 0;
	if (vpx_codec_control(ctx, VP8D_GET_FRAME_CORRUPTED, &corrupted) != VPX_CODEC_OK) {
		return 1;
	}
	return corrupted;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"unsafe"
)

// errCorrupt says a frame decoded with missing references: the picture is
// wrong until the next keyframe.
var errCorrupt = errors.New("vp8: corrupted frame")

// vp8Decoder is one libvpx VP8 decoder. It is not safe for concurrent use.
type vp8Decoder struct {
	ctx *C.vpx_codec_ctx_t
}

func newVP8Decoder() (*vp8Decoder, error) {
	// The context lives in C memory: libvpx keeps pointers into it.
	ctx := (*C.vpx_codec_ctx_t)(C.calloc(1, C.sizeof_vpx_codec_ctx_t))
	if ctx == nil {
		return nil, errors.New("vp8: out of memory")
	}
	if status := C.parley_vp8_init(ctx); status != C.VPX_CODEC_OK {
		C.free(unsafe.Pointer(ctx))
		return nil, fmt.Errorf("vp8: decoder init: %s", C.GoString(C.vpx_codec_err_to_string(status)))
	}
	return &vp8Decoder{ctx: ctx}, nil
}

// decode decodes one whole VP8 frame into a new picture (nil if the frame
// shows nothing, as an alt-ref frame would).
func (d *vp8Decoder) decode(frame []byte) (*image.YCbCr, error) {
	if len(frame) == 0 {
		return nil, errors.New("vp8: empty frame")
	}
	// Go memory may be passed for the duration of the call: libvpx copies
	// what it needs.
	status := C.vpx_codec_decode(d.ctx, (*C.uint8_t)(unsafe.Pointer(&frame[0])), C.uint(len(frame)), nil, 0)
	if status != C.VPX_CODEC_OK {
		detail := C.vpx_codec_error_detail(d.ctx)
		message := C.GoString(C.vpx_codec_err_to_string(status))
		if detail != nil {
			message += ": " + C.GoString(detail)
		}
		return nil, fmt.Errorf("vp8: decode: %s", message)
	}
	if C.parley_vp8_corrupted(d.ctx) != 0 {
		return nil, errCorrupt
	}
	var iter C.vpx_codec_iter_t
	var picture *image.YCbCr
	// A VP8 frame yields at most one picture; taking the last is safe anyway.
	for img := C.vpx_codec_get_frame(d.ctx, &iter); img != nil; img = C.vpx_codec_get_frame(d.ctx, &iter) {
		if img.fmt != C.VPX_IMG_FMT_I420 {
			return nil, fmt.Errorf("vp8: unexpected picture format %d", img.fmt)
		}
		picture = copyI420(img)
	}
	return picture, nil
}

// copyI420 copies a decoder picture, which libvpx reuses, into Go memory.
func copyI420(img *C.vpx_image_t) *image.YCbCr {
	width, height := int(img.d_w), int(img.d_h)
	picture := image.NewYCbCr(image.Rect(0, 0, width, height), image.YCbCrSubsampleRatio420)
	copyPlane(picture.Y, picture.YStride, img.planes[0], int(img.stride[0]), width, height)
	chromaWidth, chromaHeight := (width+1)/2, (height+1)/2
	copyPlane(picture.Cb, picture.CStride, img.planes[1], int(img.stride[1]), chromaWidth, chromaHeight)
	copyPlane(picture.Cr, picture.CStride, img.planes[2], int(img.stride[2]), chromaWidth, chromaHeight)
	return picture
}

func copyPlane(dst []byte, dstStride int, src *C.uchar, srcStride, width, height int) {
	plane := unsafe.Slice((*byte)(unsafe.Pointer(src)), (height-1)*srcStride+width)
	for row := range height {
		copy(dst[row*dstStride:row*dstStride+width], plane[row*srcStride:])
	}
}

func (d *vp8Decoder) close() {
	C.vpx_codec_destroy(d.ctx)
	C.free(unsafe.Pointer(d.ctx))
}
