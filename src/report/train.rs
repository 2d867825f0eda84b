//! The report of a release train: a table of each (policy, review policy) pair's figures
//! over the whole train, the verdict on reviews (what reviewing costs: review hours and
//! lead time; what it saves: recurrences, downtime, false rollbacks, each against the same
//! policy never reviewing, on the same trains), and the weekly chart. HTML (self-contained,
//! the chart inline) and Markdown.

use super::builder::{description, ReportFiles};
use super::charts::weekly::weekly_chart;
use super::charts::Chart;
use super::human::{duration, percent};
use super::inputs::{read_csv, read_json, read_text, ManifestInfo};
use super::OutputDir;
use super::ReportError;
use crate::experiment::train::{
    pairs_of_summary, summarize, summarize_services, summarize_weeks, ServiceSummaryRow,
    TrainSummaryRow, WeekSummaryRow,
};
use crate::outcome::train::{ServiceTrainRow, TrainRecord, WeekRow};
use std::path::Path;

/// The file that makes an output directory a train's: a row per run and pair.
pub const TRAIN_RUNS: &str = "train-runs.csv";

/// The figures shown per pair, with their labels.
const SHOWN: [(&str, &str); 10] = [
    ("deployments_per_week", "deploys/week"),
    ("lead_time_h", "lead time (h)"),
    ("change_failure_rate", "change failure rate"),
    ("recovery_time_h", "recovery (h)"),
    ("rollbacks_per_week", "rollbacks/week"),
    ("false_positive_rollbacks_per_week", "false rollbacks/week"),
    ("recurrences", "recurrences"),
    ("review_hours", "review hours"),
    ("downtime_s_per_week", "downtime/week"),
    ("failed_requests_per_week", "failed requests/week"),
];

/// A train's report: (report.html, report.md, the weekly chart); `services` (a system's
/// train) adds a table of each service's releases.
pub fn train_report(
    title: &str,
    summary: &[TrainSummaryRow],
    weeks: &[WeekSummaryRow],
    services: &[ServiceSummaryRow],
) -> Result<(String, String, Chart), ReportError> {
    let chart = weekly_chart(weeks)?;
    let verdict = verdict(summary);
    let mut md = format!("# {title}\n\n## Verdict on reviews\n\n");
    for v in &verdict {
        md.push_str(&format!("- {v}\n"));
    }
    md.push_str("\n## Over the whole train (mean over runs)\n\n| policy | review |");
    for (_, label) in SHOWN {
        md.push_str(&format!(" {label} |"));
    }
    md.push_str("\n|---|---|");
    for _ in SHOWN {
        md.push_str("---:|");
    }
    md.push('\n');
    let mut rows_html = String::new();
    for (p, v) in pairs_of_summary(summary) {
        md.push_str(&format!("| {p} | {v} |"));
        rows_html.push_str(&format!("<tr><td>{}</td><td>{}</td>", esc(&p), esc(&v)));
        for (metric, _) in SHOWN {
            let cell = mean(summary, &p, &v, metric).map_or("-".to_string(), |x| show(metric, x));
            md.push_str(&format!(" {cell} |"));
            rows_html.push_str(&format!("<td>{}</td>", esc(&cell)));
        }
        md.push('\n');
        rows_html.push_str("</tr>\n");
    }
    let (services_md, services_html) = services_tables(services);
    md.push_str(&services_md);
    md.push_str("\n![weekly](weekly.svg)\n");
    let head: String = SHOWN
        .iter()
        .map(|(_, l)| format!("<th>{}</th>", esc(l)))
        .collect();
    let items: String = verdict
        .iter()
        .map(|v| format!("<li>{}</li>", esc(v)))
        .collect();
    let html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{t}</title>\n\
         <style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#333}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}\
         td:first-child,td:nth-child(2){{text-align:left}}</style></head><body>\n\
         <h1>{t}</h1>\n<h2>Verdict on reviews</h2>\n<ul>{items}</ul>\n\
         <h2>Over the whole train (mean over runs)</h2>\n<table><tr><th>policy</th><th>review</th>{head}</tr>\n{rows_html}</table>\n{services_html}\
         <h2>{ct}</h2>\n{svg}\n</body></html>\n",
        t = esc(title),
        ct = esc(&chart.title),
        svg = chart.svg,
    );
    Ok((html, md, chart))
}

/// Rebuilds a train's report from its directory (`rollsim report DIR`): the summaries are
/// reduced again from `train-runs.csv`, `weekly.csv` and, in a system's train,
/// `train-services.csv` (as `rollsim train` reduced them, so a merged or edited directory
/// gets a report of what it holds), the title from `scenario.toml` or `manifest.json`;
/// `report.html`, `report.md`, `weekly.svg` and `weekly.png` are written as `rollsim
/// train` writes them. A missing `weekly.csv` or a malformed file is an input error
/// naming `file:line`, and then nothing is written.
pub fn rebuild(dir: &Path) -> Result<ReportFiles, ReportError> {
    let records: Vec<TrainRecord> = rows(read_csv(dir, TRAIN_RUNS)?);
    let Some(weeks) = read_csv::<WeekRow>(dir, "weekly.csv")? else {
        return Err(ReportError::Input {
            path: dir.join("weekly.csv").display().to_string(),
            message: "is missing: a train's report charts its weeks (rollsim train writes it beside train-runs.csv)".into(),
        });
    };
    let weeks: Vec<WeekRow> = rows(Some(weeks));
    let services: Vec<ServiceTrainRow> = rows(read_csv(dir, "train-services.csv")?);
    let manifest = read_json::<ManifestInfo>(dir, "manifest.json")?.unwrap_or_default();
    let title = read_text(dir, "scenario.toml")?
        .as_deref()
        .and_then(description)
        .or(manifest.scenario)
        .unwrap_or_else(|| dir.display().to_string());
    let (html, md, chart) = train_report(
        &title,
        &summarize(&records),
        &summarize_weeks(&weeks),
        &summarize_services(&services),
    )?;
    let out = OutputDir::reopen(dir)?;
    let charts = vec![
        out.write("weekly.svg", chart.svg.as_bytes())?,
        out.write("weekly.png", &chart.png)?,
    ];
    Ok(ReportFiles {
        html: out.write("report.html", html.as_bytes())?,
        markdown: out.write("report.md", md.as_bytes())?,
        charts,
    })
}

/// The rows of a CSV file read (without their line numbers); none when it is absent.
fn rows<T>(found: Option<Vec<(u64, T)>>) -> Vec<T> {
    found
        .unwrap_or_default()
        .into_iter()
        .map(|(_, r)| r)
        .collect()
}

/// Each service's releases per pair (a system's train), as Markdown and HTML; empty for
/// one service.
fn services_tables(rows: &[ServiceSummaryRow]) -> (String, String) {
    if rows.is_empty() {
        return (String::new(), String::new());
    }
    let head = [
        "policy",
        "review",
        "service",
        "deploys/train",
        "change failure rate",
        "rollbacks/train",
        "false rollbacks/train",
        "latent shown/train",
    ];
    let mut md = "\n## Releases by service (mean over runs)\n\n|".to_string();
    let mut html = "<h2>Releases by service (mean over runs)</h2>\n<table><tr>".to_string();
    for h in head {
        md.push_str(&format!(" {h} |"));
        html.push_str(&format!("<th>{h}</th>"));
    }
    md.push_str("\n|---|---|---|---:|---:|---:|---:|---:|\n");
    html.push_str("</tr>\n");
    for r in rows {
        let cells = [
            r.policy.clone(),
            r.review.clone(),
            r.service.clone(),
            format!("{:.2}", r.deployments),
            r.change_failure_rate.map_or("-".into(), percent),
            format!("{:.2}", r.rollbacks),
            format!("{:.2}", r.false_positive_rollbacks),
            format!("{:.2}", r.latent_shown),
        ];
        md.push('|');
        html.push_str("<tr>");
        for c in &cells {
            md.push_str(&format!(" {c} |"));
            html.push_str(&format!("<td>{}</td>", esc(c)));
        }
        md.push('\n');
        html.push_str("</tr>\n");
    }
    html.push_str("</table>\n");
    (md, html)
}

/// What reviewing costs and saves, per policy and review policy, against the same policy
/// never reviewing (when the train compares `none`).
pub fn verdict(summary: &[TrainSummaryRow]) -> Vec<String> {
    let mut out = Vec::new();
    for (p, v) in pairs_of_summary(summary) {
        if v == "none" || !summary.iter().any(|r| r.policy == p && r.review == "none") {
            continue;
        }
        let d = |m: &str| -> f64 {
            mean(summary, &p, &v, m).unwrap_or(0.0) - mean(summary, &p, "none", m).unwrap_or(0.0)
        };
        let hours = mean(summary, &p, &v, "review_hours").unwrap_or(0.0);
        let lead = d("lead_time_h") + 0.0;
        out.push(format!(
            "{p} with review {v}: costs {hours:.1} review hours per train and {lead:+.2} h of lead time; \
             saves {rec:.2} recurrences, {down} of downtime per week and {fp:.2} false rollbacks per week \
             (against never reviewing, on the same trains)",
            rec = 0.0 - d("recurrences") + 0.0,
            down = signed_duration(0.0 - d("downtime_s_per_week")),
            fp = 0.0 - d("false_positive_rollbacks_per_week") + 0.0,
        ));
    }
    if out.is_empty() {
        out.push("no review policy is compared with `none`: add \"none\" to train.reviews to see what reviewing saves".into());
    }
    out
}

fn signed_duration(s: f64) -> String {
    if s < 0.0 {
        format!("-{}", duration(-s))
    } else {
        duration(s)
    }
}

fn mean(summary: &[TrainSummaryRow], p: &str, v: &str, metric: &str) -> Option<f64> {
    summary
        .iter()
        .find(|r| r.policy == p && r.review == v && r.metric == metric && r.n > 0)
        .map(|r| r.mean)
}

fn show(metric: &str, x: f64) -> String {
    match metric {
        "change_failure_rate" => percent(x),
        "downtime_s_per_week" => duration(x),
        "failed_requests_per_week" => format!("{x:.0}"),
        _ => format!("{x:.2}"),
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
