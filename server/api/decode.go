package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// Body size limits: ordinary requests are small; a certificate upload
// carries a chain and a key.
const (
	maxBody       = 64 << 10
	maxUploadBody = 2 << 20
)

// decode reads a JSON request body into dst: it must be declared as JSON,
// fit in limit bytes, hold exactly one value and name no unknown field.
func decode(r *http.Request, dst any, limit int64) *Error {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/json" {
		return apiError(http.StatusUnsupportedMediaType, "unsupported_media_type", "send the request body as application/json")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return apiError(http.StatusBadRequest, "bad_request", "could not read the request body")
	}
	if int64(len(body)) > limit {
		return apiError(http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the request body is larger than %d bytes", limit))
	}
	return decodeBytes(body, dst)
}

func decodeBytes(body []byte, dst any) *Error {
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("the request body is empty; send a JSON object")
	}
	decoder := json.NewDecoder(bytes.NewReader(body))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(dst); err != nil {
		return describeDecodeError(err)
	}
	if _, err := decoder.Token(); !errors.Is(err, io.EOF) {
		return badRequest("the request body must hold a single JSON value")
	}
	return nil
}

func badRequest(message string) *Error {
	return apiError(http.StatusBadRequest, "bad_request", message)
}

func describeDecodeError(err error) *Error {
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntaxErr):
		return badRequest(fmt.Sprintf("malformed JSON at byte %d", syntaxErr.Offset))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("the JSON body ends too early")
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return badRequest(fmt.Sprintf("the body must be a JSON %s", jsonKind(typeErr.Type.Kind().String())))
		}
		e := badRequest(fmt.Sprintf("field %q must be %s, not %s", typeErr.Field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value))
		e.Field = typeErr.Field
		return e
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		e := badRequest(fmt.Sprintf("unknown field %q", field))
		e.Field = field
		return e
	default:
		return badRequest("invalid JSON body: " + strings.TrimPrefix(err.Error(), "json: "))
	}
}

// jsonKind names Go kinds the way a JSON client thinks of them.
func jsonKind(kind string) string {
	switch kind {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return "of another type"
}
