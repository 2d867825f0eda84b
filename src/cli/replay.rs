//! `rollsim replay`: a scenario's policies fed with recorded metrics; `decisions.csv`,
//! with labels `incidents.csv`, `summary.csv` (as `rollsim run` writes it),
//! `manifest.json` and the policies' scenario.

use super::args::{RecordingArgs, ReplayArgs, ResetArg};
use super::note;
use super::{check_stop, load, stop_flag, UsageError};
use anyhow::{Context, Result};
use jiff::tz::TimeZone;
use rollsim::recorded::{self, format_timestamp, Recording, Scrapes};
use rollsim::replay::{self, Labels, Observations, PolicyDecisions, Reset, Timeline};
use rollsim::report::{summary_csv, table};
use rollsim::scenario::PolicyRule;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// A file an output was made from.
#[derive(Debug, Serialize)]
pub(super) struct FileDigest {
    pub path: String,
    pub sha256: String,
}

impl FileDigest {
    /// The digest of `text`, the file at `path` as it was read and parsed (never read
    /// again: a pipe or a process substitution can be read only once, and a file that
    /// changed since would be digested as it was not parsed).
    pub(super) fn of(path: &Path, text: &str) -> FileDigest {
        FileDigest {
            path: path.display().to_string(),
            sha256: format!("{:x}", Sha256::digest(text.as_bytes())),
        }
    }
}

/// A recording read once: what it holds, the digest of each of its files, and the
/// `--timezone` its other times are read in.
pub(super) struct ReadRecording {
    pub rec: Recording,
    pub digests: Vec<FileDigest>,
    pub tz: Option<TimeZone>,
}

/// A file read as text for a flag (`--labels`, `--exclude-labels`), once, with its digest;
/// a file that cannot be read is bad input.
pub(super) fn read_text(path: &Path) -> Result<(String, FileDigest)> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError(format!("{}: cannot read: {e}", path.display())))?;
    let digest = FileDigest::of(path, &text);
    Ok((text, digest))
}

/// The command line as typed, quoted for a shell.
pub(super) fn typed(argv: &[String]) -> String {
    shlex::try_join(argv.iter().map(String::as_str)).unwrap_or_else(|_| argv.join(" "))
}

#[derive(Serialize)]
struct ReplayManifest {
    rollsim_version: String,
    kind: &'static str,
    scenario: String,
    scenario_sha256: String,
    inputs: Vec<FileDigest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    labels: Option<FileDigest>,
    reset: &'static str,
    hold_s: f64,
    /// What one value of the per-unit means of summary.csv covers: "deploy", "day" or
    /// "recording".
    per: &'static str,
    first: String,
    last: String,
    scrape_interval_s: Option<f64>,
    scrapes: usize,
    lost_scrapes: u64,
    health_checks: usize,
    policies: Vec<String>,
    command: String,
}

/// Bad input files are bad input (exit 2), with every located problem.
fn bad(e: recorded::InputError) -> anyhow::Error {
    UsageError(e.to_string()).into()
}

/// The recorded metrics of `r` read with `--timezone` (an unknown zone is bad input), and
/// that zone, which the command's other times (labels, time flags) are read in too. Each
/// file is read once: parsed and digested from the same bytes.
pub(super) fn read_recording(r: &RecordingArgs) -> Result<ReadRecording> {
    let tz = r
        .timezone
        .as_deref()
        .map(recorded::time_zone)
        .transpose()
        .map_err(|m| UsageError(format!("--timezone: {m}")))?;
    let files: Vec<(String, std::io::Result<String>)> = r
        .metrics
        .iter()
        .map(|p| (p.display().to_string(), std::fs::read_to_string(p)))
        .collect();
    let rec = recorded::parse_files(&files, tz.as_ref()).map_err(bad)?;
    let digests = r
        .metrics
        .iter()
        .zip(&files)
        .filter_map(|(p, (_, text))| text.as_ref().ok().map(|t| FileDigest::of(p, t)))
        .collect();
    Ok(ReadRecording { rec, digests, tz })
}

pub fn replay(a: &ReplayArgs, argv: &[String]) -> Result<()> {
    let stop = stop_flag();
    let (text, origin, scn) = load(&a.policies)?;
    // A read cut short by Ctrl-C is an interruption, not bad input.
    let recording = read_recording(&a.recording);
    check_stop(&stop)?;
    let ReadRecording { rec, digests, tz } = recording?;
    let Some((first, last)) = rec.span_ms() else {
        return Err(UsageError(format!(
            "{}: no data point; expected rows timestamp,series,value",
            a.recording.metrics[0].display()
        ))
        .into());
    };
    let scrapes = Scrapes::from_recording(&rec).map_err(bad)?;
    if let Some(s) = &scrapes {
        if s.interval_ms != scn.scrape_interval_ms {
            return Err(UsageError(format!(
                "the data is scraped every {} but {origin} has simulation.scrape_interval = {}; \
                 set scrape_interval = {:?} in it (policies time their windows by it)",
                human(s.interval_ms),
                human(scn.scrape_interval_ms),
                human(s.interval_ms),
            ))
            .into());
        }
    }
    let labels = match &a.labels {
        Some(p) => {
            let (t, digest) = read_text(p)?;
            let l = Labels::parse_in(&t, &p.display().to_string(), tz.as_ref()).map_err(bad)?;
            let interval = scrapes
                .as_ref()
                .map_or(scn.scrape_interval_ms, |s| s.interval_ms);
            l.check_range(first, last, interval).map_err(bad)?;
            Some((l, digest))
        }
        None => None,
    };
    let (labels, labels_digest) = match labels {
        Some((l, d)) => (Some(l), Some(d)),
        None => (None, None),
    };
    let dest = a.dest.or(|| {
        let stem = a.recording.metrics[0]
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "metrics".into());
        PathBuf::from("reports").join(format!("replay-{stem}"))
    });
    // Checked now, prepared once the decisions are made: Ctrl-C in between leaves the
    // directory as it was.
    dest.check()?;

    let obs = Observations {
        scrapes: scrapes.as_ref().map(Scrapes::feed).unwrap_or_default(),
        interval_ms: scrapes
            .as_ref()
            .map_or(scn.scrape_interval_ms, |s| s.interval_ms),
        health_checks: rec.health_checks(),
    };
    let has_latency = rec.get(recorded::SeriesName::LatencyP99Ms).is_some();
    let timeline = labels.as_ref().map(Timeline::of).unwrap_or_default();
    let reset = match a.reset {
        ResetArg::Deploy => Reset::Deploy,
        ResetArg::Decision => Reset::Decision,
    };
    if a.hold.is_some() && reset == Reset::Deploy {
        return Err(UsageError(
            "--hold applies with --reset decision (with --reset deploy a policy waits for the next deploy)".into(),
        )
        .into());
    }
    let mut results = Vec::new();
    for spec in &scn.policies {
        check_stop(&stop)?;
        if matches!(spec.rule, PolicyRule::Oracle { .. }) {
            note(format_args!(
                "note: policy {} (oracle) reads the truth, which a recording lacks; skipped",
                spec.name
            ));
            continue;
        }
        if matches!(&spec.rule, PolicyRule::ArgoAnalysis(a) if a.step_analysis) {
            note(format_args!(
                "note: policy {} runs its analyses at canary steps (`analysis = true`), whose times a recording lacks; skipped",
                spec.name
            ));
            continue;
        }
        let no_baseline = !obs.scrapes.is_empty() && obs.scrapes.iter().all(|s| s.old.is_none());
        if matches!(spec.rule, PolicyRule::Kayenta(_)) && no_baseline {
            // Every control point would be NaN (0 with nanStrategy "none", which judges any
            // canary error High): a verdict on nothing, so no verdict at all.
            note(format_args!(
                "note: policy {} (kayenta) compares the canary with a baseline but the data has no old_requests series; skipped",
                spec.name
            ));
            continue;
        }
        let gauge = match &spec.rule {
            PolicyRule::Threshold(t) => t.signal.gauge(),
            _ => None,
        };
        if let Some(g) = gauge.filter(|g| !rec.series.keys().any(|n| n.as_str() == g.series())) {
            note(format_args!(
                "note: policy {} reads the {} gauge but the data has no {} series; skipped",
                spec.name,
                g.series(),
                g.series()
            ));
            continue;
        }
        let needs = rollsim::policy::build(spec).needs();
        if needs.scrapes && obs.scrapes.is_empty() {
            note(format_args!(
                "note: policy {} reads scrapes but the data has no requests series; it decides nothing",
                spec.name
            ));
        } else if needs.latency && !has_latency {
            note(format_args!(
                "note: policy {} reads the p99 latency but the data has no latency_p99_ms series",
                spec.name
            ));
        }
        let compares = matches!(spec.rule, PolicyRule::Sequential(_));
        if compares && no_baseline {
            note(format_args!(
                "note: policy {} compares the new version with the old one but the data has no old_requests series; it decides nothing",
                spec.name
            ));
        }
        if needs.health_checks && obs.health_checks.is_empty() {
            note(format_args!(
                "note: policy {} reads health checks but the data has no health_check series; it decides nothing",
                spec.name
            ));
        }
        results.push(PolicyDecisions {
            policy: spec.name.clone(),
            action: replay::action_name(spec.action),
            times: replay::decisions(
                spec,
                &obs,
                &timeline,
                reset,
                scn.signals.metric_delay_ms,
                a.hold.unwrap_or(0),
            ),
        });
    }
    if let Some(s) = scrapes.as_ref().filter(|s| s.errors_filled > 0) {
        note(format_args!(
            "note: {} scrapes have requests but no errors point; counted as 0 errors",
            s.errors_filled
        ));
    }

    let (summary, per) = replay::summarize(&results, labels.as_ref(), &timeline, (first, last));
    check_stop(&stop)?;
    let dir = dest.prepare()?;
    dir.write(
        "decisions.csv",
        &replay::decisions_csv(&results, labels.as_ref()).context("decisions.csv")?,
    )?;
    if let Some(l) = &labels {
        dir.write(
            "incidents.csv",
            &replay::incidents_csv(&results, l).context("incidents.csv")?,
        )?;
    }
    dir.write(
        "summary.csv",
        &summary_csv(&summary).context("summary.csv")?,
    )?;
    dir.write("scenario.toml", text.as_bytes())?;
    let manifest = ReplayManifest {
        rollsim_version: env!("CARGO_PKG_VERSION").into(),
        kind: "replay",
        scenario: origin,
        scenario_sha256: format!("{:x}", Sha256::digest(text.as_bytes())),
        inputs: digests,
        labels: labels_digest,
        reset: match reset {
            Reset::Deploy => "deploy",
            Reset::Decision => "decision",
        },
        hold_s: a.hold.unwrap_or(0) as f64 / 1000.0,
        per,
        first: format_timestamp(first),
        last: format_timestamp(last),
        scrape_interval_s: scrapes.as_ref().map(|s| s.interval_ms as f64 / 1000.0),
        scrapes: scrapes.as_ref().map_or(0, |s| s.present.len()),
        lost_scrapes: scrapes.as_ref().map_or(0, Scrapes::lost),
        health_checks: obs.health_checks.len(),
        policies: results.iter().map(|r| r.policy.clone()).collect(),
        command: typed(argv),
    };
    let mut json = serde_json::to_vec_pretty(&manifest)?;
    json.push(b'\n');
    dir.write("manifest.json", &json)?;

    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let replayed = format!(
        "replayed {} to {} ({} scrapes, {} lost; {}){}",
        format_timestamp(first),
        format_timestamp(last),
        manifest.scrapes,
        manifest.lost_scrapes,
        plural(manifest.health_checks, "health check", "health checks"),
        match &labels {
            Some(l) => format!(
                "; {}, {}",
                plural(l.deploys.len(), "deploy", "deploys"),
                plural(l.incidents.len(), "incident", "incidents")
            ),
            None => String::new(),
        }
    );
    let metrics: Vec<String> = summary
        .policies
        .first()
        .map(|p| p.metrics.iter().map(|(m, _)| m.to_string()).collect())
        .unwrap_or_default();
    // Printed as `run` prints its table: a reader that left (`| head -1`) stops the
    // table, not the report built after it.
    let mut text = format!("{}\n", super::experiment::wrap(&replayed, table::WIDTH));
    text.push_str(&table::replay_table(&summary, &metrics, table::WIDTH));
    text.push_str(&format!(
        "mean [95% CI] per {per}{}\n",
        if labels.is_some() {
            "; missed incidents over incidents, detection delay over detected ones"
        } else {
            ""
        }
    ));
    super::say(&text)?;
    note(format_args!("wrote {}/", dir.path().display()));
    super::report::after_command(dir.path(), Some(&stop))
}

/// A duration in the scenario's syntax ("15s", "1m 30s", "24h"), as every command
/// writes one.
pub(super) fn human(ms: u64) -> String {
    rollsim::check::duration_text(ms)
}
