//! The scenario file as written: serde types that mirror the TOML one to one.
//!
//! Everything here is "as the user typed it": durations are still [`Dur`] values, optional
//! fields are `Option`, and nothing has been cross-checked. `validate` turns a [`RawScenario`]
//! into a checked [`crate::scenario::Scenario`]; keeping the two apart means the simulator
//! never sees an unchecked value and the parser never needs to know the model.

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;

pub use crate::check::{
    fields_of, parse_duration, Action, Checkpoint, Day, Dur, DurDist, ShapedDist, UnsafeRollback,
    Until,
};

/// The whole file.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// One line saying what the scenario is about (shown in reports).
    pub description: Option<String>,
    #[serde(default)]
    pub simulation: RawSimulation,
    #[serde(default)]
    pub service: RawService,
    #[serde(default)]
    pub signals: RawSignals,
    #[serde(default)]
    pub health_check: RawHealthCheck,
    #[serde(default)]
    pub slo: RawSlo,
    #[serde(default)]
    pub release: RawRelease,
    #[serde(default)]
    pub rollout: RawRollout,
    #[serde(default)]
    pub pipeline: RawPipeline,
    /// The service's data store, code versions' formats and schema migrations.
    pub data: Option<RawData>,
    #[serde(default)]
    pub recovery: RawRecovery,
    #[serde(default)]
    pub human: RawHuman,
    #[serde(default)]
    pub faults: Vec<RawFault>,
    /// A system of services (`[[services]]`); empty for today's single service.
    #[serde(default)]
    pub services: Vec<super::services::RawSystemService>,
    /// Storms and deploy waves of a system (`[system]`).
    pub system: Option<super::services::RawSystem>,
    // `[[policies]]` is read apart (`scenario::policies`): a policy's keys depend on its
    // kind, and each kind's module owns them.
    /// Raised bounds on the work of a run (see `scenario::limits`).
    pub limits: Option<super::limits::RawLimits>,
    /// What "best" means for the verdict (`[objective]`).
    pub objective: Option<super::objective::RawObjective>,
    /// A train of releases over days or weeks (`[train]`); absent for one release.
    pub train: Option<super::train::RawTrain>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSimulation {
    pub duration: Option<Dur>,
    pub scrape_interval: Option<Dur>,
    pub runs: Option<i64>,
    pub seed: Option<u64>,
}

/// Declares a table that holds the `[service]` keys (written once, here) between its own
/// leading and trailing keys, in that order (the order messages list them in), and gives
/// it `service_over`: those keys as a [`RawService`], each taken from a template where
/// the table leaves it out. `[service]` itself and each `[[services]]` entry are such
/// tables (serde's `flatten` would lose `deny_unknown_fields` and the key list).
macro_rules! with_service_keys {
    (
        $(#[$meta:meta])*
        pub struct $name:ident { $($head:tt)* } { $($tail:tt)* }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $($head)*
            pub request_rate: Option<f64>,
            pub diurnal_amplitude: Option<f64>,
            pub peak_hour: Option<f64>,
            pub weekly_amplitude: Option<f64>,
            pub peak_weekday: Option<f64>,
            pub baseline_error_rate: Option<f64>,
            pub latency_p50: Option<Dur>,
            pub latency_p99: Option<Dur>,
            pub replicas: Option<i64>,
            pub capacity_rps: Option<f64>,
            pub cpu_baseline: Option<f64>,
            pub queue_limit: Option<f64>,
            $($tail)*
        }

        impl $name {
            /// The `[service]` keys of this table, each one left out taken from
            /// `template` (no name).
            pub fn service_over(&self, template: &RawService) -> RawService {
                RawService {
                    name: None,
                    request_rate: self.request_rate.or(template.request_rate),
                    diurnal_amplitude: self.diurnal_amplitude.or(template.diurnal_amplitude),
                    peak_hour: self.peak_hour.or(template.peak_hour),
                    weekly_amplitude: self.weekly_amplitude.or(template.weekly_amplitude),
                    peak_weekday: self.peak_weekday.or(template.peak_weekday),
                    baseline_error_rate: self.baseline_error_rate.or(template.baseline_error_rate),
                    latency_p50: self.latency_p50.or(template.latency_p50),
                    latency_p99: self.latency_p99.or(template.latency_p99),
                    replicas: self.replicas.or(template.replicas),
                    capacity_rps: self.capacity_rps.or(template.capacity_rps),
                    cpu_baseline: self.cpu_baseline.or(template.cpu_baseline),
                    queue_limit: self.queue_limit.or(template.queue_limit),
                }
            }
        }
    };
}
pub(crate) use with_service_keys;

with_service_keys! {
    #[derive(Debug, Clone, Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    pub struct RawService {
        pub name: Option<String>,
    } {}
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSignals {
    pub noise_sd: Option<f64>,
    pub noise_correlation: Option<Dur>,
    pub missing_scrape_probability: Option<f64>,
    pub request_dispersion: Option<f64>,
    pub metric_delay: Option<Dur>,
    pub gauge_noise_sd: Option<f64>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawHealthCheck {
    pub interval: Option<Dur>,
    pub timeout: Option<Dur>,
    pub false_failure_probability: Option<f64>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSlo {
    pub error_rate: Option<f64>,
    pub latency_p99: Option<Dur>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawRelease {
    pub at: Option<Dur>,
    pub bad_probability: Option<f64>,
    pub bake: Option<Dur>,
    pub bad: Option<RawBadRelease>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawBadRelease {
    pub error_rate: Option<f64>,
    pub latency_factor: Option<f64>,
    pub cpu_factor: Option<f64>,
    pub fraction: Option<f64>,
    pub onset: Option<Dur>,
    pub ramp: Option<Dur>,
}

/// How the new version takes traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StrategyName {
    AllAtOnce,
    Rolling,
    BlueGreen,
    Canary,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawRollout {
    pub strategy: Option<StrategyName>,
    pub steps: Option<Vec<RawCanaryStep>>,
    pub batch_size: Option<i64>,
    pub batch_interval: Option<Dur>,
    pub preview: Option<Dur>,
    pub rollback_duration: Option<Dur>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCanaryStep {
    pub weight: f64,
    pub pause: Option<Dur>,
    /// After the pause, wait for a step analysis (`argo_analysis` policies).
    pub analysis: Option<bool>,
    /// After the pause, wait for a person to promote (the `[human]` model).
    pub approval: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawPipeline {
    pub max_attempts: Option<i64>,
    pub retry_delay: Option<DurDist>,
}

/// Fault kinds; the parameters of each live as flat fields on [`RawFault`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    InfraLatency,
    NodeLoss,
    DependencyOutage,
    FlappingHealthCheck,
    MetricsGap,
    WarmUp,
    LowTraffic,
    QueryError,
    ScrapeJitter,
    CounterReset,
    PreExistingAlarm,
}

/// `counter_reset`: how the query aggregates the pods' counters (Prometheus' reset
/// handling sees a pod's own counter fall, or only the sum's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CounterQuery {
    /// `sum(rate(x[w]))`: each pod's counter is its own series (what the Prometheus
    /// documentation asks for).
    RateThenSum,
    /// `rate(sum(x)[w])` (a recording rule that sums first): a pod's restart is a fall of
    /// the sum.
    SumThenRate,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    pub kind: FaultKind,
    pub name: Option<String>,
    // schedule: exactly one of these
    pub at: Option<Dur>,
    pub probability: Option<f64>,
    pub rate_per_hour: Option<f64>,
    pub window: Option<[Dur; 2]>,
    /// Never by itself: only when a game-day facilitator injects it.
    pub inject_only: Option<bool>,
    pub duration: Option<DurDist>,
    // effects (which apply depends on kind)
    pub latency_factor: Option<f64>,
    pub packet_loss: Option<f64>,
    pub capacity_loss: Option<f64>,
    pub error_rate: Option<f64>,
    pub failure_probability: Option<f64>,
    /// `warm_up`: the time constant of the decay.
    pub decay: Option<Dur>,
    /// `low_traffic`: the new version's requests per second the signal sees.
    pub request_rate: Option<f64>,
    /// `scrape_jitter`: the range of the queries' `rate()`.
    pub rate_window: Option<Dur>,
    /// `scrape_jitter`: how far a scrape may land from its slot (either way).
    pub jitter: Option<Dur>,
    /// `counter_reset`: restarts of the new version's pods per hour.
    pub restarts_per_hour: Option<f64>,
    /// `counter_reset`: how the query aggregates the pods' counters.
    pub query: Option<CounterQuery>,
    /// In a system: the services it hits (default: every service).
    pub services: Option<Vec<String>>,
    /// In a system: the zone whose services it hits.
    pub zone: Option<String>,
}

/// The on-call human.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawHuman {
    pub ack: Option<DurDist>,
    pub night_factor: Option<f64>,
    pub weekend_factor: Option<f64>,
    pub day: Option<Day>,
    pub right_call: Option<f64>,
    pub fatigue: Option<f64>,
    pub background_pages_per_day: Option<f64>,
    pub handling: Option<Dur>,
    pub silence: Option<Dur>,
}

/// Delays of the recovery actions other than rollback.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawRecovery {
    pub roll_forward_delay: Option<DurDist>,
}

/// What a version does with a record in a format it does not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnUnknown {
    /// The request fails (visible as an error).
    Error,
    /// Reads what it knows; rewriting the record drops the fields it does not know.
    IgnoreUnknown,
    /// Reads it wrongly without noticing; rewriting it corrupts the record.
    Misread,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawData {
    pub initial_records: Option<i64>,
    pub write_fraction: Option<f64>,
    pub read_fraction: Option<f64>,
    pub recent_read_fraction: Option<f64>,
    pub recent_window: Option<Dur>,
    pub rewrite_fraction: Option<f64>,
    pub on_unsafe_rollback: Option<UnsafeRollback>,
    pub old: Option<RawCodeVersion>,
    pub new: Option<RawCodeVersion>,
    #[serde(default)]
    pub migrations: Vec<RawMigration>,
}

/// The data formats one code version reads and writes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCodeVersion {
    pub reads: Vec<String>,
    pub writes: String,
    pub on_unknown: Option<RawOnUnknown>,
}

/// One behaviour (`"error"`) or shares of them (`{ error = 0.3, misread = 0.7 }`): code
/// paths differ, and some throw where others read a missing column as empty.
#[derive(Debug, Clone, PartialEq)]
pub enum RawOnUnknown {
    One(OnUnknown),
    Shares(RawUnknownShares),
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawUnknownShares {
    pub error: Option<f64>,
    pub ignore_unknown: Option<f64>,
    pub misread: Option<f64>,
}

impl<'de> Deserialize<'de> for RawOnUnknown {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawOnUnknown;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("\"error\", \"ignore_unknown\", \"misread\" or shares such as { error = 0.3, misread = 0.7 }")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<RawOnUnknown, E> {
                OnUnknown::deserialize(de::value::StrDeserializer::<E>::new(s))
                    .map(RawOnUnknown::One)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawOnUnknown, A::Error> {
                RawUnknownShares::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawOnUnknown::Shares)
            }
        }
        d.deserialize_any(V)
    }
}

/// Schema migration kinds; their parameters are flat fields on [`RawMigration`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrationKind {
    Expand,
    Backfill,
    Contract,
}

/// When a migration runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationAt {
    /// Coupled to the code deploy: runs just before the first deploy of the new version.
    WithRelease,
    /// Its own step, `delay` after the new version is promoted.
    AfterPromotion,
    /// Its own step at this simulated time.
    Time(Dur),
}

impl<'de> Deserialize<'de> for MigrationAt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = MigrationAt;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("\"with_release\", \"after_promotion\" or a time such as \"30m\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<MigrationAt, E> {
                match s {
                    "with_release" => Ok(MigrationAt::WithRelease),
                    "after_promotion" => Ok(MigrationAt::AfterPromotion),
                    _ => parse_duration(s).map(MigrationAt::Time).map_err(|_| {
                        E::custom(format!(
                            "invalid migration time {s:?}; expected \"with_release\", \"after_promotion\" or a time such as \"30m\""
                        ))
                    }),
                }
            }
        }
        d.deserialize_str(V)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMigration {
    pub kind: MigrationKind,
    pub name: Option<String>,
    pub at: Option<MigrationAt>,
    pub delay: Option<Dur>,
    // expand
    pub adds: Option<String>,
    // backfill
    pub from: Option<String>,
    pub to: Option<String>,
    pub rate: Option<f64>,
    pub stop_on_rollback: Option<bool>,
    // contract
    pub drops: Option<String>,
    pub into: Option<String>,
    pub data_loss: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_of_reads_serde_names() {
        assert_eq!(
            fields_of::<RawHealthCheck>(),
            ["interval", "timeout", "false_failure_probability"]
        );
    }
}
