//! `rollsim run`, `rollsim compare` and the no-argument demo: one experiment written into
//! an output directory.

use super::args::{CommonArgs, CompareArgs, RunArgs};
use super::{command_line, default_out, load, pick_seed, policy_index, progress, stop_flag};
use super::{Interrupted, UsageError};
use anyhow::{Context, Result};
use rollsim::experiment::{self, Options, Results};
use rollsim::outcome::RunRecord;
use rollsim::report::{
    comparison_csv, comparison_json, ranked_table, summary_csv, summary_json, summary_table,
    Manifest, OutputDir,
};
use rollsim::scenario::{self, Scenario, DEMO_SCENARIO};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

/// Everything one experiment command needs, resolved from its arguments.
struct Job<'a> {
    kind: &'static str,
    scenario: Scenario,
    text: String,
    origin: String,
    out: PathBuf,
    force: bool,
    json: bool,
    quiet: bool,
    seed: u64,
    /// Runs asked for in all.
    runs: u64,
    /// The runs this invocation simulates.
    range: std::ops::Range<u64>,
    shard: Option<String>,
    baseline: usize,
    /// `Some(metric)` for compare: print the ranked table and write comparison.csv.
    rank_by: Option<String>,
    argv: &'a [String],
}

impl Job<'_> {
    fn from_common<'a>(kind: &'static str, c: &CommonArgs, argv: &'a [String]) -> Result<Job<'a>> {
        let (text, origin, scenario) = load(&c.scenario)?;
        let seed = pick_seed(c.seed, &scenario);
        let runs = c.runs.unwrap_or(scenario.runs);
        let range = c.shard.map(|s| s.range(runs)).unwrap_or(0..runs);
        Ok(Job {
            kind,
            out: c
                .out
                .clone()
                .unwrap_or_else(|| default_out(&c.scenario, "")),
            force: c.force,
            json: c.json,
            quiet: c.quiet,
            seed,
            runs,
            range,
            shard: c.shard.map(|s| s.to_string()),
            baseline: 0,
            rank_by: None,
            scenario,
            text,
            origin,
            argv,
        })
    }
}

pub fn run(a: &RunArgs, argv: &[String]) -> Result<()> {
    let mut job = Job::from_common("run", &a.common, argv)?;
    if let Some(r) = a.run {
        job.range = r..r + 1;
    }
    execute(&job)
}

pub fn compare(a: &CompareArgs, argv: &[String]) -> Result<()> {
    let mut job = Job::from_common("compare", &a.common, argv)?;
    if let Some(b) = &a.baseline {
        job.baseline = policy_index(&job.scenario, b, "--baseline")?;
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
        kind: "run",
        scenario,
        text: DEMO_SCENARIO.to_string(),
        origin,
        out: out.clone(),
        force: ours,
        json: false,
        quiet: false,
        seed: 42,
        runs: 500,
        range: 0..500,
        shard: None,
        baseline: 0,
        rank_by: None,
        argv,
    };
    execute(&job)?;
    eprintln!(
        "demo output is in {}/; next: `rollsim run scenarios/quickstart.toml --runs 2000 --seed 42 --out reports/quickstart`",
        out.display()
    );
    Ok(())
}

fn execute(job: &Job<'_>) -> Result<()> {
    let dir = OutputDir::prepare(&job.out, job.force)?;
    let mut runs = dir.runs_writer()?;
    let stop = stop_flag();
    let total = job.range.end - job.range.start;
    let bar = progress::bar(total, "runs", job.quiet);
    let tick = |done: u64| bar.set_position(done);
    let opts = Options {
        seed: job.seed,
        runs: job.range.clone(),
        baseline: job.baseline,
        stop: Some(&stop),
        progress: Some(&tick),
    };
    let results = experiment::run(&job.scenario, &opts, |rows| runs.write(rows))?;
    bar.finish_and_clear();
    runs.finish()?;
    write_outputs(job, &dir, &results)?;
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

fn write_outputs(job: &Job<'_>, dir: &OutputDir, r: &Results) -> Result<()> {
    dir.write(
        "summary.csv",
        &summary_csv(&r.summary).context("cannot format summary.csv")?,
    )?;
    if job.rank_by.is_some() {
        dir.write(
            "comparison.csv",
            &comparison_csv(&r.comparison).context("cannot format comparison.csv")?,
        )?;
    }
    dir.write("scenario.toml", job.text.as_bytes())?;
    dir.write("manifest.json", &manifest(job, r).to_json())?;
    Ok(())
}

fn manifest(job: &Job<'_>, r: &Results) -> Manifest {
    Manifest {
        rollsim_version: env!("CARGO_PKG_VERSION").into(),
        kind: job.kind.into(),
        scenario: job.origin.clone(),
        scenario_sha256: format!("{:x}", Sha256::digest(job.text.as_bytes())),
        seed: job.seed,
        runs: job.runs,
        first_run: job.range.start,
        completed_runs: r.completed,
        interrupted: r.interrupted,
        policies: job
            .scenario
            .policies
            .iter()
            .map(|p| p.name.clone())
            .collect(),
        baseline: job.rank_by.as_ref().map(|_| r.comparison.baseline.clone()),
        shard: job.shard.clone(),
        params: vec![],
        points: None,
        command: command_line(job.argv, job.seed),
    }
}

fn print_results(job: &Job<'_>, r: &Results) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if job.json {
        let mut v = summary_json(&r.summary, job.seed, r.completed);
        if job.rank_by.is_some() {
            v["comparison"] = comparison_json(&r.comparison);
        }
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(());
    }
    let title = if job.scenario.description.is_empty() {
        &job.origin
    } else {
        &job.scenario.description
    };
    let slice = match (&job.shard, job.range.end - job.range.start) {
        (Some(s), _) => format!(", shard {s} (runs {}..{})", job.range.start, job.range.end),
        (None, 1) if job.runs != 1 => format!(", run {} only", job.range.start),
        _ => String::new(),
    };
    writeln!(
        out,
        "{title}\n{} runs, seed {}{slice}\n",
        r.completed, job.seed
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
    writeln!(out, "reproduce with: {}", command_line(job.argv, job.seed))?;
    out.flush()?;
    Ok(())
}
