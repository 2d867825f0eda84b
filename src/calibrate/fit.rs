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

use super::{Input, Sample};
use crate::sim::rng::sample::Z99;
use statrs::distribution::{Binomial, DiscreteCDF};

const DAY_MS: u64 = 86_400_000;
const WEEK_MS: u64 = 7 * DAY_MS;
/// Unix time 0 (a Thursday) is this far into its week, counted from Monday 00:00.
const EPOCH_IN_WEEK_MS: u64 = 3 * DAY_MS;
/// Data from which the weekly shape is fitted without being asked, and at least.
pub const WEEKLY_AUTO_MS: u64 = 14 * DAY_MS;
pub const WEEKLY_MIN_MS: u64 = 7 * DAY_MS;
/// The pooled autocorrelation statistic above which a drift is found (one-sided
/// `P(N(0,1) > 3) = 0.00135` when there is none).
pub const DRIFT_Z: f64 = 3.0;
/// Lags pooled in that statistic.
pub const DRIFT_TEST_LAGS: usize = 20;
/// Fewest scrapes with a latency a latency fit accepts.
pub const MIN_LATENCY_SCRAPES: usize = 50;
const HOUR_MS: f64 = 3_600_000.0;
/// Half-width of the window of the local error rate a spike is judged against.
const LOCAL_MS: u64 = 30 * 60_000;
/// Binomial tail probability below which a scrape is a spike.
const SPIKE_P: f64 = 1e-6;
/// Lags computed at most for the drift's autocorrelation.
const MAX_LAG: usize = 2000;

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

/// The latency of a healthy version, from its scraped p99.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    /// The p99's level: `exp` of the mean of `ln p99`.
    pub p99_ms: f64,
    /// The median that, with the p99, gives the log-sd the sampling noise shows.
    pub p50_ms: f64,
    /// Whether the p99's noise fixed the log-sd (else the default p99/p50 ratio of 5, or
    /// all of the noise taken as sampling error: see the fit's notes).
    pub identified: bool,
    /// Root mean square log-sd of a scraped p99 from sampling (what the model draws).
    pub sampling_sd: f64,
    /// Log-sd of the p99's noise beyond sampling (the model draws none).
    pub extra_sd: f64,
    /// Scrapes with a latency.
    pub scrapes: usize,
}

/// What the fit is asked beyond the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// Fit the weekly shape with less than two weeks of data (at least one).
    pub weekly: bool,
}

/// Bursts of errors beyond the drift.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Spikes {
    /// Spikes found (runs of adjacent spike scrapes).
    pub events: usize,
    /// Scrapes in them.
    pub scrapes: usize,
    /// Spikes per hour of data.
    pub per_hour: f64,
    /// Median added error probability of a spike (over the local rate).
    pub added_error_rate: f64,
    /// Mean length of a spike, in whole scrape intervals.
    pub duration_ms: u64,
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
                drift(&kept, first_ms, dt, &mut notes)
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

/// `q(1 - q) / φ(z_q)²` at `q = 0.99`: a scraped p99 of `n` requests has a log variance
/// of `σ²` times this over `n` (`sim::rng::sample::scraped_p99`).
fn p99_sampling_factor() -> f64 {
    let phi = (-0.5 * Z99 * Z99).exp() / (2.0 * std::f64::consts::PI).sqrt();
    0.99 * 0.01 / (phi * phi)
}

/// The latency's level and log-sd from the scraped p99 (see the module doc).
fn latency_fit(s: &[Sample], notes: &mut Vec<String>) -> Option<Latency> {
    let pts: Vec<(f64, f64)> = s
        .iter()
        .filter(|x| x.requests > 0)
        .filter_map(|x| {
            x.latency_p99_ms
                .filter(|&p| p > 0.0 && p.is_finite())
                .map(|p| (1.0 / x.requests as f64, p.ln()))
        })
        .collect();
    if pts.len() < MIN_LATENCY_SCRAPES {
        if !pts.is_empty() {
            notes.push(format!(
                "{} scrapes have a latency, fewer than {MIN_LATENCY_SCRAPES}: latency is not fitted",
                pts.len()
            ));
        }
        return None;
    }
    let n = pts.len() as f64;
    let level = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let v: Vec<f64> = pts.iter().map(|p| (p.1 - level).powi(2)).collect();
    let mv = v.iter().sum::<f64>() / n;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxv: f64 = pts.iter().zip(&v).map(|(p, v)| (p.0 - mx) * (v - mv)).sum();
    let c = p99_sampling_factor();
    let default_sigma = 5f64.ln() / Z99;
    // How much traffic varies between scrapes: with too little, sampling error and
    // other noise cannot be told apart.
    let spread = (sxx / n).sqrt() / mx;
    let (sigma, extra2, identified) = if spread >= 0.05 && sxx > 0.0 {
        let b = sxv / sxx;
        if b > 0.0 {
            ((b / c).sqrt(), (mv - b * mx).max(0.0), true)
        } else {
            notes.push("the p99's noise does not shrink with traffic as sampling error does: its log-sd is not identified, so latency_p50 is written at the default ratio p99 / 5".into());
            (default_sigma, mv, false)
        }
    } else {
        notes.push(format!(
            "traffic varies too little between scrapes (1/requests' coefficient of variation {spread:.3}) to tell the p99's sampling error from other noise: all of it is taken as sampling error, which fixes latency_p50 (a lower bound of it if there is other noise)"
        ));
        ((mv / (c * mx)).sqrt(), 0.0, false)
    };
    let sampling_sd = sigma * (c * mx).sqrt();
    let extra_sd = extra2.sqrt();
    if extra_sd > 0.5 * sampling_sd && identified {
        notes.push(format!(
            "the p99 varies beyond its sampling error (extra log-sd {extra_sd:.3} against {sampling_sd:.3}): the model draws no such latency noise, so simulated p99s are steadier than recorded ones"
        ));
    }
    Some(Latency {
        p99_ms: level.exp(),
        p50_ms: (level - sigma * Z99).exp(),
        identified,
        sampling_sd,
        extra_sd,
        scrapes: pts.len(),
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

/// `P(X >= e)` for `X ~ Binomial(n, p)`.
fn upper_tail(e: u64, n: u64, p: f64) -> f64 {
    if e == 0 {
        return 1.0;
    }
    if p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    Binomial::new(p, n).map_or(1.0, |b| b.sf(e - 1))
}

/// Spike scrapes: `Some(local error rate)` for a spike, `None` otherwise.
pub(super) fn find_spikes(s: &[Sample]) -> Vec<Option<f64>> {
    let total_r: u64 = s.iter().map(|x| x.requests).sum();
    let total_e: u64 = s.iter().map(|x| x.errors).sum();
    let global = total_e as f64 / total_r.max(1) as f64;
    let mut flags: Vec<Option<f64>> = vec![None; s.len()];
    // Two passes: the second judges against local rates with the first pass's spikes left out.
    for _ in 0..2 {
        let mut cr = vec![0u64; s.len() + 1];
        let mut ce = vec![0u64; s.len() + 1];
        for (i, x) in s.iter().enumerate() {
            let keep = flags[i].is_none();
            cr[i + 1] = cr[i] + if keep { x.requests } else { 0 };
            ce[i + 1] = ce[i] + if keep { x.errors } else { 0 };
        }
        let mut next = vec![None; s.len()];
        for (i, x) in s.iter().enumerate() {
            if x.requests == 0 || x.errors == 0 {
                continue;
            }
            let lo = s.partition_point(|y| y.at_ms + LOCAL_MS < x.at_ms);
            let hi = s.partition_point(|y| y.at_ms <= x.at_ms + LOCAL_MS);
            let (own_r, own_e) = if flags[i].is_none() {
                (x.requests, x.errors)
            } else {
                (0, 0)
            };
            let r = cr[hi] - cr[lo] - own_r;
            let e = ce[hi] - ce[lo] - own_e;
            let local = if r > 0 { e as f64 / r as f64 } else { global };
            let p = (2.0 * local.max(0.5 * global)).min(1.0);
            if (x.errors as f64) <= x.requests as f64 * p {
                continue;
            }
            if upper_tail(x.errors, x.requests, p) < SPIKE_P {
                next[i] = Some(local);
            }
        }
        flags = next;
    }
    flags
}

fn summarize_spikes(s: &[Sample], flags: &[Option<f64>], dt: u64, span_ms: u64) -> Spikes {
    let mut sizes = Vec::new();
    let mut lengths = Vec::new();
    let mut scrapes = 0;
    let mut current: Option<(u64, u64, Vec<f64>)> = None; // (first, last, added errors)
    for (x, f) in s.iter().zip(flags) {
        let Some(local) = f else { continue };
        scrapes += 1;
        let r = x.errors as f64 / x.requests as f64;
        let added = ((r - local) / (1.0 - local).max(1e-12)).clamp(0.0, 1.0);
        match &mut current {
            Some((_, last, v)) if x.at_ms <= *last + 2 * dt => {
                *last = x.at_ms;
                v.push(added);
            }
            _ => {
                if let Some((a, b, v)) = current.take() {
                    lengths.push((b - a) / dt + 1);
                    sizes.push(v.iter().sum::<f64>() / v.len() as f64);
                }
                current = Some((x.at_ms, x.at_ms, vec![added]));
            }
        }
    }
    if let Some((a, b, v)) = current {
        lengths.push((b - a) / dt + 1);
        sizes.push(v.iter().sum::<f64>() / v.len() as f64);
    }
    if sizes.is_empty() {
        return Spikes::default();
    }
    sizes.sort_by(f64::total_cmp);
    let median = if sizes.len() % 2 == 1 {
        sizes[sizes.len() / 2]
    } else {
        (sizes[sizes.len() / 2 - 1] + sizes[sizes.len() / 2]) / 2.0
    };
    let mean_len = lengths.iter().sum::<u64>() as f64 / lengths.len() as f64;
    Spikes {
        events: sizes.len(),
        scrapes,
        per_hour: sizes.len() as f64 / (span_ms as f64 / HOUR_MS),
        added_error_rate: median,
        duration_ms: (mean_len.round() as u64).max(1) * dt,
    }
}

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
struct Drift {
    sd: f64,
    lag0: f64,
    tau_ms: Option<u64>,
    z: f64,
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
fn drift(kept: &[&Sample], first_ms: u64, dt: u64, notes: &mut Vec<String>) -> Drift {
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
