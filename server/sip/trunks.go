package sip

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/parleyhq/parley/server/protocol"
	"github.com/parleyhq/parley/server/settings"
)

// Trunk registration timing.
const (
	trunkExpires    = 600 // seconds asked for
	trunkRetryAfter = 30 * time.Second
)

// defaultTrunk is the trunk numbers go through, if one is set.
func (s *Server) defaultTrunk() (settings.Trunk, bool) {
	if s.cfg.Trunks == nil {
		return settings.Trunk{}, false
	}
	for _, t := range s.cfg.Trunks() {
		if t.Default {
			return t, true
		}
	}
	return settings.Trunk{}, false
}

// trunkDestination is where a number goes through a trunk: the number
// rewritten by its rule (a leading "+" becomes the international prefix;
// spaces and punctuation go) at the trunk's host.
func trunkDestination(t settings.Trunk, number string) destination {
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r == '+' {
			return r
		}
		return -1
	}, number)
	if rest, ok := strings.CutPrefix(digits, "+"); ok && t.InternationalPrefix != "" {
		digits = t.InternationalPrefix + rest
	}
	port := t.Port
	if port == 0 {
		port = 5060
	}
	uri := sip.Uri{User: digits, Host: t.Host, Port: port}
	if t.Transport == "tcp" {
		uri.UriParams = sip.NewParams()
		uri.UriParams.Add("transport", "tcp")
	}
	trunk := t
	return destination{uri: uri, address: net.JoinHostPort(t.Host, strconv.Itoa(port)), transport: t.Transport, name: number, trunk: &trunk}
}

// noTrunk is dial's answer to a number when there is no default trunk.
var noTrunk = &protocol.Error{Code: "no_route", Field: "target", Message: "Calling a telephone number needs a default SIP trunk (Settings, Phones)."}

// RunTrunks keeps the trunks that ask for it registered until ctx ends,
// and unregisters them then. status hears each trunk's state ("registered",
// or why not) when it changes.
func (s *Server) RunTrunks(ctx context.Context, status func(trunk, state string)) {
	if s.cfg.Trunks == nil {
		return
	}
	done := make(chan struct{})
	count := 0
	for _, t := range s.cfg.Trunks() {
		if t.Registration != "permanent" {
			continue
		}
		count++
		go func() {
			defer func() { done <- struct{}{} }()
			s.keepRegistered(ctx, t, func(state string) { status(t.Name, state) })
		}()
	}
	for range count {
		<-done
	}
}

func (s *Server) keepRegistered(ctx context.Context, t settings.Trunk, status func(string)) {
	last := ""
	report := func(state string) {
		if state != last {
			last = state
			status(state)
			s.logger.Info("SIP trunk", slog.String("trunk", t.Name), slog.String("state", state))
		}
	}
	for {
		expires, err := s.register(ctx, t, trunkExpires)
		wait := trunkRetryAfter
		if err != nil {
			report("not registered: " + err.Error())
		} else {
			report("registered")
			wait = time.Duration(expires) * time.Second * 4 / 5
		}
		select {
		case <-ctx.Done():
			if err == nil {
				unregister, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				_, _ = s.register(unregister, t, 0)
				cancel()
			}
			return
		case <-time.After(wait):
		}
	}
}

// register sends one REGISTER to a trunk (answering its digest
// challenge) and returns the lifetime it granted.
func (s *Server) register(ctx context.Context, t settings.Trunk, expires int) (int, error) {
	d := trunkDestination(t, "")
	host, _, _ := net.SplitHostPort(d.address)
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return 0, fmt.Errorf("%s does not resolve", host)
	}
	local := localAddressFor(ips[0].Unmap())
	aor := sip.Uri{User: t.Login, Host: t.Host}
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Host: t.Host, Port: d.uri.Port, UriParams: d.uri.UriParams})
	req.AppendHeader(&sip.ToHeader{Address: aor})
	fromParams := sip.NewParams()
	fromParams.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(&sip.FromHeader{Address: aor, Params: fromParams})
	contact := s.contact(local, t.Transport)
	contact.Address.User = t.Login
	req.AppendHeader(contact)
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	req.SetDestination(d.address)
	req.SetTransport(strings.ToUpper(t.Transport))
	attempt, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := s.client.Do(attempt, req)
	if err == nil && (res.StatusCode == 401 || res.StatusCode == 407) {
		res, err = s.client.DoDigestAuth(attempt, req, res, sipgo.DigestAuth{Username: trunkAuthName(t), Password: t.Password})
	}
	if err != nil {
		return 0, err
	}
	if !res.IsSuccess() {
		return 0, fmt.Errorf("%d %s", res.StatusCode, res.Reason)
	}
	granted := expires
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil {
			granted = n
		}
	}
	if c := res.Contact(); c != nil {
		if n, err := strconv.Atoi(c.Params.GetOr("expires", "")); err == nil {
			granted = n
		}
	}
	return max(granted, 60), nil
}

func trunkAuthName(t settings.Trunk) string {
	if t.AuthName != "" {
		return t.AuthName
	}
	return t.Login
}

// offerCodecs are the codecs to offer a destination: a trunk's list, or
// both laws.
func offerCodecs(d destination) []string {
	if d.trunk != nil && len(d.trunk.Codecs) > 0 {
		return d.trunk.Codecs
	}
	return []string{"G722", "PCMU", "PCMA"}
}
