package phone

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// readWAV returns the samples of a mono 16-bit PCM WAV file and its rate.
func readWAV(data []byte) ([]int16, int, error) {
	if len(data) < 12 || string(data[:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		return nil, 0, errors.New("not a WAV file")
	}
	var rate int
	formatSeen := false
	for rest := data[12:]; len(rest) >= 8; {
		id, size := string(rest[:4]), int(binary.LittleEndian.Uint32(rest[4:8]))
		rest = rest[8:]
		if size < 0 || size > len(rest) {
			return nil, 0, fmt.Errorf("WAV chunk %q of %d bytes runs past the end", id, size)
		}
		body := rest[:size]
		switch id {
		case "fmt ":
			if size < 16 {
				return nil, 0, errors.New("WAV format chunk too short")
			}
			format, channels := binary.LittleEndian.Uint16(body), binary.LittleEndian.Uint16(body[2:])
			bits := binary.LittleEndian.Uint16(body[14:])
			if format != 1 || channels != 1 || bits != 16 {
				return nil, 0, fmt.Errorf("WAV is format %d, %d channels, %d bits; want PCM, mono, 16 bits", format, channels, bits)
			}
			rate, formatSeen = int(binary.LittleEndian.Uint32(body[4:])), true
		case "data":
			if !formatSeen {
				return nil, 0, errors.New("WAV data before its format")
			}
			samples := make([]int16, size/2)
			for i := range samples {
				samples[i] = int16(binary.LittleEndian.Uint16(body[2*i:]))
			}
			return samples, rate, nil
		}
		// Chunks are padded to even sizes.
		rest = rest[min(size+size%2, len(rest)):]
	}
	return nil, 0, errors.New("WAV file without data")
}
