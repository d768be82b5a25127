package phone

import (
	"bytes"
	"context"
	"image"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/parleyhq/parley/media/h264"
)

// testPicture is a gradient: something for the encoder to encode.
func testPicture(width, height int) *image.YCbCr {
	picture := image.NewYCbCr(image.Rect(0, 0, width, height), image.YCbCrSubsampleRatio420)
	for y := range height {
		for x := range width {
			picture.Y[y*picture.YStride+x] = uint8((x + y) % 256)
		}
	}
	for i := range picture.Cb {
		picture.Cb[i], picture.Cr[i] = 90, 200
	}
	return picture
}

// nalTypes lists the NAL unit types of an Annex B access unit.
func nalTypes(data []byte) []byte {
	var types []byte
	for i := 0; i+3 < len(data); i++ {
		if data[i] == 0 && data[i+1] == 0 && data[i+2] == 1 {
			types = append(types, data[i+3]&0x1f)
		}
	}
	return types
}

func TestVideoToAndFromThePhone(t *testing.T) {
	phone := newFakePhone(t)
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	quality := VideoQuality{Width: 320, Height: 180, FPS: 15, Bitrate: 300_000}
	video, err := startVideo(VideoConfig{Conn: conn, Remote: phone.addr(), RTCPMux: true, PayloadType: 96,
		Constrained: true, SingleNAL: true, Quality: quality}, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer video.close()
	video.show(testPicture(640, 480)) // 4:3 into 16:9: letterboxed

	// What the phone receives: H.264 in single NAL units (mode 0), the
	// first frame a keyframe with its parameter sets.
	assembler := &h264.Assembler{}
	buf := make([]byte, 1500)
	var frames, keyframes int
	var firstFrame []byte
	keyframeAsked := false
	deadline := time.Now().Add(10 * time.Second)
	for keyframes < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d frames, %d keyframes; want a second keyframe soon after asking for it", frames, keyframes)
		}
		_ = phone.conn.SetReadDeadline(deadline)
		n, _, err := phone.conn.ReadFromUDP(buf)
		if err != nil {
			t.Fatal(err)
		}
		var packet rtp.Packet
		if err := packet.Unmarshal(buf[:n]); err != nil || packet.PayloadType != 96 {
			t.Fatalf("not our video: %v %+v", err, packet.Header)
		}
		if packet.Payload[0]&0x1f > 23 {
			t.Fatalf("an aggregate or fragment (NAL type %d) in packetization-mode 0", packet.Payload[0]&0x1f)
		}
		frame, complete := assembler.Push(&packet)
		if !complete {
			continue
		}
		if frame.AfterLoss {
			t.Fatal("packets lost on loopback")
		}
		frames++
		if frame.Keyframe {
			keyframes++
		}
		if frames == 1 {
			firstFrame = frame.Data
		}
		// After a few frames the phone asks for a keyframe (PLI on the
		// muxed port); the encoder's own interval is 4 s, much later.
		if frames == 5 && !keyframeAsked {
			keyframeAsked = true
			pli, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: packet.SSRC}})
			if _, err := phone.conn.WriteToUDP(pli, conn.LocalAddr().(*net.UDPAddr)); err != nil {
				t.Fatal(err)
			}
			deadline = time.Now().Add(2 * time.Second)
		}
	}
	if types := nalTypes(firstFrame); len(types) < 3 || types[0] != 7 || types[1] != 8 || !h264.HasIDR(firstFrame) {
		t.Errorf("the first frame's NAL units are %v, want SPS, PPS and an IDR slice", types)
	}
	if !keyframeAsked {
		t.Error("the second keyframe came before it was asked for")
	}

	// The phone's video into the conference: frames with their
	// durations from the RTP clock.
	encoder, err := h264.NewEncoder(h264.EncoderConfig{Width: quality.Width, Height: quality.Height, FPS: quality.FPS, Bitrate: quality.Bitrate})
	if err != nil {
		t.Fatal(err)
	}
	defer encoder.Close()
	packetizer := rtp.NewPacketizer(1200, 96, 0x1234, &codecs.H264Payloader{}, rtp.NewRandomSequencer(), videoClock)
	camera := &phoneCamera{video: video, closed: make(chan struct{})}
	defer camera.Close()
	picture := testPicture(quality.Width, quality.Height)
	for i := range 3 {
		frame, err := encoder.Encode(picture, i == 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, packet := range packetizer.Packetize(frame, videoClock/15) {
			phone.send(conn.LocalAddr().(*net.UDPAddr).Port, *packet)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := range 3 {
		frame, keyframe, duration, err := camera.NextFrame(ctx)
		if err != nil {
			t.Fatalf("frame %d from the phone: %v", i, err)
		}
		if keyframe != (i == 0) || len(frame) == 0 {
			t.Errorf("frame %d: %d bytes, keyframe %v", i, len(frame), keyframe)
		}
		if i > 0 && duration != time.Second/15 {
			t.Errorf("frame %d lasts %s, want 1/15 s", i, duration)
		}
	}
	if in := video.stats.framesIn.Load(); in != 3 || video.stats.received.Load() == 0 {
		t.Errorf("counted %d frames in, want 3", in)
	}
}

func TestFitPictureLetterboxes(t *testing.T) {
	dst := blankPicture(64, 36)
	src := image.NewYCbCr(image.Rect(0, 0, 40, 40), image.YCbCrSubsampleRatio420)
	for i := range src.Y {
		src.Y[i] = 200
	}
	fitPicture(dst, src)
	// A square in 64x36: 36 high, centred, black on both sides.
	if left, middle, right := dst.Y[18*dst.YStride+2], dst.Y[18*dst.YStride+32], dst.Y[18*dst.YStride+61]; left != 16 || middle != 200 || right != 16 {
		t.Errorf("row 18: %d | %d | %d, want black, picture, black", left, middle, right)
	}
}

func TestQualityFitsThePhonesLevel(t *testing.T) {
	for _, c := range []struct {
		name           string
		maxMacroblocks int
		width, height  int
	}{
		{"high", 3600, 1280, 720}, // level 3.1
		{"high", 1620, 640, 360},  // level 3.0: 960x540 is 2040 macroblocks
		{"standard", 8192, 640, 360},
		{"standard", 396, 320, 180}, // level 1.1-2.0 (CIF)
		{"low", 99, 192, 108},       // level 1.0 (QCIF)
	} {
		q, err := QualityFor(c.name, c.maxMacroblocks)
		if err != nil || q.Width != c.width || q.Height != c.height {
			t.Errorf("%s for %d macroblocks: %+v, %v; want %dx%d", c.name, c.maxMacroblocks, q, err, c.width, c.height)
		}
	}
	if q, _ := QualityFor("high", 1620); q.Bitrate >= videoQualities["high"].Bitrate {
		t.Errorf("a smaller picture keeps the full bitrate: %d", q.Bitrate)
	}
	if _, err := QualityFor("ultra", 8192); err == nil {
		t.Error("an unknown quality was taken")
	}
}

// TestRelayedVideo: another phone's H.264 goes to this phone as it is,
// from its first keyframe, in this stream's numbering; the encoder pauses
// meanwhile and starts again with a keyframe.
func TestRelayedVideo(t *testing.T) {
	phone := newFakePhone(t)
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	video, err := startVideo(VideoConfig{Conn: conn, Remote: phone.addr(), RTCPMux: true, PayloadType: 97, MaxMacroblocks: 3600,
		Quality: VideoQuality{Width: 320, Height: 180, FPS: 15, Bitrate: 300_000}}, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer video.close()
	buf := make([]byte, 1500)
	next := func() rtp.Packet {
		t.Helper()
		_ = phone.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, _, err := phone.conn.ReadFromUDP(buf)
		if err != nil {
			t.Fatal(err)
		}
		var packet rtp.Packet
		if err := packet.Unmarshal(buf[:n]); err != nil {
			t.Fatal(err)
		}
		return packet
	}
	encoded := next()

	if video.canRelay(1920, 1080) || !video.canRelay(352, 288) {
		t.Error("relaying does not follow the phone's level")
	}
	asked := make(chan struct{}, 10)
	video.setRelay(func() { asked <- struct{}{} })
	<-asked
	relayed := []byte{0x65, 0xab, 0xcd} // an IDR slice, as another phone sent it
	video.relay(&rtp.Packet{Header: rtp.Header{PayloadType: 102, SSRC: 7, SequenceNumber: 1, Timestamp: 1000, Marker: true}, Payload: []byte{0x41, 1}})
	video.relay(&rtp.Packet{Header: rtp.Header{PayloadType: 102, SSRC: 7, SequenceNumber: 2, Timestamp: 4000, Marker: true}, Payload: relayed})
	var got rtp.Packet
	for got = next(); !bytes.Equal(got.Payload, relayed); got = next() {
		if got.Payload[0] == 0x41 && len(got.Payload) == 2 {
			t.Fatal("a frame before the first keyframe was relayed")
		}
	}
	if got.SSRC != encoded.SSRC || got.PayloadType != 97 || !got.Marker {
		t.Errorf("relayed as %+v; want this stream's SSRC %d and payload type 97", got.Header, encoded.SSRC)
	}
	// The encoder has paused: what comes now is relayed only.
	video.relay(&rtp.Packet{Header: rtp.Header{SequenceNumber: 3, Timestamp: 7000, Marker: true}, Payload: []byte{0x41, 2}})
	if after := next(); after.SequenceNumber != got.SequenceNumber+1 || after.Timestamp-got.Timestamp != 3000 {
		t.Errorf("the next relayed packet: sequence %d after %d, %d ticks later; want the next one, 3000 ticks", after.SequenceNumber, got.SequenceNumber, after.Timestamp-got.Timestamp)
	}
	if relayed := video.stats.relayed.Load(); relayed != 2 {
		t.Errorf("%d packets relayed, want the keyframe and the one after", relayed)
	}
	// The phone asks for a keyframe: the relayed sender is asked.
	pli, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: encoded.SSRC}})
	if _, err := phone.conn.WriteToUDP(pli, conn.LocalAddr().(*net.UDPAddr)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-asked:
	case <-time.After(2 * time.Second):
		t.Error("the phone's keyframe request did not reach the relayed sender")
	}
	// Back to encoding, from a keyframe.
	video.setRelay(nil)
	if resumed := next(); !h264.StartsKeyframe(resumed.Payload) {
		t.Errorf("encoding resumed with NAL type %d, want a keyframe", resumed.Payload[0]&0x1f)
	}
}
