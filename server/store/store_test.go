package store

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openTest(t *testing.T, dir string) *DB {
	t.Helper()
	db, err := Open(context.Background(), dir, quietLogger())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return db
}

func TestOpenMigratesAnEmptyDatabase(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir)
	ctx := context.Background()
	version, err := db.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if version != LatestVersion() || version < 1 {
		t.Fatalf("schema version %d, latest %d", version, LatestVersion())
	}
	if from, to := db.Migrated(); from != 0 || to != version {
		t.Errorf("Migrated() = %d, %d", from, to)
	}
	var journal string
	if err := db.SQL().QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&journal); err != nil || journal != "wal" {
		t.Errorf("journal mode %q, %v", journal, err)
	}
	var foreignKeys int
	if err := db.SQL().QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&foreignKeys); err != nil || foreignKeys != 1 {
		t.Errorf("foreign keys %d, %v", foreignKeys, err)
	}
	var builtins int
	if err := db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM access_groups WHERE builtin <> ''").Scan(&builtins); err != nil || builtins != 2 {
		t.Errorf("built-in groups %d, %v", builtins, err)
	}
	if err := db.Check(ctx); err != nil {
		t.Error(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	again := openTest(t, dir)
	defer again.Close()
	if from, to := again.Migrated(); from != to {
		t.Errorf("second open migrated %d -> %d", from, to)
	}
}

func TestOpenRefusesANewerDatabase(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir)
	if _, err := db.SQL().Exec(fmt.Sprintf("PRAGMA user_version = %d", LatestVersion()+1)); err != nil {
		t.Fatal(err)
	}
	db.Close()

	_, err := Open(context.Background(), dir, quietLogger())
	var tooNew *TooNewError
	if !errors.As(err, &tooNew) {
		t.Fatalf("got %v, want TooNewError", err)
	}
	if tooNew.Version != LatestVersion()+1 || tooNew.Latest != LatestVersion() {
		t.Errorf("error fields %+v", tooNew)
	}
}

func TestWriteRollsBackOnError(t *testing.T) {
	db := openTest(t, t.TempDir())
	defer db.Close()
	ctx := context.Background()
	failure := errors.New("changed my mind")
	err := db.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT INTO settings (key, value, updated_at) VALUES ('k', '1', 0)`); err != nil {
			return err
		}
		return failure
	})
	if !errors.Is(err, failure) {
		t.Fatalf("Write returned %v", err)
	}
	var count int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM settings`).Scan(&count); err != nil || count != 0 {
		t.Fatalf("rolled-back row is visible: count %d, %v", count, err)
	}
}

func TestForeignKeysAreEnforced(t *testing.T) {
	db := openTest(t, t.TempDir())
	defer db.Close()
	err := db.Write(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO group_members (group_id, user_id) VALUES (1, 999)`)
		return err
	})
	if err == nil {
		t.Fatal("a membership of a missing user was stored")
	}
}

// writerEnv makes the test binary act as a child that commits rows until it
// is killed, printing each id once its transaction has committed.
const writerEnv = "PARLEY_STORE_TEST_WRITER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(writerEnv); dir != "" {
		os.Exit(runWriter(dir))
	}
	os.Exit(m.Run())
}

func runWriter(dir string) int {
	db, err := Open(context.Background(), dir, quietLogger())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out := bufio.NewWriter(os.Stdout)
	for i := 1; ; i++ {
		key := "row-" + strconv.Itoa(i)
		err := db.Write(context.Background(), func(tx *sql.Tx) error {
			_, err := tx.Exec(`INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)`, key, `"x"`, NowMillis())
			return err
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Fprintln(out, i)
		out.Flush()
	}
}

// TestKillDuringWritesLosesNothingCommitted kills a writing process with
// SIGKILL and checks that every row it had acknowledged survives.
func TestKillDuringWritesLosesNothingCommitted(t *testing.T) {
	dir := t.TempDir()
	for round := 0; round < 3; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), writerEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(stdout)
		acknowledged := 0
		for lines.Scan() {
			acknowledged, _ = strconv.Atoi(lines.Text())
			if acknowledged >= 50+round*7 {
				break
			}
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		// Rows acknowledged after our last read also count: drain them.
		for lines.Scan() {
			acknowledged, _ = strconv.Atoi(lines.Text())
		}
		cmd.Wait()
		if acknowledged == 0 {
			t.Fatal("the writer committed nothing")
		}

		db := openTest(t, dir)
		for i := 1; i <= acknowledged; i++ {
			var value string
			err := db.SQL().QueryRow(`SELECT value FROM settings WHERE key = ?`, "row-"+strconv.Itoa(i)).Scan(&value)
			if err != nil {
				t.Fatalf("round %d: acknowledged row %d is missing: %v", round, i, err)
			}
		}
		if err := db.Check(context.Background()); err != nil {
			t.Fatal(err)
		}
		// Start the next round from an empty table.
		if _, err := db.SQL().Exec(`DELETE FROM settings WHERE key LIKE 'row-%'`); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
}

func TestDSNEscapesThePath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "with space & ?question#")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	db := openTest(t, dir)
	defer db.Close()
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Fatalf("database not created where expected: %v", err)
	}
}
