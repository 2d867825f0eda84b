//! Paired differences against the baseline (policy minus baseline, on the same runs): one
//! panel per outcome, a row per policy with its mean difference and 95% interval, and the
//! zero line, so "does it help, and are we sure" reads at a glance.

use super::{
    bold, font, grid, padded, render, rows_for, Area, Chart, Colors, DrawResult, HouseStyle, INK,
};
use crate::report::findings::{comparison_findings, Refs};
use crate::report::metrics::{tick, MetricInfo};
use crate::report::tables::EstimateTable;
use crate::report::ReportError;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The outcomes compared, in order, if present.
pub const METRICS: [&str; 5] = [
    "false_positive_rollbacks",
    "missed_bad_release",
    "rollback_loops",
    "downtime_s",
    "failed_requests",
];

/// The difference chart of `comparison.csv`, if it has any of [`METRICS`].
/// References (oracles, doing nothing) are drawn but left out of the findings.
pub fn diff_chart(
    t: &EstimateTable,
    baseline: &str,
    colors: &Colors,
    refs: &Refs,
) -> Result<Option<Chart>, ReportError> {
    let metrics: Vec<String> = METRICS
        .iter()
        .filter(|m| t.metrics.iter().any(|x| x == *m))
        .map(|m| m.to_string())
        .collect();
    if metrics.is_empty() || t.policies.is_empty() {
        return Ok(None);
    }
    let cols = 2;
    let ph = 90 + 38 * t.policies.len() as u32;
    let title =
        format!("Difference from {baseline} on the same runs (policy minus {baseline}, 95% CI)");
    let mut chart = render(
        "comparison",
        &title,
        (1000, 40 + rows_for(metrics.len(), cols) * ph),
        |area| {
            for (panel, m) in grid(area, metrics.len(), cols).iter().zip(&metrics) {
                panel_diff(panel, t, m, colors)?;
            }
            Ok(())
        },
    )?;
    chart.findings = comparison_findings(t, baseline, &metrics, refs);
    Ok(Some(chart))
}

fn panel_diff(area: &Area<'_>, t: &EstimateTable, metric: &str, colors: &Colors) -> DrawResult<()> {
    let m = MetricInfo::of(metric);
    let n = t.policies.len();
    let rows: Vec<(usize, &str, Option<super::Span>)> = super::scaled_estimates(t, metric, &m);
    let lo = rows
        .iter()
        .filter_map(|r| r.2.map(|e| e.1))
        .fold(0.0, f64::min);
    let hi = rows
        .iter()
        .filter_map(|r| r.2.map(|e| e.2))
        .fold(0.0, f64::max);
    let (x0, x1) = padded(lo.min(0.0), hi.max(0.0), false);
    let longest = t
        .policies
        .iter()
        .map(|p| super::text_width(p, &font(13.0)))
        .max()
        .unwrap_or(40);
    let unit = if m.percent {
        "percentage points of runs".to_string()
    } else {
        m.unit.clone()
    };
    let mut chart = ChartBuilder::on(area)
        .caption(&m.label, bold(16.0).color(&INK))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size((longest + 16).clamp(50, 220) as u32)
        .build_cartesian_2d(x0..x1, -0.5..(n as f64 - 0.5))?;
    let name = |v: &f64| {
        let i = v.round();
        if (v - i).abs() < 1e-9 && i >= 0.0 {
            // Row 0 at the top.
            (n - 1)
                .checked_sub(i as usize)
                .and_then(|row| t.policies.get(row))
                .cloned()
                .unwrap_or_default()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_labels(6)
        .y_labels(2 * n + 1)
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&name)
        .x_desc(format!("difference ({unit})"))
        .house_style()
        .draw()?;
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(0.0, -0.5), (0.0, n as f64 - 0.5)],
        INK.stroke_width(1),
    )))?;
    for (i, p, e) in rows {
        let y = (n - 1 - i) as f64;
        let c = colors.of(p);
        match e {
            Some((mean, low, high)) => {
                chart.draw_series([
                    PathElement::new(vec![(low, y), (high, y)], c.stroke_width(3)),
                    PathElement::new(vec![(low, y - 0.15), (low, y + 0.15)], c.stroke_width(2)),
                    PathElement::new(vec![(high, y - 0.15), (high, y + 0.15)], c.stroke_width(2)),
                ])?;
                chart.draw_series(std::iter::once(Circle::new((mean, y), 6, c.filled())))?;
            }
            None => {
                chart.draw_series(std::iter::once(Text::new(
                    "n/a",
                    (0.0, y),
                    font(12.0)
                        .color(&INK.mix(0.6))
                        .pos(Pos::new(HPos::Center, VPos::Center)),
                )))?;
            }
        }
    }
    Ok(())
}
