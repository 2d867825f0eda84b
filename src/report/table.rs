//! The terminal table of `run` and `compare`: policies as rows, the few metrics a design
//! review reads first as columns, values in human units, and a width that fits a terminal
//! (100 columns by default). `--wide` keeps the full table of every metric
//! ([`super::summary_table`]); `--format` writes the same cells as Markdown, CSV or JSON.

use super::human::Unit;
use crate::experiment::stats::Estimate;
use crate::experiment::Summary;
use crate::outcome::RunRecord;

/// The width the default table must fit.
pub const WIDTH: usize = 100;

/// How `run` and `compare` print their results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Aligned text for a terminal.
    #[default]
    Table,
    /// A GitHub-flavoured Markdown table, for a pull request or a design document.
    Markdown,
    /// One row per policy: the mean and 95% bounds of each metric, raw numbers.
    Csv,
    /// The whole summary as JSON (what `--json` prints; the command writes it, with the
    /// seed and the runs, through [`super::summary_json`]).
    Json,
}

/// The columns a reader looks for first: what a rule costs when it is wrong (false
/// positives, missed bad releases), how fast it is right, and what users felt.
pub const DEFAULT_METRICS: [&str; 5] = [
    "false_positive_rollbacks",
    "missed_bad_release",
    "time_to_detect_s",
    "downtime_s",
    "failed_requests",
];

/// The data-harm column added when any policy harmed data.
const DATA_METRICS: [&str; 3] = ["corrupted_records", "unreadable_reads", "lost_writes"];

/// The default columns for a summary: [`DEFAULT_METRICS`], plus the first data-harm
/// metric that is not zero for some policy (scenarios with `[data]`).
pub fn default_metrics(s: &Summary) -> Vec<String> {
    let mut m: Vec<String> = DEFAULT_METRICS.iter().map(|m| m.to_string()).collect();
    if let Some(d) = DATA_METRICS.iter().find(|d| {
        s.policies
            .iter()
            .any(|p| get(&p.metrics, d).is_some_and(|e| e.n > 0 && e.mean > 0.0))
    }) {
        m.push(d.to_string());
    }
    m
}

/// Checks `--metrics a,b,c` against the metric names; the message names the flag.
pub fn parse_metrics(list: &str) -> Result<Vec<String>, String> {
    let names: Vec<&str> = RunRecord::METRICS.iter().map(|m| m.0).collect();
    let mut out = Vec::new();
    for m in list.split(',').map(str::trim).filter(|m| !m.is_empty()) {
        if !names.contains(&m) {
            return Err(format!(
                "--metrics: {m:?} is not a metric; expected a comma-separated list of {}",
                names.join(", ")
            ));
        }
        out.push(m.to_string());
    }
    if out.is_empty() {
        return Err(
            "--metrics: no metric given; expected e.g. --metrics downtime_s,failed_requests".into(),
        );
    }
    Ok(out)
}

fn get(metrics: &[(&'static str, Estimate)], name: &str) -> Option<Estimate> {
    metrics.iter().find(|m| m.0 == name).map(|m| m.1)
}

/// A column header for the table: short, so that six fit in 100 columns.
pub fn header(metric: &str) -> String {
    match metric {
        "false_positive_rollbacks" => "false+ rollbacks".into(),
        "false_positive_decisions" => "false+ decisions".into(),
        "missed_bad_release" => "missed bad".into(),
        "time_to_detect_s" => "detect (caught)".into(),
        "time_to_recover_s" => "recover".into(),
        "downtime_s" => "downtime".into(),
        "failed_requests" => "failed requests".into(),
        "corrupted_records" => "corrupted rec.".into(),
        "unreadable_reads" => "unreadable reads".into(),
        "misattributed_rollbacks" => "blamed on fault".into(),
        "rollback_loops" => "loops".into(),
        "data_harm_detected_s" => "harm shows".into(),
        other => other.trim_end_matches("_s").replace('_', " "),
    }
}

/// The share of bad releases a policy acted on: runs with a time to detect over runs
/// with a bad release.
fn caught(metrics: &[(&'static str, Estimate)]) -> Option<f64> {
    let bad = get(metrics, "release_bad")?;
    let detected = get(metrics, "time_to_detect_s")?;
    let bad_runs = (bad.mean * bad.n as f64).round();
    (bad_runs > 0.0).then(|| detected.n as f64 / bad_runs)
}

/// One cell: the mean in human units, with its 95% interval when `interval`.
fn cell(metric: &str, metrics: &[(&'static str, Estimate)], interval: bool) -> String {
    let unit = Unit::of(metric);
    let Some(e) = get(metrics, metric) else {
        return "-".into();
    };
    if metric == "time_to_detect_s" {
        let share = caught(metrics)
            .map(super::human::percent)
            .unwrap_or_else(|| "-".into());
        if e.n == 0 {
            return format!("- ({share})");
        }
        return if interval {
            format!(
                "{} [{}, {}] ({share})",
                unit.format(e.mean),
                unit.format(e.ci95_low),
                unit.format(e.ci95_high)
            )
        } else {
            format!("{} ({share})", unit.format(e.mean))
        };
    }
    estimate_cell(metric, Some(&e), interval)
}

/// A mean in the metric's human unit with its 95% interval when `interval` ("-" when no
/// run measured it): the cell of every text table of estimates.
fn estimate_cell(metric: &str, e: Option<&Estimate>, interval: bool) -> String {
    let unit = Unit::of(metric);
    let Some(e) = e.filter(|e| e.n > 0) else {
        return "-".into();
    };
    if !interval {
        return unit.format(e.mean);
    }
    let bound = |x: f64| match unit {
        // The unit is on the mean; the bounds are bare numbers of the same unit.
        Unit::Percent => unit.format(x).trim_end_matches('%').to_string(),
        _ => unit.format(x),
    };
    format!(
        "{} [{}, {}]",
        unit.format(e.mean),
        bound(e.ci95_low),
        bound(e.ci95_high)
    )
}

/// The rows of the policy table: a header and one row per policy (in `order`), each cell
/// with its interval where `intervals[column]`.
fn rows(s: &Summary, metrics: &[String], order: &[usize], intervals: &[bool]) -> Vec<Vec<String>> {
    let mut head = vec!["policy".to_string()];
    head.extend(metrics.iter().map(|m| header(m)));
    let mut out = vec![head];
    for &i in order {
        let p = &s.policies[i];
        let mut row = vec![p.policy.clone()];
        for (k, m) in metrics.iter().enumerate() {
            row.push(cell(m, &p.metrics, intervals[k]));
        }
        out.push(row);
    }
    out
}

fn width(rows: &[Vec<String>]) -> usize {
    let cols = rows[0].len();
    (0..cols)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .sum::<usize>()
        + 2 * (cols - 1)
}

/// The policy table in `format`: `metrics` as columns (see [`default_metrics`]), policies
/// in `order` (indices into the summary). JSON is written by the command (it carries the
/// seed), so `Format::Json` gives the text table here. As text it fits `max_width` columns when it
/// can: intervals are left out, rightmost column first, until it does, and a note says so.
pub fn policy_table(
    s: &Summary,
    metrics: &[String],
    order: &[usize],
    format: Format,
    max_width: usize,
) -> String {
    match format {
        Format::Csv => return csv_table(s, metrics, order),
        Format::Markdown => {
            let rows = rows(s, metrics, order, &vec![true; metrics.len()]);
            return markdown(&rows);
        }
        Format::Table | Format::Json => {}
    }
    // `rows` has the policy column first; its intervals are per metric. When the table
    // is too wide without any interval (long policy names, a data-harm column), whole
    // columns are left out: the time to detect first, then from the right.
    let mut shown: Vec<String> = metrics.to_vec();
    let mut left_out: Vec<String> = Vec::new();
    let (mut table, mut dropped) = fit(shown.len(), 0, max_width, |iv| rows(s, &shown, order, iv));
    while width(&table) > max_width && shown.len() > 1 {
        let k = shown
            .iter()
            .position(|m| m == "time_to_detect_s")
            .unwrap_or(shown.len() - 1);
        left_out.push(shown.remove(k));
        (table, dropped) = fit(shown.len(), 0, max_width, |iv| rows(s, &shown, order, iv));
    }
    let names: std::collections::HashSet<&str> =
        s.policies.iter().map(|p| p.policy.as_str()).collect();
    let system = names.iter().any(|n| {
        n.split_once('@')
            .is_some_and(|(policy, _)| names.contains(policy))
    });
    let mut out = render(&table);
    out.push_str(&legend(&shown, dropped, "--wide shows them all", system));
    if !left_out.is_empty() {
        let names: Vec<String> = left_out.iter().map(|m| header(m)).collect();
        out.push_str(&format!(
            "left out to fit {WIDTH} columns: {}; --wide or --metrics shows them\n",
            names.join(", ")
        ));
    }
    out
}

/// Drops intervals, rightmost column first, until `rows(intervals)` fits `max_width`;
/// returns the rows and whether any interval was dropped. `first` is the first column
/// that has intervals (the columns before it name the row).
fn fit(
    columns: usize,
    first: usize,
    max_width: usize,
    rows: impl Fn(&[bool]) -> Vec<Vec<String>>,
) -> (Vec<Vec<String>>, bool) {
    let mut intervals = vec![true; columns];
    let mut table = rows(&intervals);
    let mut dropped = false;
    for k in (first..columns).rev() {
        if width(&table) <= max_width {
            break;
        }
        intervals[k] = false;
        dropped = true;
        table = rows(&intervals);
    }
    (table, dropped)
}

/// The terminal table of `rollsim replay`: one row per policy, `metrics` as columns in
/// human units with their 95% intervals, fitted to `max_width` columns as
/// [`policy_table`] is (intervals left out from the right, and a line says so). The
/// command prints what a mean is over (deploys, days) under it.
pub fn replay_table(s: &Summary, metrics: &[String], max_width: usize) -> String {
    let order: Vec<usize> = (0..s.policies.len()).collect();
    let (table, dropped) = fit(metrics.len(), 0, max_width, |iv| {
        rows(s, metrics, &order, iv)
    });
    let mut out = render(&table);
    if dropped {
        out.push_str(&format!(
            "some intervals left out to fit {WIDTH} columns; summary.csv has them all\n"
        ));
    }
    out
}

/// The columns of `rollsim sweep`'s terminal table, for the swept policy.
pub const SWEEP_METRICS: [&str; 5] = [
    "false_positive_rollbacks",
    "missed_bad_release",
    "rollback_loops",
    "downtime_s",
    "failed_requests",
];

/// The terminal table of a sweep: one row per point (the swept values first, headed by
/// their last key),
/// `metrics` of `policy` as columns in human units with their 95% intervals, fitted to
/// `max_width` columns as [`policy_table`] is (intervals dropped from the right, said so).
pub fn sweep_table(
    params: &[String],
    points: &[crate::experiment::objective::PointResult],
    policy: &str,
    metrics: &[&str],
    max_width: usize,
) -> String {
    // A parameter's column is headed by its last key (the heading above the table names
    // the policy); the whole path when two parameters share a last key.
    let last = |p: &String| p.rsplit('.').next().unwrap_or(p).to_string();
    let short: Vec<String> = params
        .iter()
        .map(|p| {
            let twins = params.iter().filter(|q| last(q) == last(p)).count();
            if twins > 1 {
                p.clone()
            } else {
                last(p)
            }
        })
        .collect();
    let rows = |intervals: &[bool]| {
        let mut head: Vec<String> = short.clone();
        head.extend(metrics.iter().map(|m| header(m)));
        let mut out = vec![head];
        for p in points {
            let mut row: Vec<String> = p.values.iter().map(|(_, v)| v.to_string()).collect();
            for (k, m) in metrics.iter().enumerate() {
                let e = p.estimates.get(&(policy.to_string(), m.to_string()));
                row.push(estimate_cell(m, e, intervals[params.len() + k]));
            }
            out.push(row);
        }
        out
    };
    let (table, dropped) = fit(params.len() + metrics.len(), params.len(), max_width, rows);
    let metrics: Vec<String> = metrics.iter().map(|m| m.to_string()).collect();
    // A system's points carry a row per service, `POLICY@SERVICE`.
    let service_row = format!("{policy}@");
    let system = points
        .iter()
        .any(|p| p.estimates.keys().any(|(n, _)| n.starts_with(&service_row)));
    let mut out = render(&table);
    out.push_str(&legend(&metrics, dropped, "sweep.csv has them all", system));
    out
}

/// What the cells mean, under the table.
/// `whole` says where the intervals left out can be read; `system` that the rows are a
/// system's (each service releases once per run, and a policy's row adds up its services').
fn legend(metrics: &[String], dropped: bool, whole: &str, system: bool) -> String {
    let mut out = "mean per run [95% interval]".to_string();
    if metrics.iter().any(|m| Unit::of(m) == Unit::Percent) {
        out.push_str(if system {
            // Two lines: each fits 100 columns.
            "; rates are % of runs (one release per service per run)\n\
             a policy's row adds up its services' (200% is two per run)"
        } else {
            "; rates are % of runs (one release per run)"
        });
    }
    if metrics.iter().any(|m| m == "time_to_detect_s") {
        out.push_str(
            "\ndetect: mean time over the bad releases caught (share of bad releases caught)",
        );
    }
    if dropped {
        out.push_str(&format!(
            "\nsome intervals left out to fit {WIDTH} columns; {whole}"
        ));
    }
    out.push('\n');
    out
}

/// The table as CSV: `policy` and, per metric, `<metric>`, `<metric>_low`,
/// `<metric>_high` in the units of `summary.csv` (seconds, fractions).
fn csv_table(s: &Summary, metrics: &[String], order: &[usize]) -> String {
    let mut w = csv::Writer::from_writer(vec![]);
    let mut head = vec!["policy".to_string()];
    for m in metrics {
        head.extend([m.clone(), format!("{m}_low"), format!("{m}_high")]);
    }
    let _ = w.write_record(&head);
    let num = |x: f64| {
        if x.is_finite() {
            x.to_string()
        } else {
            String::new()
        }
    };
    for &i in order {
        let p = &s.policies[i];
        let mut row = vec![p.policy.clone()];
        for m in metrics {
            match get(&p.metrics, m).filter(|e| e.n > 0) {
                Some(e) => row.extend([num(e.mean), num(e.ci95_low), num(e.ci95_high)]),
                None => row.extend([String::new(), String::new(), String::new()]),
            }
        }
        let _ = w.write_record(&row);
    }
    w.into_inner()
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default()
}

fn markdown(rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    for (i, r) in rows.iter().enumerate() {
        out.push_str(&format!("| {} |\n", r.join(" | ")));
        if i == 0 {
            let marks: Vec<&str> = (0..r.len())
                .map(|c| if c == 0 { "---" } else { "---:" })
                .collect();
            out.push_str(&format!("|{}|\n", marks.join("|")));
        }
    }
    out
}

/// Aligns rows of cells: first column left, the rest right, a rule under the header (the
/// terminal table and the other text tables of `report`).
pub(super) fn render(rows: &[Vec<String>]) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::PolicySummary;

    fn est(mean: f64, lo: f64, hi: f64, n: u64) -> Estimate {
        Estimate {
            mean,
            ci95_low: lo,
            ci95_high: hi,
            n,
        }
    }

    fn summary() -> Summary {
        let p = |name: &str, fp: f64, ttd_n: u64| PolicySummary {
            policy: name.into(),
            metrics: vec![
                ("release_bad", est(0.25, 0.2, 0.3, 200)),
                ("false_positive_rollbacks", est(fp, fp / 2.0, fp * 2.0, 200)),
                ("missed_bad_release", est(0.05, 0.02, 0.09, 200)),
                ("time_to_detect_s", est(108.4, 100.0, 117.0, ttd_n)),
                ("downtime_s", est(798.5, 702.3, 894.6, 200)),
                ("failed_requests", est(19_555.0, 16_955.0, 22_154.0, 200)),
            ],
        };
        Summary {
            policies: vec![p("a-rather-long-policy-name", 0.078, 50), p("b", 0.0, 40)],
        }
    }

    #[test]
    fn cells_are_in_human_units_with_the_share_caught() {
        let s = summary();
        let m = default_metrics(&s);
        let t = policy_table(&s, &m, &[0, 1], Format::Table, 200);
        assert!(t.contains("7.8% [3.9, 15.6]"), "{t}");
        assert!(t.contains("1m48s [1m40s, 1m57s] (100%)"), "{t}");
        assert!(t.contains("1m48s [1m40s, 1m57s] (80.0%)"), "{t}");
        assert!(t.contains("13m19s [11m42s, 14m55s]"), "{t}");
        assert!(t.contains("19.6k [17.0k, 22.2k]"), "{t}");
    }

    #[test]
    fn a_narrow_width_drops_intervals_from_the_right_and_says_so() {
        let s = summary();
        let m = default_metrics(&s);
        let t = policy_table(&s, &m, &[0, 1], Format::Table, 100);
        assert!(t.lines().all(|l| l.chars().count() <= 100), "{t}");
        assert!(t.contains("7.8% [3.9, 15.6]"), "{t}");
        assert!(t.contains("some intervals left out"), "{t}");
        let full = policy_table(&s, &m, &[0, 1], Format::Table, 1000);
        assert!(!full.contains("left out"), "{full}");
    }

    #[test]
    fn metrics_flag_is_checked() {
        assert_eq!(
            parse_metrics("downtime_s, failed_requests").unwrap(),
            vec!["downtime_s", "failed_requests"]
        );
        assert!(parse_metrics("downtime")
            .unwrap_err()
            .contains("\"downtime\" is not a metric"));
        assert!(parse_metrics(",").unwrap_err().contains("no metric given"));
    }

    #[test]
    fn csv_and_markdown_carry_the_same_columns() {
        let s = summary();
        let m = vec!["downtime_s".to_string()];
        let c = policy_table(&s, &m, &[1], Format::Csv, WIDTH);
        assert_eq!(
            c,
            "policy,downtime_s,downtime_s_low,downtime_s_high\nb,798.5,702.3,894.6\n"
        );
        let md = policy_table(&s, &m, &[1], Format::Markdown, WIDTH);
        assert_eq!(
            md,
            "| policy | downtime |\n|---|---:|\n| b | 13m19s [11m42s, 14m55s] |\n"
        );
    }

    #[test]
    fn the_sweep_table_fits_the_width_in_human_units() {
        use crate::experiment::objective::PointResult;
        let s = summary();
        let point = |i: usize, v: f64| PointResult {
            point: i,
            values: vec![("policies.error-rate-2pct.error_rate_above".into(), v)],
            estimates: s.policies[0]
                .metrics
                .iter()
                .map(|(m, e)| (("gate".to_string(), m.to_string()), *e))
                .collect(),
        };
        let points = [point(0, 0.005), point(1, 0.0125)];
        let params = ["policies.error-rate-2pct.error_rate_above".to_string()];
        let wide = sweep_table(&params, &points, "gate", &SWEEP_METRICS, 1000);
        assert!(wide.contains("7.8% [3.9, 15.6]"), "{wide}");
        assert!(wide.contains("13m19s [11m42s, 14m55s]"), "{wide}");
        assert!(
            wide.lines().nth(2).is_some_and(|l| l.starts_with("0.005 ")),
            "{wide}"
        );
        assert!(!wide.contains("left out"), "{wide}");
        let t = sweep_table(&params, &points, "gate", &SWEEP_METRICS, WIDTH);
        assert!(t.lines().all(|l| l.chars().count() <= WIDTH), "{t}");
        assert!(t.contains("some intervals left out"), "{t}");
        assert!(t.contains("7.8%"), "{t}");
        // no estimate for a policy the sweep did not run: a dash, not a number
        let other = sweep_table(&params, &points, "nobody", &SWEEP_METRICS, WIDTH);
        assert!(
            other.lines().nth(2).is_some_and(|l| l.ends_with('-')),
            "{other}"
        );
        assert!(t.contains("(one release per run)"), "{t}");
        // A system's point has a row per service: one release per service per run.
        let mut system = points[0].clone();
        let rows: Vec<_> = system.estimates.clone().into_iter().collect();
        for ((_, m), e) in rows {
            system.estimates.insert(("gate@checkout".to_string(), m), e);
        }
        let t = sweep_table(&params, &[system], "gate", &SWEEP_METRICS, WIDTH);
        assert!(
            t.contains(
                "rates are % of runs (one release per service per run)\n\
                 a policy's row adds up its services' (200% is two per run)\n"
            ),
            "{t}"
        );
    }

    #[test]
    fn a_systems_table_says_each_service_releases_once_per_run() {
        let mut s = summary();
        let m = vec!["false_positive_rollbacks".to_string()];
        let single = policy_table(&s, &m, &[0, 1], Format::Table, WIDTH);
        assert!(single.contains("(one release per run)"), "{single}");
        let mut service = s.policies[0].clone();
        service.policy = format!("{}@payments", service.policy);
        s.policies.push(service);
        let system = policy_table(&s, &m, &[0, 2, 1], Format::Table, WIDTH);
        assert!(
            system.contains(
                "(one release per service per run)\n\
                 a policy's row adds up its services' (200% is two per run)\n"
            ),
            "{system}"
        );
        assert!(
            system.lines().all(|l| l.chars().count() <= WIDTH),
            "{system}"
        );
    }
}
