//! The fit and its check as lines a person reads: the terminal printout of
//! `rollsim calibrate` and the comment block that opens the scenario it writes.

use super::{drift_warnings, dur, fit, mean_parameters, parameter_ranges, parameters, Calibration};
use crate::recorded::format_timestamp;

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
    if f.covered_ms + f.interval_ms < f.span_ms() {
        l.push(format!(
            "stretches fitted: {:.1} h of the {:.1} h from first to last scrape",
            f.covered_ms as f64 / 3.6e6,
            f.span_ms() as f64 / 3.6e6
        ));
    }
    l.push(format!(
        "rate fit: R² = {:.3} of requests per second explained by the {} curve",
        f.rate_r2,
        if f.weekly.is_some() {
            "daily and weekly"
        } else {
            "daily"
        }
    ));
    if let Some(w) = f.weekly {
        l.push(format!(
            "weekly shape: amplitude {:.3}, peak {:.2} days after Monday 00:00 UTC",
            w.amplitude, w.peak_weekday
        ));
    }
    l.push(format!(
        "count over-dispersion (variance / mean of requests per scrape around the curve): {:.3}; \
         written as `request_dispersion` (1 is Poisson)",
        f.dispersion
    ));
    if !f.errors_fitted {
        l.push("errors: not recorded; the error rate, drift and spikes are not fitted".into());
    } else if f.noise_correlation_ms.is_none() {
        l.push(format!(
            "drift: none found (z = {:.2} over lags 1 to {}, found above {}); noise_sd = 0, no correlation time written",
            f.drift_z,
            fit::DRIFT_TEST_LAGS,
            fit::DRIFT_Z
        ));
    } else {
        l.push(format!(
            "drift sd from lags >= 1: {:.3} (z = {:.1}); from the lag-0 variance less binomial noise: {:.3}{}",
            f.noise_sd,
            f.drift_z,
            f.noise_sd_lag0,
            if f.noise_sd_lag0 > 1.5 * f.noise_sd + 0.05 {
                " (extra scrape-to-scrape noise in errors the model lacks)"
            } else {
                ""
            }
        ));
    }
    if let Some(lat) = f.latency {
        l.push(format!(
            "latency: p99 {:.1} ms, p50 {:.1} ms{} from {} scrapes; the p99's log-sd from sampling {:.3}, beyond it {:.3}",
            lat.p99_ms,
            lat.p50_ms,
            if lat.identified { "" } else { " (see the notes)" },
            lat.scrapes,
            lat.sampling_sd,
            lat.extra_sd
        ));
    }
    if f.errors_fitted && f.spikes.events > 0 {
        l.push(format!(
            "spikes: {} in {} scrapes, {:.4} per hour, median added error rate {:.4}, mean length {}",
            f.spikes.events,
            f.spikes.scrapes,
            f.spikes.per_hour,
            f.spikes.added_error_rate,
            dur(f.spikes.duration_ms)
        ));
    } else if f.errors_fitted {
        l.push("spikes: none found".into());
    }
    for n in &f.notes {
        l.push(format!("note: {n}"));
    }
    l.extend(drift_warnings(c));
    l.push(format!(
        "goodness of fit, recorded vs {runs} simulated runs of this scenario (seed {seed}):"
    ));
    let sim = mean_parameters(&c.simulated_fits);
    let range = parameter_ranges(&c.simulated_fits);
    l.push(format!(
        "  {:<28} {:>12} {:>12}  {}",
        "parameter", "recorded", "simulated", "simulated range"
    ));
    for (((name, rec), (_, s)), (_, lo, hi)) in parameters(f).into_iter().zip(sim).zip(range) {
        if !rec.is_finite() && !s.is_finite() {
            continue;
        }
        l.push(format!(
            "  {:<28} {:>12} {:>12}  {} to {}",
            name,
            fmt(rec),
            fmt(s),
            fmt(lo),
            fmt(hi)
        ));
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
        if k.n_recorded == 0 {
            continue;
        }
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
    if f.errors_fitted {
        l.push(format!(
            "  autocorrelation of the error ratio outside spikes, recorded vs simulated, at lag {}",
            acf.join("; ")
        ));
    }
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
