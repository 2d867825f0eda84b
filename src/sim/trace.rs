//! A recorded timeline of one replication, for `rollsim trace`: one row per scrape
//! interval (truth beside what the policy could observe) and the events in between.

use crate::policy::Gauges;
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
    /// What the scrape of this interval showed, as a policy receives it (`rollsim replay`
    /// replays these): the new version's requests and errors, and the old version's
    /// requests, errors and p99. Empty when the scrape was lost or there was none (no new
    /// version yet); 0 requests when a version served nothing.
    pub observed_requests_new: Option<u64>,
    pub observed_errors_new: Option<u64>,
    pub observed_requests_old: Option<u64>,
    pub observed_errors_old: Option<u64>,
    pub observed_p99_old_ms: Option<f64>,
    /// The gauges the scrape read of each version (old, new), when the service has a
    /// capacity (they follow its utilisation). Not a column of `trace.csv`: the
    /// recording of the run (`metrics.csv`) carries them.
    #[serde(skip)]
    pub observed_gauges: Option<[Gauges; 2]>,
}

/// Something that happened at one instant (deploy, rollback, fault start, ...).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceEvent {
    pub t_s: f64,
    pub kind: &'static str,
    pub detail: String,
    /// The service it happened to, in a system's trace (not a column of `events.csv`,
    /// whose detail names the service; `service-events.csv` has it as its own column).
    #[serde(skip)]
    pub service: Option<String>,
}

/// One event as the logs print it (`rollsim trace`, a game's plain log):
/// `HH:MM:SS  kind           detail`, the time's seconds truncated.
pub fn log_line(t_s: f64, kind: &str, detail: &str) -> String {
    let secs = t_s as u64;
    format!(
        "{:02}:{:02}:{:02}  {kind:<14} {detail}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// The timeline of one replication.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trace {
    pub rows: Vec<TraceRow>,
    pub events: Vec<TraceEvent>,
    /// Every health check the policy received: (time in ms, passed). Empty when the
    /// policy reads no health checks (none are probed then).
    pub health_checks: Vec<(u64, bool)>,
    /// Record events only, no rows nor health checks: a system's services whose rows no
    /// one reads (a traced system keeps the entry service's), so tracing 300 services for
    /// a week does not hold 300 services' weeks of rows.
    pub events_only: bool,
}
