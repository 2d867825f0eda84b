//! The scorer of one run: truth and actions in, one [`RunRecord`] out.

use super::RunRecord;
use crate::model::data::DataState;
use crate::model::release::Release;
use crate::model::service::ServiceLevel;

/// When things happened to one service in a run (see [`Scorer::timeline`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeline {
    pub rollbacks_ms: Vec<u64>,
    pub onset_ms: Option<u64>,
    pub recovered_ms: Option<u64>,
    pub held: u32,
}

/// Everything a run's record counts, gathered as the run goes.
#[derive(Debug, Clone)]
pub struct Scorer {
    out: RunRecord,
    /// The SLO's error rate: above it (or with over 1% of requests slow), an interval
    /// counts as downtime.
    slo_error_rate: f64,
    downtime_ms: u64,
    first_onset_ms: Option<u64>,
    first_detect_ms: Option<u64>,
    first_recover_ms: Option<u64>,
    /// When each rollback started (a system's storms and blame are scored from them).
    rollback_times_ms: Vec<u64>,
    /// Rollback decisions held because a dependency explained the signal.
    held: u32,
}

impl Scorer {
    /// The policy whose run it scores.
    pub fn policy(&self) -> &str {
        &self.out.policy
    }

    /// The same scorer under another policy's name: what a system's stretch before any
    /// deploy scored is every policy's (nothing in it depends on the policy).
    pub fn with_policy(mut self, policy: &str) -> Self {
        self.out.policy = policy.to_string();
        self
    }

    /// A scorer for `record` (the run's identity and truth, nothing happened yet).
    pub fn new(record: RunRecord, slo_error_rate: f64) -> Self {
        Scorer {
            out: record,
            slo_error_rate,
            downtime_ms: 0,
            first_onset_ms: None,
            first_detect_ms: None,
            first_recover_ms: None,
            rollback_times_ms: Vec::new(),
            held: 0,
        }
    }

    /// Deploy attempt `attempt` started.
    pub fn deployed(&mut self, attempt: u32) {
        self.out.deploy_attempts = attempt;
    }

    /// An interval of `dt` served `total` requests, `failed` of them failed, at `level`.
    pub fn interval(&mut self, dt: u64, total: u64, failed: u64, level: &ServiceLevel) {
        self.served(total, failed);
        self.level(dt, level);
    }

    /// Requests served, `failed` of them failed, over any stretch of intervals (a block
    /// drawn at once: see `model::blocks`).
    pub fn served(&mut self, total: u64, failed: u64) {
        self.out.total_requests += total;
        self.out.failed_requests += failed;
    }

    /// An interval of `dt` at `level`: downtime when it breaks the SLO.
    pub fn level(&mut self, dt: u64, level: &ServiceLevel) {
        if level.error_ratio > self.slo_error_rate || level.slow > 0.01 {
            self.downtime_ms += dt;
        }
    }

    /// A bad release's defect began to hurt at `t` (only the first onset counts).
    pub fn onset(&mut self, t: u64) {
        self.first_onset_ms.get_or_insert(t);
    }

    /// Something decided to act on the release at `t` (the first decision after the
    /// onset is the detection).
    pub fn detected(&mut self, t: u64) {
        if self.first_onset_ms.is_some() && self.first_detect_ms.is_none() {
            self.first_detect_ms = Some(t);
        }
    }

    /// The defect stopped hurting users at `t` (the bad version left the traffic, a fix
    /// served or the flag turned the code path off).
    pub fn recovered(&mut self, t: u64) {
        if self.first_onset_ms.is_some() && self.first_recover_ms.is_none() {
            self.first_recover_ms = Some(t);
        }
    }

    /// A rollback of a release (`bad` or not) started at `t`, `infra` with a fault active.
    pub fn rollback(&mut self, t: u64, bad: bool, infra: bool) {
        self.rollback_times_ms.push(t);
        let o = &mut self.out;
        o.rollbacks += 1;
        if bad {
            o.true_positive_rollbacks += 1;
        } else {
            o.false_positive_rollbacks += 1;
            if infra {
                o.misattributed_rollbacks += 1;
            }
        }
    }

    /// A rollback decision was held: a dependency's own trouble explained the signal.
    pub fn held(&mut self) {
        self.held += 1;
    }

    /// What a system's scoring needs beyond the record: when each rollback started, the
    /// first onset and recovery of a bad release, and the decisions held.
    pub fn timeline(&self) -> Timeline {
        Timeline {
            rollbacks_ms: self.rollback_times_ms.clone(),
            onset_ms: self.first_onset_ms,
            recovered_ms: self.first_recover_ms,
            held: self.held,
        }
    }

    /// When the last rollback started, if any.
    pub fn last_rollback_ms(&self) -> Option<u64> {
        self.rollback_times_ms.last().copied()
    }

    /// Rollbacks so far (what the loop guards count).
    pub fn rollbacks(&self) -> u32 {
        self.out.rollbacks
    }

    /// A page went out; `minutes` of a person's work when the human model handles it.
    pub fn paged(&mut self, minutes: Option<f64>) {
        self.out.pages += 1;
        if let Some(m) = minutes {
            self.out.human_minutes += m;
        }
    }

    /// A loop guard suppressed a rollback.
    pub fn suppressed(&mut self) {
        self.out.rollbacks_suppressed += 1;
    }

    /// A rollback across a destructive migration was refused.
    pub fn refused_unsafe(&mut self) {
        self.out.rollback_refused_unsafe += 1;
    }

    /// A fix is being rolled forward.
    pub fn rolled_forward(&mut self) {
        self.out.roll_forwards += 1;
    }

    /// The feature flag was turned off.
    pub fn flag_off(&mut self) {
        self.out.flags_off += 1;
    }

    /// The record of the run, from where `release` and the data store ended.
    pub fn finish(self, release: &Release, data: Option<&DataState>) -> RunRecord {
        let mut o = self.out;
        o.downtime_s = self.downtime_ms as f64 / 1000.0;
        o.missed_bad_release = release.bad()
            && !release.defect_off
            && release.serving()
            && release.serve_start_ms.is_some();
        if let Some(d) = data {
            o.new_format_records = d.new_format_records();
            o.unreadable_reads = d.out.unreadable_reads;
            o.corrupted_records = d.out.corrupted_records;
            o.lost_writes = d.out.lost_writes;
            if let (Some(harm), Some(seen)) = (d.out.first_harm_ms, d.out.first_visible_ms) {
                o.data_harm_detected_s = Some(seen.saturating_sub(harm) as f64 / 1000.0);
            }
        }
        o.rollback_loops = o.rollbacks.saturating_sub(1);
        if let Some(onset) = self.first_onset_ms {
            let since = |t: Option<u64>| t.map(|t| t.saturating_sub(onset) as f64 / 1000.0);
            o.time_to_detect_s = since(self.first_detect_ms);
            o.time_to_recover_s = since(self.first_recover_ms);
        }
        o
    }
}
