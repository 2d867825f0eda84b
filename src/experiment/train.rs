//! Many runs of a release train: every (policy, review policy) pair on the same train
//! worlds, runs in parallel, collected in run order, summarised serially.
//!
//! Architecture invariant: results are identical for any thread count (rayon's indexed
//! collect keeps run order; every reduction is serial, in that order); no I/O.

use super::stats::Accumulator;
use crate::outcome::train::{ServiceTrainRow, TrainRecord, WeekRow};
use crate::scenario::train::Train;
use crate::sim::train::simulate_train_run;
use crate::sim::Prepared;
use rayon::prelude::*;
use serde::Serialize;
use std::ops::Range;
use std::sync::atomic::AtomicBool;

/// Every run's rows, in run order (pairs: policies outer, review policies inner).
#[derive(Debug, Clone, Default)]
pub struct TrainResults {
    pub records: Vec<TrainRecord>,
    pub weeks: Vec<WeekRow>,
    /// In a system's train, a row per run, pair and service; empty for one service.
    pub services: Vec<ServiceTrainRow>,
    /// Whether the stop flag ended the runs early (the rows are a prefix of whole runs).
    pub interrupted: bool,
}

/// One row of `train-summary.csv`: a metric of one pair over the runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainSummaryRow {
    pub policy: String,
    pub review: String,
    pub metric: String,
    pub mean: f64,
    pub ci95_low: f64,
    pub ci95_high: f64,
    /// Runs where the metric applied (lead and recovery times need a release to time).
    pub n: u64,
}

/// One row of `weekly-summary.csv`: one pair's week over the runs, as charted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeekSummaryRow {
    pub policy: String,
    pub review: String,
    pub week: u64,
    /// Failed deployments over deployments, pooled over the runs.
    pub change_failure_rate: Option<f64>,
    pub deployments: f64,
    pub downtime_s: f64,
    pub recurrences: f64,
    pub review_hours: f64,
}

/// Runs `runs` of the train with master seed `seed`; once `stop` is set, the runs that
/// finished whole are kept. `progress` gets the runs finished so far after each chunk
/// (for a progress bar; it never changes what is drawn).
pub fn run_train(
    prepared: &Prepared<'_>,
    train: &Train,
    seed: u64,
    runs: Range<u64>,
    stop: Option<&AtomicBool>,
    progress: Option<&(dyn Fn(u64) + Sync)>,
) -> TrainResults {
    let stopped = || stop.is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed));
    let mut out = TrainResults::default();
    let mut start = runs.start;
    while start < runs.end {
        let end = (start + 64).min(runs.end);
        let chunk: Vec<Option<_>> = (start..end)
            .into_par_iter()
            .map(|run| {
                let r = simulate_train_run(prepared, train, seed, run);
                (!stopped()).then_some(r)
            })
            .collect();
        let n = chunk.len();
        let whole: Vec<_> = chunk.into_iter().map_while(|r| r).collect();
        let cut = whole.len() < n;
        for run in whole {
            for t in run {
                out.records.push(t.record);
                out.weeks.extend(t.weeks);
                out.services.extend(t.services);
            }
        }
        if cut || stopped() {
            out.interrupted = true;
            break;
        }
        if let Some(p) = progress {
            p(end - runs.start);
        }
        start = end;
    }
    out
}

/// The (policy, review) pairs of the records, in their first-seen order.
pub fn pairs(records: &[TrainRecord]) -> Vec<(String, String)> {
    first_seen(records.iter().map(|r| (&r.policy, &r.review)))
}

/// The distinct (policy, review) pairs, in first-seen order.
fn first_seen<'a>(pairs: impl Iterator<Item = (&'a String, &'a String)>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (policy, review) in pairs {
        if !out.iter().any(|(p, v)| p == policy && v == review) {
            out.push((policy.clone(), review.clone()));
        }
    }
    out
}

/// Mean and normal 95% interval of every metric of every pair.
pub fn summarize(records: &[TrainRecord]) -> Vec<TrainSummaryRow> {
    let mut out = Vec::new();
    for (policy, review) in pairs(records) {
        let mine: Vec<&TrainRecord> = records
            .iter()
            .filter(|r| r.policy == policy && r.review == review)
            .collect();
        let Some(first) = mine.first() else { continue };
        for (k, (metric, _)) in first.metrics().iter().enumerate() {
            let mut acc = Accumulator::default();
            for r in &mine {
                if let Some(x) = r.metrics()[k].1 {
                    acc.add(x);
                }
            }
            let e = acc.normal();
            out.push(TrainSummaryRow {
                policy: policy.clone(),
                review: review.clone(),
                metric: metric.to_string(),
                mean: e.mean,
                ci95_low: e.ci95_low,
                ci95_high: e.ci95_high,
                n: acc.n,
            });
        }
    }
    out
}

/// Each pair's weeks over the runs.
pub fn summarize_weeks(weeks: &[WeekRow]) -> Vec<WeekSummaryRow> {
    group_mean(weeks)
}

impl MeanOverRuns<WeekRow> for WeekSummaryRow {
    fn holds(&self, w: &WeekRow) -> bool {
        self.policy == w.policy && self.review == w.review && self.week == w.week
    }

    fn start(w: &WeekRow) -> Self {
        WeekSummaryRow {
            policy: w.policy.clone(),
            review: w.review.clone(),
            week: w.week,
            change_failure_rate: None,
            deployments: 0.0,
            downtime_s: 0.0,
            recurrences: 0.0,
            review_hours: 0.0,
        }
    }

    fn add(&mut self, w: &WeekRow) -> (u32, u32) {
        self.deployments += f64::from(w.deployments);
        self.downtime_s += w.downtime_s;
        self.recurrences += f64::from(w.recurrences);
        self.review_hours += w.review_hours;
        (w.deployments, w.failed_deployments)
    }

    fn divide(&mut self, n: f64, change_failure_rate: Option<f64>) {
        self.change_failure_rate = change_failure_rate;
        self.deployments /= n;
        self.downtime_s /= n;
        self.recurrences /= n;
        self.review_hours /= n;
    }
}

/// A summary row that is a mean over runs of rows `R` of one group (a pair's week, a
/// pair's service): the weekly and the per-service summaries are the same reduction over
/// different columns, written once in [`group_mean`].
trait MeanOverRuns<R>: Sized {
    /// Whether `r` belongs to this row's group.
    fn holds(&self, r: &R) -> bool;
    /// The group's row from its first member, every sum at zero.
    fn start(r: &R) -> Self;
    /// Adds one run's row to the sums; returns its (deployments, failed deployments).
    fn add(&mut self, r: &R) -> (u32, u32);
    /// Turns the sums into means over `n` runs; `change_failure_rate` is failed over
    /// deployed, pooled over the runs (none where nothing deployed).
    fn divide(&mut self, n: f64, change_failure_rate: Option<f64>);
}

/// The rows grouped in first-seen order, each group averaged over its runs (serially,
/// in row order, so the sums are the same for any thread count).
fn group_mean<R, S: MeanOverRuns<R>>(rows: &[R]) -> Vec<S> {
    // Each group: its row, runs, deployments, failed deployments.
    let mut out: Vec<(S, u64, u64, u64)> = Vec::new();
    for r in rows {
        let i = match out.iter().position(|(s, ..)| s.holds(r)) {
            Some(i) => i,
            None => {
                out.push((S::start(r), 0, 0, 0));
                out.len() - 1
            }
        };
        let (s, runs, deployed, failed) = &mut out[i];
        let (d, f) = s.add(r);
        *runs += 1;
        *deployed += u64::from(d);
        *failed += u64::from(f);
    }
    out.into_iter()
        .map(|(mut s, runs, deployed, failed)| {
            let rate = (deployed > 0).then(|| failed as f64 / deployed as f64);
            s.divide(runs.max(1) as f64, rate);
            s
        })
        .collect()
}

/// The (policy, review) pairs of a summary, in order.
pub fn pairs_of_summary(rows: &[TrainSummaryRow]) -> Vec<(String, String)> {
    first_seen(rows.iter().map(|r| (&r.policy, &r.review)))
}

/// One row of `services-summary.csv`: one service's releases under one pair, over the runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceSummaryRow {
    pub policy: String,
    pub review: String,
    pub service: String,
    /// Mean deployments of its releases per train.
    pub deployments: f64,
    /// Failed deployments over deployments, pooled over the runs.
    pub change_failure_rate: Option<f64>,
    /// Mean rollbacks of its releases per train.
    pub rollbacks: f64,
    /// Mean rollbacks of its fine releases per train.
    pub false_positive_rollbacks: f64,
    /// Mean releases deployed while a latent cause showed, per train.
    pub latent_shown: f64,
}

/// Each (pair, service) over the runs, in first-seen order.
pub fn summarize_services(rows: &[ServiceTrainRow]) -> Vec<ServiceSummaryRow> {
    group_mean(rows)
}

impl MeanOverRuns<ServiceTrainRow> for ServiceSummaryRow {
    fn holds(&self, r: &ServiceTrainRow) -> bool {
        self.policy == r.policy && self.review == r.review && self.service == r.service
    }

    fn start(r: &ServiceTrainRow) -> Self {
        ServiceSummaryRow {
            policy: r.policy.clone(),
            review: r.review.clone(),
            service: r.service.clone(),
            deployments: 0.0,
            change_failure_rate: None,
            rollbacks: 0.0,
            false_positive_rollbacks: 0.0,
            latent_shown: 0.0,
        }
    }

    fn add(&mut self, r: &ServiceTrainRow) -> (u32, u32) {
        self.deployments += f64::from(r.deployments);
        self.rollbacks += f64::from(r.rollbacks);
        self.false_positive_rollbacks += f64::from(r.false_positive_rollbacks);
        self.latent_shown += f64::from(r.latent_shown);
        (r.deployments, r.failed_deployments)
    }

    fn divide(&mut self, n: f64, change_failure_rate: Option<f64>) {
        self.change_failure_rate = change_failure_rate;
        self.deployments /= n;
        self.rollbacks /= n;
        self.false_positive_rollbacks /= n;
        self.latent_shown /= n;
    }
}
