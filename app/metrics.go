package app

import (
	"runtime"
	"time"

	"github.com/parleyhq/parley/app/procstat"
	"github.com/parleyhq/parley/server/api"
)

// metrics are the samples of GET /metrics: the media plane's counters,
// who is connected, and what the process costs (for monitoring, and for
// the benchmark's CPU per forwarded packet).
func (h *Host) metrics() []api.Metric {
	media := h.media.counters()
	counts := h.conferences.Counts()
	list := []api.Metric{
		{Name: "parley_media_packets_received_total", Help: "RTP packets received from publishers.", Type: "counter", Value: float64(media.PacketsIn)},
		{Name: "parley_media_received_bytes_total", Help: "Bytes of RTP received from publishers.", Type: "counter", Value: float64(media.BytesIn)},
		{Name: "parley_media_packets_forwarded_total", Help: "RTP packets sent to subscribers.", Type: "counter", Value: float64(media.PacketsOut)},
		{Name: "parley_media_forwarded_bytes_total", Help: "Bytes of RTP sent to subscribers.", Type: "counter", Value: float64(media.BytesOut)},
		{Name: "parley_media_packets_dropped_total", Help: "Packets dropped for subscribers that did not keep up.", Type: "counter", Value: float64(media.Dropped)},
		{Name: "parley_media_nacks_received_total", Help: "NACK packets subscribers sent, asking for retransmissions.", Type: "counter", Value: float64(media.NACKs)},
		{Name: "parley_media_keyframe_requests_total", Help: "Picture loss indications sent to publishers.", Type: "counter", Value: float64(media.KeyframeRequests)},
		{Name: "parley_conferences_running", Help: "Conferences with someone in them.", Type: "gauge", Value: float64(counts.Conferences)},
		{Name: "parley_participants", Help: "People in conferences, guests included.", Type: "gauge", Value: float64(counts.Participants)},
		{Name: "parley_guests", Help: "Guests in conferences.", Type: "gauge", Value: float64(counts.Guests)},
		{Name: "parley_lobby_waiting", Help: "People waiting in lobbies.", Type: "gauge", Value: float64(counts.Waiting)},
		{Name: "parley_users_online", Help: "Signed-in users with the app or a page open.", Type: "gauge", Value: float64(h.signal.UsersOnline())},
		{Name: "go_goroutines", Help: "Goroutines that exist.", Type: "gauge", Value: float64(runtime.NumGoroutine())},
		{Name: "process_start_time_seconds", Help: "Start time of the process since the Unix epoch.", Type: "gauge", Value: float64(processStart.UnixNano()) / 1e9},
	}
	usage := procstat.Read()
	if usage.CPU > 0 {
		list = append(list, api.Metric{Name: "process_cpu_seconds_total", Help: "User and system CPU time of the process.", Type: "counter", Value: usage.CPU.Seconds()})
	}
	if usage.RSS > 0 {
		list = append(list, api.Metric{Name: "process_resident_memory_bytes", Help: "Resident memory of the process.", Type: "gauge", Value: float64(usage.RSS)})
	}
	if usage.PeakRSS > 0 {
		list = append(list, api.Metric{Name: "process_resident_memory_peak_bytes", Help: "Highest resident memory of the process so far.", Type: "gauge", Value: float64(usage.PeakRSS)})
	}
	return list
}

// processStart is when this process started, near enough.
var processStart = time.Now()
