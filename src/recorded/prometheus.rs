//! A Prometheus range-query response (`/api/v1/query_range`) as a [`Recording`].
//!
//! Each result of the matrix is one series, named by its `series` label or else by
//! `__name__` (a query names its result with `label_replace(..., "series", "requests",
//! "", "")`). Values are `[unix_seconds, "value"]` pairs; every problem is located at the
//! line and column of the pair, because responses are often a single line.

use super::json::read_entry;
use super::{
    unix_seconds, InputError, JsonText, LineCol, Location, Point, Problem, Recording, Series,
    SeriesName,
};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Response<'a> {
    status: String,
    #[serde(default)]
    error: Option<String>,
    #[serde(default, borrow)]
    data: Option<Data<'a>>,
}

#[derive(Deserialize)]
struct Data<'a> {
    #[serde(rename = "resultType")]
    result_type: String,
    #[serde(borrow)]
    result: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Entry<'a> {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    #[serde(default, borrow)]
    values: Vec<&'a RawValue>,
}

/// Parses a range-query response.
pub(super) fn parse(text: &str, origin: &str) -> Result<Recording, InputError> {
    parse_with(text, origin, &mut LineCol::new(text))
}

/// [`parse`], locating values through `positions` (values are met in text order, so
/// locating all of them is one pass over the text).
fn parse_with<'t>(
    text: &'t str,
    origin: &str,
    positions: &mut LineCol<'t>,
) -> Result<Recording, InputError> {
    let json = JsonText::new(text, origin, positions);
    let resp: Response = serde_json::from_str(text).map_err(|e| {
        json.error(
            e,
            "not a Prometheus range-query response ({\"status\":..,\"data\":{\"resultType\":\"matrix\",\"result\":[..]}})",
        )
    })?;
    if resp.status != "success" {
        return Err(InputError::one(
            json.at(0),
            format!(
                "the query failed (status {:?}): {}",
                resp.status,
                resp.error.unwrap_or_default()
            ),
        ));
    }
    let Some(data) = resp.data else {
        return Err(InputError::one(json.at(0), "the response has no \"data\""));
    };
    if data.result_type != "matrix" {
        return Err(InputError::one(
            json.at(0),
            format!(
                "resultType is {:?}; expected \"matrix\", the answer of a range query (/api/v1/query_range)",
                data.result_type
            ),
        ));
    }
    let mut rec = Recording::default();
    let mut problems = Vec::new();
    let mut seen: BTreeMap<SeriesName, Location> = BTreeMap::new();
    for raw in data.result {
        let here = json.locate(raw);
        let what = r#"not a matrix result ({"metric":{..},"values":[..]})"#;
        let Some(entry) = read_entry::<Entry>(raw, &here, what, &mut problems) else {
            continue;
        };
        let label = entry
            .metric
            .get("series")
            .or_else(|| entry.metric.get("__name__"));
        let name = match label.map(|l| SeriesName::parse(l)) {
            Some(Ok(n)) => n,
            Some(Err(m)) => {
                problems.push(Problem {
                    at: here,
                    message: m,
                });
                continue;
            }
            None => {
                problems.push(Problem {
                    at: here,
                    message: format!(
                        "a result without a `series` or `__name__` label ({:?}); name it, e.g. label_replace(<query>, \"series\", \"requests\", \"\", \"\")",
                        entry.metric
                    ),
                });
                continue;
            }
        };
        if let Some(first) = seen.get(&name) {
            problems.push(Problem {
                at: here,
                message: format!(
                    "a second result named {name} (the first is at {first}); aggregate them in the query, e.g. sum(...)"
                ),
            });
            continue;
        }
        seen.insert(name, here);
        let mut series = Series::default();
        for v in entry.values {
            let here = json.locate(v);
            let pair: Result<(f64, String), _> = serde_json::from_str(v.get());
            let point = match pair {
                Err(e) => Err(format!(
                    "expected [unix_seconds, \"value\"]: {}",
                    crate::check::json_error_text(&e)
                )),
                Ok((t, s)) => unix_seconds(t).and_then(|at_ms| {
                    let x: f64 = s
                        .trim()
                        .parse()
                        .map_err(|_| format!("value {s:?} of {name} is not a number"))?;
                    Ok((at_ms, name.check(x)?))
                }),
            };
            match point {
                Ok((at_ms, value)) => series.points.push(Point {
                    at_ms,
                    value,
                    at: here,
                }),
                Err(message) => problems.push(Problem { at: here, message }),
            }
        }
        // A result with no values is no series (as a CSV without its rows).
        if !series.points.is_empty() {
            rec.series.insert(name, series);
        }
    }
    InputError::unless(problems, rec)
}

#[cfg(test)]
mod tests {
    use super::super::{parse as parse_any, LineCol, SeriesName};
    use super::parse_with;

    /// Locating every value scans the text once: the work is linear in the file's size,
    /// not (values x size) as when each position was counted from the top.
    #[test]
    fn locating_values_is_one_pass_over_the_text() {
        for n in [1_000, 20_000] {
            let values: Vec<String> = (0..n)
                .map(|i| format!("[{},\"{}\"]", 15 * i, i % 7))
                .collect();
            let text = format!(
                r#"{{"status":"success","data":{{"resultType":"matrix","result":[{{"metric":{{"series":"requests"}},"values":[{}]}}]}}}}"#,
                values.join(",")
            );
            let mut positions = LineCol::new(&text);
            let r = parse_with(&text, "q.json", &mut positions).unwrap();
            assert_eq!(r.get(SeriesName::Requests).unwrap().points.len(), n);
            assert!(
                positions.scanned() <= text.len(),
                "{n} values: {} bytes scanned for a text of {}",
                positions.scanned(),
                text.len()
            );
            // And the positions are right: the last pair's column.
            let last = r.get(SeriesName::Requests).unwrap().points.last().unwrap();
            let col = text.rfind('[').unwrap() + 1;
            assert_eq!((last.at.line, last.at.col), (1, Some(col)));
        }
    }

    #[test]
    fn positions_count_characters_and_lines() {
        let text = "ab\néé x\ny";
        let mut p = LineCol::new(text);
        assert_eq!(p.at(0), (1, 1));
        assert_eq!(p.at(3), (2, 1));
        assert_eq!(p.at(8), (2, 4), "é is two bytes, one column");
        assert_eq!(p.at(2), (1, 3), "going back starts again from the top");
        assert_eq!(p.at(100), (3, 2), "past the end: the end");
    }

    #[test]
    fn recorded_prometheus_matrix_is_read_with_positions() {
        let text = r#"{"status":"success","data":{"resultType":"matrix","result":[
{"metric":{"series":"requests","job":"api"},"values":[[1717408800,"10"],[1717408815.5,"12"]]},
{"metric":{"__name__":"errors"},"values":[[1717408800,"1"]]}]}}"#;
        let r = parse_any(text, "q.json").unwrap();
        let req = &r.get(SeriesName::Requests).unwrap().points;
        assert_eq!(req[1].at_ms, 1_717_408_815_500);
        assert_eq!(req[1].at.line, 2);
        assert_eq!(r.get(SeriesName::Errors).unwrap().points[0].value, 1.0);
    }

    #[test]
    fn recorded_prometheus_problems_are_located_by_line_and_column() {
        let text = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"series":"requests"},"values":[[30,"1"],[15,"2"],[45,"NaN"]]}]}}"#;
        let e = parse_any(text, "q.json").unwrap_err().to_string();
        assert!(e.contains("q.json:1:121: requests is NaN"), "{e}");
        let text = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"series":"requests"},"values":[[30,"1"],[15,"2"]]}]}}"#;
        let e = parse_any(text, "q.json").unwrap_err().to_string();
        assert!(e.contains("q.json:1:112: timestamp 1970-01-01T00:00:15Z of series requests is before the previous one"), "{e}");
        let e = parse_any(
            r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#,
            "q.json",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("expected \"matrix\""), "{e}");
        let e = parse_any(
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"series":"latency"},"values":[]}]}}"#,
            "q.json",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("q.json:1:61: unknown series \"latency\""), "{e}");
        let e = parse_any("{\"status\":\"success\",\n \"data\": [", "q.json")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("q.json:2:"), "{e}");
    }
}
