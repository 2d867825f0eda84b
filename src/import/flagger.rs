//! Flagger `Canary` → `flagger`.
//!
//! # What is read (fluxcd/flagger)
//!
//! `pkg/apis/flagger/v1beta1/canary.go`: `spec.analysis` (or the deprecated
//! `spec.canaryAnalysis`, used only when `analysis` is absent: `GetAnalysis`), its
//! `interval` (`GetAnalysisInterval`: empty or not a Go duration → 60 s, under 10 s →
//! 10 s), `threshold` (`GetAnalysisThreshold`: <= 0 → 1), `maxWeight`, `stepWeight`,
//! `stepWeights`, `iterations`, `match`, and `metrics[]` (`CanaryMetric`: `name`,
//! `interval`, default `MetricInterval = "1m"`, `thresholdRange.min`/`.max`, the deprecated
//! `threshold`). `spec.skipAnalysis` promotes without analysis (`SkipAnalysis`).
//!
//! `pkg/controller/scheduler_metrics.go: runBuiltinMetricChecks`: `request-success-rate`
//! fails a check when the success rate (percent) is `< thresholdRange.min` (or, without a
//! range, `< threshold`); `request-duration` (the p99) when it is `>
//! time.Duration(thresholdRange.max) * time.Millisecond` (or `threshold`): a fractional
//! millisecond limit is truncated by that conversion, and so it is here.
//! The built-in duration query is `histogram_quantile(0.99, ...)` in every observer
//! (`pkg/metrics/observers/*.go`), hence rollsim's p99; a query with no value returns
//! `ErrNoValuesFound` (`pkg/metrics/providers/prometheus.go`), a failed check.
//!
//! `pkg/controller/scheduler.go`: `DeploymentStrategy` is A/B testing with `match` and
//! `iterations`, Blue/Green with `iterations` alone, canary otherwise; the canary weight
//! moves by `nextStepWeight` (`stepWeight`, else the next of `stepWeights`) once per
//! successful `interval` while it is below `maxWeight` (`stepWeights`' last, else
//! `maxWeight`, else 100; `runCanary` caps it at 100, not at `maxWeight`), and at
//! `maxWeight` the next passing check promotes (100%). A failed check returns before any
//! of that: the weight holds (`advanceCanary`).
//! The `kubernetes` provider has no traffic shifting and runs Blue/Green with
//! `iterations: 10` when unset (`advanceCanary`).
//!
//! # Not modelled (each is reported where it appears)
//!
//! Custom metrics (`templateRef`, `query`), the unused side of a threshold range, webhooks
//! (load tests, gates, manual rollback), alerts, mirroring, session affinity, header `match`
//! routing (A/B `iterations` route all traffic to the canary, as if every request matched;
//! Blue/Green's `iterations` checks run against load-test or mirrored traffic rollsim does
//! not simulate, so they are imported as `iterations + 1` checks with all traffic on the
//! canary), gradual promotion (`stepWeightPromotion`: after promotion both copies run the
//! new version) and the progress deadline. `stepWeight`, `stepWeights`, `maxWeight` and
//! `iterations` become the policy's keys of the same meaning: the weight advances only on
//! a passing check.

use super::yaml::Node;
use super::{go_duration_ms, Doc, Entry, Imported, Notes, Pos, Unusable, Value};
use crate::check::duration_text;

/// `canary.go: AnalysisInterval`.
pub const DEFAULT_INTERVAL_MS: u64 = 60_000;
/// The floor `GetAnalysisInterval` applies.
pub const MIN_INTERVAL_MS: u64 = 10_000;

/// `GetAnalysisInterval` on the YAML text: the interval and how it was derived.
pub fn interval_ms(text: Option<&str>) -> (u64, Option<String>) {
    let Some(t) = text.filter(|t| !t.is_empty()) else {
        return (
            DEFAULT_INTERVAL_MS,
            Some("unset: Flagger's default 60s".into()),
        );
    };
    match go_duration_ms(t) {
        Err(_) => (
            DEFAULT_INTERVAL_MS,
            Some(format!(
                "{t:?} is not a Go duration: Flagger falls back to 60s"
            )),
        ),
        Ok(ms) if ms < MIN_INTERVAL_MS => (
            MIN_INTERVAL_MS,
            Some(format!("{t} is under 10s: Flagger raises it to 10s")),
        ),
        Ok(ms) => (ms, None),
    }
}

/// `GetAnalysisThreshold`.
pub fn effective_threshold(t: i64) -> i64 {
    if t > 0 {
        t
    } else {
        1
    }
}

/// The canary weights Flagger steps through (shared with the scenario's flagger keys).
pub use crate::policy::flagger::weights;

fn lines(n: &Node<'_, '_>) -> String {
    format!("{} (line {})", n.path, n.pos.line)
}

/// Imports the first Canary of the file.
pub(crate) fn import(docs: &[Doc], notes: &mut Notes) -> Result<Imported, Unusable> {
    let Some(doc) = docs.iter().find(|d| d.kind == "Canary") else {
        return Err(Unusable {
            pos: Pos { line: 1, col: 1 },
            message: "no Canary".into(),
        });
    };
    doc.used.set(true);
    let anchor = doc.node.pos;
    let spec = doc.node.get("spec");
    let spec = spec.as_ref();
    if let Some(s) = spec.and_then(|s| s.get("skipAnalysis")) {
        if s.bool() == Some(true) {
            return Err(Unusable {
                pos: s.pos,
                message: "skipAnalysis: true promotes without analysis, so there is no rollback policy to import".into(),
            });
        }
    }
    let analysis = match spec.and_then(|s| s.get("analysis")) {
        Some(a) => {
            if let Some(old) = spec.and_then(|s| s.get("canaryAnalysis")) {
                notes.skip(&old, "the deprecated canaryAnalysis is ignored when analysis is set (GetAnalysis)");
            }
            a
        }
        None => spec.and_then(|s| s.get("canaryAnalysis")).ok_or(Unusable {
            pos: anchor,
            message: "the Canary has no spec.analysis: Flagger promotes it without analysis, so there is no rollback policy to import".into(),
        })?,
    };
    let provider = spec
        .and_then(|s| s.get("provider"))
        .and_then(|p| p.text())
        .unwrap_or_default();

    let mut entries = vec![Entry {
        key: "kind",
        value: Value::Str("flagger".into()),
        source: "Flagger canary analysis".into(),
    }];
    let mut header = vec![format!("Flagger Canary {:?}", doc.name)];

    // interval
    let iv = analysis.get("interval");
    if let Some(n) = iv.as_ref().filter(|n| n.str().is_none()) {
        notes.skip(
            n,
            "interval is not a string; Flagger's CRD rejects it (read here as unset: 60s)",
        );
    }
    let (interval, why) = interval_ms(iv.as_ref().and_then(|n| n.text()).as_deref());
    let src = match (&iv, why) {
        (Some(n), Some(w)) => format!("{}: {w}", lines(n)),
        (Some(n), None) => lines(n),
        (None, w) => format!("{}.interval {}", analysis.path, w.unwrap_or_default()),
    };
    entries.push(Entry {
        key: "interval",
        value: Value::Dur(interval),
        source: src,
    });

    // threshold
    let th = analysis.get("threshold");
    if let Some(n) = th.as_ref().filter(|n| n.int().is_none()) {
        notes.add(
            n,
            "threshold is not an integer; Flagger's CRD rejects it (read here as unset: 1)",
        );
    }
    let raw = th.as_ref().and_then(|n| n.int()).unwrap_or(0);
    let t = effective_threshold(raw);
    let src = match &th {
        Some(n) if raw <= 0 => format!("{}: {raw} <= 0, which Flagger turns into 1", lines(n)),
        Some(n) => lines(n),
        None => format!("{}.threshold unset: Flagger uses 1", analysis.path),
    };
    entries.push(Entry {
        key: "threshold",
        value: Value::Int(t),
        source: src,
    });

    // metrics
    let mut metric_interval: Option<(u64, String, String)> = None;
    let mut success_min: Option<Entry> = None;
    let mut duration_max: Option<Entry> = None;
    for m in analysis
        .get("metrics")
        .map(|m| m.items())
        .unwrap_or_default()
    {
        let name = m.get("name").and_then(|n| n.text()).unwrap_or_default();
        if m.has("templateRef") || m.has("query") {
            let at = m
                .get("templateRef")
                .or_else(|| m.get("query"))
                .unwrap_or_else(|| m.clone());
            notes.add(&at, format!("metric {name:?}: custom metrics (templateRef, query) are not modelled; this metric is skipped"));
            m.read_whole();
            continue;
        }
        let builtin = name == "request-success-rate" || name == "request-duration";
        if !builtin {
            notes.skip(&m, format!("metric {name:?} is not a Flagger built-in metric (request-success-rate, request-duration); this metric is skipped"));
            continue;
        }
        let taken = if name == "request-success-rate" {
            success_min.is_some()
        } else {
            duration_max.is_some()
        };
        if taken {
            notes.skip(&m, format!("metric {name:?} is listed twice; rollsim's flagger policy has one of each, the first is used; this metric is skipped"));
            continue;
        }
        let range = m.get("thresholdRange");
        let min = range.as_ref().and_then(|r| r.get("min"));
        let max = range.as_ref().and_then(|r| r.get("max"));
        let old = m.get("threshold");
        let (used, unused, what) = if name == "request-success-rate" {
            (min, max, "a maximum success rate")
        } else {
            (max, min, "a minimum duration")
        };
        if let Some(u) = unused {
            notes.add(&u, format!("{what} is not modelled; ignored"));
        }
        let (value, node, how) = match (&range, used, old) {
            (Some(_), Some(v), o) => {
                if let Some(o) = o {
                    notes.add(
                        &o,
                        "the deprecated threshold is ignored when thresholdRange is set",
                    );
                }
                (v.number(), v.clone(), String::new())
            }
            (Some(r), None, o) => {
                if let Some(o) = o {
                    notes.add(
                        &o,
                        "the deprecated threshold is ignored when thresholdRange is set",
                    );
                }
                (
                    Some(0.0),
                    r.clone(),
                    " without a bound on this side: Flagger compares with 0".to_string(),
                )
            }
            (None, _, Some(o)) => (o.number(), o.clone(), " (deprecated threshold)".to_string()),
            (None, _, None) => (
                Some(0.0),
                m.clone(),
                ": no threshold, Flagger compares with 0".to_string(),
            ),
        };
        let Some(value) = value else {
            notes.skip(
                &m,
                format!("metric {name:?}: its threshold is not a number; this metric is skipped"),
            );
            continue;
        };
        let mi = m.get("interval");
        let (mi_ms, mi_src) = match &mi {
            Some(n) => match go_duration_ms(&n.text().unwrap_or_default()) {
                Ok(ms) if ms > 0 => (ms, lines(n)),
                _ => {
                    notes.skip(&m, format!("metric {name:?}: its interval is not a Go duration; this metric is skipped"));
                    continue;
                }
            },
            None => (
                60_000,
                format!("{}.interval unset: Flagger's MetricInterval 1m", m.path),
            ),
        };
        if name == "request-success-rate" {
            if !(0.0..=100.0).contains(&value) {
                notes.skip(&m, format!("metric {name:?}: a success rate of {value}% is outside [0, 100]; this metric is skipped"));
                continue;
            }
            success_min = Some(Entry {
                key: "request_success_rate_min",
                value: Value::Float(value),
                source: format!("{}{how}: percent", lines(&node)),
            });
        } else {
            // time.Duration(max) * time.Millisecond truncates a fraction of a millisecond.
            let ms = value.trunc();
            if ms > super::MAX_MS as f64 {
                notes.skip(&m, format!("metric {name:?}: a p99 limit of {value} ms is out of range (over 10 years); this metric is skipped"));
                continue;
            }
            if ms < 1.0 {
                notes.skip(&m, format!("metric {name:?}: a p99 limit of {value} ms fails every check with traffic; rollsim's limits start at 1 ms; this metric is skipped"));
                continue;
            }
            let how = if ms != value {
                format!("{how}: {value} ms truncated to whole milliseconds as Flagger does")
            } else {
                format!("{how}: milliseconds")
            };
            duration_max = Some(Entry {
                key: "request_duration_p99_max",
                value: Value::Dur(ms as u64),
                source: format!("{}{how}", lines(&node)),
            });
        }
        match &metric_interval {
            None => metric_interval = Some((mi_ms, mi_src, name.clone())),
            Some((first, _, first_name)) if *first != mi_ms => {
                let at = mi.clone().unwrap_or_else(|| m.clone());
                notes.add(&at, format!("metric {name:?} queries over {} but {first_name:?} over {}; rollsim's flagger policy has one metric_interval, the first is used", duration_text(mi_ms), duration_text(*first)));
            }
            _ => {}
        }
    }
    if success_min.is_none() && duration_max.is_none() {
        return Err(Unusable {
            pos: analysis.pos,
            message: "nothing rollsim can model remains: no request-success-rate or request-duration metric".into(),
        });
    }
    if let Some((ms, src, _)) = metric_interval {
        entries.push(Entry {
            key: "metric_interval",
            value: Value::Dur(ms),
            source: src,
        });
    }
    entries.extend(success_min);
    entries.extend(duration_max);

    // Traffic.
    let int = |k: &str| analysis.get(k).and_then(|n| n.int()).unwrap_or(0);
    let iterations = analysis.get("iterations");
    let mut iters = int("iterations");
    let has_match = analysis
        .get("match")
        .map(|m| !m.items().is_empty())
        .unwrap_or(false);
    if let Some(mt) = analysis.get("match") {
        notes.skip(
            &mt,
            "header-based routing (match) is not modelled: rollsim routes by weight only",
        );
    }
    if provider == "kubernetes" && iters < 1 {
        iters = 10;
        if let Some(p) = spec.and_then(|s| s.get("provider")) {
            notes.add(&p, "the kubernetes provider cannot shift traffic: Flagger runs Blue/Green with iterations 10");
        }
    }
    let at = iterations.clone().unwrap_or_else(|| analysis.clone());
    let src_of = |k: &str| analysis.get(k).map(|n| lines(&n)).unwrap_or_default();
    if iters > 0 && has_match {
        entries.push(Entry {
            key: "iterations",
            value: Value::Int(iters),
            source: format!(
                "{}: A/B testing, all traffic to the canary for `iterations` passing checks",
                lines(&at)
            ),
        });
        notes.add(&at, "A/B testing routes only header-matched requests to the canary; rollsim cannot route by header and routes all traffic to it during the iterations (as if every request matched)");
        header.push("iterations: the canary takes all traffic; each passing check counts one iteration, a failed check does not (runAB); after the last, promotion".into());
    } else if iters > 0 {
        entries.push(Entry {
            key: "iterations",
            value: Value::Int(iters + 1),
            source: format!("{}: Blue/Green, {iters} iterations + the check that switches all traffic (runBlueGreen)", lines(&at)),
        });
        notes.add(&at, format!("Blue/Green checks {iters} iterations against traffic rollsim does not simulate (load tests or mirroring) while the canary serves no live traffic, then switches all traffic and promotes at the next passing check; rollsim runs the same {} passing checks with all live traffic on the canary", iters + 1));
        header.push("iterations: the canary takes all traffic; each passing check counts one iteration, a failed check does not; after the last, promotion".into());
    } else {
        let sw: Vec<i64> = analysis
            .get("stepWeights")
            .map(|s| s.items().iter().filter_map(|n| n.int()).collect())
            .unwrap_or_default();
        let (step_weight, max_weight) = (int("stepWeight"), int("maxWeight"));
        match weights(step_weight, &sw, max_weight) {
            Some(_) if step_weight > 0 => {
                entries.push(Entry { key: "step_weight", value: Value::Int(step_weight), source: src_of("stepWeight") });
                let max = match sw.last() {
                    Some(last) => {
                        notes.add(&analysis.get("stepWeights").unwrap_or_else(|| analysis.clone()), "with stepWeight set, Flagger steps by stepWeight and takes only the maximum from stepWeights' last value");
                        Some(((*last).min(100), src_of("stepWeights")))
                    }
                    None if max_weight > 0 => Some((max_weight, src_of("maxWeight"))),
                    None => None,
                };
                if let Some((m, src)) = max {
                    entries.push(Entry { key: "max_weight", value: Value::Int(m), source: src });
                }
            }
            Some(_) => {
                entries.push(Entry { key: "step_weights", value: Value::Ints(sw.clone()), source: src_of("stepWeights") });
                if let Some(n) = analysis.get("maxWeight") {
                    notes.add(&n, "maxWeight is not used with stepWeights (Flagger's maximum is the last step weight); ignored");
                }
            }
            None => notes.add(&analysis, "neither stepWeight nor stepWeights moves traffic, so no rollout is imported (the scenario's [rollout] applies)"),
        }
        if entries.iter().any(|e| e.key.starts_with("step_weight")) {
            header.push("the canary weight advances one step per passing check (runCanary); a failed check holds it; at the maximum weight the next passing check promotes".into());
        }
    }
    for k in ["mirror", "mirrorWeight"] {
        if let Some(n) = analysis.get(k) {
            notes.add(&n, "traffic mirroring is not modelled; ignored");
        }
    }
    if let Some(n) = analysis.get("stepWeightPromotion") {
        notes.add(&n, "gradual promotion shifts traffic between two copies of the new version: no effect on what rollsim simulates; ignored");
    }
    for w in analysis
        .get("webhooks")
        .map(|w| w.items())
        .unwrap_or_default()
    {
        let name = w.get("name").and_then(|n| n.text()).unwrap_or_default();
        let ty = w
            .get("type")
            .and_then(|n| n.text())
            .unwrap_or_else(|| "rollout".into());
        notes.skip(&w, format!("webhook {name:?} (type {ty}) is not modelled (no load tests, gates or manual rollback in rollsim); ignored"));
    }
    for a in analysis
        .get("alerts")
        .map(|a| a.items())
        .unwrap_or_default()
    {
        notes.skip(&a, "alerts only notify: no effect on the decision; ignored");
    }
    if let Some(s) = analysis.get("sessionAffinity") {
        notes.skip(&s, "session affinity is not modelled; ignored");
    }
    header.push("a check fails when the new version's success rate is below the minimum, its p99 above the maximum, or a metric has no data; the rollback comes at the tick after `threshold` failed checks, counted over the whole analysis".into());
    Ok(Imported::new(&doc.name, "flagger", header, entries, None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::test_support::{get, ok};
    use crate::import::{import_str, ImportError};

    #[test]
    fn interval_and_threshold_defaults_follow_canary_go() {
        assert_eq!(interval_ms(None).0, 60_000);
        assert_eq!(interval_ms(Some("5s")).0, 10_000);
        assert_eq!(interval_ms(Some("bogus")).0, 60_000);
        assert_eq!(interval_ms(Some("2m")), (120_000, None));
        assert_eq!(effective_threshold(0), 1);
        assert_eq!(effective_threshold(-3), 1);
        assert_eq!(effective_threshold(5), 5);
    }

    #[test]
    fn weights_follow_the_scheduler() {
        assert_eq!(weights(10, &[], 50), Some(vec![10, 20, 30, 40, 50]));
        assert_eq!(
            weights(30, &[], 50),
            Some(vec![30, 60]),
            "runCanary caps at 100, not maxWeight"
        );
        assert_eq!(weights(25, &[], 0), Some(vec![25, 50, 75, 100]));
        assert_eq!(weights(0, &[1, 5, 10, 50], 0), Some(vec![1, 5, 10, 50]));
        assert_eq!(weights(0, &[10, 100], 80), Some(vec![10, 100]));
        assert_eq!(weights(0, &[], 50), None);
        assert_eq!(weights(i64::MAX, &[], 0), Some(vec![100]), "no overflow");
        assert_eq!(weights(0, &[i64::MIN, 50], 0), None);
    }

    const CANARY: &str = r#"
apiVersion: flagger.app/v1beta1
kind: Canary
metadata:
  name: podinfo
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
  progressDeadlineSeconds: 60
  service:
    port: 9898
  analysis:
    interval: 5s
    threshold: 0
    maxWeight: 50
    stepWeight: 10
    metrics:
    - name: request-success-rate
      thresholdRange:
        min: 99
      interval: 1m
    - name: request-duration
      thresholdRange:
        max: 500.5
      interval: 30s
    webhooks:
    - name: load-test
      url: http://flagger-loadtester.test/
"#;

    #[test]
    fn a_canary_maps_with_flaggers_clamps() {
        let i = ok(CANARY);
        assert_eq!(i.kind, "flagger");
        assert_eq!(get(&i, "interval"), Some(&Value::Dur(10_000)));
        assert_eq!(get(&i, "threshold"), Some(&Value::Int(1)));
        assert_eq!(
            get(&i, "request_success_rate_min"),
            Some(&Value::Float(99.0))
        );
        assert_eq!(get(&i, "request_duration_p99_max"), Some(&Value::Dur(500)));
        assert_eq!(get(&i, "metric_interval"), Some(&Value::Dur(60_000)));
        // the traffic keys as Flagger's, no time-based steps
        assert!(i.steps.is_none());
        assert_eq!(get(&i, "step_weight"), Some(&Value::Int(10)));
        assert_eq!(get(&i, "max_weight"), Some(&Value::Int(50)));
        let text = i.to_toml();
        assert!(text.contains("step_weight = 10 "), "{text}");
        let notes = i.rendered_notes().join("\n");
        for want in [
            "field spec.progressDeadlineSeconds:",
            "field spec.analysis.webhooks[0]: webhook \"load-test\"",
            "field spec.analysis.metrics[1].interval: metric \"request-duration\" queries over 30s",
        ] {
            assert!(notes.contains(want), "missing {want:?} in\n{notes}");
        }
    }

    #[test]
    fn blue_green_and_custom_metrics_are_reported() {
        let y = "kind: Canary\nmetadata: {name: bg}\nspec:\n  analysis:\n    interval: 1m\n    iterations: 5\n    metrics:\n    - name: error-rate\n      templateRef: {name: error-rate}\n      thresholdRange: {max: 1}\n    - name: request-success-rate\n      threshold: 99\n";
        let i = ok(y);
        assert!(i.steps.is_none());
        assert_eq!(get(&i, "iterations"), Some(&Value::Int(6)));
        assert_eq!(
            get(&i, "request_success_rate_min"),
            Some(&Value::Float(99.0))
        );
        let notes = i.rendered_notes().join("\n");
        assert!(
            notes.contains("field spec.analysis.iterations: Blue/Green checks 5 iterations"),
            "{notes}"
        );
        assert!(
            notes.contains(
                "field spec.analysis.metrics[0].templateRef: metric \"error-rate\": custom metrics"
            ),
            "{notes}"
        );
    }

    #[test]
    fn nothing_usable_is_an_error() {
        let y = "kind: Canary\nmetadata: {name: x}\nspec:\n  analysis:\n    metrics:\n    - name: cpu\n      templateRef: {name: cpu}\n";
        assert!(matches!(
            import_str(y, "c.yaml"),
            Err(ImportError::Unusable { .. })
        ));
        let y = "kind: Canary\nmetadata: {name: x}\nspec:\n  skipAnalysis: true\n  analysis: {}\n";
        assert!(matches!(
            import_str(y, "c.yaml"),
            Err(ImportError::Unusable { .. })
        ));
    }
}
