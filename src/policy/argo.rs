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

use super::window::{Recent, Totals};
use super::{Decision, Needs, Policy, Scrape};
use crate::scenario::{ArgoSpec, Conditions, OnInconclusive};

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
mod tests {
    use super::super::VersionSample;
    use super::*;
    use Measurement::{Error as E, Failed as F, Inconclusive as I, Successful as S};

    fn limits(failure_limit: i64) -> Limits {
        Limits {
            count: None,
            failure_limit,
            inconclusive_limit: 0,
            consecutive_error_limit: 4,
            consecutive_success_limit: 0,
        }
    }

    /// The metric phase after each measurement of `seq`, stopping at the first completed
    /// phase: (phase, number of measurements taken).
    fn run(l: &Limits, seq: &[Measurement]) -> (Phase, usize) {
        let mut r = MetricResult::default();
        for (i, m) in seq.iter().enumerate() {
            r.record(*m);
            let p = r.assess(l, false);
            if p.completed() {
                return (p, i + 1);
            }
        }
        (r.assess(l, false), seq.len())
    }

    #[test]
    fn evaluate_result_table() {
        let both = Conditions {
            success_below: Some(0.01),
            failure_above: Some(0.05),
        };
        let success_only = Conditions {
            success_below: Some(0.01),
            failure_above: None,
        };
        let failure_only = Conditions {
            success_below: None,
            failure_above: Some(0.05),
        };
        let none = Conditions::default();
        // both conditions: failure wins, neither true = Inconclusive
        assert_eq!(evaluate(Some(0.001), &both), S);
        assert_eq!(evaluate(Some(0.02), &both), I);
        assert_eq!(evaluate(Some(0.06), &both), F);
        // strict comparisons at the thresholds
        assert_eq!(evaluate(Some(0.01), &both), I);
        assert_eq!(evaluate(Some(0.05), &both), I);
        // only success: not successful = Failed
        assert_eq!(evaluate(Some(0.001), &success_only), S);
        assert_eq!(evaluate(Some(0.02), &success_only), F);
        // only failure: not failed = Successful
        assert_eq!(evaluate(Some(0.02), &failure_only), S);
        assert_eq!(evaluate(Some(0.06), &failure_only), F);
        // no condition: always Successful
        assert_eq!(evaluate(Some(0.9), &none), S);
        // no data is an Error whatever the conditions
        assert_eq!(evaluate(None, &both), E);
        assert_eq!(evaluate(Some(f64::NAN), &failure_only), E);
    }

    type Case<'a> = (i64, &'a [Measurement], Phase, usize, Decision);

    #[test]
    fn failure_limit_0_1_3_conformance_table() {
        // (failureLimit, measurements, resulting metric phase, measurements taken when it
        // completed, the rollout's decision with on_inconclusive = "hold")
        const R: Decision = Decision::Rollback;
        const C: Decision = Decision::Continue;
        let table: &[Case] = &[
            // failureLimit 0 (the default): the first failure fails the metric
            (0, &[F], Phase::Failed, 1, R),
            (0, &[S, S, F], Phase::Failed, 3, R),
            (0, &[S, S, S, S], Phase::Running, 4, C),
            // failureLimit 1: failures need not be consecutive, the 2nd fails
            (1, &[F], Phase::Running, 1, C),
            (1, &[F, S, S, F], Phase::Failed, 4, R),
            (1, &[F, F], Phase::Failed, 2, R),
            // failureLimit 3: the docs say "fails after three"; `failed > 3` needs a 4th
            (3, &[F, F, F], Phase::Running, 3, C),
            (3, &[F, F, F, F], Phase::Failed, 4, R),
            (3, &[F, S, F, S, F, S, F], Phase::Failed, 7, R),
            (3, &[F, I], Phase::Inconclusive, 2, C),
            (3, &[F, F, F, E, E, E, E, E], Phase::Error, 8, R),
            // errors: 5 in a row (> consecutiveErrorLimit 4) are an Error phase, whatever
            // failureLimit; a success in between resets the streak
            (0, &[E, E, E, E], Phase::Running, 4, C),
            (0, &[E, E, E, E, E], Phase::Error, 5, R),
            (3, &[E, E, E, E, S, E, E, E, E], Phase::Running, 9, C),
            (3, &[E, E, E, E, F, E, E, E, E, E], Phase::Error, 10, R),
            // an Error does not count as a failure
            (1, &[E, F, E, S], Phase::Running, 4, C),
            // inconclusive: inconclusiveLimit 0, the first is enough, before failures
            (3, &[I], Phase::Inconclusive, 1, C),
            (1, &[F, I], Phase::Inconclusive, 2, C),
            (0, &[S, I], Phase::Inconclusive, 2, C),
        ];
        for (fl, seq, phase, n, d) in table {
            let got = run(&limits(*fl), seq);
            assert_eq!(got, (*phase, *n), "failureLimit {fl}, sequence {seq:?}");
            assert_eq!(
                decision(got.0, OnInconclusive::Hold),
                *d,
                "failureLimit {fl}, sequence {seq:?}"
            );
        }
        // The rollout's decision for each resulting phase.
        let hold = OnInconclusive::Hold;
        let abort = OnInconclusive::Rollback;
        assert_eq!(decision(Phase::Failed, hold), Decision::Rollback);
        assert_eq!(decision(Phase::Error, hold), Decision::Rollback);
        assert_eq!(decision(Phase::Inconclusive, hold), Decision::Continue);
        assert_eq!(decision(Phase::Inconclusive, abort), Decision::Rollback);
        assert_eq!(decision(Phase::Running, abort), Decision::Continue);
        assert_eq!(decision(Phase::Successful, abort), Decision::Continue);
    }

    #[test]
    fn later_limit_checks_override_earlier_ones() {
        // A result past two limits at once takes the later check's phase.
        let mut r = MetricResult {
            measurements: 10,
            failed: 2,
            inconclusive: 2,
            consecutive_error: 5,
            ..MetricResult::default()
        };
        let l = limits(0);
        assert_eq!(r.assess(&l, false), Phase::Error);
        r.consecutive_error = 0;
        assert_eq!(r.assess(&l, false), Phase::Inconclusive);
        r.inconclusive = 0;
        assert_eq!(r.assess(&l, false), Phase::Failed);
    }

    #[test]
    fn count_reached_without_breach_is_successful() {
        let l = Limits {
            count: Some(3),
            ..limits(1)
        };
        assert_eq!(run(&l, &[S, F, S]), (Phase::Successful, 3));
        // errors do not count towards `count`
        assert_eq!(run(&l, &[S, E, F, E, S]), (Phase::Successful, 5));
        assert_eq!(run(&l, &[F, F]), (Phase::Failed, 2));
        // a disabled failure limit (-1) needs consecutiveSuccessLimit; count reached without
        // it is Failed, and with failureLimit >= 0 it is Inconclusive
        let cs = Limits {
            count: Some(4),
            failure_limit: -1,
            consecutive_success_limit: 2,
            ..limits(0)
        };
        assert_eq!(run(&cs, &[F, F, F, F]), (Phase::Failed, 4));
        assert_eq!(run(&cs, &[F, S, S]), (Phase::Successful, 3));
        let cs0 = Limits {
            failure_limit: 2,
            ..cs
        };
        assert_eq!(run(&cs0, &[S, F, S, F]), (Phase::Inconclusive, 4));
        // terminated before count: Successful; before any measurement: Successful
        let r = MetricResult::default();
        assert_eq!(r.assess(&l, true), Phase::Successful);
        assert_eq!(r.assess(&l, false), Phase::Pending);
    }

    fn spec(failure_limit: i64, on_inconclusive: OnInconclusive) -> ArgoSpec {
        ArgoSpec {
            interval_ms: 60_000,
            initial_delay_ms: 0,
            count: None,
            failure_limit,
            inconclusive_limit: 0,
            consecutive_error_limit: 4,
            consecutive_success_limit: 0,
            error_rate: Conditions {
                success_below: Some(0.01),
                failure_above: Some(0.05),
            },
            latency_p99_ms: Conditions::default(),
            on_inconclusive,
            step_analysis: false,
        }
    }

    fn scrape(at_ms: u64, requests: u64, errors: u64) -> Scrape {
        let s = VersionSample {
            requests,
            errors,
            latency_p99_ms: None,
        };
        Scrape {
            at_ms,
            new: Some(s),
            old: None,
        }
    }

    fn lost(at_ms: u64) -> Scrape {
        Scrape {
            at_ms,
            new: None,
            old: None,
        }
    }

    /// Feeds one scrape every 15 s whose error ratio over each minute is `rates[k]` (None:
    /// lost scrapes), returning the decisions with the scrape time at which each came.
    fn drive(p: &mut ArgoAnalysis, minutes: &[Option<u64>]) -> Vec<(u64, Decision)> {
        let mut out = vec![];
        let mut t = 0;
        for errors in minutes {
            for _ in 0..4 {
                t += 15_000;
                let s = match errors {
                    Some(e) => scrape(t, 100, *e),
                    None => lost(t),
                };
                let d = p.on_scrape(&s);
                if d == Decision::Rollback {
                    out.push((t, d));
                }
            }
        }
        out
    }

    #[test]
    fn decisions_through_the_policy() {
        // failureLimit 0: the first failed measurement aborts.
        let mut p = ArgoAnalysis::new(spec(0, OnInconclusive::Hold));
        let d = drive(&mut p, &[Some(0), Some(0), Some(30), Some(30)]);
        assert_eq!(p.phase(), Phase::Failed);
        // measurements at 15 s, 75 s, 135 s: the third sees 30 errors in 400 requests
        assert_eq!(d, vec![(135_000, Decision::Rollback)]);

        // failureLimit 3: four failed measurements, a minute apart.
        let mut p = ArgoAnalysis::new(spec(3, OnInconclusive::Hold));
        let d = drive(&mut p, &[Some(10); 6]);
        assert_eq!(d, vec![(15_000 + 3 * 60_000, Decision::Rollback)]);

        // Inconclusive (3% errors: neither < 1% nor > 5%): hold stops without a rollback,
        // and no later failure is measured; "rollback" aborts.
        let mut p = ArgoAnalysis::new(spec(0, OnInconclusive::Hold));
        assert!(drive(&mut p, &[Some(3), Some(50), Some(50)]).is_empty());
        assert_eq!(p.phase(), Phase::Inconclusive);
        let mut p = ArgoAnalysis::new(spec(0, OnInconclusive::Rollback));
        assert_eq!(
            drive(&mut p, &[Some(3)]),
            vec![(15_000, Decision::Rollback)]
        );

        // reset() starts a new run
        p.reset();
        assert_eq!(p.phase(), Phase::Running);
    }

    #[test]
    fn no_data_errors_are_retried_every_scrape_and_abort_on_the_fifth() {
        let mut p = ArgoAnalysis::new(spec(0, OnInconclusive::Hold));
        // 5 lost scrapes in a row: measurements at each (the 10 s retry falls before the next
        // 15 s scrape); the 5th error exceeds consecutiveErrorLimit 4.
        let d = drive(&mut p, &[None, None]);
        assert_eq!(d, vec![(75_000, Decision::Rollback)]);
        assert_eq!(p.phase(), Phase::Error);
    }

    #[test]
    fn count_ends_the_run_successfully() {
        let mut s = spec(0, OnInconclusive::Hold);
        s.count = Some(2);
        let mut p = ArgoAnalysis::new(s);
        // two clean measurements (15 s, 75 s), then errors nobody measures
        assert!(drive(&mut p, &[Some(0), Some(0), Some(90), Some(90)]).is_empty());
        assert_eq!(p.phase(), Phase::Successful);
    }

    #[test]
    fn a_step_analysis_runs_only_from_its_gate_and_advances_when_successful() {
        let mut s = spec(0, OnInconclusive::Pause);
        s.count = Some(2);
        s.step_analysis = true;
        let mut p = ArgoAnalysis::new(s);
        // no step with an analysis yet: nothing is measured, even a failing interval
        assert_eq!(p.on_scrape(&scrape(60_000, 100, 90)), Decision::Continue);
        // the gate opens at 120 s: measurements at the scrapes after it, 180 s and 240 s
        p.on_step(Some(120_000));
        assert_eq!(p.on_scrape(&scrape(120_000, 100, 90)), Decision::Continue);
        assert_eq!(p.on_scrape(&scrape(180_000, 100, 0)), Decision::Continue);
        assert_eq!(p.on_scrape(&scrape(240_000, 100, 0)), Decision::Advance);
        assert_eq!(p.phase(), Phase::Successful);
        // a step without analysis: idle; the next gated step starts a new run
        p.on_step(None);
        assert_eq!(p.on_scrape(&scrape(300_000, 100, 90)), Decision::Continue);
        p.on_step(Some(300_000));
        assert_eq!(p.on_scrape(&scrape(360_000, 100, 3)), Decision::Pause);
        p.on_step(Some(360_000));
        assert_eq!(p.on_scrape(&scrape(420_000, 100, 90)), Decision::Rollback);
    }

    #[test]
    fn a_background_analysis_ignores_steps() {
        let mut p = ArgoAnalysis::new(spec(0, OnInconclusive::Hold));
        p.on_step(Some(600_000));
        assert_eq!(p.on_scrape(&scrape(60_000, 100, 90)), Decision::Rollback);
    }

    #[test]
    fn two_metrics_run_phase_is_the_worst() {
        let mut s = spec(0, OnInconclusive::Hold);
        s.latency_p99_ms = Conditions {
            success_below: None,
            failure_above: Some(500.0),
        };
        let mut p = ArgoAnalysis::new(s);
        assert!(p.needs().latency);
        let mut sc = scrape(15_000, 100, 0);
        if let Some(v) = sc.new.as_mut() {
            v.latency_p99_ms = Some(900.0);
        }
        assert_eq!(p.on_scrape(&sc), Decision::Rollback);
        assert_eq!(p.phase(), Phase::Failed);
    }
}
