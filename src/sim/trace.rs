//! A recorded timeline of one replication, for `rollsim trace`: one row per scrape
//! interval (truth beside what the policy could observe) and the events in between.

use serde::Serialize;

/// One scrape interval `[t_s, t_s + scrape)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceRow {
    pub t_s: f64,
    /// Share of traffic on the new version.
    pub share_new: f64,
    pub true_error_rate_old: f64,
    pub true_error_rate_new: f64,
    /// Errors / requests of the new version in the scrape; empty when the scrape was lost
    /// or the new version served no request.
    pub observed_error_rate_new: Option<f64>,
    pub true_p99_old_ms: f64,
    pub true_p99_new_ms: f64,
    pub observed_p99_new_ms: Option<f64>,
    pub requests: u64,
    pub failed_requests: u64,
}

/// Something that happened at one instant (deploy, rollback, fault start, ...).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceEvent {
    pub t_s: f64,
    pub kind: &'static str,
    pub detail: String,
}

/// The timeline of one replication.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trace {
    pub rows: Vec<TraceRow>,
    pub events: Vec<TraceEvent>,
}
