package ui

import (
	"testing"
	"time"
)

// TestStageStopsWhileTheWindowIsBusy stops the stage on the UI goroutine
// at a moment its drawing loop has work queued for that goroutine: the
// stop must not wait for work that waits for it.
func TestStageStopsWhileTheWindowIsBusy(t *testing.T) {
	a := newUIApp(t)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		a.run(func() {
			st := newStage(&meetingArea{s: &shell{win: a.NewWindow("Parley")}})
			st.start()
			time.Sleep(3 * drawEvery) // the loop wants this goroutine now
			st.stop()
		})
	}()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the stage did not stop: its loop and the UI goroutine wait for each other")
	}
}
