//! The trade-off every rollback rule makes: false-positive rollbacks against missed bad
//! releases, and against downtime. One point per policy with its 95% intervals on both
//! axes; the Pareto front (policies no other policy beats on both) is joined by a dashed
//! line, and policies off it are drawn hollow.

use super::{
    bold, draw_legend, font, legend_height, padded, render_with_hover, text_width, Area, Chart,
    Colors, DrawResult, HouseStyle, Hover, LegendItem, Mark, NumericAxes, INK,
};
use crate::report::findings::{pareto_front, tradeoff_findings, Refs};
use crate::report::metrics::{tick, MetricInfo};
use crate::report::tables::EstimateTable;
use crate::report::ReportError;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

const X: &str = "false_positive_rollbacks";
const YS: [&str; 2] = ["missed_bad_release", "downtime_s"];

/// The trade-off chart, if the summary has false positives and at least one of the y
/// metrics for two or more policies.
/// References are drawn as diamonds and left off the front: oracles (the best possible)
/// and policies that never act (what doing nothing costs).
pub fn tradeoff_chart(
    t: &EstimateTable,
    colors: &Colors,
    refs: &Refs,
) -> Result<Option<Chart>, ReportError> {
    let ys: Vec<&str> = YS
        .iter()
        .copied()
        .filter(|y| {
            t.policies
                .iter()
                .filter(|p| t.get(p, X).is_some() && t.get(p, y).is_some())
                .count()
                >= 2
        })
        .collect();
    if ys.is_empty() {
        return Ok(None);
    }
    let mut items: Vec<LegendItem> = t
        .policies
        .iter()
        .map(|p| {
            if refs.is_bound(p) {
                LegendItem::new(
                    format!("{p} (knows the truth: a reference)"),
                    colors.of(p),
                    Mark::Diamond,
                )
            } else if !refs.ranked(p) {
                LegendItem::new(
                    format!("{p} (never acts: a reference)"),
                    colors.of(p),
                    Mark::Diamond,
                )
            } else {
                LegendItem::new(p.clone(), colors.of(p), Mark::Dot)
            }
        })
        .collect();
    items.push(LegendItem::new("Pareto front", INK, Mark::Dashed));
    items.push(LegendItem::new(
        "off the front (another policy is better on both)",
        INK,
        Mark::Ring,
    ));
    let w = 1000;
    let legend_h = legend_height(&items, w - 24);
    let mut chart = render_with_hover(
        "tradeoff",
        "False positives against misses and downtime (lower left is better)",
        (w, 50 + legend_h + 460),
        |area| {
            let (top, body) = area.split_vertically(legend_h);
            draw_legend(&top, &items)?;
            let panels = body.split_evenly((1, ys.len()));
            let mut hovers = Vec::new();
            for (panel, y) in panels.iter().zip(&ys) {
                hovers.extend(panel_tradeoff(panel, t, y, colors, refs)?);
            }
            Ok(hovers)
        },
    )?;
    chart.findings = ys
        .iter()
        .flat_map(|y| tradeoff_findings(t, X, y, refs))
        .collect();
    Ok(Some(chart))
}

struct Point<'a> {
    policy: &'a str,
    x: (f64, f64, f64),
    y: (f64, f64, f64),
}

fn panel_tradeoff(
    area: &Area<'_>,
    t: &EstimateTable,
    y: &str,
    colors: &Colors,
    refs: &Refs,
) -> DrawResult<Vec<Hover>> {
    let (xm, ym) = (MetricInfo::of(X), MetricInfo::of(y));
    let pts: Vec<Point<'_>> = t
        .policies
        .iter()
        .filter_map(|p| {
            let (ex, ey) = (t.get(p, X)?, t.get(p, y)?);
            let ((xl, xh), (yl, yh)) = (ex.bounds(), ey.bounds());
            Some(Point {
                policy: p,
                x: (xm.scale(ex.mean), xm.scale(xl), xm.scale(xh)),
                y: (ym.scale(ey.mean), ym.scale(yl), ym.scale(yh)),
            })
        })
        .collect();
    let is_ref: Vec<bool> = pts.iter().map(|p| !refs.ranked(p.policy)).collect();
    let front = pareto_front(
        &pts.iter()
            .zip(&is_ref)
            .map(|(p, r)| (!r).then_some((p.x.0, p.y.0)))
            .collect::<Vec<_>>(),
    );
    let fold = |f: fn(&Point<'_>) -> f64, init: f64, g: fn(f64, f64) -> f64| {
        pts.iter().map(f).fold(init, g)
    };
    let (x0, x1) = padded(
        fold(|p| p.x.1, f64::INFINITY, f64::min),
        fold(|p| p.x.2, f64::NEG_INFINITY, f64::max),
        true,
    );
    let (y0, y1) = padded(
        fold(|p| p.y.1, f64::INFINITY, f64::min),
        fold(|p| p.y.2, f64::NEG_INFINITY, f64::max),
        true,
    );
    // Room on the right and top for labels of the outermost points.
    let (x1, y1) = (x1 + (x1 - x0) * 0.12, y1 + (y1 - y0) * 0.06);
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!("{} vs {}", ym.label, xm.label.to_lowercase()),
            bold(17.0).color(&INK),
        )
        .margin(12)
        .x_label_area_size(52)
        .y_label_area_size(66)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .numeric_axes(xm.axis_label(), ym.axis_label())
        .house_style()
        .draw()?;

    // The front as a staircase: from each front point, across then down to the next.
    let mut on: Vec<(f64, f64)> = pts
        .iter()
        .zip(&front)
        .filter(|(_, f)| **f)
        .map(|(p, _)| (p.x.0, p.y.0))
        .collect();
    on.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
    let mut stair = Vec::new();
    for (i, p) in on.iter().enumerate() {
        if i > 0 {
            stair.push((p.0, on[i - 1].1));
        }
        stair.push(*p);
    }
    if stair.len() > 1 {
        chart.draw_series(DashedLineSeries::new(
            stair.clone(),
            8,
            5,
            INK.mix(0.7).stroke_width(2),
        ))?;
    }

    for ((p, f), r) in pts.iter().zip(&front).zip(&is_ref) {
        let c = colors.of(p.policy);
        let s = c.stroke_width(2);
        chart.draw_series([
            PathElement::new(vec![(p.x.1, p.y.0), (p.x.2, p.y.0)], s),
            PathElement::new(vec![(p.x.0, p.y.1), (p.x.0, p.y.2)], s),
        ])?;
        let at = (p.x.0, p.y.0);
        if *r {
            let d = vec![(0, -9), (9, 0), (0, 9), (-9, 0)];
            chart.draw_series(std::iter::once(
                EmptyElement::at(at) + Polygon::new(d.clone(), c.filled()),
            ))?;
            chart.draw_series(std::iter::once(
                EmptyElement::at(at) + PathElement::new([d, vec![(0, -9)]].concat(), INK),
            ))?;
        } else if *f {
            chart.draw_series(std::iter::once(Circle::new(at, 7, c.filled())))?;
            chart.draw_series(std::iter::once(Circle::new(at, 7, INK.stroke_width(1))))?;
        } else {
            chart.draw_series(std::iter::once(Circle::new(at, 7, WHITE.filled())))?;
            chart.draw_series(std::iter::once(Circle::new(at, 7, c.stroke_width(3))))?;
        }
    }

    // Labels: try right, left, above, below each point; skip a label that would collide
    // (the legend still names every colour).
    let f = font(14.0);
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    let centres: Vec<(i32, i32)> = pts
        .iter()
        .map(|p| chart.backend_coord(&(p.x.0, p.y.0)))
        .collect();
    // Markers (with a margin): no label may cover one.
    let markers: Vec<(i32, i32, i32, i32)> = centres
        .iter()
        .map(|(x, y)| (x - 10, y - 10, x + 10, y + 10))
        .collect();
    let mut taken = markers.clone();
    // The front's segments, and the whiskers, so a label never sits on a line.
    for w in stair.windows(2) {
        let (a, b) = (chart.backend_coord(&w[0]), chart.backend_coord(&w[1]));
        taken.push((
            a.0.min(b.0) - 2,
            a.1.min(b.1) - 2,
            a.0.max(b.0) + 2,
            a.1.max(b.1) + 2,
        ));
    }
    for p in &pts {
        let (a, b) = (
            chart.backend_coord(&(p.x.1, p.y.0)),
            chart.backend_coord(&(p.x.2, p.y.0)),
        );
        taken.push((a.0.min(b.0), a.1 - 2, a.0.max(b.0), a.1 + 2));
        let (a, b) = (
            chart.backend_coord(&(p.x.0, p.y.1)),
            chart.backend_coord(&(p.x.0, p.y.2)),
        );
        taken.push((a.0 - 2, a.1.min(b.1), a.0 + 2, a.1.max(b.1)));
    }
    // Points that land on the same pixel share one label ("a = b"), or one would hide the
    // other without a word.
    let mut groups: Vec<(usize, String)> = Vec::new();
    for (i, p) in pts.iter().enumerate() {
        let (cx, cy) = centres[i];
        match groups.iter_mut().find(|(j, _)| {
            let (x, y) = centres[*j];
            (x - cx).abs() <= 3 && (y - cy).abs() <= 3
        }) {
            Some((_, name)) => *name = format!("{name} = {}", p.policy),
            None => groups.push((i, p.policy.to_string())),
        }
    }
    let mut labels: Vec<(i32, i32, i32, i32)> = Vec::new();
    for (i, name) in groups {
        let p = &pts[i];
        let (cx, cy) = centres[i];
        let w = text_width(&name, &f);
        let h = 16;
        let options = [
            (cx + 11, cy - h / 2, HPos::Left, VPos::Center, (11, 0)),
            (cx - 11 - w, cy - h / 2, HPos::Right, VPos::Center, (-11, 0)),
            (
                cx - w / 2,
                cy - 11 - h,
                HPos::Center,
                VPos::Bottom,
                (0, -11),
            ),
            (cx - w / 2, cy + 11, HPos::Center, VPos::Top, (0, 11)),
            (cx + 9, cy - 9 - h, HPos::Left, VPos::Bottom, (9, -9)),
            (cx + 9, cy + 9, HPos::Left, VPos::Top, (9, 9)),
            (cx - 9 - w, cy - 9 - h, HPos::Right, VPos::Bottom, (-9, -9)),
            (cx - 9 - w, cy + 9, HPos::Right, VPos::Top, (-9, 9)),
        ];
        let clear = |b: &(i32, i32, i32, i32), set: &[(i32, i32, i32, i32)]| {
            set.iter()
                .all(|t| b.2 < t.0 || t.2 < b.0 || b.3 < t.1 || t.3 < b.1)
        };
        let inside = |b: &(i32, i32, i32, i32)| {
            b.0 >= xr.start && b.2 <= xr.end && b.1 >= yr.start && b.3 <= yr.end
        };
        let boxes = options.map(|(bx, by, hp, vp, off)| ((bx, by, bx + w, by + h), hp, vp, off));
        // Best: clear of lines, markers and labels; else clear of markers and labels (a
        // label may cross a line, but never a marker, another label or the chart's edge).
        // With no room at all the label is left out: the legend names every colour and
        // the point's hover text names its policy.
        let pick = boxes
            .iter()
            .find(|(b, ..)| inside(b) && clear(b, &taken) && clear(b, &labels))
            .or_else(|| {
                boxes
                    .iter()
                    .find(|(b, ..)| inside(b) && clear(b, &markers) && clear(b, &labels))
            });
        if let Some((b, hp, vp, off)) = pick {
            taken.push(*b);
            labels.push(*b);
            chart.draw_series(std::iter::once(
                EmptyElement::at((p.x.0, p.y.0))
                    + Text::new(name.clone(), *off, f.color(&INK).pos(Pos::new(*hp, *vp))),
            ))?;
        }
    }
    let hovers = pts
        .iter()
        .zip(&centres)
        .map(|(p, &(x, y))| Hover {
            x,
            y,
            text: format!(
                "{}: {} {} [{}, {}]{}; {} {} [{}, {}]{}",
                p.policy,
                xm.label,
                tick(p.x.0),
                tick(p.x.1),
                tick(p.x.2),
                unit_of(&xm),
                ym.label,
                tick(p.y.0),
                tick(p.y.1),
                tick(p.y.2),
                unit_of(&ym)
            ),
        })
        .collect();
    Ok(hovers)
}

/// The unit after a hover value: "%" for shares of runs, " s per run" and the like.
fn unit_of(m: &MetricInfo) -> String {
    if m.percent {
        "%".into()
    } else if m.unit.is_empty() {
        String::new()
    } else {
        format!(" {}", m.unit)
    }
}
