//! `argo_analysis`: an Argo Rollouts AnalysisRun (background analysis) with a Prometheus-like
//! metric on the new version, decided exactly as the Argo Rollouts controller decides.
//!
//! # Parameters (Argo Rollouts name → rollsim key, default)
//!
//! | Argo `Metric` field | rollsim key | default |
//! |---|---|---|
//! | `interval` | `interval` | `"5m"` (Argo has no default: without one it measures once) |
//! | `initialDelay` | `initial_delay` | `"0s"` |
//! | `count` | `count` | unset = measure until the analysis ends (Argo `EffectiveCount`) |
//! | `failureLimit` | `failure_limit` | 0; -1 disables it |
//! | `inconclusiveLimit` | `inconclusive_limit` | 0 |
//! | `consecutiveErrorLimit` | `consecutive_error_limit` | 4 (`utils/defaults/defaults.go: DefaultConsecutiveErrorLimit`) |
//! | `consecutiveSuccessLimit` | `consecutive_success_limit` | 0 = disabled |
//! | `successCondition: result < x` | `success_error_rate_below` / `success_latency_p99_below` | unset |
//! | `failureCondition: result > x` | `failure_error_rate_above` / `failure_latency_p99_above` | unset |
//! | (a person resumes or aborts) | `on_inconclusive` | `"pause"` |
//!
//! The measured value is the new version's error ratio (errors / requests summed over the
//! scrapes of the last `interval`, the ratio of `rate()` sums a Prometheus query returns) or
//! its p99 latency (the mean of the scraped p99 values in the last `interval`). Error-rate
//! and latency conditions make two metrics of one AnalysisRun; both share the limits.
//!
//! # Semantics, from Argo Rollouts' source (argoproj/argo-rollouts)
//!
//! - Classification of one measurement, `utils/evaluate/evaluate.go: EvaluateResult`: no
//!   condition → Successful; only a success condition → Failed when it is false; only a
//!   failure condition → Failed when it is true; both → Failed if the failure condition holds,
//!   Inconclusive if neither holds, else Successful. A result that cannot be evaluated (no
//!   data: the version served no request in the interval, or every scrape was lost) is Error.
//!   (Model choice: with `metricproviders/prometheus/prometheus.go` an empty result vector
//!   makes `result[0]` fail to evaluate, which is this Error; a ratio over series that exist
//!   but counted nothing is NaN instead, for which both `<` and `>` are false. rollsim
//!   treats every interval without requests as the empty result.)
//! - Counters, `analysis/analysis.go: runMeasurements`: Successful/Failed/Inconclusive add to
//!   `count`; Error does not, it adds to `consecutiveError`, which any other outcome resets.
//!   After an Error the next measurement comes `DefaultErrorRetryInterval` (10 s) later
//!   instead of `interval` (`calculateNextReconcileTime`).
//! - Metric phase, `analysis/analysis.go: assessMetricStatus` and
//!   `assessMetricFailureInconclusiveOrError`, in this order, a later check overriding an
//!   earlier one: `failed > failureLimit` (unless -1) → Failed; `inconclusive >
//!   inconclusiveLimit` → Inconclusive; `consecutiveError > consecutiveErrorLimit` → Error.
//!   All strict `>`: `failureLimit: 3` fails on the 4th failure, although
//!   `docs/features/analysis.md` says three. Then `consecutiveSuccess >=
//!   consecutiveSuccessLimit` (when > 0) → Successful; then `count` reached → Successful, or,
//!   with a consecutive success limit not reached, Inconclusive (failure limit applicable) or
//!   Failed (failure limit -1). A run ended before that (the release is promoted) is
//!   Successful.
//! - Run phase, `assessRunStatus` and `utils/analysis/helpers.go` (`IsTerminating`,
//!   `analysisStatusOrder`): once a metric is Failed, Error or Inconclusive the run stops and
//!   takes the worst metric phase (Successful < Running < Pending < Inconclusive < Error <
//!   Failed).
//! - Effect on the rollout, `rollout/analysis.go`: Failed or Error → abort (rollback);
//!   Inconclusive → the rollout pauses for a person. `on_inconclusive = "pause"` (the
//!   default) does that: the policy answers [`Decision::Pause`], the engine stops the rollout
//!   at its step and pages the `[human]` model, who aborts or resumes. `"hold"` means nobody
//!   acts (no rollback, no further measurement; the rollout plan runs its course),
//!   `"rollback"` means the person aborts at once.
//!
//! - Step analyses, `rollout/analysis.go: reconcileStepBasedAnalysisRun` and
//!   `rollout/canary.go: completedCurrentCanaryStep`: with `step_analysis` (the rollout has
//!   `analysis = true` steps) the run is created when such a step is reached (here: when
//!   its pause ends, [`Policy::on_step`]) and the rollout leaves the step only once the run
//!   is Successful ([`Decision::Advance`]); Failed or Error aborts, Inconclusive pauses, and
//!   a resume creates a new run for the step (`needsNewAnalysisRun`). No run is active at
//!   other steps, and no background run exists.
//!
//! Model limits: measurements are taken when a scrape reaches the policy, so a measurement
//! due between two scrapes happens at the next one (the 10 s error retry becomes "the next
//! scrape" when scrapes are further apart); the first measurement is at the first scrape
//! after the deploy plus `initial_delay`; the policy times everything by the scrapes'
//! `at_ms`. An aborted rollout is retried only by the scenario's `[pipeline]`.

mod spec;

pub use spec::{ArgoSpec, Conditions, OnInconclusive, Raw};

use super::window::{Recent, Totals};
use super::{Decision, Needs, Policy, Scrape};

/// `analysis/analysis.go: DefaultErrorRetryInterval`.
pub const ERROR_RETRY_INTERVAL_MS: u64 = 10_000;

/// The phase of one measurement (`AnalysisPhase` of a `Measurement`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measurement {
    Successful,
    Failed,
    Inconclusive,
    Error,
}

/// The phase of a metric or of the run (`AnalysisPhase`), best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Successful,
    Running,
    Pending,
    Inconclusive,
    Error,
    Failed,
}

impl Phase {
    /// `AnalysisPhase.Completed()`.
    pub fn completed(self) -> bool {
        matches!(
            self,
            Phase::Successful | Phase::Inconclusive | Phase::Error | Phase::Failed
        )
    }
}

/// `EvaluateResult` for `successCondition: result < below` and `failureCondition: result >
/// above`; `None` (no data) is an Error.
pub fn evaluate(value: Option<f64>, c: &Conditions) -> Measurement {
    let Some(v) = value.filter(|v| !v.is_nan()) else {
        return Measurement::Error;
    };
    let mut success = c.success_below.is_some_and(|x| v < x);
    let mut fail = c.failure_above.is_some_and(|x| v > x);
    match (c.success_below.is_some(), c.failure_above.is_some()) {
        (false, false) => return Measurement::Successful,
        (true, false) => fail = !success,
        (false, true) => success = !fail,
        (true, true) => {}
    }
    if fail {
        Measurement::Failed
    } else if !success {
        Measurement::Inconclusive
    } else {
        Measurement::Successful
    }
}

/// What the rollout does when the run ends in `phase` (`rollout/analysis.go`): Failed and
/// Error abort (rollback); Inconclusive pauses for a person, who does `on_inconclusive`;
/// Successful (or still running) lets the rollout go on.
pub fn decision(phase: Phase, on_inconclusive: OnInconclusive) -> Decision {
    match phase {
        Phase::Failed | Phase::Error => Decision::Rollback,
        Phase::Inconclusive if on_inconclusive == OnInconclusive::Rollback => Decision::Rollback,
        Phase::Inconclusive if on_inconclusive == OnInconclusive::Pause => Decision::Pause,
        _ => Decision::Continue,
    }
}

/// The limits of a metric (fields of Argo's `Metric`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub count: Option<u64>,
    pub failure_limit: i64,
    pub inconclusive_limit: u64,
    pub consecutive_error_limit: u64,
    pub consecutive_success_limit: u64,
}

impl Limits {
    fn of(spec: &ArgoSpec) -> Self {
        Limits {
            count: spec.count,
            failure_limit: spec.failure_limit,
            inconclusive_limit: spec.inconclusive_limit,
            consecutive_error_limit: spec.consecutive_error_limit,
            consecutive_success_limit: spec.consecutive_success_limit,
        }
    }
}

/// The counters of a `MetricResult`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MetricResult {
    pub measurements: u64,
    pub count: u64,
    pub successful: u64,
    pub failed: u64,
    pub inconclusive: u64,
    pub error: u64,
    pub consecutive_error: u64,
    pub consecutive_success: u64,
}

impl MetricResult {
    /// Counts one completed measurement as `runMeasurements` does.
    pub fn record(&mut self, m: Measurement) {
        self.measurements += 1;
        match m {
            Measurement::Successful => {
                self.successful += 1;
                self.count += 1;
                self.consecutive_error = 0;
                self.consecutive_success += 1;
            }
            Measurement::Failed => {
                self.failed += 1;
                self.count += 1;
                self.consecutive_error = 0;
                self.consecutive_success = 0;
            }
            Measurement::Inconclusive => {
                self.inconclusive += 1;
                self.count += 1;
                self.consecutive_error = 0;
                self.consecutive_success = 0;
            }
            Measurement::Error => {
                self.error += 1;
                self.consecutive_error += 1;
                self.consecutive_success = 0;
            }
        }
    }

    /// `assessMetricStatus` for a metric whose last measurement is complete.
    pub fn assess(&self, l: &Limits, terminating: bool) -> Phase {
        if self.measurements == 0 {
            return if terminating {
                Phase::Successful
            } else {
                Phase::Pending
            };
        }
        // assessMetricFailureInconclusiveOrError: later checks override earlier ones.
        let mut phase = None;
        if l.failure_limit >= 0 && self.failed > l.failure_limit as u64 {
            phase = Some(Phase::Failed);
        }
        if self.inconclusive > l.inconclusive_limit {
            phase = Some(Phase::Inconclusive);
        }
        if self.consecutive_error > l.consecutive_error_limit {
            phase = Some(Phase::Error);
        }
        if let Some(p) = phase {
            return p;
        }
        let success_applicable = l.consecutive_success_limit > 0;
        if success_applicable && self.consecutive_success >= l.consecutive_success_limit {
            return Phase::Successful;
        }
        if let Some(count) = l.count {
            if self.count >= count {
                let failure_applicable = l.failure_limit >= 0;
                return match (failure_applicable, success_applicable) {
                    (true, true) => Phase::Inconclusive,
                    (false, true) => Phase::Failed,
                    _ => Phase::Successful,
                };
            }
        }
        if terminating {
            Phase::Successful
        } else {
            Phase::Running
        }
    }
}

/// Which signal a metric measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    ErrorRate,
    LatencyP99,
}

#[derive(Debug, Clone)]
struct Metric {
    signal: Signal,
    conditions: Conditions,
    result: MetricResult,
    /// The completed phase, once reached (`result.Phase.Completed()`).
    phase: Option<Phase>,
    /// When the next measurement is due; `None` before the first scrape.
    due_ms: Option<u64>,
}

/// An AnalysisRun over the new version's scrapes.
#[derive(Debug, Clone)]
pub struct ArgoAnalysis {
    spec: ArgoSpec,
    limits: Limits,
    recent: Recent,
    metrics: Vec<Metric>,
    /// The run's completed phase.
    run_phase: Option<Phase>,
    /// Step analysis: when the current step's AnalysisRun started (`None`: no run, the
    /// rollout is at a step without analysis).
    gate_at_ms: Option<u64>,
}

impl ArgoAnalysis {
    /// An AnalysisRun with one metric per signal that has a condition.
    pub fn new(spec: ArgoSpec) -> Self {
        let mut metrics = Vec::new();
        for (signal, conditions) in [
            (Signal::ErrorRate, spec.error_rate),
            (Signal::LatencyP99, spec.latency_p99_ms),
        ] {
            if conditions.any() {
                metrics.push(Metric {
                    signal,
                    conditions,
                    result: MetricResult::default(),
                    phase: None,
                    due_ms: None,
                });
            }
        }
        ArgoAnalysis {
            limits: Limits::of(&spec),
            recent: Recent::new(spec.interval_ms),
            metrics,
            run_phase: None,
            gate_at_ms: None,
            spec,
        }
    }

    /// The run's phase: the worst completed metric phase once one metric stops the run.
    pub fn phase(&self) -> Phase {
        if let Some(p) = self.run_phase {
            return p;
        }
        Phase::Running
    }

    fn measure(&self, m: &Metric, now: u64) -> Measurement {
        let t: Totals = self.recent.new_totals(now, self.spec.interval_ms);
        let value = match m.signal {
            Signal::ErrorRate => t.error_rate(),
            Signal::LatencyP99 => t.p99_ms(),
        };
        evaluate(value, &m.conditions)
    }
}

impl Policy for ArgoAnalysis {
    fn needs(&self) -> Needs {
        Needs {
            scrapes: true,
            latency: self.spec.latency_p99_ms.any(),
            health_checks: false,
            gauges: false,
        }
    }

    fn reset(&mut self) {
        self.recent.clear();
        self.new_run();
        self.gate_at_ms = None;
    }

    fn on_step(&mut self, gate_at_ms: Option<u64>) {
        if self.spec.step_analysis {
            self.new_run();
            self.gate_at_ms = gate_at_ms;
        }
    }

    fn on_scrape(&mut self, scrape: &Scrape) -> Decision {
        if self.spec.step_analysis {
            // rollout/analysis.go: reconcileStepBasedAnalysisRun. The run of a step starts
            // when the step's analysis is reached; rollout/canary.go:
            // completedCurrentCanaryStep lets the rollout past it only once it is Successful.
            self.recent.push(scrape);
            let started = self.gate_at_ms.is_some_and(|g| scrape.at_ms > g);
            if !started || self.run_phase.is_some() {
                return Decision::Continue;
            }
            return match self.measure_due(scrape.at_ms) {
                Some(Phase::Successful) => Decision::Advance,
                Some(p) => decision(p, self.spec.on_inconclusive),
                None => Decision::Continue,
            };
        }
        if self.run_phase.is_some() {
            return Decision::Continue;
        }
        self.recent.push(scrape);
        match self.measure_due(scrape.at_ms) {
            Some(p) => decision(p, self.spec.on_inconclusive),
            None => Decision::Continue,
        }
    }
}

impl ArgoAnalysis {
    /// Forgets the current AnalysisRun (a new one starts).
    fn new_run(&mut self) {
        self.run_phase = None;
        for m in &mut self.metrics {
            m.result = MetricResult::default();
            m.phase = None;
            m.due_ms = None;
        }
    }

    /// Takes the measurements due at `now`; the run's phase once it completes.
    fn measure_due(&mut self, now: u64) -> Option<Phase> {
        for i in 0..self.metrics.len() {
            let m = &self.metrics[i];
            if m.phase.is_some() {
                continue;
            }
            let due = *self.metrics[i]
                .due_ms
                .get_or_insert(now + self.spec.initial_delay_ms);
            if now < due {
                continue;
            }
            let measurement = self.measure(&self.metrics[i], now);
            let m = &mut self.metrics[i];
            m.result.record(measurement);
            m.due_ms = Some(
                now + if measurement == Measurement::Error {
                    ERROR_RETRY_INTERVAL_MS
                } else {
                    self.spec.interval_ms
                },
            );
            let phase = m.result.assess(&self.limits, false);
            if phase.completed() {
                m.phase = Some(phase);
            }
        }
        // assessRunStatus: a Failed, Error or Inconclusive metric terminates the run, and the
        // metrics still running end Successful; otherwise the run ends when all metrics do.
        let terminating = self.metrics.iter().any(|m| {
            matches!(
                m.phase,
                Some(Phase::Failed | Phase::Error | Phase::Inconclusive)
            )
        });
        let all_done = self.metrics.iter().all(|m| m.phase.is_some());
        if terminating || all_done {
            let worst = self
                .metrics
                .iter()
                .map(|m| m.phase.unwrap_or(Phase::Successful))
                .max()
                .unwrap_or(Phase::Successful);
            self.run_phase = Some(worst);
            return Some(worst);
        }
        None
    }
}

#[cfg(test)]
mod tests;
