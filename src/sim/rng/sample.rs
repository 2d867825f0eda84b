//! The sampling helpers every stage draws with: request counts, errors, scraped latency
//! quantiles, the drift of the baseline error rate, and the log-normal latency tail.
//!
//! They live beside the streams, not in a stage, because both the model (the truth: how
//! many requests, how many fail) and the signals (what a scrape or a probe shows) draw with
//! them, and those two stages never import each other.
//!
//! Aggregate sampling, not per-request simulation: a tick's requests are Poisson, its errors
//! Binomial, and a scraped quantile is the true quantile plus the sampling error of an
//! empirical quantile of `n` requests, so a simulated day costs about a millisecond.

use rand::Rng;
use rand_distr::{Binomial, Distribution, Poisson, StandardNormal};

/// The standard normal quantile at 0.99.
pub const Z99: f64 = 2.326_347_874_040_840_8;

/// Probability that a log-normal latency of log-mean `mu` and log-sd `sigma` exceeds `x_ms`.
#[inline]
pub fn lognormal_tail(mu: f64, sigma: f64, x_ms: f64) -> f64 {
    0.5 * libm::erfc((x_ms.ln() - mu) / (sigma * std::f64::consts::SQRT_2))
}

/// The tail probability of the last log-mean asked for: latency changes only when a fault
/// or a defect changes, while a tail is wanted every tick (and `erfc` is costly).
#[derive(Debug, Clone, Copy)]
pub struct TailCache {
    mu: f64,
    tail: f64,
}

impl Default for TailCache {
    fn default() -> Self {
        TailCache {
            mu: f64::NAN,
            tail: 0.0,
        }
    }
}

impl TailCache {
    /// [`lognormal_tail`] of `mu`, computed again only when `mu` changed.
    #[inline]
    pub fn get(&mut self, mu: f64, sigma: f64, x_ms: f64) -> f64 {
        if mu != self.mu {
            self.mu = mu;
            self.tail = lognormal_tail(mu, sigma, x_ms);
        }
        self.tail
    }
}

/// Requests in a tick: Poisson with mean `mean` (0 when the mean is not positive); with
/// `dispersion` > 1, the mean is first scaled by a Gamma(k, 1/k) factor with
/// `k = mean / (dispersion - 1)`, so the count's variance is `dispersion × mean` (a
/// negative binomial) while its mean stays `mean`.
#[inline]
pub fn requests<R: Rng + ?Sized>(rng: &mut R, mean: f64, dispersion: f64) -> u64 {
    if mean <= 0.0 || !mean.is_finite() {
        return 0;
    }
    let mean = if dispersion > 1.0 {
        let k = mean / (dispersion - 1.0);
        match rand_distr::Gamma::new(k, 1.0 / k) {
            Ok(g) => mean * Distribution::<f64>::sample(&g, rng),
            Err(_) => mean,
        }
    } else {
        mean
    };
    match Poisson::new(mean) {
        Ok(d) => {
            let x: f64 = d.sample(rng);
            x as u64
        }
        Err(_) => 0,
    }
}

/// Successes among `n` trials of probability `p`.
#[inline]
pub fn binomial<R: Rng + ?Sized>(rng: &mut R, n: u64, p: f64) -> u64 {
    if n == 0 || p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return n;
    }
    Binomial::new(n, p).map(|d| d.sample(rng)).unwrap_or(0)
}

/// The p99 of `n` requests as a scrape reports it: the true log-quantile plus the
/// asymptotic sampling error of an empirical quantile,
/// `sd = sigma * sqrt(q (1 - q) / n) / phi(z_q)` in log space.
#[inline]
pub fn scraped_p99<R: Rng + ?Sized>(rng: &mut R, mu: f64, sigma: f64, n: u64) -> f64 {
    const Q: f64 = 0.99;
    // phi(z_0.99): the standard normal density at the 99th percentile.
    let phi = (-0.5 * Z99 * Z99).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let se = sigma * (Q * (1.0 - Q) / n.max(1) as f64).sqrt() / phi;
    let z: f64 = StandardNormal.sample(rng);
    (mu + sigma * Z99 + se * z).exp()
}

/// The drift of the log baseline error rate: a stationary AR(1) (a sampled
/// Ornstein-Uhlenbeck process) with standard deviation `sd` and correlation time `tau_ms`.
#[derive(Debug, Clone)]
pub struct Drift {
    x: f64,
    phi: f64,
    innovation_sd: f64,
    /// `sd^2 / 2`, subtracted so the multiplier `exp(x - sd^2/2)` has mean exactly 1.
    correction: f64,
}

impl Drift {
    /// Starts the drift in its stationary distribution.
    pub fn new<R: Rng + ?Sized>(rng: &mut R, sd: f64, tau_ms: u64, step_ms: u64) -> Self {
        let phi = (-(step_ms as f64) / tau_ms.max(1) as f64).exp();
        let z: f64 = StandardNormal.sample(rng);
        Drift {
            x: sd * z,
            phi,
            innovation_sd: sd * (1.0 - phi * phi).sqrt(),
            correction: sd * sd / 2.0,
        }
    }

    /// Whether the drift never moves (`sd` = 0): then [`Self::step`] returns 1 and draws
    /// nothing, so a caller may skip the steps.
    #[inline]
    pub fn is_flat(&self) -> bool {
        self.innovation_sd == 0.0 && self.x == 0.0
    }

    /// Advances one step and returns the multiplier of the baseline error rate (mean 1).
    #[inline]
    pub fn step<R: Rng + ?Sized>(&mut self, rng: &mut R) -> f64 {
        if self.is_flat() {
            return 1.0;
        }
        let z: f64 = StandardNormal.sample(rng);
        self.x = self.phi * self.x + self.innovation_sd * z;
        (self.x - self.correction).exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::rng::{stream, Stream};

    #[test]
    fn drift_multiplier_has_mean_one_and_the_stated_autocorrelation() {
        let mut rng = stream(7, Stream::Noise);
        let mut d = Drift::new(&mut rng, 0.5, 60_000, 15_000);
        let n = 400_000;
        let xs: Vec<f64> = (0..n).map(|_| d.step(&mut rng).ln() + 0.125).collect();
        let mean_mult: f64 = xs.iter().map(|x| (x - 0.125).exp()).sum::<f64>() / n as f64;
        assert!(
            (mean_mult - 1.0).abs() < 0.02,
            "mean multiplier {mean_mult}"
        );
        let var: f64 = xs.iter().map(|x| x * x).sum::<f64>() / n as f64;
        assert!((var - 0.25).abs() < 0.01, "variance {var}");
        let lag1: f64 = xs.windows(2).map(|w| w[0] * w[1]).sum::<f64>() / (n - 1) as f64 / var;
        let expect = (-0.25f64).exp();
        assert!(
            (lag1 - expect).abs() < 0.01,
            "lag-1 autocorrelation {lag1} vs {expect}"
        );
    }

    #[test]
    fn dispersion_scales_the_variance_and_keeps_the_mean() {
        let mut rng = stream(3, Stream::Traffic);
        for d in [1.0, 3.0] {
            let n = 100_000;
            let xs: Vec<f64> = (0..n)
                .map(|_| requests(&mut rng, 200.0, d) as f64)
                .collect();
            let mean = xs.iter().sum::<f64>() / n as f64;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            assert!((mean - 200.0).abs() < 0.5, "mean {mean}");
            assert!(
                (var / mean - d).abs() < 0.05 * d,
                "dispersion {d}: variance / mean {}",
                var / mean
            );
        }
    }

    #[test]
    fn scraped_p99_is_centred_on_the_true_p99() {
        let mut rng = stream(9, Stream::Latency);
        let (mu, sigma) = (50f64.ln(), 0.7);
        let n = 50_000;
        let mean_log: f64 = (0..n)
            .map(|_| scraped_p99(&mut rng, mu, sigma, 1000).ln())
            .sum::<f64>()
            / n as f64;
        assert!((mean_log - (mu + sigma * Z99)).abs() < 0.005);
    }
}
