package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Two runs, cut down from real output (the second run's figures changed so
// that the verdicts differ between runs).
const sample = `goos: linux
BenchmarkRawCommit/sqlite/writers=1-2         	    5000	    272538 ns/op	      3670 commits/s	       185.9 cpu-µs/op	         0.3670 steal-%
BenchmarkRawCommit/sqlite/writers=16-2        	    5000	    257477 ns/op	      3884 commits/s	       184.7 cpu-µs/op	         0 steal-%
PASS
BenchmarkAPI/sqlite/ledger=on/message/clients=1-2         	   10000	    644534 ns/op	         1.738 p99-ms	         3.569 steal-%	      1552 writes/s
BenchmarkAPI/sqlite/ledger=on/message/clients=16-2        	   10000	    148993 ns/op	         7.994 p99-ms	         6.712 steal-%	      6712 writes/s	        80 machine-busy-%	       250.0 machine-cpu-µs/op	       200.0 cpu-µs/op
BenchmarkAPI/sqlite/ledger=on/message/clients=200-2       	   10000	    108658 ns/op	        37.08 p99-ms	         4.602 steal-%	      9205 writes/s
BenchmarkHTTPFloor/sqlite/clients=1-2         	    5000	    400000 ns/op	         0.9 p99-ms	         0 steal-%	      2500 writes/s
ok  	github.com/backchannel/backchannel/internal/loadtest	80.1s
BenchmarkRawCommit/sqlite/writers=1-2         	    5000	    250000 ns/op	      4000 commits/s
BenchmarkRawCommit/sqlite/writers=16-2        	    5000	    250000 ns/op	      4000 commits/s
BenchmarkAPI/sqlite/ledger=on/message/clients=1-2         	   10000	    500000 ns/op	         1.5 p99-ms	         0 steal-%	      2000 writes/s
BenchmarkAPI/sqlite/ledger=on/message/clients=16-2        	   10000	    148993 ns/op	         7.994 p99-ms	         0 steal-%	      6000 writes/s	        30 machine-busy-%	      1000 machine-cpu-µs/op	       500.0 cpu-µs/op
BenchmarkAPI/sqlite/ledger=on/message/clients=200-2       	   10000	    108658 ns/op	        45.0 p99-ms	         0 steal-%	      9000 writes/s
BenchmarkHTTPFloor/sqlite/clients=1-2         	    5000	    400000 ns/op	         0.9 p99-ms	         0 steal-%	      1800 writes/s
BenchmarkServeAPI/sqlite/ledger=on/counter/clients=16-2        	   10000	    654893 ns/op	       100.0 cpu-µs/op	        50 machine-busy-%	       500.0 machine-cpu-µs/op	        20.87 p99-ms	       300.0 server-cpu-µs/op	      2000 writes/s
BenchmarkSSEFanout/sqlite/subscribers=1000-2         	      20	  30989275 ns/op	        38.75 deliver-max-ms	        21.7 deliver-p50-ms	        34.7 deliver-p99-ms	         3.016 heap-before-MiB	        40.6 heap-connected-MiB	        68.0 heap-max-MiB
BenchmarkSSEFanoutServe/postgres/subscribers=1000-2  	      20	  61525772 ns/op	        62.66 deliver-max-ms	        35.0 deliver-p50-ms	       121.0 deliver-p99-ms	        31.09 server-heap-connected-MiB	         9.477 server-heap-idle-MiB	        39.26 server-heap-max-MiB	        69.79 server-rss-connected-MiB	        30.36 server-rss-idle-MiB	        76.59 server-rss-max-MiB
BenchmarkSSEFanoutServe/postgres/subscribers=1000-2  	      20	  61525772 ns/op	        62.66 deliver-max-ms	        23.1 deliver-p50-ms	        41.6 deliver-p99-ms	        30.5 server-heap-connected-MiB	         9.477 server-heap-idle-MiB	        38.6 server-heap-max-MiB	        70.2 server-rss-connected-MiB	        30.36 server-rss-idle-MiB	        77.4 server-rss-max-MiB
`

func TestReport(t *testing.T) {
	rs, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	writeTable(&b, rs)
	out := b.String()
	for _, want := range []string{
		"| raw sqlite commits/s | 3,670, 4,000 | 3,884, 4,000 |",
		"| sqlite | message | 1,552, 2,000 | 6,712, 6,000 | 9,205, 9,000 | 37.1, 45.0 ms | 6.7 |",
		// 1552/3670 = 42.3 %, 2000/4000 = 50 %; 6712/3884 = 172.8 %; 9205/3884 = 237.0 %.
		"| sqlite | message | 42, 50 %: met in 1 of 2 | 173, 150 %: met | 237, 225 %: met | met |",
		"| sqlite | counter | — %: not run | — %: not run | — %: not run | not run |",
		// 2500/3670 = 68.1 %, 1800/4000 = 45 %; no PostgreSQL floor, no row.
		"| sqlite | 2,500, 1,800 | 68, 45 % | met in 1 of 2 |",
		// 6712/0.80 = 8,390, 8390/3884 = 216 %; 6000/0.30 = 20,000, 20000/4000 = 500 %.
		"| sqlite | message | 16 | 80, 30 % | 250 (200), 1,000 (500) µs | 8,390, 20,000 | 216, 500 % | within reach |",
		// 2000/0.50 = 4,000 with the cores full, × 500/(500-100) = 5,000 with
		// the clients elsewhere; 5000/3884 = 129 %. Only the first run has
		// a serve run.
		"| sqlite | counter | 16 | 2,000 | 100 + 300 + 100 µs | 5,000 | 129 % | within reach |",
		"| sqlite, in the test process (heap: server and clients) | 34.7 (21.7) ms | met | 41 (68) MiB | — |",
		"| postgres, a serve process (its own memory) | 121.0 (35.0), 41.6 (23.1) ms | met in 1 of 2 | 31 (39), 30 (39) MiB | 70 (77), 70 (77) MiB |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}

	if strings.Contains(out, "| sqlite | message | 200 |") {
		t.Errorf("the report has a ceiling row for runs that did not measure the machine:\n%s", out)
	}
	if strings.Contains(out, "| postgres | —") {
		t.Errorf("the report has a floor row without its runs:\n%s", out)
	}

	file := filepath.Join(t.TempDir(), "share.png")
	if err := drawShares(file, rs); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(file); err != nil || fi.Size() < 1000 {
		t.Errorf("drawShares wrote %v, %v; want a PNG", fi, err)
	}
}

func TestParseBadMetric(t *testing.T) {
	_, err := parse(strings.NewReader("BenchmarkX-2 10 1x ns/op\n"))
	if err == nil || !strings.Contains(err.Error(), "ns/op") {
		t.Errorf("parse(a bad value) = %v, want an error naming its metric", err)
	}
}

func TestGroup(t *testing.T) {
	for in, want := range map[string]string{"1": "1", "999": "999", "1000": "1,000", "1234567.5": "1,234,567.5", "12.25": "12.25"} {
		if got := group(in); got != want {
			t.Errorf("group(%q) = %q, want %q", in, got, want)
		}
	}
}
