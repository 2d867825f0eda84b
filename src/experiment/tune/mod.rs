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
//! In a system of services every service holds its own copy of each candidate, picked
//! alike round after round, and a candidate is judged on its system row (the first of the
//! block of rows a system writes per policy).
//!
//! No I/O here; the job writes what this returns.

mod candidates;
mod verdict;

pub use candidates::{setting, Candidate, TuneParam};
pub use verdict::{Bound, Outcome, Round, Standing};

use super::objective::Objective;
use super::stats::Accumulator;
use super::sweep::with_policies;
use super::Options;
use crate::outcome::RunRecord;
use crate::scenario::{self, edit, Scenario};
use candidates::{combine, copy_name};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use verdict::{estimates, metric_index};

/// A tune that cannot be set up: a bad `--param`, an objective about another policy, a
/// candidate whose scenario is invalid.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TuneError(pub String);

/// The most candidates one tune takes (the product of the parameters' values).
pub const MAX_CANDIDATES: usize = 400;

/// Runs every candidate gets in the first round, unless the budget is smaller.
pub const FIRST_ROUND_RUNS: u64 = 50;

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
        let group = self
            .combined
            .system
            .as_ref()
            .map_or(1, |s| s.services.len() + 1);
        for (r, &end) in schedule.iter().enumerate() {
            // In a system, the services' copies of the candidates are picked alike (a
            // system runs policy k on every service's copy k).
            let s = with_policies(&self.combined, &alive);
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
                events: false,
            };
            let res = super::run(&s, &opts, |records| {
                for run in records.chunk_by(|a, b| a.run == b.run) {
                    // A candidate's row: in a system, the first of its block (the
                    // system's row, then one per service).
                    let m: Vec<[Option<f64>; RunRecord::METRICS.len()]> =
                        run.iter().step_by(group).map(RunRecord::metrics).collect();
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
}
