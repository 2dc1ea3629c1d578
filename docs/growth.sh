#!/usr/bin/env bash
# Prints one markdown row per domain folder: outcomes, parties, frontier
# points, and the whole-process mean and minimum time of analyze --json.
# Needs hyperfine and python3. Usage, from the repository root:
#   go build -o /tmp/bc ./cmd/backchannel
#   docs/growth.sh examples/synthetic/*/ examples/domains/*/
set -euo pipefail
bc=${BC:-/tmp/bc}
for d in "$@"; do
	d=${d%/}
	read -r outcomes parties frontier < <("$bc" analyze "$d" --json |
		python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["outcomes"], len(r["parties"]), len(r["frontier"]))')
	hyperfine -N -w 3 -r 30 --export-json /tmp/growth.json "$bc analyze $d --json" >/dev/null 2>&1
	t=$(python3 -c 'import json; r=json.load(open("/tmp/growth.json"))["results"][0]; print("%.1f | %.1f" % (r["mean"]*1000, r["min"]*1000))')
	echo "| $d | $outcomes | $parties | $frontier | $t |"
done
