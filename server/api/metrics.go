package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Metric is one sample of GET /metrics.
type Metric struct {
	Name  string // parley_... in Prometheus' naming: unit and _total suffixes
	Help  string
	Type  string // "counter" or "gauge"
	Value float64
}

// metrics answers GET /metrics in Prometheus' text format (version
// 0.0.4): the counters a monitoring system or the benchmark reads.
func (a *API) metrics(w http.ResponseWriter, _ *http.Request, _ *request) error {
	if a.Metrics == nil {
		return apiError(http.StatusNotFound, "not_found", "this server has no metrics")
	}
	var out strings.Builder
	for _, m := range a.Metrics() {
		fmt.Fprintf(&out, "# HELP %s %s\n# TYPE %s %s\n%s %s\n", m.Name, escapeHelp(m.Help), m.Name, m.Type, m.Name,
			strconv.FormatFloat(m.Value, 'g', -1, 64))
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, err := w.Write([]byte(out.String()))
	return err
}

// escapeHelp escapes a help text as the format asks: backslashes and line
// breaks.
func escapeHelp(help string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(help)
}
