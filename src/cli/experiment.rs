//! `rollsim run`, `rollsim compare` and the no-argument demo: one experiment written into
//! an output directory.

use super::args::{CompareArgs, ExperimentArgs, FormatArg, OutputArgs, RunArgs};
use super::gate::{self, Gates};
use super::{command_line, default_out, load_source, pick_seed, policy_index, progress, stop_flag};
use super::{note, printed, Interrupted, UsageError};
use anyhow::Result;
use rollsim::experiment::{Results, Summary};
use rollsim::jobs::experiment::{Experiment, Finished};
use rollsim::jobs::Source;
use rollsim::outcome::RunRecord;
use rollsim::report::ranking::Ranking;
use rollsim::report::table::{self, Format};
use rollsim::report::verdict::{self, Verdict};
pub(super) use rollsim::report::wrap::{wrap, wrap_command, wrap_long_lines};
use rollsim::report::{
    comparison_json, ranked_table, summary_json, summary_table, Destination, OutputDir,
};
use rollsim::scenario::Scenario;
use rollsim::scenario::{self, DEMO_SCENARIO};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

/// Everything one experiment command needs: the checked experiment, and how to print.
struct Job {
    experiment: Experiment,
    quiet: bool,
    /// `Some(metric)` for compare: print the ranked table.
    rank_by: Option<String>,
    /// What is printed, and the verdict's objective.
    print: Print,
    /// `--assert`.
    gates: Gates,
}

/// How the results are printed, checked from [`OutputArgs`].
struct Print {
    format: Format,
    /// The table's columns (`None`: the defaults for the summary).
    metrics: Option<Vec<String>>,
    wide: bool,
    /// `--objective`, checked against the scenario's policies.
    objective: Option<String>,
}

impl Print {
    fn check(o: Option<&OutputArgs>, json: bool, scenario: &Scenario) -> Result<Print> {
        let Some(o) = o else {
            return Ok(Print {
                format: if json { Format::Json } else { Format::Table },
                metrics: None,
                wide: false,
                objective: None,
            });
        };
        let metrics = o
            .metrics
            .as_deref()
            .map(table::parse_metrics)
            .transpose()
            .map_err(UsageError)?;
        let names: Vec<String> = scenario.policies.iter().map(|p| p.name.clone()).collect();
        if let Some(obj) = &scenario.objective {
            verdict::check_objective(obj, &names)
                .map_err(|m| UsageError(format!("the scenario's [objective]: {m}")))?;
        }
        if let Some(obj) = &o.objective {
            verdict::check_objective(obj, &names)
                .map_err(|m| UsageError(format!("--objective: {m}")))?;
        }
        Ok(Print {
            format: match (json, o.format) {
                (true, _) | (_, FormatArg::Json) => Format::Json,
                (_, FormatArg::Table) => Format::Table,
                (_, FormatArg::Markdown) => Format::Markdown,
                (_, FormatArg::Csv) => Format::Csv,
            },
            metrics,
            wide: o.wide,
            objective: o.objective.clone(),
        })
    }
}

impl Job {
    fn from_args(kind: &'static str, a: &ExperimentArgs, argv: &[String]) -> Result<Job> {
        let (c, o, g) = (&a.common, &a.output, &a.gate);
        let b = &c.base;
        let source = load_source(&b.scenario)?;
        super::check_objective_metrics(&source)?;
        let print = Print::check(Some(o), c.json, &source.scenario)?;
        let names: Vec<String> = source
            .scenario
            .policies
            .iter()
            .map(|p| p.name.clone())
            .collect();
        let gates = Gates::check(g, None, &names)?;
        let seed = pick_seed(b.seed, &source.scenario);
        let runs = b.runs.unwrap_or(source.scenario.runs);
        let range = c.shard.map(|s| s.range(runs)).unwrap_or(0..runs);
        Ok(Job {
            experiment: Experiment {
                kind,
                out: b.dest.or(|| {
                    default_out(&b.scenario, if kind == "compare" { "-compare" } else { "" })
                }),
                seed,
                runs,
                range,
                shard: c.shard.map(|s| s.to_string()),
                baseline: 0,
                compare: false,
                command: command_line(argv, seed),
                source,
            },
            quiet: c.base.quiet,
            rank_by: None,
            print,
            gates,
        })
    }
}

pub fn run(a: &RunArgs, argv: &[String]) -> Result<()> {
    let mut job = Job::from_args("run", &a.experiment, argv)?;
    if let Some(r) = a.run {
        job.experiment.range = r..r + 1;
    }
    execute(&job)
}

pub fn compare(a: &CompareArgs, argv: &[String]) -> Result<()> {
    let mut job = Job::from_args("compare", &a.experiment, argv)?;
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
    note(format_args!(
        "rollsim: no command given; running the built-in quickstart demo (see `rollsim --help`)"
    ));
    let print = Print::check(None, false, &scenario)?;
    // What reproduces the demo from its own copy of the scenario, as printed and recorded
    // (the built-in scenario has no file of its own to name).
    let rerun: Vec<String> = [
        argv.first().map(String::as_str).unwrap_or("rollsim"),
        "run",
        "rollsim-demo/scenario.toml",
        "--runs",
        "500",
        "--out",
        "rollsim-demo-rerun",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let job = Job {
        experiment: Experiment {
            kind: "run",
            source: Source {
                text: DEMO_SCENARIO.to_string(),
                origin,
                path: PathBuf::new(),
                scenario,
            },
            out: Destination {
                dir: out.clone(),
                force: ours,
            },
            seed: 42,
            runs: 500,
            range: 0..500,
            shard: None,
            baseline: 0,
            compare: false,
            command: command_line(&rerun, 42),
        },
        quiet: false,
        rank_by: None,
        print,
        gates: Gates::default(),
    };
    execute(&job)?;
    // Two lines within 100 columns (`--out reports/quickstart` is the default).
    note(format_args!(
        "demo output is in {}/; next, from a clone of the repository:\n  \
         rollsim run scenarios/quickstart.toml --runs 2000 --seed 42",
        out.display()
    ));
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
    if results.interrupted || stop.load(Ordering::SeqCst) {
        // Stop now: the data files hold the finished runs; the verdict and the report,
        // which would read them all back, are left to `rollsim report`.
        printed(print_results(job, &results, None))?;
        return Err(Interrupted(format!(
            "stopped after {} of {} runs; {}/ holds the finished runs (no report: build it with `rollsim report {}`)",
            results.completed,
            total,
            dir.path().display(),
            dir.path().display()
        ))
        .into());
    }
    let verdict = decide(job, &dir, &results)?;
    // A reader that left (`| head`) stops the table, not the report.
    printed(print_results(job, &results, verdict.as_ref()))?;
    note(format_args!("wrote {}/", dir.path().display()));
    super::report::after_command(dir.path(), Some(&stop))?;
    gate::finish(
        &job.gates.on_summary(&results.summary),
        job.print.format == Format::Table,
    )
}

/// The verdict on the runs just written (`verdict.json`, which the report shows).
fn decide(job: &Job, dir: &OutputDir, r: &Results) -> Result<Option<Verdict>> {
    let e = &job.experiment;
    let names: Vec<String> = e
        .source
        .scenario
        .policies
        .iter()
        .map(|p| p.name.clone())
        .collect();
    let setup = verdict::setup(Some(&e.source.text), &names, job.print.objective.as_deref());
    let v = verdict::for_dir(
        dir.path(),
        &names,
        &verdict::estimates_of(&r.summary),
        &setup,
    )?;
    if let Some(v) = &v {
        dir.write("verdict.json", &serde_json::to_vec_pretty(v)?)?;
    }
    Ok(v)
}

fn print_results(job: &Job, r: &Results, verdict: Option<&Verdict>) -> Result<()> {
    let e = &job.experiment;
    let mut out = std::io::stdout().lock();
    let p = &job.print;
    if p.format == Format::Json {
        let mut v = summary_json(&r.summary, e.seed, r.completed);
        if job.rank_by.is_some() {
            v["comparison"] = comparison_json(&r.comparison);
        }
        if let Some(verdict) = verdict {
            v["verdict"] = serde_json::to_value(verdict)?;
        }
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(());
    }
    // Policies in scenario order for run, by the ranking metric for compare.
    let mut order: Vec<usize> = (0..r.summary.policies.len()).collect();
    if let Some(metric) = &job.rank_by {
        let k = RunRecord::METRICS
            .iter()
            .position(|m| m.0 == metric)
            .unwrap_or(0);
        order.sort_by(|&a, &b| {
            let ma = r.summary.policies[a].metrics[k].1.mean;
            let mb = r.summary.policies[b].metrics[k].1.mean;
            ma.total_cmp(&mb)
        });
    }
    let metrics = p
        .metrics
        .clone()
        .unwrap_or_else(|| table::default_metrics(&r.summary));
    if p.format != Format::Table {
        write!(
            out,
            "{}",
            table::policy_table(&r.summary, &metrics, &order, p.format, table::WIDTH)
        )?;
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
        "{}\n{} runs, seed {}{slice}\n",
        wrap(title, table::WIDTH),
        r.completed,
        e.seed
    )?;
    // A system of more than 10 services prints what its report details, by the report's
    // ranking: its rows, each followed by its policy's most harmed services.
    let lean = Ranking::terminal_rows(&r.summary, &order);
    let (order, end) = match lean {
        Some((rows, end)) => (rows, format!("{end}\n")),
        None => (order, String::new()),
    };
    let shown = Summary {
        policies: order
            .iter()
            .map(|&i| r.summary.policies[i].clone())
            .collect(),
    };
    match (&job.rank_by, p.wide) {
        (Some(metric), true) => {
            write!(out, "{}", ranked_table(&shown, &r.comparison, metric))?;
            write!(out, "{end}")?;
            writeln!(
                out,
                "\nranked by mean {metric}; each cell: mean per run (paired difference vs {} [95% CI])",
                r.comparison.baseline
            )?;
        }
        (None, true) => {
            write!(out, "{}", summary_table(&shown))?;
            write!(out, "{end}")?;
            writeln!(out, "\nmean [95% CI] per run")?;
        }
        (rank, false) => {
            write!(
                out,
                "{}",
                table::policy_table(&r.summary, &metrics, &order, Format::Table, table::WIDTH)
            )?;
            write!(out, "{end}")?;
            if let Some(metric) = rank {
                writeln!(
                    out,
                    "ranked by mean {metric}; paired differences vs {} in comparison.csv",
                    r.comparison.baseline
                )?;
            }
        }
    }
    if let Some(v) = verdict {
        writeln!(out, "\n{}", wrap(&v.text, table::WIDTH))?;
    }
    writeln!(
        out,
        "\nreproduce with: {}",
        wrap_command(&e.command, table::WIDTH)
    )?;
    out.flush()?;
    Ok(())
}
