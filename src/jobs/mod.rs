//! Commands as library calls: each job takes its checked configuration, runs the
//! library, writes its output directory and returns what it found, so the CLI only
//! parses arguments, builds the configuration, calls a job and prints.
//!
//! Jobs sit above `experiment` (which computes and does no I/O) and `report` (which owns
//! the output directory and the files' row types): `experiment` may not import `report`,
//! so what reads and writes files around an experiment lives here.
//!
//! - [`experiment`]: `run`, `compare` and the demo: runs streamed to `runs.csv`, then
//!   `summary.csv`, `comparison.csv`, `scenario.toml`, `manifest.json`.
//! - [`sweep`]: a [`crate::experiment::sweep::Sweep`], its points streamed to `sweep.csv`,
//!   `--resume`, the objective's `recommendation.json`.
//! - [`merge`]: shard outputs into the single-machine output.
//! - [`system`]: a system's graph and one traced run's events by service, for the report.
//! - [`trace`]: one run of one policy (or a game's recorded commands) as a timeline.

pub mod experiment;
pub mod merge;
pub mod sweep;
pub mod system;
pub mod trace;
pub mod train;
pub mod tune;

use crate::report::{Manifest, ReportError};
use crate::scenario::{Scenario, ScenarioError};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// Why a job failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Bad input found after parsing: a flag's value, a `--param`, a recording, a
    /// directory to resume or merge that does not fit (exit code 2).
    #[error("{0}")]
    Input(String),
    /// Stopped by the caller's stop flag (Ctrl-C) after writing what had finished.
    #[error("interrupted: {0}")]
    Interrupted(String),
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error(transparent)]
    Report(#[from] ReportError),
}

impl JobError {
    /// Whether the input was at fault (the CLI's exit code 2), not the machine.
    pub fn is_bad_input(&self) -> bool {
        match self {
            JobError::Input(_) | JobError::Scenario(_) => true,
            JobError::Report(e) => e.is_bad_input(),
            JobError::Interrupted(_) => false,
        }
    }
}

/// A checked scenario with the text it came from.
#[derive(Debug, Clone)]
pub struct Source {
    /// The file's text, copied into every output as `scenario.toml`.
    pub text: String,
    /// How messages and manifests name it (the path as given).
    pub origin: String,
    /// The file's path: its directory resolves a sweep point's imports.
    pub path: PathBuf,
    pub scenario: Scenario,
}

impl Source {
    /// SHA-256 of the text, as manifests record it.
    pub fn sha256(&self) -> String {
        format!("{:x}", Sha256::digest(self.text.as_bytes()))
    }

    /// The names of the scenario's policies, in order.
    pub fn policies(&self) -> Vec<String> {
        self.scenario
            .policies
            .iter()
            .map(|p| p.name.clone())
            .collect()
    }

    /// The manifest of command `kind` run on this scenario ([`Manifest::new`]): `runs`
    /// runs from run 0, all finished; the job sets what differs.
    pub fn manifest(
        &self,
        kind: &str,
        seed: u64,
        runs: u64,
        policies: Vec<String>,
        command: String,
    ) -> Manifest {
        Manifest::new(
            kind,
            &self.origin,
            &self.text,
            seed,
            runs,
            policies,
            command,
        )
    }
}
