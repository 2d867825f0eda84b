//! `run`, `compare` and the demo: one experiment written into an output directory.

use super::{JobError, Source};
use crate::experiment::{self, Options, Results};
use crate::report::{comparison_csv, rows, summary_csv, Destination, Manifest, OutputDir};
use std::ops::Range;
use std::sync::atomic::AtomicBool;

/// One experiment, checked: what to run and where to write it.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// The command, as manifests record it: `run` or `compare`.
    pub kind: &'static str,
    pub source: Source,
    /// The output directory.
    pub out: Destination,
    /// The master seed.
    pub seed: u64,
    /// Runs asked for in all (all shards together).
    pub runs: u64,
    /// The runs this invocation simulates (all, one shard's slice, or one run).
    pub range: Range<u64>,
    /// `i/n` when this is one shard.
    pub shard: Option<String>,
    /// The policy every other is paired with.
    pub baseline: usize,
    /// Write `comparison.csv` and name the baseline in the manifest (`compare`).
    pub compare: bool,
    /// The command line that reproduces it.
    pub command: String,
}

/// What an experiment wrote.
pub struct Finished {
    pub dir: OutputDir,
    /// The summary and comparison of the runs that finished.
    pub results: Results,
}

impl Experiment {
    /// Runs it: runs are streamed to `runs.csv` as chunks finish, then the summary (and
    /// the comparison), the scenario and the manifest are written. When `stop` is set the
    /// files hold the finished runs and `results.interrupted` says so.
    pub fn run(
        &self,
        stop: Option<&AtomicBool>,
        progress: Option<&(dyn Fn(u64) + Sync)>,
    ) -> Result<Finished, JobError> {
        let dir = self.out.prepare()?;
        let mut runs = dir.runs_writer()?;
        let opts = Options {
            seed: self.seed,
            runs: self.range.clone(),
            baseline: self.baseline,
            stop,
            progress,
            events: true,
        };
        let results = experiment::run(&self.source.scenario, &opts, |rows| runs.write(rows))?;
        let runs_sha256 = runs.finish()?;
        rows::write_bytes(&dir, "summary.csv", summary_csv(&results.summary))?;
        if self.compare {
            rows::write_bytes(&dir, "comparison.csv", comparison_csv(&results.comparison))?;
        }
        super::system::write(&dir, &self.source.scenario, results.events.as_ref())?;
        dir.write("scenario.toml", self.source.text.as_bytes())?;
        let mut manifest = self.manifest(&results);
        manifest.sha256.insert("runs.csv".into(), runs_sha256);
        dir.write("manifest.json", &manifest.to_json())?;
        Ok(Finished { dir, results })
    }

    fn manifest(&self, r: &Results) -> Manifest {
        let policies = self.source.policies();
        let command = self.command.clone();
        Manifest {
            first_run: self.range.start,
            completed_runs: r.completed,
            interrupted: r.interrupted,
            baseline: self.compare.then(|| r.comparison.baseline.clone()),
            shard: self.shard.clone(),
            ..self
                .source
                .manifest(self.kind, self.seed, self.runs, policies, command)
        }
    }
}
