// Package store owns Parley's SQLite database: opening it with settings that
// keep committed data safe, the versioned schema migrations, and the
// transaction helpers every other control-plane package writes through.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// FileName is the database file inside the data directory.
const FileName = "parley.db"

// DB is the open database. Reads may run concurrently; writes go through
// Write so that they take the write lock at BEGIN and never fail half-way
// with SQLITE_BUSY on lock upgrade.
type DB struct {
	sql  *sql.DB
	path string

	migratedFrom, migratedTo int
}

// TooNewError reports a database written by a newer Parley.
type TooNewError struct {
	Path            string
	Version, Latest int
}

func (e *TooNewError) Error() string {
	return fmt.Sprintf("the database %s was written by a newer Parley (schema %d, this program knows up to %d); "+
		"install the newer Parley again, or start this one with --data pointing to another directory", e.Path, e.Version, e.Latest)
}

// Open opens (creating if needed) the database in dir and applies pending
// migrations. It refuses a database whose schema is newer than this binary.
func Open(ctx context.Context, dir string, logger *slog.Logger) (*DB, error) {
	path := filepath.Join(dir, FileName)
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	store := &DB{sql: db, path: path}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if err := store.migrate(ctx, logger); err != nil {
		db.Close()
		return nil, err
	}
	return store, nil
}

// dsn sets the connection pragmas. WAL lets readers run beside the writer;
// synchronous=FULL makes every commit durable before it is acknowledged
// (writes are rare here, so the fsync is cheap); immediate transactions take
// the write lock up front; the busy timeout absorbs short waits for it.
func dsn(path string) string {
	query := url.Values{}
	for _, pragma := range []string{
		"journal_mode(WAL)",
		"synchronous(FULL)",
		"foreign_keys(1)",
		"busy_timeout(10000)",
	} {
		query.Add("_pragma", pragma)
	}
	query.Set("_txlock", "immediate")
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + query.Encode()
}

// Path is the database file.
func (db *DB) Path() string { return db.path }

// SQL gives read access for queries that need no transaction.
func (db *DB) SQL() *sql.DB { return db.sql }

// Write runs fn in an immediate transaction and commits it when fn returns
// nil; any error or panic rolls it back.
func (db *DB) Write(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin write: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	if err := fn(tx); err != nil {
		if rollbackErr := tx.Rollback(); rollbackErr != nil {
			return errors.Join(err, fmt.Errorf("roll back: %w", rollbackErr))
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Check verifies that the database answers; the store subsystem reports it
// as health.
func (db *DB) Check(ctx context.Context) error {
	var ok string
	if err := db.sql.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&ok); err != nil {
		return fmt.Errorf("database check: %w", err)
	}
	if ok != "ok" {
		return fmt.Errorf("database check: %s", ok)
	}
	return nil
}

// Close checkpoints the write-ahead log into the main file and closes the
// database, so that a clean stop leaves a single self-contained file.
func (db *DB) Close() error {
	_, checkpointErr := db.sql.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	if checkpointErr != nil {
		checkpointErr = fmt.Errorf("checkpoint: %w", checkpointErr)
	}
	return errors.Join(checkpointErr, db.sql.Close())
}
