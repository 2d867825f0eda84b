//! A simulated run written as a recording: what its scrapes and health checks observed
//! as a tidy `metrics.csv`, and its truth (deploys, promotions, fault windows, the bad
//! release's harm) as `labels.csv`, so that `rollsim replay` and `rollsim calibrate` can
//! be tried, and tested, on data whose truth is known.
//!
//! Timestamps are the simulated seconds as Unix seconds (the run starts at
//! 1970-01-01T00:00:00Z, so the time of day is the simulated one).

use super::SeriesName;
use crate::sim::trace::Trace;
use serde::Serialize;

#[derive(Serialize)]
struct Row {
    timestamp: String,
    series: &'static str,
    value: String,
}

/// Milliseconds as Unix seconds, without a fraction when whole.
fn secs(ms: u64) -> String {
    if ms % 1000 == 0 {
        format!("{}", ms / 1000)
    } else {
        format!("{}.{:03}", ms / 1000, ms % 1000)
    }
}

/// `metrics.csv` of a traced run: per scrape that reached the policies, the new version's
/// `requests`, `errors`, `latency_p99_ms`, the gauges (`cpu`, `saturation`,
/// `queue_length`, when the run read them) and the old version's `old_*` (unless it served
/// nothing in any scrape); per health check,
/// `health_check`. Lost scrapes and intervals without a new version are left out (gaps).
pub fn metrics_csv(trace: &Trace, interval_ms: u64) -> Result<Vec<u8>, csv::Error> {
    let mut rows: Vec<(u64, usize, Row)> = Vec::new();
    let mut add = |at: u64, name: SeriesName, value: String| {
        let order = SeriesName::ALL.iter().position(|n| *n == name).unwrap_or(0);
        rows.push((
            at,
            order,
            Row {
                timestamp: secs(at),
                series: name.as_str(),
                value,
            },
        ));
    };
    // An old version that served nothing in every scrape (all at once) is left out.
    let old_served = trace
        .rows
        .iter()
        .any(|r| r.observed_requests_old.is_some_and(|n| n > 0));
    for r in &trace.rows {
        let at = (r.t_s * 1000.0).round() as u64 + interval_ms;
        let (Some(n), Some(e)) = (r.observed_requests_new, r.observed_errors_new) else {
            continue;
        };
        add(at, SeriesName::Requests, n.to_string());
        add(at, SeriesName::Errors, e.to_string());
        if let Some(p) = r.observed_p99_new_ms.filter(|_| n > 0) {
            add(at, SeriesName::LatencyP99Ms, p.to_string());
        }
        if let (true, Some(n), Some(e)) =
            (old_served, r.observed_requests_old, r.observed_errors_old)
        {
            add(at, SeriesName::OldRequests, n.to_string());
            add(at, SeriesName::OldErrors, e.to_string());
            if let Some(p) = r.observed_p99_old_ms {
                add(at, SeriesName::OldLatencyP99Ms, p.to_string());
            }
        }
        if let Some([old, new]) = r.observed_gauges {
            let mut gauges = |names: [SeriesName; 3], g: &crate::policy::Gauges| {
                for (name, v) in names.into_iter().zip([g.cpu, g.saturation, g.queue_length]) {
                    if let Some(v) = v {
                        add(at, name, v.to_string());
                    }
                }
            };
            use SeriesName as N;
            gauges([N::Cpu, N::Saturation, N::QueueLength], &new);
            if old_served {
                gauges([N::OldCpu, N::OldSaturation, N::OldQueueLength], &old);
            }
        }
    }
    for &(t, ok) in &trace.health_checks {
        add(t, SeriesName::HealthCheck, u8::from(ok).to_string());
    }
    rows.sort_by_key(|(at, order, _)| (*at, *order));
    let mut w = csv::Writer::from_writer(vec![]);
    for (_, _, r) in rows {
        w.serialize(r)?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

#[derive(Serialize)]
struct LabelRow {
    start: String,
    end: String,
    kind: String,
}

/// `labels.csv` of a traced run: each deploy and promotion, each fault's window (its name
/// as the kind), and each stretch of scrape intervals in which the bad release truly hurt
/// (the new version's true error rate or p99 above the old one's) as `bad_release`.
pub fn labels_csv(trace: &Trace, interval_ms: u64) -> Result<Vec<u8>, csv::Error> {
    let ms = |t_s: f64| (t_s * 1000.0).round() as u64;
    let mut rows: Vec<(u64, LabelRow)> = Vec::new();
    let mut open: Vec<(String, u64)> = Vec::new();
    for e in &trace.events {
        let t = ms(e.t_s);
        match e.kind {
            "deploy" | "promote" => rows.push((
                t,
                LabelRow {
                    start: secs(t),
                    end: String::new(),
                    kind: if e.kind == "deploy" {
                        "deploy"
                    } else {
                        "promoted"
                    }
                    .into(),
                },
            )),
            "fault_start" => open.push((e.detail.clone(), t)),
            "fault_end" => {
                if let Some(i) = open.iter().position(|(n, _)| *n == e.detail) {
                    let (name, start) = open.remove(i);
                    rows.push((
                        start,
                        LabelRow {
                            start: secs(start),
                            end: secs(t),
                            kind: name,
                        },
                    ));
                }
            }
            _ => {}
        }
    }
    let end_of_run = trace.rows.last().map_or(0, |r| ms(r.t_s) + interval_ms);
    for (name, start) in open {
        rows.push((
            start,
            LabelRow {
                start: secs(start),
                end: secs(end_of_run),
                kind: name,
            },
        ));
    }
    let mut harm: Option<(u64, u64)> = None;
    let close = |h: Option<(u64, u64)>, rows: &mut Vec<(u64, LabelRow)>| {
        if let Some((a, b)) = h {
            rows.push((
                a,
                LabelRow {
                    start: secs(a),
                    end: secs(b),
                    kind: "bad_release".into(),
                },
            ));
        }
    };
    for r in &trace.rows {
        let t = ms(r.t_s);
        let hurts = r.share_new > 0.0
            && (r.true_error_rate_new > r.true_error_rate_old
                || r.true_p99_new_ms > r.true_p99_old_ms);
        harm = match (harm, hurts) {
            (Some((a, _)), true) => Some((a, t + interval_ms)),
            (None, true) => Some((t, t + interval_ms)),
            (h, false) => {
                close(h, &mut rows);
                None
            }
        };
    }
    close(harm, &mut rows);
    rows.sort_by_key(|(t, _)| *t);
    let mut w = csv::Writer::from_writer(vec![]);
    for (_, r) in rows {
        w.serialize(r)?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}
