//! The drift of the error rate (see [`super::fit`]'s module doc): the per-scrape error
//! ratios on the slot grid, their autocovariances, the pooled autocorrelation test that
//! decides whether there is a drift, and the exponential fitted through lags 1 to K. The
//! goodness-of-fit check (`gof.rs`) reads the same grid.

use super::Sample;

/// The pooled autocorrelation statistic above which a drift is found (one-sided
/// `P(N(0,1) > 3) = 0.00135` when there is none).
pub const DRIFT_Z: f64 = 3.0;
/// Lags pooled in that statistic.
pub const DRIFT_TEST_LAGS: usize = 20;
/// Lags computed at most for the drift's autocorrelation.
const MAX_LAG: usize = 2000;

/// The per-scrape error ratios on the slot grid (`None` for lost, spike or empty scrapes).
pub(super) fn ratio_grid(s: &[&Sample], first_ms: u64, dt: u64) -> (Vec<Option<f64>>, f64) {
    let slots = s
        .last()
        .map_or(0, |x| ((x.at_ms - first_ms + dt / 2) / dt) as usize + 1);
    let mut grid = vec![None; slots];
    let mut binomial = 0.0;
    let mut m = 0usize;
    for x in s {
        if x.requests < 2 {
            continue;
        }
        let j = ((x.at_ms - first_ms + dt / 2) / dt) as usize;
        let r = x.errors as f64 / x.requests as f64;
        if let Some(g) = grid.get_mut(j) {
            *g = Some(r);
            binomial += r * (1.0 - r) / (x.requests - 1) as f64;
            m += 1;
        }
    }
    (grid, if m > 0 { binomial / m as f64 } else { 0.0 })
}

/// Mean of the present values.
pub(super) fn grid_mean(grid: &[Option<f64>]) -> f64 {
    let (sum, n) = grid
        .iter()
        .flatten()
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

/// Autocovariance at lag `k` over the pairs where both values are present.
pub(super) fn autocov(grid: &[Option<f64>], mean: f64, k: usize) -> Option<f64> {
    let mut sum = 0.0;
    let mut n = 0usize;
    for j in 0..grid.len().saturating_sub(k) {
        if let (Some(a), Some(b)) = (grid[j], grid[j + k]) {
            sum += (a - mean) * (b - mean);
            n += 1;
        }
    }
    (n > 0).then(|| sum / n as f64)
}

/// The drift as fitted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Drift {
    pub(super) sd: f64,
    pub(super) lag0: f64,
    pub(super) tau_ms: Option<u64>,
    pub(super) z: f64,
}

impl Default for Drift {
    fn default() -> Self {
        Drift {
            sd: 0.0,
            lag0: 0.0,
            tau_ms: None,
            z: 0.0,
        }
    }
}

/// The pooled autocorrelation statistic of lags `1..=lags` (see the module doc): standard
/// normal when the present values are independent.
pub(super) fn drift_z(grid: &[Option<f64>], mean: f64, lags: usize) -> f64 {
    let mut sum = 0.0;
    let mut used = 0usize;
    for k in 1..=lags {
        let (mut num, mut den) = (0.0, 0.0);
        for j in 0..grid.len().saturating_sub(k) {
            if let (Some(a), Some(b)) = (grid[j], grid[j + k]) {
                let p = (a - mean) * (b - mean);
                num += p;
                den += p * p;
            }
        }
        if den > 0.0 {
            sum += num / den.sqrt();
            used += 1;
        }
    }
    if used == 0 {
        0.0
    } else {
        sum / (used as f64).sqrt()
    }
}

/// The drift from the error ratios of `kept` scrapes.
pub(super) fn drift(kept: &[&Sample], first_ms: u64, dt: u64, notes: &mut Vec<String>) -> Drift {
    let (grid, binomial) = ratio_grid(kept, first_ms, dt);
    let mean = grid_mean(&grid);
    if mean <= 0.0 {
        return Drift::default();
    }
    let p2 = mean * mean;
    let y = |c: f64| (1.0 + c / p2).max(1e-12).ln();
    let c0 = autocov(&grid, mean, 0).unwrap_or(0.0);
    let lag0 = (1.0 + (c0 - binomial).max(0.0) / p2).ln().sqrt();
    let max_lag = (grid.len() / 5).clamp(1, MAX_LAG);
    let test_lags = DRIFT_TEST_LAGS.min(max_lag);
    let z = drift_z(&grid, mean, test_lags);
    if z < DRIFT_Z {
        notes.push(format!(
            "no drift found: the error ratio's autocorrelation over lags 1 to {test_lags} gives z = {z:.2} (a drift is found above {DRIFT_Z}); its scrape-to-scrape variation is what Binomial noise explains, so noise_sd = 0 and no noise_correlation is written"
        ));
        return Drift {
            sd: 0.0,
            lag0,
            tau_ms: None,
            z,
        };
    }
    let mut ys: Vec<f64> = Vec::new();
    let mut efold = None;
    for k in 1..=max_lag {
        let Some(c) = autocov(&grid, mean, k) else {
            ys.push(0.0);
            continue;
        };
        ys.push(y(c));
        if ys[0] > 0.0 && ys[k - 1] < ys[0] / std::f64::consts::E {
            efold = Some(k);
            break;
        }
    }
    if ys.first().is_none_or(|&y1| y1 <= 0.0) {
        notes.push("the error ratio shows no autocorrelation from one scrape to the next: the drift is taken as independent per scrape (noise_correlation = one interval), noise_sd from the lag-0 variance".into());
        return Drift {
            sd: lag0,
            lag0,
            tau_ms: Some(dt),
            z,
        };
    }
    let efold = match efold {
        Some(k) => k,
        None => {
            notes.push(format!(
                "the error ratio stays correlated beyond {} lags: the correlation time is a lower bound",
                max_lag
            ));
            max_lag
        }
    };
    // Fitting up to the e-folding lag: later lags add more noise than information (on
    // simulated data, 3 e-folding lags doubled the spread of the fitted time).
    let k_fit = efold.clamp(8, max_lag);
    while ys.len() < k_fit {
        let k = ys.len() + 1;
        ys.push(autocov(&grid, mean, k).map_or(0.0, y));
    }
    let ys = &ys[..k_fit];
    // Least squares of y_k = A e^(-k h): A in closed form for each h, h by search.
    let sse = |h: f64| {
        let (mut sy, mut s2) = (0.0, 0.0);
        for (i, &v) in ys.iter().enumerate() {
            let e = (-(i as f64 + 1.0) * h).exp();
            sy += v * e;
            s2 += e * e;
        }
        let a = if s2 > 0.0 { sy / s2 } else { 0.0 };
        let err: f64 = ys
            .iter()
            .enumerate()
            .map(|(i, &v)| (v - a * (-(i as f64 + 1.0) * h).exp()).powi(2))
            .sum();
        (err, a)
    };
    // Search over ln(τ / dt) from one interval to 100 fitted lags: below one interval
    // the drift is per-scrape noise, and A = y_1 e^(dt/τ) would grow without bound (the
    // re-fits of simulated copies swung by two orders of magnitude before this floor).
    let (lo, hi) = (0.0f64, (100.0 * k_fit as f64).ln());
    let grid_n = 400;
    let at = |u: f64| sse((-u).exp());
    let mut best = (f64::INFINITY, lo);
    for i in 0..=grid_n {
        let u = lo + (hi - lo) * i as f64 / grid_n as f64;
        let (e, _) = at(u);
        if e < best.0 {
            best = (e, u);
        }
    }
    let step = (hi - lo) / grid_n as f64;
    let (mut a, mut b) = ((best.1 - step).max(lo), best.1 + step);
    for _ in 0..60 {
        let m1 = a + (b - a) * 0.382;
        let m2 = a + (b - a) * 0.618;
        if at(m1).0 < at(m2).0 {
            b = m2;
        } else {
            a = m1;
        }
    }
    let u = (a + b) / 2.0;
    let (_, s2) = at(u);
    let tau_ms = (u.exp() * dt as f64).round().max(1.0) as u64;
    let record_ms = grid.len() as u64 * dt;
    if tau_ms.saturating_mul(10) > record_ms {
        notes.push(format!(
            "the drift's correlation time ({} s) is over a tenth of the record: the record's mean absorbs part of the drift, so noise_sd is low and the time rough; fit a longer healthy period",
            tau_ms / 1000
        ));
    }
    Drift {
        sd: s2.max(0.0).sqrt(),
        lag0,
        tau_ms: Some(tau_ms),
        z,
    }
}
