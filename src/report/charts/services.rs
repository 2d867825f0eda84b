//! Two charts of a system of services: the service graph (services as boxes in columns by
//! call depth, calls as arrows, each box coloured by the harm the policy did there: its
//! healthy releases rolled back per run) and the rollbacks of one traced run by service
//! (a row per service that was rolled back, a marker per policy's rollback, deploys as
//! ticks, fault windows shaded).

use super::{
    draw_legend, font, legend_height, render_with_hover, text_width, Area, Chart, Colors,
    DrawResult, HouseStyle, Hover, LegendItem, Mark, INK,
};
use crate::report::metrics::tick;
use crate::report::ranking::Ranking;
use crate::report::system::{ServiceEventRow, SystemGraph};
use crate::report::tables::EstimateTable;
use crate::report::ReportError;
use plotters::prelude::*;

/// The harm a box's colour shows: healthy releases rolled back per run.
pub const HARM: &str = "false_positive_rollbacks";
const LOW: RGBColor = RGBColor(0xf7, 0xf4, 0xf0);
const HIGH: RGBColor = RGBColor(0xc0, 0x1f, 0x1f);
const FAULT: RGBColor = RGBColor(0xf2, 0x8e, 0x2b);
const DEPLOY: RGBColor = RGBColor(0x1f, 0x3b, 0x73);
const EDGE: RGBColor = RGBColor(0x55, 0x55, 0x55);

/// The colour of `v` on the harm scale whose top is `max` (white to red).
pub fn harm_color(v: f64, max: f64) -> RGBColor {
    let f = if max > 0.0 && v.is_finite() {
        (v / max).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * f).round() as u8;
    RGBColor(mix(LOW.0, HIGH.0), mix(LOW.1, HIGH.1), mix(LOW.2, HIGH.2))
}

/// The policies of a system's summary: the rows not named `policy@service`.
pub fn system_policies(t: &EstimateTable) -> Vec<String> {
    t.policies
        .iter()
        .filter(|p| !p.contains('@'))
        .cloned()
        .collect()
}

/// Pixel layout of the graph: each service's box (left, top) in a `w` x `h` area, and the
/// box size.
struct Layout {
    boxes: Vec<(i32, i32)>,
    size: (i32, i32),
    labels: bool,
}

fn layout(g: &SystemGraph, w: i32, h: i32) -> Layout {
    let depth = g.depths();
    let cols = depth.iter().max().map_or(1, |d| d + 1);
    let mut count = vec![0usize; cols];
    let mut slot = vec![0usize; depth.len()];
    for (i, &d) in depth.iter().enumerate() {
        slot[i] = count[d];
        count[d] += 1;
    }
    let rows = count.iter().copied().max().unwrap_or(1).max(1);
    let col_w = w / cols as i32;
    let row_h = (h / rows as i32).max(1);
    let bw = (col_w * 3 / 5).clamp(8, 200);
    let bh = (row_h * 7 / 10).clamp(2, 40);
    let boxes = depth
        .iter()
        .zip(&slot)
        .map(|(&d, &k)| {
            // Centre a short column vertically.
            let top = (h - count[d] as i32 * row_h) / 2;
            (
                d as i32 * col_w + (col_w - bw) / 2,
                top + k as i32 * row_h + (row_h - bh) / 2,
            )
        })
        .collect();
    Layout {
        boxes,
        size: (bw, bh),
        labels: bh >= 16,
    }
}

/// One service graph per policy of a system's summary, all on one harm scale so they can
/// be compared; empty when the summary has no per-service rows. With a `ranking` (a
/// fleet), each policy's graph holds only the services ranked for it.
pub fn graph_charts(
    g: &SystemGraph,
    t: &EstimateTable,
    ranking: Option<&Ranking>,
) -> Result<Vec<Chart>, ReportError> {
    let policies = system_policies(t);
    let harm = |p: &str, s: &str| t.get(&format!("{p}@{s}"), HARM).map(|e| e.mean);
    let max = policies
        .iter()
        .flat_map(|p| g.services.iter().filter_map(|s| harm(p, &s.name)))
        .fold(0.0, f64::max);
    if g.services.is_empty()
        || !policies
            .iter()
            .any(|p| harm(p, &g.services[0].name).is_some())
    {
        return Ok(Vec::new());
    }
    let w = 1100;
    let mut out = Vec::with_capacity(policies.len());
    for (k, p) in policies.iter().enumerate() {
        let mine;
        let (g, title) = match ranking {
            Some(r) => {
                mine = g.restricted(r.kept(p));
                let title = format!(
                    "Service graph under {p}: its {} most harmed of {} services",
                    mine.services.len(),
                    r.services
                );
                (&mine, title)
            }
            None => (
                g,
                format!("Service graph under {p}: healthy releases rolled back per run"),
            ),
        };
        let rows = {
            let d = g.depths();
            let cols = d.iter().max().map_or(1, |m| m + 1);
            (0..cols)
                .map(|c| d.iter().filter(|&&x| x == c).count())
                .max()
                .unwrap_or(1)
        };
        let body_h = (rows as i32 * 52).clamp(160, 1400);
        let chart = render_with_hover(
            &format!("service-graph-{}", k + 1),
            &title,
            (w as u32, body_h as u32 + 110),
            |area| {
                let (top, body) = area.split_vertically(56);
                scale_legend(&top, max)?;
                draw_graph(&body, g, p, &harm, max, t)
            },
        )?;
        out.push(chart);
    }
    Ok(out)
}

/// The colour scale above the graph: a ramp from 0 to `max` and what boxes and arrows mean.
fn scale_legend(area: &Area<'_>, max: f64) -> DrawResult<()> {
    let f = font(14.0);
    let label = "healthy releases rolled back per run (mean):";
    area.draw(&Text::new(label, (4, 8), f.color(&INK)))?;
    let x0 = text_width(label, &f) + 16;
    let steps = 40;
    for i in 0..steps {
        let v = max * f64::from(i) / f64::from(steps - 1);
        let x = x0 + i * 5;
        area.draw(&Rectangle::new(
            [(x, 6), (x + 5, 22)],
            harm_color(v, max).filled(),
        ))?;
    }
    area.draw(&Text::new("0", (x0, 26), font(12.0).color(&INK)))?;
    let top = tick(max);
    let tw = text_width(&top, &font(12.0));
    area.draw(&Text::new(
        top,
        (x0 + steps * 5 - tw, 26),
        font(12.0).color(&INK),
    ))?;
    let note =
        "columns: callers left of callees; arrows: calls (share of requests); thick border: entry";
    area.draw(&Text::new(
        note,
        (x0 + steps * 5 + 24, 8),
        font(13.0).color(&INK),
    ))?;
    Ok(())
}

fn draw_graph(
    area: &Area<'_>,
    g: &SystemGraph,
    policy: &str,
    harm: &dyn Fn(&str, &str) -> Option<f64>,
    max: f64,
    t: &EstimateTable,
) -> DrawResult<Vec<Hover>> {
    let (w, h) = area.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    let l = layout(g, w, h);
    let (bw, bh) = l.size;
    let base = area.get_base_pixel();
    let edges: usize = g.services.iter().map(|s| s.calls.len()).sum();
    let faint = edges > 120;
    let f = font(11.0);
    for (i, s) in g.services.iter().enumerate() {
        let (x, y) = l.boxes[i];
        for c in &s.calls {
            let Some(j) = g.services.iter().position(|x| x.name == c.service) else {
                continue;
            };
            let (cx, cy) = l.boxes[j];
            let from = (x + bw, y + bh / 2);
            let to = (cx, cy + bh / 2);
            let style = if faint {
                EDGE.mix(0.12).stroke_width(1)
            } else {
                EDGE.mix(0.7)
                    .stroke_width(1 + (c.fraction * 2.0).round() as u32)
            };
            area.draw(&PathElement::new(vec![from, to], style))?;
            if !faint {
                // An arrow head at the callee, pointing along the call.
                let (dx, dy) = (f64::from(to.0 - from.0), f64::from(to.1 - from.1));
                let len = (dx * dx + dy * dy).sqrt().max(1.0);
                let (ux, uy) = (dx / len, dy / len);
                let p = |a: f64, b: f64| {
                    (
                        (f64::from(to.0) - ux * a + uy * b).round() as i32,
                        (f64::from(to.1) - uy * a - ux * b).round() as i32,
                    )
                };
                area.draw(&Polygon::new(
                    vec![to, p(10.0, 5.0), p(10.0, -5.0)],
                    EDGE.filled(),
                ))?;
                if l.labels {
                    let mid = ((from.0 + to.0) / 2, (from.1 + to.1) / 2 - 14);
                    let retry = if c.retries > 0 {
                        format!(
                            ", {} retr{}",
                            c.retries,
                            if c.retries == 1 { "y" } else { "ies" }
                        )
                    } else {
                        String::new()
                    };
                    area.draw(&Text::new(
                        format!("{}{retry}", tick(c.fraction)),
                        mid,
                        f.color(&INK),
                    ))?;
                }
            }
        }
    }
    let mut hovers = Vec::with_capacity(g.services.len());
    for (i, s) in g.services.iter().enumerate() {
        let (x, y) = l.boxes[i];
        let v = harm(policy, &s.name);
        let fill = v.map_or(WHITE, |v| harm_color(v, max));
        area.draw(&Rectangle::new([(x, y), (x + bw, y + bh)], fill.filled()))?;
        let border = if s.entry { 3 } else { 1 };
        area.draw(&Rectangle::new(
            [(x, y), (x + bw, y + bh)],
            INK.stroke_width(border),
        ))?;
        let key = format!("{policy}@{}", s.name);
        let wrong = t.get(&key, "wrong_service_rollbacks").map(|e| e.mean);
        let failed = t.get(&key, "failed_requests").map(|e| e.mean);
        if l.labels {
            let name_f = font(if bh >= 30 { 13.0 } else { 11.0 });
            let mut name = s.name.clone();
            while name.chars().count() > 3 && text_width(&name, &name_f) > bw - 8 {
                name.pop();
            }
            let dark = v.is_some_and(|v| max > 0.0 && v / max > 0.6);
            let ink = if dark { WHITE } else { INK };
            area.draw(&Text::new(name, (x + 4, y + 3), name_f.color(&ink)))?;
            if bh >= 30 {
                let line = v.map_or("no rows".to_string(), |v| format!("{} /run", tick(v)));
                area.draw(&Text::new(line, (x + 4, y + 18), font(11.0).color(&ink)))?;
            }
        }
        let mut text = format!(
            "{}: healthy releases rolled back {}/run",
            s.name,
            v.map_or("-".into(), tick)
        );
        if let Some(w) = wrong {
            text += &format!(", wrong service {}", tick(w));
        }
        if let Some(f) = failed {
            text += &format!(", failed requests {}/run", tick(f));
        }
        if let Some(z) = &s.zone {
            text += &format!(", zone {z}");
        }
        hovers.push(Hover {
            x: base.0 + x + bw / 2,
            y: base.1 + y + bh / 2,
            text,
        });
    }
    Ok(hovers)
}

/// The time of the first rollback in `events` of `service`, if any.
fn first_rollback(events: &[ServiceEventRow], service: &str) -> Option<f64> {
    events
        .iter()
        .filter(|e| e.service == service && e.kind == "rollback")
        .map(|e| e.t_s)
        .reduce(f64::min)
}

/// At most this many services get a row; the others are counted in the chart's caption.
pub const MAX_ROWS: usize = 40;

/// The rollbacks of one traced run by service, every policy in its report colour; `None`
/// when no policy rolled anything back in it.
pub fn rollback_timeline(
    events: &[ServiceEventRow],
    colors: &Colors,
) -> Result<Option<Chart>, ReportError> {
    let mut services: Vec<&str> = Vec::new();
    for e in events.iter().filter(|e| e.kind == "rollback") {
        if !services.contains(&e.service.as_str()) {
            services.push(&e.service);
        }
    }
    if services.is_empty() {
        return Ok(None);
    }
    services.sort_by(|a, b| {
        let (x, y) = (first_rollback(events, a), first_rollback(events, b));
        x.unwrap_or(f64::MAX).total_cmp(&y.unwrap_or(f64::MAX))
    });
    let hidden = services.len().saturating_sub(MAX_ROWS);
    services.truncate(MAX_ROWS);
    let mut policies: Vec<&str> = Vec::new();
    for e in events {
        if !policies.contains(&e.policy.as_str()) {
            policies.push(&e.policy);
        }
    }
    let rolled = |p: &str| events.iter().any(|e| e.policy == p && e.kind == "rollback");
    let shown = |e: &&ServiceEventRow| services.contains(&e.service.as_str());
    let times = events
        .iter()
        .filter(shown)
        .filter(|e| matches!(e.kind.as_str(), "rollback" | "deploy" | "fault_start"))
        .map(|e| e.t_s);
    let (a, b) = times.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), t| {
        (a.min(t), b.max(t))
    });
    let pad = ((b - a) * 0.1).max(300.0);
    let (lo, hi) = (((a - pad) / 60.0).max(0.0), (b + pad) / 60.0);
    let run = events.first().map_or(0, |e| e.run);
    let mut items = vec![LegendItem::new("deploy", DEPLOY, Mark::Tick)];
    if events.iter().any(|e| e.kind == "fault_start") {
        items.push(LegendItem::new("fault active", FAULT, Mark::Shade));
    }
    for p in policies.iter().filter(|p| rolled(p)) {
        items.push(LegendItem::new(
            format!("rollback by {p}"),
            colors.of(p),
            Mark::Dot,
        ));
    }
    let w = 1100u32;
    let legend_h = legend_height(&items, w - 24) + 16;
    let label_w = services
        .iter()
        .map(|s| text_width(s, &font(13.0)))
        .max()
        .unwrap_or(40)
        .clamp(40, 260);
    let rows = services.len() as u32;
    let row_h = 30u32;
    let title = format!("Which service was rolled back when (run {run})");
    let mut chart = render_with_hover(
        "service-rollbacks",
        &title,
        (w, 50 + legend_h + rows * row_h + 70),
        |area| {
            let (top, body) = area.split_vertically(legend_h);
            draw_legend(&top, &items)?;
            let mut c = ChartBuilder::on(&body)
                .margin_left(8)
                .margin_right(16)
                .x_label_area_size(44)
                .y_label_area_size(label_w + 12)
                .build_cartesian_2d(lo..hi.max(lo + 1.0), 0.0..f64::from(rows))?;
            c.configure_mesh()
                .x_labels(12)
                .y_labels(0)
                .x_label_formatter(&|v| {
                    let m = v.round().max(0.0) as u64;
                    format!("{}:{:02}", m / 60, m % 60)
                })
                .x_desc("simulated time since the start of the run (h:mm)")
                .house_style()
                .draw()?;
            let row_of = |s: &str| services.iter().position(|x| *x == s);
            // Row i from the top: y from rows - i - 1 to rows - i.
            let band = |i: usize| {
                let y1 = f64::from(rows) - i as f64;
                (y1 - 1.0, y1)
            };
            for (i, s) in services.iter().enumerate() {
                let (y0, y1) = band(i);
                // Faults of this service, from the first policy's events (every policy
                // meets the same faults).
                let mine = events
                    .iter()
                    .filter(|e| e.policy == policies[0] && e.service == *s);
                let mut open: Option<f64> = None;
                for e in mine {
                    match e.kind.as_str() {
                        "fault_start" => open = open.or(Some(e.t_s)),
                        "fault_end" => {
                            if let Some(st) = open.take() {
                                c.draw_series(std::iter::once(Rectangle::new(
                                    [(st / 60.0, y0), (e.t_s / 60.0, y1)],
                                    FAULT.mix(0.25).filled(),
                                )))?;
                            }
                        }
                        _ => {}
                    }
                }
                if let Some(st) = open {
                    c.draw_series(std::iter::once(Rectangle::new(
                        [(st / 60.0, y0), (hi, y1)],
                        FAULT.mix(0.25).filled(),
                    )))?;
                }
                c.draw_series(std::iter::once(PathElement::new(
                    vec![(lo, y0), (hi, y0)],
                    INK.mix(0.1),
                )))?;
            }
            let mut hovers = Vec::new();
            for e in events {
                let Some(i) = row_of(&e.service) else {
                    continue;
                };
                let (y0, y1) = band(i);
                let x = e.t_s / 60.0;
                if x < lo || x > hi {
                    continue;
                }
                match e.kind.as_str() {
                    "deploy" if e.policy == policies[0] => {
                        c.draw_series(std::iter::once(PathElement::new(
                            vec![(x, y0 + 0.1), (x, y1 - 0.1)],
                            DEPLOY.stroke_width(2),
                        )))?;
                    }
                    "rollback" => {
                        let k = policies.iter().position(|p| *p == e.policy).unwrap_or(0);
                        let y = y1 - (k as f64 + 1.0) / (policies.len() as f64 + 1.0);
                        c.draw_series(std::iter::once(Circle::new(
                            (x, y),
                            5,
                            colors.of(&e.policy).filled(),
                        )))?;
                        let (px, py) = c.backend_coord(&(x, y));
                        hovers.push(Hover {
                            x: px,
                            y: py,
                            text: format!(
                                "{} rolled back {} at {}",
                                e.policy,
                                e.service,
                                crate::report::findings::clock(e.t_s)
                            ),
                        });
                    }
                    _ => {}
                }
            }
            // Service names beside their rows, in the label area.
            let base = body.get_base_pixel();
            for (i, s) in services.iter().enumerate() {
                let (y0, y1) = band(i);
                let (_, py) = c.backend_coord(&(lo, (y0 + y1) / 2.0));
                let (px, _) = c.backend_coord(&(lo, y0));
                let tw = text_width(s, &font(13.0));
                body.draw(&Text::new(
                    s.to_string(),
                    (px - base.0 - tw - 8, py - base.1 - 7),
                    font(13.0).color(&INK),
                ))?;
            }
            Ok(hovers)
        },
    )?;
    let mut findings = Vec::new();
    for p in &policies {
        let n = events
            .iter()
            .filter(|e| e.policy == *p && e.kind == "rollback")
            .count();
        findings.push(format!("{p} rolled back {n} time(s) in run {run}."));
    }
    if hidden > 0 {
        findings.push(format!(
            "{hidden} more service(s) were rolled back; the chart shows the first {MAX_ROWS}."
        ));
    }
    chart.findings = findings;
    Ok(Some(chart))
}
