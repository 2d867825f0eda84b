//! Faults of the signal, not of the service: the scrape shows something other than what
//! was served. Users of Argo Rollouts, Flagger and Kayenta trace most false aborts and
//! false passes to these (`docs/scenarios.md`, "Signal faults"): new pods that look slow
//! and failing while they warm up, a canary that sees a handful of requests at night, a
//! metrics query that errors or answers NaN.
//!
//! They act on the observation path only: the engine's truth, and so every request that
//! really failed and everything the scorer counts, is the same with or without them. They
//! draw from their own stream ([`Stream::SignalFaults`]), and only when the scenario has
//! one, so a scenario without them draws and decides exactly as before.
//!
//! A fault is active for the scrape of `[t, t + dt)` when its occurrence holds `t` (a
//! fault that starts between two scrapes shows from the next one, as the service's faults
//! do).
//!
//! `counter_reset` reads as Prometheus would (see [`counter_reset`]); `warm_up` follows
//! the cohorts of new pods as they warm (see [`warm_up`]).

mod counter_reset;
mod warm_up;

pub use counter_reset::reading_after_restart;
pub use warm_up::mean_decay;

use super::Served;
use crate::scenario::{FaultEffect, Scenario, SignalFault};
use crate::sim::rng::sample::binomial;
use crate::sim::rng::{stream, Stream, StreamRng};
use rand::Rng;
use warm_up::Cohort;

/// One occurrence of a signal fault in one run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Occurrence {
    pub start_ms: u64,
    /// Exclusive end.
    pub end_ms: u64,
    pub fault: SignalFault,
}

/// The signal faults of one run and the state they keep (the warming cohorts).
#[derive(Debug, Clone)]
pub struct SignalFaults {
    occurrences: Vec<Occurrence>,
    /// The longest warm-up decay (0 without a warm-up: no cohort is kept).
    decay_max_ms: u64,
    cohorts: Vec<Cohort>,
    /// The new version's share at the last scrape.
    share: f64,
    /// The new version's counters (requests, errors) summed over its pods at the last
    /// sample; kept only with a `counter_reset`.
    counters: Option<[u64; 2]>,
    /// The service's replicas (the new version's pods are its share of them).
    replicas: u32,
    rng: StreamRng,
}

impl SignalFaults {
    /// The signal faults among the run's fault occurrences `(fault index, start, end)`;
    /// `None` when there is none (the scrape path then does nothing more).
    pub fn new(
        seed: u64,
        s: &Scenario,
        windows: impl IntoIterator<Item = (usize, u64, u64)>,
    ) -> Option<Self> {
        let occurrences: Vec<Occurrence> = windows
            .into_iter()
            .filter_map(|(i, start_ms, end_ms)| match s.faults.get(i)?.effect {
                FaultEffect::Signal(fault) => Some(Occurrence {
                    start_ms,
                    end_ms,
                    fault,
                }),
                _ => None,
            })
            .collect();
        if occurrences.is_empty() {
            return None;
        }
        let decay_max_ms = occurrences
            .iter()
            .filter_map(|o| match o.fault {
                SignalFault::WarmUp { decay_ms, .. } => Some(decay_ms),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        let resets = occurrences
            .iter()
            .any(|o| matches!(o.fault, SignalFault::CounterReset { .. }));
        Some(SignalFaults {
            occurrences,
            decay_max_ms,
            cohorts: Vec::new(),
            share: 0.0,
            counters: resets.then_some([0, 0]),
            replicas: s.service.replicas,
            rng: stream(seed, Stream::SignalFaults),
        })
    }

    /// The samples a `rate()` over `window_ms` holds when the query is evaluated at a
    /// uniform phase after the latest scrape, scrapes `dt` apart, each landing uniformly
    /// within `jitter_ms` of its slot. Without jitter, two samples or more with probability
    /// `min(1, max(0, window/dt - 1))`.
    fn samples_in_window(&mut self, dt: u64, window_ms: u64, jitter_ms: u64) -> u32 {
        let (dt, w, j) = (dt as f64, window_ms as f64, jitter_ms as f64);
        let phase = self.rng.random::<f64>() * dt;
        let mut n = 0;
        // Slots before the evaluation: phase, phase + dt, ...; one beyond the window
        // may land inside it by jitter.
        let mut k = 0.0;
        while phase + k * dt - j < w {
            let off = if j > 0.0 {
                (self.rng.random::<f64>() * 2.0 - 1.0) * j
            } else {
                0.0
            };
            let age = phase + k * dt + off;
            n += u32::from(age >= 0.0 && age < w);
            k += 1.0;
        }
        n
    }

    /// What the scrape of `[t, t + dt)` counts, given what was `served` while the new
    /// version had `share` of the traffic; `None` when the query failed (no data).
    pub fn apply(&mut self, t: u64, dt: u64, share: f64, served: &Served) -> Option<Served> {
        self.track(t, share);
        let before = self.count(served);
        let mut seen = *served;
        for k in 0..self.occurrences.len() {
            let o = self.occurrences[k];
            if !(o.start_ms <= t && t < o.end_ms) {
                continue;
            }
            match o.fault {
                SignalFault::QueryError {
                    failure_probability,
                } => {
                    if self.rng.random::<f64>() < failure_probability {
                        return None;
                    }
                }
                SignalFault::ScrapeJitter {
                    rate_window_ms,
                    jitter_ms,
                } => {
                    if self.samples_in_window(dt, rate_window_ms, jitter_ms) < 2 {
                        return None;
                    }
                }
                SignalFault::WarmUp {
                    latency_factor,
                    error_rate,
                    decay_ms,
                } => {
                    let w = self.warm_weight(t, dt, decay_ms);
                    let ok = seen.requests[1] - seen.errors[1].min(seen.requests[1]);
                    seen.errors[1] += binomial(&mut self.rng, ok, error_rate * w);
                    seen.mu[1] += (1.0 + (latency_factor - 1.0) * w).ln();
                }
                SignalFault::LowTraffic { request_rate } => {
                    let n = seen.requests[1];
                    if n > 0 {
                        let keep = (request_rate * dt as f64 / 1000.0 / n as f64).min(1.0);
                        let e = seen.errors[1].min(n);
                        let errors = binomial(&mut self.rng, e, keep);
                        let ok = binomial(&mut self.rng, n - e, keep);
                        seen.errors[1] = errors;
                        seen.requests[1] = errors + ok;
                    }
                }
                SignalFault::CounterReset {
                    restarts_per_hour,
                    sum_then_rate,
                } => {
                    let p = 1.0 - (-restarts_per_hour * dt as f64 / 3_600_000.0).exp();
                    if share <= 0.0 || self.rng.random::<f64>() >= p {
                        continue;
                    }
                    let pods = ((share * f64::from(self.replicas)).round() as u64).max(1);
                    let u = self.rng.random::<f64>();
                    let e = seen.errors[1].min(seen.requests[1]);
                    let ok = seen.requests[1] - e;
                    let rng = &mut self.rng;
                    let (pe, pok) = (
                        binomial(rng, e, 1.0 / pods as f64),
                        binomial(rng, ok, 1.0 / pods as f64),
                    );
                    let (le, lok) = (binomial(rng, pe, u), binomial(rng, pok, u));
                    let (n, sum_n) = reading_after_restart(
                        before[0],
                        pods,
                        seen.requests[1],
                        pe + pok,
                        le + lok,
                        sum_then_rate,
                    );
                    let (k, sum_e) =
                        reading_after_restart(before[1], pods, e, pe, le, sum_then_rate);
                    seen.requests[1] = n;
                    seen.errors[1] = k.min(n);
                    self.counters = Some([sum_n, sum_e]);
                }
                SignalFault::PreExistingAlarm { error_rate } => {
                    for v in 0..2 {
                        let ok = seen.requests[v] - seen.errors[v].min(seen.requests[v]);
                        seen.errors[v] += binomial(&mut self.rng, ok, error_rate);
                    }
                }
            }
        }
        Some(seen)
    }
}

#[cfg(test)]
mod tests;
