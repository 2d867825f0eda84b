//! The metrics a game day exposes to a real Prometheus: monotonic request and error
//! counters, latency histogram buckets, probe counts, the versions' gauges (with a
//! capacity), and a short history of intervals for the dashboards.
//!
//! The bucket counts come from their own stream ([`Stream::Exposition`]), which nothing
//! else reads: exposing metrics never changes a run.

use super::gauges::GaugeLevels;
use super::Served;
use crate::sim::rng::sample::{binomial, lognormal_tail, scraped_p99};
use crate::sim::rng::{stream, Stream, StreamRng};
use serde::Serialize;
use std::collections::VecDeque;

/// Upper bounds (seconds) of the exposed latency histogram: Prometheus' default buckets.
pub const LATENCY_BUCKETS_S: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How many ticks of history a game keeps for its dashboards.
const HISTORY: usize = 720;

/// Monotonic totals since the start of the game, as a Prometheus client would count
/// them; index 0 is the old (stable) version, 1 the new one.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Counters {
    pub requests: [u64; 2],
    pub errors: [u64; 2],
    /// Cumulative bucket counts: requests at or under each of [`LATENCY_BUCKETS_S`].
    pub latency_buckets: [[u64; 11]; 2],
    /// Sum of request latencies (seconds), from the mean of the latency distribution.
    pub latency_sum_s: [f64; 2],
    /// Probes of the new version: [passed, failed].
    pub health_checks: [u64; 2],
    /// The last interval's true gauges of each version (CPU, saturation, queue length):
    /// with a capacity (`capacity_rps`), while the new version exists; not totals, but
    /// read with them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gauges: Option<[GaugeLevels; 2]>,
}

/// One scrape interval as the team's dashboards show it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LiveTick {
    pub t_ms: u64,
    pub requests: [u64; 2],
    pub errors: [u64; 2],
    /// The scraped p99 (ms), when the scrape arrived and the version served requests.
    pub p99_ms: [Option<f64>; 2],
}

/// The exposed metrics of one game.
pub struct Exposition {
    rng: StreamRng,
    sigma: f64,
    /// The totals so far.
    pub counters: Counters,
    /// The last intervals (at most 720), oldest first.
    pub history: VecDeque<LiveTick>,
}

impl Exposition {
    /// The exposition of the run whose seed is `seed`; `sigma` is the latency's log-sd.
    pub fn new(seed: u64, sigma: f64) -> Self {
        Exposition {
            rng: stream(seed, Stream::Exposition),
            sigma,
            counters: Counters::default(),
            history: VecDeque::with_capacity(HISTORY),
        }
    }

    /// Counts a probe of the new version.
    pub fn health_check(&mut self, ok: bool) {
        self.counters.health_checks[usize::from(!ok)] += 1;
    }

    /// Counts one interval's requests: totals, errors and latency buckets per version.
    /// `p99_ms` is what the policy's scrape showed; `unscraped` says no policy scrape was
    /// drawn (before the deploy), when the dashboards draw their own.
    pub fn tick(&mut self, t: u64, served: &Served, p99_ms: [Option<f64>; 2], unscraped: bool) {
        let Served {
            requests,
            errors,
            mu,
            ..
        } = *served;
        let sigma = self.sigma;
        let c = &mut self.counters;
        c.gauges = served.gauges;
        for v in 0..2 {
            let n = requests[v];
            c.requests[v] += n;
            c.errors[v] += errors[v];
            if n == 0 {
                continue;
            }
            let mean_s = (mu[v] + sigma.powi(2) / 2.0).exp() / 1000.0;
            c.latency_sum_s[v] += n as f64 * mean_s;
            // A multinomial draw over the buckets as a chain of conditional binomials.
            let (mut left, mut above, mut at_or_under) = (n, 1.0, 0);
            for (i, le) in LATENCY_BUCKETS_S.iter().enumerate() {
                let tail = lognormal_tail(mu[v], sigma, le * 1000.0);
                let k = if above > 0.0 {
                    binomial(
                        &mut self.rng,
                        left,
                        ((above - tail) / above).clamp(0.0, 1.0),
                    )
                } else {
                    0
                };
                left -= k;
                at_or_under += k;
                above = tail;
                c.latency_buckets[v][i] += at_or_under;
            }
        }
        // Before the deploy no policy scrape is drawn: the dashboards still show a p99,
        // drawn from this state's own stream (a lost scrape stays a gap).
        let mut p99_ms = p99_ms;
        for v in 0..2 {
            if unscraped && requests[v] > 0 {
                p99_ms[v] = Some(scraped_p99(&mut self.rng, mu[v], sigma, requests[v]));
            }
        }
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(LiveTick {
            t_ms: t,
            requests,
            errors,
            p99_ms,
        });
    }
}
