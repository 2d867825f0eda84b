//! `rollsim train`: a release train's runs written into an output directory:
//! `train-runs.csv` (a row per run and (policy, review policy) pair), `weekly.csv` (a row
//! per run, pair and week), `train-summary.csv`, `weekly-summary.csv`, in a system's
//! train `train-services.csv` (a row per run, pair and service) and
//! `services-summary.csv`, the weekly chart
//! (`weekly.svg`, `weekly.png`), `report.html`, `report.md`, `scenario.toml` and
//! `manifest.json`.

use super::{JobError, Source};
use crate::experiment::train::{
    run_train, summarize, summarize_services, summarize_weeks, TrainResults, TrainSummaryRow,
};
use crate::report::train::train_report;
use crate::report::{csv_bytes, Destination, Manifest, OutputDir};
use crate::sim::Prepared;
use std::sync::atomic::AtomicBool;

/// A train job, checked.
#[derive(Debug, Clone)]
pub struct TrainJob {
    pub source: Source,
    pub out: Destination,
    pub seed: u64,
    pub runs: u64,
    /// The command line that reproduces it.
    pub command: String,
}

/// What a train job wrote and found.
pub struct TrainFinished {
    pub dir: OutputDir,
    pub results: TrainResults,
    pub summary: Vec<TrainSummaryRow>,
    /// The verdict on reviews, one line per (policy, review policy) against never reviewing.
    pub verdict: Vec<String>,
}

impl TrainJob {
    /// Runs the train's runs and writes every file; nothing is written when the scenario
    /// has no `[train]`. `progress` gets the runs finished so far.
    pub fn run(
        &self,
        stop: Option<&AtomicBool>,
        progress: Option<&(dyn Fn(u64) + Sync)>,
    ) -> Result<TrainFinished, JobError> {
        let scenario = &self.source.scenario;
        let Some(train) = scenario.train.as_deref() else {
            return Err(JobError::Input(format!(
                "{}: `rollsim train` needs a [train] section",
                self.source.origin
            )));
        };
        let dir = self.out.prepare()?;
        let prepared = Prepared::with_stop(scenario, stop);
        let results = run_train(&prepared, train, self.seed, 0..self.runs, stop, progress);
        let summary = summarize(&results.records);
        let weeks = summarize_weeks(&results.weeks);
        let csv = |e: csv::Error| JobError::Input(format!("writing a CSV file: {e}"));
        dir.write("train-runs.csv", &csv_bytes(&results.records).map_err(csv)?)?;
        dir.write("weekly.csv", &csv_bytes(&results.weeks).map_err(csv)?)?;
        dir.write("train-summary.csv", &csv_bytes(&summary).map_err(csv)?)?;
        dir.write("weekly-summary.csv", &csv_bytes(&weeks).map_err(csv)?)?;
        let services = summarize_services(&results.services);
        if !results.services.is_empty() {
            dir.write(
                "train-services.csv",
                &csv_bytes(&results.services).map_err(csv)?,
            )?;
            dir.write("services-summary.csv", &csv_bytes(&services).map_err(csv)?)?;
        }
        let title = if scenario.description.is_empty() {
            self.source.origin.clone()
        } else {
            scenario.description.clone()
        };
        let (html, md, chart) = train_report(&title, &summary, &weeks, &services)?;
        dir.write("weekly.svg", chart.svg.as_bytes())?;
        dir.write("weekly.png", &chart.png)?;
        dir.write("report.html", html.as_bytes())?;
        dir.write("report.md", md.as_bytes())?;
        dir.write("scenario.toml", self.source.text.as_bytes())?;
        let completed = results.records.last().map_or(0, |r| r.run + 1);
        let manifest = Manifest {
            completed_runs: completed,
            interrupted: results.interrupted,
            ..self.source.manifest(
                "train",
                self.seed,
                self.runs,
                self.source.policies(),
                self.command.clone(),
            )
        };
        dir.write("manifest.json", &manifest.to_json())?;
        let verdict = crate::report::train::verdict(&summary);
        Ok(TrainFinished {
            dir,
            results,
            summary,
            verdict,
        })
    }
}
