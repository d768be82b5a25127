package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"time"
)

// errExitedUnexpectedly is the failure recorded when Serve returns nil
// although nobody asked it to stop.
var errExitedUnexpectedly = errors.New("exited unexpectedly")

// Status is handed to a running service to report its state. It belongs to
// one run of Serve: reports made after that run has returned are ignored, so
// a stray goroutine of a failed run cannot mark its successor ready.
type Status struct {
	r *runner
}

// Ready marks the service as running. note is optional detail shown in the
// service's health, e.g. "serving on :8444; port 8443 in use". Ready("")
// clears an earlier Degraded.
func (st *Status) Ready(note string) {
	st.report(Running, note)
}

// Degraded marks the service as running but impaired, for the given reason.
// It also counts as ready for Start.
func (st *Status) Degraded(reason string) {
	st.report(Degraded, reason)
}

func (st *Status) report(state State, reason string) {
	r := st.r
	changed := r.update(func(h *Health) bool {
		if r.current != st || r.stopping || (h.State == state && h.Reason == reason) {
			return false
		}
		if r.readyAt.IsZero() {
			r.readyAt = time.Now()
		}
		h.State, h.Reason = state, reason
		return true
	})
	switch {
	case !changed:
	case state == Degraded:
		r.log.Warn("service degraded", slog.String("service", r.name), slog.String("reason", reason))
	default:
		r.log.Info("service running", slog.String("service", r.name), slog.String("note", reason))
	}
}

// runner supervises one service: it runs Serve on its own goroutine,
// restarting it after failures until stopped.
type runner struct {
	svc  Service
	name string
	opts Options
	log  *slog.Logger

	// reportMu serialises state changes together with their OnEvent calls,
	// so that one service's events are delivered in order and one at a time.
	reportMu sync.Mutex

	mu       sync.Mutex
	health   Health
	changed  chan struct{} // closed and replaced on every state change
	current  *Status       // the run now inside Serve; nil between runs
	readyAt  time.Time     // when the current run first became ready
	lastErr  error         // why the latest run failed
	stopping bool          // once set, only Stopping and Stopped may be recorded
	cancel   context.CancelFunc
	done     chan struct{} // closed when the run goroutine exits; nil until launched

	cancelRun        context.CancelFunc // ends the current run only
	restartRequested bool               // the current run ends for Restart, not a failure
}

func newRunner(svc Service, opts Options) *runner {
	name := svc.Name()
	return &runner{
		svc:     svc,
		name:    name,
		opts:    opts,
		log:     opts.Logger,
		health:  Health{Name: name, State: Stopped, Since: time.Now()},
		changed: make(chan struct{}),
	}
}

// update applies change to the health under the lock and, if change reports
// that something changed, timestamps it, wakes waiters and emits the event.
// change may read and write the runner's fields.
func (r *runner) update(change func(h *Health) bool) bool {
	r.reportMu.Lock()
	defer r.reportMu.Unlock()

	r.mu.Lock()
	if !change(&r.health) {
		r.mu.Unlock()
		return false
	}
	now := time.Now()
	r.health.Since = now
	close(r.changed)
	r.changed = make(chan struct{})
	event := Event{Service: r.name, State: r.health.State, Reason: r.health.Reason, Time: now}
	r.mu.Unlock()

	if r.opts.OnEvent != nil {
		r.opts.OnEvent(event)
	}
	return true
}

func (r *runner) snapshot() Health {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.health
}

// stateAndChanges returns the current state and a channel that is closed at
// the next state change.
func (r *runner) stateAndChanges() (State, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.health.State, r.changed
}

// notRunningErr describes why the service is not running, or returns nil
// when it is.
func (r *runner) notRunningErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch r.health.State {
	case Running, Degraded:
		return nil
	case Restarting:
		return fmt.Errorf("%s: %w", r.name, r.lastErr)
	case Starting:
		if r.lastErr != nil {
			return fmt.Errorf("%s: not ready yet, restarting after: %w", r.name, r.lastErr)
		}
		return fmt.Errorf("%s: not ready yet", r.name)
	default:
		return fmt.Errorf("%s: %s", r.name, r.health.State)
	}
}

// launch records the first start and starts the run goroutine.
func (r *runner) launch() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	r.mu.Lock()
	r.cancel, r.done = cancel, done
	r.mu.Unlock()

	r.update(func(h *Health) bool {
		h.State, h.Reason = Starting, ""
		return true
	})
	r.log.Info("starting service", slog.String("service", r.name))
	go r.run(ctx, done)
}

// run serves the service until ctx is cancelled, restarting it with
// backoff whenever it fails.
func (r *runner) run(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	defer r.update(func(h *Health) bool {
		h.State, h.Reason = Stopped, ""
		return true
	})

	delays := backoff{min: r.opts.BackoffMin, max: r.opts.BackoffMax, stableAfter: r.opts.StableAfter}
	for {
		readyFor, err := r.serveOnce(ctx)
		r.mu.Lock()
		requested := r.restartRequested
		r.restartRequested = false
		r.mu.Unlock()
		if requested && ctx.Err() == nil {
			r.log.Info("restarting service on request", slog.String("service", r.name))
			r.update(func(h *Health) bool {
				if r.stopping {
					return false
				}
				h.State, h.Reason = Starting, "restarting to apply new settings"
				return true
			})
			continue
		}
		if ctx.Err() != nil {
			if err != nil && !errors.Is(err, context.Canceled) {
				r.log.Warn("service returned an error while stopping",
					slog.String("service", r.name), slog.Any("error", err))
			}
			return
		}

		delay := delays.next(readyFor)
		r.log.Error("service failed; restarting after backoff",
			slog.String("service", r.name), slog.Any("error", err), slog.Duration("backoff", delay))
		r.update(func(h *Health) bool {
			if r.stopping {
				return false
			}
			r.lastErr = err
			h.State, h.Reason = Restarting, err.Error()
			return true
		})
		if !sleep(ctx, delay) {
			return
		}
		r.update(func(h *Health) bool {
			if r.stopping {
				return false
			}
			h.Restarts++
			h.State, h.Reason = Starting, r.lastErr.Error()
			return true
		})
	}
}

// serveOnce runs Serve once and returns why it ended (nil only when ctx was
// cancelled) and how long it had been ready.
func (r *runner) serveOnce(ctx context.Context) (readyFor time.Duration, err error) {
	// A run gets its own context so that whatever a failed run left behind
	// is cancelled before the next run starts.
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	st := &Status{r: r}
	r.mu.Lock()
	r.current, r.readyAt, r.cancelRun = st, time.Time{}, cancel
	r.mu.Unlock()

	err = r.callServe(runCtx, st)

	r.mu.Lock()
	r.current, r.cancelRun = nil, nil
	if !r.readyAt.IsZero() {
		readyFor = time.Since(r.readyAt)
	}
	r.mu.Unlock()

	if err == nil && ctx.Err() == nil {
		err = errExitedUnexpectedly
	}
	return readyFor, err
}

// callServe calls Serve, turning a panic into an error so that one faulty
// subsystem cannot take the whole process down.
func (r *runner) callServe(ctx context.Context, st *Status) (err error) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("service panicked",
				slog.String("service", r.name), slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return r.svc.Serve(ctx, st)
}

// stop cancels the service and waits up to StopTimeout for it to return.
func (r *runner) stop() {
	r.mu.Lock()
	cancel, done := r.cancel, r.done
	r.mu.Unlock()
	if done == nil {
		return // never launched
	}

	r.update(func(h *Health) bool {
		r.stopping = true
		h.State, h.Reason = Stopping, ""
		return true
	})
	r.log.Info("stopping service", slog.String("service", r.name))
	cancel()

	timeout := time.NewTimer(r.opts.StopTimeout)
	defer timeout.Stop()
	select {
	case <-done:
		r.log.Info("service stopped", slog.String("service", r.name))
	case <-timeout.C:
		r.log.Error("service ignored cancellation and is still running; abandoning it",
			slog.String("service", r.name), slog.Duration("stop_timeout", r.opts.StopTimeout))
		r.update(func(h *Health) bool {
			if h.State != Stopping {
				return false // it returned after all
			}
			h.Reason = fmt.Sprintf("did not stop within %s", r.opts.StopTimeout)
			return true
		})
	}
}

// sleep waits for d and reports whether it elapsed before ctx was done.
func sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// backoff computes restart delays: doubling from min up to max, and back to
// min after a run that was ready for at least stableAfter.
type backoff struct {
	min, max, stableAfter time.Duration
	upcoming              time.Duration // zero until the first failure
}

// next returns the delay before restarting a run that failed after being
// ready for readyFor.
func (b *backoff) next(readyFor time.Duration) time.Duration {
	if b.upcoming == 0 || readyFor >= b.stableAfter {
		b.upcoming = b.min
	}
	delay := b.upcoming
	b.upcoming = min(2*b.upcoming, b.max)
	return withJitter(delay)
}

// withJitter shortens d by up to a tenth at random so that services that
// failed together do not restart in lockstep.
func withJitter(d time.Duration) time.Duration {
	return d - rand.N(d/10+1)
}

// restart ends the current run so that the loop starts the next at once,
// without counting a failure.
func (r *runner) restart() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancelRun == nil || r.stopping {
		return false
	}
	r.restartRequested = true
	r.cancelRun()
	return true
}
