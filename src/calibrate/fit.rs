//! The estimators: each parameter of rollsim's noise model from the recorded counts.
//!
//! The model being fitted (see `signals.rs`, `model.rs`): requests per scrape are Poisson
//! around `rate × (1 + a cos(2π (t - peak) / 24 h))`; errors are Binomial with probability
//! `p0 × m_t`, where `m_t = exp(x_t - s²/2)` and `x_t` is an AR(1) with sd `s` and
//! correlation time `τ`; a scrape is lost with a fixed probability.
//!
//! - **Rate and daily shape**: least squares of requests per second on
//!   `[1, cos ωt, sin ωt]` (ω one turn a day); only with at least a day of data.
//! - **Over-dispersion of counts**: `Σ (c - μ)² / Σ μ` around that curve (1 for Poisson).
//! - **Spikes**: a scrape whose errors are above what twice the local error rate (±30 min,
//!   spikes left out) explains at `p < 1e-6` (Binomial tail); adjacent ones form one spike.
//! - **Baseline**: errors / requests over the scrapes that are not spikes.
//! - **Drift**: with `r` the per-scrape error ratio, `Cov(r_t, r_t+k) = p0² (exp(s² ρ^k) - 1)`
//!   for `k >= 1`, where Binomial noise, independent between scrapes, does not enter. So
//!   `y_k = ln(1 + C_k / p0²) = s² e^(-k dt / τ)`: `s²` and `τ` are the least-squares
//!   exponential through `y_1 .. y_K`, `K` the first lag with `y_K < y_1 / e`. The lag-0 estimate
//!   `ln(1 + (C_0 - mean(r(1-r)/(n-1))) / p0²)`, corrected for Binomial noise, is kept
//!   as a cross-check: a larger value means extra scrape-to-scrape noise in errors.
//!   The drift is found only when the error ratio's autocorrelation over lags 1 to 20,
//!   pooled as `Z = Σ z_k / √K` with `z_k = Σ e_j e_(j+k) / √(Σ e_j² e_(j+k)²)` (each
//!   standard normal when the scrapes are independent, whatever their traffic), exceeds
//!   [`DRIFT_Z`]; otherwise `noise_sd` is 0 and no correlation time is given. The
//!   correlation time is searched from one scrape interval up (below it a drift is per-scrape
//!   noise, and the amplitude of an exponential through lag 1 alone would blow up).
//! - **Weekly shape**: two more terms, `cos`, `sin` of the time of week (from Monday
//!   00:00 UTC), with two weeks of data or when asked with one.
//! - **Latency**: the model's scraped p99 is the true p99 times `exp(σ √(q(1-q)/n) / φ(z_q)
//!   × N(0, 1))`, `σ` the latency's log-sd. So the mean of `ln p99` is the p99's level,
//!   and the squared deviations regressed on `1/n` give `σ²q(1-q)/φ²` as slope (sampling
//!   error, which shrinks with traffic) and, as intercept, any extra noise the model does
//!   not draw; `p50 = p99 e^(-σ z_q)`.
//! - **Lost scrapes**: the gaps' slots over all slots, within stretches.

use super::drift::{drift, Drift};
use super::latency::latency_fit;
use super::spikes::{find_spikes, summarize_spikes};
use super::{Input, Sample};
use crate::scenario::MAX_NOISE_SD;

pub use super::drift::{DRIFT_TEST_LAGS, DRIFT_Z};
pub use super::latency::{Latency, MIN_LATENCY_SCRAPES};
pub use super::spikes::Spikes;

const DAY_MS: u64 = 86_400_000;
const WEEK_MS: u64 = 7 * DAY_MS;
/// Unix time 0 (a Thursday) is this far into its week, counted from Monday 00:00.
const EPOCH_IN_WEEK_MS: u64 = 3 * DAY_MS;
/// Data from which the weekly shape is fitted without being asked, and at least.
pub const WEEKLY_AUTO_MS: u64 = 14 * DAY_MS;
pub const WEEKLY_MIN_MS: u64 = 7 * DAY_MS;

/// The daily shape of the request rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Daily {
    /// Relative swing, in [0, 1].
    pub amplitude: f64,
    /// Hour of the day (UTC) when traffic peaks, in [0, 24).
    pub peak_hour: f64,
}

/// The weekly shape of the request rate (added to the daily one).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weekly {
    /// Relative swing, in [0, 1 - the daily amplitude].
    pub amplitude: f64,
    /// When in the week traffic peaks: days after Monday 00:00 UTC, in [0, 7).
    pub peak_weekday: f64,
}

/// What the fit is asked beyond the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// Fit the weekly shape with less than two weeks of data (at least one).
    pub weekly: bool,
}

/// The fitted noise model of a recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// The scrape interval of the data.
    pub interval_ms: u64,
    /// First and last present scrape.
    pub first_ms: u64,
    pub last_ms: u64,
    /// Present and lost scrapes.
    pub scrapes: usize,
    /// Lost scrapes: the slots of the gaps between present ones.
    pub lost: u64,
    /// Mean requests per second over a day.
    pub request_rate: f64,
    /// `None` with less than a day of data.
    pub daily: Option<Daily>,
    /// `None` with less than two weeks of data (one when asked).
    pub weekly: Option<Weekly>,
    /// Share of the variance of requests per second the rate curve explains.
    pub rate_r2: f64,
    /// Variance over mean of requests per scrape around the curve (Poisson: 1).
    pub dispersion: f64,
    /// Whether the errors were fitted (the input has them); when not, the error fields
    /// are `NaN` and the spikes empty.
    pub errors_fitted: bool,
    /// Errors / requests outside spikes.
    pub baseline_error_rate: f64,
    /// Sd of the log drift of the error rate, from autocovariances at lags >= 1.
    pub noise_sd: f64,
    /// The lag-0 estimate of the drift's sd (a cross-check; see the module doc).
    pub noise_sd_lag0: f64,
    /// Correlation time of the drift; `None` when no drift was found (`noise_sd` 0).
    pub noise_correlation_ms: Option<u64>,
    /// The pooled autocorrelation statistic of the drift test (see the module doc).
    pub drift_z: f64,
    /// Lost scrapes over all scrape slots.
    pub missing_scrape_probability: f64,
    pub spikes: Spikes,
    /// The latency, when the input has a latency series.
    pub latency: Option<Latency>,
    /// Time the stretches cover (each from the start of its first interval to its last
    /// scrape).
    pub covered_ms: u64,
    /// Limits met while fitting, for the user.
    pub notes: Vec<String>,
}

impl Fit {
    /// Length of the recording, from the start of the first interval to the last scrape.
    pub fn span_ms(&self) -> u64 {
        self.last_ms - self.first_ms + self.interval_ms
    }
}

/// Fewest present scrapes a fit accepts.
pub const MIN_SCRAPES: usize = 200;

/// Fits the noise model to `input` (present scrapes in time order).
pub fn fit(input: &Input) -> Result<Fit, String> {
    fit_with(input, Options::default())
}

/// [`fit`] with options.
pub fn fit_with(input: &Input, opts: Options) -> Result<Fit, String> {
    let s = &input.samples;
    let dt = input.interval_ms;
    if s.len() < MIN_SCRAPES {
        return Err(format!(
            "calibration needs at least {MIN_SCRAPES} scrapes and the data has {}; record a longer healthy period",
            s.len()
        ));
    }
    if dt == 0 {
        return Err("the scrape interval is 0".into());
    }
    let total_requests: u64 = s.iter().map(|x| x.requests).sum();
    if total_requests == 0 {
        return Err("the data has no request at all; nothing to calibrate".into());
    }
    let mut notes = Vec::new();
    if s.windows(2).any(|w| w[1].at_ms <= w[0].at_ms) {
        return Err("scrapes are not in strictly increasing time order".into());
    }
    let first_ms = s[0].at_ms;
    let last_ms = s[s.len() - 1].at_ms;
    let within = |i: usize| input.same_stretch(i);
    let lost: u64 = (1..s.len())
        .filter(|&i| within(i))
        .map(|i| crate::recorded::lost_between(s[i - 1].at_ms, s[i].at_ms, dt))
        .sum();
    let missing_scrape_probability = lost as f64 / (lost as f64 + s.len() as f64);
    let long_gaps = (1..s.len())
        .filter(|&i| within(i) && s[i].at_ms.saturating_sub(s[i - 1].at_ms) > 3_600_000)
        .count();
    if long_gaps > 0 {
        notes.push(format!(
            "{long_gaps} gaps longer than an hour are counted as lost scrapes; if they are metrics outages, leave them out (--exclude), or the missing-scrape probability is too high"
        ));
    }
    let mut covered_ms = 0;
    let mut start = first_ms;
    for i in 1..s.len() {
        if !within(i) {
            covered_ms += s[i - 1].at_ms - start + dt;
            start = s[i].at_ms;
        }
    }
    covered_ms += last_ms - start + dt;
    let span_ms = last_ms - first_ms + dt;
    if opts.weekly && span_ms < WEEKLY_MIN_MS {
        return Err(format!(
            "the weekly shape needs at least 7 days of data and the fitted span is {:.1} days",
            span_ms as f64 / DAY_MS as f64
        ));
    }
    let weekly_asked = opts.weekly || span_ms >= WEEKLY_AUTO_MS;
    let curve = rate_curve(s, dt, span_ms, weekly_asked);
    if curve.daily.is_none() {
        notes.push("less than a day of data: the daily shape of traffic is not fitted (diurnal_amplitude = 0)".into());
    }
    if curve.weekly.is_none() && span_ms >= DAY_MS {
        notes.push(format!(
            "{:.1} days of data: the weekly shape is fitted from two weeks on (or with --weekly from one)",
            span_ms as f64 / DAY_MS as f64
        ));
    }
    let mut weekly = curve.weekly;
    if let (Some(w), Some(d)) = (weekly.as_mut(), curve.daily) {
        if w.amplitude + d.amplitude > 1.0 {
            notes.push(format!(
                "the weekly amplitude {:.3} and the daily {:.3} add up to more than 1; the weekly one is written as {:.3}",
                w.amplitude,
                d.amplitude,
                1.0 - d.amplitude
            ));
            w.amplitude = (1.0 - d.amplitude).max(0.0);
        }
    }
    let latency = latency_fit(s, &mut notes);

    let (baseline_error_rate, noise_sd, noise_sd_lag0, noise_correlation_ms, drift_z, spikes) =
        if input.has_errors {
            let spike_flags = find_spikes(s);
            let spikes = summarize_spikes(s, &spike_flags, dt, covered_ms);
            let kept: Vec<&Sample> = s
                .iter()
                .zip(&spike_flags)
                .filter(|(_, f)| f.is_none())
                .map(|(x, _)| x)
                .collect();
            let (req, err) = kept
                .iter()
                .fold((0u64, 0u64), |(r, e), x| (r + x.requests, e + x.errors));
            let baseline = if req > 0 {
                err as f64 / req as f64
            } else {
                0.0
            };
            let d = if err == 0 {
                notes.push(
                    "no error at all outside spikes: the drift cannot be fitted (noise_sd = 0)"
                        .into(),
                );
                Drift::default()
            } else {
                let mut d = drift(&kept, first_ms, dt, &mut notes);
                if d.sd > MAX_NOISE_SD {
                    notes.push(format!(
                        "the drift's fitted sd ({:.3}) is over the most a scenario takes; noise_sd = {MAX_NOISE_SD} is written",
                        d.sd
                    ));
                    d.sd = MAX_NOISE_SD;
                }
                d
            };
            (baseline, d.sd, d.lag0, d.tau_ms, d.z, spikes)
        } else {
            notes.push("no errors series: the error rate, its drift and spikes are not fitted; the scenario leaves baseline_error_rate, noise_sd and noise_correlation at their defaults".into());
            (
                f64::NAN,
                f64::NAN,
                f64::NAN,
                None,
                f64::NAN,
                Spikes::default(),
            )
        };
    Ok(Fit {
        interval_ms: dt,
        first_ms,
        last_ms,
        scrapes: s.len(),
        lost,
        request_rate: curve.rate,
        daily: curve.daily,
        weekly,
        rate_r2: curve.r2,
        dispersion: curve.dispersion,
        errors_fitted: input.has_errors,
        baseline_error_rate,
        noise_sd,
        noise_sd_lag0,
        noise_correlation_ms,
        drift_z,
        missing_scrape_probability,
        spikes,
        latency,
        covered_ms,
        notes,
    })
}

/// Solves the square system `a x = b` by Gaussian elimination; `None` when singular.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let k = b.len();
    for c in 0..k {
        let p = (c..k).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
        if a[p][c].abs() < 1e-12 {
            return None;
        }
        a.swap(c, p);
        b.swap(c, p);
        for r in c + 1..k {
            let f = a[r][c] / a[c][c];
            let pivot = a[c].clone();
            for (x, p) in a[r].iter_mut().zip(pivot).skip(c) {
                *x -= f * p;
            }
            b[r] -= f * b[c];
        }
    }
    let mut x = vec![0.0; k];
    for c in (0..k).rev() {
        let rest: f64 = (c + 1..k).map(|j| a[c][j] * x[j]).sum();
        x[c] = (b[c] - rest) / a[c][c];
    }
    Some(x)
}

/// The fitted rate curve.
struct Curve {
    rate: f64,
    daily: Option<Daily>,
    weekly: Option<Weekly>,
    r2: f64,
    dispersion: f64,
}

/// Mean rate, daily (with a day of data) and weekly shape (when `weekly`), R² and the
/// dispersion of counts.
fn rate_curve(s: &[Sample], dt: u64, span_ms: u64, weekly: bool) -> Curve {
    let secs = dt as f64 / 1000.0;
    let y: Vec<f64> = s.iter().map(|x| x.requests as f64 / secs).collect();
    let n = y.len() as f64;
    let mean = y.iter().sum::<f64>() / n;
    let tau = std::f64::consts::TAU;
    let basis = |x: &Sample| {
        // The simulator draws an interval's requests at its start.
        let t = x.at_ms.saturating_sub(dt);
        let d = (t % DAY_MS) as f64 / DAY_MS as f64 * tau;
        let mut row = vec![1.0, d.cos(), d.sin()];
        if weekly {
            let w = ((t + EPOCH_IN_WEEK_MS) % WEEK_MS) as f64 / WEEK_MS as f64 * tau;
            row.extend([w.cos(), w.sin()]);
        }
        row
    };
    let mut fitted: Vec<f64> = vec![mean; y.len()];
    let mut curve = Curve {
        rate: mean,
        daily: None,
        weekly: None,
        r2: 1.0,
        dispersion: 1.0,
    };
    if span_ms >= DAY_MS {
        let k = if weekly { 5 } else { 3 };
        let mut ata = vec![vec![0.0; k]; k];
        let mut atb = vec![0.0; k];
        for (x, &v) in s.iter().zip(&y) {
            let row = basis(x);
            for i in 0..k {
                for j in 0..k {
                    ata[i][j] += row[i] * row[j];
                }
                atb[i] += row[i] * v;
            }
        }
        if let Some(b) = solve(ata, atb).filter(|b| b[0] > 0.0) {
            let peak = |c: f64, s: f64, period: f64| {
                let p = (s.atan2(c) / tau * period).rem_euclid(period);
                if p >= period {
                    0.0
                } else {
                    p
                }
            };
            curve.rate = b[0];
            curve.daily = Some(Daily {
                amplitude: (b[1].hypot(b[2]) / b[0]).min(1.0),
                peak_hour: peak(b[1], b[2], 24.0),
            });
            if weekly {
                curve.weekly = Some(Weekly {
                    amplitude: (b[3].hypot(b[4]) / b[0]).min(1.0),
                    peak_weekday: peak(b[3], b[4], 7.0),
                });
            }
            for (f, x) in fitted.iter_mut().zip(s) {
                *f = basis(x).iter().zip(&b).map(|(r, c)| r * c).sum();
            }
        }
    }
    let ss_tot: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    let ss_res: f64 = y.iter().zip(&fitted).map(|(v, f)| (v - f).powi(2)).sum();
    curve.r2 = if ss_tot > 0.0 {
        1.0 - ss_res / ss_tot
    } else {
        1.0
    };
    let params = match (curve.daily, curve.weekly) {
        (_, Some(_)) => 5.0,
        (Some(_), None) => 3.0,
        _ => 1.0,
    };
    let mu_sum: f64 = fitted.iter().map(|f| (f * secs).max(0.0)).sum();
    if mu_sum > 0.0 && n > params {
        curve.dispersion = ss_res * secs * secs / mu_sum * n / (n - params);
    }
    curve
}
