package capture

import (
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"math"
	"time"

	"github.com/pion/mediadevices/pkg/driver"
	"github.com/pion/mediadevices/pkg/frame"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// cameraFailures is how many reads in a row may fail (a frame lost, a read
// timing out) before the camera counts as gone.
const cameraFailures = 5

// OpenCamera opens a camera by its Devices ID ("" for the default) and
// delivers its pictures cropped to the aspect of width x height and scaled
// to it, at fps frames a second or what the camera comes closest to.
// Errors wrap ErrNoCamera when there is no such camera.
func OpenCamera(id string, width, height, fps int) (*Video, error) {
	width, height = max(width, 32)&^1, max(height, 32)&^1
	var chosen driver.Driver
	for _, d := range cameraDrivers() {
		if id == "" || d.Info().Label == id {
			chosen = d
			break
		}
	}
	if chosen == nil {
		if id != "" {
			return nil, fmt.Errorf("camera %q: %w", id, ErrNoCamera)
		}
		return nil, ErrNoCamera
	}
	name := cameraName(chosen.Info())
	if err := chosen.Open(); err != nil {
		return nil, fmt.Errorf("open camera %s: %w", name, err)
	}
	mode, ok := chooseCameraMode(chosen.Properties(), width, height, fps)
	if !ok {
		_ = chosen.Close()
		return nil, fmt.Errorf("camera %s: no picture format it offers is supported", name)
	}
	// The driver closes itself when this fails.
	raw, err := chosen.(driver.VideoRecorder).VideoRecord(mode)
	if err != nil {
		return nil, fmt.Errorf("start camera %s at %dx%d: %w", name, mode.Width, mode.Height, err)
	}
	slog.Info("camera opened", slog.String("camera", name), slog.Int("width", mode.Width), slog.Int("height", mode.Height),
		slog.Float64("fps", float64(mode.FrameRate)), slog.String("format", string(mode.FrameFormat)))
	pictures := fitPictures(raw, mode.Width, mode.Height, width, height)
	stopping := make(chan struct{})
	produce := func(feed *frameFeed) { readCamera(name, pictures, feed, stopping) }
	stop := func() {
		close(stopping)
		_ = chosen.Close() // ends a read in progress
	}
	return newVideo(name, width, height, fps, produce, stop), nil
}

// readCamera publishes the camera's pictures until it stops or fails.
func readCamera(name string, pictures video.Reader, feed *frameFeed, stopping <-chan struct{}) {
	failures := 0
	for {
		picture, release, err := pictures.Read()
		select {
		case <-stopping:
			return
		default:
		}
		if err != nil {
			failures++
			if errors.Is(err, io.EOF) || failures >= cameraFailures {
				feed.stop(fmt.Errorf("camera %s stopped: %w", name, err))
				return
			}
			continue
		}
		failures = 0
		copied, err := copyI420(picture)
		release()
		if err != nil {
			feed.stop(fmt.Errorf("camera %s: %w", name, err))
			return
		}
		feed.publish(copied, time.Now())
	}
}

// fitPictures turns the camera's pictures into I420 ones of width x height:
// converted (mediadevices), cropped to that aspect at the centre, and
// scaled (mediadevices' box filter).
func fitPictures(raw video.Reader, rawWidth, rawHeight, width, height int) video.Reader {
	crop := cropRect(rawWidth, rawHeight, width, height)
	i420 := video.ToI420(raw)
	cropped := video.ReaderFunc(func() (image.Image, func(), error) {
		picture, release, err := i420.Read()
		if err != nil {
			return nil, func() {}, err
		}
		yuv := picture.(*image.YCbCr) // ToI420 makes nothing else
		if yuv.Rect.Size() == crop.Size() {
			return yuv, release, nil
		}
		// A view, moved to the origin as the scaler expects.
		view := yuv.SubImage(crop.Add(yuv.Rect.Min)).(*image.YCbCr)
		view.Rect = view.Rect.Sub(view.Rect.Min)
		return view, release, nil
	})
	if crop.Dx() == width && crop.Dy() == height {
		return cropped
	}
	return video.Scale(width, height, video.ScalerFastBoxSampling)(cropped)
}

// cropRect is the largest centred rectangle of a rawWidth x rawHeight
// picture with the aspect of width x height, on even coordinates.
func cropRect(rawWidth, rawHeight, width, height int) image.Rectangle {
	cropWidth, cropHeight := rawWidth, rawHeight
	if rawWidth*height > rawHeight*width {
		cropWidth = rawHeight * width / height
	} else {
		cropHeight = rawWidth * height / width
	}
	cropWidth, cropHeight = cropWidth&^1, cropHeight&^1
	x, y := (rawWidth-cropWidth)/2&^1, (rawHeight-cropHeight)/2&^1
	return image.Rect(x, y, x+cropWidth, y+cropHeight)
}

// copyI420 copies a picture the reader will reuse into one of its own.
func copyI420(picture image.Image) (*image.YCbCr, error) {
	src, ok := picture.(*image.YCbCr)
	if !ok || src.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		return nil, fmt.Errorf("unexpected picture type %T", picture)
	}
	width, height := src.Rect.Dx(), src.Rect.Dy()
	dst := image.NewYCbCr(image.Rect(0, 0, width, height), image.YCbCrSubsampleRatio420)
	for y := range height {
		copy(dst.Y[y*dst.YStride:][:width], src.Y[src.YOffset(src.Rect.Min.X, src.Rect.Min.Y+y):])
	}
	chromaWidth := (width + 1) / 2
	for y := range (height + 1) / 2 {
		offset := src.COffset(src.Rect.Min.X, src.Rect.Min.Y+2*y)
		copy(dst.Cb[y*dst.CStride:][:chromaWidth], src.Cb[offset:])
		copy(dst.Cr[y*dst.CStride:][:chromaWidth], src.Cr[offset:])
	}
	return dst, nil
}

// cameraFormats are the picture formats mediadevices decodes, with the
// CPU each costs to decode: raw YUV is cheapest, MJPEG needs a JPEG decode.
var cameraFormats = map[frame.Format]float64{
	frame.FormatI420:  0,
	frame.FormatNV12:  0,
	frame.FormatNV21:  0,
	frame.FormatYUYV:  0.1,
	frame.FormatUYVY:  0.1,
	frame.FormatMJPEG: 0.3,
}

// chooseCameraMode picks the camera mode that best covers width x height
// at fps: missing pixels or frames cost most, surplus pixels (more to
// scale down) and costly formats a little, a different aspect (cropped
// away) in between.
func chooseCameraMode(modes []prop.Media, width, height, fps int) (prop.Media, bool) {
	best, bestCost := prop.Media{}, math.Inf(1)
	wantPixels := float64(width * height)
	for _, mode := range modes {
		formatCost, ok := cameraFormats[mode.FrameFormat]
		if !ok || mode.Width <= 0 || mode.Height <= 0 {
			continue
		}
		crop := cropRect(mode.Width, mode.Height, width, height)
		usable := float64(crop.Dx() * crop.Dy())
		cost := formatCost
		if usable < wantPixels {
			cost += 4 * (wantPixels - usable) / wantPixels
		} else {
			cost += 0.2 * (usable - wantPixels) / wantPixels
		}
		cost += 0.5 * (1 - usable/float64(mode.Width*mode.Height))
		if mode.FrameRate > 0 && mode.FrameRate < float32(fps) {
			cost += 3 * (float64(fps) - float64(mode.FrameRate)) / float64(fps)
		}
		if cost < bestCost {
			best, bestCost = mode, cost
		}
	}
	if math.IsInf(bestCost, 1) {
		return prop.Media{}, false
	}
	if best.FrameRate == 0 || best.FrameRate > float32(fps) {
		best.FrameRate = float32(fps)
	}
	return best, true
}
