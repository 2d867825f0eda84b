//! Command-line interface: clap definitions and the glue from arguments to the library.
//!
//! `args` holds the raw clap types; this module turns them into library calls and decides
//! what goes to stdout (results) and stderr (progress, where files went).

mod args;

pub use args::{Cli, Command, ReportArgs, RunArgs};

use anyhow::{Context, Result};
use rollsim::experiment;
use rollsim::report::{
    build_report, summary_csv, summary_json, summary_table, Manifest, OutputDir, ReportError,
};
use rollsim::scenario::{self, Scenario, ScenarioError, DEMO_SCENARIO};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Exit code for bad input (scenario, flags, output directory), as clap uses.
pub const EXIT_BAD_INPUT: i32 = 2;

/// Maps an error to its exit code: 2 for bad input, 1 for anything else.
pub fn exit_code(e: &anyhow::Error) -> i32 {
    for cause in e.chain() {
        if cause.downcast_ref::<ScenarioError>().is_some() {
            return EXIT_BAD_INPUT;
        }
        if let Some(ReportError::NotEmpty { .. } | ReportError::Input { .. }) =
            cause.downcast_ref::<ReportError>()
        {
            return EXIT_BAD_INPUT;
        }
    }
    1
}

/// Runs the parsed command line; `argv` is recorded in the manifest.
pub fn dispatch(cli: Cli, argv: &[String]) -> Result<()> {
    match cli.command {
        None => demo(argv),
        Some(Command::Validate { scenario }) => validate(&scenario),
        Some(Command::Report(args)) => report(&args),
        Some(Command::Run(args)) => {
            let text = read(&args.scenario)?;
            let origin = args.scenario.display().to_string();
            let scn = scenario::parse(&text, &origin)?;
            let out = args
                .out
                .clone()
                .unwrap_or_else(|| default_out(&args.scenario));
            run(&scn, &text, &origin, &args, &out, argv)
        }
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|source| ScenarioError::Read {
            path: path.display().to_string(),
            source,
        })
        .map_err(Into::into)
}

fn default_out(scenario: &Path) -> PathBuf {
    let stem = scenario
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    PathBuf::from("reports").join(stem)
}

fn validate(path: &Path) -> Result<()> {
    let text = read(path)?;
    let scn = scenario::parse(&text, &path.display().to_string())?;
    let names: Vec<&str> = scn.policies.iter().map(|p| p.name.as_str()).collect();
    println!(
        "{}: ok ({} policies: {}; {} faults; {} simulated per run)",
        path.display(),
        names.len(),
        names.join(", "),
        scn.faults.len(),
        humantime::format_duration(std::time::Duration::from_millis(scn.duration_ms)),
    );
    Ok(())
}

fn demo(argv: &[String]) -> Result<()> {
    let origin = "<built-in quickstart scenario>";
    let scn = scenario::parse(DEMO_SCENARIO, origin)?;
    let out = PathBuf::from("rollsim-demo");
    // Re-running the demo replaces its own earlier output, never someone else's files.
    let ours = out.join("manifest.json").exists();
    let args = RunArgs {
        scenario: PathBuf::from(origin),
        runs: Some(500),
        seed: Some(42),
        out: Some(out.clone()),
        force: ours,
        json: false,
        run: None,
    };
    eprintln!(
        "rollsim: no command given; running the built-in quickstart demo (see `rollsim --help`)"
    );
    run(&scn, DEMO_SCENARIO, origin, &args, &out, argv)?;
    eprintln!(
        "demo output is in {}/ (report.html, runs.csv, summary.csv, manifest.json); next: `rollsim run scenarios/quickstart.toml --runs 2000 --seed 42 --out reports/quickstart`",
        out.display()
    );
    Ok(())
}

fn pick_seed(args: &RunArgs, scn: &Scenario) -> u64 {
    if let Some(s) = args.seed.or(scn.seed) {
        return s;
    }
    // No seed given: pick one from the wall clock and say so, so the run can be repeated.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let seed = nanos ^ u64::from(std::process::id()).rotate_left(32);
    eprintln!("rollsim: no --seed given; using seed {seed} (pass --seed {seed} to reproduce)");
    seed
}

fn run(
    scn: &Scenario,
    text: &str,
    origin: &str,
    args: &RunArgs,
    out: &Path,
    argv: &[String],
) -> Result<()> {
    let seed = pick_seed(args, scn);
    let (first, count) = match args.run {
        Some(r) => (r, 1),
        None => (0, args.runs.unwrap_or(scn.runs)),
    };
    let dir = OutputDir::prepare(out, args.force)?;
    let mut runs = dir.runs_writer()?;
    let summary = experiment::run(scn, seed, first..first + count, |rows| runs.write(rows))?;
    runs.finish()?;
    dir.write(
        "summary.csv",
        &summary_csv(&summary).context("cannot format summary.csv")?,
    )?;
    let mut command = argv.to_vec();
    if !command
        .iter()
        .any(|a| a == "--seed" || a.starts_with("--seed="))
    {
        command.push("--seed".into());
        command.push(seed.to_string());
    }
    let manifest = Manifest {
        rollsim_version: env!("CARGO_PKG_VERSION").into(),
        scenario: origin.into(),
        scenario_sha256: format!("{:x}", Sha256::digest(text.as_bytes())),
        seed,
        runs: count,
        first_run: first,
        policies: scn.policies.iter().map(|p| p.name.clone()).collect(),
        command: shlex::try_join(command.iter().map(String::as_str))
            .unwrap_or_else(|_| command.join(" ")),
    };
    dir.write("manifest.json", &manifest.to_json())?;
    dir.write("scenario.toml", text.as_bytes())?;
    let report = build_report(dir.path())?;

    let mut stdout = std::io::stdout().lock();
    if args.json {
        writeln!(stdout, "{}", summary_json(&summary, seed, count))?;
    } else {
        let title = if scn.description.is_empty() {
            origin
        } else {
            &scn.description
        };
        let only = args
            .run
            .map(|r| format!(", run {r} only"))
            .unwrap_or_default();
        writeln!(stdout, "{title}\n{count} runs, seed {seed}{only}\n")?;
        write!(stdout, "{}", summary_table(&summary))?;
        writeln!(
            stdout,
            "\nmean [95% CI] per run; reproduce with: {}",
            manifest.command
        )?;
    }
    stdout.flush()?;
    eprintln!(
        "wrote {}/{{runs.csv, summary.csv, manifest.json, scenario.toml, report.md, report.html, charts/}}",
        dir.path().display()
    );
    eprintln!("report: {}", report.html.display());
    Ok(())
}

fn report(args: &ReportArgs) -> Result<()> {
    let files = build_report(&args.dir)?;
    eprintln!(
        "wrote {} and {} ({} chart files in {}/charts)",
        files.html.display(),
        files.markdown.display(),
        files.charts.len(),
        args.dir.display()
    );
    println!("{}", files.html.display());
    if args.open {
        open(&files.html);
    }
    Ok(())
}

/// Opens `path` with the desktop's opener; says so plainly when there is none (a server,
/// a container) instead of failing: the report is written either way.
fn open(path: &Path) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(opener).is_file()))
        .unwrap_or(false);
    if !found {
        eprintln!(
            "rollsim: cannot open the report: no `{opener}` on PATH; open {} in a browser",
            path.display()
        );
        return;
    }
    match std::process::Command::new(opener)
        .arg(path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        Ok(_) => eprintln!("opened {} with {opener}", path.display()),
        Err(e) => eprintln!(
            "rollsim: cannot open the report with {opener}: {e}; open {} in a browser",
            path.display()
        ),
    }
}
