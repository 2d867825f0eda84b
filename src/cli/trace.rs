//! `rollsim trace`: one run of one policy as a timeline: `trace.csv` (truth and
//! observation per scrape interval), `events.csv` (deploys, faults, rollbacks, ...) and
//! `runs.csv` with the run's outcome, exactly as `rollsim run` scores it; and the run as a
//! recording (`metrics.csv`, `labels.csv`) that `rollsim replay` and `calibrate` read.

use super::args::TraceArgs;
use super::{command_line, default_out, load, pick_seed, policy_index, UsageError};
use anyhow::{Context, Result};
use rollsim::gameday::{recording, team_spec};
use rollsim::report::{csv_bytes, Manifest, OutputDir};
use rollsim::sim::trace::log_line;
use rollsim::sim::{replicate_scripted, replicate_traced, Prepared, World};

pub fn trace(a: &TraceArgs, argv: &[String]) -> Result<()> {
    let (text, origin, scn) = load(&a.scenario)?;
    let index = match &a.policy {
        Some(name) => policy_index(&scn, name, "--policy")?,
        None => 0,
    };
    let script = match &a.actions {
        Some(path) => {
            let recorded = super::read(path)?;
            let script = recording::read(&recorded, &path.display().to_string(), &scn)
                .map_err(|e| UsageError(e.to_string()))?;
            let pager = a
                .pager
                .as_deref()
                .map(|name| policy_index(&scn, name, "--pager"))
                .transpose()?;
            Some((script, team_spec(&scn, pager)))
        }
        None => None,
    };
    let seed = pick_seed(a.seed, &scn);
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| default_out(&a.scenario, &format!("-run{}", a.run)));
    let dir = OutputDir::prepare(&out, a.force)?;

    let prepared = Prepared::new(&scn);
    let world = World::for_run(&scn, seed, a.run);
    let (spec, (record, trace)) = match &script {
        Some((script, team)) => (team, replicate_scripted(&prepared, &world, team, script)),
        None => {
            let spec = &scn.policies[index];
            (spec, replicate_traced(&prepared, &world, spec))
        }
    };

    dir.write("trace.csv", &csv_bytes(&trace.rows).context("trace.csv")?)?;
    dir.write(
        "events.csv",
        &csv_bytes(&trace.events).context("events.csv")?,
    )?;
    dir.write(
        "runs.csv",
        &csv_bytes(std::slice::from_ref(&record)).context("runs.csv")?,
    )?;
    // The run as a recording, for `rollsim replay` and `rollsim calibrate`.
    let dt = scn.scrape_interval_ms;
    dir.write(
        "metrics.csv",
        &rollsim::recorded::export::metrics_csv(&trace, dt).context("metrics.csv")?,
    )?;
    dir.write(
        "labels.csv",
        &rollsim::recorded::export::labels_csv(&trace, dt).context("labels.csv")?,
    )?;
    dir.write("scenario.toml", text.as_bytes())?;
    let manifest = Manifest::single_run(
        "trace",
        &origin,
        &text,
        seed,
        a.run,
        vec![spec.name.clone()],
        command_line(argv, seed),
    );
    dir.write("manifest.json", &manifest.to_json())?;

    println!(
        "run {} of {} with policy {} (seed {seed}): release {}, {} rollbacks, {:.0} s downtime, {} of {} requests failed",
        a.run,
        a.scenario.display(),
        spec.name,
        if record.release_bad { "bad" } else { "good" },
        record.rollbacks,
        record.downtime_s,
        record.failed_requests,
        record.total_requests,
    );
    for e in trace.events.iter().filter(|e| e.kind != "share") {
        println!("  {}", log_line(e.t_s, e.kind, &e.detail));
    }
    eprintln!(
        "wrote {}/ (trace.csv, events.csv, runs.csv; metrics.csv and labels.csv for replay)",
        dir.path().display()
    );
    super::report::after_command(dir.path())
}
