//! A tune's judgements: each constraint on a candidate's interval bound, the order of
//! candidates between rounds (on their means), the last round's verdict with its ties,
//! and what a search returns.

use super::Tune;
use crate::experiment::objective::{Goal, Op};
use crate::experiment::recommend::interval;
use crate::experiment::stats::{Accumulator, Estimate};
use crate::outcome::RunRecord;

impl Tune {
    /// Each constraint of the objective at the level: (constraint text, bound, met).
    pub(super) fn judge(&self, e: &[(&'static str, Estimate)]) -> Vec<Bound> {
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
    pub(super) fn rank(
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
    pub(super) fn decide(&self, out: &mut Outcome, pair: &[Accumulator]) {
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
pub(super) fn metric_index(metric: &str) -> usize {
    RunRecord::METRICS
        .iter()
        .position(|m| m.0 == metric)
        .unwrap_or(0)
}

/// Every metric's estimate from its accumulator, in [`RunRecord::METRICS`] order.
pub(super) fn estimates(
    acc: &[Accumulator; RunRecord::METRICS.len()],
) -> Vec<(&'static str, Estimate)> {
    RunRecord::METRICS
        .iter()
        .zip(acc)
        .map(|((m, kind), a)| (*m, a.estimate(*kind)))
        .collect()
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
