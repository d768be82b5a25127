package supervisor

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitLimit bounds every wait in these tests; it only turns a hang into a
// failure and is never an assertion about speed.
const waitLimit = 10 * time.Second

// fakeService is a Service whose Serve is supplied by the test.
type fakeService struct {
	name  string
	serve func(ctx context.Context, st *Status) error
}

func (f *fakeService) Name() string { return f.name }

func (f *fakeService) Serve(ctx context.Context, st *Status) error { return f.serve(ctx, st) }

// readyUntilCancelled is the Serve of a well-behaved service.
func readyUntilCancelled(ctx context.Context, st *Status) error {
	st.Ready("")
	<-ctx.Done()
	return ctx.Err()
}

// eventRecorder collects the events passed to Options.OnEvent.
type eventRecorder struct {
	mu     sync.Mutex
	events []Event
}

func (e *eventRecorder) record(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.events = append(e.events, ev)
}

// of returns the recorded state changes of one service as "state: reason".
func (e *eventRecorder) of(service string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var changes []string
	for _, ev := range e.events {
		if ev.Service == service {
			changes = append(changes, string(ev.State)+": "+ev.Reason)
		}
	}
	return changes
}

// orderLog records what the fake services did, in order.
type orderLog struct {
	mu      sync.Mutex
	entries []string
}

func (o *orderLog) add(entry string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.entries = append(o.entries, entry)
}

func (o *orderLog) get() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.entries)
}

// newTestSupervisor returns a supervisor with short delays that is stopped
// when the test ends, after which the test checks that no goroutine leaked.
func newTestSupervisor(t *testing.T, opts Options) *Supervisor {
	t.Helper()
	baseline := runtime.NumGoroutine()
	t.Cleanup(func() { waitForGoroutines(t, baseline) })
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	if opts.BackoffMin == 0 {
		opts.BackoffMin = 2 * time.Millisecond
	}
	if opts.BackoffMax == 0 {
		opts.BackoffMax = 10 * time.Millisecond
	}
	sup := New(opts)
	t.Cleanup(sup.Stop)
	return sup
}

// waitForGoroutines fails the test if the number of goroutines does not
// return to baseline.
func waitForGoroutines(t *testing.T, baseline int) {
	t.Helper()
	waitFor(t, "goroutines to return to their baseline", func() bool {
		return runtime.NumGoroutine() <= baseline
	})
}

// waitFor polls cond until it holds, failing the test after waitLimit.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// finishes runs f on another goroutine and fails the test if it has not
// returned within waitLimit.
func finishes(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(waitLimit):
		t.Fatalf("%s did not return", what)
	}
}

func healthOf(t *testing.T, sup *Supervisor, name string) Health {
	t.Helper()
	for _, h := range sup.Health() {
		if h.Name == name {
			return h
		}
	}
	t.Fatalf("no health for service %q", name)
	return Health{}
}

func waitForState(t *testing.T, sup *Supervisor, name string, state State) Health {
	t.Helper()
	waitFor(t, name+" to be "+string(state), func() bool {
		return healthOf(t, sup, name).State == state
	})
	return healthOf(t, sup, name)
}

func TestStartsInOrderAndStopsInReverse(t *testing.T) {
	sup := newTestSupervisor(t, Options{})
	var order orderLog
	sup.Add(&fakeService{name: "store", serve: func(ctx context.Context, st *Status) error {
		// Dawdle so that a supervisor starting web too early would be caught.
		time.Sleep(5 * time.Millisecond)
		order.add("store ready")
		st.Ready("")
		<-ctx.Done()
		order.add("store cancelled")
		return ctx.Err()
	}})
	sup.Add(&fakeService{name: "web", serve: func(ctx context.Context, st *Status) error {
		order.add("web serving")
		st.Ready("")
		<-ctx.Done()
		// Dawdle so that a supervisor cancelling store too early would be caught.
		time.Sleep(5 * time.Millisecond)
		order.add("web returned")
		return nil
	}})

	if err := sup.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	for _, h := range sup.Health() {
		if h.State != Running {
			t.Errorf("after Start %s is %s, want running", h.Name, h.State)
		}
	}
	sup.Stop()

	want := []string{"store ready", "web serving", "web returned", "store cancelled"}
	if got := order.get(); !slices.Equal(got, want) {
		t.Errorf("order = %q, want %q", got, want)
	}
	health := sup.Health()
	if len(health) != 2 || health[0].Name != "store" || health[1].Name != "web" {
		t.Fatalf("health not in start order: %+v", health)
	}
	for _, h := range health {
		if h.State != Stopped || h.Reason != "" {
			t.Errorf("after Stop %s is %s (%q), want stopped without reason", h.Name, h.State, h.Reason)
		}
	}
}

func TestFailingServiceIsRestartedUntilItWorks(t *testing.T) {
	var events eventRecorder
	sup := newTestSupervisor(t, Options{OnEvent: events.record})
	var runs atomic.Int32
	sup.Add(&fakeService{name: "web", serve: func(ctx context.Context, st *Status) error {
		if runs.Add(1) <= 2 {
			return errors.New("port 8443 in use")
		}
		return readyUntilCancelled(ctx, st)
	}})

	// Start's result depends on how far the restarts got when it returned.
	_ = sup.Start(t.Context())
	h := waitForState(t, sup, "web", Running)
	if h.Restarts != 2 {
		t.Errorf("restarts = %d, want 2", h.Restarts)
	}

	want := []string{
		"starting: ",
		"restarting: port 8443 in use",
		"starting: port 8443 in use",
		"restarting: port 8443 in use",
		"starting: port 8443 in use",
		"running: ",
	}
	if got := events.of("web"); !slices.Equal(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
}

func TestStartReportsFailingServiceAndStopInterruptsBackoff(t *testing.T) {
	sup := newTestSupervisor(t, Options{BackoffMin: time.Hour, BackoffMax: time.Hour})
	errPortInUse := errors.New("port 8443 in use")
	sup.Add(&fakeService{name: "store", serve: readyUntilCancelled})
	sup.Add(&fakeService{name: "web", serve: func(context.Context, *Status) error {
		return errPortInUse
	}})

	err := sup.Start(t.Context())
	if !errors.Is(err, errPortInUse) || !strings.Contains(err.Error(), "web: port 8443 in use") {
		t.Errorf("Start error = %v, want one naming web and its failure", err)
	}
	if strings.Contains(err.Error(), "store") {
		t.Errorf("Start error %q mentions the running store", err)
	}
	h := healthOf(t, sup, "web")
	if h.State != Restarting || h.Reason != "port 8443 in use" {
		t.Errorf("web health = %s (%q), want restarting with the error", h.State, h.Reason)
	}

	finishes(t, "Stop during an hour-long backoff", sup.Stop)
	if h := healthOf(t, sup, "web"); h.State != Stopped || h.Reason != "" {
		t.Errorf("after Stop web is %s (%q), want stopped without reason", h.State, h.Reason)
	}
}

func TestPanickingServiceIsRestarted(t *testing.T) {
	var events eventRecorder
	sup := newTestSupervisor(t, Options{OnEvent: events.record})
	var runs atomic.Int32
	sup.Add(&fakeService{name: "media", serve: func(ctx context.Context, st *Status) error {
		if runs.Add(1) == 1 {
			panic("boom")
		}
		return readyUntilCancelled(ctx, st)
	}})

	_ = sup.Start(t.Context())
	if h := waitForState(t, sup, "media", Running); h.Restarts != 1 {
		t.Errorf("restarts = %d, want 1", h.Restarts)
	}
	if !slices.Contains(events.of("media"), "restarting: panic: boom") {
		t.Errorf("events %q lack the panic", events.of("media"))
	}
}

func TestUnexpectedReturnIsRestarted(t *testing.T) {
	var events eventRecorder
	sup := newTestSupervisor(t, Options{OnEvent: events.record})
	var runs atomic.Int32
	sup.Add(&fakeService{name: "discovery", serve: func(ctx context.Context, st *Status) error {
		if runs.Add(1) == 1 {
			st.Ready("")
			return nil
		}
		return readyUntilCancelled(ctx, st)
	}})

	_ = sup.Start(t.Context())
	waitFor(t, "a restart", func() bool { return healthOf(t, sup, "discovery").Restarts == 1 })
	waitForState(t, sup, "discovery", Running)
	if !slices.Contains(events.of("discovery"), "restarting: exited unexpectedly") {
		t.Errorf("events %q lack the unexpected exit", events.of("discovery"))
	}
}

func TestNeverReadyServiceDoesNotBlockStart(t *testing.T) {
	sup := newTestSupervisor(t, Options{StartTimeout: 20 * time.Millisecond})
	sup.Add(&fakeService{name: "turn", serve: func(ctx context.Context, _ *Status) error {
		<-ctx.Done()
		return ctx.Err()
	}})
	sup.Add(&fakeService{name: "web", serve: readyUntilCancelled})

	var err error
	finishes(t, "Start", func() { err = sup.Start(t.Context()) })
	if err == nil || !strings.Contains(err.Error(), "turn: not ready yet") {
		t.Errorf("Start error = %v, want one saying turn is not ready", err)
	}
	if h := healthOf(t, sup, "turn"); h.State != Starting {
		t.Errorf("turn is %s, want starting", h.State)
	}
	if h := healthOf(t, sup, "web"); h.State != Running {
		t.Errorf("web is %s, want running", h.State)
	}
}

func TestStartContextBoundsOnlyTheWaiting(t *testing.T) {
	sup := newTestSupervisor(t, Options{})
	sup.Add(&fakeService{name: "turn", serve: func(ctx context.Context, _ *Status) error {
		<-ctx.Done()
		return ctx.Err()
	}})
	sup.Add(&fakeService{name: "web", serve: readyUntilCancelled})

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := sup.Start(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Start error = %v, want context.Canceled", err)
	}
	// Both services were launched and outlive the cancelled context.
	waitForState(t, sup, "web", Running)
	if h := healthOf(t, sup, "turn"); h.State != Starting {
		t.Errorf("turn is %s, want starting", h.State)
	}
}

func TestStopDuringStartEndsStartAndLaunchesNothingMore(t *testing.T) {
	sup := newTestSupervisor(t, Options{StartTimeout: time.Hour})
	serving := make(chan struct{})
	var webLaunched atomic.Bool
	sup.Add(&fakeService{name: "store", serve: func(ctx context.Context, _ *Status) error {
		close(serving)
		<-ctx.Done() // never ready
		return ctx.Err()
	}})
	sup.Add(&fakeService{name: "web", serve: func(ctx context.Context, st *Status) error {
		webLaunched.Store(true)
		return readyUntilCancelled(ctx, st)
	}})

	startErr := make(chan error, 1)
	go func() { startErr <- sup.Start(t.Context()) }()
	<-serving
	finishes(t, "Stop", sup.Stop)
	select {
	case err := <-startErr:
		if err == nil {
			t.Error("Start returned nil although it was stopped")
		}
	case <-time.After(waitLimit):
		t.Fatal("Start did not return after Stop")
	}
	if webLaunched.Load() {
		t.Error("web was launched after Stop")
	}
	for _, h := range sup.Health() {
		if h.State != Stopped {
			t.Errorf("%s is %s, want stopped", h.Name, h.State)
		}
	}
}

func TestHealthShowsReadyNoteAndDegradedReason(t *testing.T) {
	sup := newTestSupervisor(t, Options{})
	statuses := make(chan *Status, 1)
	sup.Add(&fakeService{name: "web", serve: func(ctx context.Context, st *Status) error {
		st.Ready("serving on :8444; port 8443 in use")
		statuses <- st
		<-ctx.Done()
		return nil
	}})

	if err := sup.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	st := <-statuses
	check := func(wantState State, wantReason string) {
		t.Helper()
		if h := healthOf(t, sup, "web"); h.State != wantState || h.Reason != wantReason {
			t.Errorf("health = %s (%q), want %s (%q)", h.State, h.Reason, wantState, wantReason)
		}
	}
	check(Running, "serving on :8444; port 8443 in use")
	st.Degraded("TURN unreachable")
	check(Degraded, "TURN unreachable")
	st.Ready("")
	check(Running, "")
}

func TestStaleStatusIsIgnored(t *testing.T) {
	sup := newTestSupervisor(t, Options{})
	var runs atomic.Int32
	firstRun := make(chan *Status, 1)
	sup.Add(&fakeService{name: "sip", serve: func(ctx context.Context, st *Status) error {
		if runs.Add(1) == 1 {
			firstRun <- st
			return errors.New("registrar unreachable")
		}
		<-ctx.Done() // never ready
		return nil
	}})

	_ = sup.Start(t.Context())
	stale := <-firstRun
	waitFor(t, "a restart", func() bool { return healthOf(t, sup, "sip").Restarts == 1 })
	stale.Ready("late")
	if h := healthOf(t, sup, "sip"); h.State == Running {
		t.Errorf("a finished run's Ready marked the service running: %+v", h)
	}
}

func TestStopIsIdempotentAndLeavesNoGoroutines(t *testing.T) {
	baseline := runtime.NumGoroutine()
	sup := newTestSupervisor(t, Options{})
	sup.Add(&fakeService{name: "store", serve: readyUntilCancelled})
	sup.Add(&fakeService{name: "web", serve: readyUntilCancelled})
	if err := sup.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}

	waited := make(chan struct{})
	go func() {
		defer close(waited)
		sup.Wait()
	}()
	select {
	case <-waited:
		t.Fatal("Wait returned before Stop")
	default:
	}

	finishes(t, "concurrent Stops", func() {
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(sup.Stop)
		}
		wg.Wait()
	})
	finishes(t, "Stop after Stop", sup.Stop)
	finishes(t, "Wait after Stop", sup.Wait)
	<-waited
	for _, h := range sup.Health() {
		if h.State != Stopped {
			t.Errorf("%s is %s, want stopped", h.Name, h.State)
		}
	}
	waitForGoroutines(t, baseline)

	if err := sup.Start(t.Context()); err == nil {
		t.Error("Start after Stop succeeded")
	}
}

func TestStopGivesUpOnServiceIgnoringCancellation(t *testing.T) {
	sup := newTestSupervisor(t, Options{StopTimeout: 20 * time.Millisecond})
	release := make(chan struct{})
	sup.Add(&fakeService{name: "store", serve: readyUntilCancelled})
	sup.Add(&fakeService{name: "stubborn", serve: func(_ context.Context, st *Status) error {
		st.Ready("")
		<-release
		return nil
	}})
	if err := sup.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}

	finishes(t, "Stop", sup.Stop)
	h := healthOf(t, sup, "stubborn")
	if h.State != Stopping || !strings.Contains(h.Reason, "did not stop within") {
		t.Errorf("stubborn health = %s (%q), want stopping with a reason", h.State, h.Reason)
	}
	if h := healthOf(t, sup, "store"); h.State != Stopped {
		t.Errorf("store is %s, want stopped", h.State)
	}

	close(release)
	waitForState(t, sup, "stubborn", Stopped)
}

func TestBackoffDoublesAndResetsAfterStableRun(t *testing.T) {
	b := backoff{min: 10 * time.Millisecond, max: 40 * time.Millisecond, stableAfter: time.Minute}
	for i, want := range []time.Duration{10, 20, 40, 40} {
		want *= time.Millisecond
		if got := b.next(time.Second); got > want || got < want*9/10 {
			t.Errorf("delay %d = %s, want %s less up to a tenth", i, got, want)
		}
	}
	if got := b.next(time.Minute); got > b.min || got < b.min*9/10 {
		t.Errorf("delay after a stable run = %s, want about %s", got, b.min)
	}
}

func TestRestartRunsAgainWithoutCountingAFailure(t *testing.T) {
	events := &eventRecorder{}
	sup := newTestSupervisor(t, Options{OnEvent: events.record})
	var runs atomic.Int32
	sup.Add(&fakeService{name: "web", serve: func(ctx context.Context, st *Status) error {
		runs.Add(1)
		return readyUntilCancelled(ctx, st)
	}})
	if err := sup.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitForState(t, sup, "web", Running)
	if !sup.Restart("web") {
		t.Fatal("Restart refused a running service")
	}
	waitFor(t, "a second run", func() bool { return runs.Load() == 2 })
	h := waitForState(t, sup, "web", Running)
	if h.Restarts != 0 {
		t.Errorf("a requested restart counted as a failure: %+v", h)
	}
	if got := events.of("web"); !slices.Contains(got, "starting: restarting to apply new settings") {
		t.Errorf("events %v", got)
	}
	if sup.Restart("nothing") {
		t.Error("Restart of an unknown service reported success")
	}
	sup.Stop()
	if sup.Restart("web") {
		t.Error("Restart after Stop reported success")
	}
}
