//! Command-line interface: clap definitions and the glue from arguments to the library.
//!
//! `args` holds the raw clap types; each command has a module that turns them into
//! library calls and decides what goes to stdout (results) and stderr (progress, where
//! files went).

mod args;
mod argv;
mod calibrate;
mod experiment;
mod gameday;
mod gate;
mod import;
mod merge;
mod progress;
mod replay;
mod report;
mod sweep;
mod trace;
mod train;
mod tune;

pub use args::Cli;
use args::Command;
pub use argv::text_args;

use anyhow::Result;
use rollsim::jobs::{JobError, Source};
use rollsim::report::ReportError;
use rollsim::scenario::{Scenario, ScenarioError};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Exit code for bad input (scenario, flags, output directory), as clap uses.
pub const EXIT_BAD_INPUT: i32 = 2;
/// Exit code after Ctrl-C (128 + SIGINT), with the finished results written.
pub const EXIT_INTERRUPTED: i32 = 130;

/// Bad command-line values found after parsing (an unknown policy name, a bad `--param`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The command was stopped by Ctrl-C after writing what had finished.
#[derive(Debug, thiserror::Error)]
#[error("interrupted: {0}")]
pub struct Interrupted(pub String);

/// Whether `e` is a write to a closed pipe: the reader (`rollsim run ... | head`) left.
pub fn is_closed_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The result of printing results on stdout, a reader that left early forgiven: the
/// command goes on to write every file it promises (the report after the table) and keeps
/// its exit code (a failed `--assert` is still 3).
pub(crate) fn printed(r: Result<()>) -> Result<()> {
    match r {
        Err(e) if is_closed_pipe(&e) => Ok(()),
        r => r,
    }
}

/// Text for the reader on stdout, printed as `run` prints its table: a reader that left
/// early (`| head`) is forgiven ([`printed`]), so the command goes on to write every file
/// it promises (a report after the text) and keeps its exit code. `println!` would end
/// the process at the closed pipe instead (see `main`'s hook), before those files.
pub(crate) fn say(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    printed(
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(Into::into),
    )
}

/// A line for the user on stderr (where files went): a closed stderr (`2>&1 | head`)
/// does not stop the command, which still writes what it promises.
pub(crate) fn note(line: impl std::fmt::Display) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Maps an error to its exit code: 2 for bad input, 3 for a failed `--assert`, 130 after
/// Ctrl-C, 1 for the rest.
pub fn exit_code(e: &anyhow::Error) -> i32 {
    for cause in e.chain() {
        if cause.downcast_ref::<ScenarioError>().is_some()
            || cause.downcast_ref::<UsageError>().is_some()
        {
            return EXIT_BAD_INPUT;
        }
        if cause.downcast_ref::<Interrupted>().is_some() {
            return EXIT_INTERRUPTED;
        }
        if cause.downcast_ref::<gate::AssertionFailed>().is_some() {
            return gate::EXIT_ASSERTION_FAILED;
        }
        match cause.downcast_ref::<ReportError>() {
            Some(ReportError::Interrupted { .. }) => return EXIT_INTERRUPTED,
            Some(e) if e.is_bad_input() => return EXIT_BAD_INPUT,
            _ => {}
        }
        match cause.downcast_ref::<JobError>() {
            Some(JobError::Interrupted(_)) => return EXIT_INTERRUPTED,
            Some(e) if e.is_bad_input() => return EXIT_BAD_INPUT,
            _ => {}
        }
    }
    1
}

/// Runs the parsed command line; `argv` is recorded in every manifest.
pub fn dispatch(cli: Cli, argv: &[String]) -> Result<()> {
    match cli.command {
        None => experiment::demo(argv),
        Some(Command::Validate { scenario }) => validate(&scenario),
        Some(Command::Run(a)) => experiment::run(&a, argv),
        Some(Command::Compare(a)) => experiment::compare(&a, argv),
        Some(Command::Sweep(a)) => sweep::sweep(&a, argv),
        Some(Command::Trace(a)) => trace::trace(&a, argv),
        Some(Command::Tune(a)) => tune::tune(&a, argv),
        Some(Command::Export(a)) => tune::export(&a),
        Some(Command::Gameday(a)) => gameday::gameday(&a, argv),
        Some(Command::Train(a)) => train::train(&a, argv),
        Some(Command::Merge(a)) => merge::merge(&a, argv),
        Some(Command::Report(a)) => report::report(&a),
        Some(Command::Import { file }) => import::import(&file),
        Some(Command::Replay(a)) => replay::replay(&a, argv),
        Some(Command::Calibrate(a)) => calibrate::calibrate(&a, argv),
        Some(Command::Completions { shell }) => completions(shell),
        Some(Command::Man) => man(),
    }
}

/// `rollsim completions SHELL`: the completion script, generated from the clap types.
fn completions(shell: clap_complete::Shell) -> Result<()> {
    use clap::CommandFactory;
    use std::io::Write;
    let mut cmd = Cli::command();
    // Generated into memory: clap_complete panics on a failed write, and a closed pipe
    // (`rollsim completions bash | head`) must end quietly, as every other output does.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "rollsim", &mut script);
    std::io::stdout().lock().write_all(&script)?;
    Ok(())
}

/// `rollsim man`: the manual page: the command, then each subcommand's synopsis,
/// description, options and examples in a section of the same page. The SUBCOMMANDS list
/// points to those sections (clap_mangen's own list names `rollsim-run(1)` pages, which
/// are not installed).
fn man() -> Result<()> {
    use clap::CommandFactory;
    use std::io::Write;
    let cmd = Cli::command();
    let mut out = std::io::stdout().lock();
    let top = clap_mangen::Man::new(cmd.clone());
    top.render_title(&mut out)?;
    top.render_name_section(&mut out)?;
    top.render_synopsis_section(&mut out)?;
    top.render_description_section(&mut out)?;
    top.render_options_section(&mut out)?;
    let subs: Vec<&clap::Command> = cmd
        .get_subcommands()
        .filter(|s| s.get_name() != "help" && !s.is_hide_set())
        .collect();
    writeln!(out, ".SH SUBCOMMANDS")?;
    for sub in &subs {
        let name = format!("rollsim {}", sub.get_name());
        let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
        writeln!(out, ".TP\n\\fB{}\\fR", roff_text(&name))?;
        writeln!(
            out,
            "{} (section {} below)",
            roff_text(&about),
            name.to_uppercase()
        )?;
    }
    for sub in subs {
        let name = format!("rollsim {}", sub.get_name());
        let sub = sub.clone().bin_name(name.clone());
        writeln!(out, ".SH \"{}\"", name.to_uppercase())?;
        let page = clap_mangen::Man::new(sub);
        page.render_synopsis_section(&mut out)?;
        page.render_description_section(&mut out)?;
        page.render_options_section(&mut out)?;
        page.render_extra_section(&mut out)?;
    }
    if cmd.get_after_help().is_some() || cmd.get_after_long_help().is_some() {
        top.render_extra_section(&mut out)?;
    }
    if cmd.get_version().is_some() {
        top.render_version_section(&mut out)?;
    }
    Ok(())
}

/// Text as roff reads it literally: backslashes and hyphens escaped, no line starting a
/// request.
fn roff_text(s: &str) -> String {
    let escaped = s.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// Reads a scenario file's text; a missing file or invalid UTF-8 is a [`ScenarioError`].
fn read(path: &Path) -> Result<String> {
    rollsim::scenario::read(path).map_err(Into::into)
}

/// Reads and checks a scenario and the files it imports: (text, origin, scenario).
fn load(path: &Path) -> Result<(String, String, Scenario)> {
    let Source {
        text,
        origin,
        scenario,
        ..
    } = load_source(path)?;
    Ok((text, origin, scenario))
}

/// Reads and checks a scenario, printing its warnings; a release train is refused (it
/// runs with `rollsim train` only: every other command simulates one release).
fn load_source(path: &Path) -> Result<Source> {
    let source = load_any(path)?;
    if source.scenario.train.is_some() {
        return Err(UsageError(format!(
            "{}: this file has [train], a train of releases; run it with `rollsim train {}`",
            path.display(),
            path.display()
        ))
        .into());
    }
    Ok(source)
}

/// Reads and checks a scenario, printing its warnings, whatever it holds.
fn load_any(path: &Path) -> Result<Source> {
    let text = read(path)?;
    let origin = path.display().to_string();
    let dir = path.parent().unwrap_or(Path::new(""));
    let scenario = rollsim::scenario::load_text(&text, &origin, dir)?;
    for w in &scenario.warnings {
        note(experiment::wrap_long_lines(
            &format!("warning: {w}"),
            rollsim::report::table::WIDTH,
        ));
    }
    Ok(Source {
        text,
        origin,
        path: path.to_path_buf(),
        scenario,
    })
}

/// The metric names of the scenario's `[objective]` are columns of summary.csv: an unknown
/// one is refused at its `file:line:col` before anything runs (the scenario module checks
/// the table's shape but may not import the list of metrics).
fn check_objective_metrics(source: &Source) -> Result<()> {
    let known: Vec<&str> = rollsim::outcome::RunRecord::METRICS
        .iter()
        .map(|m| m.0)
        .collect();
    rollsim::scenario::objective::check_metrics(&source.text, &source.origin, &known)
        .map_err(|m| UsageError(m).into())
}

fn default_out(scenario: &Path, suffix: &str) -> PathBuf {
    let stem = scenario
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    PathBuf::from("reports").join(format!("{stem}{suffix}"))
}

fn validate(path: &Path) -> Result<()> {
    let source = load_any(path)?;
    // `run` refuses an objective naming no metric: so must `validate`, or a file it
    // passes would fail the first command that makes a verdict.
    check_objective_metrics(&source)?;
    let scn = source.scenario;
    let names: Vec<&str> = scn.policies.iter().map(|p| p.name.as_str()).collect();
    let faults = scn.faults.len();
    let width = rollsim::report::table::WIDTH;
    let ok = format!(
        "{}: ok ({} {}: {}; {faults} {}; {} simulated per run)",
        path.display(),
        names.len(),
        if names.len() == 1 {
            "policy"
        } else {
            "policies"
        },
        names.join(", "),
        if faults == 1 { "fault" } else { "faults" },
        rollsim::check::duration_text(scn.duration_ms),
    );
    say(&format!("{}\n", experiment::wrap(&ok, width)))?;
    if let Some(t) = scn.train.as_deref() {
        let reviews: Vec<&str> = t.reviews.iter().map(|r| r.name()).collect();
        let train = format!(
            "a release train: {} days, {} {} a working day, each in a slot of the \
             simulated time above; {} {}; reviews: {} (run it with `rollsim train`)",
            t.horizon_ms as f64 / 86_400_000.0,
            t.releases_per_day,
            if t.releases_per_day == 1.0 {
                "release"
            } else {
                "releases"
            },
            t.latent.len(),
            if t.latent.len() == 1 {
                "latent cause"
            } else {
                "latent causes"
            },
            reviews.join(", ")
        );
        say(&format!("{}\n", experiment::wrap(&train, width)))?;
    }
    Ok(())
}

/// The master seed: the flag, else the scenario's, else a fresh one that is printed.
fn pick_seed(flag: Option<u64>, scn: &Scenario) -> u64 {
    if let Some(s) = flag.or(scn.seed) {
        return s;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let seed = nanos ^ u64::from(std::process::id()).rotate_left(32);
    // One line that fits 100 columns with a 20-digit seed.
    note(format_args!(
        "rollsim: no --seed given, drew {seed}; rerun with --seed {seed}"
    ));
    seed
}

/// The command line as recorded in manifests, with the seed made explicit.
fn command_line(argv: &[String], seed: u64) -> String {
    let mut command = argv.to_vec();
    if !command
        .iter()
        .any(|a| a == "--seed" || a.starts_with("--seed="))
    {
        command.push("--seed".into());
        command.push(seed.to_string());
    }
    shlex::try_join(command.iter().map(String::as_str)).unwrap_or_else(|_| command.join(" "))
}

/// A flag that Ctrl-C sets, so long work stops promptly (inside a run, between the steps
/// of a report) and keeps what finished.
fn stop_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    // Fails only if a handler is already set (never, in one command): then Ctrl-C
    // keeps its default meaning and the run simply ends.
    let _ = ctrlc::set_handler(move || f.store(true, std::sync::atomic::Ordering::SeqCst));
    flag
}

/// What a command that writes only once its work is done says when Ctrl-C stopped it.
const NOTHING_WRITTEN: &str = "stopped before writing; nothing written";

/// Ends a command that writes only once its work is done (replay, calibrate) when
/// Ctrl-C has set `stop`: called before the first file is written, so the output
/// directory is left as it was (exit code 130).
fn check_stop(stop: &AtomicBool) -> Result<()> {
    if stop.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(Interrupted(NOTHING_WRITTEN.into()).into());
    }
    Ok(())
}

/// Finds a policy by name, or says which names exist.
fn policy_index(scn: &Scenario, name: &str, flag: &str) -> Result<usize> {
    scn.policies
        .iter()
        .position(|p| p.name == name)
        .ok_or_else(|| {
            let names: Vec<&str> = scn.policies.iter().map(|p| p.name.as_str()).collect();
            UsageError(format!(
                "{flag} {name:?} is not a policy of this scenario; expected one of {}",
                names.join(", ")
            ))
            .into()
        })
}
