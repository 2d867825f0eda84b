//! The verdict: one short paragraph that says which policy is best for the scenario's
//! objective, by how much against the runner-up and against doing nothing, with the paired
//! 95% interval (every policy of a run sees the same world, so the difference of two
//! policies is taken run by run).
//!
//! The objective has the sweep's syntax (`min downtime_s s.t. false_positive_rollbacks
//! <= 0.05`, see [`crate::experiment::objective`]); a metric without `@POLICY` is each
//! candidate's own. A constraint is met only when its 95% bound meets it (the upper bound
//! for `<=`, the lower for `>=`), so a policy is not chosen on a lucky mean. Oracles are
//! never candidates: the verdict quotes them as the bound no rule can pass. When the
//! paired interval of the best and the runner-up holds zero, the verdict says it is a tie.

use super::human::{signed, Unit};
use super::ReportError;
use crate::experiment::objective::{self, Goal, Objective, Op};
use crate::experiment::stats::{Accumulator, Estimate};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The objective used when neither the scenario (`[objective]`) nor `--objective` gives
/// one: failed requests are what users feel.
pub const DEFAULT_OBJECTIVE: &str = "min failed_requests";

/// Where the verdict's objective came from (said in the verdict, so a reader knows
/// whether someone chose it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// `--objective` on the command line.
    Flag,
    /// The scenario's `[objective]` table.
    Scenario,
    /// [`DEFAULT_OBJECTIVE`].
    Default,
}

/// Paired differences of one metric between every two policies, run by run.
#[derive(Debug, Clone)]
pub struct Paired {
    names: Vec<String>,
    /// `acc[i][j]`: metric(i) - metric(j) over the runs where both have a value (i < j).
    acc: Vec<Vec<Accumulator>>,
}

impl Paired {
    /// An empty accumulator for `names` (scenario order).
    pub fn new(names: &[String]) -> Self {
        Paired {
            names: names.to_vec(),
            acc: vec![vec![Accumulator::default(); names.len()]; names.len()],
        }
    }

    /// Adds one run: the metric's value for each policy (in scenario order), `None`
    /// where it does not apply.
    pub fn add_run(&mut self, values: &[Option<f64>]) {
        for i in 0..values.len().min(self.names.len()) {
            for j in i + 1..values.len().min(self.names.len()) {
                if let (Some(a), Some(b)) = (values[i], values[j]) {
                    self.acc[i][j].add(a - b);
                }
            }
        }
    }

    /// Reads `metric` of every run from a `runs.csv` (rows grouped by run).
    pub fn from_runs_csv(path: &Path, metric: &str, names: &[String]) -> Result<Self, ReportError> {
        let shown = path.display().to_string();
        let bad = |line: u64, message: String| ReportError::Input {
            path: format!("{shown}:{line}"),
            message,
        };
        let mut rd = csv::Reader::from_path(path).map_err(|e| ReportError::Input {
            path: shown.clone(),
            message: e.to_string(),
        })?;
        let headers = rd.headers().map_err(|e| bad(1, e.to_string()))?.clone();
        let col = |name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| bad(1, format!("no column `{name}`")))
        };
        let (run_col, policy_col, metric_col) = (col("run")?, col("policy")?, col(metric)?);
        // A system's verdict is the system's: its services' own rows are left out.
        let service_col = headers.iter().position(|h| h == "service");
        let mut paired = Paired::new(names);
        let mut current: Option<String> = None;
        let mut values: Vec<Option<f64>> = vec![None; names.len()];
        for (i, rec) in rd.records().enumerate() {
            let line = i as u64 + 2;
            let rec = rec.map_err(|e| bad(line, e.to_string()))?;
            let run = rec.get(run_col).unwrap_or("").to_string();
            if current.as_ref().is_some_and(|c| *c != run) {
                paired.add_run(&values);
                values.iter_mut().for_each(|v| *v = None);
            }
            current = Some(run);
            if service_col
                .and_then(|c| rec.get(c))
                .is_some_and(|s| s != "system" && !s.is_empty())
            {
                continue;
            }
            let policy = rec.get(policy_col).unwrap_or("");
            let Some(k) = names.iter().position(|n| n == policy) else {
                return Err(bad(
                    line,
                    format!("policy {policy:?} is not in the summary"),
                ));
            };
            let cell = rec.get(metric_col).unwrap_or("").trim();
            values[k] =
                match cell {
                    "" => None,
                    "true" => Some(1.0),
                    "false" => Some(0.0),
                    v => Some(v.parse::<f64>().map_err(|_| {
                        bad(line, format!("column `{metric}`: {v:?} is not a number"))
                    })?),
                };
        }
        if current.is_some() {
            paired.add_run(&values);
        }
        Ok(paired)
    }

    /// metric(a) - metric(b) with its normal 95% interval over the paired runs.
    pub fn difference(&self, a: &str, b: &str) -> Option<Estimate> {
        let i = self.names.iter().position(|n| n == a)?;
        let j = self.names.iter().position(|n| n == b)?;
        if i == j {
            return None;
        }
        let (lo, hi, sign) = if i < j { (i, j, 1.0) } else { (j, i, -1.0) };
        let e = self.acc[lo][hi].normal();
        (e.n > 0).then(|| Estimate {
            mean: sign * e.mean,
            ci95_low: if sign > 0.0 { e.ci95_low } else { -e.ci95_high },
            ci95_high: if sign > 0.0 { e.ci95_high } else { -e.ci95_low },
            n: e.n,
        })
    }
}

/// What the verdict rests on, besides the paired differences.
pub struct Facts<'a> {
    /// Policies in scenario order.
    pub policies: &'a [String],
    /// Policies that know the truth (never candidates).
    pub references: &'a [String],
    /// Policies that never act (`kind = "none"`): "doing nothing".
    pub nothing: &'a [String],
    /// (policy, metric) -> estimate, from the summary.
    pub estimates: &'a BTreeMap<(String, String), Estimate>,
}

/// The verdict, as `verdict.json` and as the paragraph the commands print.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub objective: String,
    pub source: Source,
    /// The best policy, or `None` when none meets the constraints.
    pub best: Option<String>,
    /// Policies whose paired interval against the best holds zero (a tie), best first.
    pub tied: Vec<String>,
    pub runner_up: Option<String>,
    /// best - runner-up on the objective's metric, paired.
    pub vs_runner_up: Option<Estimate>,
    /// The policy that does nothing, and best - it.
    pub nothing: Option<String>,
    pub vs_nothing: Option<Estimate>,
    /// Candidates that break a constraint at its 95% bound.
    pub failing: Vec<String>,
    /// The paragraph.
    pub text: String,
}

fn label(metric: &str) -> String {
    super::metrics::MetricInfo::of(metric).label.to_lowercase()
}

/// "12m30s [11m02s, 13m58s]" in the metric's unit.
fn with_interval(unit: Unit, e: &Estimate) -> String {
    format!(
        "{} [{}, {}]",
        unit.format(e.mean),
        unit.format(e.ci95_low),
        unit.format(e.ci95_high)
    )
}

/// A paired difference: "+1m05s [+40s, +1m30s]".
fn diff_text(unit: Unit, e: &Estimate) -> String {
    format!(
        "{} [{}, {}]",
        signed(unit, e.mean),
        signed(unit, e.ci95_low),
        signed(unit, e.ci95_high)
    )
}

/// Parses `text` for one candidate: metrics without `@POLICY` are the candidate's.
fn for_candidate(text: &str, candidate: &str, policies: &[String]) -> Result<Objective, String> {
    objective::parse(text, Some(candidate), policies)
}

/// Checks an objective's syntax, metrics and policy names (for `--objective` and the
/// scenario's `[objective]`), before anything runs.
pub fn check_objective(text: &str, policies: &[String]) -> Result<(), String> {
    let first = policies.first().map(String::as_str).unwrap_or("");
    for_candidate(text, first, policies).map(|_| ())
}

/// The 95% bound a constraint is judged on, and whether it meets it.
fn meets(c: &objective::Constraint, e: &Estimate) -> bool {
    match c.op {
        Op::Le => e.ci95_high <= c.bound,
        Op::Lt => e.ci95_high < c.bound,
        Op::Ge => e.ci95_low >= c.bound,
        Op::Gt => e.ci95_low > c.bound,
    }
}

/// Decides the verdict. `text` is the objective (already checked with
/// [`check_objective`]); the paired differences are of its metric.
pub fn decide(
    text: &str,
    source: Source,
    facts: &Facts<'_>,
    paired: &Paired,
) -> Result<Verdict, String> {
    let get = |p: &str, m: &str| {
        facts
            .estimates
            .get(&(p.to_string(), m.to_string()))
            .copied()
            .filter(|e| e.n > 0)
    };
    let candidates: Vec<&String> = facts
        .policies
        .iter()
        .filter(|p| !facts.references.contains(p))
        .collect();
    let mut eligible: Vec<(&String, Estimate)> = Vec::new();
    let mut failing = Vec::new();
    let mut metric = String::new();
    let mut goal = Goal::Min;
    for p in &candidates {
        let obj = for_candidate(text, p, facts.policies)?;
        metric = obj.target.metric.clone();
        goal = obj.goal;
        let ok = obj
            .constraints
            .iter()
            .all(|c| get(&c.target.policy, &c.target.metric).is_some_and(|e| meets(c, &e)));
        match get(p, &obj.target.metric) {
            Some(e) if ok => eligible.push((p, e)),
            _ if !ok => failing.push((*p).clone()),
            _ => {}
        }
    }
    let unit = Unit::of(&metric);
    let better = |a: f64, b: f64| match goal {
        Goal::Min => a < b,
        Goal::Max => a > b,
    };
    eligible.sort_by(|a, b| {
        if better(a.1.mean, b.1.mean) {
            std::cmp::Ordering::Less
        } else if better(b.1.mean, a.1.mean) {
            std::cmp::Ordering::Greater
        } else {
            std::cmp::Ordering::Equal
        }
    });
    let what = label(&metric);
    let head = match source {
        Source::Default => format!("Verdict ({text}, the default objective; set one with [objective] in the scenario or --objective):"),
        _ => format!("Verdict ({text}):"),
    };
    let reference = facts
        .references
        .iter()
        .filter_map(|r| get(r, &metric).map(|e| (r, e)))
        .map(|(r, e)| {
            format!(
                " The {r} ({}), which knows the truth but acts its reaction time after a bad \
                 release starts, is a yardstick, not a bound: a rule that reacts sooner can beat it.",
                with_interval(unit, &e)
            )
        })
        .next()
        .unwrap_or_default();
    let fail_text = if failing.is_empty() {
        String::new()
    } else {
        let n = failing.len();
        format!(
            " {} {} the constraint at the 95% bound: {}.",
            n,
            if n == 1 {
                "policy breaks"
            } else {
                "policies break"
            },
            failing.join(", ")
        )
    };
    let mut v = Verdict {
        objective: text.to_string(),
        source,
        best: None,
        tied: vec![],
        runner_up: None,
        vs_runner_up: None,
        nothing: None,
        vs_nothing: None,
        failing: failing.clone(),
        text: String::new(),
    };
    let Some((best, best_e)) = eligible.first().cloned() else {
        v.text = format!(
            "{head} no policy meets the constraints at the 95% bound, so none can be recommended.{fail_text}{reference}"
        );
        return Ok(v);
    };
    v.best = Some(best.clone());
    // Every eligible policy whose paired interval against the best holds zero is tied.
    v.tied = eligible
        .iter()
        .skip(1)
        .filter(|(p, _)| {
            paired
                .difference(best, p)
                .is_some_and(|d| d.ci95_low <= 0.0 && d.ci95_high >= 0.0)
        })
        .map(|(p, _)| (*p).clone())
        .collect();
    let amount = |d: &Estimate| -> String {
        let word = if d.mean < 0.0 { "less" } else { "more" };
        format!("{} {word}", unit.format(d.mean.abs()))
    };
    let mut text_out = format!(
        "{head} {best} is best, with {} {what} per run.",
        with_interval(unit, &best_e)
    );
    if !v.tied.is_empty() {
        let names: Vec<&str> = std::iter::once(best.as_str())
            .chain(v.tied.iter().map(String::as_str))
            .collect();
        let d = paired.difference(best, &v.tied[0]);
        text_out = format!(
            "{head} a tie: {} cannot be told apart on {what} ({} vs {}: paired difference {} over {} holds zero); {best} has the lowest mean, {}.",
            join_and(&names),
            best,
            v.tied[0],
            d.map(|d| diff_text(unit, &d)).unwrap_or_else(|| "-".into()),
            runs(d.map(|d| d.n).unwrap_or(0)),
            with_interval(unit, &best_e)
        );
        if goal == Goal::Max {
            text_out = text_out.replace("the lowest mean", "the highest mean");
        }
    }
    if let Some((runner, _)) = eligible.get(1) {
        v.runner_up = Some((*runner).clone());
        v.vs_runner_up = paired.difference(best, runner);
        if v.tied.is_empty() {
            if let Some(d) = &v.vs_runner_up {
                text_out.push_str(&format!(
                    " That is {} than the runner-up, {runner}{} (paired difference {}, {}).",
                    amount(d),
                    if facts.nothing.contains(runner) {
                        ", which does nothing"
                    } else {
                        ""
                    },
                    diff_text(unit, d),
                    runs(d.n)
                ));
            }
        }
    }
    if let Some(none) = facts.nothing.iter().find(|n| *n != best) {
        v.nothing = Some(none.clone());
        v.vs_nothing = paired.difference(best, none);
        let said = v.runner_up.as_ref() == Some(none) && v.tied.is_empty();
        if let (Some(d), false) = (&v.vs_nothing, said) {
            text_out.push_str(&format!(
                " Against doing nothing ({none}): {} ({}).",
                amount(d),
                diff_text(unit, d)
            ));
        }
    } else if facts.nothing.iter().any(|n| n == best) {
        text_out.push_str(if failing.is_empty() {
            " Doing nothing is the best choice here: no rule pays for itself."
        } else {
            " Doing nothing is best among the policies that meet the constraints."
        });
    }
    text_out.push_str(&fail_text);
    text_out.push_str(&reference);
    v.text = text_out;
    Ok(v)
}

fn join_and(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [a] => a.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// What a verdict needs from the scenario: the objective and which policies are the
/// oracle and doing nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct Setup {
    pub objective: String,
    pub source: Source,
    pub references: Vec<String>,
    pub nothing: Vec<String>,
}

/// Reads the objective (`flag`, else the scenario's `[objective]`, else
/// [`DEFAULT_OBJECTIVE`]) and the policy kinds from the scenario's text; without
/// `[[policies]]` (the default set) the oracle and `none` are known by name.
pub fn setup(scenario_text: Option<&str>, policies: &[String], flag: Option<&str>) -> Setup {
    #[derive(serde::Deserialize)]
    struct P {
        name: Option<String>,
        kind: Option<String>,
    }
    // The scenario's `[objective]` table (checked when the scenario was loaded), read
    // here from the copied text so a report needs nothing but its directory.
    #[derive(serde::Deserialize)]
    struct O {
        minimize: Option<String>,
        maximize: Option<String>,
        #[serde(default)]
        subject_to: Vec<String>,
    }
    impl O {
        fn text(&self) -> Option<String> {
            let head = match (&self.minimize, &self.maximize) {
                (Some(m), None) => format!("min {}", m.trim()),
                (None, Some(m)) => format!("max {}", m.trim()),
                _ => return None,
            };
            let cs: Vec<&str> = self.subject_to.iter().map(|c| c.trim()).collect();
            Some(if cs.is_empty() {
                head
            } else {
                format!("{head} s.t. {}", cs.join(" and "))
            })
        }
    }
    #[derive(serde::Deserialize)]
    struct S {
        #[serde(default)]
        policies: Vec<P>,
        objective: Option<O>,
    }
    let parsed = scenario_text.and_then(|t| toml::from_str::<S>(t).ok());
    let of_kind = |kind: &str| -> Vec<String> {
        match &parsed {
            Some(s) if !s.policies.is_empty() => s
                .policies
                .iter()
                .filter(|p| p.kind.as_deref() == Some(kind))
                .filter_map(|p| p.name.clone())
                .collect(),
            _ => policies.iter().filter(|p| *p == kind).cloned().collect(),
        }
    };
    let from_scenario = parsed
        .as_ref()
        .and_then(|s| s.objective.as_ref())
        .and_then(O::text);
    let (objective, source) = match (flag, from_scenario) {
        (Some(f), _) => (f.trim().to_string(), Source::Flag),
        (None, Some(s)) => (s, Source::Scenario),
        (None, None) => (DEFAULT_OBJECTIVE.to_string(), Source::Default),
    };
    Setup {
        objective,
        source,
        references: of_kind("oracle"),
        nothing: of_kind("none"),
    }
}

/// The verdict of an output directory: its `runs.csv` paired on the objective's metric,
/// with `estimates` from its summary. `Ok(None)` when there is no `runs.csv` (a merged or
/// hand-made directory) or the objective does not apply to these policies.
pub fn for_dir(
    dir: &Path,
    policies: &[String],
    estimates: &BTreeMap<(String, String), Estimate>,
    setup: &Setup,
) -> Result<Option<Verdict>, ReportError> {
    let runs = dir.join("runs.csv");
    if !runs.exists() || policies.is_empty() {
        return Ok(None);
    }
    let Ok(obj) = for_candidate(&setup.objective, &policies[0], policies) else {
        return Ok(None);
    };
    let paired = Paired::from_runs_csv(&runs, &obj.target.metric, policies)?;
    let facts = Facts {
        policies,
        references: &setup.references,
        nothing: &setup.nothing,
        estimates,
    };
    Ok(decide(&setup.objective, setup.source, &facts, &paired).ok())
}

/// (policy, metric) -> estimate of an experiment's summary.
pub fn estimates_of(s: &crate::experiment::Summary) -> BTreeMap<(String, String), Estimate> {
    s.policies
        .iter()
        .flat_map(|p| {
            p.metrics
                .iter()
                .map(move |(m, e)| ((p.policy.clone(), m.to_string()), *e))
        })
        .collect()
}

/// `1 run`, `8 runs`: how many runs a paired difference is over.
fn runs(n: u64) -> String {
    format!("{n} {}", if n == 1 { "run" } else { "runs" })
}

#[cfg(test)]
mod tests;
