//! Reading what the commands wrote into an output directory: the CSV files, the manifest,
//! the scenario text and a sweep recommendation.
//!
//! Every problem names the file and the line (and column for JSON), because a report is
//! often rebuilt from files that were edited, merged from shards or cut short.

use super::findings::Refs;
use super::system::{ServiceEventRow, SystemGraph, EVENTS_FILE, GRAPH_FILE};
use super::{rows, ReportError};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::path::{Path, PathBuf};

pub use super::rows::{ComparisonRow, SummaryRow};
pub use crate::experiment::recommend::Recommendation;
pub use crate::experiment::sweep::SweepRow;

/// One scrape interval of `trace.csv`, as a report reads it: the columns it charts, each
/// optional (observed values are absent when the scrape was lost or the new version had no
/// traffic). `rollsim trace` writes the full row (`sim::trace::TraceRow`); a test checks
/// that every column read here is one it writes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TraceRow {
    pub t_s: f64,
    pub share_new: Option<f64>,
    pub true_error_rate_old: Option<f64>,
    pub true_error_rate_new: Option<f64>,
    pub observed_error_rate_new: Option<f64>,
    pub true_p99_old_ms: Option<f64>,
    pub true_p99_new_ms: Option<f64>,
    pub observed_p99_new_ms: Option<f64>,
    pub requests: Option<f64>,
    pub failed_requests: Option<f64>,
}

/// One row of `events.csv`, as a report reads it (`sim::trace::TraceEvent` writes it; a
/// test ties the two).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EventRow {
    pub t_s: f64,
    pub kind: String,
    #[serde(default)]
    pub detail: Option<String>,
}

/// The parts of `manifest.json` a report shows; every key is optional so that manifests of
/// older and newer versions still give a report.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ManifestInfo {
    pub rollsim_version: Option<String>,
    pub kind: Option<String>,
    pub scenario: Option<String>,
    pub scenario_sha256: Option<String>,
    pub seed: Option<u64>,
    pub runs: Option<u64>,
    pub first_run: Option<u64>,
    pub policies: Vec<String>,
    pub command: Option<String>,
    pub baseline: Option<String>,
    /// The traced policy, if `trace` names it (otherwise the only one in `policies`).
    pub policy: Option<String>,
}

/// Everything found in an output directory; `None` for each file that is absent.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub dir: PathBuf,
    pub manifest: Option<ManifestInfo>,
    pub scenario_text: Option<String>,
    pub summary: Option<Vec<SummaryRow>>,
    pub comparison: Option<Vec<ComparisonRow>>,
    pub sweep: Option<Vec<SweepRow>>,
    pub trace: Option<Vec<TraceRow>>,
    pub events: Option<Vec<EventRow>>,
    pub recommendation: Option<Recommendation>,
    /// `verdict.json` of `run` and `compare`: the paragraph they printed.
    pub verdict: Option<VerdictText>,
    /// A system's services and calls (`system.json`).
    pub graph: Option<SystemGraph>,
    /// One traced run's events by service (`service-events.csv`).
    pub service_events: Option<Vec<ServiceEventRow>>,
}

/// What the report shows of `verdict.json` (the whole file is
/// [`crate::report::verdict::Verdict`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct VerdictText {
    pub text: String,
}

/// The data files a report is built from; at least one must be present.
pub const DATA_FILES: [&str; 4] = ["summary.csv", "comparison.csv", "sweep.csv", "trace.csv"];

impl Inputs {
    /// Reads every known file present in `dir`. Fails if `dir` is not a directory, if it
    /// holds none of [`DATA_FILES`], or if any present file is malformed.
    pub fn read(dir: &Path) -> Result<Inputs, ReportError> {
        let meta = std::fs::metadata(dir).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                ReportError::Input {
                    path: dir.display().to_string(),
                    message: "no such directory".into(),
                }
            } else {
                ReportError::Dir {
                    path: dir.display().to_string(),
                    source,
                }
            }
        })?;
        if !meta.is_dir() {
            return Err(ReportError::Input {
                path: dir.display().to_string(),
                message: "is not a directory".into(),
            });
        }
        if !DATA_FILES.iter().any(|f| dir.join(f).exists()) {
            return Err(ReportError::Input {
                path: dir.display().to_string(),
                message: format!(
                    "holds none of {}; run `rollsim run SCENARIO --out {}` first",
                    DATA_FILES.join(", "),
                    dir.display()
                ),
            });
        }
        let summary = read_csv::<SummaryRow>(dir, "summary.csv")?;
        let comparison = read_csv::<ComparisonRow>(dir, "comparison.csv")?;
        let sweep = read_csv::<SweepRow>(dir, "sweep.csv")?;
        let trace = read_csv::<TraceRow>(dir, "trace.csv")?;
        let events = read_csv::<EventRow>(dir, "events.csv")?;
        let manifest = read_json::<ManifestInfo>(dir, "manifest.json")?;
        let recommendation = read_json::<Recommendation>(dir, "recommendation.json")?;
        let verdict = read_json::<VerdictText>(dir, "verdict.json")?;
        let scenario_text = read_text(dir, "scenario.toml")?;
        let graph = read_json::<SystemGraph>(dir, GRAPH_FILE)?;
        let service_events = read_csv::<ServiceEventRow>(dir, EVENTS_FILE)?;
        let mut inputs = Inputs {
            dir: dir.to_path_buf(),
            manifest,
            scenario_text,
            summary: summary.map(|rows| rows.into_iter().map(|(_, r)| r).collect()),
            comparison: comparison.map(|rows| rows.into_iter().map(|(_, r)| r).collect()),
            sweep: None,
            trace: trace.map(|rows| rows.into_iter().map(|(_, r)| r).collect()),
            events: events.map(|rows| rows.into_iter().map(|(_, r)| r).collect()),
            recommendation,
            verdict,
            graph,
            service_events: service_events.map(|rows| rows.into_iter().map(|(_, r)| r).collect()),
        };
        if let Some(rows) = sweep {
            check_sweep(&dir.join("sweep.csv"), &rows)?;
            inputs.sweep = Some(rows.into_iter().map(|(_, r)| r).collect());
        }
        inputs.clean();
        Ok(inputs)
    }

    /// Non-finite numbers ("NaN", "inf") carry no information a chart can show: treat them
    /// as empty cells.
    fn clean(&mut self) {
        let f = |x: &mut Option<f64>| {
            if x.is_some_and(|v| !v.is_finite()) {
                *x = None;
            }
        };
        for r in self.summary.iter_mut().flatten() {
            [&mut r.mean, &mut r.ci95_low, &mut r.ci95_high]
                .into_iter()
                .for_each(f);
        }
        for r in self.comparison.iter_mut().flatten() {
            [&mut r.mean_difference, &mut r.ci95_low, &mut r.ci95_high]
                .into_iter()
                .for_each(f);
        }
        for r in self.sweep.iter_mut().flatten() {
            [
                &mut r.mean,
                &mut r.ci95_low,
                &mut r.ci95_high,
                &mut r.value2,
            ]
            .into_iter()
            .for_each(f);
        }
        for r in self.trace.iter_mut().flatten() {
            [
                &mut r.share_new,
                &mut r.true_error_rate_old,
                &mut r.true_error_rate_new,
                &mut r.observed_error_rate_new,
                &mut r.true_p99_old_ms,
                &mut r.true_p99_new_ms,
                &mut r.observed_p99_new_ms,
                &mut r.requests,
                &mut r.failed_requests,
            ]
            .into_iter()
            .for_each(f);
        }
    }

    /// The yardsticks among the policies, from the copied scenario: those that know the
    /// truth (`kind = "oracle"`) and those that never act (`kind = "none"`); without a
    /// scenario, the policies named "oracle" and "none". Findings do not rank them and the
    /// Pareto front leaves them out.
    pub fn references(&self) -> Refs {
        #[derive(Deserialize)]
        struct P {
            name: Option<String>,
            kind: Option<String>,
        }
        #[derive(Deserialize)]
        struct S {
            #[serde(default)]
            policies: Vec<P>,
        }
        let parsed = self
            .scenario_text
            .as_deref()
            .and_then(|t| toml::from_str::<S>(t).ok());
        let of_kind = |kind: &str| -> Vec<String> {
            match &parsed {
                Some(s) => s
                    .policies
                    .iter()
                    .filter(|p| p.kind.as_deref() == Some(kind))
                    .filter_map(|p| p.name.clone())
                    .collect(),
                None => self.policies().into_iter().filter(|p| p == kind).collect(),
            }
        };
        Refs {
            bounds: of_kind("oracle"),
            nothing: of_kind("none"),
        }
    }

    /// The thresholds of the policy a trace followed, from the copied scenario: the policy
    /// named by the manifest (or its only policy) and its `error_rate_above` and
    /// `latency_p99_above`. Empty when any of that is unknown.
    pub fn trace_thresholds(&self) -> crate::report::charts::timeline::Thresholds {
        use crate::report::charts::timeline::Thresholds;
        #[derive(Deserialize)]
        struct P {
            name: Option<String>,
            error_rate_above: Option<f64>,
            latency_p99_above: Option<String>,
        }
        #[derive(Deserialize)]
        struct S {
            #[serde(default)]
            policies: Vec<P>,
        }
        let Some(m) = &self.manifest else {
            return Thresholds::default();
        };
        let name = match (&m.policy, m.policies.as_slice()) {
            (Some(p), _) => p.clone(),
            (None, [only]) => only.clone(),
            _ => return Thresholds::default(),
        };
        let Some(s) = self
            .scenario_text
            .as_deref()
            .and_then(|t| toml::from_str::<S>(t).ok())
        else {
            return Thresholds::default();
        };
        let Some(p) = s
            .policies
            .into_iter()
            .find(|p| p.name.as_ref() == Some(&name))
        else {
            return Thresholds::default();
        };
        Thresholds {
            policy: name,
            error_rate: p.error_rate_above,
            p99_ms: p
                .latency_p99_above
                .and_then(|d| humantime::parse_duration(&d).ok())
                .map(|d| d.as_secs_f64() * 1000.0),
        }
    }

    /// Policies in the order the files list them (the manifest's order first).
    pub fn policies(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .manifest
            .as_ref()
            .map(|m| m.policies.clone())
            .unwrap_or_default();
        // Each name once, in order of appearance; the names seen kept in a set (a scan of
        // the list per row made a 10,000-service summary quadratic).
        let mut seen: std::collections::HashSet<String> = out.iter().cloned().collect();
        let mut add = |p: &str| {
            if !seen.contains(p) {
                seen.insert(p.to_string());
                out.push(p.to_string());
            }
        };
        for r in self.summary.iter().flatten() {
            add(&r.policy);
        }
        for r in self.comparison.iter().flatten() {
            add(&r.baseline);
            add(&r.policy);
        }
        for r in self.sweep.iter().flatten() {
            add(&r.policy);
        }
        out
    }
}

/// A 1-D sweep has no second parameter anywhere; a 2-D sweep has one on every row, and
/// every row names the same parameters. A mix would chart nonsense, so it is an error.
fn check_sweep(path: &Path, rows: &[(u64, SweepRow)]) -> Result<(), ReportError> {
    let Some((_, first)) = rows.first() else {
        return Ok(());
    };
    for (line, r) in rows {
        let at = |message: String| ReportError::Input {
            path: format!("{}:{line}", path.display()),
            message,
        };
        if r.param != first.param || r.param2 != first.param2 {
            return Err(at(format!(
                "parameters `{}`{} differ from the first row's `{}`{}; one sweep per file",
                r.param,
                r.param2
                    .as_deref()
                    .map(|p| format!(" and `{p}`"))
                    .unwrap_or_default(),
                first.param,
                first
                    .param2
                    .as_deref()
                    .map(|p| format!(" and `{p}`"))
                    .unwrap_or_default(),
            )));
        }
        if r.param2.is_some() != r.value2.is_some() {
            return Err(at(
                "`param2` and `value2` must both be set (2-D sweep) or both be empty".into(),
            ));
        }
        if !r.value.is_finite() {
            return Err(at(format!("`value` is {}; expected a number", r.value)));
        }
    }
    Ok(())
}

pub(super) fn read_text(dir: &Path, name: &str) -> Result<Option<String>, ReportError> {
    let path = dir.join(name);
    match std::fs::read(&path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|e| ReportError::Input {
                path: path.display().to_string(),
                message: format!("is not UTF-8 text ({e})"),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ReportError::Read {
            path: path.display().to_string(),
            source,
        }),
    }
}

pub(super) fn read_json<T: DeserializeOwned>(
    dir: &Path,
    name: &str,
) -> Result<Option<T>, ReportError> {
    let path = dir.join(name);
    let Some(text) = read_text(dir, name)? else {
        return Ok(None);
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| ReportError::Input {
            path: format!("{}:{}:{}", path.display(), e.line(), e.column()),
            message: e.to_string().split(" at line ").next().unwrap_or("").into(),
        })
}

/// Reads `name` from `dir` if present, each row with its line (see [`rows::read`]).
pub(super) fn read_csv<T: DeserializeOwned>(
    dir: &Path,
    name: &str,
) -> Result<Option<Vec<(u64, T)>>, ReportError> {
    let path = dir.join(name);
    let Some(text) = read_text(dir, name)? else {
        return Ok(None);
    };
    rows::parse(text.as_bytes(), &path.display().to_string()).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().expect("tempdir");
        for (name, text) in files {
            std::fs::write(d.path().join(name), text).expect("write");
        }
        d
    }

    fn err(files: &[(&str, &str)]) -> String {
        let d = dir_with(files);
        match Inputs::read(d.path()) {
            Ok(_) => panic!("expected an error"),
            Err(e) => e
                .to_string()
                .replace(&d.path().display().to_string(), "DIR"),
        }
    }

    #[test]
    fn bad_number_names_file_line_and_column() {
        let e = err(&[(
            "summary.csv",
            "policy,metric,mean,ci95_low,ci95_high,n\na,rollbacks,1.0,0.5,1.5,10\na,downtime_s,lots,1,2,10\n",
        )]);
        assert!(e.starts_with("DIR/summary.csv:3: column `mean`:"), "{e}");
    }

    #[test]
    fn short_row_and_missing_column_are_located() {
        let e = err(&[(
            "summary.csv",
            "policy,metric,mean,ci95_low,ci95_high,n\na,rollbacks,1.0,0.5\n",
        )]);
        assert!(e.starts_with("DIR/summary.csv:2: found 4 fields"), "{e}");
        let e = err(&[("summary.csv", "policy,metric,mean\na,b,1\n")]);
        assert!(
            e.starts_with("DIR/summary.csv:1: missing columns `ci95_low`"),
            "{e}"
        );
    }

    #[test]
    fn bad_json_is_located() {
        let e = err(&[
            (
                "summary.csv",
                "policy,metric,mean,ci95_low,ci95_high,n\na,rollbacks,1.0,0.5,1.5,10\n",
            ),
            ("manifest.json", "{\n  \"seed\": \"x\"\n}\n"),
        ]);
        assert!(e.starts_with("DIR/manifest.json:2:"), "{e}");
    }

    #[test]
    fn a_directory_without_data_is_refused() {
        let e = err(&[("manifest.json", "{}")]);
        assert!(e.contains("holds none of summary.csv"), "{e}");
    }

    #[test]
    fn a_header_alone_is_an_empty_table() {
        let d = dir_with(&[(
            "comparison.csv",
            "policy,baseline,metric,mean_difference,ci95_low,ci95_high,n\n",
        )]);
        let i = Inputs::read(d.path()).expect("reads");
        assert_eq!(i.comparison.map(|r| r.len()), Some(0));
        assert!(i.summary.is_none());
    }

    /// The columns a report reads from `trace.csv` and `events.csv` are columns that
    /// `rollsim trace` writes (its rows are the engine's own types).
    #[test]
    fn trace_columns_read_are_written() {
        use crate::scenario::{parse, DEMO_SCENARIO};
        use crate::sim::{replicate_traced, Prepared, World};
        let s = parse(DEMO_SCENARIO, "demo").expect("demo");
        let world = World::for_run(&s, 1, 0);
        let (_, trace) = replicate_traced(&Prepared::new(&s), &world, &s.policies[0]);
        let header = |bytes: Vec<u8>| -> Vec<String> {
            let text = String::from_utf8(bytes).expect("utf8");
            let line = text.lines().next().unwrap_or_default().to_string();
            line.split(',').map(str::to_string).collect()
        };
        let written = header(crate::report::csv_bytes(&trace.rows).expect("csv"));
        for c in rows::columns::<TraceRow>() {
            assert!(written.iter().any(|w| w == c), "trace.csv lacks {c}");
        }
        let written = header(crate::report::csv_bytes(&trace.events).expect("csv"));
        assert_eq!(written, rows::columns::<EventRow>());
    }

    #[test]
    fn mixed_sweeps_are_refused() {
        let e = err(&[(
            "sweep.csv",
            "point,param,value,param2,value2,policy,metric,mean,ci95_low,ci95_high,n\n\
             0,a.b,1,,,p,rollbacks,1,0,2,10\n\
             1,a.c,2,,,p,rollbacks,1,0,2,10\n",
        )]);
        assert!(e.starts_with("DIR/sweep.csv:3: parameters `a.c`"), "{e}");
    }
}
