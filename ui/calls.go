package ui

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/data/binding"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/parleyhq/parley/server/client"
	"github.com/parleyhq/parley/server/protocol"
)

// CallsModel keeps a signed-in user reachable for 1:1 calls: a signalling
// connection that said hello, opened again when it drops.
type CallsModel struct {
	client *client.Client
	log    *slog.Logger
	// Reachable is true while the connection is up.
	Reachable binding.Bool

	mu  sync.Mutex
	sig *client.Signal
}

func newCallsModel(c *client.Client, log *slog.Logger) *CallsModel {
	return &CallsModel{client: c, log: log, Reachable: binding.NewBool()}
}

// CallHandlers receive what rings; they run on the model's goroutine.
type CallHandlers struct {
	Incoming func(*protocol.IncomingCall)
	Ended    func(*protocol.CallEnded)
}

// Run keeps the connection until ctx ends.
func (m *CallsModel) Run(ctx context.Context, on CallHandlers) {
	backoff := time.Second
	for ctx.Err() == nil {
		if m.serve(ctx, on) {
			backoff = time.Second
		}
		_ = m.Reachable.Set(false)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// serve holds one connection; it reports whether hello got through.
func (m *CallsModel) serve(ctx context.Context, on CallHandlers) bool {
	sig, err := m.client.Signal(ctx)
	if err != nil {
		m.log.Debug("calls: connect", slog.Any("error", err))
		return false
	}
	defer sig.Close()
	if _, err := sig.Request(ctx, "hello", &protocol.Hello{}); err != nil {
		m.log.Debug("calls: hello", slog.Any("error", err))
		return false
	}
	m.mu.Lock()
	m.sig = sig
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.sig = nil
		m.mu.Unlock()
	}()
	_ = m.Reachable.Set(true)
	for {
		select {
		case <-ctx.Done():
			return true
		case event, ok := <-sig.Events():
			if !ok {
				return true
			}
			switch e := event.Event.(type) {
			case *protocol.IncomingCall:
				on.Incoming(e)
			case *protocol.CallEnded:
				on.Ended(e)
			}
		}
	}
}

var errNotReachable = errors.New("the connection for calls is down; it comes back by itself in a moment")

func (m *CallsModel) request(ctx context.Context, kind string, message interface{ SetRequest(string, int64) }) error {
	m.mu.Lock()
	sig := m.sig
	m.mu.Unlock()
	if sig == nil {
		return errNotReachable
	}
	_, err := sig.Request(ctx, kind, message)
	return err
}

// Accept answers a call; the caller's conference is then the one to join.
func (m *CallsModel) Accept(ctx context.Context, call string) error {
	return m.request(ctx, "call_accept", &protocol.CallAccept{Call: call})
}

// Decline turns a call down, with a message for the caller.
func (m *CallsModel) Decline(ctx context.Context, call, reason string) error {
	return m.request(ctx, "call_decline", &protocol.CallDecline{Call: call, Reason: reason})
}

// callRinger shows incoming calls.
type callRinger struct {
	s       *shell
	model   *CallsModel
	cancel  context.CancelFunc
	ringing map[string]dialog.Dialog // by call id
}

// startRinger makes a signed-in session reachable for calls.
func (s *shell) startRinger(session *Session) {
	if s.calls != nil {
		s.calls.stop()
		s.calls = nil
	}
	if session.Me == nil {
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	r := &callRinger{s: s, model: newCallsModel(session.Client, s.log), cancel: cancel, ringing: map[string]dialog.Dialog{}}
	s.calls = r
	if s.console != nil {
		s.console.followCalls(r.model.Reachable)
	}
	s.tasks.Go(func() {
		r.model.Run(ctx, CallHandlers{
			Incoming: func(call *protocol.IncomingCall) {
				if ctx.Err() == nil {
					fyne.Do(func() { r.ring(call) })
				}
			},
			Ended: func(ended *protocol.CallEnded) {
				if ctx.Err() == nil {
					fyne.Do(func() { r.ended(ended) })
				}
			},
		})
	})
}

func (r *callRinger) stop() {
	r.cancel()
	for id, d := range r.ringing {
		d.Hide()
		delete(r.ringing, id)
	}
}

// quickReasons are one-tap messages for declining.
var quickReasons = []string{"In a meeting", "Call you later", "Can't talk now, please write"}

// ring shows who calls, with Accept and Decline.
func (r *callRinger) ring(call *protocol.IncomingCall) {
	if r.ringing[call.Call] != nil {
		return
	}
	s := r.s
	s.app.SendNotification(fyne.NewNotification("Parley", call.From.Name+" is calling"))
	s.win.Show()
	s.win.RequestFocus()

	reason := widget.NewEntry()
	reason.SetPlaceHolder("Message if you decline (optional)")
	chips := container.NewHBox()
	for _, text := range quickReasons {
		chips.Add(widget.NewButton(text, func() { reason.SetText(text) }))
	}
	var d *dialog.CustomDialog
	answer := func(accept bool) {
		d.Hide()
		delete(r.ringing, call.Call)
		s.background(func(ctx context.Context) error {
			if accept {
				return r.model.Accept(ctx, call.Call)
			}
			return r.model.Decline(ctx, call.Call, reason.Text)
		}, func(err error) {
			switch {
			case err != nil:
				s.showError("The call could not be answered", err)
			case accept:
				s.openMeeting(JoinRequest{CID: call.Conference, Name: "Call with " + call.From.Name})
			}
		})
	}
	decline := widget.NewButton("Decline", func() { answer(false) })
	decline.Importance = widget.DangerImportance
	accept := widget.NewButton("Accept", func() { answer(true) })
	accept.Importance = widget.SuccessImportance
	body := container.NewVBox(
		container.NewHBox(layout.NewSpacer(), newAvatar(call.From.Name, 72), layout.NewSpacer()),
		widget.NewLabelWithStyle("Accept to join a call for the two of you.", fyne.TextAlignCenter, fyne.TextStyle{}),
		reason, chips)
	d = dialog.NewCustomWithoutButtons(call.From.Name+" is calling", body, s.win)
	d.SetButtons([]fyne.CanvasObject{decline, accept})
	d.Resize(fyne.NewSize(520, 330))
	r.ringing[call.Call] = d
	d.Show()
}

// ended stops the ringing of a call that was answered elsewhere, hung up
// or not answered in time.
func (r *callRinger) ended(ended *protocol.CallEnded) {
	d := r.ringing[ended.Call]
	if d == nil {
		return
	}
	d.Hide()
	delete(r.ringing, ended.Call)
	if ended.Reason == "cancelled" || ended.Reason == "no_answer" {
		r.s.app.SendNotification(fyne.NewNotification("Parley", "Missed call"))
	}
}
