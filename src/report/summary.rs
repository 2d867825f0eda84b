//! The summary of an experiment as `summary.csv`, JSON and a terminal table.

use super::rows::{csv_text, ComparisonRow, SummaryRow};
use super::table::render;
use crate::experiment::{Comparison, Summary};
use crate::outcome::RunRecord;
use serde_json::{json, Map, Value};

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// `summary.csv`: one row per (policy, metric); empty cells where no run had a value.
pub fn summary_csv(s: &Summary) -> Result<Vec<u8>, csv::Error> {
    csv_text(&SummaryRow::of(s), true)
}

/// `comparison.csv`: one row per (policy, metric): the paired difference policy minus
/// baseline with its 95% interval (a header alone when the baseline is the only policy).
pub fn comparison_csv(c: &Comparison) -> Result<Vec<u8>, csv::Error> {
    csv_text(&ComparisonRow::of(c), true)
}

fn estimates_json(
    metrics: &[(&'static str, crate::experiment::stats::Estimate)],
    mean_key: &str,
) -> Value {
    let mut m = Map::new();
    for (metric, e) in metrics {
        m.insert(
            metric.to_string(),
            json!({
                mean_key: finite(e.mean),
                "ci95_low": finite(e.ci95_low),
                "ci95_high": finite(e.ci95_high),
                "n": e.n,
            }),
        );
    }
    Value::Object(m)
}

/// The comparison as JSON: `{"baseline":..,"policies":{"<name>":{"<metric>":
/// {"mean_difference":..,"ci95_low":..,"ci95_high":..,"n":..}}}}`.
pub fn comparison_json(c: &Comparison) -> Value {
    let mut policies = Map::new();
    for p in &c.policies {
        policies.insert(
            p.policy.clone(),
            estimates_json(&p.metrics, "mean_difference"),
        );
    }
    json!({ "baseline": c.baseline, "policies": policies })
}

/// The metrics the ranked table shows, when present.
const RANKED: [&str; 7] = [
    "false_positive_rollbacks",
    "missed_bad_release",
    "rollback_loops",
    "downtime_s",
    "failed_requests",
    "unreadable_reads",
    "corrupted_records",
];

/// A ranked table for `compare`: policies ordered by the mean of `rank_by` (lowest
/// first), each cell `mean (difference vs baseline [95% CI])`.
pub fn ranked_table(s: &Summary, c: &Comparison, rank_by: &str) -> String {
    let k = RunRecord::METRICS
        .iter()
        .position(|m| m.0 == rank_by)
        .unwrap_or(0);
    let mut order: Vec<usize> = (0..s.policies.len()).collect();
    order.sort_by(|&a, &b| {
        let ma = s.policies[a].metrics[k].1.mean;
        let mb = s.policies[b].metrics[k].1.mean;
        ma.total_cmp(&mb)
    });
    let has_data = s.policies.iter().any(|p| {
        p.metrics
            .iter()
            .any(|(m, e)| (*m == "unreadable_reads" || *m == "corrupted_records") && e.mean > 0.0)
    });
    let shown: Vec<&str> = RANKED
        .iter()
        .copied()
        .filter(|m| has_data || (*m != "unreadable_reads" && *m != "corrupted_records"))
        .collect();
    let mut header = vec!["policy".to_string()];
    header.extend(shown.iter().map(|m| m.to_string()));
    let mut rows = vec![header];
    for (rank, &i) in order.iter().enumerate() {
        let p = &s.policies[i];
        let mut row = vec![format!("{}. {}", rank + 1, p.policy)];
        for m in &shown {
            let mean = p
                .metrics
                .iter()
                .find(|x| x.0 == *m)
                .map(|x| x.1.mean)
                .unwrap_or(f64::NAN);
            let diff = c
                .policies
                .iter()
                .find(|d| d.policy == p.policy)
                .and_then(|d| d.metrics.iter().find(|x| x.0 == *m))
                .map(|x| x.1);
            row.push(match diff {
                Some(d) if d.n > 0 => format!(
                    "{} ({}{} [{}, {}])",
                    num(mean),
                    if d.mean >= 0.0 { "+" } else { "" },
                    num(d.mean),
                    num(d.ci95_low),
                    num(d.ci95_high)
                ),
                _ => format!("{} (baseline)", num(mean)),
            });
        }
        rows.push(row);
    }
    render(&rows)
}

/// The summary as JSON: `{"seed":..,"runs":..,"policies":{"<name>":{"<metric>":{"mean":..,
/// "ci95_low":..,"ci95_high":..,"n":..}}}}`, policies in scenario order; `null` where no run
/// had a value.
pub fn summary_json(s: &Summary, seed: u64, runs: u64) -> Value {
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
    json!({ "seed": seed, "runs": runs, "policies": policies })
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
    let mut hidden = 0;
    if let Some(first) = s.policies.first() {
        for (i, (metric, _)) in first.metrics.iter().enumerate() {
            // A metric that is exactly zero (or absent) for every policy says nothing here;
            // summary.csv keeps it.
            let silent = s.policies.iter().all(|p| {
                let e = p.metrics[i].1;
                e.n == 0 || (e.mean == 0.0 && e.ci95_low == 0.0 && e.ci95_high == 0.0)
            });
            if silent && !ALWAYS_SHOWN.contains(metric) {
                hidden += 1;
                continue;
            }
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
    let mut out = render(&rows);
    if hidden > 0 {
        out.push_str(&format!(
            "({hidden} metrics that are zero for every policy are not shown; summary.csv has them all)\n"
        ));
    }
    out
}

/// Rows the table shows even when they are zero for every policy: the outcomes a reader
/// looks for first.
const ALWAYS_SHOWN: [&str; 5] = [
    "rollbacks",
    "false_positive_rollbacks",
    "missed_bad_release",
    "downtime_s",
    "failed_requests",
];
