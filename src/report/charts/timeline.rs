//! One run as a timeline: the error rate and p99 of both versions (true lines, observed
//! scrape points), the new version's share of traffic, fault windows shaded, and vertical
//! markers at deploys, promotions, rollbacks and other actions. Three panels share the
//! time axis, so a rollback can be read against what the policy saw and what was true.

use super::{
    bold, draw_legend, legend_height, render, Area, Chart, DrawResult, HouseStyle, LegendItem,
    Mark, INK,
};
use crate::report::findings::{duration, fault_windows, timeline_findings};
use crate::report::inputs::{EventRow, TraceRow};
use crate::report::metrics::tick;
use crate::report::ReportError;
use plotters::prelude::*;

const OLD: RGBColor = RGBColor(0x8a, 0x8a, 0x8a);
const NEW: RGBColor = RGBColor(0x4e, 0x79, 0xa7);
const FAULT: RGBColor = RGBColor(0xf2, 0x8e, 0x2b);
const THRESHOLD: RGBColor = RGBColor(0x6b, 0x2c, 0x00);

/// The colour and legend label of an event kind; kinds not listed get grey.
fn event_style(kind: &str) -> (RGBColor, &'static str) {
    match kind {
        "deploy" => (RGBColor(0x1f, 0x3b, 0x73), "deploy"),
        "promote" => (RGBColor(0x59, 0xa1, 0x4f), "promote"),
        "rollback" => (RGBColor(0xd6, 0x27, 0x28), "rollback decided"),
        "rollback_done" => (RGBColor(0x7b, 0x32, 0x94), "rollback done"),
        "roll_forward" => (RGBColor(0xb0, 0x7a, 0xa1), "roll forward"),
        "flag_off" => (RGBColor(0x76, 0xb7, 0xb2), "flag off"),
        "refused" => (RGBColor(0x00, 0x00, 0x00), "rollback refused"),
        "migration" => (RGBColor(0x9c, 0x75, 0x5f), "migration"),
        _ => (RGBColor(0xba, 0xb0, 0xac), "other event"),
    }
}

/// Kinds drawn as markers; `share` steps show in the traffic panel and faults as shading.
fn marked(kind: &str) -> bool {
    !matches!(kind, "share" | "fault_start" | "fault_end")
}

/// The timeline chart of `trace.csv` and `events.csv`.
/// The thresholds of the traced policy, drawn as dashed lines so a rollback can be read
/// against the rule that made it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Thresholds {
    /// The traced policy's name, for the legend.
    pub policy: String,
    /// `error_rate_above`, as a fraction.
    pub error_rate: Option<f64>,
    /// `latency_p99_above`, in milliseconds.
    pub p99_ms: Option<f64>,
}

/// The timeline chart of `trace.csv` and `events.csv`, with the traced policy's thresholds.
pub fn timeline_chart(
    trace: &[TraceRow],
    events: &[EventRow],
    thresholds: &Thresholds,
) -> Result<Chart, ReportError> {
    let end = trace
        .iter()
        .map(|r| r.t_s)
        .chain(events.iter().map(|e| e.t_s))
        .fold(0.0, f64::max);
    let start = trace
        .iter()
        .map(|r| r.t_s)
        .chain(events.iter().map(|e| e.t_s))
        .fold(end, f64::min);
    let faults = fault_windows(events, trace);
    let mut items = vec![
        LegendItem::new("old version (true)", OLD, Mark::Line),
        LegendItem::new("new version (true)", NEW, Mark::Line),
        LegendItem::new("new version (scraped, what the policy saw)", NEW, Mark::Dot),
    ];
    if !faults.is_empty() {
        items.push(LegendItem::new("fault active", FAULT, Mark::Shade));
    }
    if thresholds.error_rate.is_some() || thresholds.p99_ms.is_some() {
        items.push(LegendItem::new(
            format!("threshold of {} (over its window)", thresholds.policy),
            THRESHOLD,
            Mark::Dashed,
        ));
    }
    let mut kinds: Vec<&str> = Vec::new();
    for e in events.iter().filter(|e| marked(&e.kind)) {
        let label = event_style(&e.kind).1;
        if !kinds.contains(&label) {
            kinds.push(label);
            items.push(LegendItem::new(label, event_style(&e.kind).0, Mark::Tick));
        }
    }
    let (lo, hi) = window(start, end, events, &faults);
    let zoomed = lo > start || hi < end;
    // Keep one row either side of the window so lines run to its edges.
    let first = trace.iter().rposition(|r| r.t_s <= lo).unwrap_or(0);
    let last = trace
        .iter()
        .position(|r| r.t_s >= hi)
        .map(|i| i + 1)
        .unwrap_or(trace.len());
    let trace = &trace[first.min(last)..last];
    let x_desc = if zoomed {
        format!(
            "simulated time (h:mm), zoomed to the events; the run lasts {}",
            duration(end - start)
        )
    } else {
        "simulated time since the start of the run (h:mm)".to_string()
    };
    let w = 1100;
    let legend_h = legend_height(&items, w - 24) + 16;
    let ph = 250;
    let mut chart = render(
        "timeline",
        "One run: what was true, what the policy saw, and what it did",
        (w, 50 + legend_h + 3 * ph + 40),
        |area| {
            let (top, body) = area.split_vertically(legend_h);
            draw_legend(&top, &items)?;
            let (p1, rest) = body.split_vertically(ph);
            let (p2, p3) = rest.split_vertically(ph);
            let ctx = Ctx {
                x: (lo / 60.0, (hi / 60.0).max(lo / 60.0 + 1e-6)),
                x_desc: &x_desc,
                faults: &faults,
                events,
            };
            let pct = |v: Option<f64>| v.map(|x| x * 100.0);
            ctx.panel(
                &p1,
                Spec {
                    title: "Error rate",
                    unit: "%",
                    threshold: thresholds.error_rate.map(|x| x * 100.0),
                    last: false,
                },
                trace,
                [
                    &|r: &TraceRow| pct(r.true_error_rate_old),
                    &|r: &TraceRow| pct(r.true_error_rate_new),
                    &|r: &TraceRow| pct(r.observed_error_rate_new),
                ],
            )?;
            ctx.panel(
                &p2,
                Spec {
                    title: "p99 latency",
                    unit: "ms",
                    threshold: thresholds.p99_ms,
                    last: false,
                },
                trace,
                [
                    &|r: &TraceRow| r.true_p99_old_ms,
                    &|r: &TraceRow| r.true_p99_new_ms,
                    &|r: &TraceRow| r.observed_p99_new_ms,
                ],
            )?;
            ctx.panel(
                &p3,
                Spec {
                    title: "Traffic on the new version",
                    unit: "%",
                    threshold: None,
                    last: true,
                },
                trace,
                [
                    &|_: &TraceRow| None,
                    &|r: &TraceRow| pct(r.share_new),
                    &|_: &TraceRow| None,
                ],
            )?;
            Ok(())
        },
    )?;
    chart.findings = timeline_findings(trace, events);
    Ok(chart)
}

/// The time window worth showing: the events and faults with room around them, or the
/// whole run when they fill most of it anyway.
fn window(start: f64, end: f64, events: &[EventRow], faults: &[(f64, f64, String)]) -> (f64, f64) {
    let times = events
        .iter()
        .filter(|e| e.kind != "share")
        .map(|e| e.t_s)
        .chain(faults.iter().flat_map(|f| [f.0, f.1]));
    let (a, b) = times.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), t| {
        (a.min(t), b.max(t))
    });
    if !a.is_finite() {
        return (start, end);
    }
    let pad = ((b - a) * 0.25).max(15.0 * 60.0);
    let (lo, hi) = ((a - pad).max(start), (b + pad).min(end));
    if hi - lo > 0.7 * (end - start) {
        (start, end)
    } else {
        (lo, hi)
    }
}

/// Minutes as `h:mm` for the time axis.
fn hmm(minutes: f64) -> String {
    let m = minutes.round().max(0.0) as u64;
    format!("{}:{:02}", m / 60, m % 60)
}

struct Ctx<'a> {
    /// The time range in minutes.
    x: (f64, f64),
    x_desc: &'a str,
    faults: &'a [(f64, f64, String)],
    events: &'a [EventRow],
}

type Series<'f> = &'f dyn Fn(&TraceRow) -> Option<f64>;

/// What one panel shows besides its series.
struct Spec {
    title: &'static str,
    unit: &'static str,
    /// A horizontal dashed line, in the panel's unit.
    threshold: Option<f64>,
    /// The bottom panel carries the time axis title.
    last: bool,
}

impl Ctx<'_> {
    /// One panel: old and new true values as lines (broken where absent), observed values
    /// as points, faults shaded, events as vertical lines. `last` gets the time axis title.
    fn panel(
        &self,
        area: &Area<'_>,
        Spec {
            title,
            unit,
            threshold,
            last,
        }: Spec,
        trace: &[TraceRow],
        [old, new, seen]: [Series<'_>; 3],
    ) -> DrawResult<()> {
        let vals = trace
            .iter()
            .flat_map(|r| [old(r), new(r), seen(r)])
            .chain(std::iter::once(threshold))
            .flatten()
            .filter(|v| v.is_finite());
        let hi = vals.fold(0.0, f64::max);
        let y1 = if unit == "%" && title.starts_with("Traffic") {
            105.0
        } else if hi > 0.0 {
            hi * 1.1
        } else {
            1.0
        };
        let mut chart = ChartBuilder::on(area)
            .caption(format!("{title} ({unit})"), bold(16.0).color(&INK))
            .margin_left(12)
            .margin_right(16)
            .margin_top(4)
            .x_label_area_size(if last { 52 } else { 26 })
            .y_label_area_size(66)
            .build_cartesian_2d(self.x.0..self.x.1, 0.0..y1)?;
        let mut mesh = chart.configure_mesh();
        mesh.x_labels(12)
            .y_labels(5)
            .x_label_formatter(&|v| hmm(*v))
            .y_label_formatter(&|v| tick(*v))
            .y_desc(unit)
            .house_style();
        if last {
            mesh.x_desc(self.x_desc);
        }
        mesh.draw()?;
        let (x0, x1) = self.x;
        for (s, e, _) in self.faults {
            let (s, e) = ((s / 60.0).max(x0), (e / 60.0).min(x1));
            if s >= e {
                continue;
            }
            chart.draw_series(std::iter::once(Rectangle::new(
                [(s, 0.0), (e, y1)],
                FAULT.mix(0.18).filled(),
            )))?;
        }
        for e in self.events.iter().filter(|e| marked(&e.kind)) {
            let x = e.t_s / 60.0;
            if x < x0 || x > x1 {
                continue;
            }
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x, 0.0), (x, y1)],
                event_style(&e.kind).0.stroke_width(2),
            )))?;
        }
        for (f, col, width) in [(old, OLD, 2), (new, NEW, 2)] {
            // Break the line where a value is absent rather than join across the gap.
            let mut run: Vec<(f64, f64)> = Vec::new();
            for r in trace {
                match f(r) {
                    Some(v) if v.is_finite() => run.push((r.t_s / 60.0, v)),
                    _ => {
                        if run.len() > 1 {
                            chart.draw_series(LineSeries::new(
                                std::mem::take(&mut run),
                                col.stroke_width(width),
                            ))?;
                        }
                        run.clear();
                    }
                }
            }
            if run.len() > 1 {
                chart.draw_series(LineSeries::new(run, col.stroke_width(width)))?;
            }
        }
        if let Some(y) = threshold.filter(|y| y.is_finite()) {
            chart.draw_series(DashedLineSeries::new(
                [(x0, y), (x1, y)],
                10,
                6,
                THRESHOLD.stroke_width(2),
            ))?;
        }
        chart.draw_series(trace.iter().filter_map(|r| {
            seen(r)
                .filter(|v| v.is_finite())
                .map(|v| Circle::new((r.t_s / 60.0, v), 3, NEW.filled()))
        }))?;
        Ok(())
    }
}
