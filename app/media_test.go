package app_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/parleyhq/parley/app/testenv"
	"github.com/parleyhq/parley/media/participant"
	"github.com/parleyhq/parley/server/client"
	"github.com/parleyhq/parley/server/conference"
	"github.com/parleyhq/parley/server/protocol"
)

// meetingServer starts parley with loopback ICE, an owner signed in, and a
// public conference without lobby.
func meetingServer(t *testing.T, spec map[string]any) (*testenv.Server, *client.Client, conference.Conference) {
	t.Helper()
	return meetingServerWith(t, spec)
}

// meetingServerWith is meetingServer with more flags for `parley serve`.
func meetingServerWith(t *testing.T, spec map[string]any, flags ...string) (*testenv.Server, *client.Client, conference.Conference) {
	t.Helper()
	dir := t.TempDir()
	if out, err := testenv.Run(t, ownerPassword+"\n", "user", "add", "boss", "--role", "owner", "--name", "The Boss", "--data", dir); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	s := testenv.StartServer(t, dir, append([]string{"--port", strconv.Itoa(freePort(t)), "--http-port", "-1", "--ice-loopback"}, flags...)...)
	owner := clientOf(t, s)
	ctx := context.Background()
	if _, err := owner.SignIn(ctx, "boss", ownerPassword); err != nil {
		t.Fatal(err)
	}
	var c conference.Conference
	if err := owner.Do(ctx, http.MethodPost, "/api/v1/conferences", spec, &c); err != nil {
		t.Fatal(err)
	}
	return s, owner, c
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestGoParticipantsExchangeMedia joins two headless participants through
// the real server and SFU and checks that each receives the other's audio
// and video.
func TestGoParticipantsExchangeMedia(t *testing.T) {
	s, owner, c := meetingServer(t, map[string]any{"lobby": "off"})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	options := participant.Options{Audio: true, Video: true, Simulcast: true, Loopback: true, Speaking: true}
	host, err := participant.Join(ctx, owner, c.CID, options)
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	options.Name, options.Speaking = "Gina", false
	guest, err := participant.Join(ctx, clientOf(t, s), c.CID, options)
	if err != nil {
		t.Fatal(err)
	}
	defer guest.Close()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server output:\n%s", s.Output())
			for _, who := range []*participant.Participant{host, guest} {
				var kinds []string
				for _, in := range who.Events() {
					kinds = append(kinds, in.Type)
				}
				t.Logf("%s got %v", who.ID(), kinds)
			}
		}
	})

	for _, check := range []struct {
		who      *participant.Participant
		from     string
		source   string
		describe string
	}{
		{host, guest.ID(), protocol.Camera, "host receives the guest's video"},
		{host, guest.ID(), protocol.Microphone, "host receives the guest's audio"},
		{guest, host.ID(), protocol.Camera, "guest receives the host's video"},
		{guest, host.ID(), protocol.Microphone, "guest receives the host's audio"},
	} {
		waitFor(t, check.describe, 20*time.Second, func() bool {
			packets, _ := check.who.Received(check.from, check.source)
			return packets > 20
		})
	}
	waitFor(t, "the host to be the active speaker", 10*time.Second, func() bool {
		for _, in := range guest.Events() {
			if speaker, ok := in.Event.(*protocol.Speaker); ok && speaker.Participant == host.ID() {
				return true
			}
		}
		return false
	})

	// The server's metrics count that traffic and what it costs.
	metrics, err := owner.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	received := int64(0)
	for _, who := range []*participant.Participant{host, guest} {
		for _, from := range []*participant.Participant{host, guest} {
			for _, source := range []string{protocol.Camera, protocol.Microphone} {
				packets, _ := who.Received(from.ID(), source)
				received += packets
			}
		}
	}
	for name, low := range map[string]float64{
		"parley_media_packets_forwarded_total": float64(received), "parley_media_packets_received_total": float64(received),
		"parley_media_forwarded_bytes_total": float64(received) * 12, "parley_participants": 2, "parley_conferences_running": 1,
		"process_cpu_seconds_total": 0.01, "process_resident_memory_bytes": 1 << 20, "process_resident_memory_peak_bytes": 1 << 20,
	} {
		if value, ok := metrics[name]; !ok || value < low {
			t.Errorf("metric %s is %v (present: %v), want at least %v", name, value, ok, low)
		}
	}
}
