package ui

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"

	"github.com/parleyhq/parley/server/client"
	"github.com/parleyhq/parley/server/protocol"
)

// FieldError is a problem with one input of a form: found by the app
// before sending, or named by the server's "field".
type FieldError struct {
	Field   string // the API's name of the field
	Message string
}

func (e *FieldError) Error() string { return e.Message }

func fieldError(field, message string) error { return &FieldError{Field: field, Message: message} }

// fieldOf returns the field an error is about, if any, and its message
// without the field's name in front (settings errors carry it).
func fieldOf(err error) (field, text string, ok bool) {
	var local *FieldError
	if errors.As(err, &local) {
		return local.Field, local.Message, true
	}
	var apiErr *client.Error
	if errors.As(err, &apiErr) && apiErr.Field != "" {
		return apiErr.Field, sentence(strings.TrimPrefix(apiErr.Message, apiErr.Field+": ")), true
	}
	var sigErr *protocol.Error
	if errors.As(err, &sigErr) && sigErr.Field != "" {
		return sigErr.Field, sentence(sigErr.Message), true
	}
	return "", "", false
}

// message is what an error says to a person: the server's own message
// when it answered with one, else a plain description of what failed.
func message(err error) string {
	if err == nil {
		return ""
	}
	if _, text, ok := fieldOf(err); ok {
		return text
	}
	var apiErr *client.Error
	if errors.As(err, &apiErr) {
		return sentence(apiErr.Message)
	}
	var sigErr *protocol.Error
	if errors.As(err, &sigErr) {
		return sentence(sigErr.Message)
	}
	var unknownCA x509.UnknownAuthorityError
	if errors.As(err, &unknownCA) {
		return "The server's certificate is not signed by the authority you trusted for it."
	}
	var wrongHost x509.HostnameError
	if errors.As(err, &wrongHost) {
		return "The server's certificate is not valid for this address: " + wrongHost.Error() + "."
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return "Nothing answers at this address. Is Parley running there, on this port?"
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return "No computer is known by the name " + dnsErr.Name + "."
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "The server did not answer in time."
	}
	return sentence(err.Error())
}

// sentence starts a text with a capital letter and ends it with a full
// stop, as the server's lower-case messages are shown in dialogs. Each
// line is a sentence: lists of problems come one to a line.
func sentence(text string) string {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	for i, line := range lines {
		lines[i] = sentenceLine(strings.TrimSpace(line))
	}
	return strings.Join(lines, "\n")
}

func sentenceLine(text string) string {
	if text == "" {
		return text
	}
	first, size := utf8.DecodeRuneInString(text)
	text = string(unicode.ToUpper(first)) + text[size:]
	if !strings.HasSuffix(text, ".") && !strings.HasSuffix(text, "?") && !strings.HasSuffix(text, "!") {
		text += "."
	}
	return text
}
