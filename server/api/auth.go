package api

import (
	"net/http"

	"github.com/parleyhq/parley/server/accounts"
)

// statusResponse is GET /api/v1/status.
type statusResponse struct {
	Server        serverInfo  `json:"server"`
	SetupRequired bool        `json:"setup_required"`
	Subsystems    []Subsystem `json:"subsystems"`
}

type serverInfo struct {
	Name    string `json:"name"`
	ID      string `json:"id"`
	Version string `json:"version"`
}

func (a *API) status(w http.ResponseWriter, r *http.Request, _ *request) error {
	hasOwner, err := a.Accounts.OwnerExists(r.Context())
	if err != nil {
		return err
	}
	subsystems := []Subsystem{}
	if a.Health != nil {
		subsystems = a.Health()
	}
	writeJSON(w, http.StatusOK, statusResponse{
		Server:        serverInfo{Name: a.Settings.Current().ServerName, ID: a.ServerID, Version: a.Version},
		SetupRequired: !hasOwner,
		Subsystems:    subsystems,
	})
	return nil
}

// identity is what sign-in, setup and GET /me answer.
type identity struct {
	User    accounts.User    `json:"user"`
	Rights  []string         `json:"rights"`
	Session accounts.Session `json:"session"`
	Token   string           `json:"token,omitempty"` // bearer sessions only
}

func (a *API) identity(r *http.Request, user accounts.User, session accounts.Session) (identity, error) {
	rights, err := a.Accounts.RightsOf(r.Context(), user)
	return identity{User: user, Rights: rights, Session: session}, err
}

type signInRequest struct {
	Login    string               `json:"login"`
	Password string               `json:"password"`
	Session  accounts.SessionKind `json:"session"` // "cookie" (default) or "bearer"
	Label    string               `json:"label"`
}

func (a *API) signIn(w http.ResponseWriter, r *http.Request, rq *request) error {
	var body signInRequest
	if err := decode(r, &body, maxBody); err != nil {
		return err
	}
	if body.Session == "" {
		body.Session = accounts.CookieSession
	}
	if body.Session != accounts.CookieSession && body.Session != accounts.BearerSession {
		return &Error{Status: http.StatusBadRequest, Code: "invalid", Field: "session", Message: `session must be "cookie" or "bearer"`}
	}
	if len(body.Label) > 100 {
		return &Error{Status: http.StatusBadRequest, Code: "invalid", Field: "label", Message: "label must be at most 100 bytes"}
	}
	token, session, user, err := a.Accounts.SignIn(r.Context(), accounts.Credentials{
		Login: body.Login, Password: body.Password, Source: rq.source.String(), Kind: body.Session, Label: body.Label,
	})
	if err != nil {
		return err
	}
	return a.answerSignedIn(w, r, http.StatusOK, token, session, user)
}

// answerSignedIn sets the cookie of a cookie session, or returns the token
// of a bearer session in the body.
func (a *API) answerSignedIn(w http.ResponseWriter, r *http.Request, status int, token string, session accounts.Session, user accounts.User) error {
	id, err := a.identity(r, user, session)
	if err != nil {
		return err
	}
	if session.Kind == accounts.CookieSession {
		http.SetCookie(w, &http.Cookie{
			Name: a.sessionCookie(), Value: token, Path: "/", Expires: session.ExpiresAt,
			Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
		})
	} else {
		id.Token = token
	}
	writeJSON(w, status, id)
	return nil
}

func (a *API) signOut(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := a.Accounts.SignOut(r.Context(), rq.actor(), rq.session.ID); err != nil {
		return err
	}
	if rq.session.Kind == accounts.CookieSession {
		http.SetCookie(w, &http.Cookie{Name: a.sessionCookie(), Value: "", Path: "/", MaxAge: -1,
			Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) me(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := a.identity(r, rq.user, rq.session)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, id)
	return nil
}

// profilePatch is what users may change about themselves.
type profilePatch struct {
	DisplayName *string `json:"display_name"`
	Email       *string `json:"email"`
}

func (a *API) updateMe(w http.ResponseWriter, r *http.Request, rq *request) error {
	var body profilePatch
	if err := decode(r, &body, maxBody); err != nil {
		return err
	}
	user, err := a.Accounts.Update(r.Context(), rq.actor(), rq.user.ID,
		accounts.UserPatch{DisplayName: body.DisplayName, Email: body.Email})
	if err != nil {
		return err
	}
	id, err := a.identity(r, user, rq.session)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, id)
	return nil
}

type passwordChange struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

func (a *API) changeMyPassword(w http.ResponseWriter, r *http.Request, rq *request) error {
	var body passwordChange
	if err := decode(r, &body, maxBody); err != nil {
		return err
	}
	err := a.Accounts.SetPassword(r.Context(), rq.actor(), rq.user.ID, body.CurrentPassword, body.NewPassword, rq.session.ID)
	if err != nil {
		return renamePasswordField(err, "new_password")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// renamePasswordField points a password-policy error at the request's own
// field name.
func renamePasswordField(err error, field string) error {
	if apiErr := asAPIError(err); apiErr != nil && apiErr.Field == "password" {
		apiErr.Field = field
		return apiErr
	}
	return err
}

type setupRequest struct {
	Token       string `json:"token"`
	Login       string `json:"login"`
	DisplayName string `json:"display_name"`
	Email       string `json:"email"`
	Password    string `json:"password"`
}

type setupInfo struct {
	ServerName     string `json:"server_name"`
	PasswordPolicy any    `json:"password_policy"`
}

func (a *API) checkSetup(w http.ResponseWriter, r *http.Request, _ *request) error {
	if err := a.Accounts.CheckSetupToken(r.Context(), r.PathValue("token")); err != nil {
		return err
	}
	current := a.Settings.Current()
	writeJSON(w, http.StatusOK, setupInfo{ServerName: current.ServerName, PasswordPolicy: current.PasswordPolicy})
	return nil
}

func (a *API) completeSetup(w http.ResponseWriter, r *http.Request, rq *request) error {
	var body setupRequest
	if err := decode(r, &body, maxBody); err != nil {
		return err
	}
	token, session, user, err := a.Accounts.CompleteSetup(r.Context(), body.Token, accounts.NewUser{
		Login: body.Login, DisplayName: body.DisplayName, Email: body.Email, Password: body.Password,
	}, rq.source.String())
	if err != nil {
		return err
	}
	return a.answerSignedIn(w, r, http.StatusCreated, token, session, user)
}
