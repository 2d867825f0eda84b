#!/usr/bin/env bash
# Renders report.html files in headless Chromium and checks what a reader would see:
# the page loads, every chart is an inline <svg> with a real size, no chart text is cut
# off at the chart's edge, and no two labels of a chart overlap (measured with the
# browser's own fonts). Saves a full-page screenshot next to each check.
#
#   bash tests/browser/check-report.sh [REPORT_DIR...]
#
# Without arguments it builds reports for a small quickstart run and for every fixture in
# tests/data/report/ (in a temporary directory). Not part of `cargo test` or CI: it needs
# Chromium (`apt-get install -y chromium`) and skips, saying so, when there is none.
set -euo pipefail
cd "$(dirname "$0")/../.."

chromium=""
for c in chromium chromium-browser google-chrome; do
  if command -v "$c" >/dev/null 2>&1; then chromium=$(command -v "$c"); break; fi
done
if [ -z "$chromium" ]; then
  echo "check-report: skipped: no Chromium found (apt-get install -y chromium)"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
shots=${SHOTS:-/tmp/rollsim-report-shots}
mkdir -p "$shots"

dirs=("$@")
if [ ${#dirs[@]} -eq 0 ]; then
  cargo build --quiet
  ./target/debug/rollsim run scenarios/quickstart.toml --runs 300 --seed 42 \
    --out "$work/quickstart" >/dev/null 2>&1
  dirs=("$work/quickstart")
  for f in tests/data/report/*/; do
    name=$(basename "$f")
    cp -r "$f" "$work/$name"
    ./target/debug/rollsim report "$work/$name" >/dev/null 2>&1
    dirs+=("$work/$name")
  done
fi

# Measured in the page; results land in a <pre id="check"> that --dump-dom prints.
probe='<script>
addEventListener("load", () => {
  const out = [];
  const svgs = [...document.querySelectorAll("figure > svg")];
  out.push("charts " + svgs.length);
  svgs.forEach((svg, i) => {
    const id = svg.parentElement.id;
    const r = svg.getBoundingClientRect();
    if (r.width < 100 || r.height < 100) out.push("BAD " + id + ": size " + r.width + "x" + r.height);
    const texts = [...svg.querySelectorAll("text")].filter(t => t.textContent.trim() !== "")
      .map(t => ({ s: t.textContent.trim(), b: t.getBoundingClientRect() }));
    if (texts.length === 0) out.push("BAD " + id + ": no text");
    for (const t of texts) {
      if (t.b.left < r.left - 1 || t.b.right > r.right + 1 || t.b.top < r.top - 1 || t.b.bottom > r.bottom + 1)
        out.push("BAD " + id + ": text cut at the edge: " + t.s);
    }
    for (let a = 0; a < texts.length; a++) for (let b = a + 1; b < texts.length; b++) {
      const p = texts[a].b, q = texts[b].b;
      const w = Math.min(p.right, q.right) - Math.max(p.left, q.left);
      const h = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
      if (w > 2 && h > 4) out.push("BAD " + id + ": labels overlap: \"" + texts[a].s + "\" / \"" + texts[b].s + "\"");
    }
  });
  const pre = document.createElement("pre"); pre.id = "check"; pre.textContent = out.join("\n");
  document.body.appendChild(pre);
});
</script>'

status=0
for d in "${dirs[@]}"; do
  html="$d/report.html"
  name=$(basename "$d")
  if [ ! -f "$html" ]; then echo "FAIL $name: no report.html"; status=1; continue; fi
  probed="$work/probe-$name.html"
  # Same page with the probe appended (the report itself has no script).
  grep -v -e '^</body>$' -e '^</html>$' "$html" > "$probed"
  printf '%s\n</body>\n</html>\n' "$probe" >> "$probed"
  flags=(--headless --no-sandbox --disable-gpu --disable-background-networking
         --disable-component-update --disable-sync --no-first-run
         --user-data-dir="$(mktemp -d -p "$work")" --window-size=1280,4000)
  dom=$(timeout 120 "$chromium" "${flags[@]}" --virtual-time-budget=5000 --dump-dom "file://$probed" 2>/dev/null || true)
  result=$(printf '%s' "$dom" | sed -n '/<pre id="check">/,/<\/pre>/p' | sed 's/<[^>]*>//g')
  if [ -z "$result" ]; then echo "FAIL $name: the page did not load"; status=1; continue; fi
  timeout 120 "$chromium" "${flags[@]}" --screenshot="$shots/$name.png" "file://$(realpath "$html")" >/dev/null 2>&1 || true
  if printf '%s\n' "$result" | grep -q '^BAD'; then
    echo "FAIL $name:"; printf '%s\n' "$result" | grep '^BAD' | sed 's/^/  /'; status=1
  else
    echo "ok   $name: $(printf '%s\n' "$result" | head -1), screenshot $shots/$name.png"
  fi
done
exit $status
