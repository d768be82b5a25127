package discovery

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/app/testenv"
)

func TestDomainOf(t *testing.T) {
	cases := []struct {
		input, domain string
		ok            bool
	}{
		{"example.test", "example.test", true},
		{"  Example.TEST. ", "example.test", true},
		{"alice@example.test", "example.test", true},
		{"Alice.Martin@Sub.Example.test", "sub.example.test", true},
		{"intranet", "intranet", true},
		{"example.test:8443", "", false},
		{"https://example.test/", "", false},
		{"192.0.2.7", "", false},
		{"alice@", "", false},
		{"", "", false},
		{"exa mple.test", "", false},
		{"-bad.test", "", false},
	}
	for _, c := range cases {
		domain, ok := DomainOf(c.input)
		if domain != c.domain || ok != c.ok {
			t.Errorf("DomainOf(%q) = %q, %v; want %q, %v", c.input, domain, ok, c.domain, c.ok)
		}
	}
}

func TestTargetsFollowPriority(t *testing.T) {
	resolver := testenv.StartDNS(t,
		"_parley._tcp.example.test. 60 IN SRV 20 0 9443 backup.example.test.",
		"_parley._tcp.example.test. 60 IN SRV 10 5 8443 meet.example.test.",
		"_parley._tcp.example.test. 60 IN SRV 30 0 7443 last.example.test.")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Weights choose among equal priorities at random; priorities never
	// change the order, whatever the draw.
	for range 5 {
		targets, err := Targets(ctx, resolver, "example.test")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, target := range targets {
			got = append(got, target.Address())
		}
		want := "meet.example.test:8443 backup.example.test:9443 last.example.test:7443 example.test:8443"
		if strings.Join(got, " ") != want {
			t.Fatalf("targets = %v, want %s", got, want)
		}
		if !targets[0].FromSRV || targets[3].FromSRV {
			t.Fatalf("FromSRV wrong: %+v", targets)
		}
	}
}

func TestTargetsWeightsWithinPriority(t *testing.T) {
	resolver := testenv.StartDNS(t,
		"_parley._tcp.example.test. 60 IN SRV 10 90 8443 heavy.example.test.",
		"_parley._tcp.example.test. 60 IN SRV 10 10 8443 light.example.test.")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	first := map[string]int{}
	for range 200 {
		targets, err := Targets(ctx, resolver, "example.test")
		if err != nil {
			t.Fatal(err)
		}
		first[targets[0].Host]++
	}
	// 90:10 over 200 draws: the heavy target comes first far more often,
	// the light one still sometimes (the odds of either failing are
	// below one in a million).
	if first["heavy.example.test"] < 140 || first["light.example.test"] == 0 {
		t.Fatalf("first choices %v do not follow the weights 90:10", first)
	}
}

func TestTargetsWithoutRecordFallBack(t *testing.T) {
	resolver := testenv.StartDNS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	targets, err := Targets(ctx, resolver, "norecord.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != 1 || targets[0].Address() != "norecord.test:8443" || targets[0].FromSRV {
		t.Fatalf("targets = %+v, want only the fallback norecord.test:8443", targets)
	}
	if got := NotFound("norecord.test").Error(); got != "no Parley server found for norecord.test" {
		t.Fatalf("message = %q", got)
	}
}

func TestTargetsServiceDeclaredAbsent(t *testing.T) {
	resolver := testenv.StartDNS(t, "_parley._tcp.example.test. 60 IN SRV 0 0 0 .")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	targets, err := Targets(ctx, resolver, "example.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != 1 || targets[0].FromSRV {
		t.Fatalf("targets = %+v, want only the fallback", targets)
	}
}

func TestTargetsCancelled(t *testing.T) {
	resolver := testenv.StartDNS(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Targets(ctx, resolver, "example.test"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
