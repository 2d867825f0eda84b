//! Integration tests: one binary, a module per topic.

mod calibrate;
mod cli;
mod closed_forms;
mod compare;
mod controllers;
mod data;
mod determinism;
mod human;
mod invariants;
mod replay;
mod sweep;

use rollsim::outcome::RunRecord;
use rollsim::scenario::{parse, Scenario};

/// Parses a scenario written inline in a test.
pub fn scenario(text: &str) -> Scenario {
    match parse(text, "test.toml") {
        Ok(s) => s,
        Err(e) => panic!("test scenario is invalid: {e}"),
    }
}

/// Runs an experiment and returns every record.
pub fn records(s: &Scenario, seed: u64, runs: u64) -> Vec<RunRecord> {
    let mut all = Vec::new();
    let opts = rollsim::experiment::Options::new(seed, 0..runs);
    rollsim::experiment::run(s, &opts, |rows| {
        all.extend_from_slice(rows);
        Ok::<(), ()>(())
    })
    .expect("the sink never fails");
    all
}

/// Records of one policy.
pub fn of<'a>(all: &'a [RunRecord], policy: &str) -> Vec<&'a RunRecord> {
    all.iter().filter(|r| r.policy == policy).collect()
}
