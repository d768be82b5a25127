package sip

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

func TestDialStrings(t *testing.T) {
	for _, c := range []struct {
		user       string
		candidates []string
		pin        string
	}{
		{"4820117735", []string{"4820117735"}, ""},
		{"004820117735", []string{"004820117735", "4820117735"}, ""},
		{"004820117735,4711", []string{"004820117735", "4820117735"}, "4711"},
		{"weekly-sync,123456", []string{"weekly-sync"}, "123456"},
		{"parley", []string{"parley"}, ""},
		{"", nil, ""},
		{"4711,12", []string{"4711"}, ""}, // too short to be a PIN
		{"bad cid!", nil, ""},
	} {
		d := parseDialString(c.user)
		if !slices.Equal(d.candidates, c.candidates) || d.pin != c.pin {
			t.Errorf("%q: %v, %q; want %v, %q", c.user, d.candidates, d.pin, c.candidates, c.pin)
		}
	}
}

const phoneOffer = "v=0\r\no=phone 1 1 IN IP4 192.0.2.7\r\ns=-\r\nc=IN IP4 192.0.2.7\r\nt=0 0\r\n" +
	"m=video 5002 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n" +
	"m=audio 5000 RTP/AVP 9 8 0 101\r\na=rtpmap:9 G722/8000\r\na=rtpmap:101 telephone-event/8000\r\n"

func TestOfferPicksTheFirstCodecWeSpeak(t *testing.T) {
	o, err := readOffer([]byte(phoneOffer))
	if err != nil {
		t.Fatal(err)
	}
	if o.codec != "G722" || o.payloadType != 9 || o.dtmfPayloadType != 101 || o.remote != netip.MustParseAddrPort("192.0.2.7:5000") {
		t.Errorf("offer read as %+v", o)
	}
	body, err := answer(netip.MustParseAddr("192.0.2.1"), o, 42, 1, answerStreams{audioPort: 50010})
	if err != nil {
		t.Fatal(err)
	}
	// The video is refused (no port for it), in its place before the audio.
	for _, want := range []string{"c=IN IP4 192.0.2.1", "m=video 0 RTP/AVP 96\r\nm=audio 50010 RTP/AVP 9 101", "a=rtpmap:9 G722/8000", "a=rtpmap:101 telephone-event/8000"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("answer lacks %q:\n%s", want, body)
		}
	}
	if _, err := readOffer([]byte(strings.ReplaceAll(phoneOffer, "9 8 0 101", "18 101"))); err != errNoCommonCodec {
		t.Errorf("an offer of G.729 only: %v, want errNoCommonCodec", err)
	}
}

func TestINFOKeys(t *testing.T) {
	for _, c := range []struct {
		contentType, body string
		key               byte
		ok                bool
	}{
		{"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", '5', true},
		{"application/dtmf-relay", "Signal= #\r\n", '#', true},
		{"application/dtmf", "11", '#', true},
		{"application/dtmf", "*", '*', true},
		{"text/plain", "5", 0, false},
		{"application/dtmf-relay", "Signal=55", 0, false},
	} {
		req := sip.NewRequest(sip.INFO, sip.Uri{User: "x", Host: "127.0.0.1"})
		req.AppendHeader(sip.NewHeader("Content-Type", c.contentType))
		req.SetBody([]byte(c.body))
		if key, ok := infoKey(req); key != c.key || ok != c.ok {
			t.Errorf("%s %q: %q %v, want %q %v", c.contentType, c.body, key, ok, c.key, c.ok)
		}
	}
}

func FuzzReadOffer(f *testing.F) {
	f.Add([]byte(phoneOffer))
	f.Add([]byte("v=0\r\nm=audio 0 RTP/AVP 0\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		o, err := readOffer(body)
		if err == nil && (o.codec == "" || !o.remote.IsValid()) {
			t.Fatalf("an offer without codec or address was taken: %+v", o)
		}
	})
}

func FuzzDialString(f *testing.F) {
	f.Add("004711,1234")
	f.Fuzz(func(t *testing.T, user string) {
		d := parseDialString(user)
		if len(d.candidates) > 2 {
			t.Fatalf("%d candidates", len(d.candidates))
		}
	})
}

func TestOfferWithSDESKeys(t *testing.T) {
	key := "WnD7c1ksDGs+dIefCEo8omPg4uO8DYIinNGL5yxQ"
	savp := "v=0\r\no=phone 1 1 IN IP4 192.0.2.7\r\ns=-\r\nc=IN IP4 192.0.2.7\r\nt=0 0\r\n" +
		"m=audio 5000 RTP/SAVP 0\r\na=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:" + key + "|2^20|1:4\r\n" +
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "\r\na=crypto:3 F8_128_HMAC_SHA1_80 inline:" + key + "\r\n"
	o, err := readOffer([]byte(savp))
	if err != nil {
		t.Fatal(err)
	}
	if o.srtp == nil || o.srtp.tag != "1" || o.srtp.suite != "AES_CM_128_HMAC_SHA1_80" || len(o.srtp.key) != srtpKeyLength {
		t.Fatalf("keys read as %+v", o.srtp)
	}
	local := &sdes{tag: "1", suite: "AES_CM_128_HMAC_SHA1_80", key: make([]byte, srtpKeyLength)}
	body, err := answer(netip.MustParseAddr("192.0.2.1"), o, 1, 1, answerStreams{audioPort: 50010, audioKey: local})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), "m=audio 50010 RTP/SAVP 0") || !strings.Contains(string(body), "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAAA") {
		t.Errorf("answer:\n%s", body)
	}
	// SAVP with no suite we speak is no offer we can take.
	if _, err := readOffer([]byte(strings.ReplaceAll(strings.ReplaceAll(savp, "AES_CM_128_HMAC_SHA1_80", "F8"), "AES_CM_128_HMAC_SHA1_32", "F8"))); err != errNoCommonCodec {
		t.Errorf("SAVP without a known suite: %v", err)
	}
}

// baresipOffer is what baresip 1.0 with its avcodec module offers.
const baresipOffer = "v=0\r\no=- 1 1 IN IP4 192.0.2.2\r\ns=-\r\nc=IN IP4 192.0.2.2\r\nt=0 0\r\n" +
	"m=audio 44904 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n" +
	"m=video 36500 RTP/AVP 96 97 34 99\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=0;profile-level-id=42e01f\r\n" +
	"a=rtpmap:97 H264/90000\r\na=fmtp:97 packetization-mode=1;profile-level-id=42e01f\r\na=rtpmap:34 H263/90000\r\n" +
	"a=rtpmap:99 H265/90000\r\na=sendrecv\r\na=rtcp-mux\r\n" +
	"m=application 9 UDP/BFCP *\r\n"

func TestOfferWithH264Video(t *testing.T) {
	o, err := readOffer([]byte(baresipOffer))
	if err != nil {
		t.Fatal(err)
	}
	v := o.video
	if v == nil || v.payloadType != 97 || v.singleNAL || !v.constrained || v.maxMacroblocks != 3600 || !v.rtcpMux ||
		v.remote != netip.MustParseAddrPort("192.0.2.2:36500") {
		t.Fatalf("video read as %+v", v)
	}
	body, err := answer(netip.MustParseAddr("192.0.2.1"), o, 1, 1, answerStreams{audioPort: 50010, videoPort: 50012})
	if err != nil {
		t.Fatal(err)
	}
	// Packetization mode 1 is taken over 0, though offered second.
	for _, want := range []string{"m=audio 50010 RTP/AVP 0 101\r\n", "m=video 50012 RTP/AVP 97\r\n",
		"a=fmtp:97 profile-level-id=42e01f;packetization-mode=1\r\n", "a=rtcp-fb:97 ccm fir\r\n", "a=rtcp-mux\r\n",
		"m=application 0 UDP/BFCP *\r\n"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("answer lacks %q:\n%s", want, body)
		}
	}
	// Only baseline profiles.
	for profile, ok := range map[string]bool{"42e01f": true, "42001e": true, "640c1f": false, "640028": false, "4d001f": false, "zz": false} {
		offer := strings.ReplaceAll(strings.ReplaceAll(baresipOffer, "profile-level-id=42e01f", "profile-level-id="+profile), "96 97", "96")
		offer = strings.ReplaceAll(offer, "a=rtpmap:97 H264/90000\r\n", "")
		o, err := readOffer([]byte(offer))
		if err != nil || (o.video != nil) != ok {
			t.Errorf("profile %s: video %+v, %v; want taken %v", profile, o.video, err, ok)
		}
	}
}

func TestOfferWithSingleNALVideoOnly(t *testing.T) {
	o, err := readOffer([]byte(strings.ReplaceAll(baresipOffer, "96 97", "96")))
	if err != nil || o.video == nil || o.video.payloadType != 96 || !o.video.singleNAL {
		t.Errorf("video %+v, %v; want packetization-mode 0 on 96", o.video, err)
	}
}

func TestVideoLevels(t *testing.T) {
	for level, want := range map[byte]int{9: 99, 10: 99, 11: 396, 13: 396, 20: 396, 21: 792, 22: 1620, 30: 1620, 31: 3600, 32: 5120, 40: 8192} {
		if got := levelMacroblocks(level); got != want {
			t.Errorf("level %d: %d macroblocks, want %d", level, got, want)
		}
	}
}

func TestPictureFastUpdate(t *testing.T) {
	req := sip.NewRequest(sip.INFO, sip.Uri{User: "x", Host: "127.0.0.1"})
	req.AppendHeader(sip.NewHeader("Content-Type", "application/media_control+xml"))
	req.SetBody([]byte(`<?xml version="1.0" encoding="utf-8" ?><media_control><vc_primitive><to_encoder><picture_fast_update/></to_encoder></vc_primitive></media_control>`))
	if !isPictureFastUpdate(req) {
		t.Error("RFC 5168's example is no picture_fast_update")
	}
	req.SetBody([]byte("Signal=5"))
	if isPictureFastUpdate(req) {
		t.Error("a key is a picture_fast_update")
	}
}
