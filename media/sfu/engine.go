package sfu

import (
	"fmt"
	"io"
	"strings"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/parleyhq/parley/media/pionlog"
)

// Bandwidth estimation. The subscribe connection runs pion's send-side
// Google Congestion Control (pkg/gcc behind pkg/cc): the SFU stamps every
// packet it sends with a transport-wide sequence number and the client's
// transport-cc feedback drives a delay- and loss-based estimate. Browsers
// stop sending REMB as soon as transport-cc is negotiated, so GCC is the
// estimate that actually exists for them. Pion's GCC decreases to 85 % of
// the received rate on overuse and recovers at 8 % a second; the floor keeps
// one brief false overuse (scheduling jitter on a busy server) from holding
// every subscriber on the smallest layer for many seconds. The pacer is the
// no-op one: packets leave as soon as the down track writes them, the layer
// choice is what keeps the rate under the estimate.
const (
	initialBitrate = 2_000_000
	minimumBitrate = 300_000
	maximumBitrate = 50_000_000
)

// supportedCodecs are the codecs the SFU accepts from publishers and offers
// to subscribers, with the payload types it offers them under.
func supportedCodecs() []webrtc.RTPCodecParameters {
	videoFeedback := []webrtc.RTCPFeedback{
		{Type: webrtc.TypeRTCPFBGoogREMB},
		{Type: webrtc.TypeRTCPFBCCM, Parameter: "fir"},
		{Type: webrtc.TypeRTCPFBNACK},
		{Type: webrtc.TypeRTCPFBNACK, Parameter: "pli"},
		{Type: webrtc.TypeRTCPFBTransportCC},
	}
	audioFeedback := []webrtc.RTCPFeedback{{Type: webrtc.TypeRTCPFBTransportCC}}
	return []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1", RTCPFeedback: audioFeedback,
		}, PayloadType: 111},
		{RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, RTCPFeedback: audioFeedback,
		}, PayloadType: 0},
		{RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypePCMA, ClockRate: 8000, RTCPFeedback: audioFeedback,
		}, PayloadType: 8},
		{RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFeedback,
		}, PayloadType: 96},
		{RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeH264, ClockRate: 90000, RTCPFeedback: videoFeedback,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
		}, PayloadType: 106},
		{RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeH264, ClockRate: 90000, RTCPFeedback: videoFeedback,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f",
		}, PayloadType: 102},
	}
}

// codecPreferences is first, then every other supported codec of its kind.
func codecPreferences(first webrtc.RTPCodecParameters) []webrtc.RTPCodecParameters {
	preferences := []webrtc.RTPCodecParameters{first}
	kind, _, _ := strings.Cut(first.MimeType, "/")
	for _, codec := range supportedCodecs() {
		sameKind := strings.HasPrefix(strings.ToLower(codec.MimeType), strings.ToLower(kind)+"/")
		same := strings.EqualFold(codec.MimeType, first.MimeType) &&
			(!strings.EqualFold(codec.MimeType, webrtc.MimeTypeH264) || h264Compatible(codec.SDPFmtpLine, first.SDPFmtpLine))
		if sameKind && !same {
			preferences = append(preferences, codec)
		}
	}
	return preferences
}

// supportedHeaderExtensions lists the RTP header extensions per kind.
func supportedHeaderExtensions() map[webrtc.RTPCodecType][]string {
	return map[webrtc.RTPCodecType][]string{
		webrtc.RTPCodecTypeAudio: {sdp.AudioLevelURI, sdp.SDESMidURI, sdp.TransportCCURI},
		webrtc.RTPCodecTypeVideo: {
			sdp.SDESMidURI, sdp.SDESRTPStreamIDURI, sdp.SDESRepairRTPStreamIDURI, sdp.TransportCCURI,
		},
	}
}

// newAPI builds the one webrtc.API every peer connection of the SFU comes
// from, with the shared media sockets it uses (to close with the SFU; also
// when newAPI fails). onEstimator receives the bandwidth estimator of each
// new peer connection, synchronously inside NewPeerConnection.
func newAPI(cfg Config, loggers pionlog.Factory, onEstimator cc.NewPeerConnectionCallback) (*webrtc.API, []io.Closer, error) {
	settings := webrtc.SettingEngine{LoggerFactory: loggers}
	muxes, err := applyNetwork(&settings, cfg, loggers)
	if err != nil {
		return nil, muxes, err
	}

	media := &webrtc.MediaEngine{}
	for _, codec := range supportedCodecs() {
		kind := webrtc.RTPCodecTypeVideo
		if strings.HasPrefix(codec.MimeType, "audio/") {
			kind = webrtc.RTPCodecTypeAudio
		}
		if err := media.RegisterCodec(codec, kind); err != nil {
			return nil, muxes, fmt.Errorf("register codec %s: %w", codec.MimeType, err)
		}
	}
	for kind, uris := range supportedHeaderExtensions() {
		for _, uri := range uris {
			if err := media.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, kind); err != nil {
				return nil, muxes, fmt.Errorf("register header extension %s: %w", uri, err)
			}
		}
	}

	registry, err := newInterceptorRegistry(loggers, onEstimator)
	if err != nil {
		return nil, muxes, err
	}

	return webrtc.NewAPI(
		webrtc.WithMediaEngine(media),
		webrtc.WithInterceptorRegistry(registry),
		webrtc.WithSettingEngine(settings),
	), muxes, nil
}

// iceTCPReadBuffer is how many packets an ICE-TCP connection holds for
// its reader.
const iceTCPReadBuffer = 64

// applyNetwork sets where the SFU's ICE candidates are: the shared UDP
// socket or a port range, ICE-TCP, and the external addresses.
func applyNetwork(settings *webrtc.SettingEngine, cfg Config, loggers pionlog.Factory) ([]io.Closer, error) {
	var muxes []io.Closer
	settings.SetIncludeLoopbackCandidate(cfg.IncludeLoopback)
	// A server has no use for multicast DNS: a browser that hides its
	// address behind a .local name still reaches the SFU's host candidates,
	// which then learns its address as a peer-reflexive candidate.
	settings.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	switch {
	case cfg.UDP != nil:
		mux := webrtc.NewICEUDPMux(loggers.NewLogger("udpmux"), cfg.UDP)
		settings.SetICEUDPMux(mux)
		muxes = append(muxes, mux)
	case cfg.UDPPortMin != 0 || cfg.UDPPortMax != 0:
		if err := settings.SetEphemeralUDPPortRange(cfg.UDPPortMin, cfg.UDPPortMax); err != nil {
			return muxes, fmt.Errorf("UDP ports %d-%d: %w", cfg.UDPPortMin, cfg.UDPPortMax, err)
		}
	}
	if cfg.TCP != nil {
		mux := webrtc.NewICETCPMux(loggers.NewLogger("tcpmux"), cfg.TCP, iceTCPReadBuffer)
		settings.SetICETCPMux(mux)
		muxes = append(muxes, mux)
		networks = append(networks, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
	}
	settings.SetNetworkTypes(networks)
	if len(cfg.ExternalAddresses) > 0 {
		external := make([]string, len(cfg.ExternalAddresses))
		for i, addr := range cfg.ExternalAddresses {
			external[i] = addr.String()
		}
		err := settings.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External: external, AsCandidateType: webrtc.ICECandidateTypeSrflx, Mode: webrtc.ICEAddressRewriteAppend,
		})
		if err != nil {
			return muxes, fmt.Errorf("external addresses: %w", err)
		}
	}
	return muxes, nil
}

// newInterceptorRegistry assembles the RTP/RTCP processing every peer
// connection gets. Outgoing packets pass the interceptors in reverse order
// of registration: the NACK responder keeps a copy, then the transport-wide
// sequence number is stamped (so a retransmission gets a fresh one), then
// the congestion controller records the send time.
func newInterceptorRegistry(loggers pionlog.Factory, onEstimator cc.NewPeerConnectionCallback) (*interceptor.Registry, error) {
	registry := &interceptor.Registry{}

	congestion, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		return gcc.NewSendSideBWE(
			gcc.SendSideBWEInitialBitrate(initialBitrate),
			gcc.SendSideBWEMinBitrate(minimumBitrate),
			gcc.SendSideBWEMaxBitrate(maximumBitrate),
			gcc.SendSideBWEPacer(gcc.NewNoOpPacer()),
			gcc.WithLoggerFactory(loggers),
		)
	})
	if err != nil {
		return nil, fmt.Errorf("congestion controller: %w", err)
	}
	congestion.OnNewPeerConnection(onEstimator)
	registry.Add(congestion)

	sequenceStamper, err := twcc.NewHeaderExtensionInterceptor()
	if err != nil {
		return nil, fmt.Errorf("transport-cc header extension: %w", err)
	}
	registry.Add(sequenceStamper)

	nackResponder, err := nack.NewResponderInterceptor(nack.WithResponderLoggerFactory(loggers))
	if err != nil {
		return nil, fmt.Errorf("nack responder: %w", err)
	}
	registry.Add(nackResponder)
	nackGenerator, err := nack.NewGeneratorInterceptor(nack.WithGeneratorLoggerFactory(loggers))
	if err != nil {
		return nil, fmt.Errorf("nack generator: %w", err)
	}
	registry.Add(nackGenerator)

	receiverReports, err := report.NewReceiverInterceptor(report.WithReceiverLoggerFactory(loggers))
	if err != nil {
		return nil, fmt.Errorf("receiver reports: %w", err)
	}
	registry.Add(receiverReports)
	senderReports, err := report.NewSenderInterceptor(report.WithSenderLoggerFactory(loggers))
	if err != nil {
		return nil, fmt.Errorf("sender reports: %w", err)
	}
	registry.Add(senderReports)

	feedback, err := twcc.NewSenderInterceptor(twcc.WithLoggerFactory(loggers))
	if err != nil {
		return nil, fmt.Errorf("transport-cc feedback: %w", err)
	}
	registry.Add(feedback)

	return registry, nil
}

// matchSupportedCodec finds the supported codec a publisher's codec maps to,
// which is also what a down track offers to subscribers.
func matchSupportedCodec(codec webrtc.RTPCodecCapability) (webrtc.RTPCodecParameters, bool) {
	var sameMime []webrtc.RTPCodecParameters
	for _, supported := range supportedCodecs() {
		if strings.EqualFold(supported.MimeType, codec.MimeType) {
			sameMime = append(sameMime, supported)
		}
	}
	if !strings.EqualFold(codec.MimeType, webrtc.MimeTypeH264) {
		if len(sameMime) == 0 {
			return webrtc.RTPCodecParameters{}, false
		}
		return sameMime[0], true
	}
	for _, supported := range sameMime {
		if h264Compatible(supported.SDPFmtpLine, codec.SDPFmtpLine) {
			return supported, true
		}
	}
	return webrtc.RTPCodecParameters{}, false
}

// h264Compatible reports whether two H.264 fmtp lines describe the same
// profile (profile_idc and constraint flags) and packetization mode; the
// level may differ.
func h264Compatible(a, b string) bool {
	pa, pb := fmtpParameters(a), fmtpParameters(b)
	profile := func(p map[string]string) string {
		id := p["profile-level-id"]
		if len(id) < 4 {
			return ""
		}
		return id[:4]
	}
	return pa["packetization-mode"] == pb["packetization-mode"] && profile(pa) != "" && profile(pa) == profile(pb)
}

// fmtpParameters splits an a=fmtp parameter line into lower-cased pairs.
func fmtpParameters(line string) map[string]string {
	parameters := map[string]string{}
	for part := range strings.SplitSeq(line, ";") {
		key, value, _ := strings.Cut(strings.TrimSpace(part), "=")
		if key != "" {
			parameters[strings.ToLower(key)] = strings.ToLower(strings.TrimSpace(value))
		}
	}
	return parameters
}
