package sip

import (
	"encoding/base64"
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

// readOffer picks the audio stream and codec of an SDP offer.
func readOffer(body []byte) (offer, error) {
	var desc sdp.SessionDescription
	if err := desc.Unmarshal(body); err != nil {
		return offer{}, fmt.Errorf("SDP: %w", err)
	}
	for _, media := range desc.MediaDescriptions {
		if media.MediaName.Media != "audio" || media.MediaName.Port.Value == 0 {
			continue
		}
		var keys *sdes
		switch strings.Join(media.MediaName.Protos, "/") {
		case "RTP/AVP":
		case "RTP/SAVP":
			var ok bool
			if keys, ok = readCrypto(media); !ok {
				continue // no suite we speak
			}
		default:
			continue
		}
		connection := media.ConnectionInformation
		if connection == nil {
			connection = desc.ConnectionInformation
		}
		if connection == nil || connection.Address == nil {
			return offer{}, errors.New("SDP: no connection address for the audio")
		}
		addr, err := netip.ParseAddr(connection.Address.Address)
		if err != nil {
			return offer{}, fmt.Errorf("SDP: connection address %q is not an IP address", connection.Address.Address)
		}
		o := offer{remote: netip.AddrPortFrom(addr.Unmap(), uint16(media.MediaName.Port.Value)), hold: addr.IsUnspecified(), srtp: keys}
		events := map[int]uint8{} // telephone-event payload types by clock rate
		for _, attr := range append(desc.Attributes, media.Attributes...) {
			if attr.Key == "sendonly" || attr.Key == "inactive" {
				o.hold = true
			}
		}
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
	return offer{}, errNoCommonCodec
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

// answer is the SDP of the gateway's side of a call it answers: the one
// codec it chose from the offer, and keys if the phone offered them.
// With SRTP it carries our own key (local) under the offer's tag.
func answer(local netip.Addr, port int, o offer, sessionID, version uint64, localKey *sdes) ([]byte, error) {
	return describe(local, port, []payload{{o.payloadType, o.codec}}, o.dtmfPayloadType, sessionID, version, localKey)
}

// describe writes an SDP with one audio stream of the given formats, and
// RFC 4733 keys on dtmf unless it is 0. version goes up with every new
// description of the same session. keys, if set, make it RTP/SAVP.
func describe(local netip.Addr, port int, formats []payload, dtmf uint8, sessionID, version uint64, keys *sdes) ([]byte, error) {
	network := "IP4"
	if local.Is6() {
		network = "IP6"
	}
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
	protos := []string{"RTP", "AVP"}
	if keys != nil {
		protos = []string{"RTP", "SAVP"}
		attributes = append(attributes, sdp.Attribute{Key: "crypto",
			Value: keys.tag + " " + keys.suite + " inline:" + base64.StdEncoding.EncodeToString(keys.key)})
	}
	desc := sdp.SessionDescription{
		Origin: sdp.Origin{Username: "parley", SessionID: sessionID, SessionVersion: version,
			NetworkType: "IN", AddressType: network, UnicastAddress: local.String()},
		SessionName:           "Parley",
		ConnectionInformation: &sdp.ConnectionInformation{NetworkType: "IN", AddressType: network, Address: &sdp.Address{Address: local.String()}},
		TimeDescriptions:      []sdp.TimeDescription{{}},
		MediaDescriptions: []*sdp.MediaDescription{{
			MediaName:  sdp.MediaName{Media: "audio", Port: sdp.RangedPort{Value: port}, Protos: protos, Formats: names},
			Attributes: attributes,
		}},
	}
	return desc.Marshal()
}
