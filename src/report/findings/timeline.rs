//! Findings of one traced run: when the release went out, what was decided, and the
//! fault windows behind the timeline chart.

use super::*;

/// A single run: when the release was deployed and acted on, the faults it met, and how
/// high the new version's true error rate went.
pub fn timeline_findings(trace: &[TraceRow], events: &[EventRow]) -> Vec<String> {
    let mut out = Vec::new();
    let deploy = events.iter().find(|e| e.kind == "deploy");
    let action = events.iter().find(|e| {
        matches!(
            e.kind.as_str(),
            "rollback" | "roll_forward" | "flag_off" | "refused"
        )
    });
    let promote = events.iter().find(|e| e.kind == "promote");
    match (deploy, action) {
        (Some(d), Some(a)) => {
            let what = match a.kind.as_str() {
                "rollback" => "rolled back",
                "roll_forward" => "rolled forward",
                "flag_off" => "turned off by its flag",
                _ => "refused a rollback",
            };
            let during: Vec<String> = fault_windows(events, trace)
                .iter()
                .filter(|(s, e, _)| *s <= a.t_s && a.t_s <= *e)
                .map(|(_, _, name)| name.clone())
                .collect();
            out.push(format!(
                "Deployed at {}, {what} at {} ({} later){}.",
                clock(d.t_s),
                clock(a.t_s),
                duration(a.t_s - d.t_s),
                if during.is_empty() {
                    String::new()
                } else {
                    format!(", while a fault was active ({})", during.join(", "))
                }
            ));
        }
        (Some(d), None) => out.push(format!(
            "Deployed at {}{}; no rollback.",
            clock(d.t_s),
            promote
                .map(|p| format!(", promoted at {}", clock(p.t_s)))
                .unwrap_or_default()
        )),
        _ => {}
    }
    let rollbacks = events.iter().filter(|e| e.kind == "rollback").count();
    if rollbacks > 1 {
        out.push(format!(
            "{rollbacks} rollbacks in this run: a rollback loop."
        ));
    }
    let faults = fault_windows(events, trace);
    if !faults.is_empty() {
        let list: Vec<String> = faults
            .iter()
            .map(|(s, e, n)| format!("{n} {}–{}", clock(*s), clock(*e)))
            .collect();
        out.push(format!("Faults: {}.", list.join("; ")));
    }
    let peak = trace
        .iter()
        .filter_map(|r| r.true_error_rate_new.map(|v| (r.t_s, v)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    if let Some((t, v)) = peak {
        if v > 0.0 {
            out.push(format!(
                "The new version's true error rate peaked at {}% at {}.",
                num(v * 100.0),
                clock(t)
            ));
        }
    }
    out
}

/// Fault windows from `fault_start`/`fault_end` events paired by detail (a fault still
/// active at the end of the trace ends there).
pub fn fault_windows(events: &[EventRow], trace: &[TraceRow]) -> Vec<(f64, f64, String)> {
    let end = trace
        .last()
        .map(|r| r.t_s)
        .into_iter()
        .chain(events.last().map(|e| e.t_s))
        .fold(0.0, f64::max);
    let mut open: Vec<(f64, String)> = Vec::new();
    let mut out = Vec::new();
    for e in events {
        let detail = e.detail.clone().unwrap_or_default();
        match e.kind.as_str() {
            "fault_start" => open.push((e.t_s, detail)),
            "fault_end" => {
                let i = open
                    .iter()
                    .position(|(_, d)| *d == detail)
                    .or(if open.is_empty() { None } else { Some(0) });
                if let Some(i) = i {
                    let (s, d) = open.remove(i);
                    out.push((s, e.t_s, name_of(&d)));
                }
            }
            _ => {}
        }
    }
    for (s, d) in open {
        out.push((s, end, name_of(&d)));
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

fn name_of(detail: &str) -> String {
    if detail.is_empty() {
        "fault".into()
    } else {
        detail.to_string()
    }
}
