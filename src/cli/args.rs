//! Raw command-line arguments (clap derive). Checked values are built from these in
//! `cli::dispatch`; nothing else reads them.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// rollsim: simulate rollback policies against injected faults before production does.
#[derive(Debug, Parser)]
#[command(name = "rollsim", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every policy of a scenario on the same simulated runs and summarise the outcomes.
    Run(RunArgs),
    /// Check a scenario file and report every problem with file:line:col.
    Validate {
        /// The scenario file (TOML).
        scenario: PathBuf,
    },
    /// (Re)build DIR/report.html, DIR/report.md and DIR/charts/ from the files in an
    /// output directory.
    Report(ReportArgs),
}

#[derive(Debug, Args, Clone)]
pub struct ReportArgs {
    /// An output directory of `rollsim run` (or compare, sweep, trace).
    pub dir: PathBuf,
    /// Open report.html with the system opener (xdg-open, or open on macOS).
    #[arg(long)]
    pub open: bool,
}

#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// Number of runs (default: the scenario's `simulation.runs`, else 1000).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub runs: Option<u64>,
    /// Master seed (default: the scenario's `simulation.seed`, else a fresh one that is printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output directory (default: reports/<scenario name>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Overwrite files in a non-empty output directory.
    #[arg(long)]
    pub force: bool,
    /// Print the summary as JSON on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Replay only this run index (as listed in runs.csv), with the same seed.
    #[arg(long, conflicts_with = "runs", value_parser = clap::value_parser!(u64).range(0..=u64::MAX / 2))]
    pub run: Option<u64>,
}
