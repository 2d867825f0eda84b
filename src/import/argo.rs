//! Argo Rollouts → `argo_analysis`.
//!
//! # What is read (argoproj/argo-rollouts, `pkg/apis/rollouts/v1alpha1`)
//!
//! From `analysis_types.go`: `AnalysisTemplate` / `ClusterAnalysisTemplate` `spec.metrics[]`
//! (`Metric`: `name`, `interval`, `initialDelay`, `count`, `successCondition`,
//! `failureCondition`, `failureLimit`, `inconclusiveLimit`, `consecutiveErrorLimit`,
//! `consecutiveSuccessLimit`, `provider.prometheus.query`), `spec.args` (defaults for
//! `{{args.NAME}}`), `spec.dryRun` (dry-run metrics never change the run's phase:
//! `analysis/analysis.go: assessRunStatus`, so they are skipped) and `spec.templates`
//! (nested templates). The limits are `IntOrString`, so `"3"` and `"{{args.limit}}"` work.
//! `EffectiveCount`: no `count` and no `interval` is one measurement; `interval` alone
//! measures until the run ends. `utils/analysis/factory.go: ValidateMetric` rejects
//! `count < failureLimit + consecutiveSuccessLimit` and both limits disabled; such a metric
//! is skipped with Argo's reason.
//!
//! From `types.go`: `Rollout` `spec.strategy.canary.steps[]` (`CanaryStep`: `setWeight`,
//! `pause.duration` as `RolloutPause.DurationSeconds` reads it: an integer or a unit-less
//! string is seconds, otherwise a Go duration truncated to whole seconds; no duration waits
//! for a person), `steps[].analysis` and `canary.analysis` (`RolloutAnalysis`: `templates[]`
//! with `templateName` and `clusterScope`, `args`, `dryRun`; the background analysis also
//! has `startingStep`, before which `utils/replicaset/canary.go: BeforeStartingStep` keeps
//! it from running: imported as `initial_delay`). After the last step the rollout is
//! promoted to 100% (`GetCurrentSetWeight` returns the maximum weight once the steps are
//! done). A step analysis becomes `analysis = true` on the step of its weight (the rollout
//! waits for its AnalysisRun: `rollout/canary.go: completedCurrentCanaryStep`) and a pause
//! without a duration `approval = true` (`reconcileCanaryPause` waits for a person). `blueGreen.prePromotionAnalysis` / `postPromotionAnalysis` templates are read too.
//!
//! # Mapping
//!
//! Each metric's Prometheus query is read by [`super::promql`] and each condition by
//! [`super::condition`]; `result <op> x` becomes a rollsim threshold by [`threshold`]. A
//! success ratio `S >= 0.95` is the error ratio `E <= 0.05`; rollsim's conditions are strict
//! (`E < below`, `E > above`), so `<=` is written as `<` the next float up (the very same
//! test on any float). rollsim's `argo_analysis` has at most one error-rate metric and one
//! p99 metric sharing one set of limits: further metrics are skipped, and differing limits
//! are reported, with the first metric's used.
//!
//! # Not modelled (each is reported where it appears)
//!
//! Providers other than Prometheus (web, job, datadog, newRelic, wavefront, kayenta,
//! cloudWatch, graphite, influxdb, skywalking, plugins), conditions other than one
//! comparison (plus a no-data guard, whose different no-data rule is reported), latency
//! quantiles other than p99, background and step analyses together (rollsim's policy runs
//! one metric set, so with step analyses the background analysis's metrics join them),
//! two gates at one weight, `setCanaryScale`, `setHeaderRoute`, `setMirrorRoute`, experiments, step plugins,
//! traffic routing, the progress deadline, and everything about pods and services.

use super::condition::{self, Cmp, Condition, Guard};
use super::promql::{self, Measure};
use super::yaml::Node;
use super::{format_ms, go_duration_ms, Doc, Entry, Imported, Notes, Pos, Step, Unusable, Value};
use crate::scenario::StepGate;
use std::collections::BTreeMap;

/// Which rollsim signal a metric measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    ErrorRate,
    LatencyP99,
}

/// A condition turned into a rollsim key and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    pub signal: Signal,
    pub key: &'static str,
    pub value: Value,
    /// How the value follows from the condition.
    pub how: String,
    /// Where rollsim's test differs from Argo's, if it does.
    pub differs: Vec<String>,
}

/// The next float above `x` (so that `v <= x` is exactly `v < next_up(x)`).
fn next_up(x: f64) -> f64 {
    if x.is_nan() || x == f64::INFINITY {
        return x;
    }
    if x == 0.0 {
        return f64::from_bits(1);
    }
    let b = x.to_bits();
    f64::from_bits(if x > 0.0 { b + 1 } else { b - 1 })
}

fn next_down(x: f64) -> f64 {
    -next_up(-x)
}

/// Rounds to 12 significant digits, to undo float noise such as 1 − 0.95.
fn tidy(x: f64) -> f64 {
    format!("{x:.11e}").parse().unwrap_or(x)
}

/// Turns `result <op> threshold` on a query measuring `measure` into a rollsim threshold;
/// `success` says whether it is the `successCondition`.
pub fn threshold(measure: Measure, success: bool, c: &Condition) -> Result<Mapped, String> {
    let role = if success {
        "successCondition"
    } else {
        "failureCondition"
    };
    let mut differs = Vec::new();
    let guard_text = match c.guard {
        Guard::None => None,
        Guard::EmptyIsTrue => Some(("an empty result", true)),
        Guard::NanIsTrue => Some(("a NaN result (0/0: no requests)", true)),
        Guard::EmptyIsFalse => Some(("an empty result", false)),
        Guard::NanIsFalse => Some(("a NaN result (0/0: no requests)", false)),
    };
    if let Some((what, holds)) = guard_text {
        let effect = match (success, holds) {
            (true, true) => "is a success",
            (false, true) => "is a failure",
            (true, false) => "is a failure",
            (false, false) => "is a success (or Inconclusive)",
        };
        differs.push(format!(
            "with its no-data guard, {what} {effect} in Argo; rollsim measures an interval without requests as an Error (consecutiveErrorLimit applies)"
        ));
    }
    let (op, t, what) = match measure {
        Measure::ErrorRatio { scale } => {
            let t = if scale == 1.0 {
                c.threshold
            } else {
                tidy(c.threshold / scale)
            };
            (c.op, t, "an error ratio")
        }
        Measure::SuccessRatio { scale } => {
            let y = c.threshold / scale;
            let flipped = match c.op {
                Cmp::Ge => Cmp::Le,
                Cmp::Gt => Cmp::Lt,
                Cmp::Le => Cmp::Ge,
                Cmp::Lt => Cmp::Gt,
            };
            (flipped, tidy(1.0 - y), "a success ratio")
        }
        Measure::Latency { quantile, to_ms } => {
            if (quantile - 0.99).abs() > 1e-9 {
                return Err(format!(
                    "rollsim's latency signal is the p99; a {} latency is not modelled",
                    promql::quantile_name(quantile)
                ));
            }
            let ms = c.threshold * to_ms;
            let (key, ok) = if success {
                (
                    "success_latency_p99_below",
                    matches!(c.op, Cmp::Lt | Cmp::Le),
                )
            } else {
                (
                    "failure_latency_p99_above",
                    matches!(c.op, Cmp::Gt | Cmp::Ge),
                )
            };
            if !ok {
                return Err(format!(
                    "a {role} that {} on a high latency cannot be modelled",
                    if success { "passes" } else { "fails" }
                ));
            }
            let whole = ms.round();
            if whole > super::MAX_MS as f64 {
                return Err(format!(
                    "a latency limit of {ms} ms is out of range (over 10 years)"
                ));
            }
            if whole < 1.0 {
                return Err(format!(
                    "a latency limit of {ms} ms is below rollsim's 1 ms resolution"
                ));
            }
            if (ms - whole).abs() > 1e-9 {
                differs.push(format!("{ms} ms is rounded to {whole} ms (rollsim's latency limits are whole milliseconds)"));
            }
            if matches!(c.op, Cmp::Le | Cmp::Ge) {
                differs.push(format!(
                    "`{}` is read as `{}`: rollsim's latency limits are strict; they differ only at exactly {whole} ms",
                    c.op.symbol(),
                    if success { "<" } else { ">" }
                ));
            }
            return Ok(Mapped {
                signal: Signal::LatencyP99,
                key,
                value: Value::Dur(whole as u64),
                how: format!(
                    "{role} on a p99 latency: p99 {} {whole} ms",
                    if success { "<" } else { ">" }
                ),
                differs,
            });
        }
    };
    let (key, value, rel) = match (success, op) {
        (true, Cmp::Lt) => ("success_error_rate_below", t, format!("< {t}")),
        (true, Cmp::Le) => (
            "success_error_rate_below",
            next_up(t),
            format!("<= {t}, written as < the next float up"),
        ),
        (false, Cmp::Gt) => ("failure_error_rate_above", t, format!("> {t}")),
        (false, Cmp::Ge) => (
            "failure_error_rate_above",
            next_down(t),
            format!(">= {t}, written as > the next float down"),
        ),
        _ => {
            return Err(format!(
                "a {role} that {} on a high error ratio cannot be modelled",
                if success { "passes" } else { "fails" }
            ))
        }
    };
    if success && value > 1.0 {
        return Err(format!(
            "it always holds (error ratio {rel}; a ratio is at most 1)"
        ));
    }
    if !success && value < 0.0 {
        return Err(format!(
            "it always holds (error ratio {rel}; a ratio is at least 0)"
        ));
    }
    if !(0.0..=1.0).contains(&value) {
        return Err(format!("error ratio {rel} is outside [0, 1]"));
    }
    Ok(Mapped {
        signal: Signal::ErrorRate,
        key,
        value: Value::Float(value),
        how: format!("{role} on {what}: error ratio {rel}"),
        differs,
    })
}

/// `RolloutPause.DurationSeconds`: `None` for a pause without a duration (indefinite).
pub fn pause_ms(p: &Node<'_, '_>) -> Result<Option<u64>, String> {
    let Some(d) = p.get("duration") else {
        return Ok(None);
    };
    if let Some(i) = d.int() {
        return u64::try_from(i)
            .ok()
            .and_then(|s| s.checked_mul(1000))
            .map(Some)
            .ok_or_else(|| format!("pause duration {i} is out of range"));
    }
    let s = d.text().unwrap_or_default();
    if let Ok(secs) = s.trim().parse::<u64>() {
        return secs
            .checked_mul(1000)
            .map(Some)
            .ok_or_else(|| format!("pause duration {secs} is out of range"));
    }
    let ms = go_duration_ms(&s).or_else(|e| {
        // A Go duration finer than a millisecond still truncates to whole seconds.
        if e.contains("finer") {
            Ok(0)
        } else {
            Err(e)
        }
    })?;
    Ok(Some(ms / 1000 * 1000))
}

/// Arguments by name: `Some(value)` or `None` when given by `valueFrom` or not at all.
type Args = BTreeMap<String, Option<String>>;

fn read_args(list: Option<Node<'_, '_>>, into: &mut Args) {
    for a in list.map(|l| l.items()).unwrap_or_default() {
        let Some(name) = a.get("name").and_then(|n| n.text()) else {
            continue;
        };
        let value = a.get("value").and_then(|v| v.text());
        a.get("valueFrom");
        if value.is_some() || !into.contains_key(&name) {
            into.insert(name, value);
        }
    }
}

/// Substitutes `{{args.NAME}}` (and `{{ args.NAME }}`).
fn substitute(s: &str, args: &Args) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find("}}") else {
            out.push_str(&rest[i..]);
            return Ok(out);
        };
        let inner = rest[i + 2..i + j].trim();
        match inner.strip_prefix("args.") {
            Some(name) => match args.get(name) {
                Some(Some(v)) => out.push_str(v),
                _ => return Err(format!("argument {name:?} has no value in this file")),
            },
            None => out.push_str(&rest[i..i + j + 2]),
        }
        rest = &rest[i + j + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// An `IntOrString` field as an integer.
fn int_or_string(n: &Node<'_, '_>, args: &Args) -> Result<i64, String> {
    if let Some(i) = n.int() {
        return Ok(i);
    }
    let s = substitute(&n.text().unwrap_or_default(), args)?;
    s.trim()
        .parse()
        .map_err(|_| format!("{s:?} is not an integer"))
}

/// A template referenced from the Rollout (or every template when there is no Rollout).
struct Ref<'a, 't> {
    name: String,
    cluster: bool,
    at: Node<'a, 't>,
    args: Args,
    dry_run: Vec<String>,
    /// `Some(why)` when the analysis is not a background analysis (a step or blue-green).
    approx: Option<String>,
}

/// A metric that rollsim can model.
struct Usable<'a, 't> {
    node: Node<'a, 't>,
    label: String,
    signal: Signal,
    conditions: Vec<(Mapped, String)>,
    limits: Vec<Entry>,
}

fn lines(n: &Node<'_, '_>) -> String {
    format!("{} (line {})", n.path, n.pos.line)
}

/// Whether a `dryRun` rule names the metric (Go `regexp.MatchString`, unanchored; "*" is
/// the documented wildcard).
fn dry_run_matches(rule: &str, metric: &str) -> Option<bool> {
    if rule == "*" || rule == ".*" {
        return Some(true);
    }
    if rule
        .chars()
        .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    {
        return Some(metric.contains(rule));
    }
    None
}

/// Reads one metric; `Err` means skipped (the note is already written).
fn metric<'a, 't>(
    m: &Node<'a, 't>,
    template: &str,
    args: &Args,
    dry_run: &[String],
    notes: &mut Notes,
) -> Option<Usable<'a, 't>> {
    let name = m.get("name").and_then(|n| n.text()).unwrap_or_default();
    let label = format!("metric {name:?} of template {template:?}");
    for rule in dry_run {
        match dry_run_matches(rule, &name) {
            Some(true) => {
                notes.skip(
                    m,
                    format!("{label} runs in dry-run mode (dryRun {rule:?}): its results never change the analysis; this metric is skipped"),
                );
                return None;
            }
            Some(false) => {}
            None => notes.add(
                m,
                format!("dryRun pattern {rule:?} is a regular expression rollsim does not evaluate; {label} is imported as not dry-run"),
            ),
        }
    }
    let Some(provider) = m.get("provider") else {
        notes.skip(
            m,
            format!("{label} has no provider; this metric is skipped"),
        );
        return None;
    };
    let Some(prom) = provider.get("prometheus") else {
        let kind = provider.keys().into_iter().next().unwrap_or_default();
        let at = provider.get(&kind).unwrap_or_else(|| provider.clone());
        let what = match kind.as_str() {
            "newRelic" => "New Relic".to_string(),
            "cloudWatch" => "CloudWatch".to_string(),
            "" => "empty".to_string(),
            k => k.to_string(),
        };
        notes.add(
            &at,
            format!("{what} metric providers are not modelled; this metric is skipped"),
        );
        m.read_whole();
        return None;
    };
    let Some(q) = prom.get("query") else {
        notes.skip(m, format!("{label} has no query; this metric is skipped"));
        return None;
    };
    let reading = match promql::classify(&q.text().unwrap_or_default()) {
        Ok(r) => r,
        Err(why) => {
            notes.add(
                &q,
                format!("the query is not one rollsim can model: {why}; this metric is skipped"),
            );
            m.read_whole();
            return None;
        }
    };
    let mut conditions = Vec::new();
    for (key, success) in [("successCondition", true), ("failureCondition", false)] {
        let Some(cn) = m.get(key) else { continue };
        let text = cn.text().unwrap_or_default();
        let mapped = condition::parse(&text).and_then(|c| threshold(reading.measure, success, &c));
        match mapped {
            Ok(mp) => {
                for d in &mp.differs {
                    notes.add(&cn, format!("`{text}`: {d}"));
                }
                let src = format!(
                    "{label}: {} `{text}`; the query is {}",
                    lines(&cn),
                    reading.why
                );
                conditions.push((mp, src));
            }
            Err(why) => {
                notes.add(
                    &cn,
                    format!("`{text}` is not a condition rollsim can model: {why}; this metric is skipped"),
                );
                m.read_whole();
                return None;
            }
        }
    }
    if conditions.is_empty() {
        notes.skip(
            m,
            format!("{label} has neither successCondition nor failureCondition, so every measurement is Successful; this metric is skipped"),
        );
        return None;
    }
    let signal = conditions[0].0.signal;
    let limits = match limits(m, &label, args) {
        Ok(l) => l,
        Err((at, why)) => {
            notes.add(&at, format!("{why}; this metric is skipped"));
            m.read_whole();
            return None;
        }
    };
    Some(Usable {
        node: m.clone(),
        label,
        signal,
        conditions,
        limits,
    })
}

type Bad<'a, 't> = (Node<'a, 't>, String);

/// The limits of a metric as rollsim keys, checked as `ValidateMetric` does.
fn limits<'a, 't>(m: &Node<'a, 't>, label: &str, args: &Args) -> Result<Vec<Entry>, Bad<'a, 't>> {
    let mut out = Vec::new();
    let dur = |key: &str| -> Result<Option<(u64, Node<'a, 't>)>, Bad<'a, 't>> {
        let Some(n) = m.get(key) else { return Ok(None) };
        let s = substitute(&n.text().unwrap_or_default(), args).map_err(|e| (n.clone(), e))?;
        go_duration_ms(&s)
            .map(|ms| Some((ms, n.clone())))
            .map_err(|e| (n.clone(), e))
    };
    let int = |key: &str| -> Result<Option<(i64, Node<'a, 't>)>, Bad<'a, 't>> {
        let Some(n) = m.get(key) else { return Ok(None) };
        int_or_string(&n, args)
            .map(|v| Some((v, n.clone())))
            .map_err(|e| (n.clone(), e))
    };
    let interval = dur("interval")?;
    let initial = dur("initialDelay")?;
    let count = int("count")?;
    let failure = int("failureLimit")?;
    let inconclusive = int("inconclusiveLimit")?;
    let errors = int("consecutiveErrorLimit")?;
    let successes = int("consecutiveSuccessLimit")?;
    let v = |x: &Option<(i64, Node)>, d: i64| x.as_ref().map_or(d, |(v, _)| *v);
    let (c, f, i, s) = (
        v(&count, 0),
        v(&failure, 0),
        v(&inconclusive, 0),
        v(&successes, 0),
    );
    let fail_at =
        |x: &Option<(i64, Node<'a, 't>)>| x.as_ref().map_or_else(|| m.clone(), |(_, n)| n.clone());
    // utils/analysis/factory.go: ValidateMetric
    if s < 0 {
        return Err((
            fail_at(&successes),
            "Argo rejects it: consecutiveSuccessLimit must be >= 0".into(),
        ));
    }
    if f < -1 {
        return Err((
            fail_at(&failure),
            "Argo rejects it: failureLimit must be >= 0, or -1 to be disabled".into(),
        ));
    }
    if s == 0 && f == -1 {
        return Err((
            fail_at(&failure),
            "Argo rejects it: failureLimit and consecutiveSuccessLimit cannot both be disabled"
                .into(),
        ));
    }
    if i < 0 {
        return Err((
            fail_at(&inconclusive),
            "Argo rejects it: inconclusiveLimit must be >= 0".into(),
        ));
    }
    if v(&errors, 0) < 0 {
        return Err((
            fail_at(&errors),
            "Argo rejects it: consecutiveErrorLimit must be >= 0".into(),
        ));
    }
    if c > 0 {
        if f >= 0 && c < f + s {
            return Err((fail_at(&count), format!("Argo rejects it: count ({c}) must be >= failureLimit + consecutiveSuccessLimit ({f} + {s})")));
        }
        if f < 0 && c < s {
            return Err((
                fail_at(&count),
                "Argo rejects it: count must be >= consecutiveSuccessLimit".into(),
            ));
        }
        if c < i {
            return Err((
                fail_at(&count),
                "Argo rejects it: count must be >= inconclusiveLimit".into(),
            ));
        }
    }
    if c > 1 && interval.is_none() {
        return Err((
            fail_at(&count),
            "Argo rejects it: interval must be specified when count > 1".into(),
        ));
    }
    if c < 0 {
        return Err((fail_at(&count), format!("count = {c} is negative")));
    }
    let src = |n: &Node| format!("{label}: {}", lines(n));
    if let Some((ms, n)) = &interval {
        if *ms == 0 {
            return Err((n.clone(), "an interval of 0 is not modelled".into()));
        }
        out.push(Entry {
            key: "interval",
            value: Value::Dur(*ms),
            source: src(n),
        });
    }
    if let Some((ms, n)) = &initial {
        if *ms > 0 {
            out.push(Entry {
                key: "initial_delay",
                value: Value::Dur(*ms),
                source: src(n),
            });
        }
    }
    match (&count, &interval) {
        (Some((c, n)), _) if *c > 0 => out.push(Entry {
            key: "count",
            value: Value::Int(*c),
            source: src(n),
        }),
        (_, None) => out.push(Entry {
            key: "count",
            value: Value::Int(1),
            source: format!(
                "{label}: neither count nor interval, so one measurement (Metric.EffectiveCount)"
            ),
        }),
        _ => {}
    }
    for (key, x) in [
        ("failure_limit", &failure),
        ("inconclusive_limit", &inconclusive),
        ("consecutive_error_limit", &errors),
        ("consecutive_success_limit", &successes),
    ] {
        if let Some((v, n)) = x {
            out.push(Entry {
                key,
                value: Value::Int(*v),
                source: src(n),
            });
        }
    }
    Ok(out)
}

/// Reads the templates, args and dry-run rules of a `RolloutAnalysis`.
fn analysis_refs<'a, 't>(a: &Node<'a, 't>, approx: Option<String>, out: &mut Vec<Ref<'a, 't>>) {
    let mut args = Args::new();
    read_args(a.get("args"), &mut args);
    let dry_run: Vec<String> = a
        .get("dryRun")
        .map(|d| d.items())
        .unwrap_or_default()
        .iter()
        .filter_map(|r| r.get("metricName").and_then(|n| n.text()))
        .collect();
    for t in a.get("templates").map(|t| t.items()).unwrap_or_default() {
        let name = t
            .get("templateName")
            .and_then(|n| n.text())
            .unwrap_or_default();
        let cluster = t
            .get("clusterScope")
            .and_then(|c| c.bool())
            .unwrap_or(false);
        out.push(Ref {
            name,
            cluster,
            at: t.clone(),
            args: args.clone(),
            dry_run: dry_run.clone(),
            approx: approx.clone(),
        });
    }
}

/// The canary steps; also fills the background analysis refs and its starting delay.
fn canary<'a, 't>(
    c: &Node<'a, 't>,
    refs: &mut Vec<Ref<'a, 't>>,
    notes: &mut Notes,
    initial_delay: &mut Option<(u64, String)>,
    step_analyses: &mut usize,
) -> Option<Vec<Step>> {
    let mut steps: Vec<Step> = Vec::new();
    let mut weight = 0i64;
    let mut elapsed = 0u64;
    let mut start_at: Vec<u64> = Vec::new(); // elapsed time at each Argo step index
    let list = c.get("steps");
    for s in list.as_ref().map(|l| l.items()).unwrap_or_default() {
        start_at.push(elapsed);
        for key in s.keys() {
            let Some(f) = s.get(&key) else { continue };
            match key.as_str() {
                "setWeight" => match f.int() {
                    Some(w) if w > weight && w <= 100 => {
                        weight = w;
                        steps.push(Step {
                            weight: w,
                            pause_ms: 0,
                            gate: StepGate::None,
                            source: format!("{} {w}", lines(&f)),
                        });
                    }
                    Some(w) => notes.add(
                        &f,
                        format!("setWeight {w} does not raise the weight (now {weight}%); rollsim's canary weights only increase, so this step is not imported"),
                    ),
                    None => notes.add(&f, "setWeight is not an integer; this step is not imported"),
                },
                "pause" => match pause_ms(&f) {
                    Ok(Some(ms)) => {
                        elapsed = elapsed.saturating_add(ms);
                        match steps.last_mut() {
                            Some(last) => {
                                if last.gate != StepGate::None {
                                    notes.add(&f, "this pause follows a step analysis or an indefinite pause at the same weight; rollsim holds a step's pause before its gate, so it is imported before it");
                                }
                                last.pause_ms = last.pause_ms.saturating_add(ms);
                                last.source.push_str(&format!(", {} {}", lines(&f), format_ms(ms)));
                            }
                            None => notes.add(
                                &f,
                                "a pause before the first setWeight holds the canary at 0% traffic; rollsim starts the first step at once, so this pause is not imported",
                            ),
                        }
                    }
                    Ok(None) => match steps.last_mut() {
                        Some(last) if last.gate == StepGate::None => {
                            last.gate = StepGate::Approval;
                            last.source.push_str(&format!(", {}: a person promotes (approval)", lines(&f)));
                        }
                        Some(_) => notes.add(
                            &f,
                            "a rollsim step waits for one gate and this weight already has one; this pause without a duration is not imported",
                        ),
                        None => notes.add(
                            &f,
                            "a pause without a duration before the first setWeight holds the canary at 0% traffic; not imported",
                        ),
                    },
                    Err(e) => notes.add(&f, format!("{e}; this pause is not imported")),
                },
                "analysis" => match steps.last_mut() {
                    Some(last) if last.gate == StepGate::None => {
                        last.gate = StepGate::Analysis;
                        last.source.push_str(&format!(", {}: a step analysis gates the step", lines(&f)));
                        *step_analyses += 1;
                        analysis_refs(&f, None, refs);
                    }
                    Some(_) => analysis_refs(
                        &f,
                        Some(format!("{}: a rollsim step waits for one gate and this weight already has one; this analysis's metrics are measured in the step's other analysis", f.path)),
                        refs,
                    ),
                    None => analysis_refs(
                        &f,
                        Some(format!("{}: a step analysis before the first setWeight measures a canary without traffic; rollsim does not gate on it and measures its metrics in the other analyses", f.path)),
                        refs,
                    ),
                },
                "setCanaryScale" => notes.skip(&f, "scaling the canary apart from its traffic weight is not modelled; ignored"),
                "setHeaderRoute" => notes.skip(&f, "header-based routing is not modelled: rollsim routes by weight only; ignored"),
                "setMirrorRoute" => notes.skip(&f, "traffic mirroring is not modelled; ignored"),
                "experiment" => notes.skip(&f, "experiments are not modelled; ignored"),
                "plugin" => notes.skip(&f, "step plugins are not modelled; ignored"),
                _ => {}
            }
        }
    }
    if let Some(bg) = c.get("analysis") {
        let approx = (*step_analyses > 0).then(|| format!("{}: rollsim's argo_analysis runs either step analyses or a background analysis; with step analyses in the steps, the background analysis's metrics are measured in the step analyses instead", bg.path));
        analysis_refs(&bg, approx, refs);
        if let Some(ss) = bg.get("startingStep").filter(|_| *step_analyses == 0) {
            match ss.int() {
                Some(i) if i > 0 => {
                    let idx = usize::try_from(i).unwrap_or(usize::MAX);
                    let at = start_at.get(idx).copied().unwrap_or(elapsed);
                    *initial_delay = Some((
                        at,
                        format!("{} {i}: the background analysis starts when step {i} starts, the pauses before it added up", lines(&ss)),
                    ));
                }
                _ => {}
            }
        }
    }
    if steps.is_empty() {
        if let Some(l) = list {
            notes.add(&l, "no step sets a traffic weight, so no rollout is imported (the scenario's [rollout] applies)");
        }
        return None;
    }
    if weight < 100 {
        steps.push(Step {
            weight: 100,
            pause_ms: 0,
            gate: StepGate::None,
            source: "after the last step Argo Rollouts promotes the new version to 100%".into(),
        });
    }
    Some(steps)
}

/// Imports the Argo documents of a file.
pub(crate) fn import(docs: &[Doc], notes: &mut Notes) -> Result<Imported, Unusable> {
    let rollout = docs.iter().find(|d| d.kind == "Rollout");
    let mut refs: Vec<Ref> = Vec::new();
    let mut steps = None;
    let mut initial_delay = None;
    let mut step_analyses = 0;
    let mut header = Vec::new();
    let name;
    let anchor: Pos;
    if let Some(r) = rollout {
        r.used.set(true);
        name = r.name.clone();
        anchor = r.node.pos;
        let strategy = r.node.get("spec").and_then(|s| s.get("strategy"));
        if let Some(c) = strategy.as_ref().and_then(|s| s.get("canary")) {
            steps = canary(&c, &mut refs, notes, &mut initial_delay, &mut step_analyses);
        } else if let Some(bg) = strategy.as_ref().and_then(|s| s.get("blueGreen")) {
            for key in ["prePromotionAnalysis", "postPromotionAnalysis"] {
                if let Some(a) = bg.get(key) {
                    analysis_refs(
                        &a,
                        Some(format!("{}: blue-green analysis is imported as background analysis from the deploy; no rollout is imported (the scenario's [rollout] applies)", a.path)),
                        &mut refs,
                    );
                }
            }
        }
        header.push(format!(
            "Argo Rollouts Rollout {:?}: its analysis as one AnalysisRun",
            r.name
        ));
    } else {
        let first = docs
            .iter()
            .find(|d| d.kind.ends_with("AnalysisTemplate"))
            .ok_or(Unusable {
                pos: Pos { line: 1, col: 1 },
                message: "no AnalysisTemplate, ClusterAnalysisTemplate or Rollout".into(),
            })?;
        name = first.name.clone();
        anchor = first.node.pos;
        for d in docs.iter().filter(|d| d.kind.ends_with("AnalysisTemplate")) {
            refs.push(Ref {
                name: d.name.clone(),
                cluster: d.kind == "ClusterAnalysisTemplate",
                at: d.node.clone(),
                args: Args::new(),
                dry_run: Vec::new(),
                approx: None,
            });
        }
        header.push("Argo Rollouts analysis templates of this file, as one AnalysisRun".into());
    }

    // Resolve the templates (and nested `spec.templates`) into metrics.
    let mut usable: Vec<Usable> = Vec::new();
    let mut seen: Vec<(String, bool)> = Vec::new();
    let mut queue: Vec<Ref> = refs;
    queue.reverse();
    while let Some(r) = queue.pop() {
        let kind = if r.cluster {
            "ClusterAnalysisTemplate"
        } else {
            "AnalysisTemplate"
        };
        if let Some(why) = &r.approx {
            notes.add(&r.at, why.clone());
        }
        if seen.contains(&(r.name.clone(), r.cluster)) {
            continue;
        }
        seen.push((r.name.clone(), r.cluster));
        let Some(t) = docs.iter().find(|d| d.kind == kind && d.name == r.name) else {
            notes.add(
                &r.at,
                format!(
                    "{kind} {:?} is not in this file; its metrics are not imported",
                    r.name
                ),
            );
            continue;
        };
        t.used.set(true);
        let Some(spec) = t.node.get("spec") else {
            continue;
        };
        let mut args = Args::new();
        read_args(spec.get("args"), &mut args);
        for (k, v) in &r.args {
            if v.is_some() || !args.contains_key(k) {
                args.insert(k.clone(), v.clone());
            }
        }
        let mut dry_run = r.dry_run.clone();
        for d in spec.get("dryRun").map(|d| d.items()).unwrap_or_default() {
            if let Some(n) = d.get("metricName").and_then(|n| n.text()) {
                dry_run.push(n);
            }
        }
        for m in spec.get("metrics").map(|m| m.items()).unwrap_or_default() {
            if let Some(u) = metric(&m, &r.name, &args, &dry_run, notes) {
                usable.push(u);
            }
        }
        for nested in spec.get("templates").map(|t| t.items()).unwrap_or_default() {
            queue.push(Ref {
                name: nested
                    .get("templateName")
                    .and_then(|n| n.text())
                    .unwrap_or_default(),
                cluster: nested
                    .get("clusterScope")
                    .and_then(|c| c.bool())
                    .unwrap_or(false),
                at: nested.clone(),
                args: args.clone(),
                dry_run: dry_run.clone(),
                approx: None,
            });
        }
    }

    // One metric per signal; the first metric's limits.
    let mut chosen: Vec<&Usable> = Vec::new();
    for u in &usable {
        if let Some(first) = chosen.iter().find(|c| c.signal == u.signal) {
            notes.add(
                &u.node,
                format!(
                    "rollsim's argo_analysis has one {} metric ({} is used); {} is skipped",
                    if u.signal == Signal::ErrorRate {
                        "error-rate"
                    } else {
                        "p99"
                    },
                    first.label,
                    u.label
                ),
            );
            continue;
        }
        if let Some(first) = chosen.first() {
            let differ = |e: &Entry| {
                !first
                    .limits
                    .iter()
                    .any(|f| f.key == e.key && f.value == e.value)
            };
            let missing = |f: &Entry| !u.limits.iter().any(|e| e.key == f.key);
            for e in u.limits.iter().filter(|e| differ(e)) {
                notes.add(&u.node, format!("{}: `{}` differs from {}; rollsim's argo_analysis shares one set of limits, so the first metric's are used", u.label, e.key, first.label));
            }
            for f in first.limits.iter().filter(|f| missing(f)) {
                notes.add(&u.node, format!("{}: `{}` is unset but set by {}; rollsim's argo_analysis shares one set of limits, so the first metric's are used", u.label, f.key, first.label));
            }
        }
        chosen.push(u);
    }
    let Some(first) = chosen.first() else {
        return Err(Unusable {
            pos: anchor,
            message: "nothing rollsim can model remains: no metric is a Prometheus error ratio, success ratio or p99 latency with a condition rollsim can read".into(),
        });
    };
    let mut entries = vec![Entry {
        key: "kind",
        value: Value::Str("argo_analysis".into()),
        source: "Argo Rollouts AnalysisRun".into(),
    }];
    entries.extend(first.limits.iter().cloned());
    if let Some((ms, src)) = initial_delay {
        let own = entries.iter().position(|e| e.key == "initial_delay");
        let base = own.and_then(|i| match entries[i].value {
            Value::Dur(d) => Some(d),
            _ => None,
        });
        let total = ms.saturating_add(base.unwrap_or(0));
        if total > 0 {
            let source = match base {
                Some(_) => format!("{src}, plus the metric's initialDelay"),
                None => src,
            };
            let e = Entry {
                key: "initial_delay",
                value: Value::Dur(total),
                source,
            };
            match own {
                Some(i) => entries[i] = e,
                None => entries.push(e),
            }
        }
    }
    for u in &chosen {
        for (m, src) in &u.conditions {
            entries.push(Entry {
                key: m.key,
                value: m.value.clone(),
                source: format!("{}; {}", m.how, src),
            });
        }
    }
    let metrics: Vec<&str> = chosen.iter().map(|u| u.label.as_str()).collect();
    header.push(format!("measured: {}", metrics.join(", ")));
    header.push("each measurement is Successful, Failed, Inconclusive or Error as Argo classifies it; Failed or Error aborts (rollback); Inconclusive pauses for a person, and `on_inconclusive` (default \"hold\") says what that person does".into());
    if step_analyses > 0 {
        header.push("step analyses: an AnalysisRun starts when its step's pause ends and the rollout waits for it (Successful: next step; Failed or Error: abort; Inconclusive: pause); no background analysis runs".into());
    }
    Ok(Imported {
        origin: String::new(),
        name: if name.is_empty() {
            "imported".into()
        } else {
            name
        },
        kind: "argo_analysis",
        header,
        entries,
        steps,
        notes: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::test_support::{get, ok};
    use crate::import::{import_str, ImportError};

    fn cond(s: &str) -> Condition {
        match condition::parse(s) {
            Ok(c) => c,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    fn map(m: Measure, success: bool, s: &str) -> Result<(&'static str, Value), String> {
        threshold(m, success, &cond(s)).map(|x| (x.key, x.value))
    }

    const ERR: Measure = Measure::ErrorRatio { scale: 1.0 };
    const OK: Measure = Measure::SuccessRatio { scale: 1.0 };
    const OK_PCT: Measure = Measure::SuccessRatio { scale: 100.0 };
    const P99_S: Measure = Measure::Latency {
        quantile: 0.99,
        to_ms: 1000.0,
    };

    #[test]
    fn error_ratio_conditions_map_to_strict_rollsim_conditions() {
        assert_eq!(
            map(ERR, true, "result[0] < 0.05"),
            Ok(("success_error_rate_below", Value::Float(0.05)))
        );
        assert_eq!(
            map(ERR, false, "result[0] > 0.1"),
            Ok(("failure_error_rate_above", Value::Float(0.1)))
        );
        let Ok((_, Value::Float(b))) = map(ERR, true, "result[0] <= 0.05") else {
            panic!()
        };
        assert!(b > 0.05 && b < 0.050_000_000_001, "{b}");
        // `<= 0` must still pass a measurement with no errors.
        let Ok((_, Value::Float(z))) = map(ERR, true, "result[0] <= 0") else {
            panic!()
        };
        assert!(0.0 < z && z < 1e-300);
        assert!(map(ERR, true, "result[0] > 0.05").is_err());
        assert!(map(ERR, false, "result[0] < 0.05").is_err());
        assert!(map(ERR, true, "result[0] <= 1").is_err(), "always true");
    }

    #[test]
    fn success_ratio_conditions_become_error_ratio_conditions() {
        let Ok(("success_error_rate_below", Value::Float(b))) = map(OK, true, "result[0] >= 0.95")
        else {
            panic!()
        };
        assert!(b > 0.05 && b < 0.050_000_000_001, "{b}");
        assert_eq!(
            map(OK, true, "result[0] > 0.95"),
            Ok(("success_error_rate_below", Value::Float(0.05)))
        );
        assert_eq!(
            map(OK, false, "result[0] < 0.9"),
            Ok(("failure_error_rate_above", Value::Float(0.1)))
        );
        assert_eq!(
            map(OK_PCT, false, "result[0] < 99"),
            Ok(("failure_error_rate_above", Value::Float(0.01)))
        );
        let Ok(("success_error_rate_below", Value::Float(b))) =
            map(OK, true, "len(result) == 0 || result[0] >= 0.95")
        else {
            panic!()
        };
        assert!(b > 0.05);
        let differs =
            threshold(OK, true, &cond("len(result) == 0 || result[0] >= 0.95")).map(|m| m.differs);
        assert!(
            matches!(&differs, Ok(d) if d.len() == 1 && d[0].contains("empty result is a success")),
            "{differs:?}"
        );
        assert!(map(OK, true, "result[0] < 0.95").is_err());
    }

    #[test]
    fn latency_conditions_become_whole_milliseconds() {
        assert_eq!(
            map(P99_S, true, "result[0] < 0.5"),
            Ok(("success_latency_p99_below", Value::Dur(500)))
        );
        assert_eq!(
            map(P99_S, false, "result[0] >= 1.2"),
            Ok(("failure_latency_p99_above", Value::Dur(1200)))
        );
        let m = threshold(P99_S, false, &cond("result[0] >= 1.2")).map(|m| m.differs.len());
        assert_eq!(m, Ok(1));
        let p95 = Measure::Latency {
            quantile: 0.95,
            to_ms: 1.0,
        };
        assert!(map(p95, true, "result[0] < 300").is_err());
        assert!(map(P99_S, true, "result[0] < 0.0001").is_err());
    }

    const TEMPLATE: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: success-rate
spec:
  args:
  - name: service-name
  - name: limit
    value: "2"
  metrics:
  - name: success-rate
    interval: 1m
    count: 5
    failureLimit: "{{args.limit}}"
    successCondition: result[0] >= 0.95
    provider:
      prometheus:
        address: http://prometheus.example:9090
        query: |
          sum(rate(http_requests_total{service="{{args.service-name}}",status!~"5.*"}[1m]))
          /
          sum(rate(http_requests_total{service="{{args.service-name}}"}[1m]))
  - name: web-check
    successCondition: result.ok == true
    provider:
      web:
        url: http://example.invalid/health
"#;

    #[test]
    fn a_template_maps_limits_conditions_and_reports_other_providers() {
        let i = ok(TEMPLATE);
        assert_eq!(i.kind, "argo_analysis");
        assert_eq!(i.name, "success-rate");
        assert_eq!(get(&i, "interval"), Some(&Value::Dur(60_000)));
        assert_eq!(get(&i, "count"), Some(&Value::Int(5)));
        assert_eq!(get(&i, "failure_limit"), Some(&Value::Int(2)));
        assert!(
            matches!(get(&i, "success_error_rate_below"), Some(Value::Float(b)) if *b > 0.05 && *b < 0.0500001)
        );
        let notes = i.rendered_notes();
        assert!(
            notes.iter().any(|n| n == "t.yaml:27:7: field spec.metrics[1].provider.web: web metric providers are not modelled; this metric is skipped"),
            "{notes:#?}"
        );
        assert!(
            notes[0].contains(
                "field spec.metrics[0].provider.prometheus.address: a connection setting"
            ),
            "{notes:#?}"
        );
        assert_eq!(notes.len(), 2, "{notes:#?}");
    }

    #[test]
    fn no_count_and_no_interval_is_one_measurement() {
        let y = "kind: AnalysisTemplate\nmetadata: {name: once}\nspec:\n  metrics:\n  - name: e\n    failureCondition: result[0] > 0.01\n    provider:\n      prometheus:\n        query: sum(rate(r{code=~\"5..\"}[5m]))/sum(rate(r[5m]))\n";
        let i = ok(y);
        assert_eq!(get(&i, "count"), Some(&Value::Int(1)));
        assert_eq!(get(&i, "interval"), None);
        assert_eq!(
            get(&i, "failure_error_rate_above"),
            Some(&Value::Float(0.01))
        );
    }

    #[test]
    fn argo_rejections_are_reported_and_leave_nothing() {
        let y = "kind: AnalysisTemplate\nmetadata: {name: bad}\nspec:\n  metrics:\n  - name: e\n    interval: 1m\n    count: 2\n    failureLimit: 3\n    failureCondition: result[0] > 0.01\n    provider:\n      prometheus:\n        query: sum(rate(r{code=~\"5..\"}[5m]))/sum(rate(r[5m]))\n";
        let e = import_str(y, "t.yaml");
        let Err(ImportError::Unusable { notes, .. }) = e else {
            panic!("{e:?}")
        };
        assert!(
            notes.iter().any(|n| n.path == "spec.metrics[0].count"
                && n.message.contains("must be >= failureLimit")),
            "{notes:#?}"
        );
    }

    const ROLLOUT: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: checkout
spec:
  progressDeadlineSeconds: 600
  strategy:
    canary:
      analysis:
        templates:
        - templateName: error-rate
        startingStep: 2
      steps:
      - setWeight: 20
      - pause: {duration: 5m}
      - setWeight: 50
      - pause: {duration: 300}
      - pause: {}
      - setHeaderRoute:
          name: beta
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: error-rate
spec:
  metrics:
  - name: errors
    interval: 30s
    failureLimit: 3
    failureCondition: result[0] > 0.02
    provider:
      prometheus:
        query: sum(rate(r{code=~"5.."}[1m]))/sum(rate(r[1m]))
"#;

    #[test]
    fn rollout_steps_become_canary_steps_and_starting_step_a_delay() {
        let i = ok(ROLLOUT);
        assert_eq!(i.name, "checkout");
        let steps: Vec<(i64, u64)> = i
            .steps
            .iter()
            .flatten()
            .map(|s| (s.weight, s.pause_ms))
            .collect();
        assert_eq!(steps, vec![(20, 300_000), (50, 300_000), (100, 0)]);
        // the pause without a duration (steps[4]) waits for a person at 50%
        let gates: Vec<StepGate> = i.steps.iter().flatten().map(|s| s.gate).collect();
        assert_eq!(gates, [StepGate::None, StepGate::Approval, StepGate::None]);
        assert!(i
            .to_toml()
            .contains("{ weight = 50, pause = \"5m\", approval = true },"));
        assert_eq!(get(&i, "initial_delay"), Some(&Value::Dur(300_000)));
        assert_eq!(get(&i, "failure_limit"), Some(&Value::Int(3)));
        let notes = i.rendered_notes().join("\n");
        for want in [
            "field spec.progressDeadlineSeconds of Rollout \"checkout\": the progress deadline is not modelled",
            "field spec.strategy.canary.steps[5].setHeaderRoute of Rollout \"checkout\": header-based routing",
        ] {
            assert!(notes.contains(want), "missing {want:?} in\n{notes}");
        }
    }

    #[test]
    fn step_analyses_gate_their_step_and_replace_the_background_analysis() {
        let y = ROLLOUT.replace(
            "      - setWeight: 50\n",
            "      - analysis:\n          templates:\n          - templateName: error-rate\n      - setWeight: 50\n",
        );
        let i = ok(&y);
        let gates: Vec<StepGate> = i.steps.iter().flatten().map(|s| s.gate).collect();
        assert_eq!(
            gates,
            [StepGate::Analysis, StepGate::Approval, StepGate::None]
        );
        // startingStep no longer delays anything: the step runs start at their steps
        assert_eq!(get(&i, "initial_delay"), None);
        let notes = i.rendered_notes().join("\n");
        assert!(
            notes.contains("runs either step analyses or a background analysis"),
            "{notes}"
        );
        let text = i.to_toml();
        assert!(
            text.contains("{ weight = 20, pause = \"5m\", analysis = true },"),
            "{text}"
        );
        let s = crate::scenario::parse(&text, "t").unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert!(
            matches!(&s.policies[0].rule, crate::scenario::PolicyRule::ArgoAnalysis(a) if a.step_analysis)
        );
    }

    #[test]
    fn pause_durations_read_as_argo_reads_them() {
        let docs = crate::import::yaml::parse("a: {duration: 90}\nb: {duration: \"90\"}\nc: {duration: 1m30s}\nd: {duration: 1500ms}\ne: {}\nf: {duration: 5x}\ng: {duration: 9223372036854775807}\n").unwrap_or_default();
        let reads = crate::import::yaml::Reads::default();
        let r = Node::root(&docs[0], &reads);
        let p = |k: &str| r.get(k).map(|n| pause_ms(&n));
        assert_eq!(p("a"), Some(Ok(Some(90_000))));
        assert_eq!(p("b"), Some(Ok(Some(90_000))));
        assert_eq!(p("c"), Some(Ok(Some(90_000))));
        assert_eq!(p("d"), Some(Ok(Some(1_000))), "truncated to whole seconds");
        assert_eq!(p("e"), Some(Ok(None)));
        assert!(matches!(p("f"), Some(Err(_))));
        assert!(matches!(p("g"), Some(Err(_))), "no overflow");
    }
}
