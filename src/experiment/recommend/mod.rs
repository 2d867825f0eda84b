//! The recommendation of a sweep's objective: which point best meets it, judged on the
//! bounds of the points' intervals at a confidence level, with ties (points the data cannot
//! tell apart) broken toward the conservative setting (see [`recommend`]).

use super::objective::{Constraint, Goal, Objective, Op, Target};
use super::stats::{wilson_z, Estimate, Z975};
use crate::outcome::{MetricKind, RunRecord};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The estimates of one sweep point.
#[derive(Debug, Clone, PartialEq)]
pub struct PointResult {
    pub point: usize,
    /// (parameter path, value) of each swept parameter.
    pub values: Vec<(String, f64)>,
    /// (policy, metric) -> estimate.
    pub estimates: BTreeMap<(String, String), Estimate>,
}

impl PointResult {
    fn get(&self, t: &Target) -> Option<Estimate> {
        self.estimates
            .get(&(t.policy.clone(), t.metric.clone()))
            .copied()
            .filter(|e| e.n > 0 && e.mean.is_finite())
    }
}

/// The confidence level a sweep judges at unless told otherwise.
pub const DEFAULT_CONFIDENCE: f64 = 0.95;

/// Checks a `--confidence` level: a two-sided level from 0.5 to 0.999.
pub fn check_confidence(level: f64) -> Result<f64, String> {
    if (0.5..=0.999).contains(&level) {
        Ok(level)
    } else {
        Err(format!(
            "{level} is not a confidence level; expected a number from 0.5 to 0.999, e.g. 0.9"
        ))
    }
}

/// The two-sided interval of `e` (an estimate of `metric`) at `level`.
///
/// At 95% it is the interval the summary holds (whatever method made it). At another level
/// a proportion gets its Wilson interval at that level, and another metric's interval is
/// scaled on each side by the ratio of the normal quantiles (exact for a normal interval).
pub fn interval(e: &Estimate, metric: &str, level: f64) -> (f64, f64) {
    if (level - DEFAULT_CONFIDENCE).abs() < 1e-12 {
        return (e.ci95_low, e.ci95_high);
    }
    let z = statrs::distribution::ContinuousCDF::inverse_cdf(
        &statrs::distribution::Normal::standard(),
        0.5 + level / 2.0,
    );
    let proportion = RunRecord::METRICS
        .iter()
        .any(|(m, k)| *m == metric && *k == MetricKind::Proportion);
    if proportion {
        return wilson_z(e.mean, e.n, z);
    }
    let scale = z / Z975;
    (
        e.mean - (e.mean - e.ci95_low) * scale,
        e.mean + (e.ci95_high - e.mean) * scale,
    )
}

/// A constraint at one point: the estimate, the interval bound it is judged by, and
/// whether that bound meets it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judged {
    /// The constraint as written, its metric qualified: `false_positive_rollbacks@gate <= 0.05`.
    pub what: String,
    pub mean: Option<f64>,
    pub ci95_low: Option<f64>,
    pub ci95_high: Option<f64>,
    /// The bound judged: the upper one for `<=`/`<`, the lower one for `>=`/`>`, at the
    /// sweep's confidence level.
    pub bound: Option<f64>,
    pub met: bool,
}

/// A recommended value in scenario syntax, ready to paste (`recommendation.json`'s
/// `paste`): the table it goes in (its key path) and the line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Paste {
    /// The key path of the table or policy, e.g. `policies.gate` (a `[[policies]]` entry
    /// by name) or `service`.
    pub table: String,
    /// `key = value` as the scenario file writes it, e.g. `for = "15m"`.
    pub line: String,
}

impl Paste {
    /// The paste in words: `in the scenario, [[policies]] named "gate":` and the line,
    /// indented, on the next.
    pub fn describe(&self) -> String {
        let place = match self.table.split_once('.') {
            Some((array @ ("policies" | "faults"), rest)) if !rest.contains('.') => {
                match rest.parse::<usize>() {
                    Ok(i) => format!("[[{array}]] number {i} (from 0)"),
                    Err(_) => format!("[[{array}]] named {rest:?}"),
                }
            }
            _ => format!("[{}]", self.table),
        };
        format!("in the scenario, {place}:\n    {}", self.line)
    }
}

/// The recommended sweep point, or why there is none: `recommendation.json`, written by
/// `sweep --objective` and read back by the report with this same type. Every key is
/// optional when read (an older file lacks the newer ones), so a key is added here, once.
///
/// ```json
/// {"objective": "min downtime_s s.t. false_positive_rollbacks <= 0.01",
///  "policy": "gate", "param": "policies.gate.error_rate_above", "value": 0.02,
///  "metric": "downtime_s", "mean": 120.5, "ci95_low": 110.0, "ci95_high": 131.0,
///  "met": true, "message": "error_rate_above = 0.02 gives the least downtime ..."}
/// ```
/// `param2`/`value2` are set for a 2-D sweep; `value`, `mean` and the interval are `null`
/// when no point meets the constraint (`met` is then false).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Recommendation {
    /// The objective as written.
    pub objective: String,
    /// The confidence level constraints and ties were judged at.
    pub confidence: f64,
    /// The policy whose metric the objective optimises.
    pub policy: String,
    /// The swept parameter(s) and the recommended value(s); for no recommendation, the
    /// closest point's values.
    pub param: String,
    pub value: Option<f64>,
    /// The second parameter of a 2-D sweep.
    pub param2: Option<String>,
    pub value2: Option<f64>,
    /// The objective's metric and its estimate at the recommended point.
    pub metric: String,
    pub mean: Option<f64>,
    /// Its 95% interval (as the summary holds it, whatever the confidence level).
    pub ci95_low: Option<f64>,
    pub ci95_high: Option<f64>,
    /// Whether some point meets every constraint.
    pub met: bool,
    /// The recommended point's index.
    pub point: Option<usize>,
    /// The points whose objective intervals overlap the best one's (the recommended one
    /// among them), in sweep order; empty without a recommendation.
    pub tied: Vec<usize>,
    /// How the tie was broken, when there was one.
    pub tie_break: Option<String>,
    /// Each constraint at the recommended point (or the closest one).
    pub constraints: Vec<Judged>,
    /// The recommended value(s) in scenario syntax (filled by the sweep, which knows the
    /// scenario text).
    pub paste: Vec<Paste>,
    /// All of it in words, as the terminal prints it.
    pub message: String,
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn show(p: &[(String, f64)]) -> String {
    p.iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A point's values without their paths: `0.02`, or `(0.02, 60)` for a 2-D sweep.
fn short(p: &[(String, f64)]) -> String {
    let v: Vec<String> = p.iter().map(|(_, v)| v.to_string()).collect();
    match v.as_slice() {
        [one] => one.clone(),
        _ => format!("({})", v.join(", ")),
    }
}

fn label(t: &Target) -> String {
    format!("{}@{}", t.metric, t.policy)
}

fn pct(level: f64) -> String {
    format!("{}%", (level * 1000.0).round() / 10.0)
}

/// Significant digits of a value as the sweep wrote it (0.02 has 1, 0.025 has 2): the
/// simpler of two settings has fewer.
fn digits(v: f64) -> usize {
    let s: String = format!("{}", v.abs())
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    s.trim_start_matches('0').trim_end_matches('0').len()
}

/// How a sweep judges an objective's points at a confidence level.
struct Judge<'a> {
    obj: &'a Objective,
    level: f64,
}

impl Judge<'_> {
    fn judge(&self, p: &PointResult, c: &Constraint) -> Judged {
        let e = p.get(&c.target);
        let bound = e.map(|e| {
            let (lo, hi) = interval(&e, &c.target.metric, self.level);
            match c.op {
                Op::Le | Op::Lt => hi,
                Op::Ge | Op::Gt => lo,
            }
        });
        Judged {
            what: format!("{} {} {}", label(&c.target), c.op.text(), c.bound),
            mean: e.and_then(|e| finite(e.mean)),
            ci95_low: e.and_then(|e| finite(e.ci95_low)),
            ci95_high: e.and_then(|e| finite(e.ci95_high)),
            bound: bound.and_then(finite),
            met: bound.is_some_and(|b| b.is_finite() && c.op.holds(b, c.bound)),
        }
    }

    fn judged(&self, p: &PointResult) -> Vec<Judged> {
        self.obj
            .constraints
            .iter()
            .map(|c| self.judge(p, c))
            .collect()
    }

    fn meets(&self, p: &PointResult) -> bool {
        self.judged(p).iter().all(|j| j.met)
    }

    /// The objective's interval at the level.
    fn objective(&self, p: &PointResult) -> Option<(f64, f64, f64)> {
        let e = p.get(&self.obj.target)?;
        let (lo, hi) = interval(&e, &self.obj.target.metric, self.level);
        Some((e.mean, lo, hi))
    }

    /// A constraint judged in words: `false_positive_rollbacks@gate <= 0.05 (upper 95%
    /// bound 0.0412)`.
    fn words(&self, j: &Judged, op: Op) -> String {
        let side = match op {
            Op::Le | Op::Lt => "upper",
            Op::Ge | Op::Gt => "lower",
        };
        match j.bound {
            Some(b) => format!("{} ({side} {} bound {b:.4})", j.what, pct(self.level)),
            None => format!("{} (no data)", j.what),
        }
    }
}

/// The mean false-positive rollbacks of `policy` at a point (infinite when unknown): the
/// measure of how conservative a setting is.
fn false_positives(p: &PointResult, policy: &str) -> f64 {
    p.get(&Target {
        metric: "false_positive_rollbacks".into(),
        policy: policy.into(),
    })
    .map_or(f64::INFINITY, |e| e.mean)
}

/// Picks the point that best meets the objective at confidence `level`.
///
/// - A constraint `METRIC <= X` is met only when the upper bound of the metric's interval
///   is at most X (`>=`: the lower bound at least X): a mean that meets it by luck does
///   not.
/// - Of the points that meet every constraint, the one with the best mean wins, but every
///   point whose objective interval overlaps the winner's is a tie: the data cannot tell
///   them apart.
/// - A tie goes to the most conservative setting: the one whose policy rolls back a good
///   release least often (fewest false-positive rollbacks; for a threshold the higher one,
///   for a `for` or a window the longer one, for a count of failures the larger one),
///   whatever field is swept, because that is the measured meaning of "conservative" for
///   a rollback rule. Equal there, the simpler setting wins (fewer significant digits:
///   0.02 before 0.025), then the first in sweep order.
pub fn recommend(obj: &Objective, points: &[PointResult], level: f64) -> Recommendation {
    let j = Judge { obj, level };
    let better = |a: f64, b: f64| match obj.goal {
        Goal::Min => a < b,
        Goal::Max => a > b,
    };
    let feasible: Vec<(&PointResult, (f64, f64, f64))> = points
        .iter()
        .filter(|p| j.meets(p))
        .filter_map(|p| j.objective(p).map(|o| (p, o)))
        .collect();
    let mut best: Option<(&PointResult, (f64, f64, f64))> = None;
    for &(p, o) in &feasible {
        if best.is_none_or(|(_, b)| better(o.0, b.0)) {
            best = Some((p, o));
        }
    }
    let constraint_words = |p: &PointResult| -> String {
        obj.constraints
            .iter()
            .zip(j.judged(p))
            .map(|(c, jd)| j.words(&jd, c.op))
            .collect::<Vec<_>>()
            .join(" and ")
    };
    let Some((_, (_, blo, bhi))) = best else {
        return no_recommendation(&j, points);
    };
    let tied: Vec<&PointResult> = feasible
        .iter()
        .filter(|(_, (_, lo, hi))| *lo <= bhi && blo <= *hi)
        .map(|(p, _)| *p)
        .collect();
    let simpler = |p: &PointResult| p.values.iter().map(|(_, v)| digits(*v)).sum::<usize>();
    let Some(chosen) = tied.iter().copied().min_by(|a, b| {
        false_positives(a, &obj.target.policy)
            .total_cmp(&false_positives(b, &obj.target.policy))
            .then(simpler(a).cmp(&simpler(b)))
            .then(a.point.cmp(&b.point))
    }) else {
        return no_recommendation(&j, points);
    };
    let e = chosen.get(&obj.target);
    let tie_break = (tied.len() > 1).then(|| {
        let fp: Vec<f64> = tied
            .iter()
            .map(|p| false_positives(p, &obj.target.policy))
            .collect();
        let why = if fp.iter().any(|f| *f != fp[0]) {
            format!(
                "the most conservative (fewest false-positive rollbacks: {:.4} against up to {:.4})",
                false_positives(chosen, &obj.target.policy),
                fp.iter().copied().fold(f64::NEG_INFINITY, f64::max)
            )
        } else {
            "the simplest (equal false-positive rollbacks; fewest significant digits)".into()
        };
        format!(
            "{} values tie ({} intervals of {} overlap): {}; chose {}, {why}",
            tied.len(),
            pct(level),
            label(&obj.target),
            tied.iter()
                .map(|p| short(&p.values))
                .collect::<Vec<_>>()
                .join(", "),
            short(&chosen.values),
        )
    });
    let ci = |e: Option<Estimate>| match e {
        Some(e) => format!("{:.4} [{:.4}, {:.4}]", e.mean, e.ci95_low, e.ci95_high),
        None => "no data".into(),
    };
    let mut message = format!(
        "recommended: {} ({} = {}){}",
        show(&chosen.values),
        label(&obj.target),
        ci(e),
        if obj.constraints.is_empty() {
            String::new()
        } else {
            format!("; meets {}", constraint_words(chosen))
        }
    );
    if let Some(t) = &tie_break {
        message.push('\n');
        message.push_str(t);
    }
    Recommendation {
        met: true,
        point: Some(chosen.point),
        tied: tied.iter().map(|p| p.point).collect(),
        tie_break,
        constraints: j.judged(chosen),
        ..Recommendation::at(obj, level, &chosen.values, e)
    }
    .with_message(message)
}

/// No point meets the constraints: say so, and name the closest point (fewest
/// constraints broken, then the smallest excess of the judged bounds).
fn no_recommendation(j: &Judge<'_>, points: &[PointResult]) -> Recommendation {
    let obj = j.obj;
    let excess = |p: &PointResult| -> (usize, f64) {
        let mut broken = 0;
        let mut total = 0.0;
        for (c, jd) in obj.constraints.iter().zip(j.judged(p)) {
            match jd.bound {
                _ if jd.met => {}
                Some(b) => {
                    broken += 1;
                    total += (b - c.bound).abs();
                }
                None => {
                    broken += 1;
                    total = f64::INFINITY;
                }
            }
        }
        (broken, total)
    };
    let closest = points.iter().min_by(|a, b| {
        let (ba, ea) = excess(a);
        let (bb, eb) = excess(b);
        ba.cmp(&bb).then(ea.total_cmp(&eb))
    });
    let conds: Vec<String> = obj
        .constraints
        .iter()
        .map(|c| format!("{} {} {}", label(&c.target), c.op.text(), c.bound))
        .collect();
    let message = match closest {
        Some(p) if !conds.is_empty() => {
            let judged = j.judged(p);
            let lucky = obj
                .constraints
                .iter()
                .zip(&judged)
                .filter(|(c, jd)| !jd.met && jd.mean.is_some_and(|m| c.op.holds(m, c.bound)))
                .count();
            format!(
                "no swept value meets {} at {} confidence; the closest is {} with {}{}",
                conds.join(" and "),
                pct(j.level),
                show(&p.values),
                obj.constraints
                    .iter()
                    .zip(&judged)
                    .map(|(c, jd)| format!(
                        "{} = {}",
                        label(&c.target),
                        match (jd.mean, jd.bound) {
                            (Some(m), Some(b)) => format!("{m:.4} (bound {b:.4})"),
                            _ => "no data".into(),
                        }
                    ))
                    .collect::<Vec<_>>()
                    .join(", "),
                if lucky > 0 {
                    "; its mean meets the constraint but its interval does not, so more runs may settle it"
                } else {
                    ""
                }
            )
        }
        Some(_) => format!("no swept value has data for {}", label(&obj.target)),
        None => "the sweep has no points".into(),
    };
    Recommendation {
        value: None,
        value2: None,
        constraints: closest.map(|p| j.judged(p)).unwrap_or_default(),
        ..Recommendation::at(
            obj,
            j.level,
            closest.map(|p| p.values.as_slice()).unwrap_or(&[]),
            None,
        )
    }
    .with_message(message)
}

impl Recommendation {
    fn with_message(mut self, message: String) -> Self {
        self.message = message;
        self
    }

    fn at(obj: &Objective, level: f64, values: &[(String, f64)], est: Option<Estimate>) -> Self {
        Recommendation {
            objective: obj.text.clone(),
            confidence: level,
            policy: obj.target.policy.clone(),
            param: values.first().map(|v| v.0.clone()).unwrap_or_default(),
            value: values.first().map(|v| v.1),
            param2: values.get(1).map(|v| v.0.clone()),
            value2: values.get(1).map(|v| v.1),
            metric: obj.target.metric.clone(),
            mean: est.and_then(|e| finite(e.mean)),
            ci95_low: est.and_then(|e| finite(e.ci95_low)),
            ci95_high: est.and_then(|e| finite(e.ci95_high)),
            met: false,
            point: None,
            tied: vec![],
            tie_break: None,
            constraints: vec![],
            paste: vec![],
            message: String::new(),
        }
    }
}

#[cfg(test)]
mod tests;
