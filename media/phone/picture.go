package phone

import "image"

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
