//! `calibrate`: each parameter of the noise model recovered from a week of signals that
//! rollsim itself generated with known values, within a stated tolerance; the written
//! scenario is valid; bad input exits 2.
//!
//! Tolerances are about three standard deviations of the estimator, measured over 30
//! seeds of the same week (README, "Calibrate"): rate 0.013%, amplitude 0.0002, peak
//! 0.002 h, baseline 2.5%, noise sd 4.8%, correlation time 12%, lost scrapes 0.0007,
//! dispersion 0.007, spike size 3.8%.

use assert_cmd::Command;
use predicates::prelude::*;
use rollsim::calibrate::{self, fit::fit, simulated_input, Fit};
use rollsim::sim::World;
use std::sync::OnceLock;

/// A week of a service with every parameter set, spikes included.
const WEEK: &str = r#"
[simulation]
duration = "7d"
scrape_interval = "15s"

[service]
request_rate = 100.0
diurnal_amplitude = 0.4
peak_hour = 15.0
baseline_error_rate = 0.002

[signals]
noise_sd = 0.3
noise_correlation = "30m"
missing_scrape_probability = 0.02

[[faults]]
name = "spikes"
kind = "dependency_outage"
rate_per_hour = 0.2
duration = "1m"
error_rate = 0.05

[release]
at = "0s"
bad_probability = 0.0

[[policies]]
name = "none"
kind = "none"
"#;

const SEED: u64 = 3;

/// The fit of the week, and how many spikes (faults) the run really had.
fn week() -> &'static (Fit, usize) {
    static W: OnceLock<(Fit, usize)> = OnceLock::new();
    W.get_or_init(|| {
        let scn = crate::scenario(WEEK);
        let input = simulated_input(&scn, SEED, 0, 0);
        let faults = World::for_run(&scn, SEED, 0).faults.len();
        (fit(&input).expect("a week fits"), faults)
    })
}

fn within(what: &str, got: f64, want: f64, tolerance: f64) {
    assert!(
        (got - want).abs() <= tolerance,
        "{what}: fitted {got}, true {want}, tolerance {tolerance}"
    );
}

#[test]
fn calibrate_recovers_the_request_rate() {
    within("request_rate", week().0.request_rate, 100.0, 0.2);
}

#[test]
fn calibrate_recovers_the_daily_amplitude() {
    let d = week().0.daily.expect("a week has a daily shape");
    within("diurnal_amplitude", d.amplitude, 0.4, 0.002);
}

#[test]
fn calibrate_recovers_the_peak_hour() {
    let d = week().0.daily.expect("a week has a daily shape");
    within("peak_hour", d.peak_hour, 15.0, 0.02);
}

#[test]
fn calibrate_recovers_the_baseline_error_rate() {
    within(
        "baseline_error_rate",
        week().0.baseline_error_rate,
        0.002,
        0.08 * 0.002,
    );
}

#[test]
fn calibrate_recovers_the_drift_sd() {
    within("noise_sd", week().0.noise_sd, 0.3, 0.15 * 0.3);
}

#[test]
fn calibrate_recovers_the_drift_correlation_time() {
    within(
        "noise_correlation",
        week().0.noise_correlation_ms as f64,
        1_800_000.0,
        0.4 * 1_800_000.0,
    );
}

#[test]
fn calibrate_recovers_the_missing_scrape_probability() {
    within(
        "missing_scrape_probability",
        week().0.missing_scrape_probability,
        0.02,
        0.0025,
    );
}

#[test]
fn calibrate_finds_poisson_counts_not_over_dispersed() {
    within("count dispersion", week().0.dispersion, 1.0, 0.025);
}

#[test]
fn calibrate_finds_each_spike_with_its_size_and_length() {
    let (f, faults) = week();
    let s = f.spikes;
    // Every 1-minute outage of 5% is found, as one spike (two may touch).
    assert!(
        s.events <= *faults && s.events + 1 >= *faults,
        "{} spikes found, {faults} outages in the run",
        s.events
    );
    within(
        "spikes per hour",
        s.per_hour,
        *faults as f64 / (7.0 * 24.0),
        1.0 / (7.0 * 24.0),
    );
    within(
        "spike added error rate",
        s.added_error_rate,
        0.05,
        0.12 * 0.05,
    );
    assert_eq!(s.duration_ms, 60_000, "a 1-minute outage covers 4 scrapes");
}

#[test]
fn calibrate_finds_no_spike_in_drift_alone() {
    let scn = crate::scenario(&WEEK.replace("rate_per_hour = 0.2", "rate_per_hour = 0.0"));
    let f = fit(&simulated_input(&scn, SEED, 0, 0)).expect("fits");
    assert!(
        f.spikes.events <= 1,
        "{} spikes in drift alone",
        f.spikes.events
    );
    within("noise_sd without spikes", f.noise_sd, 0.3, 0.15 * 0.3);
}

#[test]
fn calibrate_writes_a_valid_scenario_that_simulates_like_the_data() {
    let scn = crate::scenario(&WEEK.replace("duration = \"7d\"", "duration = \"2d\""));
    let input = simulated_input(&scn, SEED, 0, 0);
    let c = calibrate::calibrate(&input, "test data", 1, 4).expect("calibrates");
    let written = crate::scenario(&c.scenario);
    assert!((written.service.request_rate - 100.0).abs() < 1.0);
    assert!((written.signals.noise_sd - 0.3).abs() < 0.1);
    assert_eq!(written.faults.len(), 1, "spikes are written as one fault");
    // The model is the one that made the data: the recording is no farther from the
    // simulation than simulated runs are from each other, by more than a little.
    let worst = c
        .ks_error_ratio_reference
        .iter()
        .copied()
        .fold(0.0, f64::max);
    assert!(
        c.ks_error_ratio.d <= 1.5 * worst,
        "KS D {} vs simulated runs' {:?}",
        c.ks_error_ratio.d,
        c.ks_error_ratio_reference
    );
    assert!(
        c.acf.iter().all(|a| (a.recorded - a.simulated).abs() < 0.2),
        "{:?}",
        c.acf
    );
}

#[test]
fn calibrate_cli_writes_the_scenario_and_the_fit_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("my-service.toml");
    let report = dir.path().join("report");
    Command::cargo_bin("rollsim")
        .expect("binary")
        .args([
            "calibrate",
            "scenarios/replay/metrics.csv",
            "--to",
            "90000",
            "--runs",
            "3",
            "--out",
        ])
        .arg(&out)
        .arg("--report")
        .arg(&report)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "KS two-sample, error ratio per scrape",
        ));
    Command::cargo_bin("rollsim")
        .expect("binary")
        .arg("validate")
        .arg(&out)
        .assert()
        .success();
    for f in [
        "fit.csv",
        "ks.csv",
        "acf.csv",
        "quantiles.csv",
        "manifest.json",
    ] {
        assert!(report.join(f).exists(), "{f} missing");
    }
    let fit = std::fs::read_to_string(report.join("fit.csv")).expect("fit.csv");
    assert!(fit.starts_with("parameter,recorded,simulated\n"));
    // The file is not overwritten without --force.
    Command::cargo_bin("rollsim")
        .expect("binary")
        .args(["calibrate", "scenarios/replay/metrics.csv", "--out"])
        .arg(&out)
        .arg("--report")
        .arg(dir.path().join("r2"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "exists; choose another --out or pass --force",
        ));
}

#[test]
fn calibrate_rejects_data_without_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = dir.path().join("m.csv");
    std::fs::write(&m, "timestamp,series,value\n15,requests,1\n30,requests,2\n").expect("write");
    Command::cargo_bin("rollsim")
        .expect("binary")
        .arg("calibrate")
        .arg(&m)
        .arg("--out")
        .arg(dir.path().join("x.toml"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no errors or error_ratio series"));
}
