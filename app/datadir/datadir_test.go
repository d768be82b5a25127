package datadir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAcquireRefusesASecondHolder(t *testing.T) {
	dir := t.TempDir()
	first, err := Acquire(dir, "pid 1, https://127.0.0.1:8443")
	if err != nil {
		t.Fatalf("first acquire: %v", err)
	}
	_, err = Acquire(dir, "pid 2")
	var inUse *InUseError
	if !errors.As(err, &inUse) {
		t.Fatalf("second acquire: got %v, want InUseError", err)
	}
	if inUse.Holder != "pid 1, https://127.0.0.1:8443" {
		t.Errorf("holder = %q", inUse.Holder)
	}
	if !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "--data") {
		t.Errorf("message does not help the user: %q", err)
	}
	if err := first.Release(); err != nil {
		t.Fatalf("release: %v", err)
	}
	again, err := Acquire(dir, "pid 3")
	if err != nil {
		t.Fatalf("acquire after release: %v", err)
	}
	again.Release()
}

func TestSetHolderReplacesText(t *testing.T) {
	dir := t.TempDir()
	lock, err := Acquire(dir, "a rather long first description")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	if err := lock.SetHolder("short"); err != nil {
		t.Fatal(err)
	}
	content, err := os.ReadFile(filepath.Join(dir, lockFileName))
	if err != nil {
		t.Fatal(err)
	}
	if string(content) != "short\n" {
		t.Errorf("lock file holds %q", content)
	}
}

func TestEnsureRejectsAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "plain")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Ensure(file); err == nil {
		t.Fatal("Ensure accepted a plain file")
	}
	created, err := Ensure(filepath.Join(t.TempDir(), "a", "b"))
	if err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(created); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("created %v with %v", created, err)
	}
}
