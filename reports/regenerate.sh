#!/usr/bin/env bash
# Regenerates the example reports of every shipped scenario:
#   bash reports/regenerate.sh
# Each reports/examples/<scenario>/ gets summary.txt (the printed table), summary.csv,
# manifest.json, scenario.toml and the report (report.html, report.md, charts/); runs.csv
# is written too but not committed (see reports/.gitignore).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
for f in scenarios/*.toml; do
  name=$(basename "$f" .toml)
  out="reports/examples/$name"
  mkdir -p "$out"
  table=$(./target/release/rollsim run "$f" --runs 1000 --seed 42 --out "$out" --force 2>/dev/null)
  printf '%s\n' "$table" > "$out/summary.txt"
  echo "$out"
done
