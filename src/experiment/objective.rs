//! Sweep objectives: "min downtime_s s.t. false_positive_rollbacks <= 0.01", and the
//! recommended sweep point that meets them.
//!
//! Grammar: `(min|max) METRIC[@POLICY] [s.t. METRIC[@POLICY] OP NUMBER (and ...)*]` with
//! OP one of `<=`, `>=`, `<`, `>`. Without `@POLICY` a metric refers to the policy the
//! sweep tunes (named in the first `--param` path) or to the only policy. Constraints are
//! judged on the bound of their interval, and values the data cannot tell apart are ties
//! broken toward the conservative setting (see [`recommend`]).

use crate::outcome::RunRecord;

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
    pub(crate) fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Le => a <= b,
            Op::Ge => a >= b,
            Op::Lt => a < b,
            Op::Gt => a > b,
        }
    }
    pub(crate) fn text(self) -> &'static str {
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
    if let Some((p, service)) = policy
        .split_once('@')
        .filter(|(p, _)| policies.iter().any(|q| q == p))
    {
        return Err(format!(
            "{metric}@{policy} names service {service:?}'s row of policy {p:?}: objectives, constraints and --assert judge a policy's row, which in a system is the whole system's; write {metric}@{p}"
        ));
    }
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
            constraints.push(parse_constraint(part, default_policy, policies)?);
        }
    }
    Ok(Objective {
        text: text.to_string(),
        goal,
        target: target(metric, default_policy, policies)?,
        constraints,
    })
}

/// Parses one constraint, `METRIC[@POLICY] OP NUMBER` (OP one of `<=`, `>=`, `<`, `>`):
/// the objective's `s.t.` clauses and the `--assert` gates share this grammar.
pub fn parse_constraint(
    part: &str,
    default_policy: Option<&str>,
    policies: &[String],
) -> Result<Constraint, String> {
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
        .ok()
        .filter(|b: &f64| b.is_finite())
        .ok_or_else(|| format!("{v:?} in {part:?} is not a number"))?;
    Ok(Constraint {
        target: target(m, default_policy, policies)?,
        op,
        bound,
    })
}

pub use super::recommend::{
    check_confidence, interval, recommend, Judged, Paste, PointResult, Recommendation,
    DEFAULT_CONFIDENCE,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn policies() -> Vec<String> {
        vec!["a".into(), "b".into()]
    }

    #[test]
    fn a_services_row_is_refused_naming_the_policys_row() {
        let e = parse(
            "min failed_requests s.t. missed_bad_release@b@payments <= 0.1",
            Some("a"),
            &policies(),
        )
        .expect_err("a service's row");
        assert_eq!(
            e,
            "missed_bad_release@b@payments names service \"payments\"'s row of policy \"b\": objectives, constraints and --assert judge a policy's row, which in a system is the whole system's; write missed_bad_release@b"
        );
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
}
