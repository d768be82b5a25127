package app

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/parleyhq/parley/app/supervisor"
	"github.com/parleyhq/parley/server/certs"
	"github.com/parleyhq/parley/server/eventlog"
	"github.com/parleyhq/parley/server/store"
)

// service adapts a function to supervisor.Service.
type service struct {
	name  string
	serve func(ctx context.Context, st *supervisor.Status) error
}

func (s service) Name() string { return s.name }

func (s service) Serve(ctx context.Context, st *supervisor.Status) error { return s.serve(ctx, st) }

// storeService watches the database and tidies it: it checks that the
// database answers every minute and purges ended sessions hourly.
type storeService struct{ core *core }

func (s *storeService) Name() string { return "store" }

func (s *storeService) Serve(ctx context.Context, st *supervisor.Status) error {
	db := s.core.db
	if err := db.Check(ctx); err != nil {
		return err
	}
	version, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	// The status is public: name the schema, not the folder (and user name)
	// the database lives in.
	st.Ready(fmt.Sprintf("schema %d", version))
	check := time.NewTicker(time.Minute)
	defer check.Stop()
	purge := time.NewTicker(time.Hour)
	defer purge.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-check.C:
			if err := ping(ctx, db.SQL()); err != nil {
				return err
			}
		case <-purge.C:
			if err := s.core.accounts.Purge(ctx); err != nil {
				return err
			}
		}
	}
}

func ping(ctx context.Context, db *sql.DB) error {
	var one int
	if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("database does not answer: %w", err)
	}
	return nil
}

// certificateService keeps the generated certificate fresh: it re-issues it
// before expiry or when the machine's addresses change, and warns while an
// uploaded certificate is about to expire.
type certificateService struct {
	certs *certs.Manager
	db    *store.DB
}

// tlsService is the certificate subsystem's name.
const tlsService = "tls"

func (s *certificateService) Name() string { return tlsService }

// refreshEvery is how often addresses and expiry are checked.
const refreshEvery = 10 * time.Minute

func (s *certificateService) Serve(ctx context.Context, st *supervisor.Status) error {
	ticker := time.NewTicker(refreshEvery)
	defer ticker.Stop()
	for {
		reissued, err := s.certs.Refresh()
		if err != nil {
			return err
		}
		info := s.certs.Info()
		if reissued {
			if err := eventlog.Record(ctx, s.db, eventlog.Entry{Kind: eventlog.CertificateReissued, Actor: eventlog.System,
				Subject: "https certificate", Details: map[string]any{"not_after": info.NotAfter, "automatic": true}}); err != nil {
				return err
			}
		}
		note := fmt.Sprintf("%s certificate valid until %s", info.Source, info.NotAfter.Format(time.DateOnly))
		if info.ExpiresSoon {
			st.Degraded(note + ": renew it soon")
		} else {
			st.Ready(note)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}
