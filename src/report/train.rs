//! The report of a release train: a table of each (policy, review policy) pair's figures
//! over the whole train, the verdict on reviews (what reviewing costs: review hours and
//! lead time; what it saves: recurrences, downtime, false rollbacks, each against the same
//! policy never reviewing, on the same trains), and the weekly chart. HTML (self-contained,
//! the chart inline) and Markdown.

use super::charts::weekly::weekly_chart;
use super::charts::Chart;
use super::human::{duration, percent};
use super::ReportError;
use crate::experiment::train::{pairs_of_summary, TrainSummaryRow, WeekSummaryRow};

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

/// A train's report: (report.html, report.md, the weekly chart).
pub fn train_report(
    title: &str,
    summary: &[TrainSummaryRow],
    weeks: &[WeekSummaryRow],
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
         <h2>Over the whole train (mean over runs)</h2>\n<table><tr><th>policy</th><th>review</th>{head}</tr>\n{rows_html}</table>\n\
         <h2>{ct}</h2>\n{svg}\n</body></html>\n",
        t = esc(title),
        ct = esc(&chart.title),
        svg = chart.svg,
    );
    Ok((html, md, chart))
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
