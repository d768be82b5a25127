package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/parleyhq/parley/server/certs"
	"github.com/parleyhq/parley/server/problem"
	"github.com/parleyhq/parley/server/settings"
)

// Error is an API error: an HTTP status and the body
// {"error":{"code","message","field"}}.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`

	retryAfter time.Duration
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func apiError(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

var (
	errUnauthorized = apiError(http.StatusUnauthorized, "unauthorized", "sign in first")
	errNotFound     = apiError(http.StatusNotFound, "not_found", "no such resource")
)

// asAPIError maps errors of the services to API errors; anything unknown
// is an internal error whose detail is logged, not shown.
func asAPIError(err error) *Error {
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return apiErr
	}
	var problemErr *problem.Error
	if errors.As(err, &problemErr) {
		return fromProblem(problemErr)
	}
	var settingErr *settings.ValidationError
	if errors.As(err, &settingErr) {
		return &Error{Status: http.StatusBadRequest, Code: "invalid", Field: settingErr.Key, Message: settingErr.Error()}
	}
	var certErr *certs.ValidationError
	if errors.As(err, &certErr) {
		return &Error{Status: http.StatusBadRequest, Code: "certificate_" + certErr.Code, Message: certErr.Message}
	}
	return nil
}

func fromProblem(err *problem.Error) *Error {
	e := &Error{Code: string(err.Kind), Message: err.Message, Field: err.Field}
	switch err.Kind {
	case problem.Invalid:
		e.Status = http.StatusBadRequest
	case problem.NotFound:
		e.Status = http.StatusNotFound
	case problem.Conflict:
		e.Status = http.StatusConflict
	case problem.BadCredentials:
		e.Status = http.StatusUnauthorized
	case problem.Disabled:
		e.Status, e.Code = http.StatusForbidden, "account_disabled"
	case problem.LockedOut:
		e.Status, e.Code = http.StatusTooManyRequests, "account_locked"
		e.retryAfter = time.Until(err.Until)
	case problem.Forbidden:
		e.Status = http.StatusForbidden
	case problem.Gone:
		e.Status = http.StatusGone
	default:
		e.Status = http.StatusBadRequest
	}
	return e
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if body != nil {
		_ = json.NewEncoder(w).Encode(body)
	}
}

// fail answers with err: an API error as it is, anything else as a logged
// internal error.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	apiErr := asAPIError(err)
	if apiErr == nil {
		a.logger.ErrorContext(r.Context(), "request failed", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.Any("error", err))
		apiErr = apiError(http.StatusInternalServerError, "internal", "the server failed to handle this request; see its log")
	}
	if apiErr.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(apiErr.retryAfter.Seconds())+1))
	}
	writeJSON(w, apiErr.Status, map[string]*Error{"error": apiErr})
}
