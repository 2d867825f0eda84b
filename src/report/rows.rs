//! The rows of the CSV files rollsim writes and reads back, and the one reader of them.
//!
//! Each file has one row type that both writes it and reads it: `summary.csv`
//! ([`SummaryRow`]), `comparison.csv` ([`ComparisonRow`]), `sweep.csv`
//! ([`SweepRow`](crate::experiment::sweep::SweepRow)), `runs.csv`
//! ([`RunRecord`](crate::outcome::RunRecord)). A header is the row type's field names
//! ([`columns`]), never a list kept by hand, so a new field cannot make the writer and
//! the reader drift apart. Reading names `file:line` (and the column) of any problem.

use super::ReportError;
use super::{csv_bytes, OutputDir};
use crate::experiment::{Comparison, PolicySummary, Summary};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One row of `summary.csv`: a metric of a policy, mean and 95% interval over `n` runs;
/// empty cells where no run had a value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    pub policy: String,
    /// One of [`RunRecord::METRICS`](crate::outcome::RunRecord::METRICS).
    pub metric: String,
    /// Mean per run (for a proportion, the share of runs).
    pub mean: Option<f64>,
    pub ci95_low: Option<f64>,
    pub ci95_high: Option<f64>,
    pub n: u64,
}

/// One row of `comparison.csv`: the paired difference policy minus baseline of a metric,
/// with its 95% interval over the `n` runs where both have a value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonRow {
    pub policy: String,
    /// The policy every other is paired with, run by run.
    pub baseline: String,
    pub metric: String,
    /// Mean of `metric(policy) - metric(baseline)` over the runs.
    pub mean_difference: Option<f64>,
    pub ci95_low: Option<f64>,
    pub ci95_high: Option<f64>,
    pub n: u64,
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// One row per (policy, metric) of `policies`, made by `row` from the policy, the metric,
/// its (mean, low, high) with non-finite values (no run had one) as empty cells, and `n`.
fn per_metric<R>(
    policies: &[PolicySummary],
    row: impl Fn(&str, &str, [Option<f64>; 3], u64) -> R,
) -> Vec<R> {
    policies
        .iter()
        .flat_map(|p| {
            p.metrics.iter().map(|(metric, e)| {
                let cells = [finite(e.mean), finite(e.ci95_low), finite(e.ci95_high)];
                row(&p.policy, metric, cells, e.n)
            })
        })
        .collect()
}

impl SummaryRow {
    /// The rows of a summary: policies in scenario order, metrics in
    /// [`RunRecord::METRICS`](crate::outcome::RunRecord::METRICS) order.
    pub fn of(s: &Summary) -> Vec<SummaryRow> {
        per_metric(
            &s.policies,
            |policy, metric, [mean, ci95_low, ci95_high], n| SummaryRow {
                policy: policy.into(),
                metric: metric.into(),
                mean,
                ci95_low,
                ci95_high,
                n,
            },
        )
    }
}

impl ComparisonRow {
    /// The rows of a comparison: every policy but the baseline, metrics in order.
    pub fn of(c: &Comparison) -> Vec<ComparisonRow> {
        per_metric(
            &c.policies,
            |policy, metric, [mean_difference, ci95_low, ci95_high], n| ComparisonRow {
                policy: policy.into(),
                baseline: c.baseline.clone(),
                metric: metric.into(),
                mean_difference,
                ci95_low,
                ci95_high,
                n,
            },
        )
    }
}

/// Writes `rows` as the CSV file `name` of `dir`, atomically, the header from the row
/// type's fields (written with the first row).
pub fn write<T: Serialize>(
    dir: &OutputDir,
    name: &str,
    rows: &[T],
) -> Result<PathBuf, ReportError> {
    write_bytes(dir, name, csv_bytes(rows))
}

/// Writes the CSV text `bytes` made for the file `name` of `dir`, atomically; a row that
/// could not be formatted is a [`ReportError::Csv`] naming the file.
pub fn write_bytes(
    dir: &OutputDir,
    name: &str,
    bytes: Result<Vec<u8>, csv::Error>,
) -> Result<PathBuf, ReportError> {
    let bytes = bytes.map_err(|source| ReportError::Csv {
        path: dir.path().join(name).display().to_string(),
        source,
    })?;
    dir.write(name, &bytes)
}

/// The column names of a row type: its fields as serde names them, in order.
///
/// Read from the type's `Deserialize` implementation (which lists the fields of a struct
/// without needing a value), so the header a file is checked against is the type itself.
pub fn columns<T: DeserializeOwned>() -> &'static [&'static str] {
    crate::check::fields_of::<T>()
}

/// Rows as CSV text, with the header line when `header` (even with no rows: a file that
/// is appended to later always starts with one).
pub fn csv_text<T: Serialize + DeserializeOwned>(
    rows: &[T],
    header: bool,
) -> Result<Vec<u8>, csv::Error> {
    csv_text_with(rows, header.then(columns::<T>))
}

/// Rows as CSV text, led by the header `columns` when given: for a row type whose rows
/// leave some columns out (a single service's rows have no `service`), the header the
/// rows are written with.
pub fn csv_text_with<T: Serialize>(
    rows: &[T],
    columns: Option<&[&str]>,
) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(vec![]);
    if let Some(columns) = columns {
        w.write_record(columns)?;
    }
    for r in rows {
        w.serialize(r)?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// Reads a CSV file of `T` rows, each with its line number. The header must hold every
/// column of `T` (extra columns are ignored, so a newer file still reads); every problem
/// is a [`ReportError::Input`] naming `file:line` and, where known, the column.
pub fn read<T: DeserializeOwned>(path: &Path) -> Result<Vec<(u64, T)>, ReportError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| ReportError::Read {
        path: shown.clone(),
        source,
    })?;
    parse(&bytes, &shown)
}

/// [`read`] on text already in memory; `shown` names the file in messages.
pub fn parse<T: DeserializeOwned>(bytes: &[u8], shown: &str) -> Result<Vec<(u64, T)>, ReportError> {
    let at = |line: u64, message: String| ReportError::Input {
        path: format!("{shown}:{line}"),
        message,
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(at(1, "is empty; expected a header line".into()));
    }
    let columns = columns::<T>();
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    let header = reader
        .headers()
        .map_err(|e| csv_error(shown, &e, &[]))?
        .clone();
    let names: Vec<String> = header.iter().map(str::to_string).collect();
    // A system's columns of `runs.csv` are absent from a single service's.
    let missing: Vec<&str> = columns
        .iter()
        .copied()
        .filter(|c| !names.iter().any(|h| h == c))
        .filter(|c| !crate::outcome::RunRecord::SYSTEM_COLUMNS.contains(c))
        .collect();
    if !missing.is_empty() {
        return Err(at(
            1,
            format!(
                "missing column{} {}; expected the header {}",
                if missing.len() > 1 { "s" } else { "" },
                missing
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                columns.join(",")
            ),
        ));
    }
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(csv_error(shown, &e, &names)),
        }
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let row: T = record
            .deserialize(Some(&header))
            .map_err(|e| csv_error(shown, &e, &names))?;
        rows.push((line, row));
    }
    // A header alone is valid: a comparison with only the baseline, a run with no event.
    Ok(rows)
}

/// A csv error as `file:line: what`, naming the column where the csv crate knows it.
fn csv_error(path: &str, e: &csv::Error, header: &[String]) -> ReportError {
    let line = e.position().map(|p| p.line()).unwrap_or(1);
    let message = match e.kind() {
        csv::ErrorKind::Deserialize { err, pos } => {
            let column = err
                .field()
                .and_then(|i| header.get(i as usize))
                .map(|c| format!("column `{c}`: "))
                .unwrap_or_default();
            let line = pos.as_ref().map(|p| p.line()).unwrap_or(line);
            return ReportError::Input {
                path: format!("{path}:{line}"),
                message: format!("{column}{}", err.kind()),
            };
        }
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("found {len} fields, expected {expected_len} as in the header"),
        csv::ErrorKind::Utf8 { err, .. } => format!("is not UTF-8 text ({err})"),
        _ => e.to_string(),
    };
    ReportError::Input {
        path: format!("{path}:{line}"),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::sweep::SweepRow;
    use crate::outcome::RunRecord;

    /// The header written is the header read, for every row type.
    fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(rows: Vec<T>) {
        let text = csv_text(&rows, true).expect("csv");
        let mut plain = csv::Writer::from_writer(vec![]);
        for r in &rows {
            plain.serialize(r).expect("serialize");
        }
        assert_eq!(text, plain.into_inner().expect("bytes"), "serde's header");
        let back: Vec<T> = parse::<T>(&text, "f.csv")
            .expect("reads")
            .into_iter()
            .map(|(_, r)| r)
            .collect();
        assert_eq!(back, rows);
    }

    #[test]
    fn every_row_type_reads_what_it_writes() {
        round_trip(vec![SummaryRow {
            policy: "a".into(),
            metric: "rollbacks".into(),
            mean: Some(0.5),
            ci95_low: None,
            ci95_high: Some(1.0),
            n: 10,
        }]);
        round_trip(vec![ComparisonRow {
            policy: "a".into(),
            baseline: "b".into(),
            metric: "downtime_s".into(),
            mean_difference: Some(-3.0),
            ci95_low: Some(-4.0),
            ci95_high: Some(-2.0),
            n: 10,
        }]);
        round_trip(vec![SweepRow {
            point: 3,
            param: "policies.gate.for".into(),
            value: 60.0,
            param2: Some("service.request_rate".into()),
            value2: Some(20.0),
            policy: "gate".into(),
            service: Some("payments".into()),
            metric: "rollbacks".into(),
            mean: Some(0.25),
            ci95_low: Some(0.1),
            ci95_high: Some(0.4),
            n: 100,
        }]);
        let runs = columns::<RunRecord>();
        for (metric, _) in RunRecord::METRICS {
            assert!(runs.contains(&metric), "runs.csv has {metric}");
        }
    }

    #[test]
    fn an_empty_file_still_gets_its_header() {
        let text = csv_text::<SummaryRow>(&[], true).expect("csv");
        assert_eq!(text, b"policy,metric,mean,ci95_low,ci95_high,n\n");
    }

    #[test]
    fn problems_name_the_line_and_the_column() {
        let e = parse::<SummaryRow>(
            b"policy,metric,mean,ci95_low,ci95_high,n\na,b,1,0,2,10\na,b,x,0,2,10\n",
            "s.csv",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("s.csv:3: column `mean`:"), "{e}");
        let e = parse::<SummaryRow>(b"policy,metric\n", "s.csv")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("s.csv:1: missing columns `mean`, `ci95_low`"),
            "{e}"
        );
    }
}
