//! The chart of `rollsim tune`: on the left every candidate's trade-off (the constrained
//! metric against the objective, 95% intervals on both, the limit as a dashed line), on
//! the right the search's progress (each candidate's objective mean at the end of every
//! round it took part in, against the runs it had; a line stops where a round dropped it).
//! The winner is green (and labelled), the finalists blue, the dropped candidates grey.

use super::{
    bold, draw_legend, font, legend_height, padded, render, Area, Chart, DrawResult, LegendItem,
    Mark, NumericAxes, Span, INK,
};
use crate::report::metrics::MetricInfo;
use crate::report::ReportError;
use plotters::prelude::*;

/// Where a candidate ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Winner,
    Finalist,
    Dropped,
}

/// One candidate as the chart draws it.
#[derive(Debug, Clone)]
pub struct TunePoint {
    /// Its setting, `failures = 5`.
    pub label: String,
    /// The constrained metric (mean, low, high) in raw units, over the runs it had.
    pub x: Span,
    /// The objective (mean, low, high) in raw units.
    pub y: Span,
    pub status: Status,
    /// (runs, objective mean) at the end of each round it took part in.
    pub track: Vec<(f64, f64)>,
}

const WINNER: RGBColor = RGBColor(0x1b, 0x7f, 0x3b);
const FINALIST: RGBColor = RGBColor(0x4e, 0x79, 0xa7);
const DROPPED: RGBColor = RGBColor(0xa0, 0xa0, 0xa0);
const LIMIT: RGBColor = RGBColor(0xb0, 0x20, 0x20);

fn colour(s: Status) -> RGBColor {
    match s {
        Status::Winner => WINNER,
        Status::Finalist => FINALIST,
        Status::Dropped => DROPPED,
    }
}

/// Draws the tune chart: `x_metric` against `y_metric`, with `limit` on the x axis.
pub fn tune_chart(
    points: &[TunePoint],
    x_metric: &str,
    y_metric: &str,
    limit: Option<f64>,
) -> Result<Chart, ReportError> {
    let xm = MetricInfo::of(x_metric);
    let ym = MetricInfo::of(y_metric);
    let mut items = vec![
        LegendItem::new("winner", WINNER, Mark::Dot),
        LegendItem::new("finalist (ran the full budget)", FINALIST, Mark::Dot),
        LegendItem::new("dropped by a round", DROPPED, Mark::Dot),
    ];
    if limit.is_some() {
        items.push(LegendItem::new("limit", LIMIT, Mark::Dashed));
    }
    let (w, h) = (1100, 520);
    render(
        "tune",
        "Tune: the candidates' trade-off and the search",
        (w, h),
        |area| {
            let lh = legend_height(&items, w - 40);
            let (top, body) = area.split_vertically(lh);
            draw_legend(&top, &items)?;
            let (left, right) = body.split_horizontally(w as i32 / 2);
            tradeoff(&left, points, &xm, &ym, limit)?;
            progress(&right, points, &ym)
        },
    )
}

fn tradeoff(
    area: &Area<'_>,
    points: &[TunePoint],
    xm: &MetricInfo,
    ym: &MetricInfo,
    limit: Option<f64>,
) -> DrawResult<()> {
    let fin = |v: f64| v.is_finite();
    let xs = points
        .iter()
        .flat_map(|p| [p.x.1, p.x.2])
        .chain(limit)
        .filter(|v| fin(*v));
    let (x0, x1) = padded(
        xs.clone().fold(f64::INFINITY, f64::min),
        xs.fold(f64::NEG_INFINITY, f64::max),
        true,
    );
    let ys = points
        .iter()
        .flat_map(|p| [p.y.1, p.y.2])
        .filter(|v| fin(*v));
    let (y0, y1) = padded(
        ys.clone().fold(f64::INFINITY, f64::min),
        ys.fold(f64::NEG_INFINITY, f64::max),
        false,
    );
    let (x0, x1, y0, y1) = (xm.scale(x0), xm.scale(x1), ym.scale(y0), ym.scale(y1));
    let mut chart = ChartBuilder::on(area)
        .caption("Trade-off (mean, 95% intervals)", bold(16.0).color(&INK))
        .margin(10)
        .x_label_area_size(48)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .numeric_axes(
            format!("{} ({})", xm.label, unit(xm)),
            format!("{} ({})", ym.label, unit(ym)),
        )
        .tune_style()
        .draw()?;
    if let Some(l) = limit {
        chart.draw_series(DashedLineSeries::new(
            [(xm.scale(l), y0), (xm.scale(l), y1)],
            6,
            4,
            LIMIT.stroke_width(2),
        ))?;
    }
    for p in drawing_order(points) {
        if !(fin(p.x.0) && fin(p.y.0)) {
            continue;
        }
        let c = colour(p.status);
        let (x, y) = (xm.scale(p.x.0), ym.scale(p.y.0));
        let style = c.stroke_width(1);
        chart.draw_series(LineSeries::new(
            [(xm.scale(p.x.1), y), (xm.scale(p.x.2), y)],
            style,
        ))?;
        chart.draw_series(LineSeries::new(
            [(x, ym.scale(p.y.1)), (x, ym.scale(p.y.2))],
            style,
        ))?;
        let r = if p.status == Status::Winner { 6 } else { 4 };
        chart.draw_series([Circle::new((x, y), r, c.filled())])?;
        if p.status == Status::Winner {
            chart.draw_series([EmptyElement::at((x, y))
                + Text::new(p.label.clone(), (9, -16), font(12.0).color(&INK))])?;
        }
    }
    Ok(())
}

/// The points in the order they are drawn: dropped first, the winner last (on top).
fn drawing_order(points: &[TunePoint]) -> Vec<&TunePoint> {
    let mut order: Vec<&TunePoint> = points.iter().collect();
    order.sort_by_key(|p| match p.status {
        Status::Dropped => 0,
        Status::Finalist => 1,
        Status::Winner => 2,
    });
    order
}

/// The tune chart's own type sizes and grid: a size smaller than the house style's, no
/// minor grid lines.
trait TuneStyle {
    fn tune_style(&mut self) -> &mut Self;
}

impl<
        X: plotters::coord::ranged1d::Ranged,
        Y: plotters::coord::ranged1d::Ranged,
        DB: DrawingBackend,
    > TuneStyle for plotters::chart::MeshStyle<'_, '_, X, Y, DB>
{
    fn tune_style(&mut self) -> &mut Self {
        self.label_style(font(12.0).color(&INK))
            .axis_desc_style(font(13.0).color(&INK))
            .light_line_style(WHITE.mix(0.0))
    }
}

fn progress(area: &Area<'_>, points: &[TunePoint], ym: &MetricInfo) -> DrawResult<()> {
    let all: Vec<(f64, f64)> = points.iter().flat_map(|p| p.track.clone()).collect();
    let rmax = all.iter().map(|t| t.0).fold(1.0, f64::max);
    let (y0, y1) = padded(
        all.iter().map(|t| t.1).fold(f64::INFINITY, f64::min),
        all.iter().map(|t| t.1).fold(f64::NEG_INFINITY, f64::max),
        false,
    );
    let mut chart = ChartBuilder::on(area)
        .caption("Search: objective by round", bold(16.0).color(&INK))
        .margin(10)
        .x_label_area_size(48)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..rmax * 1.05, ym.scale(y0)..ym.scale(y1))?;
    chart
        .configure_mesh()
        .numeric_axes(
            "runs per candidate".into(),
            format!("{} ({})", ym.label, unit(ym)),
        )
        .tune_style()
        .draw()?;
    for p in drawing_order(points) {
        let c = colour(p.status);
        let pts: Vec<(f64, f64)> = p
            .track
            .iter()
            .filter(|t| t.1.is_finite())
            .map(|t| (t.0, ym.scale(t.1)))
            .collect();
        let width = if p.status == Status::Winner { 3 } else { 1 };
        chart.draw_series(LineSeries::new(pts.clone(), c.stroke_width(width)))?;
        chart.draw_series(pts.iter().map(|q| Circle::new(*q, 3, c.filled())))?;
    }
    Ok(())
}

fn unit(m: &MetricInfo) -> String {
    if m.percent {
        "% of runs".into()
    } else {
        m.unit.clone()
    }
}
