//! Raw command-line arguments (clap derive). Checked values are built from these in the
//! command modules; nothing else reads them.

use clap::{Args, Parser, Subcommand, ValueEnum};
use rollsim::experiment::shard::Shard;
use rollsim::report::Destination;
use std::path::PathBuf;

/// rollsim: simulate rollback policies against injected faults before production does.
#[derive(Debug, Parser)]
#[command(
    name = "rollsim",
    version,
    about,
    long_about = None,
    // Help is wrapped at the width of every other printout, whatever the terminal.
    term_width = rollsim::report::table::WIDTH,
    after_help = "Examples:\n  rollsim run scenarios/quickstart.toml --runs 2000 --seed 42\n  rollsim compare scenarios/strategies.toml --baseline all-at-once\n  rollsim                      # the built-in quickstart demo, into ./rollsim-demo/"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every policy of a scenario on the same simulated runs and summarise the outcomes.
    #[command(
        after_help = "Examples:\n  rollsim run scenarios/quickstart.toml --runs 2000 --seed 42\n  rollsim run scenarios/controllers.toml --metrics downtime_s,pages --format markdown\n  rollsim run scenarios/quickstart.toml --objective \"min downtime_s s.t. false_positive_rollbacks <= 0.05\"\n  rollsim run scenarios/quickstart.toml --seed 42 --run 17        # replay run 17 alone"
    )]
    Run(RunArgs),
    /// Like `run`, plus paired differences against a baseline policy and a ranked table.
    #[command(
        after_help = "Examples:\n  rollsim compare scenarios/strategies.toml --runs 300 --seed 1 --baseline all-at-once\n  rollsim compare scenarios/controllers.toml --rank-by downtime_s --wide"
    )]
    Compare(CompareArgs),
    /// Vary one or two numeric fields of the scenario over a range or a list.
    #[command(
        after_help = "Examples:\n  rollsim sweep scenarios/quickstart.toml --param policies.error-rate-2pct.error_rate_above=0.005..0.05:10 \\\n      --objective \"min downtime_s s.t. false_positive_rollbacks <= 0.05\"\n  rollsim sweep scenarios/quickstart.toml --param service.request_rate=10,20,40 --runs 500"
    )]
    Sweep(SweepArgs),
    /// Search several parameters of one policy at once (successive halving on common random
    /// numbers) under the objective; print the winner and the runner-ups it beat.
    #[command(
        after_help = "Examples:\n  rollsim tune scenarios/quickstart.toml --policy 3-failed-probes --param failures=2..8 \\\n      --objective \"min downtime_s s.t. false_positive_rollbacks <= 0.02\" --emit scenario\n  rollsim tune my.toml --policy gate --param error_rate_above=0.01..0.05 --param for=0,60,120,300 --emit prometheus"
    )]
    Tune(TuneArgs),
    /// Print a scenario's policy as a controller's config (Argo Rollouts AnalysisTemplate,
    /// Flagger Canary, Prometheus rule file) or as its [[policies]] table.
    #[command(
        after_help = "Examples:\n  rollsim export scenarios/controllers.toml --policy argo-fl3 --emit argo > analysis-template.yaml\n  rollsim export scenarios/quickstart.toml --policy error-rate-2pct --emit prometheus > rules.yaml"
    )]
    Export(ExportArgs),
    /// Record one run of one policy as a timeline (trace.csv, events.csv).
    #[command(
        after_help = "Examples:\n  rollsim trace scenarios/infra-latency-loop.toml --run 3 --policy p99-over-500ms\n  rollsim trace scenarios/gameday-checkout.toml --seed 6 --actions reports/gameday-checkout-gameday/actions.csv"
    )]
    Trace(TraceArgs),
    /// Play a scenario live: paced in real time (or faster), faults hidden, a dashboard,
    /// an HTTP API and Prometheus metrics; a scorecard against every automatic policy.
    #[command(
        after_help = "Examples:\n  rollsim gameday scenarios/gameday-checkout.toml --speed 30 --listen 127.0.0.1:9184 --pager error-rate-2pct\n  printf 'advance 27m\\nrollback\\nend\\n' | rollsim gameday scenarios/gameday-checkout.toml --virtual --seed 6"
    )]
    Gameday(GamedayArgs),
    /// Run a release train ([train]): weeks of releases, reviews after rollbacks and latent
    /// causes; every policy under every review policy on the same trains.
    #[command(
        after_help = "Examples:\n  rollsim train scenarios/train-review-latent-network.toml --runs 200 --seed 7\n  rollsim train scenarios/train-review-latent-network-fast.toml --out out/fast"
    )]
    Train(TrainArgs),
    /// Combine the output directories of `--shard i/n` runs into the single-machine output.
    #[command(
        after_help = "Examples:\n  rollsim run scenarios/strategies.toml --seed 42 --shard 0/2 --out out/shard-0\n  rollsim run scenarios/strategies.toml --seed 42 --shard 1/2 --out out/shard-1\n  rollsim merge out/shard-* --out out/merged"
    )]
    Merge(MergeArgs),
    /// Feed recorded metrics to a scenario's policies as if live; score their decisions
    /// against labelled incidents.
    #[command(
        after_help = "Examples:\n  rollsim replay scenarios/replay/metrics.csv --labels scenarios/replay/labels.csv \\\n      --policies scenarios/replay/policies.toml --reset decision --hold 30m"
    )]
    Replay(ReplayArgs),
    /// Fit the noise model to recorded metrics of a healthy period; write a scenario and
    /// compare simulated with recorded signals.
    #[command(
        after_help = "Examples:\n  rollsim calibrate scenarios/replay/metrics.csv --to 1970-01-02T01:00:00Z --out my-service.toml"
    )]
    Calibrate(CalibrateArgs),
    /// Check a scenario file and report every problem with file:line:col.
    #[command(after_help = "Examples:\n  rollsim validate scenarios/controllers.toml")]
    Validate {
        /// The scenario file (TOML).
        scenario: PathBuf,
    },
    /// (Re)build DIR/report.html, DIR/report.md and DIR/charts/ from the files in an
    /// output directory.
    #[command(after_help = "Examples:\n  rollsim report reports/quickstart --open")]
    Report(ReportArgs),
    /// Print the rollsim policy (TOML) equivalent to an Argo Rollouts AnalysisTemplate or
    /// Rollout, a Flagger Canary or a Prometheus rule file (YAML); what cannot be modelled is
    /// listed on stderr.
    #[command(
        after_help = "Examples:\n  rollsim import scenarios/imports/flagger-canary.yaml >> my-scenario.toml"
    )]
    Import {
        /// The YAML file (one or more documents).
        file: PathBuf,
    },
    /// Print a shell completion script on stdout.
    #[command(
        after_help = "Examples:\n  rollsim completions bash > ~/.local/share/bash-completion/completions/rollsim\n  rollsim completions zsh > ~/.zfunc/_rollsim\n  rollsim completions fish > ~/.config/fish/completions/rollsim.fish"
    )]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on stdout.
    #[command(
        after_help = "Examples:\n  rollsim man > rollsim.1 && man ./rollsim.1\n  rollsim man | sudo tee /usr/local/share/man/man1/rollsim.1 >/dev/null"
    )]
    Man,
}

#[derive(Debug, Args, Clone)]
pub struct ReportArgs {
    /// An output directory of `rollsim run` (or compare, sweep, trace).
    pub dir: PathBuf,
    /// Open report.html with the system opener (xdg-open, or open on macOS).
    #[arg(long)]
    pub open: bool,
}

/// The scenario, how many runs from which seed, where they are written and whether a
/// progress bar shows: what every command that simulates a scenario file's runs into an
/// output directory takes (`run`, `compare`, `sweep`, `train`).
#[derive(Debug, Args, Clone)]
#[command(mut_arg("out", |a| a.help("Output directory (default: reports/<scenario name> for run, reports/<scenario name>-compare for compare, -sweep for sweep, -train for train)")))]
pub struct ScenarioRunsArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// Number of runs (default: the scenario's `simulation.runs`, else 1000); for
    /// `train`, the trains per (policy, review policy) pair.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub runs: Option<u64>,
    /// Master seed (default: the scenario's `simulation.seed`, else a fresh one that is printed).
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub dest: DestinationArgs,
    /// Show no progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// `--out` and `--force`, flattened into every command that writes an output directory;
/// each names its default directory in its own `--out` help (`mut_arg`).
#[derive(Debug, Args, Clone)]
pub struct DestinationArgs {
    /// Output directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Overwrite files in a non-empty output directory.
    #[arg(long)]
    pub force: bool,
}

impl DestinationArgs {
    /// Where to write: `--out`, else the command's `default` directory.
    pub fn or(&self, default: impl FnOnce() -> PathBuf) -> Destination {
        Destination {
            dir: self.out.clone().unwrap_or_else(default),
            force: self.force,
        }
    }
}

/// What `run`, `compare` and `sweep` share.
#[derive(Debug, Args, Clone)]
pub struct CommonArgs {
    #[command(flatten)]
    pub base: ScenarioRunsArgs,
    /// Print the results as JSON on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Run only slice i of n (0-based) of the runs; combine the slices with `rollsim merge`.
    #[arg(long, value_parser = clap::value_parser!(Shard))]
    pub shard: Option<Shard>,
}

/// How `run` and `compare` print their results and say which policy is best.
#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
    /// Columns of the table, as a comma-separated list of metrics (the names in
    /// summary.csv), e.g. --metrics downtime_s,failed_requests,pages.
    #[arg(long, value_name = "LIST")]
    pub metrics: Option<String>,
    /// The full table: every metric as a row, every policy as a column, with intervals.
    #[arg(long)]
    pub wide: bool,
    /// How to print the table (--json is --format json).
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    pub format: FormatArg,
    /// What "best" means for the verdict, as for sweeps: "min METRIC [s.t. METRIC <= VALUE
    /// [and ...]]" (default: the scenario's [objective], else "min failed_requests").
    #[arg(long)]
    pub objective: Option<String>,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Aligned text that fits 100 columns.
    Table,
    /// A Markdown table (pull requests, design documents).
    Markdown,
    /// One row per policy: mean and 95% bounds of each metric.
    Csv,
    /// The whole summary and the verdict as JSON.
    Json,
}

/// What `run` and `compare` share: the runs, how the results print, the gates.
#[derive(Debug, Args, Clone)]
pub struct ExperimentArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub gate: GateArgs,
}

#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    pub experiment: ExperimentArgs,
    /// Replay only this run index (as listed in runs.csv), with the same seed.
    #[arg(long, conflicts_with_all = ["runs", "shard"], value_parser = clap::value_parser!(u64).range(0..=u64::MAX / 2))]
    pub run: Option<u64>,
}

#[derive(Debug, Args, Clone)]
pub struct CompareArgs {
    #[command(flatten)]
    pub experiment: ExperimentArgs,
    /// The policy every other is compared with (default: the first in the scenario).
    #[arg(long)]
    pub baseline: Option<String>,
    /// The metric that ranks the policies, lowest first.
    #[arg(long, default_value = "failed_requests")]
    pub rank_by: String,
}

#[derive(Debug, Args, Clone)]
pub struct SweepArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// PATH=LOW..HIGH:POINTS or PATH=A,B,C: a numeric field by its path, e.g.
    /// policies.gate.error_rate_above=0.005..0.05:10 (a policy by name) or
    /// service.request_rate=10,20,40. Give it twice for a 2-D sweep.
    #[arg(long = "param", required = true)]
    pub params: Vec<String>,
    /// Continue an interrupted sweep in --out without redoing finished points.
    #[arg(long, conflicts_with = "force")]
    pub resume: bool,
    /// "min METRIC[@POLICY] [s.t. METRIC[@POLICY] <= VALUE [and ...]]" (or max, >=):
    /// recommends the best value whose interval bound meets the constraints; values the
    /// intervals cannot tell apart tie, and the tie goes to the more conservative one.
    #[arg(long)]
    pub objective: Option<String>,
    /// The confidence level constraints and ties are judged at, from 0.5 to 0.999.
    #[arg(long, default_value_t = 0.95)]
    pub confidence: f64,
    #[command(flatten)]
    pub gate: GateArgs,
}

#[derive(Debug, Args, Clone)]
#[command(mut_arg("out", |a| a.help("Output directory (default: reports/<scenario name>-tune)")))]
pub struct TuneArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// The policy to tune (a [[policies]] table of the scenario file).
    #[arg(long)]
    pub policy: String,
    /// KEY=LOW..HIGH[:POINTS] or KEY=A,B,C: a numeric key of the policy and its candidate
    /// values, e.g. failures=2..8 (every whole number) or error_rate_above=0.01..0.05:9.
    /// Repeat for several keys: every combination is a candidate.
    #[arg(long = "param", required = true)]
    pub params: Vec<String>,
    /// "min METRIC [s.t. METRIC <= VALUE [and ...]]" (default: the scenario's [objective]),
    /// about the tuned policy.
    #[arg(long)]
    pub objective: Option<String>,
    /// Runs of the last round (default: the scenario's `simulation.runs`, else 1000);
    /// earlier rounds get halves of it.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub runs: Option<u64>,
    /// Master seed (default: the scenario's `simulation.seed`, else a fresh one that is printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// The confidence level constraints are judged at, from 0.5 to 0.999.
    #[arg(long, default_value_t = 0.95)]
    pub confidence: f64,
    /// Also write the winner as a controller's config into the output directory
    /// (repeatable): argo (AnalysisTemplate), flagger (Canary), prometheus (rule file),
    /// scenario (the [[policies]] table).
    #[arg(long, value_enum)]
    pub emit: Vec<EmitFormat>,
    #[command(flatten)]
    pub dest: DestinationArgs,
    /// Show no progress bar.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub gate: GateArgs,
}

#[derive(Debug, Args, Clone)]
pub struct ExportArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// The policy to write.
    #[arg(long)]
    pub policy: String,
    /// The format.
    #[arg(long, value_enum)]
    pub emit: EmitFormat,
}

/// `--emit`: a controller's config format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EmitFormat {
    /// An Argo Rollouts AnalysisTemplate (and the Rollout's canary steps).
    Argo,
    /// A Flagger Canary's analysis.
    Flagger,
    /// A Prometheus alerting-rule file.
    Prometheus,
    /// The rollsim [[policies]] table.
    Scenario,
}

/// CI gates shared by `run`, `compare`, `sweep` and `tune`.
#[derive(Debug, Args, Clone)]
pub struct GateArgs {
    /// "METRIC[@POLICY] OP NUMBER" (OP one of <=, >=, <, >), e.g.
    /// 'false_positive_rollbacks@gate <= 0.02': judged on the upper 95% bound for <= and <
    /// (the lower one for >= and >); exit code 3 when one fails. Repeatable.
    #[arg(long = "assert", value_name = "ASSERTION")]
    pub asserts: Vec<String>,
    /// What --assert judges: the interval bound (default) or the mean.
    #[arg(long, value_enum, default_value_t = AssertOn::Bound)]
    pub assert_on: AssertOn,
}

/// `--assert-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AssertOn {
    /// The 95% interval's bound on the side the comparison is about.
    Bound,
    /// The mean over the runs.
    Mean,
}

#[derive(Debug, Args, Clone)]
#[command(mut_arg("out", |a| a.help("Output directory (default: reports/<scenario name>-run<N>)")))]
pub struct TraceArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// The run index to record (as in runs.csv).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=u64::MAX / 2))]
    pub run: u64,
    /// The policy to record (default: the first in the scenario).
    #[arg(long)]
    pub policy: Option<String>,
    /// Master seed (default: the scenario's `simulation.seed`, else a fresh one that is printed).
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub dest: DestinationArgs,
    /// Replay a game day's recorded commands (its actions.csv) instead of a policy: the
    /// trace is then the game's, event for event (pass the game's --seed and --run).
    #[arg(long, conflicts_with = "policy")]
    pub actions: Option<PathBuf>,
    /// With --actions: the policy whose rule paged the team in the game (its --pager).
    #[arg(long, requires = "actions")]
    pub pager: Option<String>,
}

#[derive(Debug, Args, Clone)]
#[command(mut_arg("out", |a| a.help("Output directory (default: reports/<scenario name>-gameday)")))]
pub struct GamedayArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// Game seconds per wall-clock second (1 = real time).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Virtual time: the game moves only when told (`advance 10m`, POST /api/advance);
    /// for rehearsing a script and for tests.
    #[arg(long = "virtual", conflicts_with = "speed")]
    pub virtual_time: bool,
    /// Serve GET /metrics, GET /api/state and the POST /api/... controls here.
    /// Loopback only, unless --token is given.
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
    /// A secret every control request must carry (Authorization: Bearer TOKEN); required
    /// to --listen on an address other than loopback. Prefer the environment variable: a
    /// command line is visible to every local user.
    #[arg(long, env = "ROLLSIM_GAMEDAY_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The scenario policy whose rule pages the team (instead of acting).
    #[arg(long)]
    pub pager: Option<String>,
    /// Master seed (default: the scenario's `simulation.seed`, else a fresh one that is printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Which run's world to play (as in runs.csv of `rollsim run` with the same seed).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=u64::MAX / 2))]
    pub run: u64,
    /// Plain log lines (and typed commands on stdin) even on a terminal.
    #[arg(long)]
    pub no_dashboard: bool,
    #[command(flatten)]
    pub dest: DestinationArgs,
}

#[derive(Debug, Args, Clone)]
pub struct MergeArgs {
    /// The shard output directories, in any order.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Output directory for the merged results.
    #[arg(long)]
    pub out: PathBuf,
    /// Overwrite files in a non-empty output directory.
    #[arg(long)]
    pub force: bool,
}

/// What a replayed policy does after it decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ResetArg {
    /// Watch no more until the next deploy of the labels (as the simulator does).
    Deploy,
    /// Forget everything and keep watching (an alert that re-arms).
    Decision,
}

/// The recorded input `replay` and `calibrate` read.
#[derive(Debug, Args, Clone)]
pub struct RecordingArgs {
    /// Recorded metrics: tidy CSV (timestamp,series,value), a Prometheus range-query
    /// response or a CloudWatch get-metric-data export (JSON); several files are merged
    /// (each series in one file).
    #[arg(required = true)]
    pub metrics: Vec<PathBuf>,
    /// The time zone of timestamps written without an offset (an IANA name such as
    /// Europe/Paris), in the files and in the command's time flags; without it such
    /// timestamps are refused.
    #[arg(long)]
    pub timezone: Option<String>,
}

#[derive(Debug, Args, Clone)]
#[command(mut_arg("out", |a| a.help("Output directory (default: reports/replay-<first metrics file name>)")))]
pub struct ReplayArgs {
    #[command(flatten)]
    pub recording: RecordingArgs,
    /// The scenario whose [[policies]] are replayed; its simulation.scrape_interval must be
    /// the data's.
    #[arg(long)]
    pub policies: PathBuf,
    /// Labels CSV (start,end,kind): deploys, promotions and incident windows.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// After a decision: wait for the next deploy, or start afresh at once.
    #[arg(long, value_enum, default_value_t = ResetArg::Deploy)]
    pub reset: ResetArg,
    /// With --reset decision: how long a policy that decided sees nothing before it starts
    /// afresh (the time a rollback and a new deploy take), e.g. "30m".
    #[arg(long, value_parser = duration_ms)]
    pub hold: Option<u64>,
    #[command(flatten)]
    pub dest: DestinationArgs,
}

#[derive(Debug, Args, Clone)]
pub struct CalibrateArgs {
    // The recorded metrics of a healthy period (requests, and errors or error_ratio,
    // latency_p99_ms when fitted) and the time zone of their timestamps.
    #[command(flatten)]
    pub recording: RecordingArgs,
    /// The scenario file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Fit only scrapes from this time on (RFC 3339, Unix seconds, or a date and time
    /// without an offset read in --timezone): pick a healthy period. Repeat with --to for
    /// several: the i-th --from pairs with the i-th --to.
    #[arg(long)]
    pub from: Vec<String>,
    /// Fit only scrapes up to this time (as --from); repeatable with --from.
    #[arg(long)]
    pub to: Vec<String>,
    /// A healthy stretch to fit, START..END (each as --from, both included); repeat for
    /// several. The time between stretches is not lost scrapes.
    #[arg(long, value_name = "START..END")]
    pub stretch: Vec<String>,
    /// Leave START..END out of the fit (an incident, a metrics outage; each as --from);
    /// repeatable.
    #[arg(long, value_name = "START..END")]
    pub exclude: Vec<String>,
    /// Leave out every incident window of a labels file (`start,end,kind`, as replay's
    /// --labels; deploy and promoted instants are not windows).
    #[arg(long, value_name = "LABELS.csv")]
    pub exclude_labels: Option<PathBuf>,
    /// Fit the weekly shape of traffic from one week of data (two weeks fit it anyway).
    #[arg(long)]
    pub weekly: bool,
    /// Directory for the fit report (default: reports/calibrate-<scenario file name>).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Seed of the simulation that checks the fit.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Simulated runs, each as long as the recording, compared with it.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub runs: u64,
    /// Overwrite an existing scenario file and a non-empty report directory.
    #[arg(long)]
    pub force: bool,
}

/// A duration flag ("30m", "1h 30m") in milliseconds.
fn duration_ms(s: &str) -> Result<u64, String> {
    rollsim::scenario::raw::parse_duration(s).map(|d| d.0)
}

/// `rollsim train`: a scenario with a [train] section, its runs as `run` takes them.
#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub base: ScenarioRunsArgs,
}
