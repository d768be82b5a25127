package api

import (
	"bytes"
	"errors"
	"io/fs"
	"net/http"
)

func (a *API) pageRoutes() {
	assets := http.StripPrefix("/assets/", http.FileServerFS(filesOnly{a.Pages}))
	a.mux.Handle("GET /assets/", assets)
	a.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		a.servePage(w, r, "index.html", http.StatusOK)
	})
	a.mux.HandleFunc("GET /setup/{token}", a.setupPage)
	a.mux.HandleFunc("GET /c/{cid}", func(w http.ResponseWriter, r *http.Request) {
		a.servePage(w, r, "meeting.html", http.StatusOK)
	})
	a.mux.HandleFunc("GET /test", func(w http.ResponseWriter, r *http.Request) {
		a.servePage(w, r, "selftest.html", http.StatusOK)
	})
	a.mux.HandleFunc("GET /ca.crt", a.caCertificate)
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "404 page not found", http.StatusNotFound)
	})
}

// setupPage answers the link printed at first start: the form while the
// link is valid, and a 404 or 410 page once it is not, so that the status
// alone tells a used link from a fresh one.
func (a *API) setupPage(w http.ResponseWriter, r *http.Request) {
	rq := &request{source: clientAddr(r)}
	if err := a.checkAdminNetwork(r, rq); err != nil {
		a.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if err := a.Accounts.CheckSetupToken(r.Context(), r.PathValue("token")); err != nil {
		apiErr := asAPIError(err)
		if apiErr == nil {
			a.fail(w, r, err)
			return
		}
		status = apiErr.Status
	}
	a.servePage(w, r, "setup.html", status)
}

func (a *API) servePage(w http.ResponseWriter, r *http.Request, name string, status int) {
	page, err := fs.ReadFile(a.Pages, name)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	// Links in the pages are relative to their <base>: where the
	// application is published (appBase), which only a proxy changes.
	page = bytes.Replace(page, []byte(`<base href="/">`), []byte(`<base href="`+appBase(r)+`">`), 1)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(page)
}

func (a *API) caCertificate(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/x-x509-ca-cert")
	w.Header().Set("Content-Disposition", `attachment; filename="parley-ca.crt"`)
	_, _ = w.Write(a.Certificates.CACertPEM())
}

// filesOnly hides directories, so that /assets/ lists nothing.
type filesOnly struct{ fs.FS }

func (f filesOnly) Open(name string) (fs.File, error) {
	file, err := f.FS.Open(name)
	if err != nil {
		return nil, err
	}
	info, err := file.Stat()
	if err != nil || info.IsDir() {
		file.Close()
		return nil, errors.Join(fs.ErrNotExist, err)
	}
	return file, nil
}
