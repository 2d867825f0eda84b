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

use super::yaml::Node;
use super::{Doc, Entry, Imported, Notes, Pos, Step, Unusable, Value};
use crate::check::{duration_text, StepGate};

mod mapping;
mod metric;

pub use mapping::{threshold, Mapped, Signal};
pub use metric::pause_ms;
use metric::*;

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
                                last.source.push_str(&format!(", {} {}", lines(&f), duration_text(ms)));
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
    header.push("each measurement is Successful, Failed, Inconclusive or Error as Argo classifies it; Failed past failureLimit, or Error past consecutiveErrorLimit, aborts (rollback); Inconclusive pauses the rollout and pages a person (`on_inconclusive = \"pause\"`, the default, as Argo does; \"hold\" or \"rollback\" instead)".into());
    if step_analyses > 0 {
        header.push("step analyses: an AnalysisRun starts when its step's pause ends and the rollout waits for it (Successful: next step; Failed or Error: abort; Inconclusive: pause); no background analysis runs".into());
    }
    Ok(Imported::new(
        &name,
        "argo_analysis",
        header,
        entries,
        steps,
    ))
}

#[cfg(test)]
mod tests;
