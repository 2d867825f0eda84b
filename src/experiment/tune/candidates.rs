//! The candidates of a tune as text: a `--param` and its values, a setting as it is
//! printed, and the scenario with the tuned policy copied once per candidate.

use super::TuneError;
use crate::experiment::sweep::Param;

/// One tuned parameter: a key of the tuned policy and its candidate values.
#[derive(Debug, Clone, PartialEq)]
pub struct TuneParam {
    pub key: String,
    pub values: Vec<f64>,
}

impl TuneParam {
    /// Parses `KEY=LOW..HIGH:POINTS` or `KEY=A,B,C` (the sweep's syntax), where KEY is a key
    /// of the policy (`error_rate_above`) or its full path (`policies.NAME.error_rate_above`).
    /// `KEY=LOW..HIGH` alone takes every whole number from LOW to HIGH when both are whole
    /// and at most 100 apart, else 9 evenly spaced values.
    pub fn parse(s: &str, policy: &str) -> Result<TuneParam, TuneError> {
        let (key, spec) = s.split_once('=').ok_or_else(|| {
            TuneError(format!(
                "--param {s:?}: no '='; expected KEY=LOW..HIGH[:POINTS] or KEY=A,B,C, e.g. failures=2..8 or error_rate_above=0.01..0.05:9"
            ))
        })?;
        let key = key.trim();
        let key = key
            .strip_prefix(&format!("policies.{policy}."))
            .unwrap_or(key)
            .to_string();
        if key.is_empty() || key.contains('.') || key == "name" || key == "kind" {
            return Err(TuneError(format!(
                "--param {s:?}: {key:?} is not a numeric key of policy {policy:?}; expected one of its keys, e.g. failures or error_rate_above"
            )));
        }
        let mut spec = spec.trim().to_string();
        if let Some((lo, hi)) = spec.split_once("..").filter(|_| !spec.contains(':')) {
            let whole = |x: &str| x.trim().parse::<i64>().ok();
            let points = match (whole(lo), whole(hi)) {
                (Some(a), Some(b)) if b >= a && b - a <= 100 => b - a + 1,
                _ => 9,
            };
            spec = format!("{spec}:{points}");
        }
        let p: Param = format!("{key}={spec}").parse().map_err(
            |e: crate::experiment::sweep::SweepError| TuneError(e.0.replace("PATH=", "KEY=")),
        )?;
        let mut values = p.values;
        values.dedup();
        Ok(TuneParam { key, values })
    }
}

/// One candidate: a value for each parameter, in parameter order.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub values: Vec<f64>,
}

/// The name of candidate `i`'s copy of `policy` in the combined scenario.
pub(super) fn copy_name(policy: &str, i: usize) -> String {
    format!("{policy}#{i}")
}

/// `key = value, key2 = value2`.
pub fn setting(params: &[TuneParam], values: &[f64]) -> String {
    params
        .iter()
        .zip(values)
        .map(|(p, v)| format!("{} = {v}", p.key))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The scenario text with the tuned policy's table once per candidate (named `NAME#i`)
/// and no other policy; the `[objective]` is dropped (the tune judges its own).
pub(super) fn combine(text: &str, policy: &str, copies: usize) -> Result<String, TuneError> {
    use toml_edit::{value, ArrayOfTables, DocumentMut, Item};
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e| TuneError(format!("the scenario is not valid TOML: {e}")))?;
    doc.remove("objective");
    let base = doc
        .get("policies")
        .and_then(Item::as_array_of_tables)
        .and_then(|a| {
            a.iter()
                .find(|t| t.get("name").and_then(Item::as_str) == Some(policy))
                .cloned()
        })
        .ok_or_else(|| {
            TuneError(format!(
                "policy {policy:?} is not a [[policies]] table of the scenario file (a tune edits the table)"
            ))
        })?;
    let mut all = ArrayOfTables::new();
    for i in 0..copies {
        let mut t = base.clone();
        t.insert("name", value(copy_name(policy, i)));
        all.push(t);
    }
    doc.insert("policies", Item::ArrayOfTables(all));
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_take_keys_or_paths_and_whole_ranges() {
        let p = TuneParam::parse("failures=2..6", "gate").expect("ok");
        assert_eq!(p.key, "failures");
        assert_eq!(p.values, vec![2.0, 3.0, 4.0, 5.0, 6.0]);
        let p = TuneParam::parse("policies.gate.error_rate_above=0.01..0.05", "gate").expect("ok");
        assert_eq!(p.key, "error_rate_above");
        assert_eq!(
            p.values,
            vec![0.01, 0.015, 0.02, 0.025, 0.03, 0.035, 0.04, 0.045, 0.05]
        );
        let p = TuneParam::parse("for=60,120", "gate").expect("ok");
        assert_eq!(p.values, vec![60.0, 120.0]);
        let e = TuneParam::parse("failures", "gate").unwrap_err().0;
        assert!(e.contains("no '='"), "{e}");
        let e = TuneParam::parse("policies.other.failures=1..3", "gate")
            .unwrap_err()
            .0;
        assert!(e.contains("is not a numeric key of policy \"gate\""), "{e}");
        let e = TuneParam::parse("failures=a..3", "gate").unwrap_err().0;
        assert!(e.contains("expected KEY=LOW..HIGH:POINTS"), "{e}");
    }
}
