//! An `argo_analysis` entry as written ([`Raw`]), its checks (ranges and the cross-checks
//! Argo Rollouts applies itself) and its checked parameters ([`ArgoSpec`]).

use crate::check::{at, Checker, Dur, Rollout, Seg, StepGate, Strategy, MAX_COUNT};
use crate::policy::PolicyRule;
use serde::Deserialize;

/// An `argo_analysis` entry's own keys (Argo's `Metric` fields in snake case).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    pub interval: Option<Dur>,
    pub initial_delay: Option<Dur>,
    pub count: Option<i64>,
    pub failure_limit: Option<i64>,
    pub inconclusive_limit: Option<i64>,
    pub consecutive_error_limit: Option<i64>,
    pub consecutive_success_limit: Option<i64>,
    pub success_error_rate_below: Option<f64>,
    pub failure_error_rate_above: Option<f64>,
    pub success_latency_p99_below: Option<Dur>,
    pub failure_latency_p99_above: Option<Dur>,
    pub on_inconclusive: Option<OnInconclusive>,
}

/// What an Argo Rollouts policy does when its AnalysisRun ends Inconclusive.
///
/// In Argo Rollouts an Inconclusive run pauses the rollout until a person resumes or aborts
/// it (`rollout/analysis.go`: `PauseReasonInconclusiveAnalysis`); `Pause` models exactly
/// that with the `[human]` model, and the other two say what the person would do at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnInconclusive {
    /// The rollout pauses at its current step and pages the on-call (`[human]`), who
    /// aborts (rollback) or resumes it: what Argo Rollouts does.
    Pause,
    /// No rollback and no further measurement for this deploy: the rollout stays paused,
    /// and the release goes on as the scenario's rollout plan says.
    Hold,
    /// The person aborts: rollback.
    Rollback,
}

/// The checked parameters of an `argo_analysis` policy: one AnalysisRun with one metric per
/// measured signal, sharing the limits.
#[derive(Debug, Clone, PartialEq)]
pub struct ArgoSpec {
    /// `interval`: time between measurements.
    pub interval_ms: u64,
    /// `initialDelay`: time before the first measurement.
    pub initial_delay_ms: u64,
    /// `count`: measurements (errors not counted) after which the metric is Successful;
    /// `None` runs until the analysis is terminated.
    pub count: Option<u64>,
    /// `failureLimit`: -1 disables the check.
    pub failure_limit: i64,
    pub inconclusive_limit: u64,
    pub consecutive_error_limit: u64,
    /// `consecutiveSuccessLimit`: 0 disables it.
    pub consecutive_success_limit: u64,
    /// Conditions on the new version's error ratio over the interval (`result < x`,
    /// `result > x`).
    pub error_rate: Conditions,
    /// Conditions on the new version's p99 latency (ms) over the interval.
    pub latency_p99_ms: Conditions,
    pub on_inconclusive: OnInconclusive,
    /// The policy's rollout has step analyses (`analysis = true` steps): an AnalysisRun
    /// runs at each of those steps and gates it, and none runs in the background.
    pub step_analysis: bool,
}

/// A success condition (`result < below`) and a failure condition (`result > above`);
/// either may be unset.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Conditions {
    pub success_below: Option<f64>,
    pub failure_above: Option<f64>,
}

impl Conditions {
    /// Whether any condition is set, which makes the signal a measured metric.
    pub fn any(&self) -> bool {
        self.success_below.is_some() || self.failure_above.is_some()
    }
}

impl Raw {
    /// Checks the limits and conditions; an analysis of the steps marked
    /// `analysis = true` in `rollout` replaces the background one.
    pub fn check(&self, c: &mut Checker, path: &[Seg], rollout: &Rollout) -> PolicyRule {
        let interval_ms = c.positive(at(path, "interval"), "interval", self.interval, 5 * 60_000);
        let mut limit = |key: &'static str, v: Option<i64>, default: i64, min: i64| {
            c.signed(at(path, key), key, v, default, (min, MAX_COUNT))
        };
        let count = limit("count", self.count, 0, 0);
        let failure_limit = limit("failure_limit", self.failure_limit, 0, -1);
        let inconclusive_limit = limit("inconclusive_limit", self.inconclusive_limit, 0, 0);
        let consecutive_error_limit = limit(
            "consecutive_error_limit",
            self.consecutive_error_limit,
            4,
            0,
        );
        let consecutive_success_limit = limit(
            "consecutive_success_limit",
            self.consecutive_success_limit,
            0,
            0,
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
        let ratio = |c: &mut Checker, key: &'static str, v: Option<f64>, default: f64| {
            v.map(|v| c.prob(at(path, key), key, Some(v), default))
        };
        let error_rate = Conditions {
            success_below: ratio(
                c,
                "success_error_rate_below",
                self.success_error_rate_below,
                0.0,
            ),
            failure_above: ratio(
                c,
                "failure_error_rate_above",
                self.failure_error_rate_above,
                1.0,
            ),
        };
        let latency =
            |c: &mut Checker, key: &'static str, v: Option<Dur>| c.latency(at(path, key), key, v);
        let latency_p99_ms = Conditions {
            success_below: latency(
                c,
                "success_latency_p99_below",
                self.success_latency_p99_below,
            ),
            failure_above: latency(
                c,
                "failure_latency_p99_above",
                self.failure_latency_p99_above,
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
        let step_analysis = matches!(&rollout.strategy, Strategy::Canary { steps }
            if steps.iter().any(|s| s.gate == StepGate::Analysis));
        PolicyRule::ArgoAnalysis(ArgoSpec {
            interval_ms,
            initial_delay_ms: self.initial_delay.map(|d| d.0).unwrap_or(0),
            count: (count > 0).then_some(count as u64),
            failure_limit,
            inconclusive_limit: inconclusive_limit as u64,
            consecutive_error_limit: consecutive_error_limit as u64,
            consecutive_success_limit: consecutive_success_limit as u64,
            error_rate,
            latency_p99_ms,
            on_inconclusive: self.on_inconclusive.unwrap_or(OnInconclusive::Pause),
            step_analysis,
        })
    }
}
