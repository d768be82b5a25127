package sfu

import (
	"errors"
	"fmt"
	"testing"

	"github.com/pion/webrtc/v4"
)

func TestMatchSupportedCodec(t *testing.T) {
	cases := []struct {
		codec  webrtc.RTPCodecCapability
		wantPT webrtc.PayloadType
		ok     bool
	}{
		{webrtc.RTPCodecCapability{MimeType: "video/vp8"}, 96, true},
		{webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, 111, true},
		{webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMA}, 8, true},
		{webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, SDPFmtpLine: "profile-level-id=42e01f;packetization-mode=1"}, 106, true},
		{webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, SDPFmtpLine: "packetization-mode=1;profile-level-id=42001F;level-asymmetry-allowed=1"}, 102, true},
		{webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, SDPFmtpLine: "profile-level-id=42e01f;packetization-mode=0"}, 0, false},
		{webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, SDPFmtpLine: "profile-level-id=640032;packetization-mode=1"}, 0, false},
		{webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP9}, 0, false},
	}
	for _, c := range cases {
		got, ok := matchSupportedCodec(c.codec)
		if ok != c.ok || (ok && got.PayloadType != c.wantPT) {
			t.Errorf("matchSupportedCodec(%s %q) = %d, %v; want %d, %v", c.codec.MimeType, c.codec.SDPFmtpLine, got.PayloadType, ok, c.wantPT, c.ok)
		}
	}
}

func TestValidateTracks(t *testing.T) {
	valid := []TrackInfo{{Mid: "0", Source: SourceMicrophone}, {Mid: "1", Source: SourceCamera}, {Mid: "2", Source: SourceScreen}}
	if err := validateTracks(valid); err != nil {
		t.Errorf("valid tracks refused: %v", err)
	}
	for _, tracks := range [][]TrackInfo{
		{{Mid: "", Source: SourceCamera}},
		{{Mid: "0", Source: "webcam"}},
		{{Mid: "0", Source: SourceCamera}, {Mid: "0", Source: SourceScreen}},
		{{Mid: "0", Source: SourceCamera}, {Mid: "1", Source: SourceCamera}},
	} {
		if err := validateTracks(tracks); !errors.Is(err, ErrInvalid) {
			t.Errorf("validateTracks(%+v) = %v, want ErrInvalid", tracks, err)
		}
	}
}

func TestICEUfrag(t *testing.T) {
	sdp := "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:AbCd\r\na=ice-pwd:x\r\n"
	if got := iceUfrag(sdp); got != "AbCd" {
		t.Errorf("iceUfrag = %q, want AbCd", got)
	}
	if got := iceUfrag("v=0\r\n"); got != "" {
		t.Errorf("iceUfrag without one = %q", got)
	}
}

func TestCodecPreferencesPutThePublishersFirst(t *testing.T) {
	var vp8, h264 webrtc.RTPCodecParameters
	for _, codec := range supportedCodecs() {
		switch {
		case codec.MimeType == webrtc.MimeTypeVP8:
			vp8 = codec
		case codec.PayloadType == 106:
			h264 = codec
		}
	}
	h264.PayloadType = 125 // as a publisher's offer may number it
	got := codecPreferences(h264)
	var names []string
	for _, codec := range got {
		names = append(names, fmt.Sprintf("%d %s %s", codec.PayloadType, codec.MimeType, codec.SDPFmtpLine))
	}
	if len(got) != 3 || got[0].PayloadType != 125 || got[1].MimeType != webrtc.MimeTypeVP8 || got[2].PayloadType != 102 {
		t.Errorf("preferences for a phone's H.264: %q; want it, VP8, then the other H.264 profile", names)
	}
	if got := codecPreferences(vp8); len(got) != 3 || got[0].MimeType != webrtc.MimeTypeVP8 {
		t.Errorf("preferences for VP8: %v", got)
	}
}
