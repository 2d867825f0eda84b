//! `rollsim calibrate`: the noise model fitted to recorded metrics, written as a scenario,
//! and the check against simulation printed and written as CSV files in the report
//! directory (`fit.csv`, `ks.csv`, `acf.csv`, `quantiles.csv`, `manifest.json`).

use super::args::CalibrateArgs;
use super::note;
use super::replay::{read_recording, read_text, typed, FileDigest, ReadRecording};
use super::{check_stop, stop_flag, Interrupted, UsageError, NOTHING_WRITTEN};
use anyhow::{Context, Result};
use jiff::tz::TimeZone;
use rollsim::calibrate::{self, Calibration, Input, Selection, Settings};
use rollsim::recorded::{self, Scrapes};
use rollsim::report::{OutputDir, ReportError};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Serialize)]
struct ParamRow<'a> {
    parameter: &'a str,
    recorded: Option<f64>,
    /// Mean, smallest and largest over the simulated runs' fits.
    simulated: Option<f64>,
    simulated_min: Option<f64>,
    simulated_max: Option<f64>,
}

#[derive(Serialize)]
struct KsRow<'a> {
    series: &'a str,
    ks_d: Option<f64>,
    /// Asymptotic, for independent samples: optimistic for autocorrelated scrapes.
    p_value: Option<f64>,
    n_recorded: usize,
    n_simulated: usize,
    /// Simulated runs, each against the others: smallest and largest D, and how many are
    /// at least as far apart as the recording is from the simulation.
    reference_d_min: Option<f64>,
    reference_d_max: Option<f64>,
    reference_at_least_as_far: usize,
    reference_runs: usize,
}

#[derive(Serialize)]
struct AcfRow {
    lag_scrapes: usize,
    lag_s: f64,
    recorded: Option<f64>,
    simulated: Option<f64>,
}

#[derive(Serialize)]
struct QuantileRow<'a> {
    series: &'a str,
    quantile: f64,
    recorded: Option<f64>,
    simulated: Option<f64>,
}

#[derive(Serialize)]
struct CalibrateManifest {
    rollsim_version: String,
    kind: &'static str,
    scenario: String,
    inputs: Vec<FileDigest>,
    seed: u64,
    runs: u64,
    command: String,
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn csv_bytes<T: Serialize>(rows: impl IntoIterator<Item = T>) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(vec![]);
    for r in rows {
        w.serialize(r)?;
    }
    Ok(w.into_inner().map_err(|e| e.into_error())?)
}

/// Writes `text` to `path` atomically; refuses an existing file unless `force`.
fn write_scenario(path: &Path, text: &str, force: bool) -> Result<()> {
    if path.exists() && !force {
        return Err(UsageError(format!(
            "{} exists; choose another --out or pass --force to overwrite",
            path.display()
        ))
        .into());
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let err = |source| ReportError::Write {
        path: path.display().to_string(),
        source,
    };
    std::fs::create_dir_all(&dir).map_err(err)?;
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(err)?;
    tmp.write_all(text.as_bytes()).map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

/// A time flag's value: RFC 3339 or Unix seconds, or a date and time without an offset
/// read in `tz` (`--timezone`); refused without it.
fn instant(flag: &str, s: &str, tz: Option<&TimeZone>) -> Result<u64> {
    recorded::parse_timestamp_in(s, tz).map_err(|m| UsageError(format!("{flag}: {m}")).into())
}

/// A time range flag's value, `START..END`, each end as [`instant`] reads it.
fn time_range(flag: &str, s: &str, tz: Option<&TimeZone>) -> Result<(u64, u64)> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| UsageError(format!("{flag}: {s:?} is not START..END")))?;
    let (a, b) = (instant(flag, a, tz)?, instant(flag, b, tz)?);
    if a > b {
        return Err(UsageError(format!("{flag}: {s:?} ends before it starts")).into());
    }
    Ok((a, b))
}

/// The stretches and exclusions of the flags: `--from`/`--to` in pairs (one of either
/// alone is open-ended), `--stretch`, `--exclude` and the windows of `--exclude-labels`,
/// times without an offset read in `tz`.
/// With the digest of `--exclude-labels`' file, read once.
fn selection(a: &CalibrateArgs, tz: Option<&TimeZone>) -> Result<(Selection, Option<FileDigest>)> {
    let each = |flag: &str, v: &[String]| -> Result<Vec<u64>> {
        v.iter().map(|s| instant(flag, s, tz)).collect()
    };
    let (from, to) = (each("--from", &a.from)?, each("--to", &a.to)?);
    let mut stretches: Vec<(u64, u64)> = match (from.len(), to.len()) {
        (0, 0) => vec![],
        (1, 0) => vec![(from[0], u64::MAX)],
        (0, 1) => vec![(0, to[0])],
        (f, t) if f == t => from.into_iter().zip(to).collect(),
        (f, t) => {
            return Err(UsageError(format!(
                "--from is given {f} times and --to {t} times; give them in pairs (or use --stretch START..END)"
            ))
            .into())
        }
    };
    if stretches.iter().any(|(f, t)| f > t) {
        return Err(UsageError("--from is after --to".into()).into());
    }
    for s in &a.stretch {
        stretches.push(time_range("--stretch", s, tz)?);
    }
    let mut excluded = a
        .exclude
        .iter()
        .map(|s| time_range("--exclude", s, tz))
        .collect::<Result<Vec<_>>>()?;
    let mut digest = None;
    if let Some(p) = &a.exclude_labels {
        let origin = p.display().to_string();
        let (text, d) = read_text(p)?;
        digest = Some(d);
        let labels = rollsim::replay::labels::Labels::parse_in(&text, &origin, tz)
            .map_err(|e| UsageError(e.to_string()))?;
        excluded.extend(labels.incidents.iter().map(|i| (i.start_ms, i.end_ms)));
    }
    Ok((Selection::new(stretches, excluded), digest))
}

pub fn calibrate(a: &CalibrateArgs, argv: &[String]) -> Result<()> {
    let stop = stop_flag();
    // A read cut short by Ctrl-C is an interruption, not bad input.
    let recording = read_recording(&a.recording);
    check_stop(&stop)?;
    let ReadRecording {
        rec,
        mut digests,
        tz,
    } = recording?;
    let scrapes = Scrapes::from_recording(&rec)
        .map_err(|e| UsageError(e.to_string()))?
        .ok_or_else(|| {
            UsageError(format!(
                "{}: no requests series; calibration needs requests (errors or error_ratio and latency_p99_ms are fitted when given)",
                a.recording.metrics[0].display()
            ))
        })?;
    let has_errors = rec.get(recorded::SeriesName::Errors).is_some()
        || rec.get(recorded::SeriesName::ErrorRatio).is_some();
    let (selection, labels_digest) = selection(a, tz.as_ref())?;
    digests.extend(labels_digest);
    if a.out.exists() && !a.force {
        return Err(UsageError(format!(
            "{} exists; choose another --out or pass --force to overwrite",
            a.out.display()
        ))
        .into());
    }
    let report = a.report.clone().unwrap_or_else(|| {
        let stem = a
            .out
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "scenario".into());
        PathBuf::from("reports").join(format!("calibrate-{stem}"))
    });
    // Checked now, prepared once the calibration is done: Ctrl-C in between leaves the
    // directory as it was.
    OutputDir::check(&report, a.force)?;
    let mut input = Input::from_scrapes(&scrapes);
    input.has_errors = has_errors;
    let names: Vec<String> = a
        .recording
        .metrics
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let provenance = format!("Data: {}; command: {}", names.join(", "), typed(argv));
    let settings = Settings {
        selection,
        fit: calibrate::Options { weekly: a.weekly },
    };
    let c = calibrate::calibrate_until(&input, &settings, &provenance, a.seed, a.runs, Some(&stop));
    // Before the result is read: a simulated run cut short may not fit.
    check_stop(&stop)?;
    let Some(c): Option<Calibration> =
        c.map_err(|m| UsageError(format!("{}: {m}", names.join(", "))))?
    else {
        return Err(Interrupted(NOTHING_WRITTEN.into()).into());
    };

    let dir = OutputDir::prepare(&report, a.force)?;
    write_scenario(&a.out, &c.scenario, a.force)?;
    let sim = calibrate::mean_parameters(&c.simulated_fits);
    let range = calibrate::parameter_ranges(&c.simulated_fits);
    let rows =
        calibrate::parameters(&c.fit)
            .into_iter()
            .enumerate()
            .map(|(i, (parameter, rec))| ParamRow {
                parameter,
                recorded: finite(rec),
                simulated: sim.get(i).and_then(|p| finite(p.1)),
                simulated_min: range.get(i).and_then(|p| finite(p.1)),
                simulated_max: range.get(i).and_then(|p| finite(p.2)),
            });
    dir.write("fit.csv", &csv_bytes(rows).context("fit.csv")?)?;
    let ks = [
        ("error_ratio", c.ks_error_ratio, &c.ks_error_ratio_reference),
        ("requests_per_s", c.ks_requests, &c.ks_requests_reference),
    ]
    .map(|(series, k, r)| KsRow {
        series,
        ks_d: finite(k.d),
        p_value: finite(k.p_value),
        n_recorded: k.n_recorded,
        n_simulated: k.n_simulated,
        reference_d_min: finite(r.iter().copied().fold(f64::INFINITY, f64::min)),
        reference_d_max: finite(r.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
        reference_at_least_as_far: r.iter().filter(|&&x| x >= k.d).count(),
        reference_runs: r.len(),
    });
    dir.write("ks.csv", &csv_bytes(ks).context("ks.csv")?)?;
    let acf = c.acf.iter().map(|r| AcfRow {
        lag_scrapes: r.lag,
        lag_s: r.lag_ms as f64 / 1000.0,
        recorded: finite(r.recorded),
        simulated: finite(r.simulated),
    });
    dir.write("acf.csv", &csv_bytes(acf).context("acf.csv")?)?;
    let q = c.quantiles.iter().map(|r| QuantileRow {
        series: r.series,
        quantile: r.q,
        recorded: finite(r.recorded),
        simulated: finite(r.simulated),
    });
    dir.write("quantiles.csv", &csv_bytes(q).context("quantiles.csv")?)?;
    dir.write("scenario.toml", c.scenario.as_bytes())?;
    // The fit check as a chart: quantiles recorded vs simulated, and the autocorrelation.
    let q: Vec<_> = c
        .quantiles
        .iter()
        .filter(|r| r.series != "latency_p99_ms")
        .map(|r| (r.series, r.q, r.recorded, r.simulated))
        .collect();
    let acf: Vec<_> = c
        .acf
        .iter()
        .map(|r| (r.lag_ms as f64 / 1000.0, r.recorded, r.simulated))
        .collect();
    let chart = rollsim::report::charts::calibration::calibration_chart(&q, &acf)?;
    dir.write("calibration.svg", chart.svg.as_bytes())?;
    dir.write("calibration.png", &chart.png)?;
    let manifest = CalibrateManifest {
        rollsim_version: env!("CARGO_PKG_VERSION").into(),
        kind: "calibrate",
        scenario: a.out.display().to_string(),
        inputs: digests,
        seed: a.seed,
        runs: a.runs,
        command: typed(argv),
    };
    let mut json = serde_json::to_vec_pretty(&manifest)?;
    json.push(b'\n');
    dir.write("manifest.json", &json)?;

    let mut text = String::new();
    for line in calibrate::report_lines(&c, a.seed, a.runs) {
        text.push_str(&super::experiment::wrap_long_lines(
            &line,
            rollsim::report::table::WIDTH,
        ));
        text.push('\n');
    }
    super::say(&text)?;
    let wrote = format!(
        "wrote {} and {}/ (fit.csv, ks.csv, acf.csv, quantiles.csv, calibration.svg and .png)",
        a.out.display(),
        dir.path().display()
    );
    note(super::experiment::wrap_long_lines(
        &wrote,
        rollsim::report::table::WIDTH,
    ));
    Ok(())
}
