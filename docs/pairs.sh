#!/usr/bin/env bash
# Compares two revisions' issue 4 benchmarks in alternating pairs of runs,
# as docs/benchmarks.md does: this machine's speed drifts by more within an
# hour than most changes move it, so runs side by side are the only fair
# comparison. It builds internal/loadtest's test binary at each revision
# (in a temporary worktree), then runs BENCH on each in turn, PAIRS times
# (BASE first in odd pairs, NEW first in even ones), and prints every run's
# rate, p99 and steal, then, per benchmark, the means and how many pairs
# the second revision won.
#
# Usage, from the repository root:
#   docs/pairs.sh BASE NEW BENCH [BENCHTIME] [PAIRS]
#   docs/pairs.sh 47c0622 HEAD 'BenchmarkAPI/postgres/ledger=on/message/clients=(1|16)$' 5000x 6
# BENCH is go test's -bench pattern (one alternative per level: split
# 'message/clients=1' and 'counter/clients=16' into two calls). Set
# BACKCHANNEL_TEST_POSTGRES for the PostgreSQL cases.
set -euo pipefail
[ $# -ge 3 ] || { sed -n '2,16p' "$0"; exit 2; }
bench=$3 benchtime=${4:-5000x} pairs=${5:-4}
# Resolved here: a relative name (HEAD~1) means another commit inside the
# worktree, whose HEAD is the revision checked out.
b=$(git rev-parse --short "$1") n=$(git rev-parse --short "$2")
dir=$(mktemp -d)
trap 'git worktree remove --force "$dir/src" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
for rev in "$b" "$n"; do
	git worktree add --detach "$dir/src" "$rev" >/dev/null 2>&1
	(cd "$dir/src" && go test -c -o "$dir/$rev.test" ./internal/loadtest)
	git worktree remove --force "$dir/src"
done
cd internal/loadtest
for i in $(seq "$pairs"); do
	# Odd pairs run BASE first, even ones NEW first, so that a run's place
	# in its pair (the one after a run that left the database busy, say)
	# favours neither side over an even number of pairs.
	order="$b $n"
	[ $((i % 2)) -eq 0 ] && order="$n $b"
	for rev in $order; do
		"$dir/$rev.test" -test.run '^$' -test.bench "$bench" -test.benchtime "$benchtime" |
			awk -v rev="$rev" -v pair="$i" '/^Benchmark/ {
				name = $1; sub(/-[0-9]+$/, "", name); rate = ""; p99 = ""; steal = "-"
				for (f = 3; f < NF; f++) {
					if ($(f+1) ~ /\/s$/) rate = $f
					if ($(f+1) == "p99-ms") p99 = $f
					if ($(f+1) == "steal-%") steal = $f
				}
				printf "%s\t%s\t%d\t%s\t%s\t%s\n", name, rev, pair, rate, p99, steal
			}'
	done
done | tee "$dir/runs.tsv" | awk -F'\t' 'BEGIN { printf "%-60s %-8s %4s %10s %9s %7s\n", "benchmark", "rev", "pair", "rate", "p99-ms", "steal%" }
	{ printf "%-60s %-8s %4s %10s %9s %7s\n", $1, $2, $3, $4, $5, $6 }'
echo
awk -F'\t' -v b="$b" -v n="$n" '
	{ key = $1; rate[key, $2, $3] = $4; sum[key, $2] += $4; cnt[key, $2]++; names[key] = 1; if ($3 > maxpair) maxpair = $3 }
	END {
		for (k in names) {
			won = 0; both = 0
			for (p = 1; p <= maxpair; p++) if ((k, b, p) in rate && (k, n, p) in rate) { both++; if (rate[k, n, p] > rate[k, b, p]) won++ }
			mb = sum[k, b] / cnt[k, b]; mn = sum[k, n] / cnt[k, n]
			printf "%s: mean %.0f (%s) against %.0f (%s), %+.1f %%; %s higher in %d of %d pairs\n", k, mn, n, mb, b, 100 * (mn - mb) / mb, n, won, both
		}
	}' "$dir/runs.tsv"
