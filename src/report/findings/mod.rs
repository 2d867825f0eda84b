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

/// The estimates of `metric` of the policies a team chooses among ([`Refs::ranked`]), in
/// table order: baselines and oracles are yardsticks, not choices.
fn choices<'t>(t: &'t EstimateTable, metric: &str, refs: &Refs) -> Vec<(&'t str, Est)> {
    t.policies
        .iter()
        .filter(|p| refs.ranked(p))
        .filter_map(|p| t.get(p, metric).map(|e| (p.as_str(), e)))
        .collect()
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
        let mut vals: Vec<(&str, Est)> = choices(t, name, refs)
            .into_iter()
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
        let mut vals = choices(t, name, refs);
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
            let what = match r.mean.filter(|_| !r.metric.is_empty()) {
                Some(mean) => {
                    let mi = MetricInfo::of(&r.metric);
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

mod timeline;
pub use timeline::{fault_windows, timeline_findings};

#[cfg(test)]
mod tests;
