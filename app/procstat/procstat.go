// Package procstat reads what the running process costs: CPU time and
// resident memory, as the system tells it. The server's metrics and the
// benchmark's relay read it.
package procstat

import "time"

// Usage is what the process has cost; zero where the system does not
// tell.
type Usage struct {
	CPU          time.Duration // user and system
	RSS, PeakRSS uint64        // bytes: now, and the highest so far
}
