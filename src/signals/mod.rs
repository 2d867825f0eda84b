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

use crate::policy::{Needs, Scrape, VersionSample};
use crate::scenario::{HealthCheck, Scenario};
use crate::sim::rng::sample::{scraped_p99, TailCache};
use crate::sim::rng::{stream, Stream, StreamRng};
use faults::SignalFaults;
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
    needs: Needs,
    sigma: f64,
    metric_delay_ms: u64,
    missing_scrape_probability: f64,
    health_check: HealthCheck,
    scrape: StreamRng,
    latency: StreamRng,
    health: StreamRng,
    pending: VecDeque<Pending>,
    timeout_tail: TailCache,
    /// The signal's own faults, if the scenario has any.
    faults: Option<Box<SignalFaults>>,
}

impl Signals {
    /// The signals of the run whose seed is `seed`, drawing what `needs` asks for;
    /// `sigma` is the log-sd of the service's latency.
    pub fn new(seed: u64, s: &Scenario, needs: Needs, sigma: f64) -> Self {
        Signals {
            needs,
            sigma,
            metric_delay_ms: s.signals.metric_delay_ms,
            missing_scrape_probability: s.signals.missing_scrape_probability,
            health_check: s.health_check.clone(),
            scrape: stream(seed, Stream::Scrape),
            latency: stream(seed, Stream::Latency),
            health: stream(seed, Stream::Health),
            pending: VecDeque::new(),
            timeout_tail: TailCache::default(),
            faults: None,
        }
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
        let mut lost = self.scrape.random::<f64>() < self.missing_scrape_probability;
        let at_ms = t + dt;
        let faulty;
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
                }
            };
            let new = Some(sample(1));
            let old = Some(sample(0));
            Scrape { at_ms, new, old }
        };
        self.pending.push_back(Pending {
            deliver_ms: at_ms + self.metric_delay_ms,
            attempt,
            scrape,
        });
        (!(lost || gap)).then_some(scrape)
    }

    /// The uniform draw of the health check due now (drawn whether or not anyone reads the
    /// check, so the stream does not depend on the policy).
    #[inline]
    pub fn probe_draw(&mut self) -> f64 {
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
