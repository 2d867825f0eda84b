//! Outcomes per policy as bars with 95% error bars, one small panel per metric (each with
//! its own scale and unit), policies in the same colours in every panel.

use super::{
    bold, draw_legend, font, grid, legend_height, padded, render, rows_for, text_width, Area,
    Chart, Colors, DrawResult, HouseStyle, LegendItem, Mark, INK,
};
use crate::report::findings::{self, Refs};
use crate::report::metrics::{num, tick, MetricInfo};
use crate::report::tables::EstimateTable;
use crate::report::ReportError;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// A set of metrics that belong in one chart.
#[derive(Debug, Clone, Copy)]
pub struct Group {
    /// The chart's file stem.
    pub id: &'static str,
    /// The report's heading for the chart.
    pub heading: &'static str,
    pub title: &'static str,
    pub metrics: &'static [&'static str],
}

/// The outcome charts of a run, in report order: what a rollback policy costs first, then
/// the detail. Metrics that are zero for every policy are left out, and so is a chart left
/// with nothing to show.
pub const GROUPS: [Group; 7] = [
    Group {
        id: "outcomes",
        heading: "What each policy costs",
        title: "What each policy costs per run (mean, 95% CI)",
        metrics: &[
            "false_positive_rollbacks",
            "missed_bad_release",
            "rollback_loops",
            "downtime_s",
            "failed_requests",
            "misattributed_rollbacks",
        ],
    },
    Group {
        id: "rollbacks",
        heading: "Rollbacks and deploys",
        title: "Rollbacks and deploys per run (mean, 95% CI)",
        metrics: &[
            "rollbacks",
            "true_positive_rollbacks",
            "deploy_attempts",
            "release_bad",
        ],
    },
    Group {
        id: "detection",
        heading: "Detection and recovery",
        title: "How fast a bad release is caught (mean over bad releases acted on, 95% CI)",
        metrics: &["time_to_detect_s", "time_to_recover_s"],
    },
    Group {
        id: "data",
        heading: "Data",
        title: "What happens to data (mean per run, 95% CI)",
        metrics: &[
            "unreadable_reads",
            "corrupted_records",
            "lost_writes",
            "new_format_records",
            "data_harm_detected_s",
        ],
    },
    Group {
        id: "actions",
        heading: "Other recovery actions",
        title: "Recovery actions other than rollback (mean per run, 95% CI)",
        metrics: &["roll_forwards", "flags_off", "rollback_refused_unsafe"],
    },
    Group {
        id: "human",
        heading: "Humans and guards",
        title: "Pages, human time and guarded rollbacks (mean per run, 95% CI)",
        metrics: &["pages", "human_minutes", "rollbacks_suppressed"],
    },
    Group {
        id: "replay",
        heading: "Replayed decisions",
        title: "Decisions on the recording (mean, 95% CI)",
        metrics: &[
            "decisions",
            "false_positive_decisions",
            "missed_incidents",
            "detection_delay_s",
        ],
    },
];

/// The bar charts of a summary, with their headings: one per [`GROUPS`] entry that has a
/// metric to show.
/// References (oracles, doing nothing) are drawn but not ranked in the findings.
pub fn outcome_charts(
    t: &EstimateTable,
    colors: &Colors,
    refs: &Refs,
) -> Result<Vec<(&'static str, Chart)>, ReportError> {
    let mut out = Vec::new();
    for g in GROUPS {
        let metrics: Vec<String> = g
            .metrics
            .iter()
            .filter(|m| t.varies(m))
            .map(|m| m.to_string())
            .collect();
        if metrics.is_empty() {
            continue;
        }
        let mut chart = bar_chart(&format!("summary-{}", g.id), g.title, t, &metrics, colors)?;
        chart.findings = findings::outcome_findings(t, &metrics, refs);
        out.push((g.heading, chart));
    }
    Ok(out)
}

const WIDTH: u32 = 1000;
const PANEL_H: u32 = 290;

/// Bars of `metrics` for every policy of `t`, one panel per metric.
pub fn bar_chart(
    id: &str,
    title: &str,
    t: &EstimateTable,
    metrics: &[String],
    colors: &Colors,
) -> Result<Chart, ReportError> {
    let cols = metrics.len().clamp(2, 3);
    let items: Vec<LegendItem> = t
        .policies
        .iter()
        .map(|p| LegendItem::new(p.clone(), colors.of(p), Mark::Box))
        .collect();
    let legend_h = legend_height(&items, WIDTH - 24);
    let h = 50 + legend_h + rows_for(metrics.len(), cols) * PANEL_H;
    render(id, title, (WIDTH, h), |area| {
        let (top, panels) = area.split_vertically(legend_h);
        draw_legend(&top, &items)?;
        for (panel, metric) in grid(&panels, metrics.len(), cols).iter().zip(metrics) {
            panel_bars(panel, t, metric, colors)?;
        }
        Ok(())
    })
}

fn panel_bars(area: &Area<'_>, t: &EstimateTable, metric: &str, colors: &Colors) -> DrawResult<()> {
    let m = MetricInfo::of(metric);
    let vals: Vec<(usize, &str, Option<super::Span>)> = super::scaled_estimates(t, metric, &m);
    let lo = vals
        .iter()
        .filter_map(|v| v.2.map(|e| e.1))
        .fold(f64::INFINITY, f64::min);
    let hi = vals
        .iter()
        .filter_map(|v| v.2.map(|e| e.2))
        .fold(f64::NEG_INFINITY, f64::max);
    let (y0, mut y1) = padded(lo, hi, true);
    // Headroom for the value printed above each bar.
    y1 += (y1 - y0) * 0.10;
    let n = t.policies.len().max(1);
    let mut chart = ChartBuilder::on(area)
        .caption(&m.label, bold(17.0).color(&INK))
        .margin(10)
        .x_label_area_size(6)
        .y_label_area_size(62)
        .build_cartesian_2d(-0.5..(n as f64 - 0.5), y0..y1)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_labels(6)
        .y_label_formatter(&|v| tick(*v))
        .y_desc(if m.percent {
            "% of runs".to_string()
        } else {
            m.unit.clone()
        })
        .house_style()
        .draw()?;
    let bar_px = {
        let (x, _) = chart.plotting_area().dim_in_pixel();
        x as i32 / n as i32
    };
    let value_font = font(12.0);
    for (i, _, e) in &vals {
        let x = *i as f64;
        let Some((mean, low, high)) = *e else {
            // No value (e.g. no bad release was acted on): say so instead of a zero bar.
            chart.draw_series(std::iter::once(Text::new(
                "n/a",
                (x, y0.max(0.0) + (y1 - y0) * 0.02),
                value_font
                    .color(&INK.mix(0.6))
                    .pos(Pos::new(HPos::Center, VPos::Bottom)),
            )))?;
            continue;
        };
        let c = colors.of(&t.policies[*i]);
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x - 0.36, 0.0_f64.max(y0)), (x + 0.36, mean)],
            c.filled(),
        )))?;
        if high > low {
            let cap = 0.12;
            let style = INK.stroke_width(2);
            chart.draw_series([
                PathElement::new(vec![(x, low), (x, high)], style),
                PathElement::new(vec![(x - cap, low), (x + cap, low)], style),
                PathElement::new(vec![(x - cap, high), (x + cap, high)], style),
            ])?;
        }
        let label = bar_label(mean);
        if text_width(&label, &value_font) + 4 < bar_px {
            chart.draw_series(std::iter::once(
                EmptyElement::at((x, high.max(mean)))
                    + Text::new(
                        label,
                        (0, -4),
                        value_font
                            .color(&INK)
                            .pos(Pos::new(HPos::Center, VPos::Bottom)),
                    ),
            ))?;
        }
    }
    Ok(())
}

/// The value printed over a bar: three significant decimals at most, "k" from 10,000.
fn bar_label(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if x.abs() >= 10_000.0 {
        tick(x)
    } else {
        num(x)
    }
}
