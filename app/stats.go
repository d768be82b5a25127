package app

import (
	"context"
	"sync"
	"time"

	"github.com/parleyhq/parley/app/supervisor"
	"github.com/parleyhq/parley/server/api"
)

// statsService samples media traffic every minute and keeps the last hour
// for the dashboard's bandwidth chart.
type statsService struct {
	host *Host

	mu      sync.Mutex
	samples []api.Bandwidth
}

// sampleEvery is the resolution of the bandwidth chart; keep is its span.
const (
	sampleEvery = time.Minute
	keepSamples = 60
)

func (s *statsService) Name() string { return "stats" }

func (s *statsService) Serve(ctx context.Context, st *supervisor.Status) error {
	ticker := time.NewTicker(sampleEvery)
	defer ticker.Stop()
	counts := s.host.media.counters()
	lastIn, lastOut := counts.BytesIn, counts.BytesOut
	last := time.Now()
	st.Ready("")
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-ticker.C:
			counts := s.host.media.counters()
			in, out := counts.BytesIn, counts.BytesOut
			seconds := now.Sub(last).Seconds()
			// A restarted SFU counts from zero again.
			if in < lastIn || out < lastOut {
				lastIn, lastOut = 0, 0
			}
			sample := api.Bandwidth{At: now.UTC(), InBPS: float64(in-lastIn) * 8 / seconds, OutBPS: float64(out-lastOut) * 8 / seconds}
			lastIn, lastOut, last = in, out, now
			s.mu.Lock()
			s.samples = append(s.samples, sample)
			if len(s.samples) > keepSamples {
				s.samples = s.samples[len(s.samples)-keepSamples:]
			}
			s.mu.Unlock()
		}
	}
}

// stats is what GET /api/v1/stats answers.
func (s *statsService) stats() api.Stats {
	counts := s.host.conferences.Counts()
	s.mu.Lock()
	bandwidth := append([]api.Bandwidth{}, s.samples...)
	s.mu.Unlock()
	return api.Stats{UsersOnline: s.host.signal.UsersOnline(), ConferencesRunning: counts.Conferences,
		Participants: counts.Participants, Guests: counts.Guests, Waiting: counts.Waiting, Bandwidth: bandwidth}
}
