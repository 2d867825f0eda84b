//! What one run of one policy cost, scored from the ground truth.
//!
//! [`RunRecord`] is the single definition of a `runs.csv` row (serialised with serde, so
//! the columns cannot drift from the struct), and [`RunRecord::metrics`] is the single list
//! of the outcomes that the summary aggregates. [`Scorer`] is the one place that fills a
//! record in: the engine and the response stage tell it what truly happened and what was
//! done, and it turns that into the row.

mod scorer;
pub mod system;
pub mod train;

pub use scorer::{Scorer, Timeline};

use serde::{Deserialize, Serialize};

/// One (run, policy) row of `runs.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Run index within the experiment.
    pub run: u64,
    /// Seed of this run (derived from the master seed and the run index).
    pub seed: u64,
    pub policy: String,
    /// In a system: the service of the row, or `system` for the whole; absent (no
    /// column) for a single service, whose `runs.csv` keeps today's columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Ground truth: was the new version bad?
    pub release_bad: bool,
    /// Deploys of the release started (1 + automatic retries).
    pub deploy_attempts: u32,
    pub rollbacks: u32,
    /// Rollbacks of a good release.
    pub false_positive_rollbacks: u32,
    /// Rollbacks of a bad release.
    pub true_positive_rollbacks: u32,
    /// False-positive rollbacks decided while an infrastructure fault was active.
    pub misattributed_rollbacks: u32,
    /// The release was bad and still served traffic at the end of the run.
    pub missed_bad_release: bool,
    /// Rollbacks of a release that had already been rolled back once and retried.
    pub rollback_loops: u32,
    /// Simulated seconds in which the true service level violated the SLO.
    pub downtime_s: f64,
    /// Requests that truly failed for users.
    pub failed_requests: u64,
    pub total_requests: u64,
    /// Fault occurrences in this run.
    pub faults: u32,
    /// From the first true onset of a bad release to the first rollback decision after it;
    /// empty for a good release or a bad one never rolled back after its onset.
    pub time_to_detect_s: Option<f64>,
    /// From that onset until the defect stopped hurting users (bad version out of traffic,
    /// fix deployed or flag turned off); empty where it never did.
    pub time_to_recover_s: Option<f64>,
    /// Fixes deployed forward instead of a rollback (`action = "roll_forward"`).
    pub roll_forwards: u32,
    /// Feature-flag kill switches turned (`action = "flag_off"`).
    pub flags_off: u32,
    /// Rollbacks refused because they would cross a destructive migration.
    pub rollback_refused_unsafe: u32,
    /// Records at the end in a format the old version cannot read.
    pub new_format_records: u64,
    /// Reads of a record in a format the reading version does not know.
    pub unreadable_reads: u64,
    /// Records silently corrupted (misread, then rewritten).
    pub corrupted_records: u64,
    /// Writes whose data was lost (fields dropped on rewrite, columns dropped by a contract).
    pub lost_writes: u64,
    /// From the first data harm until it first showed in a signal (errors of unreadable
    /// reads in a scrape); empty when there was no harm or it stayed silent.
    pub data_harm_detected_s: Option<f64>,
    /// Pages this policy sent to a human (checkpoints, sign-offs).
    pub pages: u32,
    /// Human working minutes those pages cost.
    pub human_minutes: f64,
    /// Rollback decisions a loop guard suppressed (`max_auto_rollbacks`).
    pub rollbacks_suppressed: u32,
    /// The columns of a system (see [`RunRecord::SYSTEM_METRICS`]); absent for a single
    /// service. False-positive rollbacks while a dependency's bad release hurt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrong_service_rollbacks: Option<u32>,
    /// Other false-positive rollbacks while a fault hit the service or a dependency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infra_misattributed_rollbacks: Option<u32>,
    /// Rollback storms (the system's; a service's: the storms it took part in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_storms: Option<u32>,
    /// Most services rolled back within one storm window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub largest_storm: Option<u32>,
    /// Failed requests of the users (at entry services).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_failed_requests: Option<u64>,
    /// From a bad release's onset until that service itself was rolled back (the
    /// system's: the last bad service); empty when none was bad or one never was.
    #[serde(default, skip_serializing_if = "Seconds::is_absent")]
    pub time_to_bad_service_rollback_s: Seconds,
    /// Rollback decisions held because a dependency's trouble explained the signal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollbacks_held: Option<u32>,
}

impl RunRecord {
    /// A record with nothing happened yet: the identity of the run and its truth, every
    /// count zero and every time empty. The [`Scorer`] fills it in as the run goes.
    pub fn new(run: u64, seed: u64, policy: &str, release_bad: bool, faults: u32) -> Self {
        RunRecord {
            run,
            seed,
            policy: policy.to_string(),
            service: None,
            release_bad,
            deploy_attempts: 0,
            rollbacks: 0,
            false_positive_rollbacks: 0,
            true_positive_rollbacks: 0,
            misattributed_rollbacks: 0,
            missed_bad_release: false,
            rollback_loops: 0,
            downtime_s: 0.0,
            failed_requests: 0,
            total_requests: 0,
            faults,
            time_to_detect_s: None,
            time_to_recover_s: None,
            roll_forwards: 0,
            flags_off: 0,
            rollback_refused_unsafe: 0,
            new_format_records: 0,
            unreadable_reads: 0,
            corrupted_records: 0,
            lost_writes: 0,
            data_harm_detected_s: None,
            pages: 0,
            human_minutes: 0.0,
            rollbacks_suppressed: 0,
            wrong_service_rollbacks: None,
            infra_misattributed_rollbacks: None,
            rollback_storms: None,
            largest_storm: None,
            entry_failed_requests: None,
            time_to_bad_service_rollback_s: Seconds::Absent,
            rollbacks_held: None,
        }
    }

    /// The columns only a system's `runs.csv` has: a single service's has none of them,
    /// and a reader must not ask for them.
    pub const SYSTEM_COLUMNS: [&'static str; 8] = [
        "service",
        "wrong_service_rollbacks",
        "infra_misattributed_rollbacks",
        "rollback_storms",
        "largest_storm",
        "entry_failed_requests",
        "time_to_bad_service_rollback_s",
        "rollbacks_held",
    ];

    /// The outcomes only a system has, summarised when present (a single service's
    /// summary keeps today's rows).
    pub const SYSTEM_METRICS: [(&'static str, MetricKind); 7] = [
        ("wrong_service_rollbacks", MetricKind::Count),
        ("infra_misattributed_rollbacks", MetricKind::Count),
        ("rollback_storms", MetricKind::Count),
        ("largest_storm", MetricKind::Count),
        ("entry_failed_requests", MetricKind::Count),
        ("time_to_bad_service_rollback_s", MetricKind::Value),
        ("rollbacks_held", MetricKind::Count),
    ];

    /// The values of [`Self::SYSTEM_METRICS`]; `None` where one does not apply.
    pub fn system_metrics(&self) -> [Option<f64>; 7] {
        [
            self.wrong_service_rollbacks.map(f64::from),
            self.infra_misattributed_rollbacks.map(f64::from),
            self.rollback_storms.map(f64::from),
            self.largest_storm.map(f64::from),
            self.entry_failed_requests.map(|x| x as f64),
            self.time_to_bad_service_rollback_s.value(),
            self.rollbacks_held.map(f64::from),
        ]
    }
}

/// A time of a system's column: absent (no column, a single service), empty (it does not
/// apply in this run) or a number of seconds. An empty cell reads back as empty, so a
/// system's `runs.csv` keeps its columns through `merge`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Seconds {
    #[default]
    Absent,
    Empty,
    Value(f64),
}

impl Seconds {
    /// No column (a single service's record).
    pub fn is_absent(&self) -> bool {
        *self == Seconds::Absent
    }

    /// The number of seconds, if any.
    pub fn value(self) -> Option<f64> {
        match self {
            Seconds::Value(x) => Some(x),
            _ => None,
        }
    }
}

impl From<Option<f64>> for Seconds {
    fn from(x: Option<f64>) -> Self {
        x.map_or(Seconds::Empty, Seconds::Value)
    }
}

impl Serialize for Seconds {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Option::<f64>::deserialize(d).map(Seconds::from)
    }
}

/// How a metric is summarised, so that its interval stays inside the metric's range: a
/// proportion gets a Wilson interval (within [0, 1]), a count of events per run a scaled
/// Poisson interval, a non-negative amount (seconds, minutes) a moment-matched Gamma one
/// (both never below 0, and not degenerate when no event was seen); see
/// `experiment::stats::Accumulator::estimate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// A share of runs (0 or 1 per run).
    Proportion,
    /// A whole number of events per run (rollbacks, failed requests, pages).
    Count,
    /// A non-negative amount per run (downtime, time to detect).
    Value,
}

impl RunRecord {
    /// Names of the aggregated outcomes, in report order.
    pub const METRICS: [(&'static str, MetricKind); 25] = [
        ("release_bad", MetricKind::Proportion),
        ("deploy_attempts", MetricKind::Count),
        ("rollbacks", MetricKind::Count),
        ("false_positive_rollbacks", MetricKind::Count),
        ("true_positive_rollbacks", MetricKind::Count),
        ("misattributed_rollbacks", MetricKind::Count),
        ("missed_bad_release", MetricKind::Proportion),
        ("rollback_loops", MetricKind::Count),
        ("downtime_s", MetricKind::Value),
        ("failed_requests", MetricKind::Count),
        ("total_requests", MetricKind::Count),
        ("faults", MetricKind::Count),
        ("time_to_detect_s", MetricKind::Value),
        ("time_to_recover_s", MetricKind::Value),
        ("roll_forwards", MetricKind::Count),
        ("flags_off", MetricKind::Count),
        ("rollback_refused_unsafe", MetricKind::Count),
        ("new_format_records", MetricKind::Count),
        ("unreadable_reads", MetricKind::Count),
        ("corrupted_records", MetricKind::Count),
        ("lost_writes", MetricKind::Count),
        ("data_harm_detected_s", MetricKind::Value),
        ("pages", MetricKind::Count),
        ("human_minutes", MetricKind::Value),
        ("rollbacks_suppressed", MetricKind::Count),
    ];

    /// The values of [`Self::METRICS`], in the same order; `None` where one does not apply.
    pub fn metrics(&self) -> [Option<f64>; 25] {
        let b = |x: bool| Some(if x { 1.0 } else { 0.0 });
        [
            b(self.release_bad),
            Some(f64::from(self.deploy_attempts)),
            Some(f64::from(self.rollbacks)),
            Some(f64::from(self.false_positive_rollbacks)),
            Some(f64::from(self.true_positive_rollbacks)),
            Some(f64::from(self.misattributed_rollbacks)),
            b(self.missed_bad_release),
            Some(f64::from(self.rollback_loops)),
            Some(self.downtime_s),
            Some(self.failed_requests as f64),
            Some(self.total_requests as f64),
            Some(f64::from(self.faults)),
            self.time_to_detect_s,
            self.time_to_recover_s,
            Some(f64::from(self.roll_forwards)),
            Some(f64::from(self.flags_off)),
            Some(f64::from(self.rollback_refused_unsafe)),
            Some(self.new_format_records as f64),
            Some(self.unreadable_reads as f64),
            Some(self.corrupted_records as f64),
            Some(self.lost_writes as f64),
            self.data_harm_detected_s,
            Some(f64::from(self.pages)),
            Some(self.human_minutes),
            Some(f64::from(self.rollbacks_suppressed)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_numeric_column_is_a_metric() {
        let r = RunRecord::new(0, 0, "p", false, 0);
        let mut w = csv::Writer::from_writer(vec![]);
        w.serialize(&r).unwrap();
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
        let metrics: Vec<&str> = RunRecord::METRICS.iter().map(|m| m.0).collect();
        let expected: Vec<&str> = header
            .iter()
            .copied()
            .filter(|c| !["run", "seed", "policy"].contains(c))
            .collect();
        assert_eq!(metrics, expected);
    }
}
