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

// Codecs the gateway answers with, when the phone offers them.
var answerable = map[string]bool{"PCMU": true, "PCMA": true}

// errNoCommonCodec is answered 488 Not Acceptable Here.
var errNoCommonCodec = errors.New("the offer has no codec Parley speaks (PCMU, PCMA)")

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
		for _, attr := range append(desc.Attributes, media.Attributes...) {
			if attr.Key == "sendonly" || attr.Key == "inactive" {
				o.hold = true
			}
		}
		names := rtpmaps(media)
		for _, format := range media.MediaName.Formats {
			pt, err := strconv.Atoi(format)
			if err != nil || pt < 0 || pt > 127 {
				continue
			}
			name := names[pt]
			if name == "" { // static payload types need no rtpmap
				name = map[int]string{0: "PCMU", 8: "PCMA"}[pt]
			}
			switch {
			case strings.EqualFold(name, "telephone-event"):
				o.dtmfPayloadType = uint8(pt)
			case answerable[strings.ToUpper(name)] && o.codec == "":
				o.codec, o.payloadType = strings.ToUpper(name), uint8(pt)
			}
		}
		if o.codec == "" {
			return offer{}, errNoCommonCodec
		}
		return o, nil
	}
	return offer{}, errNoCommonCodec
}

// rtpmaps reads a=rtpmap:<pt> <name>/<rate> lines (8 kHz ones only: the
// codecs answered here are all narrowband).
func rtpmaps(media *sdp.MediaDescription) map[int]string {
	names := map[int]string{}
	for _, attr := range media.Attributes {
		if attr.Key != "rtpmap" {
			continue
		}
		ptText, encoding, ok := strings.Cut(attr.Value, " ")
		pt, err := strconv.Atoi(ptText)
		if !ok || err != nil {
			continue
		}
		name, rate, _ := strings.Cut(encoding, "/")
		if rate != "" && !strings.HasPrefix(rate, "8000") {
			continue
		}
		names[pt] = name
	}
	return names
}

// payload is one audio format of an SDP media line.
type payload struct {
	payloadType uint8
	codec       string
}

// staticPayloadTypes are the RTP payload types of RFC 3551 for the codecs
// the gateway offers.
var staticPayloadTypes = map[string]uint8{"PCMU": 0, "PCMA": 8}

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
		attributes = append(attributes, sdp.Attribute{Key: "rtpmap", Value: fmt.Sprintf("%d %s/8000", f.payloadType, f.codec)})
	}
	if dtmf != 0 {
		names = append(names, strconv.Itoa(int(dtmf)))
		attributes = append(attributes,
			sdp.Attribute{Key: "rtpmap", Value: fmt.Sprintf("%d telephone-event/8000", dtmf)},
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
