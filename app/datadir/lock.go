package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// lockFileName is the file whose OS lock marks a data directory as in use.
// Its content says who holds it, so that a second start can tell the user.
const lockFileName = "parley.lock"

// Lock is an exclusive hold on a data directory. The operating system drops
// it when the process ends, even on SIGKILL, so a crash never leaves a stale
// lock behind.
type Lock struct {
	file *os.File
}

// InUseError reports that another process holds the data directory.
type InUseError struct {
	Dir    string
	Holder string // what the holder wrote: its pid and address
}

func (e *InUseError) Error() string {
	msg := "another Parley server is already using the data directory " + e.Dir
	if e.Holder != "" {
		msg += " (" + e.Holder + ")"
	}
	return msg + "; stop it first, or start this one with --data pointing to another directory"
}

// Acquire takes the lock on dir, which must exist, and records holder in it.
func Acquire(dir, holder string) (*Lock, error) {
	path := filepath.Join(dir, lockFileName)
	file, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := lockFile(file); err != nil {
		file.Close()
		if errors.Is(err, errLocked) {
			content, _ := os.ReadFile(path)
			return nil, &InUseError{Dir: dir, Holder: strings.TrimSpace(string(content))}
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	lock := &Lock{file: file}
	if err := lock.SetHolder(holder); err != nil {
		lock.Release()
		return nil, err
	}
	return lock, nil
}

// SetHolder replaces the description of the holder, for instance once the
// server knows its address.
func (l *Lock) SetHolder(holder string) error {
	if err := l.file.Truncate(0); err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	if _, err := l.file.WriteAt([]byte(holder+"\n"), 0); err != nil {
		return fmt.Errorf("write lock file: %w", err)
	}
	return nil
}

// Release drops the lock.
func (l *Lock) Release() error {
	// The holder text is stale once released; clear it before unlocking.
	_ = l.file.Truncate(0)
	unlockErr := unlockFile(l.file)
	closeErr := l.file.Close()
	return errors.Join(unlockErr, closeErr)
}

var errLocked = errors.New("locked by another process")
