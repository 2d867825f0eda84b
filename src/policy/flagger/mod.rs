//! `flagger`: Flagger's canary analysis with the built-in `request-success-rate` and
//! `request-duration` metrics on the new (canary) version.
//!
//! # Parameters (Flagger name → rollsim key, default)
//!
//! | Flagger field | rollsim key | default |
//! |---|---|---|
//! | `analysis.interval` | `interval` | `"1m"`; below 10 s it becomes 10 s (`GetAnalysisInterval`) |
//! | `analysis.threshold` | `threshold` | 1; a value <= 0 becomes 1 (`GetAnalysisThreshold`) |
//! | `metrics[].interval` | `metric_interval` | `"1m"` (`MetricInterval`) |
//! | `request-success-rate` `thresholdRange.min` (%) | `request_success_rate_min` | unset |
//! | `request-duration` `thresholdRange.max` (ms) | `request_duration_p99_max` | unset |
//!
//! At least one of the two metrics is required. The success rate is `100 × (1 − errors /
//! requests)` of the new version over the last `metric_interval` of scrapes; the duration is
//! the mean scraped p99 over the same range.
//!
//! # Semantics, from Flagger's source (fluxcd/flagger)
//!
//! - Defaults and clamps, `pkg/apis/flagger/v1beta1/canary.go`: `AnalysisInterval = 60s`,
//!   `GetAnalysisInterval` raises anything under 10 s to 10 s, `GetAnalysisThreshold` turns
//!   a threshold <= 0 into 1, `MetricInterval = "1m"`.
//! - One check per tick, `pkg/controller/scheduler_metrics.go: runBuiltinMetricChecks`: a
//!   success rate `< min` or a duration `> max` fails the check; a query with no value
//!   (`ErrNoValuesFound`, which the Prometheus provider returns for NaN, as `0/0` is when the
//!   canary served nothing) fails it too ("Halt advancement no values found").
//! - `pkg/controller/scheduler.go: advanceCanary`: a failed check does
//!   `SetStatusFailedChecks(FailedChecks+1)`; a successful one leaves the count alone, so
//!   failed checks are cumulative over the analysis and reset only when a new revision
//!   restarts it. The rollback test `FailedChecks >= GetAnalysisThreshold()` runs at the top
//!   of a tick, before that tick's checks: the rollback comes one `interval` after the
//!   threshold-th failed check.
//! - The tick that first routes traffic to the canary runs no metric check (the
//!   `canaryWeight == 0 && Iterations == 0` branch runs only pre-rollout hooks), so the first
//!   check comes one `interval` after the analysis starts; here the analysis starts at the
//!   first scrape after the deploy.
//!
//! - Traffic, `advanceCanary` (scheduler.go:449-503): a failed check returns before any
//!   traffic change; a passing one runs `runCanary` (the weight grows by `nextStepWeight`
//!   while below `maxWeight`; at it, promotion), `runAB` (one iteration more; at
//!   `iterations`, promotion) or `runBlueGreen`. So the policy answers
//!   [`Decision::Advance`] on each passing check and gates every step of its rollout but
//!   the last (the promotion); `step_weight`, `step_weights`, `max_weight` and `iterations`
//!   build those steps ([`weights`]).
//!
//! Model limits: ticks happen at scrape arrivals (a tick due
//! between scrapes runs at the next one); the progress deadline and webhooks are not
//! modelled. A failed canary is retried only by the scenario's `[pipeline]`.

mod spec;

pub use spec::{weights, FlaggerSpec, Raw};

use super::window::Recent;
use super::{Decision, Needs, Policy, Scrape};

/// Flagger's analysis of the canary: cumulative failed checks against a threshold.
#[derive(Debug, Clone)]
pub struct Flagger {
    spec: FlaggerSpec,
    recent: Recent,
    next_tick_ms: Option<u64>,
    failed_checks: u32,
}

impl Flagger {
    pub fn new(spec: FlaggerSpec) -> Self {
        Flagger {
            recent: Recent::new(spec.metric_interval_ms),
            spec,
            next_tick_ms: None,
            failed_checks: 0,
        }
    }

    /// `Status.FailedChecks`.
    pub fn failed_checks(&self) -> u32 {
        self.failed_checks
    }

    /// `runBuiltinMetricChecks` at `now`: whether every metric passes.
    fn check(&self, now: u64) -> bool {
        let t = self.recent.new_totals(now, self.spec.metric_interval_ms);
        if let Some(min) = self.spec.request_success_rate_min {
            match t.error_rate() {
                None => return false, // no values found
                Some(r) if 100.0 * (1.0 - r) < min => return false,
                Some(_) => {}
            }
        }
        if let Some(max) = self.spec.request_duration_p99_max_ms {
            match t.p99_ms() {
                None => return false,
                Some(p99) if p99 > max => return false,
                Some(_) => {}
            }
        }
        true
    }
}

impl Policy for Flagger {
    fn needs(&self) -> Needs {
        Needs {
            scrapes: true,
            latency: self.spec.request_duration_p99_max_ms.is_some(),
            health_checks: false,
            gauges: false,
        }
    }

    fn reset(&mut self) {
        self.recent.clear();
        self.next_tick_ms = None;
        self.failed_checks = 0;
    }

    fn on_scrape(&mut self, scrape: &Scrape) -> Decision {
        let now = scrape.at_ms;
        self.recent.push(scrape);
        let interval = self.spec.interval_ms;
        let next = *self.next_tick_ms.get_or_insert(now + interval);
        if now < next {
            return Decision::Continue;
        }
        // The ticker keeps its period: skip ticks missed between scrapes.
        let mut n = next;
        while n <= now {
            n += interval;
        }
        self.next_tick_ms = Some(n);
        if self.failed_checks >= self.spec.threshold {
            return Decision::Rollback;
        }
        if !self.check(now) {
            self.failed_checks += 1;
            return Decision::Continue;
        }
        // advanceCanary: a passing check moves the weight (runCanary), the iteration count
        // (runAB), or promotes at the maximum weight.
        Decision::Advance
    }

    fn gates_every_step(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::super::VersionSample;
    use super::*;

    fn spec(threshold: u32) -> FlaggerSpec {
        FlaggerSpec {
            interval_ms: 60_000,
            threshold,
            metric_interval_ms: 60_000,
            request_success_rate_min: Some(99.0),
            request_duration_p99_max_ms: None,
        }
    }

    /// One scrape a minute; `checks[k]` is whether minute k is healthy (`None`: no data).
    /// Returns the index of the scrape at which the policy rolled back.
    fn drive(p: &mut Flagger, checks: &[Option<bool>]) -> Option<usize> {
        for (k, c) in checks.iter().enumerate() {
            let at_ms = (k as u64 + 1) * 60_000;
            let new = c.map(|ok| VersionSample {
                requests: 1000,
                errors: if ok { 0 } else { 50 },
                latency_p99_ms: Some(100.0),
                gauges: Default::default(),
            });
            let d = p.on_scrape(&Scrape {
                at_ms,
                new,
                old: None,
            });
            if d == Decision::Rollback {
                return Some(k);
            }
        }
        None
    }

    /// (threshold, per-minute health, failed checks counted, scrape index of the rollback)
    type Case<'a> = (u32, &'a [Option<bool>], u32, Option<usize>);

    #[test]
    fn cumulative_failed_checks_conformance_table() {
        let g = Some(true);
        let b = Some(false);
        let n = None;
        // (threshold, per-minute health from the first scrape, failed checks counted,
        //  scrape index of the rollback). Scrape 0 starts the analysis and is not checked;
        // the rollback comes at the tick after the threshold-th failed check.
        let table: &[Case] = &[
            (1, &[b, b], 1, None),
            (1, &[g, b, g], 1, Some(2)),
            (2, &[g, b, g, b, g], 2, Some(4)),
            // a success never resets the count: 3 failures spread out still reach 3
            (3, &[g, b, g, g, b, g, g, b, g], 3, Some(8)),
            (3, &[g, b, g, g, b, g, g, g, g], 2, None),
            // no data is a failed check
            (2, &[g, n, n, g], 2, Some(3)),
            (5, &[g, b, b, b, b, g, g], 4, None),
        ];
        for (threshold, seq, failed, rollback) in table {
            let mut p = Flagger::new(spec(*threshold));
            let got = drive(&mut p, seq);
            assert_eq!(got, *rollback, "threshold {threshold}, sequence {seq:?}");
            assert_eq!(p.failed_checks(), *failed, "threshold {threshold}, {seq:?}");
        }
    }

    #[test]
    fn checks_use_the_metric_interval_and_strict_bounds() {
        let mut s = spec(1);
        s.request_success_rate_min = Some(99.0);
        s.request_duration_p99_max_ms = Some(500.0);
        let mut p = Flagger::new(s);
        let sample = |errors: u64, p99: f64| VersionSample {
            requests: 1000,
            errors,
            latency_p99_ms: Some(p99),
            gauges: Default::default(),
        };
        let at = |p: &mut Flagger, at_ms: u64, v: VersionSample| {
            p.on_scrape(&Scrape {
                at_ms,
                new: Some(v),
                old: None,
            })
        };
        at(&mut p, 60_000, sample(0, 100.0));
        // exactly 99% success and exactly 500 ms pass (`val < min`, `val > max` fail)
        at(&mut p, 120_000, sample(10, 500.0));
        assert_eq!(p.failed_checks(), 0);
        at(&mut p, 180_000, sample(0, 501.0));
        assert_eq!(p.failed_checks(), 1);
        assert_eq!(at(&mut p, 240_000, sample(0, 100.0)), Decision::Rollback);
        p.reset();
        assert_eq!(p.failed_checks(), 0);
    }

    #[test]
    fn a_passing_check_advances_and_a_failed_one_holds() {
        // scheduler.go: a failed check returns before runCanary; a passing one advances.
        let mut p = Flagger::new(spec(5));
        assert!(p.gates_every_step());
        let mut answers = vec![];
        for (k, ok) in [true, true, false, true, false, false].iter().enumerate() {
            let new = Some(VersionSample {
                requests: 1000,
                errors: if *ok { 0 } else { 50 },
                latency_p99_ms: None,
                gauges: Default::default(),
            });
            let at_ms = (k as u64 + 1) * 60_000;
            answers.push(p.on_scrape(&Scrape {
                at_ms,
                new,
                old: None,
            }));
        }
        use Decision::{Advance as A, Continue as C};
        // the first scrape starts the analysis (no check)
        assert_eq!(answers, vec![C, A, C, A, C, C]);
        assert_eq!(p.failed_checks(), 3);
    }

    #[test]
    fn ticks_keep_their_period_between_scrapes() {
        // 15 s scrapes, 1 m interval: checks at 75 s, 135 s, ... over the last minute.
        let mut p = Flagger::new(spec(2));
        let mut rollback_at = None;
        for k in 1..=40u64 {
            let at_ms = k * 15_000;
            let s = VersionSample {
                requests: 100,
                errors: 5,
                latency_p99_ms: None,
                gauges: Default::default(),
            };
            let d = p.on_scrape(&Scrape {
                at_ms,
                new: Some(s),
                old: None,
            });
            if d == Decision::Rollback {
                rollback_at = Some(at_ms);
                break;
            }
        }
        // failed checks at 75 s and 135 s; the rollback at the next tick, 195 s
        assert_eq!(rollback_at, Some(195_000));
    }
}
