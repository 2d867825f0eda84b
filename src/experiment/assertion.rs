//! CI gates: `--assert 'false_positive_rollbacks@gate <= 0.02'` on `run`, `compare` and
//! `sweep`, so a pipeline can refuse a policy change that makes things worse.
//!
//! An assertion is a constraint in the objective's grammar (`METRIC[@POLICY] OP NUMBER`,
//! [`super::objective::parse_constraint`]). By default it is judged as the objective's
//! constraints are: `<=`/`<` on the upper bound of the metric's 95% interval, `>=`/`>` on
//! the lower one, so a mean that passes by luck does not pass the gate; `--assert-on mean`
//! judges the mean instead (a gate that flips with the seed, for the brave). No I/O here:
//! the commands print [`Checked::line`] and map a failure to their exit code.

use super::objective::{parse_constraint, Constraint, Op};
use super::recommend::interval;
use super::stats::Estimate;
use serde::Serialize;

/// What an assertion is judged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum On {
    /// The interval bound on the side the comparison is strict about (upper for `<=`).
    #[default]
    Bound,
    /// The mean over the runs.
    Mean,
}

/// A parsed `--assert`.
#[derive(Debug, Clone, PartialEq)]
pub struct Assertion {
    /// As written on the command line.
    pub text: String,
    pub constraint: Constraint,
}

/// Parses one `--assert`; `default_policy` is the policy a metric without `@POLICY` refers
/// to (the swept or tuned one), else the scenario's only policy.
pub fn parse(
    text: &str,
    default_policy: Option<&str>,
    policies: &[String],
) -> Result<Assertion, String> {
    let constraint = parse_constraint(text.trim(), default_policy, policies).map_err(|e| {
        format!("--assert {text:?}: {e}; expected METRIC[@POLICY] OP NUMBER with OP one of <=, >=, <, >, e.g. 'false_positive_rollbacks@gate <= 0.02'")
    })?;
    Ok(Assertion {
        text: text.trim().to_string(),
        constraint,
    })
}

/// An assertion judged on one set of estimates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Checked {
    /// The assertion, its metric qualified: `false_positive_rollbacks@gate <= 0.02`.
    pub what: String,
    /// Where it was judged, for a sweep (`at threshold = 0.02`); empty otherwise.
    pub at: String,
    /// What the value is: `upper 95% bound` or `mean`.
    pub judged_on: String,
    /// The value judged; `None` when no run had a value for the metric.
    pub value: Option<f64>,
    pub mean: Option<f64>,
    pub holds: bool,
}

impl Checked {
    /// The summary line: a check mark or a cross, the assertion, and the value judged.
    pub fn line(&self) -> String {
        let mark = if self.holds { "✓" } else { "✗" };
        let at = if self.at.is_empty() {
            String::new()
        } else {
            format!(" {}", self.at)
        };
        match (self.value, self.mean) {
            (Some(v), Some(m)) if self.judged_on != "mean" => format!(
                "{mark} {}{at}: {} {v:.4} (mean {m:.4})",
                self.what, self.judged_on
            ),
            (Some(v), _) => format!("{mark} {}{at}: {} {v:.4}", self.what, self.judged_on),
            _ => format!("{mark} {}{at}: no run had a value", self.what),
        }
    }
}

/// Judges `a` on `estimate` (the estimate of its target, if any) at confidence `level`.
pub fn judge(a: &Assertion, estimate: Option<Estimate>, on: On, level: f64) -> Checked {
    let c = &a.constraint;
    let e = estimate.filter(|e| e.n > 0 && e.mean.is_finite());
    let strict_upper = matches!(c.op, Op::Le | Op::Lt);
    let value = e.map(|e| match on {
        On::Mean => e.mean,
        On::Bound => {
            let (lo, hi) = interval(&e, &c.target.metric, level);
            if strict_upper {
                hi
            } else {
                lo
            }
        }
    });
    let value = value.filter(|v| v.is_finite());
    let pct = (level * 1000.0).round() / 10.0;
    let judged_on = match (on, strict_upper) {
        (On::Mean, _) => "mean".to_string(),
        (On::Bound, true) => format!("upper {pct}% bound"),
        (On::Bound, false) => format!("lower {pct}% bound"),
    };
    Checked {
        what: format!(
            "{}@{} {} {}",
            c.target.metric,
            c.target.policy,
            c.op.text(),
            c.bound
        ),
        at: String::new(),
        judged_on,
        value,
        mean: e.map(|e| e.mean),
        holds: value.is_some_and(|v| c.op.holds(v, c.bound)),
    }
}

/// `n of m assertions failed: ...` when any failed, for the command's error.
pub fn failures(checked: &[Checked]) -> Option<String> {
    let failed: Vec<&Checked> = checked.iter().filter(|c| !c.holds).collect();
    if failed.is_empty() {
        return None;
    }
    Some(format!(
        "{} of {} assertions failed: {}",
        failed.len(),
        checked.len(),
        failed
            .iter()
            .map(|c| format!(
                "{}{}",
                c.what,
                if c.at.is_empty() {
                    String::new()
                } else {
                    format!(" {}", c.at)
                }
            ))
            .collect::<Vec<_>>()
            .join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policies() -> Vec<String> {
        vec!["gate".into(), "other".into()]
    }

    fn est(mean: f64, lo: f64, hi: f64) -> Option<Estimate> {
        Some(Estimate {
            mean,
            ci95_low: lo,
            ci95_high: hi,
            n: 400,
        })
    }

    #[test]
    fn upper_bound_for_at_most_lower_bound_for_at_least() {
        let a = parse("false_positive_rollbacks@gate <= 0.02", None, &policies()).expect("ok");
        // The mean passes, the upper bound does not: the gate fails.
        let c = judge(&a, est(0.015, 0.007, 0.031), On::Bound, 0.95);
        assert!(!c.holds);
        assert_eq!(c.value, Some(0.031));
        assert_eq!(
            c.line(),
            "✗ false_positive_rollbacks@gate <= 0.02: upper 95% bound 0.0310 (mean 0.0150)"
        );
        let c = judge(&a, est(0.015, 0.007, 0.031), On::Mean, 0.95);
        assert!(c.holds);
        assert_eq!(
            c.line(),
            "✓ false_positive_rollbacks@gate <= 0.02: mean 0.0150"
        );
        let a = parse("rollbacks@other >= 0.5", None, &policies()).expect("ok");
        let c = judge(&a, est(0.6, 0.52, 0.68), On::Bound, 0.95);
        assert!(c.holds);
        assert_eq!(c.judged_on, "lower 95% bound");
        assert_eq!(c.value, Some(0.52));
    }

    #[test]
    fn no_data_fails_and_says_so() {
        let a = parse("downtime_s@gate < 60", None, &policies()).expect("ok");
        let c = judge(&a, None, On::Bound, 0.95);
        assert!(!c.holds);
        assert_eq!(c.line(), "✗ downtime_s@gate < 60: no run had a value");
        assert_eq!(
            failures(&[c]).as_deref(),
            Some("1 of 1 assertions failed: downtime_s@gate < 60")
        );
    }

    #[test]
    fn malformed_assertions_say_what_was_expected() {
        let e = parse("false_positive_rollbacks <= 0.02", None, &policies()).unwrap_err();
        assert!(
            e.starts_with("--assert \"false_positive_rollbacks <= 0.02\": which policy's"),
            "{e}"
        );
        assert!(e.contains("expected METRIC[@POLICY] OP NUMBER"), "{e}");
        let e = parse("fpr@gate <= 0.02", None, &policies()).unwrap_err();
        assert!(e.contains("\"fpr\" is not a metric"), "{e}");
        let e = parse("downtime_s@gate == 3", None, &policies()).unwrap_err();
        assert!(e.contains("unknown comparison \"==\""), "{e}");
        let e = parse("downtime_s@gate <= lots", None, &policies()).unwrap_err();
        assert!(e.contains("\"lots\" in"), "{e}");
        let a = parse("downtime_s <= 5", Some("gate"), &policies()).expect("default policy");
        assert_eq!(a.constraint.target.policy, "gate");
    }
}
