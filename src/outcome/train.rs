//! What one run of a release train cost one (policy, review policy) pair: the whole train
//! ([`TrainRecord`], a row of `train-runs.csv`) and each week of it ([`WeekRow`], a row
//! of `weekly.csv`).
//!
//! The DORA keys are defined as the State of DevOps reports define them, made exact for
//! the simulator (docs/scenarios.md repeats these definitions):
//! - deployment frequency: releases whose deploy started, per week of the horizon;
//! - lead time for changes: from a release's merge to its last promotion (all of
//!   production; the end of its slot if the slot ended first), over the releases in
//!   production at the slot's end;
//! - change failure rate: deployments that needed remediation (rolled back, rolled
//!   forward, flag turned off, or a bad release left serving) over deployments;
//! - failed deployment recovery time: from a bad release's onset until it stopped hurting
//!   users (`time_to_recover_s` of the release), over the failed deployments that recovered.

use serde::{Deserialize, Serialize};

/// One (run, policy, review) row of `train-runs.csv`: the whole train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TrainRecord {
    pub run: u64,
    /// The run's seed (the train's world is drawn from it).
    pub seed: u64,
    pub policy: String,
    /// The review policy the team followed.
    pub review: String,
    /// Releases merged within the horizon.
    pub releases: u32,
    /// Releases whose deploy started (within the horizon, after queue, reviews, freezes).
    pub deployments: u32,
    pub deployments_per_week: f64,
    /// Mean hours from merge to production, over releases in production; empty when none.
    pub lead_time_h: Option<f64>,
    /// Deployments that needed remediation.
    pub failed_deployments: u32,
    pub change_failure_rate: Option<f64>,
    /// Mean hours from a failed deployment's onset until users were no longer hurt.
    pub recovery_time_h: Option<f64>,
    pub rollbacks_per_week: f64,
    pub false_positive_rollbacks_per_week: f64,
    /// False-positive rollbacks decided while a fault (a latent cause) was active.
    pub misattributed_rollbacks: u32,
    /// Releases deployed while a latent cause showed.
    pub latent_shown: u32,
    /// Rolled-back releases hurt by a latent cause that had already hurt one before
    /// without being fixed: the lost insight.
    pub recurrences: u32,
    /// Latent causes found by a review and fixed.
    pub latent_fixed: u32,
    pub reviews: u32,
    pub review_hours: f64,
    /// Pages the policy sent to a human over the train.
    pub pages: u32,
    pub downtime_s_per_week: f64,
    pub failed_requests_per_week: f64,
    /// Deploy freezes started.
    pub freezes: u32,
    /// Releases still waiting at the horizon.
    pub queued_at_end: u32,
    /// Most releases waiting in the queue when a deploy started.
    pub max_queue: u32,
}

impl TrainRecord {
    /// The summarised metrics of a train, in `train-summary.csv` order, with their values.
    pub fn metrics(&self) -> [(&'static str, Option<f64>); 18] {
        [
            ("deployments_per_week", Some(self.deployments_per_week)),
            ("lead_time_h", self.lead_time_h),
            ("change_failure_rate", self.change_failure_rate),
            ("recovery_time_h", self.recovery_time_h),
            ("rollbacks_per_week", Some(self.rollbacks_per_week)),
            (
                "false_positive_rollbacks_per_week",
                Some(self.false_positive_rollbacks_per_week),
            ),
            (
                "misattributed_rollbacks",
                Some(f64::from(self.misattributed_rollbacks)),
            ),
            ("latent_shown", Some(f64::from(self.latent_shown))),
            ("recurrences", Some(f64::from(self.recurrences))),
            ("latent_fixed", Some(f64::from(self.latent_fixed))),
            ("reviews", Some(f64::from(self.reviews))),
            ("review_hours", Some(self.review_hours)),
            ("pages", Some(f64::from(self.pages))),
            ("downtime_s_per_week", Some(self.downtime_s_per_week)),
            (
                "failed_requests_per_week",
                Some(self.failed_requests_per_week),
            ),
            ("freezes", Some(f64::from(self.freezes))),
            ("queued_at_end", Some(f64::from(self.queued_at_end))),
            ("max_queue", Some(f64::from(self.max_queue))),
        ]
    }
}

/// One (run, policy, review, week) row of `weekly.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct WeekRow {
    pub run: u64,
    pub policy: String,
    pub review: String,
    /// Week of the train, from 0 (a release counts in the week its deploy started).
    pub week: u64,
    pub deployments: u32,
    pub failed_deployments: u32,
    /// Empty in a week without deployments.
    pub change_failure_rate: Option<f64>,
    pub rollbacks: u32,
    pub false_positive_rollbacks: u32,
    pub recurrences: u32,
    pub reviews: u32,
    pub review_hours: f64,
    pub downtime_s: f64,
    pub failed_requests: u64,
}

/// One (run, policy, review, service) row of `train-services.csv`, in a system's train:
/// which service's releases were deployed and rolled back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ServiceTrainRow {
    pub run: u64,
    pub policy: String,
    pub review: String,
    pub service: String,
    /// Its releases whose deploy started.
    pub deployments: u32,
    /// Its deployments that needed remediation.
    pub failed_deployments: u32,
    pub rollbacks: u32,
    /// Rollbacks of its releases that were in truth fine.
    pub false_positive_rollbacks: u32,
    /// Its releases deployed while a latent cause showed.
    pub latent_shown: u32,
}
