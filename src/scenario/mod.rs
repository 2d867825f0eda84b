//! Scenario files: parse TOML, check every value, and hand the simulator a [`Scenario`]
//! in which every duration is integer milliseconds and every probability is in range.
//!
//! Two steps: [`load`] reads the file and every YAML its policies import (the only I/O),
//! then [`parse_with`] turns text into a checked scenario without reading anything.
//!
//! Architecture invariant: nothing outside this module sees a raw (unchecked) value, and
//! every rejection names `file:line:col` and what was expected. A policy kind's keys,
//! checks and checked parameters live in its module of `crate::policy`; this module reads
//! the keys every policy takes and hands the rest to the kind (`policies.rs`).

mod data;
pub mod edit;
mod error;
mod fault;
mod imports;
pub mod limits;
mod load;
pub mod objective;
mod policies;
pub mod raw;
pub mod services;
pub mod span;
mod strategy;
mod suggest;
pub mod train;
mod validate;

/// The checking toolkit, under its former path (`scenario::check`).
pub use crate::check;
pub use crate::check::{
    Action, CanaryStep, Checkpoint, Day, DurationDist, Human, Rollout, StepGate, Strategy,
    UnsafeRollback, Until,
};
pub use crate::policy::argo::{ArgoSpec, Conditions, OnInconclusive};
pub use crate::policy::burn_rate::{BurnRateSpec, BurnWindow, Traffic};
pub use crate::policy::ecs::EcsSpec;
pub use crate::policy::flagger::{weights as flagger_weights, FlaggerSpec};
pub use crate::policy::kayenta::{Direction, KayentaMetric, KayentaSpec, NanStrategy};
pub use crate::policy::threshold::{NoData, ThresholdSignal, ThresholdSpec};
pub use crate::policy::{Guards, PolicyRule, PolicySpec};
pub use error::{Located, ScenarioError};
pub use imports::{ImportedText, Imports};
pub use load::{load, load_text, parse, parse_at, parse_with, read};
pub use raw::{FaultKind, OnUnknown, StrategyName};
pub use services::{Call, System, SystemService};

/// The demo scenario built into the binary, run by `rollsim` with no arguments.
pub const DEMO_SCENARIO: &str = include_str!("../../scenarios/quickstart.toml");

/// A checked scenario: what the simulator runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// One line on what the scenario models.
    pub description: String,
    /// Simulated horizon of one run.
    pub duration_ms: u64,
    /// How often metrics are scraped (the simulator's signal tick).
    pub scrape_interval_ms: u64,
    /// Default number of runs when the command line gives none.
    pub runs: u64,
    /// Default master seed when the command line gives none.
    pub seed: Option<u64>,
    pub service: Service,
    pub signals: Signals,
    pub health_check: HealthCheck,
    pub slo: Slo,
    pub release: Release,
    /// The default rollout; each policy carries its own copy (see [`PolicySpec::rollout`]).
    pub rollout: Rollout,
    pub pipeline: Pipeline,
    /// The data store and migrations; `None` when the scenario models no data.
    pub data: Option<DataSpec>,
    pub recovery: Recovery,
    pub human: Human,
    pub faults: Vec<Fault>,
    pub policies: Vec<PolicySpec>,
    /// The `[objective]` in the sweep's syntax ("min downtime_s s.t. ..."), checked;
    /// `None` when the scenario has none (the verdict then uses its default).
    pub objective: Option<String>,
    /// What imported policies could not carry over (`import = "file.yaml"`), one line each
    /// with its YAML position: printed once by the commands that load the scenario.
    pub warnings: Vec<String>,
    /// The services of a system (`[[services]]`); `None` for a single service.
    pub system: Option<Box<System>>,
    /// A train of releases (`[train]`); `None` for one release.
    pub train: Option<Box<train::Train>>,
}

/// The service under release: its traffic and its healthy behaviour.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub name: String,
    /// Mean requests per second over a day.
    pub request_rate: f64,
    /// Relative daily swing: the rate runs from `rate*(1-a)` to `rate*(1+a)`.
    pub diurnal_amplitude: f64,
    /// Hour of the simulated day (run starts at 00:00) when traffic peaks.
    pub peak_hour: f64,
    /// Relative weekly swing, added to the daily one: `rate × (1 + a cos(day) + w
    /// cos(week))`; recordings of two weeks or more show it (weekends).
    pub weekly_amplitude: f64,
    /// When in the week traffic peaks, in days after Monday 00:00, in [0, 7); the run
    /// starts on a Thursday (1970-01-01, as traces record it).
    pub peak_weekday: f64,
    /// Error probability of a request on a healthy version with no fault.
    pub baseline_error_rate: f64,
    pub latency_p50_ms: f64,
    pub latency_p99_ms: f64,
    pub replicas: u32,
    /// Requests per second one replica can serve; `None` means never saturated (and no
    /// gauges: they follow the utilisation).
    pub capacity_rps: Option<f64>,
    /// The CPU a replica burns with no request (sidecars, GC, health checks), as a share
    /// of its cores; the CPU gauge reads this plus the utilisation.
    pub cpu_baseline: f64,
    /// The most requests one replica queues; a full queue rejects (the overload errors).
    pub queue_limit: f64,
}

/// The largest `[signals] noise_sd`. The drift multiplies the baseline error rate by
/// `exp(x - sd^2/2)` with `x` of standard deviation `sd`: at 5 the multiplier's median is
/// already `exp(-12.5)` (four millionths) while its mean stays 1, all of it in rare huge
/// spikes (the shipped scenarios use 0 to 0.4); past about 1e154 `sd^2` overflows and the
/// multiplier is NaN.
pub const MAX_NOISE_SD: f64 = 5.0;

/// How noisy and how late the metrics are.
#[derive(Debug, Clone, PartialEq)]
pub struct Signals {
    /// Stationary standard deviation of the log baseline error rate drift (at most
    /// [`MAX_NOISE_SD`]).
    pub noise_sd: f64,
    /// Autocorrelation time of that drift (AR(1) / Ornstein-Uhlenbeck).
    pub noise_correlation_ms: u64,
    /// Probability that one scrape is lost.
    pub missing_scrape_probability: f64,
    /// Variance / mean of the requests per scrape: 1 is Poisson; more is a Gamma-Poisson
    /// (negative binomial) mixture, as bursty real traffic shows.
    pub request_dispersion: f64,
    /// Delay between a scrape and the moment a policy can see it.
    pub metric_delay_ms: u64,
    /// Relative noise of a gauge reading (the log-sd of a mean-one factor).
    pub gauge_noise_sd: f64,
}

/// Health checks against the new version's replicas.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthCheck {
    pub interval_ms: u64,
    pub timeout_ms: u64,
    /// Probability that a check fails with nothing wrong (a flaky probe).
    pub false_failure_probability: f64,
}

/// The service level whose violation counts as downtime.
#[derive(Debug, Clone, PartialEq)]
pub struct Slo {
    pub error_rate: f64,
    pub latency_p99_ms: f64,
}

/// The release from version A (stable) to version B (new).
#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    pub at_ms: u64,
    /// Probability, per run, that version B is bad (ground truth).
    pub bad_probability: f64,
    /// Watch time after the rollout reaches 100% before the release counts as promoted.
    pub bake_ms: u64,
    pub bad: BadRelease,
}

/// What a bad version B does to the requests it serves.
#[derive(Debug, Clone, PartialEq)]
pub struct BadRelease {
    /// Added error probability on affected requests at full effect.
    pub error_rate: f64,
    /// Latency multiplier on affected requests at full effect.
    pub latency_factor: f64,
    /// CPU cost multiplier of affected requests at full effect (an efficiency defect):
    /// it raises the new version's utilisation, and past its capacity, its errors.
    pub cpu_factor: f64,
    /// Share of version B's requests that are affected (partial failures).
    pub fraction: f64,
    /// Delay after version B starts serving before the defect shows.
    pub onset_ms: u64,
    /// Time from onset to full effect (a slow leak ramps linearly); 0 is a step.
    pub ramp_ms: u64,
}

/// What the delivery pipeline does after a rollback.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    /// Deploy attempts of the same release, the first included (1 = never retried).
    pub max_attempts: u32,
    /// Delay before an automatic retry (CI re-trigger, GitOps reconcile).
    pub retry_delay: DurationDist,
}

/// Delays of recovery actions other than rollback.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovery {
    /// From the decision to roll forward until the fix serves.
    pub roll_forward_delay: DurationDist,
}

/// The service's data: records in formats, what each code version reads and writes, and
/// the schema migrations of the release.
///
/// Formats are named by the scenario ("v1", "v2", ...) and referred to here by index; a
/// version's `reads` is a bit set over those indices.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSpec {
    pub formats: Vec<String>,
    pub initial_records: u64,
    /// Share of requests that write (insert) one record.
    pub write_fraction: f64,
    /// Share of requests that read one record.
    pub read_fraction: f64,
    /// Share of reads that touch a record written within `recent_window_ms`.
    pub recent_read_fraction: f64,
    pub recent_window_ms: u64,
    /// Share of reads that also rewrite the record they read (read-modify-write).
    pub rewrite_fraction: f64,
    pub on_unsafe_rollback: UnsafeRollback,
    /// The stable version (A).
    pub old: CodeVersion,
    /// The release (B).
    pub new: CodeVersion,
    pub migrations: Vec<Migration>,
}

/// The formats one code version understands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CodeVersion {
    /// Bit `i` set: reads format `i`.
    pub reads: u64,
    /// The format its writes produce.
    pub writes: usize,
    pub on_unknown: UnknownShares,
}

/// What reads of an unknown format do, as shares that sum to 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnknownShares {
    /// The request fails (visible).
    pub error: f64,
    /// Works; a rewrite drops the unknown fields (lost write).
    pub ignore_unknown: f64,
    /// Works wrongly; a rewrite corrupts the record (silent).
    pub misread: f64,
}

impl UnknownShares {
    /// All reads of an unknown format behave as `b`.
    pub fn all(b: OnUnknown) -> Self {
        let mut s = UnknownShares {
            error: 0.0,
            ignore_unknown: 0.0,
            misread: 0.0,
        };
        match b {
            OnUnknown::Error => s.error = 1.0,
            OnUnknown::IgnoreUnknown => s.ignore_unknown = 1.0,
            OnUnknown::Misread => s.misread = 1.0,
        }
        s
    }
}

impl CodeVersion {
    /// Whether this version reads format `f`.
    pub fn reads(&self, f: usize) -> bool {
        self.reads & (1 << f) != 0
    }
}

/// One schema migration step.
#[derive(Debug, Clone, PartialEq)]
pub struct Migration {
    pub name: String,
    pub when: MigrationWhen,
    pub step: MigrationStep,
}

/// When a migration runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationWhen {
    /// Just before the first deploy of the new version (coupled to the code).
    WithRelease,
    /// This long after the new version is promoted (its own step, after the bake).
    AfterPromotion { delay_ms: u64 },
    /// At this simulated time (its own step).
    At(u64),
}

/// What a migration does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MigrationStep {
    /// Adds the columns of format `adds` (nothing else changes; both versions unaffected).
    Expand { adds: usize },
    /// Rewrites records from `from` to `to` at `rate_per_s` until none is left; stops for
    /// good when the release is rolled back if `stop_on_rollback`.
    Backfill {
        from: usize,
        to: usize,
        rate_per_s: f64,
        stop_on_rollback: bool,
    },
    /// Drops format `drops`: its records become `into`, losing their data if `data_loss`
    /// (a dropped column) or not (a rename). Rolling back to code that reads `drops` is
    /// then unsafe.
    Contract {
        drops: usize,
        into: usize,
        data_loss: bool,
    },
}

/// An injected fault: when it happens, how long it lasts, what it does.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    pub name: String,
    pub schedule: Schedule,
    pub duration: DurationDist,
    pub effect: FaultEffect,
}

/// When a fault starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    /// At this simulated time in every run.
    At(u64),
    /// With this probability per run, at a uniform time in the window.
    Once {
        probability: f64,
        window: (u64, u64),
    },
    /// As a Poisson process with this rate (per millisecond) inside the window.
    Poisson {
        rate_per_ms: f64,
        window: (u64, u64),
    },
    /// Never by itself: a game day's facilitator injects it (`inject_only = true`).
    Injected,
}

/// What a fault does while it is active.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultEffect {
    /// Slower network for every version, with optional packet loss (failed requests).
    InfraLatency {
        latency_factor: f64,
        packet_loss: f64,
    },
    /// A share of replicas (and their capacity) is gone; probes that hit them fail.
    NodeLoss { capacity_loss: f64 },
    /// A downstream dependency fails this share of requests, for every version.
    DependencyOutage { error_rate: f64 },
    /// Health checks fail with this probability whatever the service does.
    FlappingHealthCheck { failure_probability: f64 },
    /// No scrape reaches the policies.
    MetricsGap,
    /// The signal misbehaves while the service does not: the observation path only
    /// (`crate::signals::faults`); no request really fails or slows because of it.
    Signal(SignalFault),
}

/// A fault of the signal, not of the service: what the scrapes show differs from what
/// was served, so the truth (and every failed request scored) is unchanged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SignalFault {
    /// New pods look slow and failing while they warm up (cold caches, JIT): after every
    /// deploy or step, the new pods' share of the new version's scrape shows latency x
    /// `1 + (latency_factor - 1) e^(-age/decay)` and `error_rate e^(-age/decay)` extra
    /// errors.
    WarmUp {
        latency_factor: f64,
        error_rate: f64,
        decay_ms: u64,
    },
    /// The new version's scrapes count only about `request_rate` requests a second (a
    /// night, a canary few users reach): each request is in them with probability
    /// `min(1, request_rate x interval / served)`.
    LowTraffic { request_rate: f64 },
    /// The metrics query fails (an error or a NaN answer) with this probability at each
    /// scrape: the policy gets a measurement without data.
    QueryError { failure_probability: f64 },
    /// Queries take `rate()` over `rate_window_ms`, scrapes land up to `jitter_ms` off
    /// their slot, and the query is evaluated at a uniform phase between scrapes: a window
    /// that holds fewer than two samples gives no data (Prometheus' `rate()` needs two).
    ScrapeJitter { rate_window_ms: u64, jitter_ms: u64 },
    /// The new version's pods restart (`restarts_per_hour` among them, at most one a
    /// scrape interval) and their counters start again from zero; the scrape shows what
    /// Prometheus' reset handling makes of it (`crate::signals::faults`): a dip (the
    /// restarted pod's counts before the restart are lost) or, when the query sums the
    /// pods' counters before `rate()`, a spike (the whole sum read as new counts).
    CounterReset {
        restarts_per_hour: f64,
        sum_then_rate: bool,
    },
    /// An alarm that fires before the deploy and goes on through it: both versions'
    /// scrapes show `error_rate` more of their successful requests as errors (a client
    /// retry storm counted as 5xx, a broken synthetic check), while no real request
    /// fails. Rules on the new version's own error rate read it as the release's.
    PreExistingAlarm { error_rate: f64 },
}

#[cfg(test)]
mod tests;
