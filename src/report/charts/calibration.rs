//! The fit check of `rollsim calibrate`: recorded against simulated signals, as a
//! quantile-quantile plot per series and the autocorrelation of the error ratio by lag.
//! Points on the diagonal (and curves on top of each other) mean the model reproduces
//! the recording.

use super::{
    draw_legend, font, grid, legend_height, padded, render, Area, Chart, DrawResult, LegendItem,
    Mark, INK, PALETTE,
};
use crate::report::ReportError;
use plotters::prelude::*;

/// One quantile of one series: (series, probability, recorded, simulated).
pub type QuantilePoint<'a> = (&'a str, f64, f64, f64);
/// One lag: (lag in seconds, recorded, simulated autocorrelation).
pub type AcfPoint = (f64, f64, f64);

/// Draws the fit-check chart from the quantile and autocorrelation comparisons.
pub fn calibration_chart(
    quantiles: &[QuantilePoint<'_>],
    acf: &[AcfPoint],
) -> Result<Chart, ReportError> {
    let mut series: Vec<&str> = Vec::new();
    for q in quantiles {
        if !series.contains(&q.0) {
            series.push(q.0);
        }
    }
    let panels = series.len() + 1;
    let (w, h) = (1000, 440);
    let items = [
        LegendItem::new("recorded vs simulated quantile", PALETTE[0], Mark::Dot),
        LegendItem::new("equal (a perfect fit)", INK, Mark::Line),
        LegendItem::new("autocorrelation, recorded", PALETTE[0], Mark::Line),
        LegendItem::new("autocorrelation, simulated", PALETTE[1], Mark::Line),
    ];
    render(
        "calibration",
        "Recorded vs simulated: distributions and autocorrelation",
        (w, h),
        |area| {
            let lh = legend_height(&items, w - 40);
            let (top, body) = area.split_vertically(lh);
            draw_legend(&top, &items)?;
            let cells = grid(&body, panels, panels);
            for (cell, s) in cells.iter().zip(&series) {
                let pts: Vec<(f64, f64)> = quantiles
                    .iter()
                    .filter(|q| q.0 == *s && q.2.is_finite() && q.3.is_finite())
                    .map(|q| (q.2, q.3))
                    .collect();
                qq_panel(cell, s, &pts)?;
            }
            if let Some(cell) = cells.get(series.len()) {
                acf_panel(cell, acf)?;
            }
            Ok(())
        },
    )
}

fn qq_panel(area: &Area<'_>, series: &str, pts: &[(f64, f64)]) -> DrawResult<()> {
    let hi = pts.iter().map(|p| p.0.max(p.1)).fold(0.0, f64::max);
    let (lo, hi) = padded(0.0, hi.max(1e-9), true);
    let unit = if series == "error_ratio" {
        "error ratio per scrape"
    } else {
        "requests per second"
    };
    let mut chart = ChartBuilder::on(area)
        .caption(format!("Quantiles of the {unit}"), font(15.0).color(&INK))
        .margin(8)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(lo..hi, lo..hi)?;
    chart
        .configure_mesh()
        .x_desc("recorded")
        .y_desc("simulated")
        .label_style(font(12.0).color(&INK))
        .axis_desc_style(font(13.0).color(&INK))
        .light_line_style(WHITE)
        .draw()?;
    chart.draw_series(
        LineSeries::new(vec![(lo, lo), (hi, hi)], INK.stroke_width(1)).point_size(0),
    )?;
    chart.draw_series(
        pts.iter()
            .map(|&(x, y)| Circle::new((x, y), 4, PALETTE[0].filled())),
    )?;
    Ok(())
}

fn acf_panel(area: &Area<'_>, acf: &[AcfPoint]) -> DrawResult<()> {
    let pts: Vec<AcfPoint> = acf
        .iter()
        .copied()
        .filter(|p| p.0 > 0.0 && p.1.is_finite() && p.2.is_finite())
        .collect();
    let (x0, x1) = pts.iter().fold((f64::INFINITY, 0.0f64), |(a, b), p| {
        (a.min(p.0), b.max(p.0))
    });
    let (x0, x1) = if pts.is_empty() {
        (1.0, 10.0)
    } else {
        (x0 / 1.5, x1 * 1.5)
    };
    let (ylo, yhi) = pts.iter().fold((0.0f64, 0.0f64), |(a, b), p| {
        (a.min(p.1.min(p.2)), b.max(p.1.max(p.2)))
    });
    let (ylo, yhi) = padded(ylo, yhi.max(0.05), true);
    let mut chart = ChartBuilder::on(area)
        .caption("Autocorrelation of the error ratio", font(15.0).color(&INK))
        .margin(8)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d((x0..x1).log_scale(), ylo..yhi)?;
    chart
        .configure_mesh()
        .x_desc("lag (s, log scale)")
        .y_desc("autocorrelation")
        .label_style(font(12.0).color(&INK))
        .axis_desc_style(font(13.0).color(&INK))
        .light_line_style(WHITE)
        .draw()?;
    for (k, color) in [(1usize, PALETTE[0]), (2, PALETTE[1])] {
        let line: Vec<(f64, f64)> = pts
            .iter()
            .map(|p| (p.0, if k == 1 { p.1 } else { p.2 }))
            .collect();
        chart.draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))?;
        chart.draw_series(
            line.iter()
                .map(|&(x, y)| Circle::new((x, y), 3, color.filled())),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_both_series_and_the_autocorrelation() {
        let q = [
            ("error_ratio", 0.5, 0.002, 0.0021),
            ("error_ratio", 0.9, 0.005, 0.0048),
            ("requests_per_s", 0.5, 30.0, 30.5),
        ];
        let acf = [(30.0, 0.2, 0.19), (120.0, 0.17, 0.18), (600.0, 0.1, 0.12)];
        let c = calibration_chart(&q, &acf).expect("chart");
        assert!(c.svg.contains("Quantiles of the error ratio per scrape"));
        assert!(c.svg.contains("Autocorrelation of the error ratio"));
        assert!(c.png.starts_with(&[0x89, b'P', b'N', b'G']));
    }
}
