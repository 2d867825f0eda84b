//! Checked values both the scenario and the policy kinds hold: the rollout (which a kind
//! may shape: Flagger's traffic keys build its steps), the on-call human, duration
//! distributions, and the small choices every policy entry makes (until, action,
//! checkpoint). The scenario checks and assembles them; the policies read them.

use rand::Rng;
use rand_distr::{Distribution, Exp, LogNormal};
use serde::Deserialize;

/// How traffic moves to the new version.
#[derive(Debug, Clone, PartialEq)]
pub enum Strategy {
    /// Every replica replaced at once.
    AllAtOnce,
    /// `batch_size` replicas replaced every `batch_interval_ms`.
    Rolling {
        batch_size: u32,
        batch_interval_ms: u64,
    },
    /// Version B runs beside A without traffic for `preview_ms`, then takes all traffic at
    /// once; A is kept warm until promotion, so rollback before then is instant.
    BlueGreen { preview_ms: u64 },
    /// Traffic weights in steps, each held for its pause.
    Canary { steps: Vec<CanaryStep> },
}

/// One canary step: set the new version's traffic share, then hold it.
#[derive(Debug, Clone, PartialEq)]
pub struct CanaryStep {
    /// Share of traffic on the new version, in (0, 1].
    pub weight: f64,
    /// How long the step holds at least (with a gate: before the gate opens).
    pub pause_ms: u64,
    /// What the step waits for after its pause, besides time.
    pub gate: StepGate,
}

/// What a rollout step waits for, after its pause, before the next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StepGate {
    /// Nothing: the next step follows the pause.
    #[default]
    None,
    /// A step analysis (Argo Rollouts `steps[].analysis`): an `argo_analysis` policy starts
    /// an AnalysisRun when the pause ends, and the step completes when it is Successful.
    /// Other policies run no step analysis and ignore it.
    Analysis,
    /// A pause without a duration (Argo Rollouts `pause: {}`): the `[human]` is paged and
    /// promotes (or aborts) the rollout.
    Approval,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rollout {
    pub strategy: Strategy,
    /// Time to move all traffic back when the old version is not kept warm.
    pub rollback_duration_ms: u64,
}

/// A distribution of durations in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub enum DurationDist {
    Fixed(u64),
    Exponential { mean_ms: f64 },
    Uniform { low_ms: u64, high_ms: u64 },
    LogNormal { mu: f64, sigma: f64 },
}

impl DurationDist {
    /// Draws one duration in whole milliseconds.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        match *self {
            DurationDist::Fixed(ms) => ms,
            DurationDist::Exponential { mean_ms } => match Exp::new(1.0 / mean_ms) {
                Ok(d) => d.sample(rng).round() as u64,
                Err(_) => mean_ms as u64,
            },
            DurationDist::Uniform { low_ms, high_ms } => rng.random_range(low_ms..=high_ms),
            DurationDist::LogNormal { mu, sigma } => match LogNormal::new(mu, sigma) {
                Ok(d) => d.sample(rng).round() as u64,
                Err(_) => mu.exp() as u64,
            },
        }
    }

    /// The mean, for documentation and closed-form tests.
    pub fn mean_ms(&self) -> f64 {
        match *self {
            DurationDist::Fixed(ms) => ms as f64,
            DurationDist::Exponential { mean_ms } => mean_ms,
            DurationDist::Uniform { low_ms, high_ms } => (low_ms + high_ms) as f64 / 2.0,
            DurationDist::LogNormal { mu, sigma } => (mu + sigma * sigma / 2.0).exp(),
        }
    }
}

/// The on-call human who answers pages.
#[derive(Debug, Clone, PartialEq)]
pub struct Human {
    /// Time to acknowledge a page in daytime on a weekday with no other recent pages.
    pub ack: DurationDist,
    /// Ack time multiplier between 22:00 and 07:00.
    pub night_factor: f64,
    /// Ack time multiplier on a weekend day.
    pub weekend_factor: f64,
    pub day: Day,
    /// Probability of the right call (roll back a bad release, keep a good one), rested.
    pub right_call: f64,
    /// Each page in the last 24 h multiplies ack time and the wrong-call probability
    /// by `1 + fatigue` more (linearly: `1 + fatigue * pages`).
    pub fatigue: f64,
    /// Pages from elsewhere the same on-call person gets, per day (they tire too).
    pub background_pages_per_day: f64,
    /// Working time a page costs besides waiting (looking, deciding, writing up).
    pub handling_ms: u64,
    /// After deciding to keep a release, the human silences the alert this long.
    pub silence_ms: u64,
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

/// Whether a rollback across a destructive migration goes ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnsafeRollback {
    /// Roll back anyway; the harm is counted.
    Proceed,
    /// Refuse; the new version keeps serving.
    Refuse,
}

/// Scenario values some policies are built from (checked before the policies are).
#[derive(Debug, Clone, Copy)]
pub struct PolicyContext {
    pub scrape_interval_ms: u64,
    pub replicas: u32,
    pub slo_error_rate: f64,
    /// The policy entry has its own `rollout` table.
    pub own_rollout: bool,
}
