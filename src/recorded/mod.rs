//! Recorded signals of a real service, read from files: the input of `rollsim replay`
//! (policies fed with recorded observations) and `rollsim calibrate` (the noise model
//! fitted to them).
//!
//! Three formats, told apart by their first character (`{` is JSON) and, in JSON, by a
//! `MetricDataResults` key:
//!
//! - a tidy CSV with the header `timestamp,series,value` (other columns are ignored, lines
//!   starting with `#` are comments);
//! - a Prometheus range-query response (`/api/v1/query_range`, `"resultType": "matrix"`),
//!   each result named by its `series` label, or else by `__name__`;
//! - a CloudWatch `get-metric-data` export (`cloudwatch.rs`), each query named by its
//!   `Id`, newest first as CloudWatch writes it.
//!
//! Timestamps are RFC 3339 with an offset (`2024-06-03T10:00:15Z`) or Unix seconds
//! (`1717408815`, `1717408815.250`), kept as integer milliseconds; a date and time without
//! an offset only with a time zone (`read_in`, `--timezone`). Series names are a fixed
//! list ([`SeriesName`]) so that a typo is an error, not a silently ignored series.
//!
//! Architecture invariant: every rejection names the file and the line (and the column in
//! JSON, which is often one line); a gap in a series is data (lost scrapes), not an error.

mod cloudwatch;
pub mod export;
mod json;
mod prometheus;
mod scrapes;
mod tidy;
mod timestamp;

use json::JsonText;
pub(crate) use json::LineCol;
pub use scrapes::{lost_between, most_common_spacing, RecordedScrape, Scrapes};
pub use tidy::{read_tidy, TidyCsv};
pub use timestamp::{
    format_timestamp, parse_timestamp, parse_timestamp_in, time_zone, unix_seconds,
};

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// The series a recording may hold. Counts are per scrape interval, ending at the
/// timestamp (what `increase(counter[interval])` returns at that instant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SeriesName {
    /// Requests of the watched (new) version in the interval.
    Requests,
    /// Failed requests of the watched version in the interval.
    Errors,
    /// Errors / requests of the watched version (instead of `errors`); NaN (0/0) where
    /// the scrape counted no request.
    ErrorRatio,
    /// Scraped p99 latency of the watched version, in milliseconds.
    LatencyP99Ms,
    /// A health check of the watched version: 1 passed, 0 failed.
    HealthCheck,
    /// Requests of the old (baseline) version, for policies that compare versions.
    OldRequests,
    /// Failed requests of the old version.
    OldErrors,
    /// Errors / requests of the old version (instead of `old_errors`).
    OldErrorRatio,
    /// Scraped p99 latency of the old version, in milliseconds.
    OldLatencyP99Ms,
    /// CPU busy of the watched version at the scrape, a share of its cores in [0, 1].
    Cpu,
    /// Utilisation of the watched version (demand over capacity; above 1 overloaded).
    Saturation,
    /// Requests waiting per replica of the watched version.
    QueueLength,
    /// CPU busy of the old version.
    OldCpu,
    /// Utilisation of the old version.
    OldSaturation,
    /// Requests waiting per replica of the old version.
    OldQueueLength,
}

impl SeriesName {
    /// Every series, in documentation order.
    pub const ALL: [SeriesName; 15] = [
        SeriesName::Requests,
        SeriesName::Errors,
        SeriesName::ErrorRatio,
        SeriesName::LatencyP99Ms,
        SeriesName::HealthCheck,
        SeriesName::OldRequests,
        SeriesName::OldErrors,
        SeriesName::OldErrorRatio,
        SeriesName::OldLatencyP99Ms,
        SeriesName::Cpu,
        SeriesName::Saturation,
        SeriesName::QueueLength,
        SeriesName::OldCpu,
        SeriesName::OldSaturation,
        SeriesName::OldQueueLength,
    ];

    /// The name as written in files.
    pub fn as_str(self) -> &'static str {
        match self {
            SeriesName::Requests => "requests",
            SeriesName::Errors => "errors",
            SeriesName::ErrorRatio => "error_ratio",
            SeriesName::LatencyP99Ms => "latency_p99_ms",
            SeriesName::HealthCheck => "health_check",
            SeriesName::OldRequests => "old_requests",
            SeriesName::OldErrors => "old_errors",
            SeriesName::OldErrorRatio => "old_error_ratio",
            SeriesName::OldLatencyP99Ms => "old_latency_p99_ms",
            SeriesName::Cpu => "cpu",
            SeriesName::Saturation => "saturation",
            SeriesName::QueueLength => "queue_length",
            SeriesName::OldCpu => "old_cpu",
            SeriesName::OldSaturation => "old_saturation",
            SeriesName::OldQueueLength => "old_queue_length",
        }
    }

    /// Parses a name as written in files; the error lists the known names.
    pub fn parse(s: &str) -> Result<SeriesName, String> {
        SeriesName::ALL
            .iter()
            .copied()
            .find(|n| n.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = SeriesName::ALL.iter().map(|n| n.as_str()).collect();
                format!("unknown series {s:?}; expected one of {}", names.join(", "))
            })
    }

    /// Whether values are counts (non-negative, rounded to whole numbers).
    fn is_count(self) -> bool {
        matches!(
            self,
            SeriesName::Requests
                | SeriesName::Errors
                | SeriesName::OldRequests
                | SeriesName::OldErrors
        )
    }

    /// Checks one value; the error says what was expected.
    fn check(self, v: f64) -> Result<f64, String> {
        let name = self.as_str();
        if v.is_nan() && matches!(self, SeriesName::ErrorRatio | SeriesName::OldErrorRatio) {
            // 0/0 at zero traffic, as Prometheus answers it: no data for that scrape
            // (checked against the scrape's requests when the scrapes are joined).
            return Ok(v);
        }
        if v.is_nan() {
            return Err(format!(
                "{name} is NaN; leave the point out instead (a missing point is a lost scrape)"
            ));
        }
        if !v.is_finite() {
            return Err(format!("{name} is {v}; expected a finite number"));
        }
        match self {
            _ if self.is_count() => {
                if v < 0.0 {
                    return Err(format!("{name} = {v} is negative; expected a count >= 0"));
                }
                Ok(v.round())
            }
            SeriesName::ErrorRatio | SeriesName::OldErrorRatio => {
                if !(0.0..=1.0).contains(&v) {
                    return Err(format!("{name} = {v}; expected a ratio in [0, 1]"));
                }
                Ok(v)
            }
            SeriesName::HealthCheck => {
                if v != 0.0 && v != 1.0 {
                    return Err(format!("{name} = {v}; expected 1 (passed) or 0 (failed)"));
                }
                Ok(v)
            }
            SeriesName::Cpu | SeriesName::OldCpu => {
                if !(0.0..=1.0).contains(&v) {
                    return Err(format!(
                        "{name} = {v}; expected a share of the cores in [0, 1] (divide by the cores requested)"
                    ));
                }
                Ok(v)
            }
            SeriesName::Saturation
            | SeriesName::OldSaturation
            | SeriesName::QueueLength
            | SeriesName::OldQueueLength => {
                if v < 0.0 {
                    return Err(format!("{name} = {v} is negative; expected a level >= 0"));
                }
                Ok(v)
            }
            _ => {
                if v < 0.0 {
                    return Err(format!(
                        "{name} = {v} is negative; expected milliseconds >= 0"
                    ));
                }
                Ok(v)
            }
        }
    }
}

impl fmt::Display for SeriesName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where something is in an input file: 1-based line, and column when it helps (JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file (as given on the command line).
    pub origin: String,
    /// 0 when the problem concerns the whole file.
    pub line: usize,
    /// 1-based column in characters; `None` in CSV, where the line says enough.
    pub col: Option<usize>,
}

impl Location {
    /// Line `line` of `origin` (0: the whole file), no column: where a CSV problem lies.
    pub fn line(origin: &str, line: usize) -> Self {
        Location {
            origin: origin.to_string(),
            line,
            col: None,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.col) {
            (0, _) => write!(f, "{}", self.origin),
            (l, None) => write!(f, "{}:{l}", self.origin),
            (l, Some(c)) => write!(f, "{}:{l}:{c}", self.origin),
        }
    }
}

/// One problem of an input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub at: Location,
    pub message: String,
}

/// Why recorded input could not be used: every problem found, each located.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct InputError {
    /// Every problem found, in the order found.
    pub problems: Vec<Problem>,
}

impl InputError {
    /// `value` when reading found nothing wrong, else every problem found: a reader
    /// collects problems instead of stopping at the first, and ends with this.
    pub fn unless<T>(problems: Vec<Problem>, value: T) -> Result<T, InputError> {
        if problems.is_empty() {
            Ok(value)
        } else {
            Err(InputError { problems })
        }
    }
}

/// Problems shown at most; the rest are counted.
const SHOWN: usize = 20;

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().take(SHOWN).enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}: {}", p.at, p.message)?;
        }
        if self.problems.len() > SHOWN {
            write!(f, "\n... and {} more problems", self.problems.len() - SHOWN)?;
        }
        Ok(())
    }
}

impl InputError {
    /// One problem.
    pub fn one(at: Location, message: impl Into<String>) -> Self {
        InputError {
            problems: vec![Problem {
                at,
                message: message.into(),
            }],
        }
    }
}

/// One point of a series.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Unix time in milliseconds.
    pub at_ms: u64,
    /// Checked: finite, in the series' range, counts rounded.
    pub value: f64,
    /// Where the point was read.
    pub at: Location,
}

/// The points of one series, in time order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    /// In strictly increasing time (checked when parsed).
    pub points: Vec<Point>,
}

impl Series {
    /// The point at exactly `at_ms`, if any.
    pub fn at(&self, at_ms: u64) -> Option<&Point> {
        self.points
            .binary_search_by_key(&at_ms, |p| p.at_ms)
            .ok()
            .map(|i| &self.points[i])
    }
}

/// Every series read from one or more files.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Recording {
    /// Each series present, by name; a series has at least one point.
    pub series: BTreeMap<SeriesName, Series>,
}

impl Recording {
    /// The series `name`, if present.
    pub fn get(&self, name: SeriesName) -> Option<&Series> {
        self.series.get(&name)
    }

    /// First and last timestamp of any series; `None` for an empty recording.
    pub fn span_ms(&self) -> Option<(u64, u64)> {
        let first = self
            .series
            .values()
            .filter_map(|s| s.points.first())
            .map(|p| p.at_ms)
            .min()?;
        let last = self
            .series
            .values()
            .filter_map(|s| s.points.last())
            .map(|p| p.at_ms)
            .max()?;
        Some((first, last))
    }

    /// Health checks in time order: (time, passed).
    pub fn health_checks(&self) -> Vec<(u64, bool)> {
        self.get(SeriesName::HealthCheck)
            .map(|s| s.points.iter().map(|p| (p.at_ms, p.value == 1.0)).collect())
            .unwrap_or_default()
    }

    /// Adds the series of `other`; a series present in both is an error naming both files.
    pub fn merge(&mut self, other: Recording) -> Result<(), InputError> {
        let mut problems = Vec::new();
        for (name, s) in other.series {
            if let Some(mine) = self.series.get(&name) {
                let first = mine
                    .points
                    .first()
                    .map(|p| p.at.to_string())
                    .unwrap_or_default();
                let at = s
                    .points
                    .first()
                    .map(|p| p.at.clone())
                    .unwrap_or(Location::line("", 0));
                problems.push(Problem {
                    at,
                    message: format!(
                        "series {name} is also in another input ({first}); give each series once"
                    ),
                });
                continue;
            }
            self.series.insert(name, s);
        }
        InputError::unless(problems, ())
    }
}

/// Parses recorded input; `origin` names it in messages. JSON (first character `{`) is a
/// Prometheus range-query response, anything else the tidy CSV.
pub fn parse(text: &str, origin: &str) -> Result<Recording, InputError> {
    parse_in(text, origin, None)
}

/// [`parse`], reading timestamps without an offset in `tz` when given.
pub fn parse_in(
    text: &str,
    origin: &str,
    tz: Option<&jiff::tz::TimeZone>,
) -> Result<Recording, InputError> {
    let rec = if text.trim_start().starts_with('{') {
        if cloudwatch::is_cloudwatch(text) {
            cloudwatch::parse(text, origin, tz)?
        } else {
            prometheus::parse(text, origin)?
        }
    } else {
        tidy::parse_csv(text, origin, tz)?
    };
    check_order(&rec)?;
    Ok(rec)
}

/// Reads and parses one or more files into one recording.
pub fn read(paths: &[impl AsRef<Path>]) -> Result<Recording, InputError> {
    read_in(paths, None)
}

/// [`read`], reading timestamps without an offset in `tz` when given.
pub fn read_in(
    paths: &[impl AsRef<Path>],
    tz: Option<&jiff::tz::TimeZone>,
) -> Result<Recording, InputError> {
    let files: Vec<(String, std::io::Result<String>)> = paths
        .iter()
        .map(|p| {
            let p = p.as_ref();
            (p.display().to_string(), std::fs::read_to_string(p))
        })
        .collect();
    parse_files(&files, tz)
}

/// Parses files already read, each `(origin, text or the error reading it)`, into one
/// recording: for a caller that also keeps the text (a manifest's digest is of the bytes
/// parsed, and a pipe can be read only once).
pub fn parse_files(
    files: &[(String, std::io::Result<String>)],
    tz: Option<&jiff::tz::TimeZone>,
) -> Result<Recording, InputError> {
    let mut all = Recording::default();
    let mut problems = Vec::new();
    for (origin, text) in files {
        let text = match text {
            Ok(t) => t,
            Err(e) => {
                problems.push(Problem {
                    at: Location::line(origin, 0),
                    message: format!("cannot read: {e}"),
                });
                continue;
            }
        };
        match parse_in(text, origin, tz).and_then(|r| all.merge(r)) {
            Ok(()) => {}
            Err(e) => problems.extend(e.problems),
        }
    }
    InputError::unless(problems, all)
}

/// Each series must be in strictly increasing time order, as read.
fn check_order(rec: &Recording) -> Result<(), InputError> {
    let mut problems = Vec::new();
    for (name, s) in &rec.series {
        for w in s.points.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            if b.at_ms == a.at_ms {
                problems.push(Problem {
                    at: b.at.clone(),
                    message: format!(
                        "duplicate timestamp {} for series {name} (already at {})",
                        format_timestamp(b.at_ms),
                        a.at
                    ),
                });
            } else if b.at_ms < a.at_ms {
                problems.push(Problem {
                    at: b.at.clone(),
                    message: format!(
                        "timestamp {} of series {name} is before the previous one ({} at {}); sort each series by time",
                        format_timestamp(b.at_ms),
                        format_timestamp(a.at_ms),
                        a.at
                    ),
                });
            }
        }
    }
    InputError::unless(problems, ())
}

#[cfg(test)]
mod tests;
