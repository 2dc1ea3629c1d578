// Package loadtest holds the benchmarks of issue 4 (docs/benchmarks.md): the
// raw durable commit rate of SQLite and PostgreSQL on this disk, the API's
// write throughput and latency with 1, 16 and 200 concurrent clients (in
// this process, and against a serve process of its own, whose CPU time a
// write BenchmarkServeAPI reports apart from the clients'), and the
// fan-out of one event to 1,000 Server-Sent Events subscribers.
//
// They are benchmarks only; go test ./... runs none of them. Run them with
//
//	go test ./internal/loadtest -run '^$' -bench . -benchtime 2000x
//
// and set BACKCHANNEL_TEST_POSTGRES to a server's DSN to add PostgreSQL
// (each run creates a bc_test_<hex> database and drops it afterwards).
//
// Each run reports its rate, the process's CPU time per call (client and
// server together), latency percentiles and, on Linux, steal-%: the share
// of the machine's CPU time that the hypervisor gave to others while the
// run wanted it. On a shared virtual machine that share moves the rates
// by more than most changes do, so compare changes in alternating pairs
// of runs with little steal.
//
// With -timeline DIR, each run of 100 calls or more also writes
// DIR/<run>.png, each call's latency against when it ended, and
// DIR/<run>.csv, and logs the latencies of each client's first call of the
// run apart from the others': which calls make a p99 (a start, a burst,
// or the whole run) is seen there, not in the percentiles.
package loadtest
