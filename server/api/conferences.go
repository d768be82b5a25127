package api

import (
	"net/http"

	"github.com/parleyhq/parley/server/accounts"
	"github.com/parleyhq/parley/server/conference"
)

// SignalServer runs signalling connections (server/signal).
type SignalServer interface {
	// Serve runs one connection: user is nil for guests; gateway is true
	// for the SIP gateway's connections.
	Serve(w http.ResponseWriter, r *http.Request, user *accounts.User, source string, gateway bool)
	// Presence tells whether users can be called: available, busy, offline.
	Presence(userIDs []int64) map[int64]string
}

// directoryEntry is a colleague as any signed-in user sees them.
type directoryEntry struct {
	ID          int64  `json:"id"`
	Login       string `json:"login"`
	DisplayName string `json:"display_name"`
	Presence    string `json:"presence"`
}

// directory lists enabled users for calling and inviting: names and
// presence only, never more.
func (a *API) directory(w http.ResponseWriter, r *http.Request, rq *request) error {
	users, err := a.Accounts.List(r.Context(), accounts.UserFilter{Query: r.URL.Query().Get("q"), Limit: 200})
	if err != nil {
		return err
	}
	ids := make([]int64, 0, len(users))
	for _, u := range users {
		ids = append(ids, u.ID)
	}
	presence := a.Signal.Presence(ids)
	list := []directoryEntry{}
	for _, u := range users {
		if u.Enabled && u.ID != rq.user.ID {
			list = append(list, directoryEntry{ID: u.ID, Login: u.Login, DisplayName: u.DisplayName, Presence: presence[u.ID]})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": list})
	return nil
}

func (a *API) signal(w http.ResponseWriter, r *http.Request, rq *request) error {
	var user *accounts.User
	if rq.signed {
		user = &rq.user
	}
	a.Signal.Serve(w, r, user, rq.source.String(), rq.gateway)
	return nil
}

func (a *API) createConference(w http.ResponseWriter, r *http.Request, rq *request) error {
	var spec conference.Spec
	if err := decode(r, &spec, maxBody); err != nil {
		return err
	}
	c, err := a.Conferences.Create(r.Context(), rq.user, rq.source.String(), spec)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/conferences/"+c.CID)
	writeJSON(w, http.StatusCreated, c)
	return nil
}

func (a *API) listConferences(w http.ResponseWriter, r *http.Request, rq *request) error {
	filter := conference.ListFilter{UserID: rq.user.ID}
	switch r.URL.Query().Get("scope") {
	case "", "mine":
	case "all":
		if !rq.user.Role.CanAudit() {
			return apiError(http.StatusForbidden, "forbidden", "only administrators may list every conference")
		}
		filter.UserID = 0
	default:
		return &Error{Status: http.StatusBadRequest, Code: "invalid", Field: "scope", Message: `scope must be "mine" or "all"`}
	}
	list, err := a.Conferences.List(r.Context(), filter)
	if err != nil {
		return err
	}
	for i := range list {
		if !conference.CanManage(rq.user, list[i]) {
			list[i].PIN = ""
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"conferences": list})
	return nil
}

func (a *API) getConference(w http.ResponseWriter, r *http.Request, rq *request) error {
	c, err := a.Conferences.Get(r.Context(), r.PathValue("cid"))
	if err != nil {
		return err
	}
	if !conference.CanManage(rq.user, c) {
		c.PIN = ""
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (a *API) updateConference(w http.ResponseWriter, r *http.Request, rq *request) error {
	var patch conference.Patch
	if err := decode(r, &patch, maxBody); err != nil {
		return err
	}
	c, err := a.Conferences.Update(r.Context(), rq.user, rq.source.String(), r.PathValue("cid"), patch)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (a *API) deleteConference(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := a.Conferences.Delete(r.Context(), rq.user, rq.source.String(), r.PathValue("cid")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) endConference(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := a.Conferences.End(r.Context(), rq.user, r.PathValue("cid")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) joinInfo(w http.ResponseWriter, r *http.Request, rq *request) error {
	info, err := a.Conferences.JoinInfo(r.Context(), r.PathValue("cid"), rq.signed)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, info)
	return nil
}

func (a *API) conferenceChat(w http.ResponseWriter, r *http.Request, rq *request) error {
	c, err := a.Conferences.Get(r.Context(), r.PathValue("cid"))
	if err != nil {
		return err
	}
	allowed, err := a.Conferences.MayReadChat(r.Context(), rq.user, c)
	if err != nil {
		return err
	}
	if !allowed {
		return apiError(http.StatusForbidden, "forbidden", "only people who took part may read this conference's chat")
	}
	messages, err := a.Conferences.ChatHistory(r.Context(), c.CID, rq.user.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": messages})
	return nil
}
