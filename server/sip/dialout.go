package sip

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/sdp/v3"

	"github.com/parleyhq/parley/server/protocol"
	"github.com/parleyhq/parley/server/settings"
)

// ringTimeout is how long a call placed by a moderator rings before it
// counts as not answered.
const ringTimeout = 45 * time.Second

// destination is where a dialled call goes.
type destination struct {
	uri       sip.Uri
	address   string // host:port the INVITE is sent to
	transport string
	user      *SIPUser        // the Parley user whose registered phone it is
	trunk     *settings.Trunk // the PBX or provider a number goes through
	name      string          // how the phone appears in the conference
}

// resolve turns what a moderator typed into a destination: a Parley
// user's login (their registered phone), or a SIP address.
func (s *Server) resolve(target string) (destination, error) {
	if strings.HasPrefix(strings.ToLower(target), "sip:") {
		var uri sip.Uri
		if err := sip.ParseUri(target, &uri); err != nil || uri.Host == "" {
			return destination{}, &protocol.Error{Code: "invalid", Field: "target", Message: fmt.Sprintf("%q is not a SIP address such as sip:alice@192.168.1.50.", target)}
		}
		port := uri.Port
		if port == 0 {
			port = 5060
		}
		transport := "udp"
		if t, ok := uri.UriParams.Get("transport"); ok && t != "" {
			transport = strings.ToLower(t)
		}
		name := uri.User
		if name == "" {
			name = uri.Host
		}
		return destination{uri: uri, address: net.JoinHostPort(uri.Host, strconv.Itoa(port)), transport: transport, name: name}, nil
	}
	if b, ok := s.registrar.lookup(target); ok {
		user := b.user
		return destination{uri: b.contact, address: b.source, transport: strings.ToLower(b.transport), user: &user, name: user.DisplayName}, nil
	}
	if isPhoneNumber(target) {
		trunk, ok := s.defaultTrunk()
		if !ok {
			return destination{}, noTrunk
		}
		return trunkDestination(trunk, target), nil
	}
	return destination{}, &protocol.Error{Code: "not_found", Field: "target", Message: fmt.Sprintf("No phone is registered with this server as %s.", target)}
}

// Dial calls target (a user's login or a SIP address) into conference
// cid. It returns the call's id at once; progress hears how it goes, until
// a final state.
func (s *Server) Dial(cid, target string, progress func(call, state, reason string)) (string, error) {
	dest, err := s.resolve(target)
	if err != nil {
		return "", err
	}
	var random [9]byte
	_, _ = rand.Read(random[:])
	id := "d_" + hex.EncodeToString(random[:])
	ctx, cancel := context.WithCancel(context.Background())
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		cancel()
		return "", &protocol.Error{Code: "unavailable", Message: "The SIP gateway is stopping."}
	}
	s.dialing[id] = cancel
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.dialing, id)
			s.mu.Unlock()
			cancel()
		}()
		state, reason := s.placeCall(ctx, cid, target, dest, func(state, reason string) { progress(id, state, reason) })
		progress(id, state, reason)
	}()
	return id, nil
}

// Cancel hangs up a placed call, ringing or answered.
func (s *Server) Cancel(call string) error {
	s.mu.Lock()
	cancel, ok := s.dialing[call]
	s.mu.Unlock()
	if !ok {
		return &protocol.Error{Code: "not_found", Field: "call", Message: "There is no such call."}
	}
	cancel()
	return nil
}

// placeCall rings dest, and once answered brings the phone into the
// conference until either side hangs up. It returns the final state.
func (s *Server) placeCall(ctx context.Context, cid, target string, dest destination, progress func(state, reason string)) (string, string) {
	host, _, _ := net.SplitHostPort(dest.address)
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return protocol.DialFailed, fmt.Sprintf("%s does not resolve", host)
	}
	remoteIP := ips[0].Unmap()
	local := localAddressFor(remoteIP)
	config := MediaConfig{Local: local, Codec: "PCMU", PayloadType: 0, DTMFPayloadType: 101}
	if s.videoOn() {
		// Single NAL units suit both packetization modes offered.
		config.Video = &VideoConfig{PayloadType: offeredVideo.payloadTypes[0], Constrained: true, SingleNAL: true,
			MaxMacroblocks: levelMacroblocks(offeredVideo.level)}
	}
	media, err := s.cfg.Media.StartCall(config)
	if err != nil {
		s.logger.Warn("SIP call out without media", slog.Any("error", err))
		return protocol.DialFailed, "no media port free"
	}
	defer media.Close()
	var id [8]byte
	_, _ = rand.Read(id[:])
	body, err := offerSDP(local, media.LocalPort(), media.VideoPort(), binary.BigEndian.Uint64(id[:])>>2, offerCodecs(dest))
	if err != nil {
		return protocol.DialFailed, err.Error()
	}
	invite := sip.NewRequest(sip.INVITE, dest.uri)
	invite.SetBody(body)
	invite.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	fromParams := sip.NewParams()
	fromParams.Add("tag", sip.GenerateTagN(16))
	from := sip.Uri{User: "parley", Host: local.String(), Port: int(s.port.Load())}
	if dest.trunk != nil && dest.trunk.Login != "" {
		from = sip.Uri{User: dest.trunk.Login, Host: dest.trunk.Host} // the account the provider knows
	}
	invite.AppendHeader(&sip.FromHeader{DisplayName: "Parley conference " + cid, Address: from, Params: fromParams})
	invite.AppendHeader(s.contact(local, dest.transport))
	invite.AppendHeader(sip.NewHeader("Supported", "timer"))
	invite.AppendHeader(sip.NewHeader("Session-Expires", strconv.Itoa(int(sessionExpires.Seconds()))))
	invite.SetDestination(dest.address)
	invite.SetTransport(strings.ToUpper(dest.transport))

	ringing, stopRinging := context.WithTimeout(ctx, ringTimeout)
	defer stopRinging()
	ua := sipgo.DialogUA{Client: s.client, ContactHDR: *s.contact(local, dest.transport)}
	dialog, err := ua.WriteInvite(ringing, invite)
	if err != nil {
		return protocol.DialFailed, fmt.Sprintf("the call could not be sent: %v", err)
	}
	defer dialog.Close()
	defer register(&s.mu, s.outgoing, invite.CallID().Value(), dialog)()
	answerOptions := sipgo.AnswerOptions{OnResponse: func(res *sip.Response) error {
		if res.StatusCode == sip.StatusRinging || res.StatusCode == sip.StatusSessionInProgress {
			progress(protocol.DialRinging, "")
		}
		return nil
	}}
	if dest.trunk != nil && dest.trunk.Password != "" {
		answerOptions.Username, answerOptions.Password = trunkAuthName(*dest.trunk), dest.trunk.Password
	}
	err = dialog.WaitAnswer(ringing, answerOptions)
	if err != nil {
		return unanswered(ctx, ringing, err)
	}
	answer, err := readOffer(dialog.InviteResponse.Body())
	if err == nil {
		err = media.Negotiate(answer.remote, answer.codec, answer.payloadType, answer.dtmfPayloadType)
		if v := answer.video; v != nil && slices.Contains(offeredVideo.payloadTypes, v.payloadType) && v.srtp == nil {
			media.NegotiateVideo(v.remote, v.payloadType)
		} else {
			media.DropVideo()
		}
	}
	if ackErr := dialog.Ack(ctx); ackErr != nil {
		s.logger.Debug("SIP ACK", slog.Any("error", ackErr))
	}
	if err != nil {
		s.hangUp(dialog)
		return protocol.DialFailed, fmt.Sprintf("the phone's answer: %v", err)
	}
	progress(protocol.DialAnswered, "")
	s.logger.Info("SIP call out answered", slog.String("conference", cid), slog.String("to", target))

	call, hangUp := context.WithCancel(dialog.Context())
	defer hangUp()
	if interval, weRefresh := answeredSessionTimer(dialog.InviteResponse); weRefresh {
		go s.refreshSession(call, dialog, interval, hangUp)
	}
	stop := context.AfterFunc(ctx, hangUp) // Cancel, or the gateway stopping
	defer stop()
	request := JoinRequest{Name: dest.name, Phone: protocol.Phone{Number: target, Address: remoteIP.String(), Invited: true}}
	if dest.user != nil {
		request.Phone.UserID = dest.user.ID
	}
	s.converse(call, media, dialString{candidates: []string{cid}}, request)
	if dialog.Context().Err() == nil {
		s.hangUp(dialog)
	}
	return protocol.DialEnded, ""
}

// unanswered names how a call that was not answered ended.
func unanswered(ctx, ringing context.Context, err error) (string, string) {
	var response *sipgo.ErrDialogResponse
	switch {
	case errors.As(err, &response):
		reason := response.Res.Reason
		switch code := response.Res.StatusCode; {
		case code == sip.StatusBusyHere || code == 600:
			return protocol.DialBusy, reason
		case code == 603:
			return protocol.DialDeclined, reason
		case code == 408 || code == 480 || code == 487:
			return protocol.DialNoAnswer, reason
		default:
			return protocol.DialFailed, strconv.Itoa(code) + " " + reason
		}
	case ctx.Err() != nil:
		return protocol.DialCancelled, ""
	case ringing.Err() != nil:
		return protocol.DialNoAnswer, "nobody answered"
	}
	return protocol.DialFailed, err.Error()
}

func (s *Server) hangUp(dialog interface{ Bye(context.Context) error }) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := dialog.Bye(ctx); err != nil {
		s.logger.Debug("SIP BYE", slog.Any("error", err))
	}
}

// offeredVideo is the H.264 the gateway offers in calls it places:
// constrained baseline at level 3.1 (720p), packetization-mode 1 and, for
// phones that take only that (baresip), 0.
var offeredVideo = struct {
	payloadTypes []uint8
	level        byte
	fmtps        []string
}{[]uint8{97, 96}, 31, []string{"profile-level-id=42e01f;packetization-mode=1", "profile-level-id=42e01f;packetization-mode=0"}}

// offerSDP is the gateway's offer for a call it places: the codecs, in
// order, and video if videoPort is not 0.
func offerSDP(local netip.Addr, port, videoPort int, sessionID uint64, codecs []string) ([]byte, error) {
	var media []payload
	for _, codec := range codecs {
		if pt, ok := staticPayloadTypes[codec]; ok {
			media = append(media, payload{pt, codec})
		}
	}
	if len(media) == 0 {
		return nil, errNoCommonCodec
	}
	medias := []*sdp.MediaDescription{audioDescription(port, media, 101, nil)}
	if videoPort != 0 {
		medias = append(medias, videoDescription(videoPort, offeredVideo.payloadTypes, offeredVideo.fmtps, false, nil))
	}
	return sessionDescription(local, sessionID, 1, medias)
}

// answeredSessionTimer reads the session timer of the answer to a call
// the gateway placed: its interval, and whether the gateway refreshes.
func answeredSessionTimer(res *sip.Response) (time.Duration, bool) {
	header := res.GetHeader("Session-Expires")
	if header == nil {
		return 0, false
	}
	value, params, _ := strings.Cut(header.Value(), ";")
	seconds, err := strconv.Atoi(strings.TrimSpace(value))
	if err != nil || seconds < 1 {
		return 0, false
	}
	return time.Duration(seconds) * time.Second, strings.Contains(strings.ReplaceAll(params, " ", ""), "refresher=uac")
}

// refreshSession sends UPDATE at half of each interval (RFC 4028) while
// the call lasts; a refresh the phone refuses or does not answer ends it.
func (s *Server) refreshSession(ctx context.Context, dialog *sipgo.DialogClientSession, interval time.Duration, hangUp func()) {
	ticker := time.NewTicker(interval / 2)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		update := sip.NewRequest(sip.UPDATE, dialog.InviteResponse.Contact().Address)
		update.AppendHeader(sip.NewHeader("Session-Expires", strconv.Itoa(int(interval.Seconds()))+";refresher=uac"))
		attempt, cancel := context.WithTimeout(ctx, 10*time.Second)
		res, err := dialog.Do(attempt, update)
		cancel()
		if err != nil || res.StatusCode == 481 || res.StatusCode == 408 {
			s.logger.Info("SIP session refresh failed; hanging up", slog.Any("error", err))
			hangUp()
			return
		}
	}
}
