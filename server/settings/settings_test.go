package settings

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/parleyhq/parley/server/store/storetest"
	"strings"
	"testing"

	"github.com/parleyhq/parley/server/eventlog"
	"github.com/parleyhq/parley/server/store"
)

func openDB(t *testing.T) *store.DB { return storetest.Open(t, "") }

func patch(t *testing.T, text string) map[string]json.RawMessage {
	t.Helper()
	var p map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsAreValid(t *testing.T) {
	if err := Defaults().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestUpdateStoresRecordsAndNotifies(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	svc, err := Load(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	var notified []string
	svc.Watch(func(before, after Settings) { notified = append(notified, before.ServerName+"->"+after.ServerName) })

	after, changed, err := svc.Update(ctx, eventlog.Host, patch(t, `{"server_name":"Office","lockout":{"max_failures":7}}`))
	if err != nil {
		t.Fatal(err)
	}
	if after.ServerName != "Office" || after.Lockout.MaxFailures != 7 || after.Lockout.LockMinutes != 15 {
		t.Fatalf("after = %+v", after)
	}
	if len(changed) != 2 || changed[0] != "lockout" || changed[1] != "server_name" {
		t.Errorf("changed = %v", changed)
	}
	if len(notified) != 1 {
		t.Errorf("watchers called %d times", len(notified))
	}

	reloaded, err := Load(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if reloaded.Current().ServerName != "Office" || reloaded.Current().Lockout.MaxFailures != 7 {
		t.Errorf("reloaded %+v", reloaded.Current())
	}

	events, _ := eventlog.List(ctx, db.SQL(), eventlog.Filter{Kind: eventlog.SettingsChanged})
	if len(events) != 1 {
		t.Fatalf("%d settings events", len(events))
	}
	var details struct {
		Before map[string]json.RawMessage `json:"before"`
		After  map[string]json.RawMessage `json:"after"`
	}
	if err := json.Unmarshal(events[0].Details, &details); err != nil {
		t.Fatal(err)
	}
	if string(details.After["server_name"]) != `"Office"` || string(details.Before["server_name"]) == `"Office"` {
		t.Errorf("details %s", events[0].Details)
	}
	if events[0].Actor != "host" {
		t.Errorf("actor %q", events[0].Actor)
	}
}

func TestUpdateRejectsBadInputAndKeepsEverything(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	svc, err := Load(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	before := svc.Current()
	cases := map[string]string{
		"unknown key":        `{"colour":"blue"}`,
		"wrong type":         `{"https_port":"8443"}`,
		"out of range":       `{"https_port":70000}`,
		"same ports":         `{"http_port":8443}`,
		"nested unknown":     `{"lockout":{"max_failures":5,"forever":true}}`,
		"bad network":        `{"admin_networks":["10.0.0.1/8"]}`,
		"not a network":      `{"admin_networks":["office"]}`,
		"plain http base":    `{"base_url":"http://meet.example.com"}`,
		"valid then invalid": `{"server_name":"Changed","session_days":0}`,
		"name with spaces":   `{"server_name":"  padded "}`,
	}
	for name, body := range cases {
		_, _, err := svc.Update(ctx, eventlog.Host, patch(t, body))
		var validation *ValidationError
		if !errors.As(err, &validation) {
			t.Errorf("%s: got %v, want a ValidationError", name, err)
		}
	}
	if got := svc.Current(); got.ServerName != before.ServerName || got.HTTPSPort != before.HTTPSPort {
		t.Errorf("settings changed by rejected updates: %+v", got)
	}
	var rows int
	db.SQL().QueryRow(`SELECT count(*) FROM settings`).Scan(&rows)
	if rows != 0 {
		t.Errorf("%d rows stored by rejected updates", rows)
	}
}

func TestInternalValueIsCreatedOnce(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	calls := 0
	create := func() (string, error) { calls++; return `"abc"`, nil }
	first, err := InternalValue(ctx, db, "server_id", create)
	if err != nil {
		t.Fatal(err)
	}
	second, err := InternalValue(ctx, db, "server_id", create)
	if err != nil {
		t.Fatal(err)
	}
	if first != `"abc"` || second != first || calls != 1 {
		t.Errorf("values %q %q after %d creations", first, second, calls)
	}
	svc, err := Load(ctx, db)
	if err != nil {
		t.Fatalf("an internal key broke loading: %v", err)
	}
	_ = svc
}

// TestSettingsOfAnEarlierVersionLoad: a SIP group stored before sip.video
// existed loads with the default for it.
func TestSettingsOfAnEarlierVersionLoad(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO settings (key, value, updated_at) VALUES ('sip', ?, 0)`,
		`{"enabled":true,"port":5070,"tls_port":5071,"rtp_ports":"50000-51999","require_auth":false,"trunks":[]}`); err != nil {
		t.Fatal(err)
	}
	svc, err := Load(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if sip := svc.Current().SIP; sip.Port != 5070 || sip.Video != "standard" {
		t.Errorf("loaded %+v; want port 5070 and video standard", sip)
	}
	if _, _, err := svc.Update(ctx, eventlog.Host, patch(t, `{"sip":{"video":"ultra"}}`)); err == nil || !strings.Contains(err.Error(), "sip.video") {
		t.Errorf("video ultra: %v", err)
	}
}
