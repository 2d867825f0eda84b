//! `trace`: one run of one policy as a timeline: `trace.csv` (truth and observation per
//! scrape interval), `events.csv` (deploys, faults, rollbacks, ...) and `runs.csv` with the
//! run's outcome, exactly as `run` scores it; and the run as a recording (`metrics.csv`,
//! `labels.csv`) that `replay` and `calibrate` read.

use super::{JobError, Source};
use crate::gameday::team_spec;
use crate::outcome::RunRecord;
use crate::recorded::export::{labels_csv, metrics_csv};
use crate::report::system::EVENTS_FILE;
use crate::report::{rows, Destination, Manifest, OutputDir};
use crate::sim::command::Timed;
use crate::sim::trace::Trace;
use crate::sim::{replicate_scripted, replicate_system_traced, replicate_traced, Prepared, World};
use std::sync::atomic::AtomicBool;

/// Who acts in the traced run.
#[derive(Debug, Clone)]
pub enum Actor {
    /// The scenario's policy with this index.
    Policy(usize),
    /// A game's recorded commands (read from its `actions.csv` by
    /// [`recording::read`](crate::gameday::recording::read)), played by the team whose
    /// rule was the policy `pager`'s, if any.
    Recorded {
        script: Vec<Timed>,
        pager: Option<usize>,
    },
}

/// One run to trace, and where to write it.
#[derive(Debug, Clone)]
pub struct TraceJob {
    pub source: Source,
    pub seed: u64,
    pub run: u64,
    pub actor: Actor,
    pub out: Destination,
    pub command: String,
}

/// What a traced run found.
pub struct Traced {
    pub dir: OutputDir,
    /// The policy (or the team) that acted.
    pub policy: String,
    pub record: RunRecord,
    pub trace: Trace,
}

/// Simulates run `run` of `source` (master seed `seed`) with `actor` acting, traced.
/// Once `stop` is set the run is cut short and `JobError::Interrupted` returned.
pub fn trace_run(
    source: &Source,
    seed: u64,
    run: u64,
    actor: &Actor,
    stop: Option<&AtomicBool>,
) -> Result<(String, RunRecord, Trace), JobError> {
    let scn = &source.scenario;
    let prepared = Prepared::with_stop(scn, stop);
    let world = World::for_run(scn, seed, run);
    let traced = match actor {
        Actor::Policy(i) => {
            let spec = scn
                .policies
                .get(*i)
                .ok_or_else(|| JobError::Input(format!("the scenario has no policy {i}")))?;
            let (record, trace) = match replicate_system_traced(&prepared, &world, *i) {
                Some(system) => system,
                None => replicate_traced(&prepared, &world, spec),
            };
            (spec.name.clone(), record, trace)
        }
        Actor::Recorded { script, pager } => {
            let team = team_spec(scn, *pager);
            let (record, trace) = replicate_scripted(&prepared, &world, &team, script);
            (team.name, record, trace)
        }
    };
    if prepared.stopped() {
        return Err(JobError::Interrupted(format!(
            "stopped before run {run} finished; nothing written"
        )));
    }
    Ok(traced)
}

impl TraceJob {
    /// Simulates the run, then writes every file. Stopped by `stop` (Ctrl-C), it writes
    /// nothing, and an earlier output in the directory stays as it was even with `--force`
    /// (the directory is checked before the run and prepared after it).
    pub fn run(&self, stop: Option<&AtomicBool>) -> Result<Traced, JobError> {
        self.out.check()?;
        let (policy, record, trace) =
            trace_run(&self.source, self.seed, self.run, &self.actor, stop)?;
        let dir = self.out.prepare()?;
        rows::write(&dir, "trace.csv", &trace.rows)?;
        rows::write(&dir, "events.csv", &trace.events)?;
        rows::write(&dir, "runs.csv", std::slice::from_ref(&record))?;
        // The run as a recording, for `replay` and `calibrate`.
        let dt = self.source.scenario.scrape_interval_ms;
        rows::write_bytes(&dir, "metrics.csv", metrics_csv(&trace, dt))?;
        rows::write_bytes(&dir, "labels.csv", labels_csv(&trace, dt))?;
        if let (Some(system), Actor::Policy(_)) = (&self.source.scenario.system, &self.actor) {
            let events = super::system::events_of(&trace.events, self.run, &policy);
            super::system::write_graph(&dir, system)?;
            rows::write(&dir, EVENTS_FILE, &events)?;
        }
        dir.write("scenario.toml", self.source.text.as_bytes())?;
        let manifest = Manifest::single_run(
            "trace",
            &self.source.origin,
            &self.source.text,
            self.seed,
            self.run,
            vec![policy.clone()],
            self.command.clone(),
        );
        dir.write("manifest.json", &manifest.to_json())?;
        Ok(Traced {
            dir,
            policy,
            record,
            trace,
        })
    }
}
