//! Streaming statistics: mean and 95% confidence interval without keeping the samples.
//!
//! Values are added serially in run order (never reduced inside a parallel split), so the
//! floating-point result is the same whatever the thread count.

use crate::outcome::MetricKind;

/// The two-sided 95% standard normal quantile.
pub const Z975: f64 = 1.959_963_984_540_054;

/// Welford's running mean and variance.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Accumulator {
    pub n: u64,
    mean: f64,
    m2: f64,
}

/// A summarised metric: mean and 95% confidence interval over `n` values.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Estimate {
    pub mean: f64,
    pub ci95_low: f64,
    pub ci95_high: f64,
    pub n: u64,
}

impl Accumulator {
    /// Adds one value.
    pub fn add(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    /// Sample variance (n - 1 in the denominator); 0 with fewer than two values.
    pub fn variance(&self) -> f64 {
        if self.n < 2 {
            0.0
        } else {
            self.m2 / (self.n - 1) as f64
        }
    }

    /// Mean with a 95% interval: Wilson score for proportions (honest near 0 and 1, where
    /// false-positive and miss rates live), normal approximation for other values.
    pub fn estimate(&self, kind: MetricKind) -> Estimate {
        let n = self.n;
        if n == 0 {
            return Estimate {
                mean: f64::NAN,
                ci95_low: f64::NAN,
                ci95_high: f64::NAN,
                n,
            };
        }
        let (lo, hi) = match kind {
            MetricKind::Proportion => wilson(self.mean, n),
            MetricKind::Value => {
                let half = Z975 * (self.variance() / n as f64).sqrt();
                (self.mean - half, self.mean + half)
            }
        };
        Estimate {
            mean: self.mean,
            ci95_low: lo,
            ci95_high: hi,
            n,
        }
    }
}

/// Wilson score interval for a proportion `p` observed over `n` trials.
pub fn wilson(p: f64, n: u64) -> (f64, f64) {
    wilson_z(p, n, Z975)
}

/// The Wilson score interval at the two-sided level whose normal quantile is `z` (a sweep
/// judges constraints at the level the user asks for).
pub fn wilson_z(p: f64, n: u64, z: f64) -> (f64, f64) {
    let n = n as f64;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    // At p = 0 (or 1) the bound is exactly 0 (or 1); keep float residue out of it.
    let lo = if p <= 0.0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let hi = if p >= 1.0 {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn welford_matches_the_two_pass_formulas() {
        let xs = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0];
        let mut a = Accumulator::default();
        xs.iter().for_each(|&x| a.add(x));
        let mean = xs.iter().sum::<f64>() / 8.0;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 7.0;
        assert!((a.estimate(MetricKind::Value).mean - mean).abs() < 1e-12);
        assert!((a.variance() - var).abs() < 1e-12);
        let e = a.estimate(MetricKind::Value);
        assert!((e.ci95_high - e.mean - Z975 * (var / 8.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn wilson_interval_of_zero_successes_is_not_degenerate() {
        let (lo, hi) = wilson(0.0, 100);
        assert_eq!(lo, 0.0);
        // Known value: Wilson upper bound for 0/100 at 95% is 0.0370.
        assert!((hi - 0.036_995).abs() < 1e-4, "{hi}");
        let (lo, hi) = wilson(0.5, 100);
        assert!((lo - 0.4038).abs() < 1e-3 && (hi - 0.5962).abs() < 1e-3);
    }
}
