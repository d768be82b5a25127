package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"
)

// Migrations are numbered SQL files, applied in order, each in its own
// transaction together with the new schema version (PRAGMA user_version),
// so a crash leaves the database at one version or the next, never between.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var list []migration
	for _, entry := range entries {
		number, _, ok := strings.Cut(entry.Name(), "_")
		version, err := strconv.Atoi(number)
		if !ok || err != nil || version <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and '_'", entry.Name())
		}
		body, err := migrationFiles.ReadFile("migrations/" + entry.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", entry.Name(), err)
		}
		list = append(list, migration{version: version, name: entry.Name(), sql: string(body)})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].version < list[j].version })
	for i, m := range list {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: expected version %d", m.name, i+1)
		}
	}
	return list, nil
}

// LatestVersion is the schema version this binary creates.
func LatestVersion() int {
	list, err := loadMigrations()
	if err != nil {
		return 0
	}
	return len(list)
}

// SchemaVersion reads the database's schema version.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var version int
	if err := db.sql.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return version, nil
}

func (db *DB) migrate(ctx context.Context, logger *slog.Logger) error {
	list, err := loadMigrations()
	if err != nil {
		return err
	}
	current, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if current > len(list) {
		return &TooNewError{Path: db.path, Version: current, Latest: len(list)}
	}
	for _, m := range list[current:] {
		err := db.Write(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			// PRAGMA takes no bound parameters; the version is our own integer.
			_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", m.version))
			return err
		})
		if err != nil {
			return fmt.Errorf("apply migration %s to %s: %w", m.name, db.path, err)
		}
		logger.Info("database migrated", slog.String("migration", m.name), slog.Int("version", m.version))
	}
	db.migratedFrom, db.migratedTo = current, len(list)
	return nil
}

// Migrated reports the schema versions before and after Open; equal when
// nothing was applied. The app records a migration in the event log.
func (db *DB) Migrated() (from, to int) {
	return db.migratedFrom, db.migratedTo
}
