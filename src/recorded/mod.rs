//! Recorded signals of a real service, read from files: the input of `rollsim replay`
//! (policies fed with recorded observations) and `rollsim calibrate` (the noise model
//! fitted to them).
//!
//! Two formats, told apart by their first character (`{` is JSON):
//!
//! - a tidy CSV with the header `timestamp,series,value` (other columns are ignored, lines
//!   starting with `#` are comments);
//! - a Prometheus range-query response (`/api/v1/query_range`, `"resultType": "matrix"`),
//!   each result named by its `series` label, or else by `__name__`.
//!
//! Timestamps are RFC 3339 with an offset (`2024-06-03T10:00:15Z`) or Unix seconds
//! (`1717408815`, `1717408815.250`), kept as integer milliseconds. Series names are a fixed
//! list ([`SeriesName`]) so that a typo is an error, not a silently ignored series.
//!
//! Architecture invariant: every rejection names the file and the line (and the column in
//! JSON, which is often one line); a gap in a series is data (lost scrapes), not an error.

pub mod export;
mod prometheus;
mod scrapes;

pub use scrapes::{lost_between, most_common_spacing, RecordedScrape, Scrapes};

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
    /// Errors / requests of the watched version (instead of `errors`).
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
}

impl SeriesName {
    /// Every series, in documentation order.
    pub const ALL: [SeriesName; 9] = [
        SeriesName::Requests,
        SeriesName::Errors,
        SeriesName::ErrorRatio,
        SeriesName::LatencyP99Ms,
        SeriesName::HealthCheck,
        SeriesName::OldRequests,
        SeriesName::OldErrors,
        SeriesName::OldErrorRatio,
        SeriesName::OldLatencyP99Ms,
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
                let at = s.points.first().map(|p| p.at.clone()).unwrap_or(Location {
                    origin: String::new(),
                    line: 0,
                    col: None,
                });
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
        if problems.is_empty() {
            Ok(())
        } else {
            Err(InputError { problems })
        }
    }
}

/// Parses a timestamp: Unix seconds (decimals allowed) or RFC 3339 with an offset, into
/// Unix milliseconds (rounded to the nearest millisecond).
pub fn parse_timestamp(s: &str) -> Result<u64, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty timestamp; expected RFC 3339 or Unix seconds".into());
    }
    let numeric = t
        .chars()
        .all(|c| c.is_ascii_digit() || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E');
    if numeric {
        return match t.parse::<f64>() {
            Ok(x) => unix_seconds(x),
            Err(_) => Err(format!(
                "timestamp {t:?} is not a number; expected RFC 3339 or Unix seconds"
            )),
        };
    }
    let ts: jiff::Timestamp = t.parse().map_err(|e| {
        format!(
            "timestamp {t:?} is not RFC 3339 ({e}); expected e.g. 2024-06-03T10:00:15Z or Unix seconds"
        )
    })?;
    let ms = ts.as_millisecond();
    let rounded = if ts.subsec_nanosecond() % 1_000_000 >= 500_000 {
        ms + 1
    } else {
        ms
    };
    u64::try_from(rounded).map_err(|_| format!("timestamp {t:?} is before 1970"))
}

/// Unix seconds to milliseconds.
pub fn unix_seconds(x: f64) -> Result<u64, String> {
    if !x.is_finite() {
        return Err(format!("timestamp {x} is not a finite number of seconds"));
    }
    if x < 0.0 {
        return Err(format!("timestamp {x} is before 1970"));
    }
    // Far beyond any real date; keeps every sum of times far from overflow.
    if x > 1.0e11 {
        return Err(format!(
            "timestamp {x} is beyond the year 5000; expected Unix seconds"
        ));
    }
    Ok((x * 1000.0).round() as u64)
}

/// Formats Unix milliseconds as RFC 3339 UTC (milliseconds shown only when not zero).
pub fn format_timestamp(ms: u64) -> String {
    match i64::try_from(ms)
        .ok()
        .and_then(|m| jiff::Timestamp::from_millisecond(m).ok())
    {
        Some(t) if ms % 1000 == 0 => format!("{t:.0}"),
        Some(t) => format!("{t:.3}"),
        None => format!("{}", ms as f64 / 1000.0),
    }
}

/// 1-based line and column (in characters) of byte offsets in one text, asked in
/// increasing order (as a parser meets values): each call scans only the text since the
/// previous one, so locating every value of a file costs one pass over it, not one pass
/// per value. An offset before the previous one starts again from the top (correct,
/// only slower).
pub(crate) struct LineCol<'t> {
    text: &'t str,
    /// The byte offset reached, and its line and column.
    offset: usize,
    line: usize,
    col: usize,
    /// Bytes scanned so far: the work done, for the test that it stays linear.
    scanned: usize,
}

impl<'t> LineCol<'t> {
    pub(crate) fn new(text: &'t str) -> Self {
        LineCol {
            text,
            offset: 0,
            line: 1,
            col: 1,
            scanned: 0,
        }
    }

    /// Line and column of byte `offset` (clamped to the text and to a character start).
    pub(crate) fn at(&mut self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        if offset < self.offset {
            (self.offset, self.line, self.col) = (0, 1, 1);
        }
        let piece = &self.text[self.offset..offset];
        self.scanned += piece.len();
        for c in piece.chars() {
            if c == '\n' {
                self.line += 1;
                self.col = 1;
            } else {
                self.col += 1;
            }
        }
        self.offset = offset;
        (self.line, self.col)
    }

    #[cfg(test)]
    pub(crate) fn scanned(&self) -> usize {
        self.scanned
    }
}

/// Parses recorded input; `origin` names it in messages. JSON (first character `{`) is a
/// Prometheus range-query response, anything else the tidy CSV.
pub fn parse(text: &str, origin: &str) -> Result<Recording, InputError> {
    let rec = if text.trim_start().starts_with('{') {
        prometheus::parse(text, origin)?
    } else {
        parse_csv(text, origin)?
    };
    check_order(&rec)?;
    Ok(rec)
}

/// Reads and parses one or more files into one recording.
pub fn read(paths: &[impl AsRef<Path>]) -> Result<Recording, InputError> {
    let mut all = Recording::default();
    let mut problems = Vec::new();
    for p in paths {
        let p = p.as_ref();
        let origin = p.display().to_string();
        let text = match std::fs::read_to_string(p) {
            Ok(t) => t,
            Err(e) => {
                problems.push(Problem {
                    at: Location {
                        origin,
                        line: 0,
                        col: None,
                    },
                    message: format!("cannot read: {e}"),
                });
                continue;
            }
        };
        match parse(&text, &origin).and_then(|r| all.merge(r)) {
            Ok(()) => {}
            Err(e) => problems.extend(e.problems),
        }
    }
    if problems.is_empty() {
        Ok(all)
    } else {
        Err(InputError { problems })
    }
}

/// A tidy CSV read with its required columns located: every readable row with its line,
/// and a problem for every row that could not be read.
pub struct TidyCsv<const N: usize> {
    /// Index of each required column, in the order asked for.
    pub columns: [usize; N],
    pub rows: Vec<(usize, csv::StringRecord)>,
    pub problems: Vec<Problem>,
}

/// Reads `text` as CSV with `#` comments and finds the `required` columns; a header that
/// lacks one is an error at the header's line.
pub fn read_tidy<const N: usize>(
    text: &str,
    origin: &str,
    required: [&str; N],
) -> Result<TidyCsv<N>, InputError> {
    let at = |line: usize| Location {
        origin: origin.to_string(),
        line,
        col: None,
    };
    let mut rdr = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| InputError::one(at(1), format!("cannot read the CSV header: {e}")))?
        .clone();
    let header_line = text
        .lines()
        .position(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map_or(1, |i| i + 1);
    let mut columns = [0; N];
    for (slot, name) in columns.iter_mut().zip(required) {
        *slot = headers.iter().position(|h| h == name).ok_or_else(|| {
            InputError::one(
                at(header_line),
                format!(
                    "the header is {:?}; expected the columns {}",
                    headers.iter().collect::<Vec<_>>().join(","),
                    required.join(",")
                ),
            )
        })?;
    }
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for row in rdr.records() {
        match row {
            Ok(r) => rows.push((r.position().map_or(0, |p| p.line() as usize), r)),
            Err(e) => problems.push(Problem {
                at: at(e.position().map_or(0, |p| p.line() as usize)),
                message: format!("cannot read the row: {e}"),
            }),
        }
    }
    Ok(TidyCsv {
        columns,
        rows,
        problems,
    })
}

fn parse_csv(text: &str, origin: &str) -> Result<Recording, InputError> {
    let at = |line: usize| Location {
        origin: origin.to_string(),
        line,
        col: None,
    };
    let TidyCsv {
        columns: [ti, si, vi],
        rows,
        mut problems,
    } = read_tidy(text, origin, ["timestamp", "series", "value"])?;
    let mut rec = Recording::default();
    for (line, row) in rows {
        let field = |i: usize| row.get(i).unwrap_or("");
        let result = (|| -> Result<(SeriesName, u64, f64), String> {
            let name = SeriesName::parse(field(si))?;
            let at_ms = parse_timestamp(field(ti))?;
            let raw = field(vi);
            if raw.is_empty() {
                return Err(format!(
                    "empty value for {name}; leave the row out instead (a missing point is a lost scrape)"
                ));
            }
            let v: f64 = raw
                .parse()
                .map_err(|_| format!("value {raw:?} of {name} is not a number"))?;
            Ok((name, at_ms, name.check(v)?))
        })();
        match result {
            Ok((name, at_ms, value)) => rec.series.entry(name).or_default().points.push(Point {
                at_ms,
                value,
                at: at(line),
            }),
            Err(message) => problems.push(Problem {
                at: at(line),
                message,
            }),
        }
    }
    if problems.is_empty() {
        Ok(rec)
    } else {
        Err(InputError { problems })
    }
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
    if problems.is_empty() {
        Ok(())
    } else {
        Err(InputError { problems })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        match parse(text, "m.csv") {
            Ok(r) => panic!("accepted: {r:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn recorded_csv_reads_both_timestamp_forms() {
        let r = parse(
            "# a comment\ntimestamp,series,value\n1717408800,requests,10\n2024-06-03T10:00:15Z,requests,12.4\n2024-06-03T10:00:30.5+00:00,requests,3\n",
            "m.csv",
        )
        .unwrap();
        let pts = &r.get(SeriesName::Requests).unwrap().points;
        assert_eq!(
            pts.iter().map(|p| p.at_ms).collect::<Vec<_>>(),
            vec![1_717_408_800_000, 1_717_408_815_000, 1_717_408_830_500]
        );
        assert_eq!(pts[1].value, 12.0, "counts are rounded");
        assert_eq!(pts[0].at.line, 3, "comment lines count");
        assert_eq!(
            format_timestamp(1_717_408_830_500),
            "2024-06-03T10:00:30.500Z"
        );
        assert_eq!(format_timestamp(1_717_408_815_000), "2024-06-03T10:00:15Z");
    }

    #[test]
    fn recorded_csv_problems_are_located() {
        let e = err("timestamp,series,value\n10,requests,1\n10,requests,2\n5,requests,1\n");
        assert!(e.contains("m.csv:3: duplicate timestamp"), "{e}");
        assert!(e.contains("m.csv:4: timestamp 1970-01-01T00:00:05Z of series requests is before the previous one"), "{e}");
        let e = err("timestamp,series,value\n10,request,1\n20,errors,NaN\n30,errors,\n");
        assert!(
            e.contains("m.csv:2: unknown series \"request\"; expected one of requests"),
            "{e}"
        );
        assert!(e.contains("m.csv:3: errors is NaN"), "{e}");
        assert!(e.contains("m.csv:4: empty value for errors"), "{e}");
        let e = err("time,series,value\n10,requests,1\n");
        assert!(e.contains("m.csv:1: the header is"), "{e}");
        let e =
            err("timestamp,series,value\nyesterday,requests,1\n2024-06-03T10:00:00,requests,1\n");
        assert!(
            e.contains("m.csv:2: timestamp \"yesterday\" is not RFC 3339"),
            "{e}"
        );
        assert!(
            e.contains("m.csv:3: timestamp \"2024-06-03T10:00:00\" is not RFC 3339"),
            "{e}"
        );
        let e = err("timestamp,series,value\n1,health_check,0.5\n2,error_ratio,2\n3,requests,-1\n");
        assert!(e.contains("m.csv:2: health_check = 0.5; expected 1"), "{e}");
        assert!(
            e.contains("m.csv:3: error_ratio = 2; expected a ratio"),
            "{e}"
        );
        assert!(e.contains("m.csv:4: requests = -1 is negative"), "{e}");
    }

    #[test]
    fn recorded_series_given_twice_is_an_error() {
        let mut a = parse("timestamp,series,value\n1,requests,1\n", "a.csv").unwrap();
        let b = parse("timestamp,series,value\n1,requests,1\n", "b.csv").unwrap();
        let e = a.merge(b).unwrap_err().to_string();
        assert!(
            e.contains("b.csv:2: series requests is also in another input (a.csv:2)"),
            "{e}"
        );
    }
}
