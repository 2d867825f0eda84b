//! Experiments: many runs of every policy on the same worlds, in parallel, summarised.
//!
//! Runs are simulated in chunks with rayon; each chunk's records are collected in run
//! order and handed to the caller's sink before the next chunk starts, so memory stays flat
//! in the number of runs and the output does not depend on the thread count. Between
//! chunks the experiment reports progress and checks the caller's stop flag, which also
//! ends a run in progress (see [`Prepared::with_stop`]), so an interrupted experiment
//! returns promptly with every run that finished whole.

pub mod assertion;
pub mod merge;
pub mod objective;
pub mod recommend;
pub mod shard;
pub mod stats;
pub mod sweep;
pub mod tune;

use crate::outcome::RunRecord;
use crate::scenario::Scenario;
use crate::sim::{replicate, Prepared, World};
use rayon::prelude::*;
use stats::{Accumulator, Estimate};
use std::ops::Range;
use std::sync::atomic::AtomicBool;

/// Runs per parallel chunk: large enough to keep two cores busy, small enough that
/// finished results reach the sink often.
const CHUNK: u64 = 256;

/// Mean and interval of every metric for every policy, in scenario order.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub policies: Vec<PolicySummary>,
}

/// One policy's estimates, in [`RunRecord::METRICS`] order.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicySummary {
    pub policy: String,
    pub metrics: Vec<(&'static str, Estimate)>,
}

/// Paired differences of every policy against a baseline policy, run by run.
///
/// Because every policy of a run sees the same world (common random numbers), the
/// difference of two policies on the same run cancels most of the run-to-run noise, and
/// its interval is much tighter than the difference of two independent means.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub baseline: String,
    /// Every policy but the baseline, in scenario order; estimates are of
    /// `metric(policy) - metric(baseline)` over the runs where both have a value.
    pub policies: Vec<PolicySummary>,
}

/// What an experiment produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Results {
    pub summary: Summary,
    pub comparison: Comparison,
    /// Runs that finished (fewer than asked when stopped).
    pub completed: u64,
    /// Whether the stop flag ended the experiment early.
    pub interrupted: bool,
}

type Row = [Accumulator; RunRecord::METRICS.len()];

/// Accumulates the records of whole runs into a [`Summary`] and a [`Comparison`], in the
/// order they are given.
#[derive(Debug, Clone)]
pub struct Summarizer {
    names: Vec<String>,
    baseline: usize,
    acc: Vec<Row>,
    diff: Vec<Row>,
}

impl Summarizer {
    /// A summarizer for `policies` (in scenario order), paired against `baseline`.
    pub fn new(policies: Vec<String>, baseline: usize) -> Self {
        let empty = [Accumulator::default(); RunRecord::METRICS.len()];
        Summarizer {
            acc: vec![empty; policies.len()],
            diff: vec![empty; policies.len()],
            names: policies,
            baseline,
        }
    }

    /// Adds the records of one run, one per policy in scenario order.
    pub fn add_run(&mut self, rows: &[RunRecord]) {
        let base = rows.get(self.baseline).map(RunRecord::metrics);
        for (i, r) in rows.iter().enumerate().take(self.names.len()) {
            let m = r.metrics();
            for (k, v) in m.iter().enumerate() {
                if let Some(v) = v {
                    self.acc[i][k].add(*v);
                    if let Some(Some(b)) = base.map(|b| b[k]) {
                        if i != self.baseline {
                            self.diff[i][k].add(v - b);
                        }
                    }
                }
            }
        }
    }

    /// Adds records of whole runs, given in run order with policies in scenario order.
    pub fn add_records(&mut self, records: &[RunRecord]) {
        for run in records.chunk_by(|a, b| a.run == b.run) {
            self.add_run(run);
        }
    }

    fn estimates(acc: &Row) -> Vec<(&'static str, Estimate)> {
        RunRecord::METRICS
            .iter()
            .zip(acc)
            .map(|((m, kind), a)| (*m, a.estimate(*kind)))
            .collect()
    }

    /// The summary of everything added so far.
    pub fn summary(&self) -> Summary {
        Summary {
            policies: self
                .names
                .iter()
                .zip(&self.acc)
                .map(|(name, acc)| PolicySummary {
                    policy: name.clone(),
                    metrics: Self::estimates(acc),
                })
                .collect(),
        }
    }

    /// The paired comparison of everything added so far. Differences of proportions get
    /// a normal interval too (a difference lies in [-1, 1], not [0, 1]).
    pub fn comparison(&self) -> Comparison {
        Comparison {
            baseline: self.names.get(self.baseline).cloned().unwrap_or_default(),
            policies: self
                .names
                .iter()
                .zip(&self.diff)
                .enumerate()
                .filter(|(i, _)| *i != self.baseline)
                .map(|(_, (name, acc))| PolicySummary {
                    policy: name.clone(),
                    metrics: RunRecord::METRICS
                        .iter()
                        .zip(acc)
                        .map(|((m, _), a)| (*m, a.normal()))
                        .collect(),
                })
                .collect(),
        }
    }
}

/// Simulates every policy on run `run` (one world, shared by all policies).
pub fn simulate_run(prepared: &Prepared<'_>, master_seed: u64, run: u64) -> Vec<RunRecord> {
    let scenario = prepared.scenario;
    let world = World::for_run(scenario, master_seed, run);
    scenario
        .policies
        .iter()
        .map(|spec| replicate(prepared, &world, spec))
        .collect()
}

/// How to run an experiment.
pub struct Options<'a> {
    pub seed: u64,
    /// Run indices to simulate (all of them, or one shard's slice).
    pub runs: Range<u64>,
    /// Index of the baseline policy for the paired comparison.
    pub baseline: usize,
    /// When set, the experiment stops promptly, even inside a run, with the runs that
    /// finished whole.
    pub stop: Option<&'a AtomicBool>,
    /// Called after each chunk with the number of runs finished so far.
    pub progress: Option<&'a (dyn Fn(u64) + Sync)>,
}

impl Options<'_> {
    /// Runs `runs` with `seed`, the first policy as baseline, no stop flag, no progress.
    pub fn new(seed: u64, runs: Range<u64>) -> Options<'static> {
        Options {
            seed,
            runs,
            baseline: 0,
            stop: None,
            progress: None,
        }
    }
}

/// Runs the experiment, handing each finished chunk of records (in run order, policies
/// in scenario order) to `sink`, and returns the summary and the paired comparison.
pub fn run<E>(
    scenario: &Scenario,
    opts: &Options<'_>,
    mut sink: impl FnMut(&[RunRecord]) -> Result<(), E>,
) -> Result<Results, E> {
    let prepared = Prepared::with_stop(scenario, opts.stop);
    let names = scenario.policies.iter().map(|p| p.name.clone()).collect();
    let mut summarizer = Summarizer::new(names, opts.baseline);
    let mut start = opts.runs.start;
    let mut interrupted = false;
    while start < opts.runs.end {
        if prepared.stopped() {
            interrupted = true;
            break;
        }
        let end = (start + CHUNK).min(opts.runs.end);
        // A run that ends with the stop flag set may have been cut short: it is dropped,
        // with every run after it, so the output is always a prefix of whole runs.
        let chunk: Vec<Option<Vec<RunRecord>>> = (start..end)
            .into_par_iter()
            .map(|run| {
                let records = simulate_run(&prepared, opts.seed, run);
                (!prepared.stopped()).then_some(records)
            })
            .collect();
        let whole: Vec<Vec<RunRecord>> = chunk.into_iter().map_while(|r| r).collect();
        for run in &whole {
            summarizer.add_run(run);
        }
        let cut = (whole.len() as u64) < end - start;
        start += whole.len() as u64;
        let records: Vec<RunRecord> = whole.into_iter().flatten().collect();
        sink(&records)?;
        if let Some(p) = opts.progress {
            p(start - opts.runs.start);
        }
        if cut {
            interrupted = true;
            break;
        }
    }
    Ok(Results {
        summary: summarizer.summary(),
        comparison: summarizer.comparison(),
        completed: start - opts.runs.start,
        interrupted,
    })
}
