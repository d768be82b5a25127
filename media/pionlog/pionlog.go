// Package pionlog writes the logs of pion's libraries (webrtc, ice, turn)
// to slog, a step down from pion's own levels: pion's info messages are
// chatty internals (every bandwidth estimate, every ICE step, every
// packet refused), so they go to debug; its warnings are routine (pinging
// before trickled candidates arrive, one client's failed request), so they
// go to info; what matters reaches Parley's code as an error or a state,
// which it logs itself.
package pionlog

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// LevelTrace is below slog's debug level: pion's trace output is only for
// someone reading packets one by one.
const LevelTrace = slog.LevelDebug - 4

// Factory hands pion's libraries loggers that write to Logger. Errors go
// to ErrorLevel: slog.LevelError where pion's errors are the server's, a
// lower level where they are about one client (a TURN server's).
type Factory struct {
	Logger     *slog.Logger
	ErrorLevel slog.Level
}

// NewLogger is pion's logging.LoggerFactory.
func (f Factory) NewLogger(scope string) logging.LeveledLogger {
	return logger{logger: f.Logger.With("pion", scope), errorLevel: f.ErrorLevel}
}

type logger struct {
	logger     *slog.Logger
	errorLevel slog.Level
}

func (l logger) log(level slog.Level, msg string) {
	l.logger.Log(context.Background(), level, msg)
}

func (l logger) logf(level slog.Level, format string, args ...any) {
	if !l.logger.Enabled(context.Background(), level) {
		return
	}
	l.logger.Log(context.Background(), level, fmt.Sprintf(format, args...))
}

func (l logger) Trace(msg string)                  { l.log(LevelTrace, msg) }
func (l logger) Tracef(format string, args ...any) { l.logf(LevelTrace, format, args...) }
func (l logger) Debug(msg string)                  { l.log(slog.LevelDebug, msg) }
func (l logger) Debugf(format string, args ...any) { l.logf(slog.LevelDebug, format, args...) }
func (l logger) Info(msg string)                   { l.log(slog.LevelDebug, msg) }
func (l logger) Infof(format string, args ...any)  { l.logf(slog.LevelDebug, format, args...) }
func (l logger) Warn(msg string)                   { l.log(slog.LevelInfo, msg) }
func (l logger) Warnf(format string, args ...any)  { l.logf(slog.LevelInfo, format, args...) }
func (l logger) Error(msg string)                  { l.log(l.errorLevel, msg) }
func (l logger) Errorf(format string, args ...any) { l.logf(l.errorLevel, format, args...) }
