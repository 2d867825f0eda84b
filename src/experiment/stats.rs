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

    /// Mean with a 95% interval that stays in the metric's range: Wilson score for
    /// proportions (honest near 0 and 1, where false-positive and miss rates live), a
    /// scaled Poisson interval for counts of events, a moment-matched Gamma interval for
    /// other non-negative amounts. The last two never go below 0 (a normal interval on
    /// 3 false positives in 200 runs did: `[-0.002, 0.032]`), the count's is not empty
    /// when no event was seen (0 in 200 runs: `[0, 0.018]`, as the exact Poisson
    /// interval), and both tend to the normal interval as events add up.
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
            MetricKind::Count => scaled_poisson(self.mean, self.variance(), n),
            MetricKind::Value => moment_gamma(self.mean, self.variance(), n),
        };
        Estimate {
            mean: self.mean,
            ci95_low: lo,
            ci95_high: hi,
            n,
        }
    }

    /// Mean with the normal-approximation 95% interval, for quantities that can be negative
    /// (paired differences of two policies).
    pub fn normal(&self) -> Estimate {
        if self.n == 0 {
            return self.estimate(MetricKind::Value);
        }
        let half = Z975 * (self.variance() / self.n as f64).sqrt();
        Estimate {
            mean: self.mean,
            ci95_low: self.mean - half,
            ci95_high: self.mean + half,
            n: self.n,
        }
    }
}

/// Interval for the mean of a count per run (`mean` over `n` runs, sample variance
/// `var`): the total is taken as Poisson scaled by the dispersion `var / mean` (a
/// quasi-Poisson interval: exact Poisson, Garwood's, when the dispersion is 1; wider for
/// rollback loops, where events come in bursts). No event at all gives `[0, 3.69 / n]`.
pub fn scaled_poisson(mean: f64, var: f64, n: u64) -> (f64, f64) {
    let nf = n as f64;
    if mean <= 0.0 {
        return (0.0, gamma_quantile(0.975, 1.0) / nf);
    }
    if var <= 0.0 {
        return (mean, mean);
    }
    let phi = var / mean;
    let events = mean * nf / phi;
    let lo = if events > 0.0 {
        gamma_quantile(0.025, events) * phi / nf
    } else {
        0.0
    };
    (lo, gamma_quantile(0.975, events + 1.0) * phi / nf)
}

/// Interval for the mean of a non-negative amount: the Gamma distribution with the
/// estimate's mean and variance (`var / n`), whose quantiles are never negative and
/// skew as the data do; `[mean, mean]` when every value is the same.
pub fn moment_gamma(mean: f64, var: f64, n: u64) -> (f64, f64) {
    if var <= 0.0 || mean <= 0.0 {
        return (mean, mean);
    }
    let shape = mean * mean * n as f64 / var;
    let scale = mean / shape;
    (
        gamma_quantile(0.025, shape) * scale,
        gamma_quantile(0.975, shape) * scale,
    )
}

/// The `p` quantile of a Gamma distribution of shape `k` and scale 1: bisection on the
/// regularised incomplete gamma function (deterministic, to double precision); the
/// Wilson-Hilferty cube approximation for very large shapes, where it is exact to far
/// below a summary's printed digits.
pub fn gamma_quantile(p: f64, k: f64) -> f64 {
    if k <= 0.0 {
        return 0.0;
    }
    let z = statrs::function::erf::erfc_inv(2.0 * p) * -std::f64::consts::SQRT_2;
    let wh = k * (1.0 - 1.0 / (9.0 * k) + z / (3.0 * k.sqrt())).powi(3);
    if k > 1e6 {
        return wh;
    }
    let mut lo = 0.0;
    let mut hi = (k + 10.0 * k.sqrt() + 50.0).max(2.0 * wh);
    while statrs::function::gamma::gamma_lr(k, hi) < p {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if statrs::function::gamma::gamma_lr(k, mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
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
        assert!((a.normal().mean - mean).abs() < 1e-12);
        assert!((a.variance() - var).abs() < 1e-12);
        let e = a.normal();
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

    #[test]
    fn gamma_quantiles_match_known_values() {
        // Chi-square quantiles are Gamma(k/2) quantiles times 2 (tables, e.g. R's qchisq).
        assert!((2.0 * gamma_quantile(0.975, 1.0) - 7.377_759).abs() < 1e-5);
        assert!((2.0 * gamma_quantile(0.025, 3.0) - 1.237_344).abs() < 1e-5);
        assert!((2.0 * gamma_quantile(0.975, 50.0) - 129.561_2).abs() < 1e-3);
        // Very large shapes: the Wilson-Hilferty branch agrees with the normal limit.
        let k = 4e6;
        let q = gamma_quantile(0.975, k);
        assert!((q - (k + Z975 * k.sqrt())).abs() < 1.0, "{q}");
    }

    #[test]
    fn count_intervals_stay_at_or_above_zero_and_match_exact_poisson() {
        // 3 false positives in 200 runs (each 0 or 1): the normal interval went below 0.
        let mut a = Accumulator::default();
        (0..200).for_each(|i| a.add(if i < 3 { 1.0 } else { 0.0 }));
        let e = a.estimate(MetricKind::Count);
        assert!(e.ci95_low > 0.0 && e.ci95_low < e.mean && e.mean < e.ci95_high);
        assert!(a.normal().ci95_low < 0.0);
        // Dispersion 197/199 ~ 1: close to the exact (Garwood) interval for 3 events,
        // [0.619, 8.767] / 200.
        assert!((e.ci95_low * 200.0 - 0.619).abs() < 0.02, "{e:?}");
        assert!((e.ci95_high * 200.0 - 8.767).abs() < 0.1, "{e:?}");
        // No event: [0, 3.689 / n], the exact Poisson upper bound, not [0, 0].
        let mut z = Accumulator::default();
        (0..200).for_each(|_| z.add(0.0));
        let e = z.estimate(MetricKind::Count);
        assert_eq!(e.ci95_low, 0.0);
        assert!((e.ci95_high * 200.0 - 3.688_879).abs() < 1e-5, "{e:?}");
    }

    #[test]
    fn amount_intervals_are_positive_and_tend_to_the_normal_one() {
        // A skewed amount: mostly 0, a few long outages.
        let mut a = Accumulator::default();
        (0..100).for_each(|i| a.add(if i % 50 == 0 { 3600.0 } else { 0.0 }));
        let e = a.estimate(MetricKind::Value);
        assert!(a.normal().ci95_low < 0.0);
        assert!(e.ci95_low > 0.0 && e.ci95_high > a.normal().ci95_high);
        // Many similar values: within 1% of the normal interval's bounds.
        let mut b = Accumulator::default();
        (0..1000).for_each(|i| b.add(100.0 + f64::from(i % 7)));
        let (g, n) = (b.estimate(MetricKind::Value), b.normal());
        assert!((g.ci95_low - n.ci95_low).abs() < 0.01 && (g.ci95_high - n.ci95_high).abs() < 0.01);
        // Constant values: a point.
        let mut c = Accumulator::default();
        (0..10).for_each(|_| c.add(405.0));
        assert_eq!(c.estimate(MetricKind::Value).ci95_low, 405.0);
    }
}
