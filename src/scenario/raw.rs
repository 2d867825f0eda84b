//! The scenario file as written: serde types that mirror the TOML one to one.
//!
//! Everything here is "as the user typed it": durations are still [`Dur`] values, optional
//! fields are `Option`, and nothing has been cross-checked. `validate` turns a [`RawScenario`]
//! into a checked [`crate::scenario::Scenario`]; keeping the two apart means the simulator
//! never sees an unchecked value and the parser never needs to know the model.

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;

/// A duration written as a human string ("15s", "5m", "1h 30m", "250ms"), held in milliseconds.
///
/// Simulated time is integer milliseconds everywhere (no float clock), so durations are
/// converted once, here, and a duration finer than a millisecond is rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dur(pub u64);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration string such as \"30s\", \"5m\" or \"1h 30m\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Dur, E> {
                parse_duration(s).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// Parses a human duration into whole milliseconds; the error names what was expected.
pub fn parse_duration(s: &str) -> Result<Dur, String> {
    // "5M" reads as five months to the parser and as five minutes to many people: refuse
    // the capital M rather than guess.
    let bytes = s.as_bytes();
    if let Some(i) = s.find('M') {
        let after = bytes.get(i + 1).copied();
        if !after.is_some_and(|c| c.is_ascii_alphabetic()) {
            return Err(format!(
                "duration {s:?} has the ambiguous unit \"M\" (minutes or months?); expected \"m\" or \"min\" for minutes, \"d\" for days"
            ));
        }
    }
    let d = humantime::parse_duration(s.trim()).map_err(|e| {
        format!("invalid duration {s:?} ({e}); expected a duration such as \"30s\", \"5m\" or \"1h 30m\"")
    })?;
    if d.subsec_nanos() % 1_000_000 != 0 {
        return Err(format!(
            "duration {s:?} is finer than a millisecond; simulated time counts whole milliseconds"
        ));
    }
    // A cap far beyond any useful horizon keeps every sum of times far from overflow.
    const MAX_MS: u128 = 10 * 365 * 86_400_000;
    if d.as_millis() > MAX_MS {
        return Err(format!(
            "duration {s:?} is too long; expected at most 10 years"
        ));
    }
    Ok(Dur(d.as_millis() as u64))
}

/// A distribution of durations: a fixed string ("2h") or one shaped table.
#[derive(Debug, Clone, PartialEq)]
pub enum DurDist {
    /// Always this long.
    Fixed(Dur),
    /// A shaped distribution (`{ exponential = "2h" }`, ...).
    Shaped(ShapedDist),
}

/// The shaped duration distributions a scenario may ask for.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ShapedDist {
    /// Exponential with this mean (memoryless repair times).
    Exponential(Dur),
    /// Uniform between two durations.
    Uniform([Dur; 2]),
    /// Log-normal given by its median and 95th percentile (heavy-tailed outages).
    Lognormal { median: Dur, p95: Dur },
}

impl<'de> Deserialize<'de> for DurDist {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DurDist;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a duration (\"2h\") or one of { exponential = \"2h\" }, \
                     { uniform = [\"30m\", \"2h\"] }, { lognormal = { median = \"1h\", p95 = \"4h\" } }",
                )
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<DurDist, E> {
                parse_duration(s).map(DurDist::Fixed).map_err(E::custom)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<DurDist, A::Error> {
                ShapedDist::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(DurDist::Shaped)
            }
        }
        d.deserialize_any(V)
    }
}

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
    // `[[policies]]` is read apart (`scenario::policies`): a policy's keys depend on its
    // kind, and each kind's module owns them.
    /// Raised bounds on the work of a run (see `scenario::limits`).
    pub limits: Option<super::limits::RawLimits>,
    /// What "best" means for the verdict (`[objective]`).
    pub objective: Option<super::objective::RawObjective>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSimulation {
    pub duration: Option<Dur>,
    pub scrape_interval: Option<Dur>,
    pub runs: Option<i64>,
    pub seed: Option<u64>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub name: Option<String>,
    pub request_rate: Option<f64>,
    pub diurnal_amplitude: Option<f64>,
    pub peak_hour: Option<f64>,
    pub baseline_error_rate: Option<f64>,
    pub latency_p50: Option<Dur>,
    pub latency_p99: Option<Dur>,
    pub replicas: Option<i64>,
    pub capacity_rps: Option<f64>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSignals {
    pub noise_sd: Option<f64>,
    pub noise_correlation: Option<Dur>,
    pub missing_scrape_probability: Option<f64>,
    pub request_dispersion: Option<f64>,
    pub metric_delay: Option<Dur>,
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
}

/// When a policy stops watching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Until {
    /// Until the release is promoted (rollout complete plus bake): how rollout analysis works.
    Promoted,
    /// Until the end of the simulated horizon: how a standing production alert works.
    End,
}

/// Where automation waits for a human.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Checkpoint {
    /// Never: automation acts alone.
    None,
    /// Before acting on a fired rule: page a human, who decides.
    Rollback,
    /// Before acting and before promotion: a human also signs the promotion off.
    RollbackAndPromotion,
}

/// Which day of the week a run simulates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Day {
    Weekday,
    Weekend,
    /// A weekend day with probability 2/7, drawn per run.
    Random,
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

/// The recovery a policy takes when it acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Move traffic back to the old version (code only; data stays as written).
    Rollback,
    /// Deploy a fix after `recovery.roll_forward_delay`; the new version keeps serving.
    RollForward,
    /// Turn the new code path off at once with a feature flag; written data stays.
    FlagOff,
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

/// Whether a rollback across a destructive migration goes ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnsafeRollback {
    /// Roll back anyway; the harm is counted.
    Proceed,
    /// Refuse; the new version keeps serving.
    Refuse,
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

/// The field names of a struct that derives `Deserialize` (serde's `FIELDS`, renames
/// applied), read by asking it to deserialize from a deserializer that only records them.
/// Key lists in messages come from here, never from a list kept by hand.
pub fn fields_of<T: de::DeserializeOwned>() -> &'static [&'static str] {
    struct Catch<'a>(&'a mut &'static [&'static str]);
    impl<'de> Deserializer<'de> for Catch<'_> {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("fields read"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Catch(&mut fields));
    fields
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
