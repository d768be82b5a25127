//go:build cgo

package app

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"

	"github.com/parleyhq/parley/media/participant"
	"github.com/parleyhq/parley/media/phone"
	"github.com/parleyhq/parley/server/client"
	"github.com/parleyhq/parley/server/sip"
)

// newPhoneMedia is the calls' media: media/phone, whose codecs (libopus)
// need cgo.
func newPhoneMedia(gateway func() (*client.Client, error), low, high int, videoQuality func() string, logger *slog.Logger) (sip.Media, error) {
	return &phoneMedia{gateway: gateway, low: low, high: high, videoQuality: videoQuality, logger: logger}, nil
}

// phoneMedia is sip.Media on media/phone.
type phoneMedia struct {
	gateway      func() (*client.Client, error)
	low, high    int
	videoQuality func() string // sip.video
	logger       *slog.Logger
}

func (m *phoneMedia) StartCall(cfg sip.MediaConfig) (sip.MediaCall, error) {
	conn, err := m.rtpSocket()
	if err != nil {
		return nil, err
	}
	config := phone.Config{Conn: conn, Remote: cfg.Remote, Codec: cfg.Codec, PayloadType: cfg.PayloadType,
		DTMFPayloadType: cfg.DTMFPayloadType, SRTP: phoneSRTP(cfg.SRTP), Logger: m.logger}
	if cfg.Video != nil {
		if config.Video, err = m.video(*cfg.Video); err != nil {
			// The call goes on without video; the answer refuses it.
			m.logger.Warn("SIP call without video", slog.Any("error", err))
		}
	}
	call, err := phone.Start(config)
	if err != nil {
		conn.Close()
		if config.Video != nil {
			config.Video.Conn.Close()
		}
		return nil, err
	}
	return &phoneCall{Call: call, gateway: m.gateway}, nil
}

// video is a call's video stream: its own port, and the quality sip.video
// names as far as the phone's H.264 level allows.
func (m *phoneMedia) video(cfg sip.VideoConfig) (*phone.VideoConfig, error) {
	quality, err := phone.QualityFor(m.videoQuality(), cfg.MaxMacroblocks)
	if err != nil {
		return nil, err
	}
	conn, err := m.rtpSocket()
	if err != nil {
		return nil, err
	}
	return &phone.VideoConfig{Conn: conn, Remote: cfg.Remote, RTCPMux: cfg.RTCPMux, PayloadType: cfg.PayloadType,
		Constrained: cfg.Constrained, SingleNAL: cfg.SingleNAL, MaxMacroblocks: cfg.MaxMacroblocks, Quality: quality, SRTP: phoneSRTP(cfg.SRTP)}, nil
}

func phoneSRTP(keys *sip.SRTPKeys) *phone.SRTP {
	if keys == nil {
		return nil
	}
	return &phone.SRTP{Suite: keys.Suite, Local: keys.Local, Remote: keys.Remote}
}

// rtpSocket binds a port of the range, starting at a random one so that
// a new call does not get the port a finished call's stray packets still
// go to.
func (m *phoneMedia) rtpSocket() (net.PacketConn, error) {
	size := m.high - m.low + 1
	start := rand.IntN(size)
	for i := range size {
		port := m.low + (start+i)%size
		// All addresses: a phone may reach this machine by another one
		// than the SDP names.
		conn, err := net.ListenPacket("udp", ":"+strconv.Itoa(port))
		if err == nil {
			return conn, nil
		}
	}
	return nil, fmt.Errorf("every RTP port of %d-%d is in use", m.low, m.high)
}

// phoneCall is sip.MediaCall on a phone.Call.
type phoneCall struct {
	*phone.Call
	gateway func() (*client.Client, error)
}

func (c *phoneCall) Join(ctx context.Context, cid string, req sip.JoinRequest) (sip.InConference, error) {
	gateway, err := c.gateway()
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	var once sync.Once
	number := req.Phone
	bridge, err := c.Call.Join(ctx, gateway, cid, participant.Options{Name: req.Name, PIN: req.PIN, Phone: &number,
		OnEvent: func(event any) {
			if _, ok := event.(participant.Disconnected); ok {
				once.Do(func() { close(done) })
			}
			if req.OnEvent != nil {
				req.OnEvent(event)
			}
		}})
	if err != nil {
		return nil, err
	}
	return &inConference{bridge: bridge, done: done}, nil
}

type inConference struct {
	bridge *phone.Bridge
	done   chan struct{}
	once   sync.Once
}

func (i *inConference) Done() <-chan struct{} { return i.done }
func (i *inConference) Leave()                { i.once.Do(i.bridge.Leave) }
