package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parleyhq/parley/assets"
	"github.com/parleyhq/parley/server/settings"
	"github.com/parleyhq/parley/server/store/storetest"
)

// dataChannelOffer is the shape of a browser's offer for the test: one
// application m= line.
const dataChannelOffer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
	"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n" +
	"a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\n" +
	"a=candidate:1 1 udp 2122260223 192.0.2.10 50000 typ host\r\n"

// selfTestAPI is an API with a stand-in media plane that records the tests
// it was asked for and answers with answer or err.
type selfTestAPI struct {
	*API
	asked  []string
	answer string
	err    error
}

func newSelfTestAPI(t *testing.T) *selfTestAPI {
	t.Helper()
	current, err := settings.Load(context.Background(), storetest.Open(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	s := &selfTestAPI{answer: "v=0\r\n"}
	s.API = New(Config{Pages: assets.Web(), Settings: current, Logger: slog.New(slog.DiscardHandler),
		SelfTest: func(offer, transport string) (string, error) {
			s.asked = append(s.asked, transport)
			return s.answer, s.err
		},
		ICEServers: func(user string) []webrtc.ICEServer {
			return []webrtc.ICEServer{{URLs: []string{"turn:192.0.2.1:3478?transport=udp"}, Username: "1:" + user, Credential: "secret"}}
		},
	})
	return s
}

// call sends a request from source and returns the answer.
func (s *selfTestAPI) call(method, path, source, contentType, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.RemoteAddr = source
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

func selfTestBody(offer, transport string) string {
	body, _ := json.Marshal(map[string]string{"offer": offer, "transport": transport})
	return string(body)
}

// wantError checks an error answer's status, code and field.
func wantError(t *testing.T, name string, w *httptest.ResponseRecorder, status int, code, field string) {
	t.Helper()
	var answer struct{ Error Error }
	if err := json.Unmarshal(w.Body.Bytes(), &answer); err != nil {
		t.Fatalf("%s: %d %q is not an error answer: %v", name, w.Code, w.Body, err)
	}
	if w.Code != status || answer.Error.Code != code || answer.Error.Field != field || answer.Error.Message == "" {
		t.Errorf("%s: %d %+v, want %d %s (field %q) with a message", name, w.Code, answer.Error, status, code, field)
	}
}

func TestSelfTestRefusesBadInput(t *testing.T) {
	s := newSelfTestAPI(t)
	const json = "application/json"
	audio := strings.Replace(dataChannelOffer, "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "m=audio 9 UDP/TLS/RTP/SAVPF 111", 1)
	cases := []struct {
		name, contentType, body string
		status                  int
		code, field             string
	}{
		{"unknown transport", json, selfTestBody(dataChannelOffer, "sctp"), 400, "invalid", "transport"},
		{"transport in capitals", json, selfTestBody(dataChannelOffer, "UDP"), 400, "invalid", "transport"},
		{"no transport", json, `{"offer": "v=0"}`, 400, "invalid", "transport"},
		{"garbage offer", json, selfTestBody("hello, server", "udp"), 400, "invalid", "offer"},
		{"empty offer", json, selfTestBody("", "tcp"), 400, "invalid", "offer"},
		{"session without media", json, selfTestBody("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", "udp"), 400, "invalid", "offer"},
		{"audio offer", json, selfTestBody(audio, "udp"), 400, "invalid", "offer"},
		{"offer of the wrong type", json, `{"offer": 42, "transport": "udp"}`, 400, "bad_request", "offer"},
		{"unknown field", json, `{"offer": "v=0", "transport": "udp", "turn": true}`, 400, "bad_request", "turn"},
		{"malformed JSON", json, `{"offer": `, 400, "bad_request", ""},
		{"no content type", "", selfTestBody(dataChannelOffer, "udp"), 415, "unsupported_media_type", ""},
		{"oversized body", json, selfTestBody(dataChannelOffer+strings.Repeat("a=x-padding\r\n", 2000), "udp"), 413, "too_large", ""},
	}
	for i, c := range cases {
		// A source each, so that no limit gets in the way.
		w := s.call(http.MethodPost, "/api/v1/selftest/ice", fmt.Sprintf("192.0.2.%d:4000", i+1), c.contentType, c.body)
		wantError(t, c.name, w, c.status, c.code, c.field)
	}
	if len(s.asked) != 0 {
		t.Errorf("bad input reached the media plane: %v", s.asked)
	}
}

func TestSelfTestAnswers(t *testing.T) {
	s := newSelfTestAPI(t)
	s.answer = "v=0\r\nanswer\r\n"
	w := s.call(http.MethodPost, "/api/v1/selftest/ice", "192.0.2.1:4000", "application/json", selfTestBody(dataChannelOffer, "tcp"))
	var answer map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &answer); w.Code != http.StatusOK || err != nil || answer["answer"] != s.answer {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if len(s.asked) != 1 || s.asked[0] != "tcp" {
		t.Errorf("the media plane was asked for %v", s.asked)
	}

	cases := []struct {
		name   string
		err    error
		status int
		code   string
		field  string
	}{
		{"refused offer", fmt.Errorf("%w: no fingerprint", ErrOfferRefused), 400, "invalid", "offer"},
		{"media down", fmt.Errorf("%w: the media subsystem is not running", ErrSelfTestUnavailable), 503, "unavailable", ""},
		{"failure", errors.New("disk on fire"), 500, "internal", ""},
	}
	for i, c := range cases {
		s.err = c.err
		w := s.call(http.MethodPost, "/api/v1/selftest/ice", fmt.Sprintf("192.0.2.%d:4000", i+10), "application/json", selfTestBody(dataChannelOffer, "udp"))
		wantError(t, c.name, w, c.status, c.code, c.field)
		if c.status == 503 && w.Header().Get("Retry-After") == "" {
			t.Errorf("%s: no Retry-After", c.name)
		}
		if c.status == 500 && strings.Contains(w.Body.String(), "disk on fire") {
			t.Errorf("%s: the answer shows the internal error: %s", c.name, w.Body)
		}
	}

	s.SelfTest = nil
	w = s.call(http.MethodPost, "/api/v1/selftest/ice", "192.0.2.20:4000", "application/json", selfTestBody(dataChannelOffer, "udp"))
	wantError(t, "no media plane", w, 503, "unavailable", "")
}

func TestSelfTestICEServers(t *testing.T) {
	s := newSelfTestAPI(t)
	w := s.call(http.MethodGet, "/api/v1/selftest/ice-servers", "192.0.2.1:4000", "", "")
	var answer struct {
		ICEServers []webrtc.ICEServer `json:"ice_servers"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &answer); w.Code != http.StatusOK || err != nil {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if len(answer.ICEServers) != 1 || answer.ICEServers[0].Username != "1:"+selfTestUser || answer.ICEServers[0].Credential != "secret" {
		t.Errorf("ice servers %+v, want the participant's list for %q", answer.ICEServers, selfTestUser)
	}
	if cache := w.Header().Get("Cache-Control"); cache != "no-store" {
		t.Errorf("TURN credentials are cacheable: Cache-Control %q", cache)
	}
}

// TestSelfTestLimitsEachSource: beyond its allowance a source gets 429
// with Retry-After; another source, and the other endpoint, are not held
// back. An IPv6 /64 is one source.
func TestSelfTestLimitsEachSource(t *testing.T) {
	s := newSelfTestAPI(t)
	servers := func(source string) int {
		return s.call(http.MethodGet, "/api/v1/selftest/ice-servers", source, "", "").Code
	}
	for i := range selfTestICEServersPerMinute {
		if code := servers(fmt.Sprintf("[2001:db8::%x]:4000", i+1)); code != http.StatusOK {
			t.Fatalf("request %d: %d", i+1, code)
		}
	}
	w := s.call(http.MethodGet, "/api/v1/selftest/ice-servers", "[2001:db8::ffff]:4000", "", "")
	wantError(t, "one more from the same /64", w, http.StatusTooManyRequests, "rate_limited", "")
	if w.Header().Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	if code := servers("[2001:db8:0:1::1]:4000"); code != http.StatusOK {
		t.Errorf("another /64: %d", code)
	}
	if code := servers("192.0.2.1:4000"); code != http.StatusOK {
		t.Errorf("another source: %d", code)
	}
	tests := 0
	for range selfTestsPerMinute + 1 {
		w := s.call(http.MethodPost, "/api/v1/selftest/ice", "[2001:db8::1]:4000", "application/json", selfTestBody(dataChannelOffer, "udp"))
		if w.Code == http.StatusOK {
			tests++
		}
	}
	if tests != selfTestsPerMinute {
		t.Errorf("%d connection tests a minute from one source, want %d", tests, selfTestsPerMinute)
	}
}

func TestSourceLimitRefills(t *testing.T) {
	limit := newSourceLimit(6) // one every 10 s
	source := netip.MustParseAddr("192.0.2.1")
	start := time.Now()
	for i := range 6 {
		if err := limit.allow(source, start); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	err := limit.allow(source, start.Add(time.Second))
	if err == nil || err.Status != http.StatusTooManyRequests || err.retryAfter <= 0 || err.retryAfter > 10*time.Second {
		t.Fatalf("over the limit: %+v", err)
	}
	if err := limit.allow(source, start.Add(11*time.Second)); err != nil {
		t.Errorf("10 s later: %v", err)
	}
	if err := limit.allow(source, start.Add(12*time.Second)); err == nil {
		t.Error("the refill gave more than one request in 10 s")
	}
}

func TestSourceLimitForgets(t *testing.T) {
	limit := newSourceLimit(1)
	start := time.Now()
	for i := range maxTrackedSources {
		_ = limit.allow(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), start)
	}
	_ = limit.allow(netip.MustParseAddr("192.0.2.1"), start.Add(2*time.Minute))
	if n := len(limit.buckets); n != 1 {
		t.Errorf("%d sources remembered, want only the new one once the others refilled", n)
	}
}

func TestSelfTestPage(t *testing.T) {
	s := newSelfTestAPI(t)
	w := s.call(http.MethodGet, "/test", "192.0.2.1:4000", "", "")
	page, _ := io.ReadAll(w.Body)
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") || !strings.Contains(string(page), "Connection test") {
		t.Errorf("GET /test: %d %s %.80q", w.Code, w.Header().Get("Content-Type"), page)
	}
}

// FuzzSelfTestRequest feeds arbitrary bodies to the decoding and checking
// of POST /api/v1/selftest/ice: never a panic; a 4xx error with a code and
// a message, or a request whose transport is udp or tcp.
func FuzzSelfTestRequest(f *testing.F) {
	for _, seed := range []string{
		selfTestBody(dataChannelOffer, "udp"), selfTestBody(dataChannelOffer, "tcp"),
		selfTestBody("v=0\r\n", "udp"), selfTestBody("m=application", "tcp"), `{"offer":"","transport":""}`,
		`{"offer":null}`, `{"transport":"udp"} {}`, `[`, "\x00\xff",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req selfTestRequest
		err := decodeBytes(body, &req)
		if err == nil {
			err = req.check()
		}
		if err != nil {
			if err.Status < 400 || err.Status >= 500 || err.Code == "" || err.Message == "" {
				t.Fatalf("unclear error %+v", err)
			}
			return
		}
		if req.Transport != "udp" && req.Transport != "tcp" {
			t.Fatalf("accepted transport %q", req.Transport)
		}
	})
}
