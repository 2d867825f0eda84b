//! The policy kinds as a tagged union: `kind = "..."` picks one module of `crate::policy`,
//! whose raw form takes the entry's other keys and whose `check` turns them into the
//! checked rule. Adding a kind is adding a module and one line in each `match` here.
//!
//! Keys every policy takes (`name`, `until`, `rollout`, loop guards, ...) are read by the
//! scenario (`scenario::policies`); this module sees only the kind's own keys.

use super::{argo, burn_rate, consecutive, ecs, flagger, kayenta, oracle, sequential, threshold};
use crate::check::{fields_of, Checker, PolicyContext, Rollout, Seg, Until};
use crate::policy::PolicyRule;
use serde::{Deserialize, Deserializer};

/// The value of a policy's `kind` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyKind {
    None,
    Oracle,
    Threshold,
    Consecutive,
    ArgoAnalysis,
    Flagger,
    BurnRate,
    EcsCircuitBreaker,
    Kayenta,
    Sequential,
}

/// The parameters of `none`: there are none.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// A policy's kind with its own keys as written (after the kind's serde checks).
#[derive(Debug, Clone, PartialEq)]
pub enum RawRule {
    None(NoParams),
    Oracle(oracle::Raw),
    Threshold(threshold::Raw),
    Consecutive(consecutive::Raw),
    ArgoAnalysis(argo::Raw),
    Flagger(flagger::Raw),
    BurnRate(burn_rate::Raw),
    EcsCircuitBreaker(ecs::Raw),
    Kayenta(kayenta::Raw),
    Sequential(sequential::Raw),
}

/// What checking a kind's keys gives: the rule and the kind's defaults for common keys.
#[derive(Debug, Clone)]
pub struct Checked {
    pub rule: PolicyRule,
    /// When the policy stops watching unless `until` says otherwise.
    pub until: Until,
    /// Whether `[pipeline]` retries follow this kind's rollback unless `pipeline_retries`
    /// says otherwise: controllers that abort a rollout do not retry the same revision.
    pub pipeline_retries: bool,
}

impl PolicyKind {
    /// Every kind, in the order the documentation lists them.
    pub const ALL: [PolicyKind; 10] = [
        PolicyKind::None,
        PolicyKind::Oracle,
        PolicyKind::Threshold,
        PolicyKind::Consecutive,
        PolicyKind::ArgoAnalysis,
        PolicyKind::Flagger,
        PolicyKind::BurnRate,
        PolicyKind::EcsCircuitBreaker,
        PolicyKind::Kayenta,
        PolicyKind::Sequential,
    ];

    /// The name written in `kind = "..."`.
    pub fn name(self) -> &'static str {
        match self {
            PolicyKind::None => "none",
            PolicyKind::Oracle => "oracle",
            PolicyKind::Threshold => "threshold",
            PolicyKind::Consecutive => "consecutive",
            PolicyKind::ArgoAnalysis => "argo_analysis",
            PolicyKind::Flagger => "flagger",
            PolicyKind::BurnRate => "burn_rate",
            PolicyKind::EcsCircuitBreaker => "ecs_circuit_breaker",
            PolicyKind::Kayenta => "kayenta",
            PolicyKind::Sequential => "sequential",
        }
    }

    /// The kind's own keys, read from its raw form's serde fields (no list kept by hand).
    pub fn keys(self) -> &'static [&'static str] {
        match self {
            PolicyKind::None => fields_of::<NoParams>(),
            PolicyKind::Oracle => fields_of::<oracle::Raw>(),
            PolicyKind::Threshold => fields_of::<threshold::Raw>(),
            PolicyKind::Consecutive => fields_of::<consecutive::Raw>(),
            PolicyKind::ArgoAnalysis => fields_of::<argo::Raw>(),
            PolicyKind::Flagger => fields_of::<flagger::Raw>(),
            PolicyKind::BurnRate => fields_of::<burn_rate::Raw>(),
            PolicyKind::EcsCircuitBreaker => fields_of::<ecs::Raw>(),
            PolicyKind::Kayenta => fields_of::<kayenta::Raw>(),
            PolicyKind::Sequential => fields_of::<sequential::Raw>(),
        }
    }

    /// Reads the kind's keys (a table holding only those) into its raw form.
    pub fn read<'de, D: Deserializer<'de>>(self, d: D) -> Result<RawRule, D::Error> {
        Ok(match self {
            PolicyKind::None => RawRule::None(NoParams::deserialize(d)?),
            PolicyKind::Oracle => RawRule::Oracle(oracle::Raw::deserialize(d)?),
            PolicyKind::Threshold => RawRule::Threshold(threshold::Raw::deserialize(d)?),
            PolicyKind::Consecutive => RawRule::Consecutive(consecutive::Raw::deserialize(d)?),
            PolicyKind::ArgoAnalysis => RawRule::ArgoAnalysis(argo::Raw::deserialize(d)?),
            PolicyKind::Flagger => RawRule::Flagger(flagger::Raw::deserialize(d)?),
            PolicyKind::BurnRate => RawRule::BurnRate(burn_rate::Raw::deserialize(d)?),
            PolicyKind::EcsCircuitBreaker => RawRule::EcsCircuitBreaker(ecs::Raw::deserialize(d)?),
            PolicyKind::Kayenta => RawRule::Kayenta(kayenta::Raw::deserialize(d)?),
            PolicyKind::Sequential => RawRule::Sequential(sequential::Raw::deserialize(d)?),
        })
    }
}

impl RawRule {
    /// Checks the kind's parameters at `path`; `rollout` is the policy's rollout, which a
    /// kind may shape (Flagger's traffic keys build the steps, an Argo analysis gates the
    /// steps marked `analysis = true`).
    pub fn check(
        &self,
        c: &mut Checker,
        path: &[Seg],
        ctx: &PolicyContext,
        rollout: &mut Rollout,
    ) -> Checked {
        let (rule, until, pipeline_retries) = match self {
            RawRule::None(_) => (PolicyRule::None, Until::End, true),
            RawRule::Oracle(r) => (r.check(), Until::End, true),
            RawRule::Threshold(r) => (r.check(c, path), Until::Promoted, true),
            RawRule::Consecutive(r) => (r.check(c, path), Until::Promoted, true),
            RawRule::ArgoAnalysis(r) => (r.check(c, path, rollout), Until::Promoted, false),
            RawRule::Flagger(r) => (
                r.check(c, path, ctx.own_rollout, rollout),
                Until::Promoted,
                false,
            ),
            RawRule::BurnRate(r) => (r.check(c, path, ctx), Until::End, true),
            RawRule::EcsCircuitBreaker(r) => (r.check(ctx), Until::Promoted, false),
            RawRule::Kayenta(r) => (r.check(c, path), Until::Promoted, false),
            RawRule::Sequential(r) => (r.check(c, path), Until::Promoted, false),
        };
        Checked {
            rule,
            until,
            pipeline_retries,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_lists_its_keys_from_its_raw_form() {
        assert!(PolicyKind::None.keys().is_empty());
        assert_eq!(PolicyKind::Consecutive.keys(), ["failures"]);
        assert_eq!(
            PolicyKind::EcsCircuitBreaker.keys(),
            ["reset_on_healthy_task"]
        );
        assert!(PolicyKind::Threshold.keys().contains(&"for"));
        // Names round-trip through serde, so `name` is what a scenario writes.
        for k in PolicyKind::ALL {
            let back: PolicyKind =
                serde::Deserialize::deserialize(serde::de::value::StrDeserializer::<
                    serde::de::value::Error,
                >::new(k.name()))
                .expect("kind name");
            assert_eq!(back, k);
        }
    }
}
