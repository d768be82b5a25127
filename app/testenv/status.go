package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/parleyhq/parley/app/supervisor"
)

// SubsystemOn asks a server running on a LAN host for its status, from
// inside that host's namespace, and returns one subsystem's health.
func SubsystemOn(t testing.TB, ctx context.Context, host *Host, s *Server, name string) supervisor.Health {
	t.Helper()
	curl := RequireTool(t, "curl", "curl")
	out, err := host.Command(ctx, curl, "--silent", "--show-error", "--cacert", filepath.Join(s.DataDir, "tls", "ca.crt"),
		fmt.Sprintf("https://127.0.0.1:%d/api/v1/status", s.Port)).Output()
	if err != nil {
		t.Fatalf("status of the server on %s: %v", host.Name, err)
	}
	var status struct{ Subsystems []supervisor.Health }
	if err := json.Unmarshal(out, &status); err != nil {
		t.Fatalf("status %s: %v", out, err)
	}
	for _, health := range status.Subsystems {
		if health.Name == name {
			return health
		}
	}
	t.Fatalf("no subsystem %q in %s", name, out)
	return supervisor.Health{}
}

// WaitForAnnouncement waits until the discovery subsystem of a server on
// a LAN host runs, and returns its note: `announcing "Office" on ...`.
func WaitForAnnouncement(t testing.TB, ctx context.Context, host *Host, s *Server) string {
	t.Helper()
	for {
		health := SubsystemOn(t, ctx, host, s, "discovery")
		if health.State == supervisor.Running {
			return health.Reason
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the server on %s does not announce itself: discovery is %s (%s)", host.Name, health.State, health.Reason)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
