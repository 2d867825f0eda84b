//! A CloudWatch `get-metric-data` export (the JSON that `aws cloudwatch get-metric-data`
//! prints) as a [`Recording`].
//!
//! Each entry of `MetricDataResults` is one series, named by its `Id` (a query's `Id` is
//! the caller's choice: name it after the series it holds, `requests`, `errors`,
//! `latency_p99_ms`, ...; a latency in seconds, as the load balancers report it, goes
//! through metric math `m1 * 1000`). `Timestamps` and `Values` are parallel arrays,
//! newest first by default (`ScanBy` `TimestampDescending`), oldest first with
//! `TimestampAscending`: a series whose first timestamp is after its last is read
//! backwards. Entries with the same `Id` are the pages of one query (the CLI joins pages
//! that way) and are joined in order. The last page of each query must say
//! `"StatusCode": "Complete"`: `PartialData` means points are still waiting behind a
//! `NextToken`, `InternalError` and `Forbidden` that the query failed. Every problem is
//! located at the line and column of the value and named by its JSON path
//! (`MetricDataResults[0].Values[3]`).

use super::json::read_entry;
use super::{
    parse_timestamp_in, InputError, JsonText, LineCol, Location, Point, Problem, Recording, Series,
    SeriesName,
};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Export<'a> {
    #[serde(rename = "MetricDataResults", borrow)]
    results: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Entry<'a> {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Timestamps", default, borrow)]
    timestamps: Vec<&'a RawValue>,
    #[serde(rename = "Values", default, borrow)]
    values: Vec<&'a RawValue>,
    #[serde(rename = "StatusCode", default)]
    status: Option<String>,
}

/// Whether `text` (JSON) is a CloudWatch export rather than a Prometheus response.
pub(super) fn is_cloudwatch(text: &str) -> bool {
    text.contains("\"MetricDataResults\"")
}

/// Parses a `get-metric-data` export, reading timestamps without an offset in `tz`.
pub(super) fn parse(
    text: &str,
    origin: &str,
    tz: Option<&jiff::tz::TimeZone>,
) -> Result<Recording, InputError> {
    let mut positions = LineCol::new(text);
    let json = JsonText::new(text, origin, &mut positions);
    let export: Export = serde_json::from_str(text).map_err(|e| {
        json.error(
            e,
            "not a CloudWatch get-metric-data export ({\"MetricDataResults\":[{\"Id\":..,\"Timestamps\":[..],\"Values\":[..],\"StatusCode\":\"Complete\"}]})",
        )
    })?;
    let mut problems = Vec::new();
    // Each query's points in file order and the status of its last page.
    let mut queries: BTreeMap<SeriesName, (Series, String, Location)> = BTreeMap::new();
    for (i, raw) in export.results.iter().enumerate() {
        let here = json.locate(raw);
        let path = format!("MetricDataResults[{i}]");
        let what = format!(
            "{path}: not a metric data result ({{\"Id\":..,\"Timestamps\":[..],\"Values\":[..]}})"
        );
        let Some(entry) = read_entry::<Entry>(raw, &here, &what, &mut problems) else {
            continue;
        };
        let name = match SeriesName::parse(&entry.id) {
            Ok(n) => n,
            Err(m) => {
                problems.push(Problem {
                    at: here,
                    message: format!(
                        "{path}.Id: {m} (name each query's Id after the series it holds)"
                    ),
                });
                continue;
            }
        };
        if entry.timestamps.len() != entry.values.len() {
            problems.push(Problem {
                at: here,
                message: format!(
                    "{path}: {} timestamps but {} values; expected one value per timestamp",
                    entry.timestamps.len(),
                    entry.values.len()
                ),
            });
            continue;
        }
        let status = entry.status.unwrap_or_else(|| "Complete".into());
        let (series, last_status, last_at) = queries
            .entry(name)
            .or_insert_with(|| (Series::default(), String::new(), here.clone()));
        *last_status = status;
        *last_at = here;
        for (k, (t, v)) in entry.timestamps.iter().zip(&entry.values).enumerate() {
            let where_t = json.locate(t);
            let stamp = serde_json::from_str::<String>(t.get())
                .map_err(|_| format!("expected a timestamp string, found {}", t.get()))
                .and_then(|s| parse_timestamp_in(&s, tz));
            let at_ms = match stamp {
                Ok(ms) => ms,
                Err(m) => {
                    problems.push(Problem {
                        at: where_t,
                        message: format!("{path}.Timestamps[{k}]: {m}"),
                    });
                    continue;
                }
            };
            let where_v = json.locate(v);
            let value = serde_json::from_str::<f64>(v.get())
                .map_err(|_| {
                    format!(
                        "{} is not a number; leave the point out instead (a missing point is a lost scrape)",
                        v.get()
                    )
                })
                .and_then(|x| name.check(x));
            match value {
                // Located at its timestamp: what an order problem is about.
                Ok(value) => series.points.push(Point {
                    at_ms,
                    value,
                    at: where_t,
                }),
                Err(m) => problems.push(Problem {
                    at: where_v,
                    message: format!("{path}.Values[{k}]: {m}"),
                }),
            }
        }
    }
    let mut rec = Recording::default();
    for (name, (mut series, status, last_at)) in queries {
        match status.as_str() {
            "Complete" => {}
            "PartialData" => problems.push(Problem {
                at: last_at,
                message: format!(
                    "the query {name} is partial (StatusCode PartialData): more points wait behind its NextToken; export every page"
                ),
            }),
            s => problems.push(Problem {
                at: last_at,
                message: format!(
                    "the query {name} failed (StatusCode {s}); expected Complete"
                ),
            }),
        }
        // Newest first (CloudWatch's default order): read it backwards.
        if let (Some(a), Some(b)) = (series.points.first(), series.points.last()) {
            if a.at_ms > b.at_ms {
                series.points.reverse();
            }
        }
        if !series.points.is_empty() {
            rec.series.insert(name, series);
        }
    }
    InputError::unless(problems, rec)
}
