//go:build unix

package quality_test

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user and system) this process has used so far:
// with DuckDB, in-process, it measures the work of a benchmark even on a
// machine busy with other work, where wall-clock time does not.
func cpuTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
