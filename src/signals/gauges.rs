//! The gauges a scrape reads: each version's CPU, saturation and queue length, as the
//! engine hands them over ([`GaugeLevels`], the truth of the interval), with the
//! metrics' own noise.
//!
//! A reading is the level times a mean-one log-normal factor, `level x exp(sd Z -
//! sd^2/2)` with `Z` standard normal and `sd` the scenario's `signals.gauge_noise_sd`, so
//! the mean of many readings is the level (the CPU reading is capped at 1, a whole core).
//! The draws come from the gauges' own stream ([`Stream::Gauges`]), three per version
//! (CPU, saturation, queue length; the old version first) for every scrape that is not
//! lost, and only when something reads the gauges: the world's streams, and every other
//! observation, are the same with or without them.

use crate::policy::Gauges;
use crate::sim::rng::{stream, Stream, StreamRng};
use rand_distr::{Distribution, StandardNormal};

/// The true gauges of one version over one interval (plain numbers from the model).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct GaugeLevels {
    /// CPU busy, as a share of the version's cores.
    pub cpu: f64,
    /// Utilisation: demand over capacity.
    pub saturation: f64,
    /// Requests waiting per replica.
    pub queue_length: f64,
}

/// Reads gauges with noise, from its own stream.
#[derive(Debug, Clone)]
pub struct GaugeReader {
    sd: f64,
    rng: StreamRng,
}

impl GaugeReader {
    /// The reader of the run whose seed is `seed`, with relative noise `sd`.
    pub fn new(seed: u64, sd: f64) -> Self {
        GaugeReader {
            sd,
            rng: stream(seed, Stream::Gauges),
        }
    }

    /// One noisy reading of `level`.
    fn read(&mut self, level: f64) -> f64 {
        let z: f64 = StandardNormal.sample(&mut self.rng);
        if self.sd == 0.0 {
            return level;
        }
        level * (self.sd * z - self.sd * self.sd / 2.0).exp()
    }

    /// One scrape's readings of a version's `levels`.
    pub fn scrape(&mut self, levels: &GaugeLevels) -> Gauges {
        Gauges {
            cpu: Some(self.read(levels.cpu).min(1.0)),
            saturation: Some(self.read(levels.saturation)),
            queue_length: Some(self.read(levels.queue_length)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_average_to_the_level_and_spread_by_the_noise() {
        let mut r = GaugeReader::new(4, 0.1);
        let levels = GaugeLevels {
            cpu: 0.55,
            saturation: 0.5,
            queue_length: 0.5,
        };
        let n = 20_000;
        let (mut sum, mut sum_sq) = (0.0, 0.0);
        for _ in 0..n {
            let g = r.scrape(&levels);
            let x = g.saturation.unwrap_or(0.0);
            sum += x;
            sum_sq += (x / 0.5).ln().powi(2);
        }
        let mean = sum / n as f64;
        // sd of the mean: 0.5 x sqrt(e^0.01 - 1) / sqrt(n) = 0.00035.
        assert!((mean - 0.5).abs() < 4.0 * 0.00035, "{mean}");
        // The log of the factor has sd 0.1 (its mean square is 0.01 + 0.005^2).
        let ms = sum_sq / n as f64;
        assert!((ms - 0.010025).abs() < 0.0005, "{ms}");
        // No noise: the level itself.
        let mut exact = GaugeReader::new(4, 0.0);
        assert_eq!(exact.scrape(&levels).cpu, Some(0.55));
    }
}
