//! A 1-D sweep: each outcome as a curve over the swept parameter, with its 95% confidence
//! band, one panel per outcome. Policies the parameter does not touch are drawn as thin
//! dashed reference lines; the recommended value, if any, as a vertical line.

use super::{
    bold, draw_legend, font, grid, legend_height, padded, render_with_hover, rows_for, Area, Chart,
    Colors, DrawResult, HouseStyle, Hover, LegendItem, Mark, INK,
};
use crate::report::findings::sweep_findings;
use crate::report::inputs::Recommendation;
use crate::report::metrics::{tick, MetricInfo};
use crate::report::tables::Sweep;
use crate::report::ReportError;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The outcomes a sweep chart shows, if the sweep has them; a recommendation's metric is
/// added when it is not among them.
pub const KEY_METRICS: [&str; 4] = [
    "false_positive_rollbacks",
    "missed_bad_release",
    "downtime_s",
    "failed_requests",
];

/// What a system's sweep charts beside [`KEY_METRICS`]: the healthy releases rolled back
/// for another service's bad release, the mistake a system is about.
pub const SYSTEM_KEY_METRIC: &str = "wrong_service_rollbacks";

/// The metrics to chart for a sweep: the key ones present (a system's with
/// [`SYSTEM_KEY_METRIC`]), plus the recommendation's.
pub fn chosen_metrics(s: &Sweep, rec: Option<&Recommendation>) -> Vec<String> {
    let system = s.scope.is_some().then_some(SYSTEM_KEY_METRIC);
    let mut out: Vec<String> = KEY_METRICS
        .iter()
        .copied()
        .chain(system)
        .filter(|m| s.metrics.iter().any(|x| x == m))
        .map(|m| m.to_string())
        .collect();
    if let Some(m) = rec.map(|r| r.metric.clone()).filter(|m| !m.is_empty()) {
        if s.metrics.contains(&m) && !out.contains(&m) {
            out.push(m);
        }
    }
    if out.is_empty() {
        out = s.metrics.iter().take(4).cloned().collect();
    }
    out
}

/// Green for the recommended value: apart from the policy colours.
const RECOMMENDED: RGBColor = RGBColor(0x1b, 0x7f, 0x3b);

/// The sweep-curves chart of a 1-D sweep.
pub fn sweep_chart(
    s: &Sweep,
    rec: Option<&Recommendation>,
    colors: &Colors,
) -> Result<Chart, ReportError> {
    let metrics = chosen_metrics(s, rec);
    let mut items: Vec<LegendItem> = s
        .policies
        .iter()
        .map(|p| {
            let moved = metrics.iter().any(|m| s.varies(p, m));
            if moved {
                LegendItem::new(format!("{p} (mean, 95% band)"), colors.of(p), Mark::Band)
            } else {
                LegendItem::new(format!("{p} (not swept)"), colors.of(p), Mark::Tick)
            }
        })
        .collect();
    let rec_value = rec.filter(|r| r.met).and_then(|r| r.value);
    if let Some(v) = rec_value {
        items.push(LegendItem::new(
            format!("recommended: {} = {}", Sweep::short(&s.param), tick(v)),
            RECOMMENDED,
            Mark::Tick,
        ));
    }
    let bounds = constraints(rec);
    if !bounds.is_empty() {
        items.push(LegendItem::new("constraint", CONSTRAINT, Mark::Dashed));
    }
    // Measured with every item, so that the strip is as tall as the rows it wraps into.
    let w = 1000;
    let cols = 2;
    let legend_h = legend_height(&items, w - 24);
    let h = 50 + legend_h + rows_for(metrics.len(), cols) * 330;
    let title = format!(
        "Outcomes{} as {} varies (mean, 95% band)",
        s.of_whom(),
        Sweep::short(&s.param)
    );
    let mut chart = render_with_hover(&s.chart_id("sweep"), &title, (w, h), |area| {
        let (top, body) = area.split_vertically(legend_h);
        draw_legend(&top, &items)?;
        let mut hovers = Vec::new();
        for (panel, m) in grid(&body, metrics.len(), cols).iter().zip(&metrics) {
            hovers.extend(panel_curves(panel, s, m, rec_value, &bounds, colors)?);
        }
        Ok(hovers)
    })?;
    chart.findings = sweep_findings(s, &metrics, rec);
    Ok(chart)
}

/// Dark red for constraints: apart from the policy colours and the recommendation's green.
const CONSTRAINT: RGBColor = RGBColor(0xb0, 0x20, 0x20);

/// The constraints of a recommendation's objective: (metric, "<=" or ">=", bound), read
/// from its text ("min M s.t. A <= 0.05 and B >= 2").
fn constraints(rec: Option<&Recommendation>) -> Vec<(String, String, f64)> {
    let Some(tail) = rec
        .and_then(|r| r.objective.split_once(" s.t. "))
        .map(|x| x.1)
    else {
        return Vec::new();
    };
    tail.split(" and ")
        .filter_map(|c| {
            let w: Vec<&str> = c.split_whitespace().collect();
            let [m, op, v] = w.as_slice() else {
                return None;
            };
            let metric = m.split('@').next().unwrap_or(m).to_string();
            Some((metric, op.to_string(), v.parse().ok()?))
        })
        .collect()
}

/// A policy's curve: (value, mean, low, high) per point.
type Curve<'a> = (&'a str, Vec<(f64, f64, f64, f64)>);

fn panel_curves(
    area: &Area<'_>,
    s: &Sweep,
    metric: &str,
    rec: Option<f64>,
    bounds: &[(String, String, f64)],
    colors: &Colors,
) -> DrawResult<Vec<Hover>> {
    let m = MetricInfo::of(metric);
    let (xs, _) = s.axes();
    let (x0, x1) = match (xs.first(), xs.last()) {
        (Some(a), Some(b)) if b > a => (*a, *b),
        (Some(a), _) => (a - 0.5, a + 0.5),
        _ => (0.0, 1.0),
    };
    let curves: Vec<Curve<'_>> = s
        .policies
        .iter()
        .map(|p| {
            let c = s
                .curve(p, metric)
                .into_iter()
                .map(|(v, e)| {
                    let (lo, hi) = e.bounds();
                    (v, m.scale(e.mean), m.scale(lo), m.scale(hi))
                })
                .collect();
            (p.as_str(), c)
        })
        .collect();
    // The axis is the swept policies' (their bands and the constraint): a reference
    // policy far off would flatten the curves the sweep is about.
    let swept: Vec<&Curve<'_>> = curves.iter().filter(|c| s.varies(c.0, metric)).collect();
    let scaled: Vec<&Curve<'_>> = if swept.is_empty() {
        curves.iter().collect()
    } else {
        swept
    };
    let here: Vec<(String, f64)> = bounds
        .iter()
        .filter(|b| b.0 == metric)
        .map(|b| (format!("{} {}", b.1, tick(m.scale(b.2))), m.scale(b.2)))
        .collect();
    let lo = scaled
        .iter()
        .flat_map(|c| c.1.iter().map(|p| p.2))
        .chain(here.iter().map(|h| h.1))
        .fold(f64::INFINITY, f64::min);
    let hi = scaled
        .iter()
        .flat_map(|c| c.1.iter().map(|p| p.3))
        .chain(here.iter().map(|h| h.1))
        .fold(f64::NEG_INFINITY, f64::max);
    // Zero stays in view when it is near (rates); a curve far above it (thousands of
    // failed requests moving by a few percent) gets the axis to itself.
    let (y0, y1) = padded(lo, hi, lo <= (hi - lo) * 2.0);
    let unit = if m.percent {
        "% of runs".to_string()
    } else {
        m.unit.clone()
    };
    let mut chart = ChartBuilder::on(area)
        .caption(&m.label, bold(17.0).color(&INK))
        .margin(12)
        .x_label_area_size(50)
        .y_label_area_size(66)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .x_labels(7)
        .y_labels(6)
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .x_desc(Sweep::short(&s.param))
        .y_desc(format!("{} ({unit})", m.label))
        .house_style()
        .draw()?;
    let mut hovers = Vec::new();
    let f = font(12.0);
    // Reference labels: (the pixel row of their value, the value's place, text, colour),
    // spread apart below so that none is drawn over another.
    let mut notes: Vec<(i32, f64, String, RGBColor)> = Vec::new();
    for (p, c) in &curves {
        let col = colors.of(p);
        if !s.varies(p, metric) {
            // A reference: one value, written at the right edge (inside the axis when it
            // fits, as an arrow at the edge when it is off scale).
            let Some(v) = c.first().map(|q| q.1) else {
                continue;
            };
            let (text, y) = if v > y1 {
                (format!("{p}: {} \u{2191}", tick(v)), y1)
            } else if v < y0 {
                (format!("{p}: {} \u{2193}", tick(v)), y0)
            } else {
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(x1 - (x1 - x0) * 0.04, v), (x1, v)],
                    col.stroke_width(3),
                )))?;
                (format!("{p}: {}", tick(v)), v)
            };
            notes.push((chart.backend_coord(&(x1, y)).1, y, text, col));
            continue;
        }
        let mut band: Vec<(f64, f64)> = c.iter().map(|q| (q.0, q.3)).collect();
        band.extend(c.iter().rev().map(|q| (q.0, q.2)));
        chart.draw_series(std::iter::once(Polygon::new(band, col.mix(0.2).filled())))?;
        chart.draw_series(LineSeries::new(
            c.iter().map(|q| (q.0, q.1)),
            col.stroke_width(3),
        ))?;
        chart.draw_series(c.iter().map(|q| Circle::new((q.0, q.1), 3, col.filled())))?;
        for q in c {
            let (hx, hy) = chart.backend_coord(&(q.0, q.1));
            hovers.push(Hover {
                x: hx,
                y: hy,
                text: format!(
                    "{p} at {} = {}: {} [{}, {}] {unit}",
                    Sweep::short(&s.param),
                    tick(q.0),
                    tick(q.1),
                    tick(q.2),
                    tick(q.3)
                ),
            });
        }
    }
    // Each label as near its value as the others allow, 14 pixels apart: pushed down past
    // the ones above it, then up from the axis's foot past the ones below it.
    notes.sort_by_key(|n| n.0);
    let top = chart.backend_coord(&(x1, y1)).1 + 7;
    let bottom = chart.backend_coord(&(x1, y0)).1 - 7;
    let mut rows: Vec<i32> = Vec::with_capacity(notes.len());
    for n in &notes {
        let want = n.0.clamp(top, bottom.max(top));
        rows.push(rows.last().map_or(want, |&prev| want.max(prev + 14)));
    }
    let mut floor = bottom;
    for r in rows.iter_mut().rev() {
        *r = (*r).min(floor);
        floor = *r - 14;
    }
    for ((px, y, text, col), &row) in notes.iter().zip(&rows) {
        chart.draw_series(std::iter::once(
            EmptyElement::at((x1, *y))
                + Text::new(
                    text.clone(),
                    (-4, row - px),
                    f.color(col).pos(Pos::new(HPos::Right, VPos::Center)),
                ),
        ))?;
        let (hx, _) = chart.backend_coord(&(x1, *y));
        hovers.push(Hover {
            x: hx - 10,
            y: row,
            text: format!("{text} ({unit}; not swept)"),
        });
    }
    for (text, v) in &here {
        chart.draw_series(DashedLineSeries::new(
            vec![(x0, *v), (x1, *v)],
            6,
            4,
            CONSTRAINT.stroke_width(2),
        ))?;
        chart.draw_series(std::iter::once(
            EmptyElement::at((x0, *v))
                + Text::new(
                    format!("constraint {text}"),
                    (4, -3),
                    f.color(&CONSTRAINT).pos(Pos::new(HPos::Left, VPos::Bottom)),
                ),
        ))?;
    }
    if let Some(v) = rec {
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(v, y0), (v, y1)],
            RECOMMENDED.stroke_width(2),
        )))?;
    }
    Ok(hovers)
}
