#!/bin/sh
# Regenerates the calibrate fixtures from two-weeks.toml (see README.md beside this file):
#   sh tests/data/calibrate/make.sh [path/to/rollsim]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
rollsim=${1:-target/debug/rollsim}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$rollsim" trace "$here/two-weeks.toml" --seed 16 --run 0 --policy none --out "$tmp" >/dev/null
# Simulated seconds start on Thursday 1970-01-01; 1717027200 is Thursday 2024-05-30
# 00:00 UTC, a whole number of weeks later, so times of day and weekdays are kept.
shift=1717027200
# two-weeks.csv: RFC 3339 timestamps, errors as Prometheus' error ratio (6 digits; NaN
# at zero requests), and the p99 in ms.
awk -F, -v s=$shift 'NR == 1 { print "timestamp,series,value"; next }
  { t = $1 + s
    ts = strftime("%Y-%m-%dT%H:%M:%SZ", t, 1)
    if ($2 == "requests") { n[t] = $3; print ts ",requests," $3 }
    else if ($2 == "errors") {
      if (n[t] == 0) print ts ",error_ratio,NaN"
      else printf "%s,error_ratio,%.6g\n", ts, $3 / n[t] }
    else if ($2 == "latency_p99_ms") printf "%s,latency_p99_ms,%.1f\n", ts, $3 }' \
  "$tmp/metrics.csv" > "$here/two-weeks.csv"
# incidents.csv: the fault windows of the run (kind: the fault's name), shifted alike.
awk -F, -v s=$shift 'NR == 1 { print; next } $3 != "deploy" && $3 != "promoted" && $2 != "" {
  print $1 + s "," $2 + s "," $3 }' "$tmp/labels.csv" > "$here/incidents.csv"
# counts-only.csv: the first three days' requests alone, Unix seconds.
awk -F, -v s=$shift 'NR == 1 { print; next } $2 == "requests" && $1 < 3 * 86400 {
  print $1 + s "," $2 "," $3 }' "$tmp/metrics.csv" > "$here/counts-only.csv"
