package app

import (
	"io"
	"log/slog"
)

// quietLogger shows only warnings and errors: host commands print their
// own results.
func quietLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
