//! Goodness of fit: recorded against simulated signals, by distribution (two-sample
//! Kolmogorov-Smirnov, quantiles) and by autocorrelation.

use super::drift::{autocov, grid_mean, ratio_grid};
use super::spikes::find_spikes;
use super::{Input, Sample};

/// A two-sample Kolmogorov-Smirnov test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ks {
    /// Largest distance between the two empirical distribution functions.
    pub d: f64,
    /// Asymptotic p-value for independent samples. Scrapes are autocorrelated, so this is
    /// optimistic (too small); read `d` first.
    pub p_value: f64,
    /// Sample sizes (scrapes) of the recording and of all simulated runs.
    pub n_recorded: usize,
    pub n_simulated: usize,
}

/// The Kolmogorov distribution's tail `Q(λ) = 2 Σ (-1)^(j-1) e^(-2 j² λ²)`.
fn kolmogorov_q(lambda: f64) -> f64 {
    if lambda < 0.2 {
        return 1.0;
    }
    let mut sum = 0.0;
    for j in 1..=100 {
        let j = j as f64;
        let term = (-2.0 * j * j * lambda * lambda).exp();
        sum += if j as u64 % 2 == 1 { term } else { -term };
        if term < 1e-12 {
            break;
        }
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

/// Two-sample KS test of `a` against `b`.
pub fn ks(a: &[f64], b: &[f64]) -> Ks {
    let mut a: Vec<f64> = a.iter().copied().filter(|x| x.is_finite()).collect();
    let mut b: Vec<f64> = b.iter().copied().filter(|x| x.is_finite()).collect();
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (n, m) = (a.len(), b.len());
    if n == 0 || m == 0 {
        return Ks {
            d: f64::NAN,
            p_value: f64::NAN,
            n_recorded: n,
            n_simulated: m,
        };
    }
    let (mut i, mut j, mut d) = (0, 0, 0.0f64);
    while i < n && j < m {
        let x = a[i].min(b[j]);
        while i < n && a[i] <= x {
            i += 1;
        }
        while j < m && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / n as f64 - j as f64 / m as f64).abs());
    }
    let ne = (n * m) as f64 / (n + m) as f64;
    let lambda = (ne.sqrt() + 0.12 + 0.11 / ne.sqrt()) * d;
    Ks {
        d,
        p_value: kolmogorov_q(lambda),
        n_recorded: n,
        n_simulated: m,
    }
}

/// Per-scrape error ratios (scrapes with requests); none when errors were not recorded.
pub fn error_ratios(input: &Input) -> Vec<f64> {
    if !input.has_errors {
        return vec![];
    }
    input
        .samples
        .iter()
        .filter(|x| x.requests > 0)
        .map(|x| x.errors as f64 / x.requests as f64)
        .collect()
}

/// Requests per second of each scrape.
pub fn request_rates(input: &Input) -> Vec<f64> {
    let secs = input.interval_ms as f64 / 1000.0;
    input
        .samples
        .iter()
        .map(|x| x.requests as f64 / secs)
        .collect()
}

/// Scraped p99 latencies (ms) of the scrapes that have one.
pub fn latencies(input: &Input) -> Vec<f64> {
    input
        .samples
        .iter()
        .filter_map(|x| x.latency_p99_ms)
        .collect()
}

/// Autocorrelation of the per-scrape error ratio outside spikes (which would swamp the
/// drift) at each lag (in scrapes), over the pairs of present scrapes; `NaN` where
/// undefined.
pub fn acf(input: &Input, lags: &[usize]) -> Vec<f64> {
    if !input.has_errors {
        return vec![f64::NAN; lags.len()];
    }
    let spikes = find_spikes(&input.samples);
    let all: Vec<&Sample> = input
        .samples
        .iter()
        .zip(&spikes)
        .filter(|(_, f)| f.is_none())
        .map(|(x, _)| x)
        .collect();
    let first = all.first().map_or(0, |x| x.at_ms);
    let (grid, _) = ratio_grid(&all, first, input.interval_ms);
    let mean = grid_mean(&grid);
    let var = autocov(&grid, mean, 0).unwrap_or(f64::NAN);
    lags.iter()
        .map(|&k| autocov(&grid, mean, k).map_or(f64::NAN, |c| c / var))
        .collect()
}

/// The `q` quantile (linear interpolation) of sorted `v`; `NaN` when empty.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (i, f) = (pos.floor() as usize, pos.fract());
    let next = sorted.get(i + 1).copied().unwrap_or(sorted[i]);
    sorted[i] + f * (next - sorted[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibrate_ks_of_identical_and_shifted_samples() {
        let a: Vec<f64> = (0..1000).map(f64::from).collect();
        let same = ks(&a, &a);
        assert_eq!(same.d, 0.0);
        assert!(same.p_value > 0.99);
        let b: Vec<f64> = a.iter().map(|x| x + 100.0).collect();
        let shifted = ks(&a, &b);
        assert!((shifted.d - 0.1).abs() < 1e-9, "{}", shifted.d);
        // Known value: Q(λ) with λ = (sqrt(500) + 0.12 + 0.11/sqrt(500)) × 0.1 ≈ 2.25.
        assert!(
            shifted.p_value < 1e-3 && shifted.p_value > 1e-5,
            "{}",
            shifted.p_value
        );
        assert!((kolmogorov_q(1.0) - 0.2700).abs() < 1e-3);
    }

    #[test]
    fn calibrate_quantiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&v, 1.0), 4.0);
        assert!((quantile(&v, 0.5) - 2.5).abs() < 1e-12);
    }
}
