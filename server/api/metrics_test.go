package api_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/parleyhq/parley/server/accounts"
)

// TestMetricsForThisMachineOrAuditors: /metrics answers anyone on this
// machine, and elsewhere only those who may audit, from an admin network.
func TestMetricsForThisMachineOrAuditors(t *testing.T) {
	h := newHarness(t)
	anonymous := h.client(false)
	get := func(who interface {
		Raw(context.Context, string, string, http.Header, io.Reader) (*http.Response, error)
	}, headers http.Header) (int, string) {
		t.Helper()
		resp, err := who.Raw(ctx, http.MethodGet, "/metrics", headers, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type") + "\n" + string(body)
	}

	status, body := get(anonymous, nil)
	if status != http.StatusOK || !strings.HasPrefix(body, "text/plain; version=0.0.4") ||
		!strings.Contains(body, "# TYPE parley_conferences_running gauge\nparley_conferences_running 0\n") {
		t.Errorf("from loopback: %d\n%s", status, body)
	}
	for name, headers := range map[string]http.Header{
		"from the LAN, signed out":                 {sourceHeader: {"192.168.1.10"}},
		"through a proxy that is not trusted":      {"X-Forwarded-For": {"203.0.113.9"}},
		"from the Internet, signed out":            {sourceHeader: {"203.0.113.5"}},
		"from the LAN, as a user who cannot audit": {sourceHeader: {"192.168.1.10"}, "Authorization": {"Bearer " + h.signedIn("ulla", accounts.Member).Token()}},
	} {
		if status, body := get(anonymous, headers); status != http.StatusUnauthorized && status != http.StatusForbidden {
			t.Errorf("%s: %d\n%s", name, status, body)
		}
	}
	auditor := http.Header{sourceHeader: {"192.168.1.10"}, "Authorization": {"Bearer " + h.signedIn("sam", accounts.SecurityAdmin).Token()}}
	if status, body := get(anonymous, auditor); status != http.StatusOK {
		t.Errorf("a security administrator on the LAN: %d\n%s", status, body)
	}
	auditor.Set(sourceHeader, "203.0.113.5")
	if status, _ := get(anonymous, auditor); status != http.StatusForbidden {
		t.Errorf("a security administrator from the Internet: %d", status)
	}
}
