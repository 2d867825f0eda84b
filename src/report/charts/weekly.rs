//! A release train's weeks: the change failure rate and the downtime of each week, one line
//! per (policy, review policy) pair, so what reviewing buys shows as lines that part.
//!
//! A policy has its colour, a review policy its line and marker (solid with circles,
//! dashed with triangles, dotted with crosses), and each pair a small sideways offset, so
//! pairs whose weeks are equal (a policy that never blames a fine release reviews nothing
//! more under `misattributed_only` than under `none`) still show as distinct lines.

use super::{
    draw_legend, font, grid, legend_height, padded, render, Area, Chart, DrawResult, LegendItem,
    Mark, INK, PALETTE,
};
use crate::experiment::train::WeekSummaryRow;
use crate::report::ReportError;
use plotters::prelude::*;

/// The weekly chart of a train: change failure rate and downtime per week, per pair.
pub fn weekly_chart(rows: &[WeekSummaryRow]) -> Result<Chart, ReportError> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for r in rows {
        if !pairs.iter().any(|(p, v)| *p == r.policy && *v == r.review) {
            pairs.push((r.policy.clone(), r.review.clone()));
        }
    }
    let first_seen = |names: Vec<&String>| {
        let mut out: Vec<String> = Vec::new();
        for n in names {
            if !out.contains(n) {
                out.push(n.clone());
            }
        }
        out
    };
    let policies = first_seen(pairs.iter().map(|(p, _)| p).collect());
    let reviews = first_seen(pairs.iter().map(|(_, v)| v).collect());
    // Each pair's (colour, style): the policy's colour, the review policy's style.
    let looks: Vec<(RGBColor, usize)> = pairs
        .iter()
        .map(|(p, v)| {
            let c = policies.iter().position(|x| x == p).unwrap_or(0);
            let s = reviews.iter().position(|x| x == v).unwrap_or(0);
            (PALETTE[c % PALETTE.len()], s % STYLES)
        })
        .collect();
    let items: Vec<LegendItem> = pairs
        .iter()
        .zip(&looks)
        .map(|((p, v), &(c, s))| {
            let mark = if s == 0 { Mark::Line } else { Mark::Dashed };
            LegendItem::new(format!("{p}, review {v} ({})", STYLE_NAMES[s]), c, mark)
        })
        .collect();
    // Each pair's sideways nudge (in weeks): the pairs side by side within 0.6 of a week.
    let step = (0.6 / pairs.len().max(1) as f64).min(0.08);
    let shifts: Vec<f64> = (0..pairs.len())
        .map(|i| (i as f64 - (pairs.len() as f64 - 1.0) / 2.0) * step)
        .collect();
    let (w, h) = (1000, 460);
    render(
        "weekly",
        "Each week of the train: change failure rate and downtime",
        (w, h),
        |area| {
            let lh = legend_height(&items, w - 40);
            let (top, body) = area.split_vertically(lh);
            draw_legend(&top, &items)?;
            let cells = grid(&body, 2, 2);
            let series = |f: &dyn Fn(&WeekSummaryRow) -> Option<f64>| -> Vec<Vec<(f64, f64)>> {
                pairs
                    .iter()
                    .map(|(p, v)| {
                        rows.iter()
                            .filter(|r| r.policy == *p && r.review == *v)
                            .filter_map(|r| f(r).map(|y| (r.week as f64 + 1.0, y)))
                            .collect()
                    })
                    .collect()
            };
            if let Some(c) = cells.first() {
                panel(
                    c,
                    "Change failure rate (%)",
                    &series(&|r| r.change_failure_rate.map(|x| 100.0 * x)),
                    &looks,
                    &shifts,
                )?;
            }
            if let Some(c) = cells.get(1) {
                panel(
                    c,
                    "Downtime per week (minutes, mean)",
                    &series(&|r| Some(r.downtime_s / 60.0)),
                    &looks,
                    &shifts,
                )?;
            }
            Ok(())
        },
    )
}

/// Line styles, one per review policy (in first-seen order, repeating after three).
const STYLES: usize = 3;
const STYLE_NAMES: [&str; STYLES] = ["solid, circles", "dashed, triangles", "dotted, crosses"];

fn panel(
    area: &Area<'_>,
    title: &str,
    lines: &[Vec<(f64, f64)>],
    looks: &[(RGBColor, usize)],
    shifts: &[f64],
) -> DrawResult<()> {
    let weeks = lines.iter().flatten().map(|p| p.0).fold(1.0f64, f64::max);
    let hi = lines.iter().flatten().map(|p| p.1).fold(0.0f64, f64::max);
    let (lo, hi) = padded(0.0, hi.max(1e-6), true);
    let mut chart = ChartBuilder::on(area)
        .caption(title, font(15.0).color(&INK))
        .margin(8)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(0.5..weeks + 0.5, lo..hi)?;
    chart
        .configure_mesh()
        .x_desc("week")
        .x_labels(weeks as usize + 1)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .label_style(font(12.0).color(&INK))
        .axis_desc_style(font(13.0).color(&INK))
        .light_line_style(WHITE)
        .draw()?;
    for ((pts, &(c, s)), &dx) in lines.iter().zip(looks).zip(shifts) {
        let pts: Vec<(f64, f64)> = pts.iter().map(|&(x, y)| (x + dx, y)).collect();
        let line = c.stroke_width(2);
        match s {
            0 => {
                chart.draw_series(LineSeries::new(pts.clone(), line))?;
                chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, c.filled())))?;
            }
            1 => {
                chart.draw_series(DashedLineSeries::new(pts.clone(), 9, 5, line))?;
                chart.draw_series(pts.iter().map(|&p| TriangleMarker::new(p, 5, c.filled())))?;
            }
            _ => {
                chart.draw_series(DashedLineSeries::new(pts.clone(), 2, 4, line))?;
                chart.draw_series(pts.iter().map(|&p| Cross::new(p, 4, c.stroke_width(2))))?;
            }
        }
    }
    Ok(())
}
