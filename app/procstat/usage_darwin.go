package procstat

import (
	"syscall"
	"time"
)

// Read reads CPU time and the peak resident memory from
// getrusage (macOS gives ru_maxrss in bytes).
func Read() Usage {
	var rusage syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &rusage) != nil {
		return Usage{}
	}
	return Usage{CPU: time.Duration(rusage.Utime.Nano() + rusage.Stime.Nano()), PeakRSS: uint64(rusage.Maxrss)}
}
