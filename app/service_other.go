//go:build !windows

package app

import (
	"context"
	"errors"
	"io"
)

// runAsService runs serve under Windows' service manager; elsewhere the
// process is never a Windows service.
func runAsService(requested bool, _ func(ctx context.Context) error) (handled bool, err error) {
	if requested {
		return true, errors.New("--service is for Windows' service manager; here, run 'parley serve' from systemd or launchd (see docs/deploy.md)")
	}
	return false, nil
}

// openServiceLog is only called under Windows' service manager.
func openServiceLog(string) (io.WriteCloser, error) { panic("not a Windows service") }
