package app_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/app/testenv"
	"github.com/parleyhq/parley/server/eventlog"
)

// TestAdminNetworksFromAnotherHost puts a client in a network namespace
// with an Internet address (198.18.3.5) and a LAN address (192.168.77.5)
// and checks that only the LAN one may reach the admin API.
func TestAdminNetworksFromAnotherHost(t *testing.T) {
	curl := testenv.RequireTool(t, "curl", "curl")
	ns := testenv.NewNamespace(t,
		[2]string{"198.18.3.1/24", "198.18.3.5/24"},
		[2]string{"192.168.77.1/24", "192.168.77.5/24"})
	dir := t.TempDir()
	if out, err := testenv.Run(t, ownerPassword+"\n", "user", "add", "boss", "--role", "owner", "--data", dir); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	// The certificate is issued at start, so it covers the link addresses.
	s := testenv.StartServer(t, dir, "--port", strconv.Itoa(freePort(t)), "--http-port", "-1")
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(caFile, caOf(t, s), 0o600); err != nil {
		t.Fatal(err)
	}
	local := clientOf(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	id, err := local.SignIn(ctx, "boss", ownerPassword)
	if err != nil {
		t.Fatal(err)
	}

	fetch := func(host, path string) (int, string) {
		t.Helper()
		url := "https://" + host + ":" + strconv.Itoa(s.Port) + path
		out, err := ns.Command(ctx, curl, "--silent", "--show-error", "--cacert", caFile,
			"--header", "Authorization: Bearer "+id.Token, "--write-out", "\n%{http_code}", url).Output()
		if err != nil {
			t.Fatalf("curl %s from the namespace: %v", url, err)
		}
		text := strings.TrimSpace(string(out))
		split := strings.LastIndexByte(text, '\n')
		status, _ := strconv.Atoi(text[split+1:])
		return status, text[:max(split, 0)]
	}

	status, body := fetch("198.18.3.1", "/api/v1/users")
	if status != http.StatusForbidden || !strings.Contains(body, `"code":"admin_network"`) || !strings.Contains(body, "198.18.3.5") {
		t.Errorf("admin API from the Internet: %d %s", status, body)
	}
	if status, body := fetch("198.18.3.1", "/api/v1/me"); status != http.StatusOK {
		t.Errorf("own profile from the Internet: %d %s", status, body)
	}
	if status, body := fetch("198.18.3.1", "/api/v1/status"); status != http.StatusOK {
		t.Errorf("status from the Internet: %d %s", status, body)
	}
	if status, body := fetch("192.168.77.1", "/api/v1/users"); status != http.StatusOK || !strings.Contains(body, `"login":"boss"`) {
		t.Errorf("admin API from the LAN: %d %s", status, body)
	}

	var denied struct{ Events []eventlog.Listed }
	if err := local.Do(ctx, http.MethodGet, "/api/v1/events?kind="+eventlog.AccessDenied, nil, &denied); err != nil {
		t.Fatal(err)
	}
	if len(denied.Events) != 1 || denied.Events[0].Source != "198.18.3.5" || denied.Events[0].Subject != "GET /api/v1/users" {
		t.Errorf("access denied rows %+v", denied.Events)
	}
}
