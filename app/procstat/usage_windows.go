package procstat

import (
	"time"

	"golang.org/x/sys/windows"
)

// Read reads the process's CPU time from GetProcessTimes.
func Read() Usage {
	var creation, exit, kernel, user windows.Filetime
	if windows.GetProcessTimes(windows.CurrentProcess(), &creation, &exit, &kernel, &user) != nil {
		return Usage{}
	}
	// Filetime counts 100-nanosecond intervals.
	ticks := func(t windows.Filetime) int64 { return int64(t.HighDateTime)<<32 | int64(t.LowDateTime) }
	return Usage{CPU: time.Duration((ticks(kernel) + ticks(user)) * 100)}
}
