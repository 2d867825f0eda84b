//! The summary of an experiment as `summary.csv`, JSON and a terminal table.

use crate::experiment::Summary;
use serde::Serialize;
use serde_json::{json, Map, Value};

#[derive(Serialize)]
struct Row<'a> {
    policy: &'a str,
    metric: &'a str,
    mean: Option<f64>,
    ci95_low: Option<f64>,
    ci95_high: Option<f64>,
    n: u64,
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// `summary.csv`: one row per (policy, metric); empty cells where no run had a value.
pub fn summary_csv(s: &Summary) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(vec![]);
    for p in &s.policies {
        for (metric, e) in &p.metrics {
            w.serialize(Row {
                policy: &p.policy,
                metric,
                mean: finite(e.mean),
                ci95_low: finite(e.ci95_low),
                ci95_high: finite(e.ci95_high),
                n: e.n,
            })?;
        }
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// The summary as JSON: `{"seed":..,"runs":..,"policies":{"<name>":{"<metric>":{"mean":..,
/// "ci95_low":..,"ci95_high":..,"n":..}}}}`, policies in scenario order; `null` where no run
/// had a value.
pub fn summary_json(s: &Summary, seed: u64, runs: u64) -> String {
    let mut policies = Map::new();
    for p in &s.policies {
        let mut metrics = Map::new();
        for (metric, e) in &p.metrics {
            metrics.insert(
                metric.to_string(),
                json!({
                    "mean": finite(e.mean),
                    "ci95_low": finite(e.ci95_low),
                    "ci95_high": finite(e.ci95_high),
                    "n": e.n,
                }),
            );
        }
        policies.insert(p.policy.clone(), Value::Object(metrics));
    }
    let v = json!({ "seed": seed, "runs": runs, "policies": policies });
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

fn num(x: f64) -> String {
    if !x.is_finite() {
        "-".into()
    } else if x.abs() >= 1000.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    }
}

/// A table for the terminal: one row per metric, one column per policy, each cell
/// `mean [ci95_low, ci95_high]`.
pub fn summary_table(s: &Summary) -> String {
    let mut header = vec!["metric".to_string()];
    header.extend(s.policies.iter().map(|p| p.policy.clone()));
    let mut rows = vec![header];
    if let Some(first) = s.policies.first() {
        for (i, (metric, _)) in first.metrics.iter().enumerate() {
            let mut row = vec![metric.to_string()];
            for p in &s.policies {
                let e = p.metrics[i].1;
                row.push(if e.n == 0 {
                    "-".into()
                } else {
                    format!(
                        "{} [{}, {}]",
                        num(e.mean),
                        num(e.ci95_low),
                        num(e.ci95_high)
                    )
                });
            }
            rows.push(row);
        }
    }
    let cols = rows[0].len();
    let widths: Vec<usize> = (0..cols)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (i, r) in rows.iter().enumerate() {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                if c == 0 {
                    format!("{cell:<w$}", w = widths[c])
                } else {
                    format!("{cell:>w$}", w = widths[c])
                }
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
        if i == 0 {
            out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (cols - 1)));
            out.push('\n');
        }
    }
    out
}
