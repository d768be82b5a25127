package app

import (
	"syscall"
	"time"
)

// readProcessUsage reads CPU time and the peak resident memory from
// getrusage (macOS gives ru_maxrss in bytes).
func readProcessUsage() processUsage {
	var rusage syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &rusage) != nil {
		return processUsage{}
	}
	return processUsage{cpu: time.Duration(rusage.Utime.Nano() + rusage.Stime.Nano()), peakRSS: uint64(rusage.Maxrss)}
}
