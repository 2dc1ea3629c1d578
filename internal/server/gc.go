package server

import (
	"os"
	"runtime/debug"
)

// GCPercent is the garbage collector's target (GOGC) that TuneGC sets.
//
// A server's live heap is small (7 MB under 10,000 writes a second on
// SQLite), and each request allocates some 17 kB, so at Go's default of 100
// the collector runs about 20 times a second, and the requests that help it
// mark are the slowest. At 400 the heap grows to about 35 MB between
// collections, which run a quarter as often (docs/benchmarks.md).
const GCPercent = 400

// TuneGC sets the garbage collector's target to GCPercent, unless the
// GOGC environment variable sets it. backchannel serve calls it, and so do
// the load benchmarks, which measure the server as serve runs it.
func TuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(GCPercent)
	}
}
