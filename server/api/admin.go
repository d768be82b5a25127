package api

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/server/eventlog"
)

func (a *API) getSettings(w http.ResponseWriter, _ *http.Request, _ *request) error {
	writeJSON(w, http.StatusOK, a.Settings.Current())
	return nil
}

func (a *API) updateSettings(w http.ResponseWriter, r *http.Request, rq *request) error {
	var patch map[string]json.RawMessage
	if err := decode(r, &patch, maxBody); err != nil {
		return err
	}
	if patch == nil {
		return badRequest("send a JSON object of the settings to change")
	}
	current, changed, err := a.Settings.Update(r.Context(), rq.actor(), patch)
	if err != nil {
		return err
	}
	if changed == nil {
		changed = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"settings": current, "changed": changed})
	return nil
}

func (a *API) getCertificate(w http.ResponseWriter, _ *http.Request, _ *request) error {
	writeJSON(w, http.StatusOK, a.Certificates.Info())
	return nil
}

type certificateUpload struct {
	Certificate string `json:"certificate"` // PEM: the server certificate, then any intermediates
	PrivateKey  string `json:"private_key"` // PEM
}

func (a *API) uploadCertificate(w http.ResponseWriter, r *http.Request, rq *request) error {
	var body certificateUpload
	if err := decode(r, &body, maxUploadBody); err != nil {
		return err
	}
	before := a.Certificates.Info()
	info, err := a.Certificates.Upload([]byte(body.Certificate), []byte(body.PrivateKey))
	if err != nil {
		if rejected := asAPIError(err); rejected != nil {
			a.recordCertificateEvent(r, rq, eventlog.CertificateRejected, map[string]any{"reason": rejected.Code, "message": rejected.Message})
		}
		return err
	}
	a.recordCertificateEvent(r, rq, eventlog.CertificateUploaded, map[string]any{
		"before": map[string]any{"sha256": before.SHA256, "source": before.Source},
		"after":  map[string]any{"sha256": info.SHA256, "subject": info.Subject, "not_after": info.NotAfter},
	})
	writeJSON(w, http.StatusOK, info)
	return nil
}

func (a *API) removeCertificate(w http.ResponseWriter, r *http.Request, rq *request) error {
	before := a.Certificates.Info()
	if err := a.Certificates.RemoveUploaded(); err != nil {
		return err
	}
	info := a.Certificates.Info()
	a.recordCertificateEvent(r, rq, eventlog.CertificateRemoved, map[string]any{
		"before": map[string]any{"sha256": before.SHA256}, "after": map[string]any{"sha256": info.SHA256},
	})
	writeJSON(w, http.StatusOK, info)
	return nil
}

func (a *API) reissueCertificate(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := a.Certificates.Reissue(); err != nil {
		return err
	}
	info := a.Certificates.Info()
	a.recordCertificateEvent(r, rq, eventlog.CertificateReissued, map[string]any{"not_after": info.NotAfter})
	writeJSON(w, http.StatusOK, info)
	return nil
}

// recordCertificateEvent logs a certificate change. The change is already
// made on disk, so a failure to log it is reported in the server log only.
func (a *API) recordCertificateEvent(r *http.Request, rq *request, kind string, details map[string]any) {
	err := eventlog.Record(r.Context(), a.DB, eventlog.Entry{Kind: kind, Actor: rq.actor(), Subject: "https certificate", Details: details})
	if err != nil {
		a.logger.Error("record certificate event", "kind", kind, "error", err)
	}
}

func (a *API) listEvents(w http.ResponseWriter, r *http.Request, _ *request) error {
	query := r.URL.Query()
	filter := eventlog.Filter{Kind: query.Get("kind")}
	var err error
	if filter.UserID, err = queryInt(r, "user"); err != nil {
		return err
	}
	if filter.BeforeID, err = queryInt(r, "before"); err != nil {
		return err
	}
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	filter.Limit = int(min(limit, eventlog.MaxLimit))
	for name, dst := range map[string]*time.Time{"since": &filter.Since, "until": &filter.Until} {
		if text := query.Get(name); text != "" {
			if *dst, err = time.Parse(time.RFC3339, text); err != nil {
				return &Error{Status: http.StatusBadRequest, Code: "invalid", Field: name, Message: name + " must be a time such as 2026-11-22T09:00:00Z"}
			}
		}
	}
	events, err := eventlog.List(r.Context(), a.DB.SQL(), filter)
	if err != nil {
		return err
	}
	if query.Get("format") == "csv" {
		return writeEventsCSV(w, events)
	}
	pageSize := filter.Limit
	if pageSize == 0 {
		pageSize = 100
	}
	var next int64
	if len(events) > 0 && len(events) == pageSize {
		next = events[len(events)-1].ID
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": events, "next_before": next})
	return nil
}

func writeEventsCSV(w http.ResponseWriter, events []eventlog.Listed) error {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="parley-events.csv"`)
	out := csv.NewWriter(w)
	_ = out.Write([]string{"id", "time", "kind", "actor", "source", "subject", "details"})
	for _, ev := range events {
		_ = out.Write([]string{strconv.FormatInt(ev.ID, 10), ev.At.Format(time.RFC3339Nano), ev.Kind,
			cell(personOr(ev.ActorUser, ev.Actor)), ev.Source, cell(personOr(ev.SubjectUser, ev.Subject)), cell(string(ev.Details))})
	}
	out.Flush()
	return out.Error()
}

func personOr(p *eventlog.Person, fallback string) string {
	if p == nil {
		return fallback
	}
	return p.Login
}

// cell keeps a spreadsheet from reading a value as a formula.
func cell(value string) string {
	if value != "" && strings.ContainsRune("=+-@\t\r", rune(value[0])) {
		return "'" + value
	}
	return value
}
