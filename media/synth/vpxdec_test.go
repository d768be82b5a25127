package synth

import (
	"encoding/binary"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestInterFramesDecodeInLibvpx decodes whole streams, inter frames
// included, with vpxdec: libvpx, the VP8 decoder of Chromium and Firefox.
// golang.org/x/image/vp8 decodes keyframes only. It needs the Debian package
// vpx-tools, and fails without it rather than leave inter frames unchecked.
func TestInterFramesDecodeInLibvpx(t *testing.T) {
	vpxdec, err := exec.LookPath("vpxdec")
	if err != nil {
		t.Fatalf("vpxdec (Debian package vpx-tools) is needed to check inter frames: %v", err)
	}
	// At 5 fps a keyframe comes every 10 frames; frame 13 is one on request.
	const fps, frames, requested = 5, 15, 13
	for _, s := range []struct{ w, h int }{{100, 60}, {33, 17}, {320, 180}, {1280, 720}} {
		t.Run(fmt.Sprintf("%dx%d", s.w, s.h), func(t *testing.T) {
			v := NewVideo(s.w, s.h, fps)
			var stream [][]byte
			for n := range frames {
				if n == requested {
					v.RequestKeyframe()
				}
				frame, key, _ := v.Next()
				if want := n%10 == 0 || n == requested; key != want {
					t.Fatalf("frame %d: keyframe %v, want %v", n, key, want)
				}
				stream = append(stream, frame)
			}
			dir := t.TempDir()
			in, out := filepath.Join(dir, "in.ivf"), filepath.Join(dir, "out.yuv")
			if err := os.WriteFile(in, ivf(s.w, s.h, fps, stream), 0o600); err != nil {
				t.Fatal(err)
			}
			if b, err := exec.Command(vpxdec, "--i420", "-o", out, in).CombinedOutput(); err != nil {
				t.Fatalf("vpxdec: %v\n%s", err, b)
			}
			raw, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			// vpxdec writes each frame as I420: Y, then U and V at half size,
			// rounded up.
			cw, ch := (s.w+1)/2, (s.h+1)/2
			size := s.w*s.h + 2*cw*ch
			if len(raw) != size*frames {
				t.Fatalf("vpxdec wrote %d bytes, want %d frames of %d", len(raw), frames, size)
			}
			for n := range frames {
				f := raw[n*size : (n+1)*size]
				checkPicture(t, v, uint64(n), &image.YCbCr{
					Y:              f[:s.w*s.h],
					Cb:             f[s.w*s.h : s.w*s.h+cw*ch],
					Cr:             f[s.w*s.h+cw*ch:],
					YStride:        s.w,
					CStride:        cw,
					SubsampleRatio: image.YCbCrSubsampleRatio420,
					Rect:           image.Rect(0, 0, s.w, s.h),
				})
			}
		})
	}
}

// ivf wraps VP8 frames in an IVF file, the container vpxdec reads: a 32-byte
// file header, then each frame after its size and timestamp.
func ivf(width, height, fps int, frames [][]byte) []byte {
	b := make([]byte, 32)
	copy(b, "DKIF")
	binary.LittleEndian.PutUint16(b[6:], 32) // header size; version 0
	copy(b[8:], "VP80")
	binary.LittleEndian.PutUint16(b[12:], uint16(width))
	binary.LittleEndian.PutUint16(b[14:], uint16(height))
	binary.LittleEndian.PutUint32(b[16:], uint32(fps)) // time base fps/1
	binary.LittleEndian.PutUint32(b[20:], 1)
	binary.LittleEndian.PutUint32(b[24:], uint32(len(frames)))
	for i, f := range frames {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(f)))
		b = binary.LittleEndian.AppendUint64(b, uint64(i))
		b = append(b, f...)
	}
	return b
}
