//! The requests a service serves in one scrape interval: how many arrive, how they split
//! between the versions, and how many truly fail. These are the truth of the interval (the
//! users' experience), drawn from the world's streams only, whatever the policy does.

use super::VersionTruth;
use crate::scenario::Scenario;
use crate::sim::rng::sample::{binomial, requests, Drift};
use crate::sim::rng::{stream, Stream, StreamRng};

/// The streams of a service's traffic, and the drift of its baseline error rate.
pub struct Traffic {
    traffic: StreamRng,
    noise: StreamRng,
    split: StreamRng,
    errors_old: StreamRng,
    errors_new: StreamRng,
    /// Reads and writes of the data store.
    pub data: StreamRng,
    drift: Drift,
}

impl Traffic {
    /// The traffic streams of the run whose seed is `seed` (the drift starts in its
    /// stationary distribution, drawn from the noise stream).
    pub fn new(seed: u64, s: &Scenario) -> Self {
        let mut noise = stream(seed, Stream::Noise);
        let drift = Drift::new(
            &mut noise,
            s.signals.noise_sd,
            s.signals.noise_correlation_ms,
            s.scrape_interval_ms,
        );
        Traffic {
            traffic: stream(seed, Stream::Traffic),
            noise,
            split: stream(seed, Stream::Split),
            errors_old: stream(seed, Stream::ErrorsOld),
            errors_new: stream(seed, Stream::ErrorsNew),
            data: stream(seed, Stream::Data),
            drift,
        }
    }

    /// Requests arriving in an interval of mean `mean`.
    #[inline]
    pub fn arrivals(&mut self, mean: f64, dispersion: f64) -> u64 {
        requests(&mut self.traffic, mean, dispersion)
    }

    /// The baseline error rate of this interval: `baseline` times the drift.
    #[inline]
    pub fn baseline(&mut self, baseline: f64) -> f64 {
        (baseline * self.drift.step(&mut self.noise)).min(1.0)
    }

    /// The requests (old, new) of `total` with `share` of them on the new version, and
    /// their errors under the versions' truth.
    #[inline]
    pub fn split(&mut self, total: u64, share: f64, truth: &[VersionTruth; 2]) -> Split {
        let n_new = if share <= 0.0 {
            0
        } else if share >= 1.0 {
            total
        } else {
            binomial(&mut self.split, total, share)
        };
        let n_old = total - n_new;
        let e_old = binomial(&mut self.errors_old, n_old, truth[0].error_prob);
        let e_new = binomial(&mut self.errors_new, n_new, truth[1].error_prob);
        Split {
            requests: [n_old, n_new],
            errors: [e_old, e_new],
        }
    }
}

/// Requests and failed requests per version (old, new).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    pub requests: [u64; 2],
    pub errors: [u64; 2],
}
