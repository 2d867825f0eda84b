//! `rollsim run`, `rollsim compare` and the no-argument demo: one experiment written into
//! an output directory.

use super::args::{CommonArgs, CompareArgs, RunArgs};
use super::{command_line, default_out, load_source, pick_seed, policy_index, progress, stop_flag};
use super::{Interrupted, UsageError};
use anyhow::Result;
use rollsim::experiment::Results;
use rollsim::jobs::experiment::{Experiment, Finished};
use rollsim::jobs::Source;
use rollsim::outcome::RunRecord;
use rollsim::report::{comparison_json, ranked_table, summary_json, summary_table};
use rollsim::scenario::{self, DEMO_SCENARIO};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

/// Everything one experiment command needs: the checked experiment, and how to print.
struct Job {
    experiment: Experiment,
    json: bool,
    quiet: bool,
    /// `Some(metric)` for compare: print the ranked table.
    rank_by: Option<String>,
}

impl Job {
    fn from_common(kind: &'static str, c: &CommonArgs, argv: &[String]) -> Result<Job> {
        let source = load_source(&c.scenario)?;
        let seed = pick_seed(c.seed, &source.scenario);
        let runs = c.runs.unwrap_or(source.scenario.runs);
        let range = c.shard.map(|s| s.range(runs)).unwrap_or(0..runs);
        Ok(Job {
            experiment: Experiment {
                kind,
                out: c
                    .out
                    .clone()
                    .unwrap_or_else(|| default_out(&c.scenario, "")),
                force: c.force,
                seed,
                runs,
                range,
                shard: c.shard.map(|s| s.to_string()),
                baseline: 0,
                compare: false,
                command: command_line(argv, seed),
                source,
            },
            json: c.json,
            quiet: c.quiet,
            rank_by: None,
        })
    }
}

pub fn run(a: &RunArgs, argv: &[String]) -> Result<()> {
    let mut job = Job::from_common("run", &a.common, argv)?;
    if let Some(r) = a.run {
        job.experiment.range = r..r + 1;
    }
    execute(&job)
}

pub fn compare(a: &CompareArgs, argv: &[String]) -> Result<()> {
    let mut job = Job::from_common("compare", &a.common, argv)?;
    if let Some(b) = &a.baseline {
        job.experiment.baseline = policy_index(&job.experiment.source.scenario, b, "--baseline")?;
    }
    if !RunRecord::METRICS.iter().any(|m| m.0 == a.rank_by) {
        let names: Vec<&str> = RunRecord::METRICS.iter().map(|m| m.0).collect();
        return Err(UsageError(format!(
            "--rank-by {:?} is not a metric; expected one of {}",
            a.rank_by,
            names.join(", ")
        ))
        .into());
    }
    job.rank_by = Some(a.rank_by.clone());
    job.experiment.compare = true;
    execute(&job)
}

pub fn demo(argv: &[String]) -> Result<()> {
    let origin = "<built-in quickstart scenario>".to_string();
    let scenario = scenario::parse(DEMO_SCENARIO, &origin)?;
    let out = PathBuf::from("rollsim-demo");
    // Re-running the demo replaces its own earlier output, never someone else's files.
    let ours = out.join("manifest.json").exists();
    eprintln!(
        "rollsim: no command given; running the built-in quickstart demo (see `rollsim --help`)"
    );
    let job = Job {
        experiment: Experiment {
            kind: "run",
            source: Source {
                text: DEMO_SCENARIO.to_string(),
                origin,
                path: PathBuf::new(),
                scenario,
            },
            out: out.clone(),
            force: ours,
            seed: 42,
            runs: 500,
            range: 0..500,
            shard: None,
            baseline: 0,
            compare: false,
            command: command_line(argv, 42),
        },
        json: false,
        quiet: false,
        rank_by: None,
    };
    execute(&job)?;
    eprintln!(
        "demo output is in {}/; next: `rollsim run scenarios/quickstart.toml --runs 2000 --seed 42 --out reports/quickstart`",
        out.display()
    );
    Ok(())
}

fn execute(job: &Job) -> Result<()> {
    let stop = stop_flag();
    let e = &job.experiment;
    let total = e.range.end - e.range.start;
    let bar = progress::bar(total, "runs", job.quiet);
    let tick = |done: u64| bar.set_position(done);
    let Finished { dir, results } = e.run(Some(&stop), Some(&tick))?;
    bar.finish_and_clear();
    print_results(job, &results)?;
    eprintln!("wrote {}/", dir.path().display());
    super::report::after_command(dir.path())?;
    if results.interrupted || stop.load(Ordering::SeqCst) {
        return Err(Interrupted(format!(
            "stopped after {} of {} runs; {}/ holds the finished runs",
            results.completed,
            total,
            dir.path().display()
        ))
        .into());
    }
    Ok(())
}

fn print_results(job: &Job, r: &Results) -> Result<()> {
    let e = &job.experiment;
    let mut out = std::io::stdout().lock();
    if job.json {
        let mut v = summary_json(&r.summary, e.seed, r.completed);
        if job.rank_by.is_some() {
            v["comparison"] = comparison_json(&r.comparison);
        }
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(());
    }
    let title = if e.source.scenario.description.is_empty() {
        &e.source.origin
    } else {
        &e.source.scenario.description
    };
    let slice = match (&e.shard, e.range.end - e.range.start) {
        (Some(s), _) => format!(", shard {s} (runs {}..{})", e.range.start, e.range.end),
        (None, 1) if e.runs != 1 => format!(", run {} only", e.range.start),
        _ => String::new(),
    };
    writeln!(
        out,
        "{title}\n{} runs, seed {}{slice}\n",
        r.completed, e.seed
    )?;
    match &job.rank_by {
        Some(metric) => {
            write!(out, "{}", ranked_table(&r.summary, &r.comparison, metric))?;
            writeln!(
                out,
                "\nranked by mean {metric}; each cell: mean per run (paired difference vs {} [95% CI])",
                r.comparison.baseline
            )?;
        }
        None => {
            write!(out, "{}", summary_table(&r.summary))?;
            writeln!(out, "\nmean [95% CI] per run")?;
        }
    }
    writeln!(out, "reproduce with: {}", e.command)?;
    out.flush()?;
    Ok(())
}
