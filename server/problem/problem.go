// Package problem is the error type of the control plane: a request that
// cannot be carried out, classified so that each transport (the REST API,
// the signalling socket, the command line) answers it its own way without
// parsing messages.
package problem

import (
	"fmt"
	"time"
)

// Kind classifies a problem.
type Kind string

const (
	Invalid        Kind = "invalid"         // a value breaks a rule; Field says which
	NotFound       Kind = "not_found"       // no such user, group, conference, token
	Conflict       Kind = "conflict"        // a name or id already taken
	BadCredentials Kind = "bad_credentials" // wrong login or password, or no valid session
	Disabled       Kind = "disabled"        // the account is disabled
	LockedOut      Kind = "locked"          // too many failed sign-ins
	Forbidden      Kind = "forbidden"       // the actor may not do this
	Gone           Kind = "gone"            // a one-time link already used or expired
)

// Error is a request that cannot be carried out; other errors are failures
// of the machinery (the database).
type Error struct {
	Kind    Kind
	Field   string    // the offending field, for Invalid
	Message string    // for people
	Until   time.Time // for LockedOut: when the lock ends
}

func (e *Error) Error() string { return e.Message }

// New makes a problem of a kind.
func New(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Field makes an Invalid problem about one field.
func Field(field, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Field: field, Message: fmt.Sprintf(format, args...)}
}
