package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/parleyhq/parley/server/iceservers"
)

// The connection self-test behind the /test page: anyone, signed in or not,
// may check whether their browser and network reach this server's media.
// The endpoints are public, so what they cost is bounded per source.

const (
	// maxSelfTestBody fits a complete (non-trickle) offer from a machine
	// with many addresses.
	maxSelfTestBody = 16 << 10
	// Each run of the page makes two connection tests and fetches the ICE
	// servers once; the limits leave room for a few runs a minute.
	selfTestsPerMinute          = 12
	selfTestICEServersPerMinute = 10
	// selfTestUser names the holder of the TURN credentials the test gets.
	selfTestUser = "selftest"
	// selfTestRetryAfter is when to try again while the test cannot run.
	selfTestRetryAfter = 10 * time.Second
)

var (
	// ErrOfferRefused is wrapped by the errors of a SelfTest function for
	// an offer the media plane cannot use: the API answers 400.
	ErrOfferRefused = errors.New("the media plane cannot use this offer")
	// ErrSelfTestUnavailable is wrapped by the errors of a SelfTest
	// function that cannot run a test now (media is down, too many tests
	// run): the API answers 503.
	ErrSelfTestUnavailable = errors.New("the connection test cannot run now")
)

// selfTestRequest is the body of POST /api/v1/selftest/ice.
type selfTestRequest struct {
	Offer     string `json:"offer"`
	Transport string `json:"transport"`
}

// check refuses what the media plane need not see: a transport other than
// udp or tcp, and an offer that is not SDP with data channels only.
func (req selfTestRequest) check() *Error {
	if req.Transport != "udp" && req.Transport != "tcp" {
		return &Error{Status: http.StatusBadRequest, Code: "invalid", Field: "transport",
			Message: `transport must be "udp" or "tcp"`}
	}
	invalidOffer := func(why string) *Error {
		return &Error{Status: http.StatusBadRequest, Code: "invalid", Field: "offer",
			Message: "offer must be a complete SDP offer of one data channel: " + why}
	}
	var offer sdp.SessionDescription
	if err := offer.UnmarshalString(req.Offer); err != nil {
		return invalidOffer("it is not SDP")
	}
	if len(offer.MediaDescriptions) == 0 {
		return invalidOffer("it has no data channel")
	}
	for _, media := range offer.MediaDescriptions {
		if media.MediaName.Media != "application" {
			return invalidOffer(fmt.Sprintf("it has %q media", media.MediaName.Media))
		}
	}
	return nil
}

// selfTestICE answers a connection test's offer with the media plane's
// answer (POST /api/v1/selftest/ice).
func (a *API) selfTestICE(limit *sourceLimit) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, rq *request) error {
		var body selfTestRequest
		if err := decode(r, &body, maxSelfTestBody); err != nil {
			return err
		}
		if err := body.check(); err != nil {
			return err
		}
		if err := limit.allow(rq.source, time.Now()); err != nil {
			return err
		}
		if a.SelfTest == nil {
			return selfTestUnavailable("this server runs no media")
		}
		answer, err := a.SelfTest(body.Offer, body.Transport)
		switch {
		case errors.Is(err, ErrOfferRefused):
			return &Error{Status: http.StatusBadRequest, Code: "invalid", Field: "offer", Message: err.Error()}
		case errors.Is(err, ErrSelfTestUnavailable):
			return selfTestUnavailable(err.Error())
		case err != nil:
			return fmt.Errorf("connection test over %s: %w", body.Transport, err)
		}
		writeJSON(w, http.StatusOK, map[string]string{"answer": answer})
		return nil
	}
}

func selfTestUnavailable(message string) *Error {
	e := apiError(http.StatusServiceUnavailable, "unavailable", message)
	e.retryAfter = selfTestRetryAfter
	return e
}

// selfTestICEServers hands out the STUN and TURN servers a participant
// would get, TURN credentials included (GET /api/v1/selftest/ice-servers).
func (a *API) selfTestICEServers(limit *sourceLimit) handlerFunc {
	return func(w http.ResponseWriter, _ *http.Request, rq *request) error {
		if err := limit.allow(rq.source, time.Now()); err != nil {
			return err
		}
		var servers []webrtc.ICEServer
		if a.ICEServers != nil {
			servers = a.ICEServers(selfTestUser)
		} else {
			servers = iceservers.WebRTC(a.Settings.Current().ICEServers)
		}
		if servers == nil {
			servers = []webrtc.ICEServer{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"ice_servers": servers})
		return nil
	}
}
