package api

import (
	"errors"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/parleyhq/parley/server/conference"
	"github.com/parleyhq/parley/server/protocol"
)

// PhoneDialer places calls from conferences to phones: the SIP gateway.
type PhoneDialer interface {
	Dial(cid, target string, progress func(call, state, reason string)) (string, error)
	Cancel(call string) error
}

// placedCall is a call placed through the API, as GET shows it.
type placedCall struct {
	Call      string    `json:"call"`
	Target    string    `json:"target"`
	State     string    `json:"state"`
	Reason    string    `json:"reason,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
	cid       string
}

// placedCalls remembers the API's calls, for GET, for a while after they
// end.
type placedCalls struct {
	mu    sync.Mutex
	calls map[string]*placedCall
}

// keepEnded is how long an ended call still shows.
const keepEnded = 10 * time.Minute

func (p *placedCalls) update(cid, call, target, state, reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.calls == nil {
		p.calls = map[string]*placedCall{}
	}
	for id, c := range p.calls {
		if finalDialState(c.State) && time.Since(c.UpdatedAt) > keepEnded {
			delete(p.calls, id)
		}
	}
	c := p.calls[call]
	if c == nil {
		c = &placedCall{Call: call, Target: target, cid: cid}
		p.calls[call] = c
	}
	c.State, c.Reason, c.UpdatedAt = state, reason, time.Now().UTC()
}

func (p *placedCalls) of(cid string) []placedCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	list := []placedCall{}
	for _, c := range p.calls {
		if c.cid == cid {
			list = append(list, *c)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].UpdatedAt.After(list[j].UpdatedAt) })
	return list
}

func (p *placedCalls) cidOf(call string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.calls[call]
	if !ok {
		return "", false
	}
	return c.cid, true
}

func finalDialState(state string) bool {
	switch state {
	case "calling", protocol.DialRinging, protocol.DialAnswered:
		return false
	}
	return true
}

func (a *API) dialer() (PhoneDialer, error) {
	if a.Phones == nil {
		return nil, apiError(http.StatusServiceUnavailable, "unavailable", "the SIP gateway is off; phones cannot be called")
	}
	d := a.Phones()
	if d == nil {
		return nil, apiError(http.StatusServiceUnavailable, "unavailable", "the SIP gateway is off; phones cannot be called")
	}
	return d, nil
}

// placeCall: POST /api/v1/conferences/{cid}/calls {"target"}.
func (a *API) placeCall(w http.ResponseWriter, r *http.Request, rq *request) error {
	var body struct {
		Target string `json:"target"`
	}
	if err := decode(r, &body, maxBody); err != nil {
		return err
	}
	if err := protocol.CheckDialTarget(body.Target); err != nil {
		return &Error{Status: http.StatusBadRequest, Code: "invalid", Field: "target", Message: err.Error()}
	}
	cid := r.PathValue("cid")
	if err := a.Conferences.Dialing(r.Context(), rq.user, rq.source.String(), cid, body.Target); err != nil {
		return err
	}
	dialer, err := a.dialer()
	if err != nil {
		return err
	}
	call, err := dialer.Dial(cid, body.Target, func(call, state, reason string) {
		a.calls.update(cid, call, body.Target, state, reason)
	})
	var refusal *protocol.Error
	if errors.As(err, &refusal) {
		status := map[string]int{"not_found": http.StatusNotFound, "no_route": http.StatusUnprocessableEntity,
			"unavailable": http.StatusServiceUnavailable}[refusal.Code]
		if status == 0 {
			status = http.StatusBadRequest
		}
		return &Error{Status: status, Code: refusal.Code, Field: refusal.Field, Message: refusal.Message}
	}
	if err != nil {
		return err
	}
	a.calls.update(cid, call, body.Target, "calling", "")
	writeJSON(w, http.StatusAccepted, map[string]string{"call": call})
	return nil
}

// listCalls: GET /api/v1/conferences/{cid}/calls.
func (a *API) listCalls(w http.ResponseWriter, r *http.Request, rq *request) error {
	cid := r.PathValue("cid")
	c, err := a.Conferences.Get(r.Context(), cid)
	if err != nil {
		return err
	}
	if !conference.CanManage(rq.user, c) {
		return apiError(http.StatusForbidden, "forbidden", "only the conference's owner or an administrator may see its calls")
	}
	writeJSON(w, http.StatusOK, map[string]any{"calls": a.calls.of(cid)})
	return nil
}

// hangUpCall: DELETE /api/v1/conferences/{cid}/calls/{call}.
func (a *API) hangUpCall(w http.ResponseWriter, r *http.Request, rq *request) error {
	cid, call := r.PathValue("cid"), r.PathValue("call")
	c, err := a.Conferences.Get(r.Context(), cid)
	if err != nil {
		return err
	}
	if !conference.CanManage(rq.user, c) {
		return apiError(http.StatusForbidden, "forbidden", "only the conference's owner or an administrator may hang up its calls")
	}
	if owner, ok := a.calls.cidOf(call); !ok || owner != cid {
		return apiError(http.StatusNotFound, "not_found", "there is no such call in this conference")
	}
	dialer, err := a.dialer()
	if err != nil {
		return err
	}
	if err := dialer.Cancel(call); err != nil {
		return apiError(http.StatusNotFound, "not_found", "the call is over")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
