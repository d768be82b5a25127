package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/windows/svc"

	"github.com/parleyhq/parley/app/datadir"
)

// serviceName is the name the installer registers the service under.
const serviceName = "Parley"

// runAsService runs serve under Windows' service manager when asked to
// (--service, as the installer registers it) or when the manager started
// this process: running until the manager asks it to stop, or the machine
// shuts down. handled is false when the process is not a service.
func runAsService(requested bool, serve func(ctx context.Context) error) (handled bool, err error) {
	if !requested {
		if isService, err := svc.IsWindowsService(); err != nil || !isService {
			return false, nil
		}
	}
	handler := &serviceHandler{serve: serve}
	if err := svc.Run(serviceName, handler); err != nil {
		return true, fmt.Errorf("--service is for Windows' service manager, which did not start this process: %w", err)
	}
	return true, handler.err
}

type serviceHandler struct {
	serve func(ctx context.Context) error
	err   error // what serve returned
}

// Execute is called by svc.Run on its own goroutine: it reports the
// service running, and stops the server when asked.
func (h *serviceHandler) Execute(_ []string, requests <-chan svc.ChangeRequest, changes chan<- svc.Status) (bool, uint32) {
	changes <- svc.Status{State: svc.StartPending}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.serve(ctx) }()
	changes <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for {
		select {
		case h.err = <-done:
			// The server ended by itself: a failure the manager may act on.
			changes <- svc.Status{State: svc.StopPending}
			if h.err != nil {
				return true, 1
			}
			return false, 0
		case request := <-requests:
			switch request.Cmd {
			case svc.Interrogate:
				changes <- request.CurrentStatus
			case svc.Stop, svc.Shutdown:
				changes <- svc.Status{State: svc.StopPending}
				cancel()
				h.err = <-done
				return false, 0
			}
		}
	}
}

// maxServiceLog is the size at which the service's log starts afresh,
// keeping the previous one as parley.log.1.
const maxServiceLog = 10 << 20

// openServiceLog opens parley.log in the data directory for appending: a
// service has no console to write to.
func openServiceLog(dir string) (io.WriteCloser, error) {
	dir, err := datadir.Resolve(dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "parley.log")
	if info, err := os.Stat(path); err == nil && info.Size() > maxServiceLog {
		_ = os.Rename(path, path+".1")
	}
	file, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("service log: %w", err)
	}
	return file, nil
}
