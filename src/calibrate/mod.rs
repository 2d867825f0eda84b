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

pub mod fit;
pub mod gof;

pub use fit::{Daily, Fit, Spikes};
pub use gof::Ks;

use crate::recorded::{format_timestamp, Scrapes};
use crate::scenario::Scenario;
use crate::sim::{replicate_traced, Prepared, World};

const DAY_MS: u64 = 86_400_000;

/// The counts of one present scrape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// End of the scraped interval (Unix ms; the time of day is UTC).
    pub at_ms: u64,
    /// Requests and failed requests in the interval.
    pub requests: u64,
    pub errors: u64,
}

/// A recorded (or simulated) series of scrapes; lost scrapes are the gaps.
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    /// The scrape interval; spacings longer than it are lost scrapes.
    pub interval_ms: u64,
    /// Present scrapes in time order.
    pub samples: Vec<Sample>,
}

impl Input {
    /// The watched version's counts of recorded scrapes.
    pub fn from_scrapes(s: &Scrapes) -> Input {
        Input {
            interval_ms: s.interval_ms,
            samples: s
                .present
                .iter()
                .map(|x| Sample {
                    at_ms: x.at_ms,
                    requests: x.new.requests,
                    errors: x.new.errors,
                })
                .collect(),
        }
    }
}

/// Simulates run `run` of `scn` under its first policy (the release must not disturb the
/// service: see [`simulation_toml`]) and returns what its scrapes observed of the new
/// version, which serves all traffic, from `from_ms` on; empty without a policy.
pub fn simulated_input(scn: &Scenario, seed: u64, run: u64, from_ms: u64) -> Input {
    let dt = scn.scrape_interval_ms;
    let Some(spec) = scn.policies.first() else {
        return Input {
            interval_ms: dt,
            samples: vec![],
        };
    };
    let prepared = Prepared::new(scn);
    let world = World::for_run(scn, seed, run);
    let (_, trace) = replicate_traced(&prepared, &world, spec);
    let samples = trace
        .rows
        .iter()
        .filter_map(|r| {
            let t = (r.t_s * 1000.0).round() as u64;
            if t < from_ms {
                return None;
            }
            Some(Sample {
                at_ms: t + dt,
                requests: r.observed_requests_new?,
                errors: r.observed_errors_new?,
            })
        })
        .collect();
    Input {
        interval_ms: dt,
        samples,
    }
}

/// Rounds to 4 significant digits and prints as a TOML float.
fn num(x: f64) -> String {
    let r: f64 = format!("{x:.3e}").parse().unwrap_or(x);
    let s = format!("{r}");
    if s.contains('.') || s.contains('e') || s.contains("inf") || s.contains("NaN") {
        s
    } else {
        format!("{s}.0")
    }
}

/// A duration in the scenario syntax, whole seconds when at least a second.
fn dur(ms: u64) -> String {
    let ms = if ms >= 1000 {
        (ms + 500) / 1000 * 1000
    } else {
        ms.max(1)
    };
    humantime::format_duration(std::time::Duration::from_millis(ms)).to_string()
}

/// The scenario keys of a fit (no comments). With `duration_ms`, a complete scenario for
/// the goodness-of-fit simulation: that long, the new version deployed at once at 0 and
/// good, and a policy that never acts, so the new version's scrapes are the service's.
pub fn simulation_toml(fit: &Fit, description: &str, duration_ms: Option<u64>) -> String {
    let mut t = String::new();
    t.push_str(&format!("description = {}\n\n", toml_string(description)));
    t.push_str("[simulation]\n");
    if let Some(d) = duration_ms {
        t.push_str(&format!("duration = \"{}\"\n", dur(d)));
    }
    t.push_str(&format!(
        "scrape_interval = \"{}\"\n\n",
        dur(fit.interval_ms)
    ));
    t.push_str("[service]\n");
    t.push_str(&format!("request_rate = {}\n", num(fit.request_rate)));
    let (a, h) = fit
        .daily
        .map_or((0.0, None), |d| (d.amplitude, Some(d.peak_hour)));
    t.push_str(&format!("diurnal_amplitude = {}\n", num(a)));
    if let Some(h) = h {
        t.push_str(&format!(
            "peak_hour = {}\n",
            num((h * 100.0).round() / 100.0 % 24.0)
        ));
    }
    t.push_str(&format!(
        "baseline_error_rate = {}\n\n",
        num(fit.baseline_error_rate)
    ));
    t.push_str("[signals]\n");
    t.push_str(&format!("noise_sd = {}\n", num(fit.noise_sd)));
    t.push_str(&format!(
        "noise_correlation = \"{}\"\n",
        dur(fit.noise_correlation_ms)
    ));
    t.push_str(&format!(
        "missing_scrape_probability = {}\n",
        num(fit.missing_scrape_probability)
    ));
    t.push_str(&format!(
        "request_dispersion = {}\n",
        num(fit.dispersion.max(1.0))
    ));
    let sp = &fit.spikes;
    if sp.events > 0 {
        t.push_str(&format!(
            "\n# Error spikes beyond the drift ({} found), as short dependency outages.\n",
            sp.events
        ));
        t.push_str("[[faults]]\nname = \"error-spikes\"\nkind = \"dependency_outage\"\n");
        t.push_str(&format!("rate_per_hour = {}\n", num(sp.per_hour)));
        t.push_str(&format!("duration = \"{}\"\n", dur(sp.duration_ms)));
        t.push_str(&format!("error_rate = {}\n", num(sp.added_error_rate)));
    }
    if duration_ms.is_some() {
        t.push_str("\n[release]\nat = \"0s\"\nbad_probability = 0.0\n\n[rollout]\nstrategy = \"all_at_once\"\n\n[[policies]]\nname = \"none\"\nkind = \"none\"\n");
    }
    t
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
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

/// The parameters of a fit as named in `fit.csv`.
pub fn parameters(f: &Fit) -> Vec<(&'static str, f64)> {
    vec![
        ("request_rate", f.request_rate),
        ("diurnal_amplitude", f.daily.map_or(0.0, |d| d.amplitude)),
        ("peak_hour", f.daily.map_or(f64::NAN, |d| d.peak_hour)),
        ("baseline_error_rate", f.baseline_error_rate),
        ("noise_sd", f.noise_sd),
        ("noise_sd_lag0", f.noise_sd_lag0),
        (
            "noise_correlation_s",
            f.noise_correlation_ms as f64 / 1000.0,
        ),
        ("missing_scrape_probability", f.missing_scrape_probability),
        ("count_dispersion", f.dispersion),
        ("spikes_per_hour", f.spikes.per_hour),
        ("spike_added_error_rate", f.spikes.added_error_rate),
        ("spike_duration_s", f.spikes.duration_ms as f64 / 1000.0),
    ]
}

/// The mean of each parameter over `fits` (peak hours as a circular mean).
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
            if name == "peak_hour" {
                let (s, c) = vals.iter().fold((0.0, 0.0), |(s, c), h| {
                    let a = h / 24.0 * std::f64::consts::TAU;
                    (s + a.sin(), c + a.cos())
                });
                return (
                    name,
                    (s.atan2(c) / std::f64::consts::TAU * 24.0).rem_euclid(24.0),
                );
            }
            (name, vals.iter().sum::<f64>() / vals.len() as f64)
        })
        .collect()
}

/// Fits `input`, writes the scenario, simulates it `runs` times from `seed` and compares.
/// `provenance` is a line saying where the data came from (file names, command).
pub fn calibrate(
    input: &Input,
    provenance: &str,
    seed: u64,
    runs: u64,
) -> Result<Calibration, String> {
    let fit = fit::fit(input)?;
    let description = format!(
        "Calibrated from recorded signals, {} to {}",
        format_timestamp(fit.first_ms.saturating_sub(fit.interval_ms)),
        format_timestamp(fit.last_ms)
    );
    // Simulate the same hours of the day as the recording.
    let from_ms = fit.first_ms.saturating_sub(fit.interval_ms) % DAY_MS;
    let text = simulation_toml(&fit, &description, Some(from_ms + fit.span_ms()));
    let scn = crate::scenario::parse(&text, "<calibrated scenario>")
        .map_err(|e| format!("the fitted values make no valid scenario (a bug): {e}"))?;
    let sims: Vec<Input> = (0..runs)
        .map(|r| simulated_input(&scn, seed, r, from_ms))
        .collect();
    let simulated_fits: Vec<Fit> = sims.iter().filter_map(|s| fit::fit(s).ok()).collect();

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
    for (series, rec, sim) in [
        ("error_ratio", rec_ratio, sim_ratio),
        ("requests_per_s", rec_rate, sim_rate),
    ] {
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
    Ok(c)
}

fn fmt(x: f64) -> String {
    if !x.is_finite() {
        "-".into()
    } else if x == 0.0 {
        "0".into()
    } else if x.abs() >= 100.0 {
        format!("{x:.1}")
    } else if x.abs() >= 0.01 {
        format!("{x:.3}")
    } else {
        format!("{x:.3e}")
    }
}

/// The fit and its check as printable lines (also the scenario's comment block).
pub fn report_lines(c: &Calibration, seed: u64, runs: u64) -> Vec<String> {
    let f = &c.fit;
    let mut l = Vec::new();
    l.push(format!(
        "{} scrapes every {} ({} lost), {} to {}",
        f.scrapes,
        dur(f.interval_ms),
        f.lost,
        format_timestamp(f.first_ms.saturating_sub(f.interval_ms)),
        format_timestamp(f.last_ms)
    ));
    l.push(format!(
        "rate fit: R² = {:.3} of requests per second explained by the daily curve",
        f.rate_r2
    ));
    l.push(format!(
        "count over-dispersion (variance / mean of requests per scrape around the curve): {:.3}; \
         written as `request_dispersion` (1 is Poisson)",
        f.dispersion
    ));
    l.push(format!(
        "drift sd from lags >= 1: {:.3}; from the lag-0 variance less binomial noise: {:.3}{}",
        f.noise_sd,
        f.noise_sd_lag0,
        if f.noise_sd_lag0 > 1.5 * f.noise_sd + 0.05 {
            " (extra scrape-to-scrape noise in errors the model lacks)"
        } else {
            ""
        }
    ));
    if f.spikes.events > 0 {
        l.push(format!(
            "spikes: {} in {} scrapes, {:.4} per hour, median added error rate {:.4}, mean length {}",
            f.spikes.events,
            f.spikes.scrapes,
            f.spikes.per_hour,
            f.spikes.added_error_rate,
            dur(f.spikes.duration_ms)
        ));
    } else {
        l.push("spikes: none found".into());
    }
    for n in &f.notes {
        l.push(format!("note: {n}"));
    }
    l.push(format!(
        "goodness of fit, recorded vs {runs} simulated runs of this scenario (seed {seed}):"
    ));
    let sim = mean_parameters(&c.simulated_fits);
    l.push(format!(
        "  {:<28} {:>12} {:>12}",
        "parameter", "recorded", "simulated"
    ));
    for ((name, rec), (_, s)) in parameters(f).into_iter().zip(sim) {
        l.push(format!("  {:<28} {:>12} {:>12}", name, fmt(rec), fmt(s)));
    }
    for (what, k, reference) in [
        (
            "error ratio per scrape",
            &c.ks_error_ratio,
            &c.ks_error_ratio_reference,
        ),
        (
            "requests per second",
            &c.ks_requests,
            &c.ks_requests_reference,
        ),
    ] {
        l.push(format!(
            "  KS two-sample, {what}: D = {:.4} ({} vs {} scrapes){}",
            k.d,
            k.n_recorded,
            k.n_simulated,
            reference_text(k.d, reference)
        ));
    }
    let acf: Vec<String> = c
        .acf
        .iter()
        .map(|a| {
            format!(
                "{}: {} vs {}",
                dur(a.lag_ms),
                fmt(a.recorded),
                fmt(a.simulated)
            )
        })
        .collect();
    l.push(format!(
        "  autocorrelation of the error ratio outside spikes, recorded vs simulated, at lag {}",
        acf.join("; ")
    ));
    l
}

/// How a recorded-vs-simulated KS distance compares with simulated-vs-simulated ones.
fn reference_text(d: f64, reference: &[f64]) -> String {
    if reference.is_empty() {
        return String::new();
    }
    let lo = reference.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = reference.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let beyond = reference.iter().filter(|&&r| r >= d).count();
    format!(
        "; each simulated run against the others: D = {lo:.4} to {hi:.4}, {beyond} of {} at least as far{}",
        reference.len(),
        if beyond == 0 {
            " (the recording differs more than the model's own noise explains)"
        } else {
            ""
        }
    )
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
