//! `rollsim train`: a release train's runs into an output directory, the verdict on
//! reviews printed.

use super::args::TrainArgs;
use super::experiment::wrap;
use super::note;
use super::{
    command_line, default_out, load_any, pick_seed, progress, stop_flag, Interrupted, UsageError,
};
use anyhow::Result;
use rollsim::jobs::train::TrainJob;

pub fn train(a: &TrainArgs, argv: &[String]) -> Result<()> {
    let a = &a.base;
    let source = load_any(&a.scenario)?;
    if source.scenario.train.is_none() {
        return Err(UsageError(format!(
            "{}: `rollsim train` needs a [train] section (see docs/scenarios.md)",
            a.scenario.display()
        ))
        .into());
    }
    let seed = pick_seed(a.seed, &source.scenario);
    let runs = a.runs.unwrap_or(source.scenario.runs);
    let job = TrainJob {
        out: a.dest.or(|| default_out(&a.scenario, "-train")),
        seed,
        runs,
        command: command_line(argv, seed),
        source,
    };
    let stop = stop_flag();
    let bar = progress::bar(runs, "runs", a.quiet);
    let tick = |d: u64| bar.set_position(d);
    let done = job.run(Some(&stop), Some(&tick));
    bar.finish_and_clear();
    let done = done?;
    let mut text = format!("Verdict on reviews ({runs} trains per pair, seed {seed}):\n");
    // Each line within 100 columns: "- " and the wrapped sentence, indented after.
    for v in &done.verdict {
        text.push_str(&format!("- {}\n", wrap(v, 98).replace('\n', "\n  ")));
    }
    // A reader that left (`| head -1`) keeps the exit code of a stopped train.
    super::say(&text)?;
    // As `run` says it: the directory, then the report in it.
    note(format_args!("wrote {}/", done.dir.path().display()));
    let report = done.dir.path().join("report.html");
    if report.exists() {
        note(format_args!("report: {}", report.display()));
    }
    if done.results.interrupted {
        return Err(Interrupted(format!(
            "kept the runs that finished in {}",
            done.dir.path().display()
        ))
        .into());
    }
    Ok(())
}
