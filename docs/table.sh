#!/usr/bin/env bash
# Runs issue 4's table: the raw durable commit rate (BenchmarkRawCommit),
# the same commit behind a bare HTTP handler with one client
# (BenchmarkHTTPFloor: the most the goal at one client can reach), the
# API's write rate and p99 (BenchmarkAPI, ledger on, messages and
# counter-proposals at 1, 16 and 200 clients; BenchmarkServeAPI, the same
# at 16 and 200 clients against a serve process of its own, whose CPU a
# write it reports apart from the clients') and an event's delivery to
# 1,000 subscribers (BenchmarkSSEFanout, and BenchmarkSSEFanoutServe against
# a serve process of its own, 20 events each), RUNS times, on SQLite
# and, with BACKCHANNEL_TEST_POSTGRES set, PostgreSQL. It keeps the
# benchmarks' output in OUT.txt, prints the tables that docs/benchmarks.md
# keeps with each case against the goals (internal/loadtest/report), and
# draws each case's share of the raw rate to OUT.png.
#
# Usage, from the repository root, on a machine doing nothing else:
#   docs/table.sh [RUNS] [BENCHTIME] [OUT]
#   docs/table.sh 2 10000x /tmp/table
set -euo pipefail
runs=${1:-2} benchtime=${2:-10000x} out=${3:-/tmp/table}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go test -c -o "$dir/loadtest.test" ./internal/loadtest
go build -o "$dir/report" ./internal/loadtest/report
: >"$out.txt"
for i in $(seq "$runs"); do
	echo "run $i of $runs: $(date -u +%H:%M:%S) UTC" >&2
	(cd internal/loadtest &&
		"$dir/loadtest.test" -test.run '^$' -test.bench 'BenchmarkRawCommit|BenchmarkHTTPFloor' -test.benchtime 5000x &&
		"$dir/loadtest.test" -test.run '^$' -test.bench 'BenchmarkAPI/(sqlite|postgres)/ledger=on/(message|counter)/clients=(1|16|200)$' -test.benchtime "$benchtime" &&
		"$dir/loadtest.test" -test.run '^$' -test.bench 'BenchmarkServeAPI/(sqlite|postgres)/ledger=on/(message|counter)/clients=(16|200)$' -test.benchtime "$benchtime" &&
		"$dir/loadtest.test" -test.run '^$' -test.bench BenchmarkSSEFanout -test.benchtime 20x) |
		tee -a "$out.txt" | grep -E '^Benchmark' >&2
done
"$dir/report" -png "$out.png" <"$out.txt"
echo "(benchmark output: $out.txt; plot: $out.png)" >&2
