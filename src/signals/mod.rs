//! What automation can observe, drawn from the truth: the scrape of each interval (lost
//! sometimes, with the sampling error of a scraped quantile), delivered after the metric
//! delay; and health checks of the new version. A game day also exposes counters and
//! histograms ([`exposition`]).
//!
//! The truth arrives as plain numbers the engine takes from the model ([`Served`], the
//! probe's [`ProbeTruth`]); this module never reads the model, and a policy never sees more
//! than the [`Scrape`]s and probe results drawn here.

pub mod exposition;
pub mod faults;
pub mod gauges;

use crate::policy::{Needs, Scrape, VersionSample};
use crate::scenario::{HealthCheck, Scenario};
use crate::sim::rng::sample::{scraped_p99, TailCache};
use crate::sim::rng::{stream, stream_at, Stream, StreamRng, BLOCK_TICKS};
use faults::SignalFaults;
use gauges::{GaugeLevels, GaugeReader};
use rand::Rng;
use std::collections::VecDeque;

/// What each version (old, new) served in one interval, as the engine drew it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Served {
    pub requests: [u64; 2],
    pub errors: [u64; 2],
    /// Log-mean latency (ms).
    pub mu: [f64; 2],
    /// The new version's share of the traffic in the interval.
    pub share: f64,
    /// Each version's true gauges, when something reads them.
    pub gauges: Option<[GaugeLevels; 2]>,
}

/// The truth a health check of the new version probes, at the probe's instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProbeTruth {
    /// Probability that a request to the new version fails.
    pub error_prob: f64,
    /// Log-mean latency (ms) of the new version.
    pub latency_mu: f64,
    /// Failure probability forced by a flapping probe (0 when none).
    pub flapping: f64,
    /// Share of replicas gone.
    pub capacity_loss: f64,
}

/// A scrape on its way to the policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pending {
    /// When the policy can see it (the scrape's end plus the metric delay).
    pub deliver_ms: u64,
    /// The deploy attempt it was scraped in.
    pub attempt: u32,
    pub scrape: Scrape,
}

/// The observation stage of one replication.
pub struct Signals {
    seed: u64,
    needs: Needs,
    sigma: f64,
    metric_delay_ms: u64,
    missing_scrape_probability: f64,
    health_check: HealthCheck,
    scrape: StreamRng,
    latency: StreamRng,
    health: StreamRng,
    /// The number of the health check whose draw comes next in `health` (see
    /// [`Signals::probe_draw`]).
    next_probe: u64,
    pending: VecDeque<Pending>,
    timeout_tail: TailCache,
    /// The signal's own faults, if the scenario has any.
    faults: Option<Box<SignalFaults>>,
    /// The gauge readings' noise, when something reads the gauges.
    gauges: Option<GaugeReader>,
    /// Whether the traffic is drawn in blocks (see [`Signals::in_blocks`]).
    blocks: bool,
    /// The number of the scrape whose draw comes next in `scrape`, and the block whose
    /// latency stream `latency` is (blocks only).
    next_scrape: u64,
    latency_block: u64,
}

impl Signals {
    /// The signals of the run whose seed is `seed`, drawing what `needs` asks for;
    /// `sigma` is the log-sd of the service's latency.
    pub fn new(seed: u64, s: &Scenario, needs: Needs, sigma: f64) -> Self {
        Signals {
            seed,
            needs,
            sigma,
            metric_delay_ms: s.signals.metric_delay_ms,
            missing_scrape_probability: s.signals.missing_scrape_probability,
            health_check: s.health_check.clone(),
            scrape: stream(seed, Stream::Scrape),
            latency: stream(seed, Stream::Latency),
            health: stream(seed, Stream::Health),
            next_probe: 0,
            pending: VecDeque::new(),
            timeout_tail: TailCache::default(),
            faults: None,
            gauges: needs
                .gauges
                .then(|| GaugeReader::new(seed, s.signals.gauge_noise_sd)),
            blocks: false,
            next_scrape: 0,
            latency_block: u64::MAX,
        }
    }

    /// The same signals for traffic drawn in blocks, whose unobserved blocks may be skipped
    /// whole: scrape `k` (of the interval at `k` scrape intervals) reads the `k`-th u64 of
    /// the scrape stream, and the latency of a block's scrapes comes from a stream keyed by
    /// the block, so the scrapes skipped never move those drawn.
    pub fn in_blocks(mut self) -> Self {
        self.blocks = true;
        self
    }

    /// Whether the scenario has signal faults (whose state moves at every scrape).
    #[inline]
    pub fn has_faults(&self) -> bool {
        self.faults.is_some()
    }

    /// The same signals with the run's signal faults among its fault occurrences
    /// `(fault index, start, end)` (see [`faults`]).
    pub fn with_faults(
        mut self,
        seed: u64,
        s: &Scenario,
        windows: impl IntoIterator<Item = (usize, u64, u64)>,
    ) -> Self {
        self.faults = SignalFaults::new(seed, s, windows).map(Box::new);
        self
    }

    /// The observations drawn.
    #[inline]
    pub fn needs(&self) -> Needs {
        self.needs
    }

    /// Forgets the scrapes in flight (a new deploy starts).
    pub fn forget(&mut self) {
        self.pending.clear();
    }

    /// The next scrape whose delay has passed at `t`, if any.
    #[inline]
    pub fn due(&mut self, t: u64) -> Option<Pending> {
        if self.pending.front().is_some_and(|p| p.deliver_ms <= t) {
            self.pending.pop_front()
        } else {
            None
        }
    }

    /// The next scrape whose delay has passed at `t`, if any, left in place: a scrape is
    /// about 200 bytes, read where it waits instead of copied out ([`Self::delivered`]
    /// then removes it).
    #[inline]
    pub fn peek_due(&self, t: u64) -> Option<&Pending> {
        self.pending.front().filter(|p| p.deliver_ms <= t)
    }

    /// Removes the scrape [`Self::peek_due`] showed: it was delivered.
    #[inline]
    pub fn delivered(&mut self) {
        self.pending.pop_front();
    }

    /// The scrape of `[t, t + dt)` in deploy `attempt`, sent on its way to the policy;
    /// returns what it showed, `None` when it was lost (or `gap`: a metrics pipeline gap).
    #[inline]
    pub fn scrape(
        &mut self,
        t: u64,
        dt: u64,
        attempt: u32,
        served: &Served,
        gap: bool,
    ) -> Option<Scrape> {
        if self.blocks {
            let k = t / dt.max(1);
            if k != self.next_scrape {
                self.scrape.set_word_pos(2 * u128::from(k));
            }
            self.next_scrape = k + 1;
            let b = k / BLOCK_TICKS as u64;
            if b != self.latency_block {
                self.latency = stream_at(self.seed, b, Stream::Latency);
                self.latency_block = b;
            }
        }
        let mut lost = self.scrape.random::<f64>() < self.missing_scrape_probability;
        let at_ms = t + dt;
        let faulty;
        if let Some(f) = &mut self.faults {
            if lost || gap {
                // Nothing read, yet the pods counted.
                f.count(served);
            }
        }
        let served = match &mut self.faults {
            Some(f) if !(lost || gap) => match f.apply(t, dt, served.share, served) {
                Some(seen) => {
                    faulty = seen;
                    &faulty
                }
                None => {
                    lost = true;
                    served
                }
            },
            _ => served,
        };
        let scrape = if lost || gap {
            Scrape {
                at_ms,
                new: None,
                old: None,
            }
        } else {
            let (sigma, latency) = (self.sigma, self.needs.latency);
            let rng = &mut self.latency;
            let mut sample = |v: usize| {
                let n = served.requests[v];
                VersionSample {
                    requests: n,
                    errors: served.errors[v],
                    latency_p99_ms: (latency && n > 0)
                        .then(|| scraped_p99(rng, served.mu[v], sigma, n)),
                    gauges: Default::default(),
                }
            };
            let mut new = sample(1);
            let mut old = sample(0);
            if let (Some(reader), Some([o, n])) = (&mut self.gauges, served.gauges) {
                old.gauges = reader.scrape(&o);
                new.gauges = reader.scrape(&n);
            }
            Scrape {
                at_ms,
                new: Some(new),
                old: Some(old),
            }
        };
        self.pending.push_back(Pending {
            deliver_ms: at_ms + self.metric_delay_ms,
            attempt,
            scrape,
        });
        (!(lost || gap)).then_some(scrape)
    }

    /// The scrape of `[t, t + dt)` drawn as [`Self::scrape`] draws it (scrape `k` at its
    /// own position in the scrape stream: blocks only), for a timeline's row alone: sent to
    /// nobody. A system's block nobody observes has its rows written when its counts are
    /// drawn, at its end, and their scrapes with them.
    pub fn scrape_unsent(
        &mut self,
        t: u64,
        dt: u64,
        attempt: u32,
        served: &Served,
        gap: bool,
    ) -> Option<Scrape> {
        let seen = self.scrape(t, dt, attempt, served, gap);
        self.pending.pop_back();
        seen
    }

    /// The uniform draw of health check number `k` (the one at `k` health-check intervals
    /// from time 0). Check `k` reads the `k`-th 64-bit word pair of the health stream
    /// whatever was drawn before it, so the checks nobody reads need not be drawn at all,
    /// and the stream still does not depend on the policy.
    #[inline]
    pub fn probe_draw(&mut self, k: u64) -> f64 {
        if k != self.next_probe {
            // A ChaCha word is 32 bits; one uniform f64 reads one u64: two words.
            self.health.set_word_pos(2 * u128::from(k));
        }
        self.next_probe = k + 1;
        self.health.random()
    }

    /// The result of a health check whose draw is `u`, against `truth`.
    #[inline]
    pub fn probe(&mut self, u: f64, truth: &ProbeTruth) -> bool {
        let hc = &self.health_check;
        let flaky = hc.false_failure_probability.max(truth.flapping);
        let slow = self
            .timeout_tail
            .get(truth.latency_mu, self.sigma, hc.timeout_ms as f64);
        let ok_prob =
            (1.0 - flaky) * (1.0 - truth.error_prob) * (1.0 - slow) * (1.0 - truth.capacity_loss);
        u < ok_prob
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse;

    fn signals(seed: u64) -> Signals {
        let s = match parse("[simulation]\nduration = \"1h\"\n", "t") {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        Signals::new(seed, &s, Needs::default(), 0.5)
    }

    #[test]
    fn a_health_check_draws_the_same_whatever_checks_were_skipped() {
        // Every check drawn in turn: check k reads the k-th u64 of the health stream.
        let mut all = signals(11);
        let drawn: Vec<f64> = (0..200).map(|k| all.probe_draw(k)).collect();
        let mut plain = stream(11, Stream::Health);
        let expected: Vec<f64> = (0..200).map(|_| plain.random::<f64>()).collect();
        assert_eq!(drawn, expected);

        // Checks drawn with gaps (across ChaCha blocks of 16 words, both ways of
        // landing on a block's edge): each equals its draw in the full sequence.
        let mut sparse = signals(11);
        for k in [0u64, 1, 7, 8, 9, 31, 32, 33, 100, 101, 150, 199] {
            assert_eq!(sparse.probe_draw(k), drawn[k as usize], "check {k}");
        }
    }
}
