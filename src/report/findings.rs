//! Short plain-language findings computed from the data, one list per chart, so a reader
//! gets the answer without reading the chart (and the chart backs the sentence up).
//!
//! A finding only calls a policy better when the 95% intervals do not overlap; otherwise it
//! says the runs cannot tell the policies apart.

use super::inputs::{EventRow, Recommendation, TraceRow};
use super::metrics::{num, Better, MetricInfo};
use super::tables::{Est, EstimateTable, Sweep};

/// The policies that are yardsticks, not choices: findings never rank them, and the
/// Pareto front leaves them out. Saying that the policy which never acts has the fewest
/// false-positive rollbacks, or that the oracle detects fastest, tells a reader nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refs {
    /// Policies that know the truth (`kind = "oracle"`): the best possible.
    pub bounds: Vec<String>,
    /// Policies that never act (`kind = "none"`): what doing nothing costs.
    pub nothing: Vec<String>,
}

impl Refs {
    /// Whether `p` is a choice a team could make (neither a bound nor doing nothing).
    pub fn ranked(&self, p: &str) -> bool {
        !self.bounds.iter().chain(&self.nothing).any(|r| r == p)
    }

    /// Whether `p` knows the truth.
    pub fn is_bound(&self, p: &str) -> bool {
        self.bounds.iter().any(|r| r == p)
    }
}

/// Which points are on the Pareto front when lower is better on both coordinates: no other
/// point is at most as high on both and lower on one. Points with a missing or non-finite
/// coordinate are never on the front and dominate nothing. Equal points are all on it.
pub fn pareto_front(points: &[Option<(f64, f64)>]) -> Vec<bool> {
    let ok = |p: &Option<(f64, f64)>| p.filter(|(x, y)| x.is_finite() && y.is_finite());
    points
        .iter()
        .map(|p| {
            let Some((x, y)) = ok(p) else {
                return false;
            };
            !points
                .iter()
                .filter_map(ok)
                .any(|(a, b)| dominates((a, b), (x, y)))
        })
        .collect()
}

/// Whether `a` is at most `b` on both coordinates and lower on one.
pub fn dominates(a: (f64, f64), b: (f64, f64)) -> bool {
    a.0 <= b.0 && a.1 <= b.1 && (a.0 < b.0 || a.1 < b.1)
}

/// "fewer false-positive rollbacks", "less downtime", "shorter time to detect".
fn fewer(m: &MetricInfo) -> String {
    let label = m.label.to_lowercase();
    let word = if m.name.starts_with("time_") || m.name.ends_with("_detected_s") {
        "shorter"
    } else if m.name == "downtime_s" {
        "less"
    } else {
        "fewer"
    };
    format!("{word} {label}")
}

/// A value with its unit when it is a time ("798.5 s"); counts and rates as they are.
fn in_seconds(m: &MetricInfo, x: f64) -> String {
    if m.unit.starts_with("s") && !m.percent {
        format!("{} s", m.value(x))
    } else {
        m.value(x)
    }
}

/// "fewest false-positive rollbacks", "least downtime", "shortest time to detect".
fn superlative(m: &MetricInfo, low: bool) -> String {
    let label = m.label.to_lowercase();
    let word = if m.name.starts_with("time_") || m.name.ends_with("_detected_s") {
        if low {
            "shortest"
        } else {
            "longest"
        }
    } else if m.name == "downtime_s" {
        if low {
            "least"
        } else {
            "most"
        }
    } else if low {
        "fewest"
    } else {
        "most"
    };
    format!("{word} {label}")
}

fn estimate(m: &MetricInfo, e: &Est) -> String {
    m.estimate(e.mean, e.low, e.high)
}

/// How far apart two means are: "3.1 percentage points" for proportions, the metric's own
/// unit otherwise ("40.0 s per run").
fn gap(m: &MetricInfo, a: f64, b: f64) -> String {
    let d = (a - b).abs();
    if m.percent {
        format!("{:.1} percentage points", d * 100.0)
    } else if m.unit.is_empty() {
        num(d)
    } else {
        format!("{} {}", num(d), m.unit)
    }
}

/// Per metric of a bar chart (where lower is better), among the policies a team could
/// choose ([`Refs::ranked`]): which does best, by how much against the runner-up (or that
/// the runs cannot tell them apart: their 95% intervals overlap), which does worst, and what
/// doing nothing costs when the best clearly improves on it. A metric on which every choice
/// is equal gets one sentence; one on which no choice differs clearly from another gets
/// none beyond that.
pub fn outcome_findings(t: &EstimateTable, metrics: &[String], refs: &Refs) -> Vec<String> {
    let mut out = Vec::new();
    for name in metrics {
        let m = MetricInfo::of(name);
        if m.better != Better::Lower {
            continue;
        }
        // A mean of one value (a time to detect of a single caught release) has no
        // interval to rank it by.
        let mut vals: Vec<(&str, Est)> = t
            .policies
            .iter()
            .filter(|p| refs.ranked(p))
            .filter_map(|p| t.get(p, name).map(|e| (p.as_str(), e)))
            .filter(|(_, e)| e.n >= 2)
            .collect();
        if vals.len() < 2 {
            continue;
        }
        vals.sort_by(|a, b| a.1.mean.total_cmp(&b.1.mean));
        let label = m.label.to_lowercase();
        let (best, be) = vals[0];
        let (worst, we) = vals[vals.len() - 1];
        if be.mean == we.mean {
            out.push(format!(
                "Every policy that acts has the same {label}: {}.",
                estimate(&m, &be)
            ));
            continue;
        }
        // Policies the runs cannot tell from the best (their intervals overlap).
        let level: Vec<&str> = vals[1..]
            .iter()
            .filter(|(_, e)| e.overlaps(&be))
            .map(|(p, _)| *p)
            .collect();
        let mut s = if level.is_empty() {
            let (second, se) = vals[1];
            format!(
                "{best} has the {}: {}, ahead of the runner-up {second} ({}) by {}.",
                superlative(&m, true),
                estimate(&m, &be),
                estimate(&m, &se),
                gap(&m, se.mean, be.mean)
            )
        } else if level.len() + 1 == vals.len() {
            format!(
                "The runs cannot tell {best} and {} apart on {label}: their 95% intervals \
                 overlap ({best} lowest at {}).",
                level.join(", "),
                estimate(&m, &be)
            )
        } else {
            format!(
                "{best} has the {}, {}, but the runs cannot tell it from {} (overlapping 95% \
                 intervals).",
                superlative(&m, true),
                estimate(&m, &be),
                level.join(", ")
            )
        };
        if vals.len() > 2 && !we.overlaps(&be) {
            s.push_str(&format!(
                " {worst} has the {}: {}.",
                superlative(&m, false),
                estimate(&m, &we)
            ));
        }
        let nothing = refs
            .nothing
            .iter()
            .find_map(|p| t.get(p, name).map(|e| (p, e)));
        if let Some((p, ne)) = nothing {
            if ne.mean > be.mean && !ne.overlaps(&be) {
                s.push_str(&format!(" Doing nothing ({p}) has {}.", estimate(&m, &ne)));
            }
        }
        out.push(s);
    }
    out
}

/// The trade-off of false positives against `y_metric`: which policies are on the Pareto
/// front, and for each one off it, a policy that beats it on both, said only when it is
/// clearly better on one of them (the 95% intervals do not overlap). References (oracles,
/// doing nothing) are neither on the front nor beaten.
pub fn tradeoff_findings(
    t: &EstimateTable,
    x_metric: &str,
    y_metric: &str,
    refs: &Refs,
) -> Vec<String> {
    let xm = MetricInfo::of(x_metric);
    let ym = MetricInfo::of(y_metric);
    let pts = tradeoff_points(t, x_metric, y_metric, refs);
    let front = pareto_front(&pts);
    let on: Vec<&str> = t
        .policies
        .iter()
        .zip(&front)
        .filter(|(_, f)| **f)
        .map(|(p, _)| p.as_str())
        .collect();
    if on.is_empty() {
        return Vec::new();
    }
    let mut out = vec![format!(
        "On the Pareto front (no other policy that acts has both {} and {}): {}.",
        fewer(&xm),
        fewer(&ym),
        on.join(", ")
    )];
    for (i, p) in t.policies.iter().enumerate() {
        let Some(me) = pts[i] else { continue };
        if front[i] {
            continue;
        }
        // Name the front policy that beats this one by the widest margin on its y-axis.
        let by = pts
            .iter()
            .enumerate()
            .filter(|(j, q)| front[*j] && q.is_some_and(|q| dominates(q, me)))
            .filter_map(|(j, q)| q.map(|q| (j, q)))
            .min_by(|a, b| a.1 .1.total_cmp(&b.1 .1));
        let clearly = |j: usize| {
            let q = &t.policies[j];
            [x_metric, y_metric].iter().any(
                |m| matches!((t.get(q, m), t.get(p, m)), (Some(a), Some(b)) if !a.overlaps(&b)),
            )
        };
        if let Some((j, q)) = by.filter(|(j, _)| clearly(*j)) {
            out.push(format!(
                "{} does at least as well as {p} on both, and clearly better on one: {} vs {} \
                 {}, {} vs {} {}.",
                t.policies[j],
                in_seconds(&xm, q.0),
                in_seconds(&xm, me.0),
                xm.label.to_lowercase(),
                in_seconds(&ym, q.1),
                in_seconds(&ym, me.1),
                ym.label.to_lowercase(),
            ));
        }
    }
    out
}

/// The (x, y) means of each policy of `t`, `None` for references and missing values.
pub fn tradeoff_points(
    t: &EstimateTable,
    x_metric: &str,
    y_metric: &str,
    refs: &Refs,
) -> Vec<Option<(f64, f64)>> {
    t.policies
        .iter()
        .map(|p| {
            if !refs.ranked(p) {
                return None;
            }
            Some((t.get(p, x_metric)?.mean, t.get(p, y_metric)?.mean))
        })
        .collect()
}

/// Paired differences against the baseline: per metric, the largest reduction and whether
/// its interval excludes zero. References (oracles, doing nothing) are left out.
pub fn comparison_findings(
    t: &EstimateTable,
    baseline: &str,
    metrics: &[String],
    refs: &Refs,
) -> Vec<String> {
    let mut out = Vec::new();
    for name in metrics {
        let m = MetricInfo::of(name);
        let mut vals: Vec<(&str, Est)> = t
            .policies
            .iter()
            .filter(|p| refs.ranked(p))
            .filter_map(|p| t.get(p, name).map(|e| (p.as_str(), e)))
            .collect();
        if vals.is_empty() {
            continue;
        }
        vals.sort_by(|a, b| a.1.mean.total_cmp(&b.1.mean));
        let (p, e) = vals[0];
        let sig = |e: &Est| {
            let (lo, hi) = e.bounds();
            lo > 0.0 || hi < 0.0
        };
        let label = m.label.to_lowercase();
        if e.mean < 0.0 {
            out.push(format!(
                "{p} has the largest reduction in {label} against {baseline}: {} ({}).",
                signed(&m, &e),
                if sig(&e) {
                    "the interval excludes 0: a real difference"
                } else {
                    "the interval includes 0: not distinguishable from no change"
                }
            ));
        } else {
            let (q, f) = vals[vals.len() - 1];
            out.push(format!(
                "No policy reduces {label} against {baseline}; {q} adds the most: {}{}.",
                signed(&m, &f),
                if sig(&f) {
                    ""
                } else {
                    " (not distinguishable from no change)"
                }
            ));
        }
    }
    out
}

fn signed(m: &MetricInfo, e: &Est) -> String {
    let plus = |x: f64| {
        let s = if m.percent {
            format!("{:.1}", x * 100.0)
        } else {
            m.value(x)
        };
        if x > 0.0 {
            format!("+{s}")
        } else {
            s
        }
    };
    let unit = if m.percent {
        " percentage points of runs".to_string()
    } else if m.unit.is_empty() {
        String::new()
    } else {
        format!(" {}", m.unit)
    };
    match (e.low, e.high) {
        (Some(l), Some(h)) => format!("{} [{}, {}]{unit}", plus(e.mean), plus(l), plus(h)),
        _ => format!("{}{unit}", plus(e.mean)),
    }
}

/// A 1-D sweep: for each policy the parameter moves, how each metric changes from the
/// first to the last value and where it is lowest; then the recommendation, if any.
pub fn sweep_findings(s: &Sweep, metrics: &[String], rec: Option<&Recommendation>) -> Vec<String> {
    let mut out = Vec::new();
    let param = Sweep::short(&s.param);
    for policy in &s.policies {
        for name in metrics {
            if !s.varies(policy, name) {
                continue;
            }
            let m = MetricInfo::of(name);
            let c = s.curve(policy, name);
            let (Some(first), Some(last)) = (c.first(), c.last()) else {
                continue;
            };
            let mut line = format!(
                "{policy}: {} goes from {} at {param} = {} to {} at {}",
                m.label.to_lowercase(),
                m.value(first.1.mean),
                num_plain(first.0),
                m.value(last.1.mean),
                num_plain(last.0),
            );
            if m.better == Better::Lower {
                if let Some((v, e)) = c.iter().min_by(|a, b| a.1.mean.total_cmp(&b.1.mean)) {
                    if *v != first.0 && *v != last.0 {
                        line.push_str(&format!(
                            ", lowest at {param} = {}: {}",
                            num_plain(*v),
                            estimate(&m, e)
                        ));
                    }
                }
            }
            line.push('.');
            out.push(line);
        }
    }
    if let Some(r) = rec {
        out.push(recommendation_sentence(r));
    }
    out
}

/// The recommendation in one sentence; says plainly when no value met the constraint.
pub fn recommendation_sentence(r: &Recommendation) -> String {
    if !r.message.is_empty() {
        return r.message.clone();
    }
    match (r.met, r.value) {
        (true, Some(v)) => {
            let at = match (&r.param2, r.value2) {
                (Some(p2), Some(v2)) => format!(
                    "{} = {} and {} = {}",
                    Sweep::short(&r.param),
                    num_plain(v),
                    Sweep::short(p2),
                    num_plain(v2)
                ),
                _ => format!("{} = {}", Sweep::short(&r.param), num_plain(v)),
            };
            let what = match (&r.metric, r.mean) {
                (Some(m), Some(mean)) => {
                    let mi = MetricInfo::of(m);
                    format!(
                        ": {} {}",
                        mi.label.to_lowercase(),
                        mi.estimate(mean, r.ci95_low, r.ci95_high)
                    )
                }
                _ => String::new(),
            };
            format!("Recommended for \"{}\": {at}{what}.", r.objective)
        }
        _ => format!(
            "No value of {} meets \"{}\".",
            Sweep::short(&r.param),
            r.objective
        ),
    }
}

/// A parameter value as written in a scenario: no trailing zeros.
pub fn num_plain(x: f64) -> String {
    let s = format!("{x}");
    if s.len() > 10 {
        num(x)
    } else {
        s
    }
}

/// A 2-D sweep: where each metric of the swept policy is lowest and highest.
pub fn heatmap_findings(s: &Sweep, policy: &str, metrics: &[String]) -> Vec<String> {
    let (Some(p2), (xs, ys)) = (s.param2.as_deref(), s.axes()) else {
        return Vec::new();
    };
    let (a, b) = (Sweep::short(&s.param), Sweep::short(p2));
    let mut out = Vec::new();
    for name in metrics {
        let m = MetricInfo::of(name);
        let cells: Vec<(f64, f64, Est)> = xs
            .iter()
            .flat_map(|x| ys.iter().map(move |y| (*x, *y)))
            .filter_map(|(x, y)| s.at(policy, name, x, y).map(|e| (x, y, e)))
            .collect();
        let lo = cells.iter().min_by(|p, q| p.2.mean.total_cmp(&q.2.mean));
        let hi = cells.iter().max_by(|p, q| p.2.mean.total_cmp(&q.2.mean));
        if let (Some(lo), Some(hi)) = (lo, hi) {
            out.push(format!(
                "{policy}: {} is lowest at {a} = {}, {b} = {} ({}) and highest at {a} = {}, {b} = {} ({}).",
                m.label.to_lowercase(),
                num_plain(lo.0),
                num_plain(lo.1),
                m.value(lo.2.mean),
                num_plain(hi.0),
                num_plain(hi.1),
                m.value(hi.2.mean),
            ));
        }
    }
    out
}

/// A duration for prose: "4 h", "3 h 20 min", "45 min", "30 s".
pub fn duration(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, sec) => format!("{sec} s"),
        (0, m, 0) => format!("{m} min"),
        (0, m, sec) => format!("{m} min {sec} s"),
        (h, 0, _) => format!("{h} h"),
        (h, m, _) => format!("{h} h {m} min"),
    }
}

/// Simulated time as `h:mm:ss`.
pub fn clock(t_s: f64) -> String {
    let t = t_s.max(0.0).round() as u64;
    format!("{}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60)
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::inputs::SummaryRow;

    #[test]
    fn pareto_front_keeps_the_non_dominated() {
        let pts = [
            Some((0.0, 0.20)),  // none: no false positives, misses everything
            Some((0.0, 0.0)),   // oracle: dominates all
            Some((0.08, 0.0)),  // threshold
            Some((0.03, 0.18)), // probes
            None,               // no data
        ];
        assert_eq!(pareto_front(&pts), [false, true, false, false, false]);
        let pts = [
            Some((0.0, 0.20)),
            Some((0.08, 0.0)),
            Some((0.03, 0.18)),
            Some((0.05, 0.19)), // beaten by (0.03, 0.18)
            Some((0.03, 0.18)), // a tie is on the front with its twin
            Some((f64::NAN, 0.0)),
        ];
        assert_eq!(pareto_front(&pts), [true, true, true, false, true, false]);
        assert!(pareto_front(&[]).is_empty());
    }

    fn row(p: &str, m: &str, mean: f64, lo: f64, hi: f64) -> SummaryRow {
        SummaryRow {
            policy: p.into(),
            metric: m.into(),
            mean: Some(mean),
            ci95_low: Some(lo),
            ci95_high: Some(hi),
            n: 1000,
        }
    }

    fn table() -> EstimateTable {
        EstimateTable::from_summary(
            &[
                row("none", "failed_requests", 32571.9, 30444.0, 34697.0),
                row("canary", "failed_requests", 836.2, 748.0, 924.4),
                row("threshold-x", "failed_requests", 900.0, 850.0, 950.0),
                row("none", "false_positive_rollbacks", 0.0, 0.0, 0.0),
                row("canary", "false_positive_rollbacks", 0.03, 0.02, 0.04),
                row(
                    "threshold-x",
                    "false_positive_rollbacks",
                    0.078,
                    0.066,
                    0.089,
                ),
                row("none", "missed_bad_release", 0.198, 0.174, 0.224),
                row("canary", "missed_bad_release", 0.0, 0.0, 0.004),
                row("threshold-x", "missed_bad_release", 0.0, 0.0, 0.004),
            ],
            &[],
        )
    }

    fn nothing() -> Refs {
        Refs {
            bounds: Vec::new(),
            nothing: vec!["none".into()],
        }
    }

    #[test]
    fn findings_rank_only_choices_and_say_by_how_much() {
        let f = outcome_findings(
            &table(),
            &["failed_requests".into(), "false_positive_rollbacks".into()],
            &nothing(),
        );
        // Overlapping intervals: no winner; doing nothing is clearly worse, so it is said.
        assert_eq!(
            f[0],
            "The runs cannot tell canary and threshold-x apart on failed requests: their 95% \
             intervals overlap (canary lowest at 836.2 [748.0, 924.4] per run). Doing nothing \
             (none) has 32572 [30444, 34697] per run."
        );
        // Not "none has the fewest false-positive rollbacks": it never acts.
        assert_eq!(
            f[1],
            "canary has the fewest false-positive rollbacks: 0.030 [0.020, 0.040] per run, \
             ahead of the runner-up threshold-x (0.078 [0.066, 0.089] per run) by 0.048 per run."
        );
        assert_eq!(f.len(), 2);
    }

    #[test]
    fn findings_name_the_worst_and_the_policies_level_with_the_best() {
        let t = EstimateTable::from_summary(
            &[
                row("a", "downtime_s", 100.0, 90.0, 110.0),
                row("b", "downtime_s", 105.0, 95.0, 115.0),
                row("c", "downtime_s", 300.0, 280.0, 320.0),
                row("d", "downtime_s", 300.0, 280.0, 320.0),
            ],
            &[],
        );
        let f = outcome_findings(&t, &["downtime_s".into()], &Refs::default());
        assert_eq!(
            f[0],
            "a has the least downtime, 100.0 [90.0, 110.0] s per run, but the runs cannot tell \
             it from b (overlapping 95% intervals). d has the most downtime: 300.0 [280.0, \
             320.0] s per run."
        );
        let t = EstimateTable::from_summary(
            &[
                row("a", "rollback_loops", 0.0, 0.0, 0.0),
                row("b", "rollback_loops", 0.0, 0.0, 0.0),
            ],
            &[],
        );
        let f = outcome_findings(&t, &["rollback_loops".into()], &Refs::default());
        assert_eq!(
            f,
            ["Every policy that acts has the same rollback loops: 0.000 [0.000, 0.000] per run."]
        );
    }

    #[test]
    fn references_are_not_ranked() {
        let mut rows = vec![row("oracle", "failed_requests", 10.0, 9.0, 11.0)];
        rows.extend([
            row("a", "failed_requests", 100.0, 90.0, 110.0),
            row("b", "failed_requests", 200.0, 190.0, 210.0),
        ]);
        let t = EstimateTable::from_summary(&rows, &[]);
        let refs = Refs {
            bounds: vec!["oracle".into()],
            nothing: Vec::new(),
        };
        let f = outcome_findings(&t, &["failed_requests".into()], &refs);
        assert!(
            f[0].starts_with("a has the fewest failed requests"),
            "{}",
            f[0]
        );
        let pts = tradeoff_points(&t, "failed_requests", "failed_requests", &refs);
        assert_eq!(pareto_front(&pts), [false, true, false]);
    }

    #[test]
    fn tradeoff_finding_names_front_and_who_beats_whom() {
        let f = tradeoff_findings(
            &table(),
            "false_positive_rollbacks",
            "missed_bad_release",
            &nothing(),
        );
        // none (never acts) is not on the front it would trivially join.
        assert_eq!(
            f,
            [
                "On the Pareto front (no other policy that acts has both fewer false-positive \
                 rollbacks and fewer missed bad releases): canary.",
                "canary does at least as well as threshold-x on both, and clearly better on one: \
                 0.030 vs 0.078 false-positive rollbacks, 0.0% vs 0.0% missed bad releases."
            ]
        );
        // Better on both means but within the intervals on both: no claim.
        let t = EstimateTable::from_summary(
            &[
                row("a", "false_positive_rollbacks", 0.03, 0.02, 0.04),
                row("b", "false_positive_rollbacks", 0.035, 0.025, 0.045),
                row("a", "missed_bad_release", 0.01, 0.0, 0.02),
                row("b", "missed_bad_release", 0.012, 0.002, 0.022),
            ],
            &[],
        );
        let f = tradeoff_findings(
            &t,
            "false_positive_rollbacks",
            "missed_bad_release",
            &Refs::default(),
        );
        assert_eq!(f.len(), 1, "{f:?}");
    }

    #[test]
    fn comparison_finding_says_whether_the_interval_excludes_zero() {
        let t = EstimateTable::from_comparison(
            &[
                crate::report::inputs::ComparisonRow {
                    policy: "gate".into(),
                    baseline: "none".into(),
                    metric: "downtime_s".into(),
                    mean_difference: Some(-9843.5),
                    ci95_low: Some(-10700.0),
                    ci95_high: Some(-8990.0),
                    n: 1000,
                },
                crate::report::inputs::ComparisonRow {
                    policy: "gate".into(),
                    baseline: "none".into(),
                    metric: "false_positive_rollbacks".into(),
                    mean_difference: Some(0.01),
                    ci95_low: Some(-0.002),
                    ci95_high: Some(0.022),
                    n: 1000,
                },
            ],
            &[],
        );
        let f = comparison_findings(
            &t,
            "none",
            &["downtime_s".into(), "false_positive_rollbacks".into()],
            &nothing(),
        );
        assert_eq!(
            f[0],
            "gate has the largest reduction in downtime against none: -9844 [-10700, -8990] s \
             per run (the interval excludes 0: a real difference)."
        );
        assert_eq!(
            f[1],
            "No policy reduces false-positive rollbacks against none; gate adds the most: \
             +0.010 [-0.002, +0.022] per run (not distinguishable from no change)."
        );
    }

    #[test]
    fn unmet_recommendation_is_said_plainly() {
        let r = Recommendation {
            objective: "min downtime_s s.t. false_positive_rollbacks <= 0.001".into(),
            param: "policies.gate.error_rate_above".into(),
            met: false,
            ..Default::default()
        };
        assert_eq!(
            recommendation_sentence(&r),
            "No value of error_rate_above meets \"min downtime_s s.t. false_positive_rollbacks <= 0.001\"."
        );
    }

    #[test]
    fn timeline_finding_tells_the_story() {
        let ev = |t: f64, k: &str, d: &str| EventRow {
            t_s: t,
            kind: k.into(),
            detail: Some(d.into()),
        };
        let events = [
            ev(3600.0, "deploy", "attempt 1"),
            ev(3720.0, "fault_start", "dependency_outage"),
            ev(3900.0, "rollback", "error rate 0.031 > 0.02"),
            ev(4200.0, "fault_end", "dependency_outage"),
        ];
        let trace = [TraceRow {
            t_s: 3900.0,
            share_new: Some(0.1),
            true_error_rate_old: Some(0.001),
            true_error_rate_new: Some(0.051),
            observed_error_rate_new: None,
            true_p99_old_ms: None,
            true_p99_new_ms: None,
            observed_p99_new_ms: None,
            requests: None,
            failed_requests: None,
        }];
        let f = timeline_findings(&trace, &events);
        assert_eq!(
            f[0],
            "Deployed at 1:00:00, rolled back at 1:05:00 (5 min later), while a fault was \
             active (dependency_outage)."
        );
        assert_eq!(f[1], "Faults: dependency_outage 1:02:00–1:10:00.");
        assert_eq!(
            f[2],
            "The new version's true error rate peaked at 5.100% at 1:05:00."
        );
    }
}
