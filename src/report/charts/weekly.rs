//! A release train's weeks: the change failure rate and the downtime of each week, one line
//! per (policy, review policy) pair, so what reviewing buys shows as lines that part.

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
    let items: Vec<LegendItem> = pairs
        .iter()
        .enumerate()
        .map(|(i, (p, v))| {
            LegendItem::new(
                format!("{p}, review {v}"),
                PALETTE[i % PALETTE.len()],
                Mark::Line,
            )
        })
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
                )?;
            }
            if let Some(c) = cells.get(1) {
                panel(
                    c,
                    "Downtime per week (minutes, mean)",
                    &series(&|r| Some(r.downtime_s / 60.0)),
                )?;
            }
            Ok(())
        },
    )
}

fn panel(area: &Area<'_>, title: &str, lines: &[Vec<(f64, f64)>]) -> DrawResult<()> {
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
    for (i, pts) in lines.iter().enumerate() {
        let c = PALETTE[i % PALETTE.len()];
        chart.draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)).point_size(3))?;
    }
    Ok(())
}
