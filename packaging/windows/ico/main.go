// Command ico turns the app's PNG icon into a Windows .ico file, which the
// installer (NSIS) needs for its own icon and the uninstaller's: PNG
// images at 16 to 256 pixels, as Windows Vista and later read them.
//
// Usage: go run ./packaging/windows/ico IN.png OUT.ico
package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"

	"golang.org/x/image/draw"
)

// sizes are the icon's images, in pixels; Explorer picks among them.
var sizes = []int{16, 24, 32, 48, 64, 128, 256}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: ico IN.png OUT.ico")
		os.Exit(2)
	}
	if err := convert(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "ico:", err)
		os.Exit(1)
	}
}

func convert(in, out string) error {
	file, err := os.Open(in)
	if err != nil {
		return err
	}
	defer file.Close()
	src, err := png.Decode(file)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	var ico bytes.Buffer
	if err := write(&ico, src); err != nil {
		return err
	}
	return os.WriteFile(out, ico.Bytes(), 0o644)
}

// write encodes the ICO: a header, one directory entry per image, then
// the images as PNG.
func write(w io.Writer, src image.Image) error {
	var images [][]byte
	for _, size := range sizes {
		dst := image.NewNRGBA(image.Rect(0, 0, size, size))
		draw.CatmullRom.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src, nil)
		var encoded bytes.Buffer
		if err := png.Encode(&encoded, dst); err != nil {
			return err
		}
		images = append(images, encoded.Bytes())
	}
	header := []uint16{0, 1, uint16(len(images))} // reserved, type 1 = icon, count
	if err := binary.Write(w, binary.LittleEndian, header); err != nil {
		return err
	}
	offset := 6 + 16*len(images)
	for i, data := range images {
		size := sizes[i] % 256 // 0 means 256
		entry := struct {
			Width, Height, Colors, Reserved uint8
			Planes, BitCount                uint16
			Size, Offset                    uint32
		}{uint8(size), uint8(size), 0, 0, 1, 32, uint32(len(data)), uint32(offset)}
		if err := binary.Write(w, binary.LittleEndian, entry); err != nil {
			return err
		}
		offset += len(data)
	}
	for _, data := range images {
		if _, err := w.Write(data); err != nil {
			return err
		}
	}
	return nil
}
