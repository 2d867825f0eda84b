//! An Argo condition (`result < x`, `result[0] >= x`, ...) on what a query measures,
//! turned into the rollsim key and value that decide the same way.

use super::super::condition::{Cmp, Condition, Guard};
use super::super::promql::{self, Measure};
use super::super::Value;

/// Which rollsim signal a metric measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    ErrorRate,
    LatencyP99,
}

/// A condition turned into a rollsim key and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    pub signal: Signal,
    pub key: &'static str,
    pub value: Value,
    /// How the value follows from the condition.
    pub how: String,
    /// Where rollsim's test differs from Argo's, if it does.
    pub differs: Vec<String>,
}

/// The next float above `x` (so that `v <= x` is exactly `v < next_up(x)`).
pub(super) fn next_up(x: f64) -> f64 {
    if x.is_nan() || x == f64::INFINITY {
        return x;
    }
    if x == 0.0 {
        return f64::from_bits(1);
    }
    let b = x.to_bits();
    f64::from_bits(if x > 0.0 { b + 1 } else { b - 1 })
}

pub(super) fn next_down(x: f64) -> f64 {
    -next_up(-x)
}

/// Rounds to 12 significant digits, to undo float noise such as 1 − 0.95.
pub(super) fn tidy(x: f64) -> f64 {
    format!("{x:.11e}").parse().unwrap_or(x)
}

/// Turns `result <op> threshold` on a query measuring `measure` into a rollsim threshold;
/// `success` says whether it is the `successCondition`.
pub fn threshold(measure: Measure, success: bool, c: &Condition) -> Result<Mapped, String> {
    let role = if success {
        "successCondition"
    } else {
        "failureCondition"
    };
    let mut differs = Vec::new();
    let guard_text = match c.guard {
        Guard::None => None,
        Guard::EmptyIsTrue => Some(("an empty result", true)),
        Guard::NanIsTrue => Some(("a NaN result (0/0: no requests)", true)),
        Guard::EmptyIsFalse => Some(("an empty result", false)),
        Guard::NanIsFalse => Some(("a NaN result (0/0: no requests)", false)),
    };
    if let Some((what, holds)) = guard_text {
        let effect = match (success, holds) {
            (true, true) => "is a success",
            (false, true) => "is a failure",
            (true, false) => "is a failure",
            (false, false) => "is a success (or Inconclusive)",
        };
        differs.push(format!(
            "with its no-data guard, {what} {effect} in Argo; rollsim measures an interval without requests as an Error (consecutiveErrorLimit applies)"
        ));
    }
    let (op, t, what) = match measure {
        Measure::ErrorRatio { scale } => {
            let t = if scale == 1.0 {
                c.threshold
            } else {
                tidy(c.threshold / scale)
            };
            (c.op, t, "an error ratio")
        }
        Measure::SuccessRatio { scale } => {
            let y = c.threshold / scale;
            let flipped = match c.op {
                Cmp::Ge => Cmp::Le,
                Cmp::Gt => Cmp::Lt,
                Cmp::Le => Cmp::Ge,
                Cmp::Lt => Cmp::Gt,
            };
            (flipped, tidy(1.0 - y), "a success ratio")
        }
        Measure::Latency { quantile, to_ms } => {
            if (quantile - 0.99).abs() > 1e-9 {
                return Err(format!(
                    "rollsim's latency signal is the p99; a {} latency is not modelled",
                    promql::quantile_name(quantile)
                ));
            }
            let ms = c.threshold * to_ms;
            let (key, ok) = if success {
                (
                    "success_latency_p99_below",
                    matches!(c.op, Cmp::Lt | Cmp::Le),
                )
            } else {
                (
                    "failure_latency_p99_above",
                    matches!(c.op, Cmp::Gt | Cmp::Ge),
                )
            };
            if !ok {
                return Err(format!(
                    "a {role} that {} on a high latency cannot be modelled",
                    if success { "passes" } else { "fails" }
                ));
            }
            let whole = ms.round();
            if whole > super::super::MAX_MS as f64 {
                return Err(format!(
                    "a latency limit of {ms} ms is out of range (over 10 years)"
                ));
            }
            if whole < 1.0 {
                return Err(format!(
                    "a latency limit of {ms} ms is below rollsim's 1 ms resolution"
                ));
            }
            if (ms - whole).abs() > 1e-9 {
                differs.push(format!("{ms} ms is rounded to {whole} ms (rollsim's latency limits are whole milliseconds)"));
            }
            if matches!(c.op, Cmp::Le | Cmp::Ge) {
                differs.push(format!(
                    "`{}` is read as `{}`: rollsim's latency limits are strict; they differ only at exactly {whole} ms",
                    c.op.symbol(),
                    if success { "<" } else { ">" }
                ));
            }
            return Ok(Mapped {
                signal: Signal::LatencyP99,
                key,
                value: Value::Dur(whole as u64),
                how: format!(
                    "{role} on a p99 latency: p99 {} {whole} ms",
                    if success { "<" } else { ">" }
                ),
                differs,
            });
        }
    };
    let (key, value, rel) = match (success, op) {
        (true, Cmp::Lt) => ("success_error_rate_below", t, format!("< {t}")),
        (true, Cmp::Le) => (
            "success_error_rate_below",
            next_up(t),
            format!("<= {t}, written as < the next float up"),
        ),
        (false, Cmp::Gt) => ("failure_error_rate_above", t, format!("> {t}")),
        (false, Cmp::Ge) => (
            "failure_error_rate_above",
            next_down(t),
            format!(">= {t}, written as > the next float down"),
        ),
        _ => {
            return Err(format!(
                "a {role} that {} on a high error ratio cannot be modelled",
                if success { "passes" } else { "fails" }
            ))
        }
    };
    if success && value > 1.0 {
        return Err(format!(
            "it always holds (error ratio {rel}; a ratio is at most 1)"
        ));
    }
    if !success && value < 0.0 {
        return Err(format!(
            "it always holds (error ratio {rel}; a ratio is at least 0)"
        ));
    }
    if !(0.0..=1.0).contains(&value) {
        return Err(format!("error ratio {rel} is outside [0, 1]"));
    }
    Ok(Mapped {
        signal: Signal::ErrorRate,
        key,
        value: Value::Float(value),
        how: format!("{role} on {what}: error ratio {rel}"),
        differs,
    })
}
