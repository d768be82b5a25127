package sip

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/parleyhq/parley/server/protocol"
)

// promptFor is what the voice menu says on a refusal, by its code.
var promptFor = map[string]string{
	"not_found":        "not-found",
	"locked":           "locked",
	"ended":            "ended",
	"not_started":      "not-started",
	"full":             "full",
	"refused":          "refused",
	"sign_in_required": "unavailable",
}

// converse finds the caller's conference and PIN (from what was dialled,
// else by the voice menu), brings the caller in, and returns when the
// call should end: the phone hung up (ctx), the caller gave up or was
// turned away, or the conference let go of them.
func (s *Server) converse(ctx context.Context, media MediaCall, dialled dialString, caller JoinRequest) {
	say := func(prompt string) bool { return media.Play(ctx, prompt) == nil }
	candidates, pin := dialled.candidates, dialled.pin
	wrongPINs, menuRounds := 0, 0
	var events chan any
	for {
		if len(candidates) == 0 {
			if menuRounds == menuAttempts {
				say("goodbye")
				return
			}
			menuRounds++
			if !say("welcome") {
				return
			}
			entered, ok := s.collect(ctx, media)
			if !ok {
				return
			}
			if protocol.ValidCID(entered) {
				candidates = []string{entered}
			} else if !say("not-found") {
				return
			}
			continue
		}
		cid := candidates[0]
		events = make(chan any, 64)
		request := caller
		request.PIN = pin
		request.OnEvent = func(event any) {
			select {
			case events <- event:
			default:
			}
		}
		joining, stopLobby := context.WithCancel(ctx)
		go s.announceLobby(joining, media, events)
		inside, err := media.Join(ctx, cid, request)
		stopLobby()
		if err == nil {
			s.logger.Info("SIP caller joined", slog.String("conference", cid), slog.String("from", caller.Phone.Number))
			s.stay(ctx, media, inside, events)
			return
		}
		var refusal *protocol.Error
		if !errors.As(err, &refusal) {
			s.logger.Warn("SIP caller could not join", slog.String("conference", cid), slog.Any("error", err))
			if ctx.Err() == nil {
				say("unavailable")
				say("goodbye")
			}
			return
		}
		switch refusal.Code {
		case "not_found":
			candidates = candidates[1:]
			if len(candidates) == 0 && !say("not-found") {
				return
			}
			continue
		case "wrong_pin", "pin_required":
			if refusal.Code == "wrong_pin" {
				wrongPINs++
				if !say("wrong-pin") {
					return
				}
				if wrongPINs == menuAttempts {
					say("goodbye")
					return
				}
			}
			if !say("pin") {
				return
			}
			entered, ok := s.collect(ctx, media)
			if !ok {
				return
			}
			pin = entered
			candidates = []string{cid} // the conference is found
			continue
		}
		prompt := promptFor[refusal.Code]
		if prompt == "" {
			prompt = "unavailable"
		}
		s.logger.Info("SIP caller turned away", slog.String("conference", cid), slog.String("code", refusal.Code))
		say(prompt)
		say("goodbye")
		return
	}
}

// announceLobby tells a caller who waits in the lobby why nothing
// happens.
func (s *Server) announceLobby(ctx context.Context, media MediaCall, events <-chan any) {
	for {
		select {
		case <-ctx.Done():
			return
		case event := <-events:
			if _, ok := event.(*protocol.Lobby); ok {
				_ = media.Play(ctx, "lobby")
			}
		}
	}
}

// stay keeps a caller in the conference until the phone hangs up or the
// conference lets go of them.
func (s *Server) stay(ctx context.Context, media MediaCall, inside InConference, events <-chan any) {
	_ = media.Play(ctx, "entering")
	for {
		select {
		case <-ctx.Done():
			inside.Leave()
			return
		case event := <-events:
			switch event.(type) {
			case *protocol.Ended:
				inside.Leave()
				_ = media.Play(ctx, "ended")
				_ = media.Play(ctx, "goodbye")
				return
			case *protocol.Removed:
				inside.Leave()
				_ = media.Play(ctx, "goodbye")
				return
			}
		case <-inside.Done():
			inside.Leave()
			_ = media.Play(ctx, "goodbye")
			return
		}
	}
}

// collect reads keys up to '#' ('*' starts again). It gives up after
// KeyTimeout without a key, or when the call ends.
func (s *Server) collect(ctx context.Context, media MediaCall) (string, bool) {
	var entered []byte
	timer := time.NewTimer(s.cfg.KeyTimeout)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return "", false
		case <-timer.C:
			return string(entered), len(entered) > 0
		case key := <-media.Digits():
			switch key {
			case '#':
				return string(entered), true
			case '*':
				entered = entered[:0]
			default:
				if len(entered) < 40 {
					entered = append(entered, key)
				}
			}
			timer.Reset(s.cfg.KeyTimeout)
		}
	}
}
