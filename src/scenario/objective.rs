//! The scenario's `[objective]`: what "best" means for the verdict of `run` and `compare`.
//!
//! ```toml
//! [objective]
//! minimize = "downtime_s"                               # or maximize = "..."
//! subject_to = ["false_positive_rollbacks <= 0.05"]     # optional
//! ```
//!
//! It is the sweep's objective written as a table, and is turned into that very syntax
//! (`min downtime_s s.t. false_positive_rollbacks <= 0.05`), so `--objective` and the
//! table mean the same thing.

use super::span::{Problem, Seg};
use serde::Deserialize;

/// `[objective]` as written.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawObjective {
    /// The metric to make as small as possible, e.g. "downtime_s" (or "downtime_s@gate").
    pub minimize: Option<String>,
    /// The metric to make as large as possible.
    pub maximize: Option<String>,
    /// Constraints, each "METRIC[@POLICY] <= VALUE" (or >=, <, >).
    #[serde(default)]
    pub subject_to: Vec<String>,
}

impl RawObjective {
    /// The objective in the sweep's syntax, or what is wrong with the table.
    pub fn text(&self) -> Result<String, String> {
        let head = match (&self.minimize, &self.maximize) {
            (Some(m), None) => format!("min {}", m.trim()),
            (None, Some(m)) => format!("max {}", m.trim()),
            (Some(_), Some(_)) => {
                return Err("objective: give minimize or maximize, not both".into())
            }
            (None, None) => {
                return Err(
                    "objective: expected minimize = \"METRIC\" or maximize = \"METRIC\"".into(),
                )
            }
        };
        if self.subject_to.is_empty() {
            Ok(head)
        } else {
            let cs: Vec<&str> = self.subject_to.iter().map(|c| c.trim()).collect();
            Ok(format!("{head} s.t. {}", cs.join(" and ")))
        }
    }
}

/// Checks `[objective]` against the scenario's policies: the metric names, the
/// constraints' syntax and `@POLICY` names (the grammar of
/// `experiment::objective::parse`, which reads the text again when the verdict is made).
/// Problems point at the key at fault.
pub(super) fn check(raw: &RawObjective, policies: &[String]) -> Result<String, Problem> {
    let key = if raw.maximize.is_some() && raw.minimize.is_none() {
        "maximize"
    } else {
        "minimize"
    };
    let problem = |k: &'static str, message: String| Problem {
        path: vec![Seg::Key("objective"), Seg::Key(k)],
        message: format!("objective: {message}"),
    };
    let text = raw
        .text()
        .map_err(|m| problem(key, m.trim_start_matches("objective: ").to_string()))?;
    let goal = raw
        .minimize
        .as_deref()
        .or(raw.maximize.as_deref())
        .unwrap_or("");
    target(goal.trim(), policies).map_err(|m| problem(key, m))?;
    for c in &raw.subject_to {
        let w: Vec<&str> = c.split_whitespace().collect();
        let [m, op, v] = w.as_slice() else {
            return Err(problem(
                "subject_to",
                format!("cannot read constraint {c:?}; expected \"METRIC <= VALUE\""),
            ));
        };
        if !["<=", ">=", "<", ">"].contains(op) {
            return Err(problem(
                "subject_to",
                format!("unknown comparison {op:?} in {c:?}; expected <=, >=, < or >"),
            ));
        }
        if v.parse::<f64>().map_or(true, |x| !x.is_finite()) {
            return Err(problem(
                "subject_to",
                format!("{v:?} in {c:?} is not a number"),
            ));
        }
        target(m, policies).map_err(|m| problem("subject_to", m))?;
    }
    Ok(text)
}

/// `METRIC[@POLICY]`: a metric name, and a policy of the scenario if named. Whether the
/// metric exists is checked by the commands that make a verdict (`scenario` may not
/// import the outcome's list of metrics), before anything runs.
fn target(s: &str, policies: &[String]) -> Result<(), String> {
    let (metric, policy) = match s.split_once('@') {
        Some((m, p)) => (m, Some(p)),
        None => (s, None),
    };
    if metric.is_empty()
        || !metric
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(format!(
            "{metric:?} is not a metric name; expected a column of summary.csv such as \"downtime_s\""
        ));
    }
    if let Some(p) = policy {
        if let Some((q, service)) = p
            .split_once('@')
            .filter(|(q, _)| policies.iter().any(|r| r == q))
        {
            return Err(format!(
                "{metric}@{p} names service {service:?}'s row of policy {q:?}: objectives and constraints judge a policy's row, which in a system is the whole system's; write {metric}@{q}"
            ));
        }
        if !policies.iter().any(|q| q == p) {
            return Err(format!(
                "{p:?} is not a policy of this scenario; expected one of {}",
                policies.join(", ")
            ));
        }
    }
    Ok(())
}

/// Checks the metric names of the scenario's `[objective]` against `known` (summary.csv's
/// columns, handed in by the commands that make a verdict: `scenario` may not import the
/// outcome's list). `text` is the scenario file, `origin` how messages name it. The first
/// unknown metric is refused at its own `file:line:col` (the `minimize`/`maximize` value,
/// or the `subject_to` entry), with the nearest known name when it looks like a typo.
pub fn check_metrics(text: &str, origin: &str, known: &[&str]) -> Result<(), String> {
    let Ok(doc) = toml_edit::Document::parse(text) else {
        return Ok(()); // the scenario was read already: nothing to locate in
    };
    let Some(table) = doc.as_item().get("objective") else {
        return Ok(());
    };
    let mut named: Vec<(Vec<Seg>, String)> = Vec::new();
    for key in ["minimize", "maximize"] {
        if let Some(m) = table.get(key).and_then(|v| v.as_str()) {
            named.push((vec![Seg::Key("objective"), Seg::Key(key)], m.to_string()));
        }
    }
    if let Some(list) = table.get("subject_to").and_then(|v| v.as_array()) {
        for (i, c) in list.iter().enumerate() {
            let first = c.as_str().and_then(|c| c.split_whitespace().next());
            if let Some(m) = first {
                let path = vec![Seg::Key("objective"), Seg::Key("subject_to"), Seg::Index(i)];
                named.push((path, m.to_string()));
            }
        }
    }
    for (path, target) in named {
        let metric = target.trim().split('@').next().unwrap_or_default();
        if known.contains(&metric) {
            continue;
        }
        let message = format!(
            "objective: {metric:?} is not a metric{}; expected one of {}",
            super::suggest::hint(metric, known.iter().copied()),
            known.join(", ")
        );
        let problems = super::span::locate_all(text, vec![Problem { path, message }]);
        return Err(super::ScenarioError::Invalid {
            origin: origin.to_string(),
            problems,
        }
        .to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(min: Option<&str>, max: Option<&str>, st: &[&str]) -> RawObjective {
        RawObjective {
            minimize: min.map(Into::into),
            maximize: max.map(Into::into),
            subject_to: st.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn the_table_reads_as_the_sweep_syntax() {
        let r = raw(
            Some("downtime_s"),
            None,
            &["false_positive_rollbacks <= 0.05"],
        );
        assert_eq!(
            r.text().unwrap(),
            "min downtime_s s.t. false_positive_rollbacks <= 0.05"
        );
        assert_eq!(
            raw(None, Some("rollbacks"), &[]).text().unwrap(),
            "max rollbacks"
        );
        assert!(raw(None, None, &[])
            .text()
            .unwrap_err()
            .contains("expected minimize"));
        assert!(raw(Some("a"), Some("b"), &[])
            .text()
            .unwrap_err()
            .contains("not both"));
    }

    #[test]
    fn unknown_metrics_and_bad_constraints_point_at_their_key() {
        let p = vec!["gate".to_string()];
        // Whether a well-formed name is a metric is checked when run/compare start.
        assert!(check(&raw(Some("downtime"), None, &[]), &p).is_ok());
        let e = check(&raw(Some("Down time"), None, &[]), &p).unwrap_err();
        assert_eq!(e.path, vec![Seg::Key("objective"), Seg::Key("minimize")]);
        assert!(
            e.message.contains("\"Down time\" is not a metric"),
            "{}",
            e.message
        );
        let e = check(&raw(Some("downtime_s"), None, &["rollbacks =< 1"]), &p).unwrap_err();
        assert_eq!(e.path, vec![Seg::Key("objective"), Seg::Key("subject_to")]);
        assert!(
            e.message.contains("unknown comparison \"=<\""),
            "{}",
            e.message
        );
        let e = check(
            &raw(Some("downtime_s"), None, &["rollbacks@nobody <= 1"]),
            &p,
        )
        .unwrap_err();
        assert!(
            e.message.contains("\"nobody\" is not a policy"),
            "{}",
            e.message
        );
        assert!(check(&raw(Some("downtime_s@gate"), None, &[]), &p).is_ok());
    }

    #[test]
    fn an_unknown_metric_is_located_with_the_nearest_name() {
        let known = ["downtime_s", "false_positive_rollbacks", "rollbacks"];
        let text = "[objective]\nminimize = \"downtime_s\"\nsubject_to = [\"rollbacks <= 1\", \"false_positiv_rollbacks <= 0.05\"]\n";
        assert_eq!(
            check_metrics(text, "s.toml", &known).unwrap_err(),
            "s.toml:3:33: objective: \"false_positiv_rollbacks\" is not a metric; did you mean \
             `false_positive_rollbacks`?; expected one of downtime_s, false_positive_rollbacks, rollbacks"
        );
        let text = "[simulation]\nruns = 5\n\n[objective]\nmaximize = \"downtime@gate\"\n";
        assert_eq!(
            check_metrics(text, "s.toml", &known).unwrap_err(),
            "s.toml:5:12: objective: \"downtime\" is not a metric; did you mean `downtime_s`?; \
             expected one of downtime_s, false_positive_rollbacks, rollbacks"
        );
        let text =
            "[objective]\nminimize = \"downtime_s@gate\"\nsubject_to = [\"rollbacks <= 1\"]\n";
        assert!(check_metrics(text, "s.toml", &known).is_ok());
        assert!(check_metrics("runs = 1\n", "s.toml", &known).is_ok());
    }
}
