//! Tuning: several parameters of one policy searched at once by successive halving on
//! common random numbers.
//!
//! Every candidate setting becomes a copy of the tuned policy in one scenario, so each run
//! draws its world (traffic, noise, faults, the release) once and every candidate meets the
//! very same worlds: candidates differ by their setting, never by luck, and two candidates
//! are compared by their paired difference run by run. The search runs in rounds: round 0
//! gives every candidate a few runs, each later round doubles the runs of the candidates
//! still in it (the new runs only: runs 0..n of a candidate are the same whichever round
//! they were drawn in) and keeps the better half, ranked on the means (Jamieson and
//! Talwalkar, "Non-stochastic best arm identification and hyperparameter optimization",
//! AISTATS 2016; Karnin, Koren and Somekh, "Almost optimal exploration in multi-armed
//! bandits", ICML 2013). The last round runs the full budget; there the objective decides
//! as a sweep's does: constraints are met only on their interval's bound (the upper 95%
//! bound for `<=`), and a candidate whose paired difference from the best includes zero is
//! a tie, which goes to the most conservative setting (fewest false-positive rollbacks).
//!
//! No I/O here; the job writes what this returns.

use super::objective::{Goal, Objective, Op};
use super::recommend::interval;
use super::stats::{Accumulator, Estimate};
use super::sweep::Param;
use super::Options;
use crate::outcome::RunRecord;
use crate::scenario::{self, edit, Scenario};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// A tune that cannot be set up: a bad `--param`, an objective about another policy, a
/// candidate whose scenario is invalid.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TuneError(pub String);

/// The most candidates one tune takes (the product of the parameters' values).
pub const MAX_CANDIDATES: usize = 400;

/// Runs every candidate gets in the first round, unless the budget is smaller.
pub const FIRST_ROUND_RUNS: u64 = 50;

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
        let p: Param = format!("{key}={spec}")
            .parse()
            .map_err(|e: super::sweep::SweepError| TuneError(e.0.replace("PATH=", "KEY=")))?;
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

/// A checked tune: the candidates, each a policy of one combined scenario.
#[derive(Debug, Clone)]
pub struct Tune {
    /// The tuned policy's name in the scenario.
    pub policy: String,
    pub params: Vec<TuneParam>,
    pub candidates: Vec<Candidate>,
    pub objective: Objective,
    /// The confidence level constraints are judged at.
    pub level: f64,
    /// The scenario with the tuned policy once per candidate (named `NAME#i`) and no
    /// other policy.
    combined: Scenario,
}

/// The name of candidate `i`'s copy of `policy` in the combined scenario.
fn copy_name(policy: &str, i: usize) -> String {
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

impl Tune {
    /// Builds every candidate from the scenario `text` (checked as `base`; `origin` names
    /// it, `dir` resolves its imports) and checks the combined scenario. Nothing runs.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        text: &str,
        origin: &str,
        dir: &Path,
        base: &Scenario,
        policy: &str,
        params: Vec<TuneParam>,
        objective: Objective,
        level: f64,
    ) -> Result<Tune, TuneError> {
        if !base.policies.iter().any(|p| p.name == policy) {
            let names: Vec<&str> = base.policies.iter().map(|p| p.name.as_str()).collect();
            return Err(TuneError(format!(
                "--policy {policy:?} is not a policy of this scenario; expected one of {}",
                names.join(", ")
            )));
        }
        if params.is_empty() {
            return Err(TuneError(
                "nothing to tune: give --param KEY=LOW..HIGH at least once".into(),
            ));
        }
        for (i, p) in params.iter().enumerate() {
            if params[..i].iter().any(|q| q.key == p.key) {
                return Err(TuneError(format!("--param {} is given twice", p.key)));
            }
        }
        for t in std::iter::once(&objective.target)
            .chain(objective.constraints.iter().map(|c| &c.target))
        {
            if t.policy != policy {
                return Err(TuneError(format!(
                    "the objective {:?} names {}@{}; a tune judges only the tuned policy {policy:?}",
                    objective.text, t.metric, t.policy
                )));
            }
        }
        let mut combos: Vec<Vec<f64>> = vec![vec![]];
        for p in &params {
            combos = combos
                .iter()
                .flat_map(|c| p.values.iter().map(move |v| [c.clone(), vec![*v]].concat()))
                .collect();
            if combos.len() > MAX_CANDIDATES {
                return Err(TuneError(format!(
                    "the --param values make more than {MAX_CANDIDATES} candidates; give fewer points"
                )));
            }
        }
        let combined_text = combine(text, policy, combos.len())?;
        let mut t = combined_text;
        for (i, values) in combos.iter().enumerate() {
            for (p, v) in params.iter().zip(values) {
                let path = format!("policies.{}.{}", copy_name(policy, i), p.key);
                t = edit::set_number(&t, &path, *v).map_err(|e| {
                    TuneError(format!("--param {}: {}", p.key, e.replace(&path, &p.key)))
                })?;
            }
        }
        let combined = scenario::parse_at(&t, &format!("{origin} (tune candidates)"), dir)
            .map_err(|e| {
                TuneError(format!(
                    "a candidate makes the scenario invalid (--param values out of range?):\n{e}"
                ))
            })?;
        Ok(Tune {
            policy: policy.to_string(),
            candidates: combos
                .into_iter()
                .map(|values| Candidate { values })
                .collect(),
            params,
            objective,
            level,
            combined,
        })
    }

    /// The scenario `text` with candidate `i`'s values set on the tuned policy: what
    /// `rollsim run` reproduces the winner from.
    pub fn scenario_text(&self, text: &str, i: usize) -> Result<String, TuneError> {
        let mut t = text.to_string();
        for (p, v) in self.params.iter().zip(&self.candidates[i].values) {
            t = edit::set_number(&t, &format!("policies.{}.{}", self.policy, p.key), *v)
                .map_err(TuneError)?;
        }
        Ok(t)
    }

    /// The runs each round ends at: doubling up to `runs`, as many rounds as halving
    /// takes the candidates down to two.
    pub fn schedule(&self, runs: u64) -> Vec<u64> {
        let n = self.candidates.len();
        let rounds = (usize::BITS - n.saturating_sub(1).leading_zeros()).max(1) as u64;
        let mut ends: Vec<u64> = (0..rounds)
            .map(|r| (runs >> (rounds - 1 - r)).max(FIRST_ROUND_RUNS.min(runs)))
            .collect();
        ends.dedup();
        ends
    }

    /// Runs the search on `seed` with a budget of `runs` for the last round. `progress`
    /// gets the candidate-runs finished so far (of [`Tune::work`]).
    pub fn run(
        &self,
        seed: u64,
        runs: u64,
        stop: Option<&AtomicBool>,
        progress: Option<&(dyn Fn(u64) + Sync)>,
    ) -> Outcome {
        let n = self.candidates.len();
        let empty = [Accumulator::default(); RunRecord::METRICS.len()];
        let mut acc = vec![empty; n];
        let k_obj = metric_index(&self.objective.target.metric);
        let mut pair = vec![Accumulator::default(); n * n];
        let mut alive: Vec<usize> = (0..n).collect();
        let mut dropped_in: Vec<Option<usize>> = vec![None; n];
        let mut rounds = Vec::new();
        let mut start = 0;
        let mut done = 0u64;
        let mut interrupted = false;
        let schedule = self.schedule(runs);
        for (r, &end) in schedule.iter().enumerate() {
            let mut s = self.combined.clone();
            s.policies = alive
                .iter()
                .map(|&i| self.combined.policies[i].clone())
                .collect();
            let width = alive.len() as u64;
            let base = done;
            let tick = |d: u64| {
                if let Some(p) = progress {
                    p(base + d * width)
                }
            };
            let opts = Options {
                seed,
                runs: start..end,
                baseline: 0,
                stop,
                progress: Some(&tick),
            };
            let res = super::run(&s, &opts, |records| {
                for run in records.chunk_by(|a, b| a.run == b.run) {
                    let m: Vec<[Option<f64>; RunRecord::METRICS.len()]> =
                        run.iter().map(RunRecord::metrics).collect();
                    for (slot, &i) in alive.iter().enumerate() {
                        for (k, v) in m[slot].iter().enumerate() {
                            if let Some(v) = v {
                                acc[i][k].add(*v);
                            }
                        }
                        for (slot2, &j) in alive.iter().enumerate() {
                            if let (Some(a), Some(b)) = (m[slot][k_obj], m[slot2][k_obj]) {
                                if i != j {
                                    pair[i * n + j].add(a - b);
                                }
                            }
                        }
                    }
                }
                Ok::<(), ()>(())
            });
            done += (end - start) * width;
            if res.map_or(true, |r| r.interrupted) || stop.is_some_and(|s| s.load(Ordering::SeqCst))
            {
                interrupted = true;
                break;
            }
            start = end;
            let est = |i: usize| estimates(&acc[i]);
            let last = r + 1 == schedule.len();
            let mut ranked = alive.clone();
            ranked.sort_by(|&a, &b| self.rank(&est(a), &est(b)).then(a.cmp(&b)));
            let keep = if last {
                alive.len()
            } else {
                alive.len().div_ceil(2).max(2.min(alive.len()))
            };
            let dropped: Vec<usize> = ranked[keep..].to_vec();
            rounds.push(Round {
                runs: end,
                alive: alive.clone(),
                objective: alive.iter().map(|&i| (i, est(i)[k_obj].1)).collect(),
                dropped: dropped.clone(),
            });
            for &d in &dropped {
                dropped_in[d] = Some(r);
            }
            alive.retain(|i| !dropped.contains(i));
        }
        let standings: Vec<Standing> = (0..n)
            .map(|i| {
                let e = estimates(&acc[i]);
                Standing {
                    candidate: i,
                    runs: acc[i][k_obj].n.max(acc[i][0].n),
                    constraints: self.judge(&e),
                    estimates: e,
                    dropped_in: dropped_in[i],
                    vs_winner: None,
                }
            })
            .collect();
        let mut out = Outcome {
            rounds,
            standings,
            finalists: if interrupted { vec![] } else { alive },
            winner: None,
            tied: vec![],
            interrupted,
            seed,
            runs,
        };
        if !interrupted {
            self.decide(&mut out, &pair);
        }
        out
    }

    /// The work of a search with a budget of `runs` (candidate-runs), for progress bars.
    pub fn work(&self, runs: u64) -> u64 {
        let mut alive = self.candidates.len() as u64;
        let mut start = 0;
        let mut total = 0;
        let schedule = self.schedule(runs);
        for (r, end) in schedule.iter().enumerate() {
            total += (end - start) * alive;
            start = *end;
            if r + 1 < schedule.len() {
                alive = alive.div_ceil(2).max(2.min(alive));
            }
        }
        total
    }

    /// Each constraint of the objective at the level: (constraint text, bound, met).
    fn judge(&self, e: &[(&'static str, Estimate)]) -> Vec<Bound> {
        self.objective
            .constraints
            .iter()
            .map(|c| {
                let k = metric_index(&c.target.metric);
                let est = e[k].1;
                let bound = (est.n > 0 && est.mean.is_finite()).then(|| {
                    let (lo, hi) = interval(&est, &c.target.metric, self.level);
                    match c.op {
                        Op::Le | Op::Lt => hi,
                        Op::Ge | Op::Gt => lo,
                    }
                });
                Bound {
                    what: format!("{} {} {}", c.target.metric, c.op.text(), c.bound),
                    upper: matches!(c.op, Op::Le | Op::Lt),
                    bound: bound.filter(|b| b.is_finite()),
                    met: bound.is_some_and(|b| b.is_finite() && c.op.holds(b, c.bound)),
                }
            })
            .collect()
    }

    /// The order of two candidates between rounds, on their means: those whose means meet
    /// every constraint first, by the objective; the others by how far their means miss.
    fn rank(
        &self,
        a: &[(&'static str, Estimate)],
        b: &[(&'static str, Estimate)],
    ) -> std::cmp::Ordering {
        let excess = |e: &[(&'static str, Estimate)]| -> f64 {
            self.objective
                .constraints
                .iter()
                .map(|c| {
                    let m = e[metric_index(&c.target.metric)].1.mean;
                    if !m.is_finite() {
                        return f64::INFINITY;
                    }
                    if c.op.holds(m, c.bound) {
                        0.0
                    } else {
                        (m - c.bound).abs() / c.bound.abs().max(1e-9)
                    }
                })
                .sum()
        };
        let obj = |e: &[(&'static str, Estimate)]| {
            let m = e[metric_index(&self.objective.target.metric)].1.mean;
            let m = if m.is_finite() { m } else { f64::INFINITY };
            match self.objective.goal {
                Goal::Min => m,
                Goal::Max => -m,
            }
        };
        let fp = |e: &[(&'static str, Estimate)]| e[metric_index(FP)].1.mean;
        let (xa, xb) = (excess(a), excess(b));
        (xa > 0.0)
            .cmp(&(xb > 0.0))
            .then(xa.total_cmp(&xb))
            .then(obj(a).total_cmp(&obj(b)))
            .then(fp(a).total_cmp(&fp(b)))
    }

    /// The last round's verdict: the best finalist meeting every constraint on its bound;
    /// finalists whose paired difference from it includes zero tie, and the tie goes to the
    /// fewest false-positive rollbacks, then the simplest values, then the first candidate.
    fn decide(&self, out: &mut Outcome, pair: &[Accumulator]) {
        let n = self.candidates.len();
        let k_obj = metric_index(&self.objective.target.metric);
        let mean = |i: usize| out.standings[i].estimates[k_obj].1.mean;
        let feasible: Vec<usize> = out
            .finalists
            .iter()
            .copied()
            .filter(|&i| out.standings[i].constraints.iter().all(|b| b.met))
            .filter(|&i| mean(i).is_finite())
            .collect();
        let better = |a: f64, b: f64| match self.objective.goal {
            Goal::Min => a < b,
            Goal::Max => a > b,
        };
        let mut best: Option<usize> = None;
        for &i in &feasible {
            if best.is_none_or(|b| better(mean(i), mean(b))) {
                best = Some(i);
            }
        }
        let Some(best) = best else { return };
        let tied: Vec<usize> = feasible
            .iter()
            .copied()
            .filter(|&i| {
                i == best || {
                    let d = pair[i * n + best].normal();
                    d.n > 0 && d.ci95_low <= 0.0 && 0.0 <= d.ci95_high
                }
            })
            .collect();
        let fp = |i: usize| out.standings[i].estimates[metric_index(FP)].1.mean;
        let simple = |i: usize| -> usize {
            self.candidates[i]
                .values
                .iter()
                .map(|v| {
                    format!("{}", v.abs())
                        .chars()
                        .filter(char::is_ascii_digit)
                        .collect::<String>()
                        .trim_start_matches('0')
                        .trim_end_matches('0')
                        .len()
                })
                .sum()
        };
        let winner = tied
            .iter()
            .copied()
            .min_by(|&a, &b| {
                fp(a)
                    .total_cmp(&fp(b))
                    .then(simple(a).cmp(&simple(b)))
                    .then(a.cmp(&b))
            })
            .unwrap_or(best);
        for s in &mut out.standings {
            if s.candidate != winner {
                let d = pair[s.candidate * n + winner].normal();
                s.vs_winner = (d.n > 0).then_some(d);
            }
        }
        out.winner = Some(winner);
        out.tied = tied;
    }
}

const FP: &str = "false_positive_rollbacks";

/// The position of a metric in [`RunRecord::METRICS`] (checked names only).
fn metric_index(metric: &str) -> usize {
    RunRecord::METRICS
        .iter()
        .position(|m| m.0 == metric)
        .unwrap_or(0)
}

fn estimates(acc: &[Accumulator; RunRecord::METRICS.len()]) -> Vec<(&'static str, Estimate)> {
    RunRecord::METRICS
        .iter()
        .zip(acc)
        .map(|((m, kind), a)| (*m, a.estimate(*kind)))
        .collect()
}

/// The scenario text with the tuned policy's table once per candidate (named `NAME#i`)
/// and no other policy; the `[objective]` is dropped (the tune judges its own).
fn combine(text: &str, policy: &str, copies: usize) -> Result<String, TuneError> {
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

/// A constraint judged on a candidate's interval bound.
#[derive(Debug, Clone, PartialEq)]
pub struct Bound {
    /// `false_positive_rollbacks <= 0.02`.
    pub what: String,
    /// Whether the upper bound is judged (else the lower one).
    pub upper: bool,
    pub bound: Option<f64>,
    pub met: bool,
}

/// One round of the search.
#[derive(Debug, Clone, PartialEq)]
pub struct Round {
    /// The runs every candidate of the round has had by its end.
    pub runs: u64,
    /// The candidates in the round.
    pub alive: Vec<usize>,
    /// Each one's objective estimate at the end of the round.
    pub objective: Vec<(usize, Estimate)>,
    /// The candidates the round dropped.
    pub dropped: Vec<usize>,
}

/// Where a candidate ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    pub candidate: usize,
    /// The runs it was judged on.
    pub runs: u64,
    /// Every metric over those runs.
    pub estimates: Vec<(&'static str, Estimate)>,
    pub constraints: Vec<Bound>,
    /// The round that dropped it (`None`: a finalist).
    pub dropped_in: Option<usize>,
    /// Its objective minus the winner's, paired run by run over the runs both had.
    pub vs_winner: Option<Estimate>,
}

/// What a search found.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub rounds: Vec<Round>,
    /// One per candidate, in candidate order.
    pub standings: Vec<Standing>,
    /// The candidates of the last round.
    pub finalists: Vec<usize>,
    /// The chosen candidate; `None` when no finalist meets every constraint.
    pub winner: Option<usize>,
    /// The finalists the data could not tell from the best (the winner among them).
    pub tied: Vec<usize>,
    pub interrupted: bool,
    pub seed: u64,
    /// The budget of the last round.
    pub runs: u64,
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
