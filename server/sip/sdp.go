package sip

import (
	"errors"
	"fmt"
	"net/netip"
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
		if proto := strings.Join(media.MediaName.Protos, "/"); proto != "RTP/AVP" {
			continue // RTP/SAVP (SDES) comes later; a phone offering only that gets 488
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
		o := offer{remote: netip.AddrPortFrom(addr.Unmap(), uint16(media.MediaName.Port.Value))}
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

// answer is the SDP of the gateway's side of a call.
func answer(local netip.Addr, port int, o offer, sessionID uint64) ([]byte, error) {
	network := "IP4"
	if local.Is6() {
		network = "IP6"
	}
	formats := []string{strconv.Itoa(int(o.payloadType))}
	attributes := []sdp.Attribute{
		{Key: "rtpmap", Value: fmt.Sprintf("%d %s/8000", o.payloadType, o.codec)},
	}
	if o.dtmfPayloadType != 0 {
		formats = append(formats, strconv.Itoa(int(o.dtmfPayloadType)))
		attributes = append(attributes,
			sdp.Attribute{Key: "rtpmap", Value: fmt.Sprintf("%d telephone-event/8000", o.dtmfPayloadType)},
			sdp.Attribute{Key: "fmtp", Value: fmt.Sprintf("%d 0-16", o.dtmfPayloadType)})
	}
	attributes = append(attributes, sdp.Attribute{Key: "ptime", Value: "20"}, sdp.Attribute{Key: "sendrecv"})
	desc := sdp.SessionDescription{
		Origin: sdp.Origin{Username: "parley", SessionID: sessionID, SessionVersion: sessionID,
			NetworkType: "IN", AddressType: network, UnicastAddress: local.String()},
		SessionName:           "Parley",
		ConnectionInformation: &sdp.ConnectionInformation{NetworkType: "IN", AddressType: network, Address: &sdp.Address{Address: local.String()}},
		TimeDescriptions:      []sdp.TimeDescription{{}},
		MediaDescriptions: []*sdp.MediaDescription{{
			MediaName:  sdp.MediaName{Media: "audio", Port: sdp.RangedPort{Value: port}, Protos: []string{"RTP", "AVP"}, Formats: formats},
			Attributes: attributes,
		}},
	}
	return desc.Marshal()
}
