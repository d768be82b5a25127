package sip

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// offer is what a phone's SDP offer means for the call's media.
type offer struct {
	remote          netip.AddrPort // where the phone receives RTP
	codec           string         // the first codec of the offer we can use
	payloadType     uint8
	dtmfPayloadType uint8 // 0: none offered
	// hold: the phone sends nothing and wants nothing (sendonly or
	// inactive, or the old way, a connection address of 0.0.0.0).
	hold bool
	// srtp is set when the phone offers RTP/SAVP with SDES keys (RFC
	// 4568): the media is encrypted both ways.
	srtp *sdes
	// video is the H.264 stream the gateway can take, nil if none.
	video *videoOffer
	// lines are the offer's m= lines in order: the answer has one for
	// each (RFC 3264), the ones not taken with port 0.
	lines []offeredLine
}

// offeredLine is one m= line of an offer and what the answer does with it.
type offeredLine struct {
	media  string // audio, video...
	protos []string
	format string // one of its formats, for a refusal
	role   string // "audio", "video" (taken), or "" (refused)
}

// videoOffer is the H.264 video a phone offers, as the gateway takes it.
type videoOffer struct {
	remote      netip.AddrPort
	payloadType uint8
	// profileLevelID is the offer's, echoed in the answer; constrained
	// is true for constrained baseline.
	profileLevelID string
	constrained    bool
	// maxMacroblocks is the largest picture the phone decodes, from its
	// level or max-fs (RFC 6184), in 16x16 macroblocks.
	maxMacroblocks int
	singleNAL      bool // packetization-mode 0
	rtcpMux        bool
	hold           bool
	srtp           *sdes
}

// sdes is one side's SRTP keying: the crypto attribute's tag and suite,
// and the master key and salt (30 bytes for the AES-CM suites).
type sdes struct {
	tag   string
	suite string
	key   []byte
}

// SRTP suites the gateway takes, best first.
var srtpSuites = []string{"AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"}

// srtpKeyLength is the master key and salt of the AES-CM suites.
const srtpKeyLength = 30

// readCrypto picks the best supported a=crypto line of an audio stream.
func readCrypto(media *sdp.MediaDescription) (*sdes, bool) {
	var best *sdes
	bestRank := len(srtpSuites)
	for _, attr := range media.Attributes {
		if attr.Key != "crypto" {
			continue
		}
		fields := strings.Fields(attr.Value)
		if len(fields) < 3 {
			continue
		}
		rank := slices.Index(srtpSuites, fields[1])
		params, ok := strings.CutPrefix(fields[2], "inline:")
		if rank < 0 || !ok || rank >= bestRank {
			continue
		}
		encoded, _, _ := strings.Cut(params, "|") // lifetime and MKI are not used
		key, err := base64.StdEncoding.DecodeString(encoded)
		if err != nil || len(key) != srtpKeyLength {
			continue
		}
		best, bestRank = &sdes{tag: fields[0], suite: fields[1], key: key}, rank
	}
	return best, best != nil
}

// Codecs the gateway answers with, when the phone offers them, and their
// RTP clocks.
var (
	answerable = map[rtpmap]bool{{"PCMU", 8000}: true, {"PCMA", 8000}: true, {"G722", 8000}: true, {"OPUS", 48000}: true}
	clockRate  = map[string]int{"PCMU": 8000, "PCMA": 8000, "G722": 8000, "OPUS": 48000}
)

// errNoCommonCodec is answered 488 Not Acceptable Here.
var errNoCommonCodec = errors.New("the offer has no codec Parley speaks (PCMU, PCMA, G722, opus)")

// readOffer picks the audio stream and codec of an SDP offer, and the
// H.264 video if there is some.
func readOffer(body []byte) (offer, error) {
	var desc sdp.SessionDescription
	if err := desc.Unmarshal(body); err != nil {
		return offer{}, fmt.Errorf("SDP: %w", err)
	}
	var o offer
	haveAudio := false
	for _, media := range desc.MediaDescriptions {
		line := offeredLine{media: media.MediaName.Media, protos: media.MediaName.Protos, format: "0"}
		if len(media.MediaName.Formats) > 0 {
			line.format = media.MediaName.Formats[0]
		}
		switch {
		case media.MediaName.Port.Value == 0:
		case line.media == "audio" && !haveAudio:
			audio, err := readAudio(&desc, media)
			if errors.Is(err, errNoCommonCodec) {
				break
			}
			if err != nil {
				return offer{}, err
			}
			video, lines := o.video, o.lines
			o, haveAudio, line.role = audio, true, "audio"
			o.video, o.lines = video, lines
		case line.media == "video" && o.video == nil:
			video, err := readVideo(&desc, media)
			if err != nil {
				return offer{}, err
			}
			if video != nil {
				o.video, line.role = video, "video"
			}
		}
		o.lines = append(o.lines, line)
	}
	if !haveAudio {
		return offer{}, errNoCommonCodec
	}
	return o, nil
}

// streamAddress is where a stream of an SDP goes, and whether that means
// hold (sendonly or inactive, or the old way, a connection address of
// 0.0.0.0).
func streamAddress(desc *sdp.SessionDescription, media *sdp.MediaDescription) (netip.AddrPort, bool, error) {
	connection := media.ConnectionInformation
	if connection == nil {
		connection = desc.ConnectionInformation
	}
	if connection == nil || connection.Address == nil {
		return netip.AddrPort{}, false, fmt.Errorf("SDP: no connection address for the %s", media.MediaName.Media)
	}
	addr, err := netip.ParseAddr(connection.Address.Address)
	if err != nil {
		return netip.AddrPort{}, false, fmt.Errorf("SDP: connection address %q is not an IP address", connection.Address.Address)
	}
	hold := addr.IsUnspecified()
	for _, attr := range append(desc.Attributes, media.Attributes...) {
		if attr.Key == "sendonly" || attr.Key == "inactive" {
			hold = true
		}
	}
	return netip.AddrPortFrom(addr.Unmap(), uint16(media.MediaName.Port.Value)), hold, nil
}

// streamKeys reads the profile of a stream: RTP/AVP, or RTP/SAVP with a
// crypto suite the gateway speaks; ok is false for anything else.
func streamKeys(media *sdp.MediaDescription) (keys *sdes, ok bool) {
	switch strings.Join(media.MediaName.Protos, "/") {
	case "RTP/AVP":
		return nil, true
	case "RTP/SAVP":
		return readCrypto(media)
	}
	return nil, false
}

// readAudio reads an audio stream; errNoCommonCodec if the gateway can
// take none of it.
func readAudio(desc *sdp.SessionDescription, media *sdp.MediaDescription) (offer, error) {
	keys, ok := streamKeys(media)
	if !ok {
		return offer{}, errNoCommonCodec
	}
	remote, hold, err := streamAddress(desc, media)
	if err != nil {
		return offer{}, err
	}
	o := offer{remote: remote, hold: hold, srtp: keys}
	events := map[int]uint8{} // telephone-event payload types by clock rate
	formats := rtpmaps(media)
	for _, format := range media.MediaName.Formats {
		pt, err := strconv.Atoi(format)
		if err != nil || pt < 0 || pt > 127 {
			continue
		}
		f, mapped := formats[pt]
		if !mapped { // static payload types need no rtpmap
			f = map[int]rtpmap{0: {"PCMU", 8000}, 8: {"PCMA", 8000}, 9: {"G722", 8000}}[pt]
		}
		if f.name == "TELEPHONE-EVENT" {
			events[f.rate] = uint8(pt)
		} else if answerable[f] && o.codec == "" {
			o.codec, o.payloadType = f.name, uint8(pt)
		}
	}
	// Keys must tick with the voice's clock (RFC 4733).
	o.dtmfPayloadType = events[clockRate[o.codec]]
	if o.codec == "" {
		return offer{}, errNoCommonCodec
	}
	return o, nil
}

// readVideo reads a video stream: an H.264 format of a baseline profile,
// packetization-mode 1 if offered (the gateway can then relay other
// phones' video as it is), else 0; nil if there is none.
func readVideo(desc *sdp.SessionDescription, media *sdp.MediaDescription) (*videoOffer, error) {
	keys, ok := streamKeys(media)
	if !ok {
		return nil, nil
	}
	var chosen *videoOffer
	formats, fmtps := rtpmaps(media), fmtpLines(media)
	for _, format := range media.MediaName.Formats {
		pt, err := strconv.Atoi(format)
		if err != nil || pt < 96 || pt > 127 || formats[pt] != (rtpmap{"H264", 90000}) {
			continue
		}
		params := fmtps[pt]
		mode := params["packetization-mode"]
		if mode != "" && mode != "0" && mode != "1" {
			continue
		}
		profileLevelID := params["profile-level-id"]
		if profileLevelID == "" {
			profileLevelID = "42000a" // RFC 6184's default: baseline, level 1
		}
		constrained, level, ok := baselineProfile(profileLevelID)
		better := chosen == nil || chosen.singleNAL && mode == "1"
		if !ok || !better {
			continue
		}
		chosen = &videoOffer{payloadType: uint8(pt), profileLevelID: profileLevelID,
			constrained: constrained, maxMacroblocks: levelMacroblocks(level), singleNAL: mode != "1", srtp: keys}
		if maxFS, err := strconv.Atoi(params["max-fs"]); err == nil && maxFS > chosen.maxMacroblocks {
			chosen.maxMacroblocks = maxFS
		}
	}
	if chosen == nil {
		return nil, nil
	}
	var err error
	if chosen.remote, chosen.hold, err = streamAddress(desc, media); err != nil {
		return nil, err
	}
	for _, attr := range media.Attributes {
		if attr.Key == "rtcp-mux" {
			chosen.rtcpMux = true
		}
	}
	return chosen, nil
}

// baselineProfile reads a profile-level-id: whether it is baseline
// (what the server forwards to browsers), constrained (constraint_set1:
// the stream suits main profile decoders too), and the level. The phone
// sends what it offers, so main and high profiles are refused.
func baselineProfile(profileLevelID string) (constrained bool, level byte, ok bool) {
	raw, err := hex.DecodeString(profileLevelID)
	if err != nil || len(raw) != 3 || raw[0] != 0x42 {
		return false, 0, false
	}
	return raw[1]&0x40 != 0, raw[2], true
}

// levelMacroblocks is the largest frame of an H.264 level (MaxFS, table
// A-1), in macroblocks.
func levelMacroblocks(level byte) int {
	switch {
	case level <= 10:
		return 99 // QCIF (10 is 1.0, 9 is 1b)
	case level <= 20:
		return 396
	case level == 21:
		return 792
	case level <= 30:
		return 1620
	case level == 31:
		return 3600
	case level == 32:
		return 5120
	default:
		return 8192 // 4 and up: 1080p
	}
}

// fmtpLines reads the a=fmtp:<pt> k=v;k=v lines.
func fmtpLines(media *sdp.MediaDescription) map[int]map[string]string {
	lines := map[int]map[string]string{}
	for _, attr := range media.Attributes {
		if attr.Key != "fmtp" {
			continue
		}
		ptText, paramText, _ := strings.Cut(attr.Value, " ")
		pt, err := strconv.Atoi(ptText)
		if err != nil {
			continue
		}
		params := map[string]string{}
		for _, param := range strings.Split(paramText, ";") {
			key, value, _ := strings.Cut(strings.TrimSpace(param), "=")
			params[strings.ToLower(key)] = value
		}
		lines[pt] = params
	}
	return lines
}

// rtpmap is a payload type's encoding: its name (upper case) and clock
// rate.
type rtpmap struct {
	name string
	rate int
}

// rtpmaps reads the a=rtpmap:<pt> <name>/<rate>[/<channels>] lines.
func rtpmaps(media *sdp.MediaDescription) map[int]rtpmap {
	formats := map[int]rtpmap{}
	for _, attr := range media.Attributes {
		if attr.Key != "rtpmap" {
			continue
		}
		ptText, encoding, ok := strings.Cut(attr.Value, " ")
		pt, err := strconv.Atoi(ptText)
		if !ok || err != nil {
			continue
		}
		parts := strings.Split(encoding, "/")
		if len(parts) < 2 {
			continue
		}
		rate, err := strconv.Atoi(parts[1])
		if err != nil {
			continue
		}
		formats[pt] = rtpmap{strings.ToUpper(parts[0]), rate}
	}
	return formats
}

// payload is one audio format of an SDP media line.
type payload struct {
	payloadType uint8
	codec       string
}

// staticPayloadTypes are the RTP payload types of RFC 3551 for the codecs
// the gateway offers.
var staticPayloadTypes = map[string]uint8{"PCMU": 0, "PCMA": 8, "G722": 9}

// answerStreams are the gateway's side of the streams it takes: ports
// (videoPort 0 refuses the video) and, with SRTP, its keys under the
// offer's tags.
type answerStreams struct {
	audioPort, videoPort int
	audioKey, videoKey   *sdes
}

// answer is the SDP of the gateway's side of a call it answers: the one
// audio codec it chose from the offer, the H.264 video if it takes it,
// and every other line of the offer refused.
func answer(local netip.Addr, o offer, sessionID, version uint64, streams answerStreams) ([]byte, error) {
	var medias []*sdp.MediaDescription
	for _, line := range o.lines {
		switch {
		case line.role == "audio":
			medias = append(medias, audioDescription(streams.audioPort, []payload{{o.payloadType, o.codec}}, o.dtmfPayloadType, streams.audioKey))
		case line.role == "video" && streams.videoPort != 0:
			v := o.video
			mode := "1"
			if v.singleNAL {
				mode = "0"
			}
			medias = append(medias, videoDescription(streams.videoPort, []uint8{v.payloadType},
				[]string{"profile-level-id=" + v.profileLevelID + ";packetization-mode=" + mode}, v.rtcpMux, streams.videoKey))
		default:
			medias = append(medias, &sdp.MediaDescription{MediaName: sdp.MediaName{Media: line.media, Port: sdp.RangedPort{Value: 0},
				Protos: line.protos, Formats: []string{line.format}}})
		}
	}
	return sessionDescription(local, sessionID, version, medias)
}

// audioDescription is an audio stream of the given formats, with RFC 4733
// keys on dtmf unless it is 0; keys, if set, make it RTP/SAVP.
func audioDescription(port int, formats []payload, dtmf uint8, keys *sdes) *sdp.MediaDescription {
	var names []string
	var attributes []sdp.Attribute
	for _, f := range formats {
		names = append(names, strconv.Itoa(int(f.payloadType)))
		if f.codec == "OPUS" {
			attributes = append(attributes, sdp.Attribute{Key: "rtpmap", Value: fmt.Sprintf("%d opus/48000/2", f.payloadType)},
				sdp.Attribute{Key: "fmtp", Value: fmt.Sprintf("%d useinbandfec=1; stereo=0; sprop-stereo=0", f.payloadType)})
		} else {
			attributes = append(attributes, sdp.Attribute{Key: "rtpmap", Value: fmt.Sprintf("%d %s/%d", f.payloadType, f.codec, clockRate[f.codec])})
		}
	}
	if dtmf != 0 && len(formats) > 0 {
		names = append(names, strconv.Itoa(int(dtmf)))
		attributes = append(attributes,
			sdp.Attribute{Key: "rtpmap", Value: fmt.Sprintf("%d telephone-event/%d", dtmf, clockRate[formats[0].codec])},
			sdp.Attribute{Key: "fmtp", Value: fmt.Sprintf("%d 0-16", dtmf)})
	}
	attributes = append(attributes, sdp.Attribute{Key: "ptime", Value: "20"}, sdp.Attribute{Key: "sendrecv"})
	return streamDescription("audio", port, names, attributes, keys)
}

// videoDescription is an H.264 stream of the given formats (payload
// types and their fmtp); the gateway asks for keyframes by RTCP PLI and
// FIR and takes both.
func videoDescription(port int, payloadTypes []uint8, fmtps []string, rtcpMux bool, keys *sdes) *sdp.MediaDescription {
	var names []string
	var attributes []sdp.Attribute
	for i, payloadType := range payloadTypes {
		pt := strconv.Itoa(int(payloadType))
		names = append(names, pt)
		attributes = append(attributes,
			sdp.Attribute{Key: "rtpmap", Value: pt + " H264/90000"},
			sdp.Attribute{Key: "fmtp", Value: pt + " " + fmtps[i]},
			sdp.Attribute{Key: "rtcp-fb", Value: pt + " nack pli"},
			sdp.Attribute{Key: "rtcp-fb", Value: pt + " ccm fir"})
	}
	attributes = append(attributes, sdp.Attribute{Key: "sendrecv"})
	if rtcpMux {
		attributes = append(attributes, sdp.Attribute{Key: "rtcp-mux"})
	}
	return streamDescription("video", port, names, attributes, keys)
}

func streamDescription(kind string, port int, formats []string, attributes []sdp.Attribute, keys *sdes) *sdp.MediaDescription {
	protos := []string{"RTP", "AVP"}
	if keys != nil {
		protos = []string{"RTP", "SAVP"}
		attributes = append(attributes, sdp.Attribute{Key: "crypto",
			Value: keys.tag + " " + keys.suite + " inline:" + base64.StdEncoding.EncodeToString(keys.key)})
	}
	return &sdp.MediaDescription{MediaName: sdp.MediaName{Media: kind, Port: sdp.RangedPort{Value: port}, Protos: protos, Formats: formats},
		Attributes: attributes}
}

// sessionDescription writes an SDP of the given streams; version goes up
// with every new description of the same session.
func sessionDescription(local netip.Addr, sessionID, version uint64, medias []*sdp.MediaDescription) ([]byte, error) {
	network := "IP4"
	if local.Is6() {
		network = "IP6"
	}
	desc := sdp.SessionDescription{
		Origin: sdp.Origin{Username: "parley", SessionID: sessionID, SessionVersion: version,
			NetworkType: "IN", AddressType: network, UnicastAddress: local.String()},
		SessionName:           "Parley",
		ConnectionInformation: &sdp.ConnectionInformation{NetworkType: "IN", AddressType: network, Address: &sdp.Address{Address: local.String()}},
		TimeDescriptions:      []sdp.TimeDescription{{}},
		MediaDescriptions:     medias,
	}
	return desc.Marshal()
}
