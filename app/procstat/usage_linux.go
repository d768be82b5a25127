package procstat

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Read reads CPU time from getrusage and memory from
// /proc/self/status (VmRSS now, VmHWM the peak).
func Read() Usage {
	var usage Usage
	var rusage syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &rusage) == nil {
		usage.CPU = time.Duration(rusage.Utime.Nano() + rusage.Stime.Nano())
	}
	file, err := os.Open("/proc/self/status")
	if err != nil {
		return usage
	}
	defer file.Close()
	scanner := bufio.NewScanner(file)
	for scanner.Scan() {
		name, value, ok := strings.Cut(scanner.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(value) // "12345 kB"
		if len(fields) != 2 || fields[1] != "kB" {
			continue
		}
		kib, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			continue
		}
		switch name {
		case "VmRSS":
			usage.RSS = kib * 1024
		case "VmHWM":
			usage.PeakRSS = kib * 1024
		}
	}
	return usage
}
