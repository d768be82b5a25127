// Package supervisor owns the lifecycle of Parley's subsystems: it starts
// them in order, restarts a crashed one with exponential backoff, stops them
// in reverse order and reports each one's health for the status API.
package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Service is one subsystem.
//
// Serve runs until ctx is cancelled (then it must return promptly, returning
// nil or ctx.Err()) or until it fails (returns a non-nil error). It calls
// st.Ready once it is up and serving. A panic inside Serve counts as a
// failure; only panics on the goroutine that runs Serve can be recovered, so
// goroutines a service starts must recover their own.
type Service interface {
	Name() string
	Serve(ctx context.Context, st *Status) error
}

// State is where a service is in its lifecycle.
type State string

const (
	Starting   State = "starting"
	Running    State = "running"
	Degraded   State = "degraded"
	Restarting State = "restarting" // failed, waiting for backoff before restart
	Stopping   State = "stopping"
	Stopped    State = "stopped"
)

// Health is a snapshot of one service's state for the status API.
type Health struct {
	Name  string `json:"name"`
	State State  `json:"state"`
	// Reason is the Ready note when running, the reason when degraded, and
	// the last error when restarting or starting again after a failure.
	Reason   string    `json:"reason,omitempty"`
	Since    time.Time `json:"since"` // when the state last changed
	Restarts int       `json:"restarts"`
}

// Event reports one state change of one service, for the event log.
type Event struct {
	Service string
	State   State
	Reason  string
	Time    time.Time
}

// Options configures a Supervisor. The zero value is usable.
type Options struct {
	Logger     *slog.Logger  // nil = slog.Default()
	BackoffMin time.Duration // first restart delay; default 500ms
	BackoffMax time.Duration // restart delays double up to this; default 30s
	// StableAfter is how long a service must have been ready before failing
	// for its backoff to start again from BackoffMin; default 1 min.
	StableAfter time.Duration
	// StartTimeout is how long Start waits for one service's Ready before
	// moving on to the next; default 30s.
	StartTimeout time.Duration
	// StopTimeout is how long Stop waits for one service to return after
	// cancelling it; default 15s.
	StopTimeout time.Duration
	// OnEvent, if set, is called on each state change, outside the
	// supervisor's locks. Calls for one service are made in order and never
	// concurrently; calls for different services may be concurrent. It must
	// return quickly and must not call Stop (Stop waits for the service whose
	// event is being delivered).
	OnEvent func(Event)
}

const (
	defaultBackoffMin   = 500 * time.Millisecond
	defaultBackoffMax   = 30 * time.Second
	defaultStableAfter  = time.Minute
	defaultStartTimeout = 30 * time.Second
	defaultStopTimeout  = 15 * time.Second
)

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.BackoffMin <= 0 {
		o.BackoffMin = defaultBackoffMin
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = defaultBackoffMax
	}
	o.BackoffMax = max(o.BackoffMax, o.BackoffMin)
	if o.StableAfter <= 0 {
		o.StableAfter = defaultStableAfter
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = defaultStartTimeout
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = defaultStopTimeout
	}
	return o
}

// Supervisor runs a fixed list of services. All methods are safe for
// concurrent use.
type Supervisor struct {
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	runners  []*runner // in start order; fixed once Start or Stop is called
	started  bool
	stopping bool
	stopped  chan struct{} // closed when Stop has finished
}

// New returns a supervisor with no services.
func New(opts Options) *Supervisor {
	opts = opts.withDefaults()
	return &Supervisor{
		opts:    opts,
		log:     opts.Logger,
		stopped: make(chan struct{}),
	}
}

// Add registers svc; services start in the order they were added. Add must
// be called before Start, and names must be unique because the status API
// identifies services by name; violations are programming errors and panic.
func (s *Supervisor) Add(svc Service) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := svc.Name()
	if s.started || s.stopping {
		panic(fmt.Sprintf("supervisor: Add(%q) called after Start or Stop", name))
	}
	for _, r := range s.runners {
		if r.name == name {
			panic(fmt.Sprintf("supervisor: duplicate service name %q", name))
		}
	}
	s.runners = append(s.runners, newRunner(svc, s.opts))
}

// Start starts the services in order: it launches one, waits until it calls
// Ready, fails, or StartTimeout passes, then moves on to the next. A service
// that fails keeps being restarted in the background with backoff; Start
// does not abort because of it.
//
// ctx bounds only the waiting: once it is done Start launches the remaining
// services without waiting for them, and cancelling it never stops a
// service (Stop does). Start returns nil when every service is running, or
// a joined error describing each service that was not (and ctx's error if
// the waiting was cut short). Start may be called once.
func (s *Supervisor) Start(ctx context.Context) error {
	s.mu.Lock()
	switch {
	case s.stopping:
		s.mu.Unlock()
		return errors.New("supervisor: Start called after Stop")
	case s.started:
		s.mu.Unlock()
		return errors.New("supervisor: Start called twice")
	}
	s.started = true
	runners := s.runners
	s.mu.Unlock()

	for _, r := range runners {
		if !s.launch(r) {
			break
		}
		if ctx.Err() == nil {
			s.awaitStartup(ctx, r)
		}
	}

	var errs []error
	if err := ctx.Err(); err != nil {
		errs = append(errs, fmt.Errorf("supervisor: stopped waiting for services: %w", err))
	}
	for _, r := range runners {
		if err := r.notRunningErr(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// launch starts r's run goroutine unless Stop has begun; it holds s.mu so
// that Stop never misses a service launched while it runs.
func (s *Supervisor) launch(r *runner) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return false
	}
	r.launch()
	return true
}

// awaitStartup waits until r leaves the Starting state (ready, failed or
// being stopped), StartTimeout passes, or ctx is done.
func (s *Supervisor) awaitStartup(ctx context.Context, r *runner) {
	timeout := time.NewTimer(s.opts.StartTimeout)
	defer timeout.Stop()
	for {
		state, changed := r.stateAndChanges()
		if state != Starting {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return
		case <-timeout.C:
			s.log.Warn("service not ready within start timeout; starting the next one",
				slog.String("service", r.name), slog.Duration("start_timeout", s.opts.StartTimeout))
			return
		}
	}
}

// Stop stops the services in reverse start order: it cancels one, waits up
// to StopTimeout for its Serve to return, then moves on to the next. Once
// Stop returns no goroutine of the supervisor is left, except a Serve that
// ignored cancellation past StopTimeout, which is logged as an error. Stop
// is idempotent; concurrent calls all return once the first has finished.
func (s *Supervisor) Stop() {
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		<-s.stopped
		return
	}
	s.stopping = true
	runners := s.runners
	s.mu.Unlock()

	s.log.Info("stopping services")
	for i := len(runners) - 1; i >= 0; i-- {
		runners[i].stop()
	}
	s.log.Info("all services stopped")
	close(s.stopped)
}

// Wait blocks until Stop has completed.
func (s *Supervisor) Wait() {
	<-s.stopped
}

// Health returns a snapshot of every service's health, in start order.
func (s *Supervisor) Health() []Health {
	s.mu.Lock()
	runners := s.runners
	s.mu.Unlock()
	health := make([]Health, len(runners))
	for i, r := range runners {
		health[i] = r.snapshot()
	}
	return health
}

// Restart stops a running service and starts it again at once, to apply
// changed settings (a new port, say). It reports whether the service was
// running to be restarted.
func (s *Supervisor) Restart(name string) bool {
	s.mu.Lock()
	var target *runner
	for _, r := range s.runners {
		if r.name == name {
			target = r
		}
	}
	s.mu.Unlock()
	return target != nil && target.restart()
}
