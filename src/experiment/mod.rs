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
pub mod train;
pub mod tune;

use crate::outcome::RunRecord;
use crate::scenario::Scenario;
use crate::sim::trace::TraceEvent;
use crate::sim::{replicate, replicate_system, replicate_system_events, Prepared, World};
use rayon::prelude::*;
use stats::{Accumulator, Estimate};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

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
    /// In a system, when [`Options::events`] asked for them: the events of the first run
    /// that finished (in run order) in which any policy rolled back any service, recorded
    /// while it was simulated (the report draws which service was rolled back when).
    pub events: Option<RunEvents>,
}

/// One run's events in a system, every policy's (see [`Results::events`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RunEvents {
    pub run: u64,
    /// Each policy's events, in scenario order: every service's, in time order.
    pub policies: Vec<Vec<TraceEvent>>,
}

/// The first run among `records` (whole runs, in run order) whose system row shows a
/// rollback: the run whose events an experiment keeps.
pub fn first_rollback_run(records: &[RunRecord]) -> Option<u64> {
    records
        .iter()
        .find(|r| r.service.as_deref() == Some("system") && r.rollbacks > 0)
        .map(|r| r.run)
}

type Row = [Accumulator; RunRecord::METRICS.len()];
type SystemRow = [Accumulator; RunRecord::SYSTEM_METRICS.len()];

/// Accumulates the records of whole runs into a [`Summary`] and a [`Comparison`], in the
/// order they are given.
#[derive(Debug, Clone)]
pub struct Summarizer {
    names: Vec<String>,
    /// Rows per policy in a run: 1, or in a system the system's row and one per service.
    group: usize,
    /// The baseline policy's index.
    baseline: usize,
    acc: Vec<Row>,
    diff: Vec<Row>,
    sys_acc: Vec<SystemRow>,
    sys_diff: Vec<SystemRow>,
}

/// The summary's name of each row of a run: the policies, or in a system each policy
/// (its system row) followed by `policy@service` for each service.
pub fn row_names(policies: &[String], services: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(policies.len() * (services.len() + 1));
    for p in policies {
        out.push(p.clone());
        out.extend(services.iter().map(|s| format!("{p}@{s}")));
    }
    out
}

/// The names of a scenario's services (none for a single service).
pub fn service_names(scenario: &Scenario) -> Vec<String> {
    scenario
        .system
        .iter()
        .flat_map(|s| s.services.iter().map(|x| x.name.clone()))
        .collect()
}

impl Summarizer {
    /// A summarizer for `policies` (in scenario order), paired against `baseline`.
    pub fn new(policies: Vec<String>, baseline: usize) -> Self {
        Self::system(policies, baseline, &[])
    }

    /// A summarizer for a system's `policies` and `services` (none: a single service):
    /// each service's rows are paired with the same service's rows of `baseline`.
    pub fn system(policies: Vec<String>, baseline: usize, services: &[String]) -> Self {
        let names = row_names(&policies, services);
        let empty = [Accumulator::default(); RunRecord::METRICS.len()];
        let sys = [Accumulator::default(); RunRecord::SYSTEM_METRICS.len()];
        Summarizer {
            acc: vec![empty; names.len()],
            diff: vec![empty; names.len()],
            sys_acc: vec![sys; names.len()],
            sys_diff: vec![sys; names.len()],
            group: services.len() + 1,
            names,
            baseline,
        }
    }

    /// Adds the records of one run, one per row name in order.
    pub fn add_run(&mut self, rows: &[RunRecord]) {
        for (i, r) in rows.iter().enumerate().take(self.names.len()) {
            let j = self.baseline * self.group + i % self.group;
            let base = rows.get(j).filter(|_| i != j);
            add(
                &mut self.acc[i],
                &mut self.diff[i],
                &r.metrics(),
                base.map(RunRecord::metrics),
            );
            add(
                &mut self.sys_acc[i],
                &mut self.sys_diff[i],
                &r.system_metrics(),
                base.map(RunRecord::system_metrics),
            );
        }
    }

    /// Adds records of whole runs, given in run order with policies in scenario order.
    pub fn add_records(&mut self, records: &[RunRecord]) {
        for run in records.chunk_by(|a, b| a.run == b.run) {
            self.add_run(run);
        }
    }

    /// The estimates of a row: every metric, and a system's metrics where present.
    fn estimates(acc: &Row, sys: &SystemRow) -> Vec<(&'static str, Estimate)> {
        let system = RunRecord::SYSTEM_METRICS
            .iter()
            .zip(sys)
            .filter(|(_, a)| a.n > 0);
        RunRecord::METRICS
            .iter()
            .zip(acc)
            .chain(system)
            .map(|((m, kind), a)| (*m, a.estimate(*kind)))
            .collect()
    }

    /// The summary of everything added so far.
    pub fn summary(&self) -> Summary {
        Summary {
            policies: self
                .names
                .iter()
                .zip(self.acc.iter().zip(&self.sys_acc))
                .map(|(name, (acc, sys))| PolicySummary {
                    policy: name.clone(),
                    metrics: Self::estimates(acc, sys),
                })
                .collect(),
        }
    }

    /// The paired comparison of everything added so far. Differences of proportions get
    /// a normal interval too (a difference lies in [-1, 1], not [0, 1]).
    pub fn comparison(&self) -> Comparison {
        let base = self.baseline * self.group..(self.baseline + 1) * self.group;
        Comparison {
            baseline: self
                .names
                .get(self.baseline * self.group)
                .cloned()
                .unwrap_or_default(),
            policies: self
                .names
                .iter()
                .zip(self.diff.iter().zip(&self.sys_diff))
                .enumerate()
                .filter(|(i, _)| !base.contains(i))
                .map(|(_, (name, (acc, sys)))| PolicySummary {
                    policy: name.clone(),
                    metrics: RunRecord::METRICS
                        .iter()
                        .zip(acc)
                        .chain(
                            RunRecord::SYSTEM_METRICS
                                .iter()
                                .zip(sys)
                                .filter(|(_, a)| a.n > 0),
                        )
                        .map(|((m, _), a)| (*m, a.normal()))
                        .collect(),
                })
                .collect(),
        }
    }
}

/// Adds one row's `values` to `acc`, and their differences from `base` to `diff`.
fn add<const N: usize>(
    acc: &mut [Accumulator; N],
    diff: &mut [Accumulator; N],
    values: &[Option<f64>; N],
    base: Option<[Option<f64>; N]>,
) {
    for (k, v) in values.iter().enumerate() {
        if let Some(v) = v {
            acc[k].add(*v);
            if let Some(Some(b)) = base.map(|b| b[k]) {
                diff[k].add(v - b);
            }
        }
    }
}

/// Simulates every policy on run `run` (one world, shared by all policies); in a system,
/// each policy's rows are the system's then one per service (see [`row_names`]).
pub fn simulate_run(prepared: &Prepared<'_>, master_seed: u64, run: u64) -> Vec<RunRecord> {
    let scenario = prepared.scenario;
    let world = World::for_run(scenario, master_seed, run);
    if scenario.system.is_some() {
        return replicate_system(prepared, &world);
    }
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
    /// In a system, keep the events of the first run with a rollback
    /// ([`Results::events`]).
    pub events: bool,
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
            events: false,
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
    let mut summarizer = Summarizer::system(names, opts.baseline, &service_names(scenario));
    let mut start = opts.runs.start;
    let mut interrupted = false;
    let events = opts.events && scenario.system.is_some();
    let mut kept: Option<RunEvents> = None;
    // The first run known to have a rollback (any thread): a later run's events can never
    // be the ones kept, so a later run does not record them. Every earlier run records
    // them, so the run kept is the same for any thread count.
    let found = AtomicU64::new(u64::MAX);
    while start < opts.runs.end {
        if prepared.stopped() {
            interrupted = true;
            break;
        }
        let end = (start + CHUNK).min(opts.runs.end);
        // A run that ends with the stop flag set may have been cut short: it is dropped,
        // with every run after it, so the output is always a prefix of whole runs.
        let chunk: Vec<Option<Simulated>> = (start..end)
            .into_par_iter()
            .map(|run| {
                let wanted = events && run < found.load(Ordering::Relaxed);
                let simulated = if wanted {
                    let world = World::for_run(scenario, opts.seed, run);
                    let (records, policies) = replicate_system_events(&prepared, &world);
                    // Only a run with a rollback may be kept: the others' events go now.
                    let policies = first_rollback_run(&records).map(|_| {
                        found.fetch_min(run, Ordering::Relaxed);
                        policies
                    });
                    (records, policies)
                } else {
                    (simulate_run(&prepared, opts.seed, run), None)
                };
                (!prepared.stopped()).then_some(simulated)
            })
            .collect();
        let whole: Vec<Simulated> = chunk.into_iter().map_while(|r| r).collect();
        let done = whole.len() as u64;
        let mut records = Vec::with_capacity(whole.first().map_or(0, |w| w.0.len()) * whole.len());
        for (run, (rows, policies)) in (start..).zip(whole) {
            summarizer.add_run(&rows);
            if let (None, Some(policies)) = (&kept, policies) {
                kept = Some(RunEvents { run, policies });
            }
            records.extend(rows);
        }
        let cut = done < end - start;
        start += done;
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
        events: kept,
    })
}

/// One run's records, and its policies' events when they were recorded and it had a
/// rollback.
type Simulated = (Vec<RunRecord>, Option<Vec<Vec<TraceEvent>>>);
