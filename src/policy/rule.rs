//! A policy as checked: its name, when it watches, its rule (the kind's checked
//! parameters), its rollout, what it does when the rule fires and the loop guards it wears.
//! The scenario assembles it (`scenario::policies`); the engine and the response act on it.

use super::argo::{ArgoSpec, OnInconclusive};
use super::burn_rate::BurnRateSpec;
use super::ecs::EcsSpec;
use super::flagger::FlaggerSpec;
use super::kayenta::KayentaSpec;
use super::sequential::SequentialSpec;
use super::threshold::ThresholdSpec;
use crate::check::{Action, Checkpoint, Rollout, StepGate, Strategy, UnsafeRollback, Until};

/// A named deployment policy: how the release rolls out and when it is rolled back.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicySpec {
    pub name: String,
    pub until: Until,
    pub rule: PolicyRule,
    /// The rollout this policy uses (the scenario's `[rollout]` unless overridden), so one
    /// scenario can compare canary, blue-green and all-at-once on the very same runs.
    pub rollout: Rollout,
    /// What the policy does when its rule fires.
    pub action: Action,
    /// Rollback across a destructive migration: `None` follows `[data] on_unsafe_rollback`.
    pub unsafe_rollback: Option<UnsafeRollback>,
    /// Where a human signs off.
    pub checkpoint: Checkpoint,
    /// Limits that keep automation out of rollback loops.
    pub guards: Guards,
    /// Whether `[pipeline]` retries re-deploy the release after this policy's rollback.
    /// Controllers that abort a rollout (Argo Rollouts, Flagger, a Kayenta pipeline stage,
    /// the ECS circuit breaker) do not retry the same revision, so for them the default is
    /// false; for the generic rules it is true.
    pub pipeline_retries: bool,
}

impl PolicySpec {
    /// Whether this policy may ever page the on-call human: a checkpoint, a human after
    /// the first rollback, an Argo analysis whose Inconclusive pauses the rollout, or a
    /// canary step awaiting approval. Only then do the `[human]`'s night and weekend touch
    /// its runs (a release train's slot then depends on its clock time).
    pub fn may_page(&self) -> bool {
        let approval = match &self.rollout.strategy {
            Strategy::Canary { steps } => steps.iter().any(|s| s.gate == StepGate::Approval),
            _ => false,
        };
        let pauses = matches!(&self.rule, PolicyRule::ArgoAnalysis(a)
            if a.on_inconclusive == OnInconclusive::Pause);
        self.checkpoint != Checkpoint::None
            || self.guards.human_after_first_rollback
            || pauses
            || approval
    }
}

/// Loop guards any policy can wear.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Guards {
    /// Automatic rollbacks allowed per release; later decisions are suppressed.
    pub max_auto_rollbacks: Option<u32>,
    /// After this many rollbacks the pipeline stops retrying the release (a freeze).
    pub freeze_after: Option<u32>,
    /// Each automatic retry waits this many times longer than the previous one.
    pub retry_backoff: f64,
    /// After the first automatic rollback, a human decides the next one.
    pub human_after_first_rollback: bool,
    /// In a system: hold a rollback while a dependency's rollout explains the signal (it
    /// deployed or rolled back within this window, or its observed error rate is over the
    /// SLO).
    pub hold_on_dependency_ms: Option<u64>,
    /// With `hold_on_dependency`: the longest a held rollback waits, from its first held
    /// decision, before it is carried out all the same (the dependency's trouble did not
    /// pass; Flagger rolls back a canary that made no progress within its deadline).
    /// Set whenever `hold_on_dependency_ms` is (by default to the same window).
    pub hold_at_most_ms: Option<u64>,
}

/// The decision rule of a policy.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyRule {
    /// Never rolls back.
    None,
    /// Rolls back at the true onset of a bad release plus a reaction time (the best case).
    Oracle { reaction_ms: u64 },
    /// Rolls back when an observed signal over a window stays above a limit for `for_ms`
    /// (`crate::policy::Threshold`).
    Threshold(ThresholdSpec),
    /// Rolls back after this many consecutive failed health checks.
    Consecutive { failures: u32 },
    /// Argo Rollouts AnalysisRun semantics (`crate::policy::ArgoAnalysis`).
    ArgoAnalysis(ArgoSpec),
    /// Flagger canary analysis (`crate::policy::Flagger`).
    Flagger(FlaggerSpec),
    /// Multi-window, multi-burn-rate SLO alert (`crate::policy::BurnRate`).
    BurnRate(BurnRateSpec),
    /// The ECS deployment circuit breaker (`crate::policy::EcsCircuitBreaker`).
    EcsCircuitBreaker(EcsSpec),
    /// A Kayenta canary judge (`crate::policy::Kayenta`).
    Kayenta(KayentaSpec),
    /// The anytime-valid canary judge (`crate::policy::Sequential`).
    Sequential(SequentialSpec),
}
