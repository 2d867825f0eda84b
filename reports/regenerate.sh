#!/usr/bin/env bash
# Regenerates every example report:
#   bash reports/regenerate.sh
# Each reports/examples/<scenario>/ gets summary.txt (the printed table), summary.csv,
# manifest.json, scenario.toml and the report (report.html, report.md, charts/); runs.csv
# is written too but not committed (see reports/.gitignore). Six more show the other
# commands: a paired comparison, a threshold sweep with an objective, a traffic sweep of
# the sequential judge, one run's trace, a replay of recorded metrics, and a scripted game
# day.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
rollsim=./target/release/rollsim
ex=reports/examples
for f in scenarios/*.toml; do
  name=$(basename "$f" .toml)
  mkdir -p "$ex/$name"
  if grep -qx '\[train\]' "$f"; then
    # A release train: weeks of releases per run, so fewer runs.
    "$rollsim" train "$f" --runs 200 --seed 42 --out "$ex/$name" --force > "$ex/$name/summary.txt" 2>/dev/null
  else
    # The fleet (a week of 300 services) runs its own default of 8 runs.
    runs=1000; [ "$name" = fleet-week ] && runs=8
    "$rollsim" run "$f" --runs "$runs" --seed 42 --quiet --out "$ex/$name" --force > "$ex/$name/summary.txt" 2>/dev/null
  fi
  echo "$ex/$name"
done
mkdir -p "$ex/compare-strategies" "$ex/sweep-quickstart-threshold" "$ex/trace-infra-latency-loop"
"$rollsim" compare scenarios/strategies.toml --runs 1000 --seed 42 --baseline all-at-once --quiet \
  --out "$ex/compare-strategies" --force > "$ex/compare-strategies/summary.txt" 2>/dev/null
echo "$ex/compare-strategies"
"$rollsim" sweep scenarios/quickstart.toml --param 'policies.error-rate-2pct.error_rate_above=0.005..0.05:10' \
  --objective 'min failed_requests s.t. false_positive_rollbacks <= 0.08' --runs 500 --seed 42 --quiet \
  --out "$ex/sweep-quickstart-threshold" --force > "$ex/sweep-quickstart-threshold/summary.txt" 2>/dev/null
echo "$ex/sweep-quickstart-threshold"
mkdir -p "$ex/sweep-low-traffic-canary-rate"
"$rollsim" sweep scenarios/low-traffic-canary.toml --param 'service.request_rate=1,2,5,10,40' --runs 400 --seed 42 \
  --quiet --out "$ex/sweep-low-traffic-canary-rate" --force > "$ex/sweep-low-traffic-canary-rate/summary.txt" 2>/dev/null
echo "$ex/sweep-low-traffic-canary-rate"
"$rollsim" trace scenarios/infra-latency-loop.toml --run 3 --policy p99-over-500ms --seed 42 \
  --out "$ex/trace-infra-latency-loop" --force > "$ex/trace-infra-latency-loop/summary.txt" 2>/dev/null
echo "$ex/trace-infra-latency-loop"
mkdir -p "$ex/replay-recorded-service"
"$rollsim" replay scenarios/replay/metrics.csv --labels scenarios/replay/labels.csv \
  --policies scenarios/replay/policies.toml --out "$ex/replay-recorded-service" --force \
  > "$ex/replay-recorded-service/summary.txt" 2>/dev/null
echo "$ex/replay-recorded-service"
mkdir -p "$ex/gameday-checkout-seed6"
# A scripted game day in virtual time: the team rolls back by hand at 0:27.
printf 'advance 27m\nrollback\nend\n' | "$rollsim" gameday scenarios/gameday-checkout.toml --virtual \
  --seed 6 --pager error-rate-2pct --no-dashboard --out "$ex/gameday-checkout-seed6" --force \
  > "$ex/gameday-checkout-seed6/summary.txt" 2>/dev/null
echo "$ex/gameday-checkout-seed6"
