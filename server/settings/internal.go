package settings

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/parleyhq/parley/server/store"
)

// Internal values live in the settings table under "internal." keys: they
// are the server's own (its stable id, the measured password-hash cost) and
// are neither listed nor changed through the API.

// InternalValue returns the stored value of key, creating it with create on
// first use. The value is JSON text.
func InternalValue(ctx context.Context, db *store.DB, key string, create func() (string, error)) (string, error) {
	key = "internal." + key
	var value string
	err := db.SQL().QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&value)
	if err == nil {
		return value, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("read %s: %w", key, err)
	}
	value, err = create()
	if err != nil {
		return "", fmt.Errorf("create %s: %w", key, err)
	}
	err = db.Write(ctx, func(tx *sql.Tx) error {
		// Another process may have created it meanwhile; the first one wins.
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING`,
			key, value, store.NowMillis()); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&value)
	})
	if err != nil {
		return "", fmt.Errorf("store %s: %w", key, err)
	}
	return value, nil
}
