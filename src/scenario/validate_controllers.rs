//! Checks the parameters of the controller policies (`argo_analysis`, `flagger`,
//! `burn_rate`, `ecs_circuit_breaker`, `kayenta`) and fills their defaults.
//!
//! Defaults and accepted ranges follow the real controllers; see the policy modules under
//! `crate::policy` for the source files each rule comes from.

use super::super::controllers::*;
use super::{at, idx, Checker, PolicyContext};
use crate::scenario::raw::{Dur, RawPolicy};
use crate::scenario::span::Seg;
use crate::scenario::{CanaryStep, PolicyRule, StepGate};

/// Largest count or limit accepted (far beyond any simulated horizon).
const MAX_COUNT: i64 = 1_000_000;

pub(super) const ARGO_KEYS: &[&str] = &[
    "interval",
    "initial_delay",
    "count",
    "failure_limit",
    "inconclusive_limit",
    "consecutive_error_limit",
    "consecutive_success_limit",
    "success_error_rate_below",
    "failure_error_rate_above",
    "success_latency_p99_below",
    "failure_latency_p99_above",
    "on_inconclusive",
];

pub(super) const FLAGGER_KEYS: &[&str] = &[
    "interval",
    "threshold",
    "metric_interval",
    "request_success_rate_min",
    "request_duration_p99_max",
    "step_weight",
    "step_weights",
    "max_weight",
    "iterations",
];

pub(super) const BURN_RATE_KEYS: &[&str] = &["slo", "windows", "traffic"];

pub(super) const ECS_KEYS: &[&str] = &["reset_on_healthy_task"];

pub(super) const KAYENTA_KEYS: &[&str] = &[
    "interval",
    "lookback",
    "pass",
    "marginal",
    "metrics",
    "critical",
    "direction",
    "nan_strategy",
    "allowed_increase",
    "allowed_decrease",
    "critical_increase",
    "critical_decrease",
];

/// A signed integer in [min, max].
fn signed(
    c: &mut Checker,
    path: Vec<Seg>,
    name: &str,
    v: Option<i64>,
    default: i64,
    min: i64,
    max: i64,
) -> i64 {
    let Some(v) = v else { return default };
    if v < min || v > max {
        c.fail(
            path,
            format!("{name} = {v} is out of range; expected an integer from {min} to {max}"),
        );
        return default;
    }
    v
}

/// A number in [min, max].
fn within(
    c: &mut Checker,
    path: Vec<Seg>,
    name: &str,
    v: Option<f64>,
    default: f64,
    min: f64,
    max: f64,
) -> f64 {
    let v = v.unwrap_or(default);
    if !(v.is_finite() && v >= min && v <= max) {
        c.fail(
            path,
            format!("{name} = {v} is out of range; expected a number from {min} to {max}"),
        );
        return default;
    }
    v
}

fn latency(c: &mut Checker, path: Vec<Seg>, name: &str, v: Option<Dur>) -> Option<f64> {
    v.map(|d| c.positive(path, name, Some(d), 1) as f64)
}

pub(super) fn argo(c: &mut Checker, path: &[Seg], p: &RawPolicy) -> PolicyRule {
    let interval_ms = c.positive(at(path, "interval"), "interval", p.interval, 5 * 60_000);
    let initial_delay_ms = p.initial_delay.map(|d| d.0).unwrap_or(0);
    let count = signed(c, at(path, "count"), "count", p.count, 0, 0, MAX_COUNT);
    let failure_limit = signed(
        c,
        at(path, "failure_limit"),
        "failure_limit",
        p.failure_limit,
        0,
        -1,
        MAX_COUNT,
    );
    let inconclusive_limit = signed(
        c,
        at(path, "inconclusive_limit"),
        "inconclusive_limit",
        p.inconclusive_limit,
        0,
        0,
        MAX_COUNT,
    );
    let consecutive_error_limit = signed(
        c,
        at(path, "consecutive_error_limit"),
        "consecutive_error_limit",
        p.consecutive_error_limit,
        4,
        0,
        MAX_COUNT,
    );
    let consecutive_success_limit = signed(
        c,
        at(path, "consecutive_success_limit"),
        "consecutive_success_limit",
        p.consecutive_success_limit,
        0,
        0,
        MAX_COUNT,
    );
    // The cross-checks of Argo's utils/analysis/factory.go: ValidateMetric.
    if consecutive_success_limit == 0 && failure_limit == -1 {
        c.fail(
            at(path, "failure_limit"),
            "failure_limit = -1 disables failures, and consecutive_success_limit is 0 (disabled); \
             Argo Rollouts rejects both disabled: expected failure_limit >= 0 or consecutive_success_limit > 0",
        );
    }
    if count > 0 {
        let need = if failure_limit >= 0 {
            failure_limit + consecutive_success_limit
        } else {
            consecutive_success_limit
        };
        if count < need {
            c.fail(
                at(path, "count"),
                format!("count = {count} is out of range; expected count >= failure_limit + consecutive_success_limit ({need}) as Argo Rollouts requires"),
            );
        }
        if count < inconclusive_limit {
            c.fail(
                at(path, "count"),
                format!("count = {count} is out of range; expected count >= inconclusive_limit ({inconclusive_limit})"),
            );
        }
    }
    let error_rate = Conditions {
        success_below: p.success_error_rate_below.map(|v| {
            c.prob(
                at(path, "success_error_rate_below"),
                "success_error_rate_below",
                Some(v),
                0.0,
            )
        }),
        failure_above: p.failure_error_rate_above.map(|v| {
            c.prob(
                at(path, "failure_error_rate_above"),
                "failure_error_rate_above",
                Some(v),
                1.0,
            )
        }),
    };
    let latency_p99_ms = Conditions {
        success_below: latency(
            c,
            at(path, "success_latency_p99_below"),
            "success_latency_p99_below",
            p.success_latency_p99_below,
        ),
        failure_above: latency(
            c,
            at(path, "failure_latency_p99_above"),
            "failure_latency_p99_above",
            p.failure_latency_p99_above,
        ),
    };
    if !error_rate.any() && !latency_p99_ms.any() {
        c.fail(
            path.to_vec(),
            "an argo_analysis policy needs a condition: at least one of `success_error_rate_below`, \
             `failure_error_rate_above` (ratios such as 0.01), `success_latency_p99_below`, \
             `failure_latency_p99_above` (durations such as \"500ms\")",
        );
    }
    PolicyRule::ArgoAnalysis(ArgoSpec {
        interval_ms,
        initial_delay_ms,
        count: (count > 0).then_some(count as u64),
        failure_limit,
        inconclusive_limit: inconclusive_limit as u64,
        consecutive_error_limit: consecutive_error_limit as u64,
        consecutive_success_limit: consecutive_success_limit as u64,
        error_rate,
        latency_p99_ms,
        on_inconclusive: p.on_inconclusive.unwrap_or(OnInconclusive::Pause),
        step_analysis: false,
    })
}

/// Flagger's minimum analysis interval (`GetAnalysisInterval`).
const FLAGGER_MIN_INTERVAL_MS: u64 = 10_000;

pub(super) fn flagger(c: &mut Checker, path: &[Seg], p: &RawPolicy) -> PolicyRule {
    // Flagger clamps a short interval to 10 s and turns a threshold <= 0 into 1, silently.
    let interval_ms = p
        .interval
        .map(|d| d.0)
        .unwrap_or(60_000)
        .max(FLAGGER_MIN_INTERVAL_MS);
    let threshold = signed(
        c,
        at(path, "threshold"),
        "threshold",
        p.threshold,
        1,
        i64::from(i32::MIN),
        MAX_COUNT,
    )
    .max(1) as u32;
    let metric_interval_ms = c.positive(
        at(path, "metric_interval"),
        "metric_interval",
        p.metric_interval,
        60_000,
    );
    let request_success_rate_min = p.request_success_rate_min.map(|v| {
        within(
            c,
            at(path, "request_success_rate_min"),
            "request_success_rate_min (percent)",
            Some(v),
            0.0,
            0.0,
            100.0,
        )
    });
    let request_duration_p99_max_ms = latency(
        c,
        at(path, "request_duration_p99_max"),
        "request_duration_p99_max",
        p.request_duration_p99_max,
    );
    if request_success_rate_min.is_none() && request_duration_p99_max_ms.is_none() {
        c.fail(
            path.to_vec(),
            "a flagger policy needs a metric: `request_success_rate_min` (percent, such as 99) \
             and/or `request_duration_p99_max` (a duration such as \"500ms\")",
        );
    }
    PolicyRule::Flagger(FlaggerSpec {
        interval_ms,
        threshold,
        metric_interval_ms,
        request_success_rate_min,
        request_duration_p99_max_ms,
    })
}

/// A weight in percent, 1 to 100.
fn percent(c: &mut Checker, path: Vec<Seg>, name: &str, v: i64) -> i64 {
    if !(1..=100).contains(&v) {
        c.fail(
            path,
            format!("{name} = {v} is out of range; expected a percentage from 1 to 100"),
        );
        return 100;
    }
    v
}

/// The canary steps of Flagger's traffic keys (`step_weight`, `step_weights`,
/// `max_weight`, `iterations`), or `None` when none is set (the policy's `rollout` applies).
///
/// Each weight is a step; the final 100% step is the promotion. With `iterations = N` the
/// canary takes all traffic for N steps (A/B testing with every request matched), then the
/// promotion. A flagger policy advances a step on each passing check
/// (`crate::policy::Flagger`), so no step has a pause.
pub(super) fn flagger_steps(
    c: &mut Checker,
    path: &[Seg],
    p: &RawPolicy,
) -> Option<Vec<CanaryStep>> {
    if p.step_weight.is_none()
        && p.step_weights.is_none()
        && p.max_weight.is_none()
        && p.iterations.is_none()
    {
        return None;
    }
    if p.rollout.is_some() {
        c.fail(
            at(path, "rollout"),
            "a flagger policy with step_weight, step_weights, max_weight or iterations builds its own rollout; expected those keys or `rollout`, not both",
        );
    }
    let step = |weight: i64| CanaryStep {
        weight: weight as f64 / 100.0,
        pause_ms: 0,
        gate: StepGate::None,
    };
    let iterations = signed(
        c,
        at(path, "iterations"),
        "iterations",
        p.iterations,
        0,
        0,
        10_000,
    );
    if iterations > 0 {
        for key in ["step_weight", "step_weights", "max_weight"] {
            let given = match key {
                "step_weight" => p.step_weight.is_some(),
                "step_weights" => p.step_weights.is_some(),
                _ => p.max_weight.is_some(),
            };
            if given {
                c.fail(
                    at(path, key),
                    format!("{key} has no effect with iterations (Flagger then routes all traffic to the canary for the iterations); expected one or the other"),
                );
            }
        }
        let mut steps: Vec<CanaryStep> = (0..iterations).map(|_| step(100)).collect();
        steps.push(step(100));
        return Some(steps);
    }
    let step_weight = p
        .step_weight
        .map(|w| percent(c, at(path, "step_weight"), "step_weight", w));
    let max_weight = p
        .max_weight
        .map(|w| percent(c, at(path, "max_weight"), "max_weight", w));
    let mut step_weights = Vec::new();
    if let Some(ws) = &p.step_weights {
        let sp = at(path, "step_weights");
        if ws.is_empty() {
            c.fail(
                sp.clone(),
                "step_weights is empty; expected increasing percentages such as [5, 10, 25, 50]",
            );
        }
        let mut last = 0;
        for (i, w) in ws.iter().enumerate() {
            let w = percent(c, idx(&sp, i), "step_weights", *w);
            if w <= last {
                c.fail(
                    idx(&sp, i),
                    format!("step weight {w} does not increase (previous is {last}); expected increasing weights"),
                );
            }
            last = w;
            step_weights.push(w);
        }
        if step_weight.is_some() {
            c.fail(at(path, "step_weight"), "step_weight and step_weights are both set; expected one of them (Flagger would use step_weight for the steps and step_weights for the maximum)");
        }
        if max_weight.is_some() {
            c.fail(at(path, "max_weight"), "max_weight has no effect with step_weights (Flagger's maximum is then the last of step_weights); expected one or the other");
        }
    } else if step_weight.is_none() {
        c.fail(
            path.to_vec(),
            "a flagger policy with max_weight needs step_weight or step_weights: without a step Flagger never shifts traffic",
        );
        return None;
    }
    let ws = flagger_weights(
        step_weight.unwrap_or(0),
        &step_weights,
        max_weight.unwrap_or(0),
    )?;
    let mut steps: Vec<CanaryStep> = ws.into_iter().map(step).collect();
    steps.push(step(100));
    Some(steps)
}

pub(super) fn burn_rate(
    c: &mut Checker,
    path: &[Seg],
    p: &RawPolicy,
    ctx: &PolicyContext,
) -> PolicyRule {
    let slo = match p.slo {
        Some(v) => {
            if !(v.is_finite() && v > 0.0 && v < 1.0) {
                c.fail(
                    at(path, "slo"),
                    format!("slo = {v} is out of range; expected a target strictly between 0 and 1, such as 0.999"),
                );
                0.999
            } else {
                v
            }
        }
        None => {
            let v = 1.0 - ctx.slo_error_rate;
            if !(v > 0.0 && v < 1.0) {
                c.fail(
                    path.to_vec(),
                    format!("a burn_rate policy defaults `slo` to 1 - slo.error_rate = {v}, which is not strictly between 0 and 1; set `slo` (such as 0.999)"),
                );
                0.999
            } else {
                v
            }
        }
    };
    let windows = match &p.windows {
        None => DEFAULT_WINDOWS.to_vec(),
        Some(ws) => {
            let wpath = at(path, "windows");
            if ws.is_empty() {
                c.fail(
                    wpath.clone(),
                    "windows is empty; expected at least one { long, short, burn_rate } table",
                );
            }
            ws.iter()
                .enumerate()
                .map(|(i, w)| {
                    let wp = idx(&wpath, i);
                    let long_ms = c.positive(at(&wp, "long"), "long", Some(w.long), 1);
                    let short_ms = c.positive(at(&wp, "short"), "short", Some(w.short), 1);
                    if short_ms > long_ms {
                        c.fail(
                            at(&wp, "short"),
                            "the short window is longer than the long window; expected short <= long (the workbook uses long / 12)",
                        );
                    }
                    let burn_rate =
                        c.number(at(&wp, "burn_rate"), "burn_rate", Some(w.burn_rate), 1.0, 0.0, true);
                    BurnWindow {
                        long_ms,
                        short_ms,
                        burn_rate,
                    }
                })
                .collect()
        }
    };
    PolicyRule::BurnRate(BurnRateSpec {
        slo,
        windows,
        traffic: p.traffic.unwrap_or(Traffic::All),
        scrape_interval_ms: ctx.scrape_interval_ms,
    })
}

pub(super) fn ecs(p: &RawPolicy, ctx: &PolicyContext) -> PolicyRule {
    PolicyRule::EcsCircuitBreaker(EcsSpec {
        desired_count: ctx.replicas,
        reset_on_healthy_task: p.reset_on_healthy_task.unwrap_or(true),
    })
}

pub(super) fn kayenta(c: &mut Checker, path: &[Seg], p: &RawPolicy) -> PolicyRule {
    let interval_ms = c.positive(at(path, "interval"), "interval", p.interval, 10 * 60_000);
    let lookback_ms = p
        .lookback
        .map(|d| c.positive(at(path, "lookback"), "lookback", Some(d), 1));
    let pass = within(c, at(path, "pass"), "pass", p.pass, 75.0, 0.0, 100.0);
    let marginal = within(
        c,
        at(path, "marginal"),
        "marginal",
        p.marginal,
        50.0,
        0.0,
        100.0,
    );
    if marginal > pass {
        c.fail(
            at(path, "marginal"),
            format!("marginal = {marginal} is above pass = {pass}; expected marginal <= pass"),
        );
    }
    let names = p
        .metrics
        .clone()
        .unwrap_or_else(|| vec![KayentaMetric::ErrorRate, KayentaMetric::LatencyP99]);
    if names.is_empty() {
        c.fail(
            at(path, "metrics"),
            "metrics is empty; expected one or both of \"error_rate\", \"latency_p99\"",
        );
    }
    for (i, m) in names.iter().enumerate() {
        if names[..i].contains(m) {
            c.fail(
                idx(&at(path, "metrics"), i),
                "metric listed twice; expected each of \"error_rate\", \"latency_p99\" at most once",
            );
        }
    }
    let critical = p.critical.clone().unwrap_or_default();
    for (i, m) in critical.iter().enumerate() {
        if !names.contains(m) {
            c.fail(
                idx(&at(path, "critical"), i),
                "a critical metric must be one of `metrics`",
            );
        }
    }
    let mut ratio =
        |key: &'static str, v: Option<f64>| c.number(at(path, key), key, v, 1.0, 0.0, true);
    let allowed_increase = ratio("allowed_increase", p.allowed_increase);
    let allowed_decrease = ratio("allowed_decrease", p.allowed_decrease);
    let critical_increase = ratio("critical_increase", p.critical_increase);
    let critical_decrease = ratio("critical_decrease", p.critical_decrease);
    let mut metrics: Vec<(KayentaMetric, bool)> = Vec::new();
    for m in names {
        if !metrics.iter().any(|(n, _)| *n == m) {
            metrics.push((m, critical.contains(&m)));
        }
    }
    PolicyRule::Kayenta(KayentaSpec {
        interval_ms,
        lookback_ms,
        pass,
        marginal,
        metrics,
        direction: p.direction.unwrap_or(Direction::Either),
        nan_strategy: p.nan_strategy.unwrap_or(NanStrategy::None),
        allowed_decrease,
        allowed_increase,
        critical_decrease,
        critical_increase,
    })
}

#[cfg(test)]
mod tests {
    use crate::scenario::{parse, Strategy};

    fn weights(keys: &str) -> Vec<f64> {
        let text = format!("[[policies]]\nname = \"f\"\nkind = \"flagger\"\nrequest_success_rate_min = 99.0\n{keys}\n");
        let s = parse(&text, "t").unwrap_or_else(|e| panic!("{e}"));
        match &s.policies[0].rollout.strategy {
            Strategy::Canary { steps } => steps.iter().map(|s| s.weight * 100.0).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn flagger_traffic_keys_build_the_weights_and_the_promotion_step() {
        // runCanary adds step_weight while below max_weight: 40 < 50 goes on to 60
        assert_eq!(
            weights("step_weight = 20\nmax_weight = 50"),
            vec![20.0, 40.0, 60.0, 100.0]
        );
        // at max_weight 100 the canary holds 100% for a check, then the promotion
        assert_eq!(weights("step_weight = 50"), vec![50.0, 100.0, 100.0]);
        assert_eq!(
            weights("step_weights = [1, 10, 80]"),
            vec![1.0, 10.0, 80.0, 100.0]
        );
        assert_eq!(weights("iterations = 2"), vec![100.0, 100.0, 100.0]);
    }
}
