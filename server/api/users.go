package api

import (
	"net/http"
	"strconv"

	"github.com/parleyhq/parley/server/accounts"
)

// queryInt reads an optional non-negative integer query parameter.
func queryInt(r *http.Request, name string) (int64, error) {
	text := r.URL.Query().Get(name)
	if text == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n < 0 {
		return 0, &Error{Status: http.StatusBadRequest, Code: "invalid", Field: name, Message: name + " must be a non-negative whole number"}
	}
	return n, nil
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request, _ *request) error {
	group, err := queryInt(r, "group")
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	offset, err := queryInt(r, "offset")
	if err != nil {
		return err
	}
	users, err := a.Accounts.List(r.Context(), accounts.UserFilter{
		Query: r.URL.Query().Get("q"), GroupID: group, Limit: int(min(limit, 1000)), Offset: int(min(offset, 1<<30)),
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": users})
	return nil
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request, rq *request) error {
	var body accounts.NewUser
	if err := decode(r, &body, maxBody); err != nil {
		return err
	}
	user, err := a.Accounts.Create(r.Context(), rq.actor(), body)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/users/"+strconv.FormatInt(user.ID, 10))
	writeJSON(w, http.StatusCreated, user)
	return nil
}

func (a *API) getUser(w http.ResponseWriter, r *http.Request, _ *request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	user, err := a.Accounts.User(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, user)
	return nil
}

func (a *API) updateUser(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var body accounts.UserPatch
	if err := decode(r, &body, maxBody); err != nil {
		return err
	}
	user, err := a.Accounts.Update(r.Context(), rq.actor(), id, body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, user)
	return nil
}

type passwordReset struct {
	Password string `json:"password"`
}

func (a *API) resetPassword(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var body passwordReset
	if err := decode(r, &body, maxBody); err != nil {
		return err
	}
	if id == rq.user.ID {
		return apiError(http.StatusBadRequest, "invalid", "change your own password with POST /api/v1/me/password")
	}
	if err := a.Accounts.SetPassword(r.Context(), rq.actor(), id, "", body.Password, 0); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// setSIPPassword sets the password SIP phones register with: your own
// (me), or an administrator's for anyone. "" removes it.
func (a *API) setSIPPassword(me bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, rq *request) error {
		id := rq.user.ID
		if !me {
			var err error
			if id, err = pathID(r, "id"); err != nil {
				return err
			}
		}
		var body passwordReset
		if err := decode(r, &body, maxBody); err != nil {
			return err
		}
		if err := a.Accounts.SetSIPPassword(r.Context(), rq.actor(), id, body.Password); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (a *API) unlockUser(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := a.Accounts.Unlock(r.Context(), rq.actor(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) signOutUser(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := a.Accounts.RevokeSessions(r.Context(), rq.actor(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listRights(w http.ResponseWriter, _ *http.Request, _ *request) error {
	writeJSON(w, http.StatusOK, map[string]any{"rights": accounts.Rights})
	return nil
}

func (a *API) listGroups(w http.ResponseWriter, r *http.Request, _ *request) error {
	groups, err := a.Accounts.Groups(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"groups": groups})
	return nil
}

type newGroup struct {
	Name   string   `json:"name"`
	Rights []string `json:"rights"`
}

func (a *API) createGroup(w http.ResponseWriter, r *http.Request, rq *request) error {
	var body newGroup
	if err := decode(r, &body, maxBody); err != nil {
		return err
	}
	group, err := a.Accounts.CreateGroup(r.Context(), rq.actor(), body.Name, body.Rights)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/groups/"+strconv.FormatInt(group.ID, 10))
	writeJSON(w, http.StatusCreated, group)
	return nil
}

func (a *API) getGroup(w http.ResponseWriter, r *http.Request, _ *request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	group, err := a.Accounts.Group(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, group)
	return nil
}

func (a *API) updateGroup(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var body accounts.GroupPatch
	if err := decode(r, &body, maxBody); err != nil {
		return err
	}
	group, err := a.Accounts.UpdateGroup(r.Context(), rq.actor(), id, body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, group)
	return nil
}

func (a *API) deleteGroup(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := a.Accounts.DeleteGroup(r.Context(), rq.actor(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
