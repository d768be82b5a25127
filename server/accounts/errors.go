package accounts

import (
	"fmt"
	"time"
)

// Kind classifies an account error so that the API can answer with the
// right status code without parsing messages.
type Kind string

const (
	Invalid        Kind = "invalid"         // a value breaks a rule; Field says which
	NotFound       Kind = "not_found"       // no such user, group, token
	Conflict       Kind = "conflict"        // login or group name already taken
	BadCredentials Kind = "bad_credentials" // wrong login or password, or no valid session
	Disabled       Kind = "disabled"        // the account is disabled
	LockedOut      Kind = "locked"          // too many failed sign-ins
	Forbidden      Kind = "forbidden"       // the actor may not do this
	Gone           Kind = "gone"            // a one-time link already used or expired
)

// Error is every error this package returns for a request that cannot be
// carried out; other errors are failures of the machinery (the database).
type Error struct {
	Kind    Kind
	Field   string    // the offending field, for Invalid
	Message string    // for people
	Until   time.Time // for LockedOut: when the lock ends
}

func (e *Error) Error() string { return e.Message }

func newError(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

func invalidField(field, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Field: field, Message: fmt.Sprintf(format, args...)}
}
