package sip

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Session timers (RFC 4028): a phone that asks for them refreshes the
// call (re-INVITE or UPDATE) within the interval, and a call that is not
// refreshed is hung up, so that a phone that lost its network does not
// stay in a meeting for ever.
const (
	// DefaultMinSessionExpires is the shortest interval taken (Min-SE);
	// RFC 4028 sets 90 s as the least any side may ask for.
	DefaultMinSessionExpires = 90 * time.Second
	// sessionExpires is the interval the gateway proposes when the phone
	// supports timers but asked for none (the seed product's 1800 s).
	sessionExpires = 1800 * time.Second
)

// sessionTimer is an answered call's timer: it fires when the phone has
// not refreshed the session in time.
type sessionTimer struct {
	mu       sync.Mutex
	interval time.Duration
	timer    *time.Timer
}

// negotiateSessionTimer reads an INVITE's session timer request. It
// returns the interval to use (0: no timer), the headers for the 200 OK,
// and whether to answer 422 with minSE because the interval is too short.
func negotiateSessionTimer(req *sip.Request, minSE time.Duration) (interval time.Duration, headers []sip.Header, tooSmall bool) {
	supported := hasOptionTag(req, "Supported", "timer") || hasOptionTag(req, "k", "timer")
	requested := time.Duration(0)
	header := req.GetHeader("Session-Expires")
	if header == nil {
		header = req.GetHeader("x")
	}
	if header != nil {
		value, _, _ := strings.Cut(header.Value(), ";")
		seconds, err := strconv.Atoi(strings.TrimSpace(value))
		if err == nil && seconds > 0 {
			requested = time.Duration(seconds) * time.Second
		}
	}
	switch {
	case requested > 0 && requested < minSE:
		return 0, nil, true
	case requested > 0:
		interval = requested
	case supported:
		interval = sessionExpires
	default:
		return 0, nil, false // the phone knows nothing of timers
	}
	// The phone refreshes when it supports timers; a phone that does not
	// but sent Session-Expires (through a proxy) still gets our timer.
	headers = []sip.Header{sip.NewHeader("Session-Expires", strconv.Itoa(int(interval.Seconds()))+";refresher=uac")}
	if supported {
		headers = append(headers, sip.NewHeader("Require", "timer"))
	}
	return interval, headers, false
}

func hasOptionTag(req *sip.Request, name, tag string) bool {
	for _, h := range req.GetHeaders(name) {
		for _, value := range strings.Split(h.Value(), ",") {
			if strings.EqualFold(strings.TrimSpace(value), tag) {
				return true
			}
		}
	}
	return false
}

// startSessionTimer calls expire unless refresh comes in time: within the
// interval less a third of it or 32 s, whichever is less (RFC 4028
// section 10, for the side that does not refresh).
func startSessionTimer(interval time.Duration, expire func()) *sessionTimer {
	t := &sessionTimer{interval: interval}
	t.timer = time.AfterFunc(t.deadline(), expire)
	return t
}

func (t *sessionTimer) deadline() time.Duration {
	return t.interval - min(32*time.Second, t.interval/3)
}

// refresh restarts the timer after a re-INVITE or UPDATE.
func (t *sessionTimer) refresh() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.timer.Reset(t.deadline())
}

func (t *sessionTimer) stop() {
	if t != nil {
		t.timer.Stop()
	}
}
