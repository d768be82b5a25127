package api

import (
	"net/http"
	"time"
)

// Stats is what the dashboard shows: live counters and the bandwidth of
// the last hour.
type Stats struct {
	UsersOnline        int         `json:"users_online"`
	ConferencesRunning int         `json:"conferences_running"`
	Participants       int         `json:"participants"`
	Guests             int         `json:"guests"`
	Waiting            int         `json:"waiting"`
	Bandwidth          []Bandwidth `json:"bandwidth"`
}

// Bandwidth is the media traffic of one minute, in bits per second.
type Bandwidth struct {
	At     time.Time `json:"at"`
	InBPS  float64   `json:"in_bps"`
	OutBPS float64   `json:"out_bps"`
}

func (a *API) stats(w http.ResponseWriter, _ *http.Request, _ *request) error {
	writeJSON(w, http.StatusOK, a.Stats())
	return nil
}
