//! The scenario text a fit becomes: the fitted keys of `[simulation]`, `[service]`,
//! `[signals]` and the spikes as a `[[faults]]` entry, numbers rounded to what the data
//! supports.

use super::Fit;
use crate::check::duration_text;

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

/// A duration in the scenario syntax, whole seconds when at least a second, written as
/// the rest of rollsim writes them (`24h`, `1h 30m`: [`duration_text`], never `1day`).
pub(super) fn dur(ms: u64) -> String {
    let ms = if ms >= 1000 {
        (ms + 500) / 1000 * 1000
    } else {
        ms.max(1)
    };
    duration_text(ms)
}

/// A latency in the scenario syntax: whole milliseconds, at least 1.
fn ms(x: f64) -> u64 {
    (x.round() as u64).max(1)
}

/// The scenario keys of a fit (comments only for what is not fitted). With
/// `duration_ms`, a complete scenario for the goodness-of-fit simulation: that long, the
/// new version deployed at once at 0 and good, and a policy that never acts, so the new
/// version's scrapes are the service's.
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
    if let Some(w) = fit.weekly {
        // Rounded down so that the two amplitudes, rounded, still add up to at most 1.
        let wa: f64 = num(w.amplitude).parse().unwrap_or(w.amplitude);
        let room = 1.0 - num(a).parse().unwrap_or(a);
        t.push_str(&format!(
            "weekly_amplitude = {}\n",
            num(if wa > room { room.max(0.0) } else { wa })
        ));
        t.push_str(&format!(
            "peak_weekday = {}\n",
            num((w.peak_weekday * 100.0).round() / 100.0 % 7.0)
        ));
    }
    if fit.errors_fitted {
        t.push_str(&format!(
            "baseline_error_rate = {}\n",
            num(fit.baseline_error_rate)
        ));
    } else {
        t.push_str("# baseline_error_rate: not fitted (no errors series); the default applies\n");
    }
    if let Some(l) = fit.latency {
        let p50 = ms(l.p50_ms);
        let p99 = ms(l.p99_ms).max(p50 + 1);
        t.push_str(&format!("latency_p50 = \"{p50}ms\"\n"));
        t.push_str(&format!("latency_p99 = \"{p99}ms\"\n"));
    }
    t.push_str("\n[signals]\n");
    if fit.errors_fitted {
        t.push_str(&format!("noise_sd = {}\n", num(fit.noise_sd)));
        match fit.noise_correlation_ms {
            Some(tau) => t.push_str(&format!("noise_correlation = \"{}\"\n", dur(tau))),
            None => {
                t.push_str("# noise_correlation: not written, no drift was found (noise_sd = 0)\n")
            }
        }
    } else {
        t.push_str(
            "# noise_sd, noise_correlation: not fitted (no errors series); the defaults apply\n",
        );
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::parse_duration;

    #[test]
    fn durations_are_written_as_everywhere_else_and_read_back() {
        assert_eq!(dur(86_400_000), "24h");
        assert_eq!(dur(604_800_000), "168h");
        assert_eq!(dur(5_400_000), "1h 30m");
        assert_eq!(dur(15_000), "15s");
        assert_eq!(dur(1_499), "1s");
        assert_eq!(dur(250), "250ms");
        for ms in [
            1,
            250,
            1_000,
            15_000,
            90_000,
            3_600_000,
            86_400_000,
            90_061_000,
            2_592_000_000,
        ] {
            assert_eq!(parse_duration(&dur(ms)).map(|d| d.0), Ok(ms), "{}", dur(ms));
        }
    }
}
