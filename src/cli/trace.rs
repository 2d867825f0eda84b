//! `rollsim trace`: one run of one policy (or a game's recorded commands) as a timeline,
//! written by [`rollsim::jobs::trace`]; this module picks the actor and prints the run.

use super::args::TraceArgs;
use super::note;
use super::{
    command_line, default_out, load_source, pick_seed, policy_index, stop_flag, UsageError,
};
use anyhow::Result;
use rollsim::gameday::recording;
use rollsim::jobs::trace::{Actor, TraceJob, Traced};
use rollsim::sim::trace::log_line;

pub fn trace(a: &TraceArgs, argv: &[String]) -> Result<()> {
    let stop = stop_flag();
    let source = load_source(&a.scenario)?;
    let scn = &source.scenario;
    let actor = match &a.actions {
        Some(path) => {
            let recorded = super::read(path)?;
            let script = recording::read(&recorded, &path.display().to_string(), scn)
                .map_err(|e| UsageError(e.to_string()))?;
            let pager = a
                .pager
                .as_deref()
                .map(|name| policy_index(scn, name, "--pager"))
                .transpose()?;
            Actor::Recorded { script, pager }
        }
        None => Actor::Policy(match &a.policy {
            Some(name) => policy_index(scn, name, "--policy")?,
            None => 0,
        }),
    };
    let seed = pick_seed(a.seed, scn);
    let job = TraceJob {
        out: a
            .dest
            .or(|| default_out(&a.scenario, &format!("-run{}", a.run))),
        seed,
        run: a.run,
        actor,
        command: command_line(argv, seed),
        source,
    };
    let Traced {
        dir,
        policy,
        record,
        trace,
    } = job.run(Some(&stop))?;
    let head = format!(
        "run {} of {} with policy {policy} (seed {seed}): release {}, {} {}, {} downtime, {} of {} requests failed",
        a.run,
        a.scenario.display(),
        if record.release_bad { "bad" } else { "good" },
        record.rollbacks,
        if record.rollbacks == 1 {
            "rollback"
        } else {
            "rollbacks"
        },
        // A duration as every message writes one, to the second.
        rollsim::check::duration_text((record.downtime_s.max(0.0).round() as u64) * 1000),
        record.failed_requests,
        record.total_requests,
    );
    // Printed as `run` prints its table: a reader that left (`| head -1`) stops the
    // timeline, not the report built after it.
    let mut text = format!(
        "{}\n",
        super::experiment::wrap(&head, rollsim::report::table::WIDTH)
    );
    for e in trace.events.iter().filter(|e| e.kind != "share") {
        // An event with no detail pads its kind: no trailing blanks.
        let line = log_line(e.t_s, e.kind, &e.detail);
        text.push_str(&format!("  {}\n", line.trim_end()));
    }
    super::say(&text)?;
    let wrote = format!(
        "wrote {}/ (trace.csv, events.csv, runs.csv; metrics.csv and labels.csv for replay)",
        dir.path().display()
    );
    note(super::experiment::wrap_long_lines(
        &wrote,
        rollsim::report::table::WIDTH,
    ));
    super::report::after_command(dir.path(), Some(&stop))
}
