package accounts

import (
	"context"
	"log/slog"
)

func slogError(ctx context.Context, msg string, err error) {
	slog.ErrorContext(ctx, msg, slog.Any("error", err))
}
