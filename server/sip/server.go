package sip

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/parleyhq/parley/server/protocol"
	"github.com/parleyhq/parley/server/settings"
)

// Media runs the media of calls (media/phone, adapted by app).
type Media interface {
	// StartCall opens a call's RTP port (of the configured range) on
	// local, sending to the phone at remote, and starts sending silence.
	StartCall(MediaConfig) (MediaCall, error)
}

// MediaConfig is what the SDP exchange agreed.
type MediaConfig struct {
	Local           netip.Addr
	Remote          netip.AddrPort
	Codec           string // PCMU or PCMA
	PayloadType     uint8
	DTMFPayloadType uint8 // 0: the phone sends no RFC 4733 events
	// SRTP, if set, encrypts the media (SDES keys from the SDP).
	SRTP *SRTPKeys
	// Video, if set, is the call's H.264 video.
	Video *VideoConfig
}

// VideoConfig is the H.264 video the SDP exchange agreed (RFC 6184).
type VideoConfig struct {
	Remote      netip.AddrPort // zero until the answer, for calls placed
	PayloadType uint8
	// Constrained: constrained baseline (else baseline).
	Constrained bool
	// MaxMacroblocks is the largest picture the phone decodes, in 16x16
	// macroblocks: the media keeps what it sends within it.
	MaxMacroblocks int
	SingleNAL      bool // packetization-mode 0
	RTCPMux        bool
	SRTP           *SRTPKeys
}

// SRTPKeys are a call's SRTP master keys and salts, ours and the phone's.
type SRTPKeys struct {
	Suite         string // AES_CM_128_HMAC_SHA1_80 or _32
	Local, Remote []byte
}

// MediaCall is one call's media.
type MediaCall interface {
	LocalPort() int
	// VideoPort is the port of the video, 0 without.
	VideoPort() int
	// Play plays a prompt (assets/prompts) to the end, or until ctx ends.
	Play(ctx context.Context, prompt string) error
	// Digits delivers the keys pressed; PushDigit adds one from SIP INFO.
	Digits() <-chan byte
	PushDigit(key byte)
	// Negotiate changes the phone's address and codec after an SDP
	// answer (calls the gateway places) or a re-INVITE.
	Negotiate(remote netip.AddrPort, codec string, payloadType, dtmfPayloadType uint8) error
	// NegotiateVideo changes where the phone receives video (zero: on
	// hold) and the payload type.
	NegotiateVideo(remote netip.AddrPort, payloadType uint8)
	// DropVideo makes the call audio only, before Join: the phone
	// refused the video offered.
	DropVideo()
	// RequestKeyframe makes the next picture sent to the phone a
	// keyframe (SIP INFO picture_fast_update, RFC 5168).
	RequestKeyframe()
	// Join brings the caller into a conference as a participant, through
	// the server's signalling protocol; it waits in the lobby if there is
	// one. Errors carry the *protocol.Error of a refusal.
	Join(ctx context.Context, cid string, req JoinRequest) (InConference, error)
	Close()
}

// JoinRequest is how a caller joins.
type JoinRequest struct {
	Name    string
	PIN     string
	Phone   protocol.Phone
	OnEvent func(event any) // what the server says: lobby, removed, ended...
}

// InConference is a caller in a conference.
type InConference interface {
	// Done is closed when the participant's connection ended: removed,
	// the conference ended, or the server is stopping.
	Done() <-chan struct{}
	Leave()
}

// Config is what the gateway is built from.
type Config struct {
	Media Media
	// Accounts lets phones register as Parley users; nil: no registrar.
	Accounts Accounts
	// RequireAuth, when it returns true, lets only callers who prove a
	// Parley user's SIP credentials in (digest); others get 401.
	RequireAuth func() bool
	// Video, when it returns true, lets calls have H.264 video; nil:
	// audio only.
	Video func() bool
	// Trunks are the SIP rules now (settings); nil: none.
	Trunks func() []settings.Trunk
	// MinSessionExpires is the shortest session timer interval taken
	// (DefaultMinSessionExpires if 0).
	MinSessionExpires time.Duration
	// KeepAliveEvery is how often registered phones are pinged
	// (DefaultKeepAliveEvery if 0).
	KeepAliveEvery time.Duration
	// AnswerAfter is how long a call rings before the gateway answers:
	// the caller hears ringing, and a PBX that rang several places at
	// once may still cancel it.
	AnswerAfter time.Duration
	// KeyTimeout is how long the voice menu waits for the next key.
	KeyTimeout time.Duration
	Logger     *slog.Logger
}

// Defaults of Config.
const (
	DefaultAnswerAfter = 300 * time.Millisecond
	DefaultKeyTimeout  = 10 * time.Second
	// menuAttempts is how often the voice menu asks before it hangs up.
	menuAttempts = 3
	userAgent    = "Parley"
)

// Server is the SIP gateway.
type Server struct {
	cfg       Config
	logger    *slog.Logger
	ua        *sipgo.UserAgent
	server    *sipgo.Server
	client    *sipgo.Client
	dialogs   *sipgo.DialogServerCache
	registrar *registrar

	udp     atomic.Pointer[net.PacketConn] // for answers to what sipgo cannot parse
	port    atomic.Int32                   // the UDP (and TCP) port
	tlsPort atomic.Int32                   // SIP over TLS, 0 if none

	mu       sync.Mutex
	calls    map[string]*call                      // answered calls, by Call-ID
	outgoing map[string]*sipgo.DialogClientSession // calls placed, by Call-ID
	dialing  map[string]context.CancelFunc         // calls placed, by id
	closed   bool
	wg       sync.WaitGroup
}

// call is one answered call.
type call struct {
	media     MediaCall
	dialog    *sipgo.DialogServerSession
	answer    []byte // our SDP, repeated in answers to re-INVITEs
	local     netip.Addr
	sessionID uint64
	version   uint64 // of our SDP: 1, then one more per re-INVITE
	timer     *sessionTimer
	keys      answerStreams // our ports and SRTP keys, nil without SRTP
	hangUp    context.CancelFunc
}

// New makes a gateway; Serve gives it its sockets.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.AnswerAfter == 0 {
		cfg.AnswerAfter = DefaultAnswerAfter
	}
	if cfg.KeyTimeout == 0 {
		cfg.KeyTimeout = DefaultKeyTimeout
	}
	if cfg.MinSessionExpires == 0 {
		cfg.MinSessionExpires = DefaultMinSessionExpires
	}
	if cfg.KeepAliveEvery == 0 {
		cfg.KeepAliveEvery = DefaultKeepAliveEvery
	}
	s := &Server{cfg: cfg, logger: cfg.Logger, calls: map[string]*call{}, registrar: newRegistrar(),
		outgoing: map[string]*sipgo.DialogClientSession{}, dialing: map[string]context.CancelFunc{}}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(userAgent),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerReadFilter(s.filterMalformed)))
	if err != nil {
		return nil, fmt.Errorf("SIP user agent: %w", err)
	}
	s.ua = ua
	if s.server, err = sipgo.NewServer(ua, sipgo.WithServerLogger(cfg.Logger)); err != nil {
		return nil, fmt.Errorf("SIP server: %w", err)
	}
	if s.client, err = sipgo.NewClient(ua, sipgo.WithClientLogger(cfg.Logger)); err != nil {
		return nil, fmt.Errorf("SIP client: %w", err)
	}
	s.dialogs = sipgo.NewDialogServerCache(s.client, sip.ContactHeader{Address: sip.Uri{User: "parley", Host: "0.0.0.0"}})
	s.server.OnInvite(s.onInvite)
	s.server.OnAck(s.onAck)
	s.server.OnBye(s.onBye)
	s.server.OnOptions(s.onOptions)
	s.server.OnInfo(s.onInfo)
	s.server.OnUpdate(s.onUpdate)
	s.server.OnRegister(s.onRegister)
	s.server.OnNoRoute(s.onOther)
	return s, nil
}

// ServeUDP answers requests on a UDP socket until it closes. The TCP
// listener must use the same port: the Contact of answers names one.
func (s *Server) ServeUDP(conn net.PacketConn) error {
	s.udp.Store(&conn)
	if addr, ok := conn.LocalAddr().(*net.UDPAddr); ok {
		s.port.Store(int32(addr.Port))
	}
	return s.server.ServeUDP(conn)
}

// contact is the gateway's Contact for a call: where the phone sends the
// rest of the dialogue (ACK, BYE), on the address that reaches it.
func (s *Server) contact(local netip.Addr, transport string) *sip.ContactHeader {
	uri := sip.Uri{User: "parley", Host: local.String(), Port: int(s.port.Load())}
	if strings.EqualFold(transport, "tls") {
		uri.Port = int(s.tlsPort.Load())
	}
	if !strings.EqualFold(transport, "udp") && transport != "" {
		uri.UriParams = sip.NewParams()
		uri.UriParams.Add("transport", strings.ToLower(transport))
	}
	return &sip.ContactHeader{Address: uri}
}

// ServeTCP answers requests on a TCP listener until it closes.
func (s *Server) ServeTCP(listener net.Listener) error { return s.server.ServeTCP(listener) }

// ServeTLS answers requests on a TLS listener (tls.NewListener) until it
// closes: SIPS.
func (s *Server) ServeTLS(listener net.Listener) error {
	if addr, ok := listener.Addr().(*net.TCPAddr); ok {
		s.tlsPort.Store(int32(addr.Port))
	}
	return s.server.ServeTLS(listener)
}

// Calls is how many calls are up.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

// Close hangs up every call (BYE) and waits for them; the sockets are the
// caller's to close after.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	for _, c := range s.calls {
		c.hangUp()
	}
	for _, cancel := range s.dialing {
		cancel()
	}
	s.mu.Unlock()
	s.wg.Wait()
	_ = s.ua.Close()
}

func (s *Server) respond(req *sip.Request, tx sip.ServerTransaction, code int, reason string, headers ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range headers {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		s.logger.Debug("SIP response", slog.Int("code", code), slog.Any("error", err))
	}
}

func (s *Server) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil && to.Params.Has("tag") {
		s.onReInvite(req, tx)
		return
	}
	s.mu.Lock()
	closed := s.closed
	if !closed {
		s.wg.Add(1)
	}
	s.mu.Unlock()
	if closed {
		s.respond(req, tx, 503, "Service Unavailable")
		return
	}
	defer s.wg.Done()
	if req.Contact() == nil || req.CallID() == nil || req.From() == nil {
		s.respond(req, tx, 400, "Bad Request")
		return
	}
	o, err := readOffer(req.Body())
	switch {
	case errors.Is(err, errNoCommonCodec):
		s.respond(req, tx, 488, "Not Acceptable Here", sip.NewHeader("Warning", `304 parley "`+err.Error()+`"`))
		return
	case err != nil:
		s.respond(req, tx, 400, "Bad Request", sip.NewHeader("Warning", `399 parley "`+sanitize(err.Error())+`"`))
		return
	}
	user, known := s.callerAccount(req)
	if !known && s.cfg.RequireAuth != nil && s.cfg.RequireAuth() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, _, stale := s.authenticate(ctx, req)
		cancel()
		s.respond(req, tx, 401, "Unauthorized", s.registrar.challenge(stale))
		return
	}
	interval, timerHeaders, tooSmall := negotiateSessionTimer(req, s.cfg.MinSessionExpires)
	if tooSmall {
		s.respond(req, tx, 422, "Session Interval Too Small", sip.NewHeader("Min-SE", strconv.Itoa(int(s.cfg.MinSessionExpires.Seconds()))))
		return
	}
	dialog, err := s.dialogs.ReadInvite(req, tx)
	if err != nil {
		s.respond(req, tx, 400, "Bad Request")
		return
	}
	defer dialog.Close()
	_ = dialog.Respond(sip.StatusTrying, "Trying", nil)
	_ = dialog.Respond(sip.StatusRinging, "Ringing", nil)
	select {
	case <-time.After(s.cfg.AnswerAfter):
	case <-dialog.Context().Done(): // cancelled; sipgo answered 487
		return
	}

	source := sourceAddr(req)
	local := localAddressFor(source)
	config := MediaConfig{Local: local, Remote: o.remote, Codec: o.codec, PayloadType: o.payloadType, DTMFPayloadType: o.dtmfPayloadType}
	var keys answerStreams
	config.SRTP, keys.audioKey = localKeys(o.srtp)
	if v := o.video; v != nil && s.videoOn() {
		config.Video = &VideoConfig{Remote: v.remote, PayloadType: v.payloadType, Constrained: v.constrained,
			MaxMacroblocks: v.maxMacroblocks, SingleNAL: v.singleNAL, RTCPMux: v.rtcpMux}
		if v.hold {
			config.Video.Remote = netip.AddrPort{}
		}
		config.Video.SRTP, keys.videoKey = localKeys(v.srtp)
	}
	media, err := s.cfg.Media.StartCall(config)
	if err != nil {
		s.logger.Warn("SIP call without media", slog.Any("error", err))
		_ = dialog.Respond(503, "Service Unavailable", nil)
		return
	}
	defer media.Close()
	var id [8]byte
	_, _ = rand.Read(id[:])
	sessionID := binary.BigEndian.Uint64(id[:]) >> 2
	keys.audioPort, keys.videoPort = media.LocalPort(), media.VideoPort()
	body, err := answer(local, o, sessionID, 1, keys)
	if err != nil {
		_ = dialog.Respond(500, "Server Internal Error", nil)
		return
	}
	ctx, hangUp := context.WithCancel(dialog.Context())
	defer hangUp()
	c := &call{media: media, dialog: dialog, answer: body, local: local, sessionID: sessionID, version: 1, keys: keys, hangUp: hangUp}
	callID := req.CallID().Value()
	if interval > 0 {
		c.timer = startSessionTimer(interval, func() {
			s.logger.Info("SIP session expired without a refresh", slog.String("call", callID))
			hangUp()
		})
		defer c.timer.stop()
	}
	defer register(&s.mu, s.calls, callID, c)()
	answered := sip.NewSDPResponseFromRequest(dialog.InviteRequest, body)
	answered.AppendHeader(s.contact(local, req.Transport()))
	for _, h := range timerHeaders {
		answered.AppendHeader(h)
	}
	if err := dialog.WriteResponse(answered); err != nil { // waits for the ACK
		s.logger.Warn("SIP answer", slog.Any("error", err))
		return
	}
	caller := callerOf(req, source)
	if known {
		caller.Name, caller.Phone.UserID = user.DisplayName, user.ID
	}
	s.logger.Info("SIP call", slog.String("from", caller.Phone.Number), slog.String("to", req.Recipient.User), slog.String("codec", o.codec))
	s.converse(ctx, media, parseDialString(req.Recipient.User), caller)
	if dialog.Context().Err() == nil { // we hang up, not the phone
		s.hangUp(dialog)
	}
}

// onReInvite answers a re-INVITE (a session refresh, or hold and resume)
// with the call's SDP as it is.
func (s *Server) onReInvite(req *sip.Request, tx sip.ServerTransaction) {
	c := s.callOf(req)
	if c == nil {
		s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	if err := c.dialog.ReadRequest(req, tx); err != nil {
		s.respond(req, tx, 400, "Bad Request")
		return
	}
	c.timer.refresh()
	if len(req.Body()) > 0 {
		// A new offer: hold, resume, another address or codec.
		o, err := readOffer(req.Body())
		if err != nil {
			s.respond(req, tx, 488, "Not Acceptable Here")
			return
		}
		remote := o.remote
		if o.hold {
			remote = netip.AddrPort{} // nothing to send while held
		}
		if err := c.media.Negotiate(remote, o.codec, o.payloadType, o.dtmfPayloadType); err != nil {
			s.respond(req, tx, 488, "Not Acceptable Here")
			return
		}
		c.version++
		if (o.srtp == nil) != (c.keys.audioKey == nil) {
			s.respond(req, tx, 488, "Not Acceptable Here", sip.NewHeader("Warning", `399 parley "SRTP cannot be turned on or off during a call"`))
			return
		}
		streams := c.keys
		if v := o.video; v != nil && streams.videoPort != 0 && (v.srtp == nil) == (streams.videoKey == nil) {
			videoRemote := v.remote
			if v.hold || o.hold {
				videoRemote = netip.AddrPort{}
			}
			c.media.NegotiateVideo(videoRemote, v.payloadType)
		} else {
			// Video cannot start mid-call, nor change its keys: refused.
			streams.videoPort = 0
			c.media.NegotiateVideo(netip.AddrPort{}, 0)
		}
		if body, err := answer(c.local, o, c.sessionID, c.version, streams); err == nil {
			c.answer = body
		}
	}
	res := sip.NewSDPResponseFromRequest(req, c.answer)
	s.echoSessionTimer(req, res, c)
	if err := tx.Respond(res); err != nil {
		s.logger.Debug("SIP re-INVITE answer", slog.Any("error", err))
	}
}

func (s *Server) callOf(req *sip.Request) *call {
	if req.CallID() == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[req.CallID().Value()]
}

func (s *Server) onAck(req *sip.Request, tx sip.ServerTransaction) {
	_ = s.dialogs.ReadAck(req, tx) // an ACK has no answer
}

func (s *Server) onBye(req *sip.Request, tx sip.ServerTransaction) {
	if req.CallID() != nil {
		s.mu.Lock()
		placed := s.outgoing[req.CallID().Value()]
		s.mu.Unlock()
		if placed != nil {
			if err := placed.ReadBye(req, tx); err != nil {
				s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
			}
			return
		}
	}
	if err := s.dialogs.ReadBye(req, tx); err != nil {
		s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
	}
}

// onUpdate takes an UPDATE: a session refresh (RFC 4028) without a new
// offer.
func (s *Server) onUpdate(req *sip.Request, tx sip.ServerTransaction) {
	c := s.callOf(req)
	if c == nil {
		s.mu.Lock()
		placed := req.CallID() != nil && s.outgoing[req.CallID().Value()] != nil
		s.mu.Unlock()
		if placed { // a refresh of a call the gateway placed
			s.respond(req, tx, 200, "OK")
			return
		}
		s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	c.timer.refresh()
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	s.echoSessionTimer(req, res, c)
	if err := tx.Respond(res); err != nil {
		s.logger.Debug("SIP UPDATE answer", slog.Any("error", err))
	}
}

// echoSessionTimer confirms a refresh's interval in its answer.
func (s *Server) echoSessionTimer(req *sip.Request, res *sip.Response, c *call) {
	if c.timer == nil {
		return
	}
	res.AppendHeader(sip.NewHeader("Session-Expires", strconv.Itoa(int(c.timer.interval.Seconds()))+";refresher=uac"))
	if hasOptionTag(req, "Supported", "timer") {
		res.AppendHeader(sip.NewHeader("Require", "timer"))
	}
}

func (s *Server) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	s.respond(req, tx, 200, "OK",
		sip.NewHeader("Allow", allowed),
		sip.NewHeader("Accept", "application/sdp, application/dtmf-relay, application/dtmf"))
}

// onInfo takes keys sent as SIP INFO (application/dtmf-relay, or
// application/dtmf), for phones that do not send RFC 4733 events.
func (s *Server) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	c := s.callOf(req)
	if c == nil {
		s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	if isPictureFastUpdate(req) {
		c.media.RequestKeyframe()
		s.respond(req, tx, 200, "OK")
		return
	}
	key, ok := infoKey(req)
	if !ok {
		s.respond(req, tx, 415, "Unsupported Media Type", sip.NewHeader("Accept", "application/dtmf-relay, application/dtmf, application/media_control+xml"))
		return
	}
	c.media.PushDigit(key)
	s.respond(req, tx, 200, "OK")
}

func (s *Server) onOther(req *sip.Request, tx sip.ServerTransaction) {
	s.respond(req, tx, 405, "Method Not Allowed", sip.NewHeader("Allow", allowed))
}

// allowed are the methods the gateway takes.
const allowed = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REGISTER"

// register puts value under key in m, under mu, and returns what takes
// it out again: a call is found by its Call-ID while it lasts.
func register[V any](mu *sync.Mutex, m map[string]V, key string, value V) (unregister func()) {
	mu.Lock()
	m[key] = value
	mu.Unlock()
	return func() {
		mu.Lock()
		delete(m, key)
		mu.Unlock()
	}
}

func (s *Server) videoOn() bool { return s.cfg.Video != nil && s.cfg.Video() }

// isPictureFastUpdate tells a video phone's request for a keyframe as
// SIP INFO (RFC 5168).
func isPictureFastUpdate(req *sip.Request) bool {
	h := req.ContentType()
	return h != nil && strings.HasPrefix(strings.ToLower(strings.TrimSpace(h.Value())), "application/media_control+xml") &&
		strings.Contains(string(req.Body()), "picture_fast_update")
}

// localKeys makes the gateway's SRTP key for a stream the phone offered
// keys for: the media's keys, and the answer's crypto line under the
// offer's tag. Both are nil without SRTP.
func localKeys(offered *sdes) (*SRTPKeys, *sdes) {
	if offered == nil {
		return nil, nil
	}
	local := &sdes{tag: offered.tag, suite: offered.suite, key: make([]byte, srtpKeyLength)}
	_, _ = rand.Read(local.key)
	return &SRTPKeys{Suite: offered.suite, Local: local.key, Remote: offered.key}, local
}

// infoKey reads the key of an INFO body: "Signal=5" (dtmf-relay) or "5".
func infoKey(req *sip.Request) (byte, bool) {
	contentType := ""
	if h := req.ContentType(); h != nil {
		contentType = strings.ToLower(strings.TrimSpace(h.Value()))
	}
	body := strings.TrimSpace(string(req.Body()))
	switch {
	case strings.HasPrefix(contentType, "application/dtmf-relay"):
		for _, line := range strings.Split(body, "\n") {
			name, value, ok := strings.Cut(line, "=")
			if ok && strings.EqualFold(strings.TrimSpace(name), "Signal") {
				return keyOf(strings.TrimSpace(value))
			}
		}
	case strings.HasPrefix(contentType, "application/dtmf"):
		return keyOf(body)
	}
	return 0, false
}

func keyOf(text string) (byte, bool) {
	if len(text) == 1 && strings.Contains("0123456789*#ABCDabcd", text) {
		return strings.ToUpper(text)[0], true
	}
	if text == "10" { // some phones send * and # as 10 and 11
		return '*', true
	}
	if text == "11" {
		return '#', true
	}
	return 0, false
}

// callerAccount finds the Parley user a call is from: by its digest
// credentials, or because it comes from where that user's phone
// registered.
func (s *Server) callerAccount(req *sip.Request) (SIPUser, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if user, ok, _ := s.authenticate(ctx, req); ok {
		return user, true
	}
	return s.registrar.registeredFrom(req.Source())
}

// sourceAddr is where the request came from.
func sourceAddr(req *sip.Request) netip.Addr {
	host, _, err := net.SplitHostPort(req.Source())
	if err != nil {
		return netip.Addr{}
	}
	addr, _ := netip.ParseAddr(host)
	return addr.Unmap()
}

// localAddressFor is this machine's address on the route to remote, for
// the SDP: asking the kernel by connecting a UDP socket sends nothing.
func localAddressFor(remote netip.Addr) netip.Addr {
	if !remote.IsValid() {
		return netip.MustParseAddr("127.0.0.1")
	}
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(remote, 9)))
	if err != nil {
		return netip.MustParseAddr("127.0.0.1")
	}
	defer conn.Close()
	return conn.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
}

// callerOf names the caller: the From display name, else the number (the
// user part), else the SIP address.
func callerOf(req *sip.Request, source netip.Addr) JoinRequest {
	from := req.From()
	number := from.Address.User
	if number == "" {
		number = from.Address.Host
	} else if !isPhoneNumber(number) {
		number += "@" + from.Address.Host
	}
	number = truncate(sanitize(number), protocol.MaxPhoneNumber)
	name := strings.TrimSpace(sanitize(from.DisplayName))
	if protocol.CheckName(name) != nil {
		name = truncate(number, 64)
	}
	return JoinRequest{Name: name, Phone: protocol.Phone{Number: number, Address: source.String()}}
}

func isPhoneNumber(user string) bool {
	return strings.Trim(user, "+0123456789-. ()") == ""
}

// sanitize drops control characters from what a caller sent.
func sanitize(text string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' {
			return -1
		}
		return r
	}, text)
}

// truncate cuts text to n bytes, dropping a character cut in two.
func truncate(text string, n int) string {
	if len(text) > n {
		text = text[:n]
	}
	return strings.ToValidUTF8(text, "")
}
