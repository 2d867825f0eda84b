//! `--assert` on `run`, `compare`, `sweep` and `tune`: the gates are parsed before anything
//! runs or is written (a malformed one is a flag error, exit 2), judged on the results
//! ([`rollsim::experiment::assertion`]), printed one line each with a check or a cross,
//! and a failed one ends the command with exit code 3 after every output is written.

use super::args::{AssertOn, GateArgs};
use super::UsageError;
use anyhow::Result;
use rollsim::experiment::assertion::{self, Assertion, Checked, On};
use rollsim::experiment::objective::{Op, PointResult};
use rollsim::experiment::stats::Estimate;
use rollsim::experiment::Summary;
use std::io::Write;

/// Exit code when an `--assert` fails (the outputs are written).
pub const EXIT_ASSERTION_FAILED: i32 = 3;

/// At least one `--assert` failed; the message names them.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AssertionFailed(pub String);

/// The checked `--assert` flags.
#[derive(Debug, Clone, Default)]
pub struct Gates {
    pub list: Vec<Assertion>,
    pub on: On,
}

impl Gates {
    /// Parses every `--assert`; `default_policy` is the policy a bare metric refers to.
    pub fn check(a: &GateArgs, default_policy: Option<&str>, policies: &[String]) -> Result<Gates> {
        let list = a
            .asserts
            .iter()
            .map(|t| assertion::parse(t, default_policy, policies))
            .collect::<Result<Vec<_>, _>>()
            .map_err(UsageError)?;
        let on = match a.assert_on {
            AssertOn::Bound => On::Bound,
            AssertOn::Mean => On::Mean,
        };
        Ok(Gates { list, on })
    }

    /// Each gate judged on an experiment's summary (95% intervals).
    pub fn on_summary(&self, s: &Summary) -> Vec<Checked> {
        self.list
            .iter()
            .map(|a| {
                let t = &a.constraint.target;
                let e = s
                    .policies
                    .iter()
                    .find(|p| p.policy == t.policy)
                    .and_then(|p| p.metrics.iter().find(|(m, _)| *m == t.metric))
                    .map(|(_, e)| *e);
                assertion::judge(a, e, self.on, 0.95)
            })
            .collect()
    }

    /// Each gate judged on sweep points at `level`: at the recommended point when there is
    /// one, else at every point (it holds only if it holds at each; the line names the
    /// worst point).
    pub fn on_points(
        &self,
        points: &[PointResult],
        recommended: Option<usize>,
        level: f64,
    ) -> Vec<Checked> {
        let name = |p: &PointResult| -> String {
            let v: Vec<String> = p.values.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            v.join(", ")
        };
        let chosen: Vec<&PointResult> = match recommended {
            Some(i) => points.iter().filter(|p| p.point == i).collect(),
            None => points.iter().collect(),
        };
        let mut out = Vec::new();
        for a in &self.list {
            let t = &a.constraint.target;
            let judged: Vec<(&PointResult, Checked)> = chosen
                .iter()
                .map(|p| {
                    let e: Option<Estimate> = p
                        .estimates
                        .get(&(t.policy.clone(), t.metric.clone()))
                        .copied();
                    (*p, assertion::judge(a, e, self.on, level))
                })
                .collect();
            // The worst point: a failing one first, then the value farthest past the bound.
            let upper = matches!(a.constraint.op, Op::Le | Op::Lt);
            let badness = |c: &Checked| -> f64 {
                match c.value {
                    None => f64::INFINITY,
                    Some(v) if upper => v,
                    Some(v) => -v,
                }
            };
            let failed = judged.iter().filter(|(_, c)| !c.holds).count();
            let Some((p, worst)) = judged.iter().max_by(|(_, x), (_, y)| {
                (!x.holds)
                    .cmp(&!y.holds)
                    .then(badness(x).total_cmp(&badness(y)))
            }) else {
                continue;
            };
            let mut c = worst.clone();
            c.at = match (recommended, judged.len()) {
                (Some(_), _) => format!("at the recommended {}", name(p)),
                (None, 1) => format!("at {}", name(p)),
                (None, n) if failed == 0 => format!("at all {n} points (closest at {})", name(p)),
                (None, n) => format!("fails at {failed} of {n} points (worst at {})", name(p)),
            };
            out.push(c);
        }
        out
    }
}

/// Prints one line per judged gate (on stdout, or on stderr when stdout carries JSON or a
/// table for machines) and fails with [`AssertionFailed`] when any gate failed.
pub fn finish(checked: &[Checked], stdout: bool) -> Result<()> {
    if checked.is_empty() {
        return Ok(());
    }
    let mut text = String::from("\nassertions:\n");
    for c in checked {
        text.push_str("  ");
        text.push_str(&c.line());
        text.push('\n');
    }
    if stdout {
        // A reader that left early (`| head`) does not change the exit code.
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    } else {
        super::note(text.trim_end());
    }
    match assertion::failures(checked) {
        Some(m) => Err(AssertionFailed(m).into()),
        None => Ok(()),
    }
}
