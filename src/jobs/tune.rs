//! `tune`: a checked [`Tune`] searched and written into an output directory: `tune.csv`
//! (every candidate's objective at the end of every round it took part in, and its key
//! outcomes where it ended), `tuned.toml` (the scenario with the winner's values),
//! `scenario.toml`, `manifest.json` and `tune.svg`/`tune.png` (the chart). Nothing is written
//! before the job's input is checked (the CLI builds the [`Tune`] first).

use super::{JobError, Source};
use crate::experiment::tune::{setting, Outcome, Tune};
use crate::report::charts::tune::{tune_chart, Status, TunePoint};
use crate::report::{rows, Destination, Manifest, OutputDir, ReportError};
use serde::{Deserialize, Serialize};
use std::sync::atomic::AtomicBool;

/// A tune, checked, and where to write it.
#[derive(Debug, Clone)]
pub struct TuneJob {
    pub source: Source,
    pub tune: Tune,
    pub seed: u64,
    /// The last round's runs (the budget of a finalist).
    pub runs: u64,
    pub out: Destination,
    /// The `--param` values as given.
    pub params: Vec<String>,
    pub command: String,
}

/// One row of `tune.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TuneRow {
    /// `round N` (the candidate's objective at the end of round N), or `final` (its
    /// outcomes where it ended).
    pub stage: String,
    /// The runs the candidate had at that stage.
    pub runs: u64,
    pub candidate: u64,
    /// `failures = 5, ...`.
    pub setting: String,
    pub metric: String,
    pub mean: Option<f64>,
    pub ci95_low: Option<f64>,
    pub ci95_high: Option<f64>,
    /// `kept`, `dropped`, `finalist` or `winner`.
    pub status: String,
}

/// What a finished tune found.
pub struct Finished {
    pub dir: OutputDir,
    pub manifest: Manifest,
    pub outcome: Outcome,
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// The outcomes `tune.csv` lists for every candidate where it ended.
pub const FINAL_METRICS: [&str; 5] = [
    "false_positive_rollbacks",
    "missed_bad_release",
    "rollbacks",
    "downtime_s",
    "failed_requests",
];

impl TuneJob {
    fn manifest(&self, completed: u64, interrupted: bool) -> Manifest {
        let policies = vec![self.tune.policy.clone()];
        let command = self.command.clone();
        Manifest {
            completed_runs: completed,
            interrupted,
            params: self.params.clone(),
            ..self
                .source
                .manifest("tune", self.seed, self.runs, policies, command)
        }
    }

    /// Prepares the directory, runs the search and writes everything. `progress` gets the
    /// candidate-runs finished (of [`Tune::work`]).
    pub fn run(
        &self,
        stop: Option<&AtomicBool>,
        progress: Option<&(dyn Fn(u64) + Sync)>,
    ) -> Result<Finished, JobError> {
        let dir = self.out.prepare()?;
        dir.write("scenario.toml", self.source.text.as_bytes())?;
        dir.write("manifest.json", &self.manifest(0, false).to_json())?;
        let outcome = self.tune.run(self.seed, self.runs, stop, progress);
        let completed = outcome.rounds.last().map_or(0, |r| r.runs);
        let manifest = self.manifest(completed, outcome.interrupted);
        dir.write("manifest.json", &manifest.to_json())?;
        let rows = self.rows(&outcome);
        let csv = rows::csv_text(&rows, true).map_err(|source| ReportError::Csv {
            path: "tune.csv".into(),
            source,
        })?;
        dir.write("tune.csv", &csv)?;
        if outcome.interrupted {
            return Err(JobError::Interrupted(format!(
                "stopped after {} rounds; {}/tune.csv holds them",
                outcome.rounds.len(),
                dir.path().display()
            )));
        }
        if let Some(w) = outcome.winner {
            let text = self
                .tune
                .scenario_text(&self.source.text, w)
                .map_err(|e| JobError::Input(e.0))?;
            let header = format!(
                "# Tuned by rollsim tune: policy {:?} set to {}.\n# Reproduce with: {}\n",
                self.tune.policy,
                setting(&self.tune.params, &self.tune.candidates[w].values),
                self.command
            );
            dir.write("tuned.toml", format!("{header}{text}").as_bytes())?;
        }
        let chart = self.chart(&outcome)?;
        dir.write("tune.svg", chart.svg.as_bytes())?;
        dir.write("tune.png", &chart.png)?;
        Ok(Finished {
            dir,
            manifest,
            outcome,
        })
    }

    fn status(&self, o: &Outcome, i: usize) -> &'static str {
        if o.winner == Some(i) {
            "winner"
        } else if o.finalists.contains(&i) {
            "finalist"
        } else {
            "dropped"
        }
    }

    /// Every candidate's objective per round, then its outcomes where it ended.
    pub fn rows(&self, o: &Outcome) -> Vec<TuneRow> {
        let t = &self.tune;
        let name = |i: usize| setting(&t.params, &t.candidates[i].values);
        let mut out = Vec::new();
        for (r, round) in o.rounds.iter().enumerate() {
            for (i, e) in &round.objective {
                out.push(TuneRow {
                    stage: format!("round {r}"),
                    runs: round.runs,
                    candidate: *i as u64,
                    setting: name(*i),
                    metric: t.objective.target.metric.clone(),
                    mean: finite(e.mean),
                    ci95_low: finite(e.ci95_low),
                    ci95_high: finite(e.ci95_high),
                    status: if round.dropped.contains(i) {
                        "dropped".into()
                    } else {
                        "kept".into()
                    },
                });
            }
        }
        let mut metrics: Vec<String> = vec![t.objective.target.metric.clone()];
        for c in &t.objective.constraints {
            metrics.push(c.target.metric.clone());
        }
        metrics.extend(FINAL_METRICS.iter().map(|m| m.to_string()));
        let mut seen = Vec::new();
        metrics.retain(|m| {
            let new = !seen.contains(m);
            seen.push(m.clone());
            new
        });
        for s in &o.standings {
            for m in &metrics {
                if let Some((_, e)) = s.estimates.iter().find(|(k, _)| k == m) {
                    out.push(TuneRow {
                        stage: "final".into(),
                        runs: s.runs,
                        candidate: s.candidate as u64,
                        setting: name(s.candidate),
                        metric: m.clone(),
                        mean: finite(e.mean),
                        ci95_low: finite(e.ci95_low),
                        ci95_high: finite(e.ci95_high),
                        status: self.status(o, s.candidate).into(),
                    });
                }
            }
        }
        out
    }

    /// The trade-off and progress chart: the first constraint's metric (else the
    /// false-positive rollbacks) against the objective.
    pub fn chart(&self, o: &Outcome) -> Result<crate::report::charts::Chart, ReportError> {
        let t = &self.tune;
        let (x_metric, limit) = match t.objective.constraints.first() {
            Some(c) => (c.target.metric.clone(), Some(c.bound)),
            None => ("false_positive_rollbacks".to_string(), None),
        };
        let y_metric = &t.objective.target.metric;
        let span = |s: &crate::experiment::tune::Standing, m: &str| {
            s.estimates
                .iter()
                .find(|(k, _)| *k == m)
                .map(|(_, e)| (e.mean, e.ci95_low, e.ci95_high))
                .unwrap_or((f64::NAN, f64::NAN, f64::NAN))
        };
        let points: Vec<TunePoint> = o
            .standings
            .iter()
            .map(|s| TunePoint {
                label: setting(&t.params, &t.candidates[s.candidate].values),
                x: span(s, &x_metric),
                y: span(s, y_metric),
                status: match self.status(o, s.candidate) {
                    "winner" => Status::Winner,
                    "finalist" => Status::Finalist,
                    _ => Status::Dropped,
                },
                track: o
                    .rounds
                    .iter()
                    .filter_map(|r| {
                        r.objective
                            .iter()
                            .find(|(i, _)| *i == s.candidate)
                            .map(|(_, e)| (r.runs as f64, e.mean))
                    })
                    .collect(),
            })
            .collect();
        tune_chart(&points, &x_metric, y_metric, limit)
    }
}
