//! A 2-D sweep as heat maps: one panel per (swept policy, outcome), cells coloured by the
//! mean on a viridis scale (readable in grey and by colour-blind readers) with the value
//! written in each cell, and a colour bar.

use super::{bold, font, grid, render, rows_for, Area, Chart, DrawResult, INK};
use crate::report::findings::{heatmap_findings, num_plain};
use crate::report::inputs::Recommendation;
use crate::report::metrics::{tick, MetricInfo};
use crate::report::tables::Sweep;
use crate::report::ReportError;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

const VIRIDIS: [(u8, u8, u8); 9] = [
    (68, 1, 84),
    (71, 44, 122),
    (59, 81, 139),
    (44, 113, 142),
    (33, 144, 141),
    (39, 173, 129),
    (92, 200, 99),
    (170, 220, 50),
    (253, 231, 37),
];

/// The viridis colour of `t` in [0, 1].
pub fn viridis(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let f = t * (VIRIDIS.len() - 1) as f64;
    let i = (f.floor() as usize).min(VIRIDIS.len() - 2);
    let u = f - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * u).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// The heat-map chart of a 2-D sweep: panels for each policy the parameters move and each
/// chosen metric (at most 6 panels).
pub fn heatmap_chart(
    s: &Sweep,
    metrics: &[String],
    rec: Option<&Recommendation>,
) -> Result<Option<Chart>, ReportError> {
    let Some(p2) = s.param2.clone() else {
        return Ok(None);
    };
    let mut panels: Vec<(String, String)> = Vec::new();
    for p in &s.policies {
        for m in metrics {
            if s.varies(p, m) {
                panels.push((p.clone(), m.clone()));
            }
        }
    }
    if panels.is_empty() {
        // Nothing moves: show the first policy anyway, so the chart is not missing.
        if let Some(p) = s.policies.first() {
            panels.extend(metrics.iter().map(|m| (p.clone(), m.clone())));
        }
    }
    panels.truncate(6);
    if panels.is_empty() {
        return Ok(None);
    }
    let cols = 2;
    let (w, ph) = (1000, 420);
    let title = format!(
        "Outcomes{} over {} and {} (mean per run)",
        s.of_whom(),
        Sweep::short(&s.param),
        Sweep::short(&p2)
    );
    let mark = rec
        .filter(|r| r.met)
        .and_then(|r| Some((r.value?, r.value2?)));
    let mut chart = render(
        &s.chart_id("heatmap"),
        &title,
        (w, 40 + rows_for(panels.len(), cols) * ph),
        |area| {
            for (panel, (p, m)) in grid(area, panels.len(), cols).iter().zip(&panels) {
                panel_heat(panel, s, &p2, p, m, mark)?;
            }
            Ok(())
        },
    )?;
    let mut findings = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (p, _) in &panels {
        if !seen.contains(&p.as_str()) {
            seen.push(p);
            let ms: Vec<String> = panels
                .iter()
                .filter(|(q, _)| q == p)
                .map(|(_, m)| m.clone())
                .collect();
            findings.extend(heatmap_findings(s, p, &ms));
        }
    }
    chart.findings = findings;
    Ok(Some(chart))
}

fn panel_heat(
    area: &Area<'_>,
    s: &Sweep,
    p2: &str,
    policy: &str,
    metric: &str,
    mark: Option<(f64, f64)>,
) -> DrawResult<()> {
    let m = MetricInfo::of(metric);
    let (xs, ys) = s.axes();
    let cells: Vec<(usize, usize, Option<f64>)> = xs
        .iter()
        .enumerate()
        .flat_map(|(i, x)| ys.iter().enumerate().map(move |(j, y)| (i, j, *x, *y)))
        .map(|(i, j, x, y)| (i, j, s.at(policy, metric, x, y).map(|e| m.scale(e.mean))))
        .collect();
    let lo = cells
        .iter()
        .filter_map(|c| c.2)
        .fold(f64::INFINITY, f64::min);
    let hi = cells
        .iter()
        .filter_map(|c| c.2)
        .fold(f64::NEG_INFINITY, f64::max);
    let norm = |v: f64| {
        if hi > lo {
            (v - lo) / (hi - lo)
        } else {
            0.5
        }
    };
    let (main, bar) = area.split_horizontally(area.dim_in_pixel().0.saturating_sub(78));
    let caption = format!("{}: {}", policy, m.axis_label());
    let (nx, ny) = (xs.len().max(1), ys.len().max(1));
    let mut chart = ChartBuilder::on(&main)
        .caption(caption, bold(16.0).color(&INK))
        .margin(10)
        .x_label_area_size(50)
        .y_label_area_size(66)
        .build_cartesian_2d(0.0..nx as f64, 0.0..ny as f64)?;
    // A cell's value is labelled at its middle; the cell edges have no label.
    let label = |values: &[f64], v: f64| {
        let i = v.floor() as usize;
        if (v - v.floor() - 0.5).abs() < 1e-9 {
            values.get(i).map(|x| num_plain(*x)).unwrap_or_default()
        } else {
            String::new()
        }
    };
    let xl = |v: &f64| label(&xs, *v);
    let yl = |v: &f64| label(&ys, *v);
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(nx * 2 + 1)
        .y_labels(ny * 2 + 1)
        .x_label_formatter(&xl)
        .y_label_formatter(&yl)
        .x_desc(s.param.clone())
        .y_desc(p2.to_string())
        .label_style(font(13.0).color(&INK))
        .axis_desc_style(font(14.0).color(&INK))
        .axis_style(INK.mix(0.5))
        .draw()?;
    let cell_px = {
        let (w, h) = chart.plotting_area().dim_in_pixel();
        ((w as usize / nx) as i32, (h as usize / ny) as i32)
    };
    for (i, j, v) in &cells {
        let (x, y) = (*i as f64, *j as f64);
        let Some(v) = v else {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x, y), (x + 1.0, y + 1.0)],
                INK.mix(0.08).filled(),
            )))?;
            continue;
        };
        let c = viridis(norm(*v));
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x, y), (x + 1.0, y + 1.0)],
            c.filled(),
        )))?;
        if cell_px.0 >= 40 && cell_px.1 >= 18 {
            let light = norm(*v) > 0.6;
            let tc = if light { INK } else { WHITE };
            chart.draw_series(std::iter::once(Text::new(
                tick(*v),
                (x + 0.5, y + 0.5),
                font(12.0)
                    .color(&tc)
                    .pos(Pos::new(HPos::Center, VPos::Center)),
            )))?;
        }
    }
    if let Some((rx, ry)) = mark {
        let (i, j) = (
            xs.iter().position(|x| *x == rx),
            ys.iter().position(|y| *y == ry),
        );
        if let (Some(i), Some(j)) = (i, j) {
            let (x, y) = (i as f64, j as f64);
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x + 0.03, y + 0.03), (x + 0.97, y + 0.97)],
                RGBColor(0xe1, 0x57, 0x59).stroke_width(3),
            )))?;
        }
    }
    // The colour bar: low at the bottom, high at the top.
    let (bw, bh) = bar.dim_in_pixel();
    let (top, bottom) = (46_i32, bh as i32 - 62);
    let steps = 40;
    for k in 0..steps {
        let y0 = bottom - (bottom - top) * k / steps;
        let y1 = bottom - (bottom - top) * (k + 1) / steps;
        bar.draw(&Rectangle::new(
            [(8, y1), (26, y0)],
            viridis((f64::from(k) + 0.5) / f64::from(steps)).filled(),
        ))?;
    }
    let _ = bw;
    let f = font(12.0).color(&INK);
    if lo.is_finite() {
        bar.draw(&Text::new(
            tick(hi),
            (30, top),
            f.pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        bar.draw(&Text::new(
            tick(lo),
            (30, bottom),
            f.pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::viridis;

    #[test]
    fn viridis_runs_from_purple_to_yellow() {
        assert_eq!(viridis(0.0).0, 68);
        assert_eq!(viridis(1.0).2, 37);
        assert_eq!(viridis(f64::NAN).0, 68);
    }
}
