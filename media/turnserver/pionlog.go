package turnserver

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// pionLoggerFactory hands pion/turn loggers that write to slog.
type pionLoggerFactory struct {
	logger *slog.Logger
}

func (f pionLoggerFactory) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{logger: f.logger.With("pion", scope)}
}

// pionLogger maps pion's levels onto slog one step down. pion/turn logs
// every packet at debug and every refused request at info, so trace, debug
// and info go to debug. Its warnings and errors are about one client (a
// rejected channel binding, a failed TLS handshake, a send to a vanished
// client), not about the server, whose failures Serve returns: they go to
// info and warn.
type pionLogger struct {
	logger *slog.Logger
}

func (l pionLogger) log(level slog.Level, msg string) {
	l.logger.Log(context.Background(), level, msg)
}

func (l pionLogger) logf(level slog.Level, format string, args ...any) {
	if !l.logger.Enabled(context.Background(), level) {
		return
	}
	l.logger.Log(context.Background(), level, fmt.Sprintf(format, args...))
}

func (l pionLogger) Trace(msg string)                  { l.log(slog.LevelDebug, msg) }
func (l pionLogger) Tracef(format string, args ...any) { l.logf(slog.LevelDebug, format, args...) }
func (l pionLogger) Debug(msg string)                  { l.log(slog.LevelDebug, msg) }
func (l pionLogger) Debugf(format string, args ...any) { l.logf(slog.LevelDebug, format, args...) }
func (l pionLogger) Info(msg string)                   { l.log(slog.LevelDebug, msg) }
func (l pionLogger) Infof(format string, args ...any)  { l.logf(slog.LevelDebug, format, args...) }
func (l pionLogger) Warn(msg string)                   { l.log(slog.LevelInfo, msg) }
func (l pionLogger) Warnf(format string, args ...any)  { l.logf(slog.LevelInfo, format, args...) }
func (l pionLogger) Error(msg string)                  { l.log(slog.LevelWarn, msg) }
func (l pionLogger) Errorf(format string, args ...any) { l.logf(slog.LevelWarn, format, args...) }
