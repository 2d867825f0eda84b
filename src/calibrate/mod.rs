//! `rollsim calibrate`: rollsim's noise model fitted to recorded signals of a healthy
//! period, written as a scenario, then checked by simulating that scenario and comparing
//! the simulated signals with the recorded ones.
//!
//! What is fitted and how: [`fit`]. What the scenario holds: `[simulation]
//! scrape_interval`, `[service]` (`request_rate`, `diurnal_amplitude`, `peak_hour`,
//! `baseline_error_rate`), `[signals]` (`noise_sd`, `noise_correlation`,
//! `missing_scrape_probability`, `request_dispersion`), and error spikes as a `[[faults]]`
//! entry of kind `dependency_outage` (Poisson arrivals, fixed length, added error rate):
//! the scenario format has no key of its own for them.
//!
//! The check simulates the written scenario itself (parsed as any scenario file) with the
//! engine, `runs` times over the same hours of the day as the recording, and fits the
//! simulated signals with the same estimators: a parameter that the estimators do not
//! recover from simulated data, or a distribution that differs, shows where the model and
//! the recording part ways.

mod drift;
pub mod fit;
pub mod gof;
mod input;
mod latency;
mod scenario_text;
mod spikes;
mod summary;

pub use fit::{Daily, Fit, Latency, Options, Spikes, Weekly};
pub use gof::Ks;
pub use input::{Input, Sample, Selection};
pub use scenario_text::simulation_toml;
pub use summary::report_lines;

use crate::recorded::format_timestamp;
use crate::scenario::Scenario;
use crate::sim::{replicate_traced, Prepared, World};
use scenario_text::dur;
use std::sync::atomic::{AtomicBool, Ordering};

const WEEK_MS: u64 = 7 * 86_400_000;

/// What a calibration is asked beyond the data: the stretches to fit and the fit's options.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Settings {
    pub selection: Selection,
    pub fit: fit::Options,
}

/// Simulates run `run` of `scn` under its first policy (the release must not disturb the
/// service: see [`simulation_toml`]) and returns what its scrapes observed of the new
/// version, which serves all traffic, from `from_ms` on; empty without a policy.
pub fn simulated_input(scn: &Scenario, seed: u64, run: u64, from_ms: u64) -> Input {
    simulated_with(&Prepared::new(scn), scn, seed, run, from_ms)
}

/// [`simulated_input`] with `prepared` made once for every run (and carrying the stop
/// flag).
fn simulated_with(
    prepared: &Prepared<'_>,
    scn: &Scenario,
    seed: u64,
    run: u64,
    from_ms: u64,
) -> Input {
    let dt = scn.scrape_interval_ms;
    let Some(spec) = scn.policies.first() else {
        return Input {
            interval_ms: dt,
            samples: vec![],
            has_errors: true,
            breaks: vec![],
        };
    };
    let world = World::for_run(scn, seed, run);
    let (_, trace) = replicate_traced(prepared, &world, spec);
    let samples = trace
        .rows
        .iter()
        .filter_map(|r| {
            let t = (r.t_s * 1000.0).round() as u64;
            if t < from_ms {
                return None;
            }
            let requests = r.observed_requests_new?;
            Some(Sample {
                at_ms: t + dt,
                requests,
                errors: r.observed_errors_new?,
                latency_p99_ms: r.observed_p99_new_ms.filter(|_| requests > 0),
            })
        })
        .collect();
    Input {
        interval_ms: dt,
        samples,
        has_errors: true,
        breaks: vec![],
    }
}

/// One lag of the autocorrelation comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AcfRow {
    /// The lag in scrapes, and in time.
    pub lag: usize,
    pub lag_ms: u64,
    /// Autocorrelation of the recorded error ratio outside spikes.
    pub recorded: f64,
    /// Mean over the simulated runs.
    pub simulated: f64,
}

/// One quantile of the distribution comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuantileRow {
    /// `error_ratio` or `requests_per_s`, and the quantile's probability.
    pub series: &'static str,
    pub q: f64,
    pub recorded: f64,
    pub simulated: f64,
}

/// A fit and its check against simulation.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// The fit of the recording.
    pub fit: Fit,
    /// The same estimators on each simulated run.
    pub simulated_fits: Vec<Fit>,
    /// Recorded against all simulated runs pooled: per-scrape error ratio, requests per second.
    pub ks_error_ratio: Ks,
    pub ks_requests: Ks,
    /// The same statistic for each simulated run against the other runs: how far the
    /// model's own noise puts two samples apart (autocorrelated scrapes make the
    /// asymptotic p-value useless; this reference is not).
    pub ks_error_ratio_reference: Vec<f64>,
    pub ks_requests_reference: Vec<f64>,
    /// Autocorrelation of the error ratio outside spikes at a few lags.
    pub acf: Vec<AcfRow>,
    /// Quantiles of both series, for distribution plots.
    pub quantiles: Vec<QuantileRow>,
    /// The scenario file: comments with the fit and its check, then the keys.
    pub scenario: String,
}

/// Lags (in scrapes) of the autocorrelation comparison.
const LAGS: [usize; 6] = [1, 4, 20, 60, 240, 960];
const QUANTILES: [f64; 9] = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99];

/// The parameters of a fit as named in `fit.csv` (`NaN` where not fitted).
pub fn parameters(f: &Fit) -> Vec<(&'static str, f64)> {
    let lat = |g: fn(&fit::Latency) -> f64| f.latency.as_ref().map_or(f64::NAN, g);
    vec![
        ("request_rate", f.request_rate),
        ("diurnal_amplitude", f.daily.map_or(0.0, |d| d.amplitude)),
        ("peak_hour", f.daily.map_or(f64::NAN, |d| d.peak_hour)),
        (
            "weekly_amplitude",
            f.weekly.map_or(f64::NAN, |w| w.amplitude),
        ),
        (
            "peak_weekday",
            f.weekly.map_or(f64::NAN, |w| w.peak_weekday),
        ),
        ("baseline_error_rate", f.baseline_error_rate),
        ("noise_sd", f.noise_sd),
        ("noise_sd_lag0", f.noise_sd_lag0),
        (
            "noise_correlation_s",
            f.noise_correlation_ms
                .map_or(f64::NAN, |t| t as f64 / 1000.0),
        ),
        ("drift_z", f.drift_z),
        ("missing_scrape_probability", f.missing_scrape_probability),
        ("count_dispersion", f.dispersion),
        (
            "spikes_per_hour",
            if f.errors_fitted {
                f.spikes.per_hour
            } else {
                f64::NAN
            },
        ),
        (
            "spike_added_error_rate",
            if f.errors_fitted {
                f.spikes.added_error_rate
            } else {
                f64::NAN
            },
        ),
        (
            "spike_duration_s",
            if f.errors_fitted {
                f.spikes.duration_ms as f64 / 1000.0
            } else {
                f64::NAN
            },
        ),
        ("latency_p50_ms", lat(|l| l.p50_ms)),
        ("latency_p99_ms", lat(|l| l.p99_ms)),
        ("latency_p99_sampling_sd", lat(|l| l.sampling_sd)),
        ("latency_p99_extra_sd", lat(|l| l.extra_sd)),
    ]
}

/// The period of a parameter that is a time of day or of week, averaged on a circle.
fn period_of(name: &str) -> Option<f64> {
    match name {
        "peak_hour" => Some(24.0),
        "peak_weekday" => Some(7.0),
        _ => None,
    }
}

/// The mean of each parameter over `fits` (peak hours and weekdays as circular means).
pub fn mean_parameters(fits: &[Fit]) -> Vec<(&'static str, f64)> {
    let all: Vec<Vec<(&'static str, f64)>> = fits.iter().map(parameters).collect();
    let Some(first) = all.first() else {
        return vec![];
    };
    (0..first.len())
        .map(|k| {
            let name = first[k].0;
            let vals: Vec<f64> = all
                .iter()
                .map(|p| p[k].1)
                .filter(|v| v.is_finite())
                .collect();
            if vals.is_empty() {
                return (name, f64::NAN);
            }
            if let Some(period) = period_of(name) {
                let (s, c) = vals.iter().fold((0.0, 0.0), |(s, c), h| {
                    let a = h / period * std::f64::consts::TAU;
                    (s + a.sin(), c + a.cos())
                });
                return (
                    name,
                    (s.atan2(c) / std::f64::consts::TAU * period).rem_euclid(period),
                );
            }
            (name, vals.iter().sum::<f64>() / vals.len() as f64)
        })
        .collect()
}

/// The smallest and largest value of each parameter over `fits` (`NaN` where none): how
/// far the same estimators move between copies of one model, so how much a recorded
/// value can be trusted.
pub fn parameter_ranges(fits: &[Fit]) -> Vec<(&'static str, f64, f64)> {
    let all: Vec<Vec<(&'static str, f64)>> = fits.iter().map(parameters).collect();
    let Some(first) = all.first() else {
        return vec![];
    };
    (0..first.len())
        .map(|k| {
            let vals = all.iter().map(|p| p[k].1).filter(|v| v.is_finite());
            let (lo, hi) = vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
            if lo > hi {
                (first[k].0, f64::NAN, f64::NAN)
            } else {
                (first[k].0, lo, hi)
            }
        })
        .collect()
}

/// Warnings on the drift's check: when the simulated copies of the fitted model re-fit
/// to drifts that disagree (some with none, or a spread over a factor of 3), the check
/// cannot confirm the recorded drift at this record length.
pub fn drift_warnings(c: &Calibration) -> Vec<String> {
    if !c.fit.errors_fitted || c.simulated_fits.len() < 2 {
        return vec![];
    }
    let sds: Vec<f64> = c.simulated_fits.iter().map(|f| f.noise_sd).collect();
    let found = sds.iter().filter(|&&x| x > 0.0).count();
    let lo = sds.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = sds.iter().copied().fold(0.0, f64::max);
    let mut w = Vec::new();
    if found > 0 && found < sds.len() {
        w.push(format!(
            "warning: the drift is found in {found} of {} simulated copies of the fitted model (noise_sd {lo:.3} to {hi:.3}): at this record length the check cannot confirm noise_sd; fit a longer healthy period",
            sds.len()
        ));
    } else if found == sds.len() && hi > 3.0 * lo {
        w.push(format!(
            "warning: simulated copies of the fitted model re-fit noise_sd from {lo:.3} to {hi:.3}, over a factor of 3: the recorded value is uncertain by as much"
        ));
    }
    let taus: Vec<f64> = c
        .simulated_fits
        .iter()
        .filter_map(|f| f.noise_correlation_ms)
        .map(|t| t as f64)
        .collect();
    if taus.len() >= 2 {
        let lo = taus.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = taus.iter().copied().fold(0.0, f64::max);
        if hi > 3.0 * lo {
            w.push(format!(
                "warning: simulated copies re-fit the drift's correlation time from {} to {}: the recorded one is uncertain by as much",
                dur(lo as u64),
                dur(hi as u64)
            ));
        }
    }
    w
}

/// Fits the part of `input` that `settings` selects, writes the scenario, simulates it
/// `runs` times from `seed` over the same hours of the same weekdays, selects the same
/// stretches of each simulated run, and compares. `provenance` is a line saying where the
/// data came from (file names, command).
pub fn calibrate(
    input: &Input,
    settings: &Settings,
    provenance: &str,
    seed: u64,
    runs: u64,
) -> Result<Calibration, String> {
    // Without a stop flag nothing ends it early: `None` cannot come back.
    calibrate_until(input, settings, provenance, seed, runs, None)?
        .ok_or_else(|| "the calibration was stopped".to_string())
}

/// [`calibrate`], ended early once `stop` (Ctrl-C) is set: the simulated run in progress
/// is cut short, no other is started, and `Ok(None)` says nothing was calibrated.
pub fn calibrate_until(
    input: &Input,
    settings: &Settings,
    provenance: &str,
    seed: u64,
    runs: u64,
    stop: Option<&AtomicBool>,
) -> Result<Option<Calibration>, String> {
    let stopped = || stop.is_some_and(|s| s.load(Ordering::SeqCst));
    let input = &input.select(&settings.selection);
    let fit = fit::fit_with(input, settings.fit)?;
    let start_ms = fit.first_ms.saturating_sub(fit.interval_ms);
    let description = format!(
        "Calibrated from recorded signals, {} to {}",
        format_timestamp(start_ms),
        format_timestamp(fit.last_ms)
    );
    // Simulate the same hours of the same weekdays as the recording: simulated time is
    // Unix time less a whole number of weeks.
    let from_ms = start_ms % WEEK_MS;
    let shift = start_ms - from_ms;
    let text = simulation_toml(&fit, &description, Some(from_ms + fit.span_ms()));
    let scn = crate::scenario::parse(&text, "<calibrated scenario>")
        .map_err(|e| format!("the fitted values make no valid scenario (a bug): {e}"))?;
    let has_latency = fit.latency.is_some();
    let prepared = Prepared::with_stop(&scn, stop);
    let sims: Vec<Input> = (0..runs)
        .take_while(|_| !stopped())
        .map(|r| {
            let mut sim = simulated_with(&prepared, &scn, seed, r, from_ms);
            sim.has_errors = input.has_errors;
            for x in &mut sim.samples {
                x.at_ms += shift;
                if !has_latency {
                    x.latency_p99_ms = None;
                }
            }
            sim.select(&settings.selection)
        })
        .collect();
    if stopped() {
        return Ok(None);
    }
    let simulated_fits: Vec<Fit> = sims
        .iter()
        .filter_map(|s| fit::fit_with(s, settings.fit).ok())
        .collect();

    let rec_ratio = gof::error_ratios(input);
    let sim_ratio: Vec<f64> = sims.iter().flat_map(gof::error_ratios).collect();
    let rec_rate = gof::request_rates(input);
    let sim_rate: Vec<f64> = sims.iter().flat_map(gof::request_rates).collect();
    let ks_error_ratio = gof::ks(&rec_ratio, &sim_ratio);
    let ks_requests = gof::ks(&rec_rate, &sim_rate);
    let reference = |series: fn(&Input) -> Vec<f64>| -> Vec<f64> {
        if sims.len() < 2 {
            return vec![];
        }
        (0..sims.len())
            .map(|j| {
                let others: Vec<f64> = sims
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != j)
                    .flat_map(|(_, s)| series(s))
                    .collect();
                gof::ks(&series(&sims[j]), &others).d
            })
            .collect()
    };
    let ks_error_ratio_reference = reference(gof::error_ratios);
    let ks_requests_reference = reference(gof::request_rates);

    let slots = (fit.span_ms() / fit.interval_ms) as usize;
    let lags: Vec<usize> = LAGS.iter().copied().filter(|&k| k < slots / 5).collect();
    let rec_acf = gof::acf(input, &lags);
    let sim_acfs: Vec<Vec<f64>> = sims.iter().map(|s| gof::acf(s, &lags)).collect();
    let acf = lags
        .iter()
        .enumerate()
        .map(|(i, &lag)| {
            let v: Vec<f64> = sim_acfs
                .iter()
                .map(|a| a[i])
                .filter(|x| x.is_finite())
                .collect();
            AcfRow {
                lag,
                lag_ms: lag as u64 * fit.interval_ms,
                recorded: rec_acf[i],
                simulated: if v.is_empty() {
                    f64::NAN
                } else {
                    v.iter().sum::<f64>() / v.len() as f64
                },
            }
        })
        .collect::<Vec<_>>();
    let mut quantiles = Vec::new();
    let mut series_of = vec![
        ("error_ratio", rec_ratio, sim_ratio),
        ("requests_per_s", rec_rate, sim_rate),
    ];
    if has_latency {
        series_of.push((
            "latency_p99_ms",
            gof::latencies(input),
            sims.iter().flat_map(gof::latencies).collect(),
        ));
    }
    for (series, rec, sim) in series_of {
        let (mut rec, mut sim) = (rec, sim);
        rec.sort_by(f64::total_cmp);
        sim.sort_by(f64::total_cmp);
        for q in QUANTILES {
            quantiles.push(QuantileRow {
                series,
                q,
                recorded: gof::quantile(&rec, q),
                simulated: gof::quantile(&sim, q),
            });
        }
    }
    let mut c = Calibration {
        fit,
        simulated_fits,
        ks_error_ratio,
        ks_requests,
        ks_error_ratio_reference,
        ks_requests_reference,
        acf,
        quantiles,
        scenario: String::new(),
    };
    c.scenario = scenario_file(&c, provenance, &description, seed, runs);
    Ok(Some(c))
}

fn scenario_file(
    c: &Calibration,
    provenance: &str,
    description: &str,
    seed: u64,
    runs: u64,
) -> String {
    let mut t = String::new();
    t.push_str(
        "# Calibrated by rollsim calibrate: the noise model fitted to recorded signals of a\n",
    );
    t.push_str(
        "# healthy period. Add [release], [rollout], [[faults]] and [[policies]] to use it.\n",
    );
    t.push_str(&format!("# {provenance}\n#\n"));
    for line in report_lines(c, seed, runs) {
        t.push_str(&format!("# {line}\n"));
    }
    t.push('\n');
    t.push_str(&simulation_toml(&c.fit, description, None));
    t
}

#[cfg(test)]
mod tests;
