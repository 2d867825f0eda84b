//! Experiments: many runs of every policy on the same worlds, in parallel, summarised.
//!
//! Runs are simulated in chunks with rayon; each chunk's records are collected in run
//! order and handed to the caller's sink before the next chunk starts, so memory stays flat
//! in the number of runs and the output does not depend on the thread count.

pub mod stats;

use crate::outcome::RunRecord;
use crate::scenario::Scenario;
use crate::sim::{replicate, rng::run_seed, Prepared, World};
use rayon::prelude::*;
use stats::{Accumulator, Estimate};
use std::ops::Range;

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

/// Accumulates records into a [`Summary`], in the order they are given.
#[derive(Debug, Clone)]
pub struct Summarizer {
    names: Vec<String>,
    acc: Vec<[Accumulator; RunRecord::METRICS.len()]>,
}

impl Summarizer {
    /// A summarizer for the policies of `scenario`.
    pub fn new(scenario: &Scenario) -> Self {
        let names: Vec<String> = scenario.policies.iter().map(|p| p.name.clone()).collect();
        let acc = vec![[Accumulator::default(); RunRecord::METRICS.len()]; names.len()];
        Summarizer { names, acc }
    }

    /// Adds one record; records of unknown policies are ignored.
    pub fn add(&mut self, r: &RunRecord) {
        if let Some(i) = self.names.iter().position(|n| *n == r.policy) {
            for (a, v) in self.acc[i].iter_mut().zip(r.metrics()) {
                if let Some(v) = v {
                    a.add(v);
                }
            }
        }
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
                    metrics: RunRecord::METRICS
                        .iter()
                        .zip(acc)
                        .map(|((m, kind), a)| (*m, a.estimate(*kind)))
                        .collect(),
                })
                .collect(),
        }
    }
}

/// Simulates every policy on run `run` (one world, shared by all policies).
pub fn simulate_run(prepared: &Prepared<'_>, master_seed: u64, run: u64) -> Vec<RunRecord> {
    let scenario = prepared.scenario;
    let world = World::draw(scenario, run, run_seed(master_seed, run));
    scenario
        .policies
        .iter()
        .map(|spec| replicate(prepared, &world, spec))
        .collect()
}

/// Runs the experiment over `runs`, handing each finished chunk of records (in run
/// order, policies in scenario order) to `sink`, and returns the summary.
pub fn run<E>(
    scenario: &Scenario,
    master_seed: u64,
    runs: Range<u64>,
    mut sink: impl FnMut(&[RunRecord]) -> Result<(), E>,
) -> Result<Summary, E> {
    let prepared = Prepared::new(scenario);
    let mut summarizer = Summarizer::new(scenario);
    let mut start = runs.start;
    while start < runs.end {
        let end = (start + CHUNK).min(runs.end);
        let chunk: Vec<Vec<RunRecord>> = (start..end)
            .into_par_iter()
            .map(|run| simulate_run(&prepared, master_seed, run))
            .collect();
        let records: Vec<RunRecord> = chunk.into_iter().flatten().collect();
        for r in &records {
            summarizer.add(r);
        }
        sink(&records)?;
        start = end;
    }
    Ok(summarizer.summary())
}
