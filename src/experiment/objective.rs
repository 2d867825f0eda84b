//! Sweep objectives: "min downtime_s s.t. false_positive_rollbacks <= 0.01", and the
//! recommended sweep point that meets them.
//!
//! Grammar: `(min|max) METRIC[@POLICY] [s.t. METRIC[@POLICY] OP NUMBER (and ...)*]` with
//! OP one of `<=`, `>=`, `<`, `>`. Without `@POLICY` a metric refers to the policy the
//! sweep tunes (named in the first `--param` path) or to the only policy. Constraints are
//! judged on the mean; the recommendation carries the confidence intervals so a reader
//! can see how sure it is.

use super::stats::Estimate;
use crate::outcome::RunRecord;
use serde::Serialize;
use std::collections::BTreeMap;

/// Minimise or maximise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    Min,
    Max,
}

/// A comparison in a constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Le,
    Ge,
    Lt,
    Gt,
}

impl Op {
    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Le => a <= b,
            Op::Ge => a >= b,
            Op::Lt => a < b,
            Op::Gt => a > b,
        }
    }
    fn text(self) -> &'static str {
        match self {
            Op::Le => "<=",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Gt => ">",
        }
    }
}

/// A metric of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub metric: String,
    pub policy: String,
}

/// One constraint.
#[derive(Debug, Clone, PartialEq)]
pub struct Constraint {
    pub target: Target,
    pub op: Op,
    pub bound: f64,
}

/// A parsed objective.
#[derive(Debug, Clone, PartialEq)]
pub struct Objective {
    pub text: String,
    pub goal: Goal,
    pub target: Target,
    pub constraints: Vec<Constraint>,
}

fn target(s: &str, default_policy: Option<&str>, policies: &[String]) -> Result<Target, String> {
    let (metric, policy) = match s.split_once('@') {
        Some((m, p)) => (m, Some(p)),
        None => (s, None),
    };
    if !RunRecord::METRICS.iter().any(|m| m.0 == metric) {
        let names: Vec<&str> = RunRecord::METRICS.iter().map(|m| m.0).collect();
        return Err(format!(
            "{metric:?} is not a metric; expected one of {}",
            names.join(", ")
        ));
    }
    let policy = match policy.or(default_policy) {
        Some(p) => p.to_string(),
        None if policies.len() == 1 => policies[0].clone(),
        None => {
            return Err(format!(
                "which policy's {metric}? write {metric}@POLICY with POLICY one of {}",
                policies.join(", ")
            ))
        }
    };
    if !policies.contains(&policy) {
        return Err(format!(
            "{policy:?} is not a policy of this scenario; expected one of {}",
            policies.join(", ")
        ));
    }
    Ok(Target {
        metric: metric.to_string(),
        policy,
    })
}

/// Parses an objective; `default_policy` is the policy the sweep tunes, if any.
pub fn parse(
    text: &str,
    default_policy: Option<&str>,
    policies: &[String],
) -> Result<Objective, String> {
    let expected = "expected \"min METRIC[@POLICY] [s.t. METRIC[@POLICY] <= VALUE [and ...]]\"";
    let (head, tail) = match text.split_once(" s.t. ") {
        Some((h, t)) => (h, Some(t)),
        None => (text, None),
    };
    let words: Vec<&str> = head.split_whitespace().collect();
    let (goal, metric) = match words.as_slice() {
        ["min", m] => (Goal::Min, *m),
        ["max", m] => (Goal::Max, *m),
        _ => return Err(format!("cannot read objective {text:?}; {expected}")),
    };
    let mut constraints = Vec::new();
    if let Some(tail) = tail {
        for part in tail.split(" and ") {
            let w: Vec<&str> = part.split_whitespace().collect();
            let [m, op, v] = w.as_slice() else {
                return Err(format!(
                    "cannot read constraint {part:?}; expected METRIC <= VALUE"
                ));
            };
            let op = match *op {
                "<=" => Op::Le,
                ">=" => Op::Ge,
                "<" => Op::Lt,
                ">" => Op::Gt,
                _ => {
                    return Err(format!(
                        "unknown comparison {op:?} in {part:?}; expected <=, >=, < or >"
                    ))
                }
            };
            let bound: f64 = v
                .parse()
                .map_err(|_| format!("{v:?} in {part:?} is not a number"))?;
            constraints.push(Constraint {
                target: target(m, default_policy, policies)?,
                op,
                bound,
            });
        }
    }
    Ok(Objective {
        text: text.to_string(),
        goal,
        target: target(metric, default_policy, policies)?,
        constraints,
    })
}

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
    }
}

/// An estimate with its label, for the recommendation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Judged {
    pub what: String,
    pub mean: Option<f64>,
    pub ci95_low: Option<f64>,
    pub ci95_high: Option<f64>,
    pub met: bool,
}

/// The recommended sweep point, or why there is none (`recommendation.json`; the report
/// reads it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    pub objective: String,
    /// The policy whose metric the objective optimises.
    pub policy: String,
    /// The swept parameter(s) and the recommended value(s); for no recommendation, the
    /// closest point's values.
    pub param: String,
    pub value: Option<f64>,
    pub param2: Option<String>,
    pub value2: Option<f64>,
    /// The objective's metric and its estimate at the recommended point.
    pub metric: String,
    pub mean: Option<f64>,
    pub ci95_low: Option<f64>,
    pub ci95_high: Option<f64>,
    /// Whether some point meets every constraint.
    pub met: bool,
    pub point: Option<usize>,
    pub constraints: Vec<Judged>,
    pub message: String,
}

impl Recommendation {
    fn with_message(mut self, message: String) -> Self {
        self.message = message;
        self
    }

    fn at(obj: &Objective, values: &[(String, f64)], est: Option<Estimate>) -> Self {
        Recommendation {
            objective: obj.text.clone(),
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
            constraints: vec![],
            message: String::new(),
        }
    }
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn judged(what: String, e: Option<Estimate>, met: bool) -> Judged {
    Judged {
        what,
        mean: e.and_then(|e| finite(e.mean)),
        ci95_low: e.and_then(|e| finite(e.ci95_low)),
        ci95_high: e.and_then(|e| finite(e.ci95_high)),
        met,
    }
}

fn show(p: &[(String, f64)]) -> String {
    p.iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn ci(e: Option<Estimate>) -> String {
    match e {
        Some(e) if e.n > 0 => format!("{:.4} [{:.4}, {:.4}]", e.mean, e.ci95_low, e.ci95_high),
        _ => "no data".into(),
    }
}

/// Picks the point that best meets the objective.
pub fn recommend(obj: &Objective, points: &[PointResult]) -> Recommendation {
    let meets = |p: &PointResult| {
        obj.constraints.iter().all(|c| {
            p.get(&c.target)
                .is_some_and(|e| e.n > 0 && c.op.holds(e.mean, c.bound))
        })
    };
    let score = |p: &PointResult| p.get(&obj.target).filter(|e| e.n > 0).map(|e| e.mean);
    let better = |a: f64, b: f64| match obj.goal {
        Goal::Min => a < b,
        Goal::Max => a > b,
    };
    let mut best: Option<(&PointResult, f64)> = None;
    for p in points.iter().filter(|p| meets(p)) {
        if let Some(s) = score(p) {
            if best.is_none_or(|(_, b)| better(s, b)) {
                best = Some((p, s));
            }
        }
    }
    let label = |t: &Target| format!("{}@{}", t.metric, t.policy);
    let describe = |p: &PointResult| -> Vec<Judged> {
        obj.constraints
            .iter()
            .map(|c| {
                let e = p.get(&c.target);
                let met = e.is_some_and(|e| e.n > 0 && c.op.holds(e.mean, c.bound));
                judged(
                    format!("{} {} {}", label(&c.target), c.op.text(), c.bound),
                    e,
                    met,
                )
            })
            .collect()
    };
    match best {
        Some((p, _)) => {
            let e = p.get(&obj.target);
            Recommendation {
                met: true,
                point: Some(p.point),
                constraints: describe(p),
                ..Recommendation::at(obj, &p.values, e)
            }
            .with_message(format!(
                "recommended: {} ({} = {}){}",
                show(&p.values),
                label(&obj.target),
                ci(e),
                if obj.constraints.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; meets {}",
                        describe(p)
                            .iter()
                            .map(|j| format!(
                                "{} (mean {})",
                                j.what,
                                j.mean.map(|m| format!("{m:.4}")).unwrap_or_default()
                            ))
                            .collect::<Vec<_>>()
                            .join(" and ")
                    )
                }
            ))
        }
        None => {
            // The closest point: the fewest constraints broken, then the smallest excess.
            let excess = |p: &PointResult| -> (usize, f64) {
                let mut broken = 0;
                let mut total = 0.0;
                for c in &obj.constraints {
                    match p.get(&c.target).filter(|e| e.n > 0) {
                        Some(e) if c.op.holds(e.mean, c.bound) => {}
                        Some(e) => {
                            broken += 1;
                            total += (e.mean - c.bound).abs();
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
                Some(p) => format!(
                    "no swept value meets {}; the closest is {} with {}",
                    conds.join(" and "),
                    show(&p.values),
                    describe(p)
                        .iter()
                        .map(|j| format!(
                            "{} = {}",
                            j.what.split(' ').next().unwrap_or(""),
                            j.mean
                                .map(|m| format!("{m:.4}"))
                                .unwrap_or("no data".into())
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None => "the sweep has no points".into(),
            };
            Recommendation {
                value: None,
                value2: None,
                constraints: closest.map(describe).unwrap_or_default(),
                ..Recommendation::at(
                    obj,
                    closest.map(|p| p.values.as_slice()).unwrap_or(&[]),
                    None,
                )
            }
            .with_message(message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policies() -> Vec<String> {
        vec!["a".into(), "b".into()]
    }

    fn point(i: usize, v: f64, down: f64, fp: f64) -> PointResult {
        let e = |m: f64| Estimate {
            mean: m,
            ci95_low: m - 1.0,
            ci95_high: m + 1.0,
            n: 100,
        };
        let mut estimates = BTreeMap::new();
        estimates.insert(("a".into(), "downtime_s".into()), e(down));
        estimates.insert(("a".into(), "false_positive_rollbacks".into()), e(fp));
        PointResult {
            point: i,
            values: vec![("x".into(), v)],
            estimates,
        }
    }

    #[test]
    fn parses_the_documented_form() {
        let o = parse(
            "min downtime_s s.t. false_positive_rollbacks <= 0.01",
            Some("a"),
            &policies(),
        )
        .expect("parse");
        assert_eq!(o.goal, Goal::Min);
        assert_eq!(
            o.target,
            Target {
                metric: "downtime_s".into(),
                policy: "a".into()
            }
        );
        assert_eq!(o.constraints[0].op, Op::Le);
        assert_eq!(o.constraints[0].bound, 0.01);
        let o = parse("max rollbacks@b", None, &policies()).expect("parse");
        assert_eq!(o.target.policy, "b");
        assert!(parse("min nothing", Some("a"), &policies())
            .unwrap_err()
            .contains("is not a metric"));
        assert!(parse("min downtime_s", None, &policies())
            .unwrap_err()
            .contains("which policy"));
        assert!(parse("lowest downtime_s", Some("a"), &policies())
            .unwrap_err()
            .contains("cannot read objective"));
    }

    #[test]
    fn recommends_the_best_point_that_meets_the_constraints() {
        let o = parse(
            "min downtime_s s.t. false_positive_rollbacks <= 0.01",
            Some("a"),
            &policies(),
        )
        .expect("parse");
        let pts = [
            point(0, 1.0, 10.0, 0.05),
            point(1, 2.0, 20.0, 0.009),
            point(2, 3.0, 30.0, 0.001),
        ];
        let r = recommend(&o, &pts);
        assert!(r.met);
        assert_eq!(r.point, Some(1));
        assert!(r.message.starts_with("recommended: x = 2"), "{}", r.message);
    }

    #[test]
    fn says_plainly_when_nothing_meets_the_constraint() {
        let o = parse(
            "min downtime_s s.t. false_positive_rollbacks <= 0.001",
            Some("a"),
            &policies(),
        )
        .expect("parse");
        let pts = [point(0, 1.0, 10.0, 0.05), point(1, 2.0, 20.0, 0.002)];
        let r = recommend(&o, &pts);
        assert!(!r.met);
        assert_eq!(r.point, None);
        assert!(
            r.message.starts_with(
                "no swept value meets false_positive_rollbacks@a <= 0.001; the closest is x = 2"
            ),
            "{}",
            r.message
        );
    }
}
