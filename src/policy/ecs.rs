//! `ecs_circuit_breaker`: the Amazon ECS deployment circuit breaker (rolling update, `ECS`
//! deployment controller) with rollback enabled.
//!
//! # Parameters (ECS name → rollsim key, default)
//!
//! | ECS | rollsim | default |
//! |---|---|---|
//! | desired count | `service.replicas` (not a policy key) | |
//! | failure threshold | (computed) | `clamp(ceil(0.5 × desired count), 3, 200)` failed tasks |
//! | `resetOnHealthyTask` | `reset_on_healthy_task` | `true`: consecutive failures, a healthy task resets the count; `false`: cumulative since the deployment started |
//!
//! Sources: the ECS API reference `ServiceDeploymentCircuitBreaker.threshold` ("minimum
//! threshold of 3 and a maximum threshold of 200 ... 0.5 * desired task count"), the
//! Developer Guide page on how the circuit breaker detects failures (tasks replaced because
//! they failed health checks count as failures), and `ThresholdConfiguration` /
//! `resetOnHealthyTask` (default `BOUNDED_PERCENT` 50 and the consecutive model, which was
//! the only behaviour before those settings existed). Older editions of the guide gave a
//! minimum of 10; the current one (3) is used.
//!
//! # Model choice
//!
//! ECS counts tasks that fail to reach RUNNING or that are replaced after failing health
//! checks. rollsim probes the new version every `health_check.interval`; each failed probe is
//! taken as one failed (replaced) task and each passing probe as one task found healthy.
//! This makes the breaker a health-check counter with a threshold set by the service's size;
//! with the default consecutive model it equals a `consecutive` policy with `failures` set
//! to the threshold. Task start failures (stage 1) are not modelled: new tasks always start.

use super::{Consecutive, Decision, Needs, Policy};
use crate::check::PolicyContext;
use crate::policy::PolicyRule;
use serde::Deserialize;

/// An `ecs_circuit_breaker` entry's own keys.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    pub reset_on_healthy_task: Option<bool>,
}

/// The checked parameters of an `ecs_circuit_breaker` policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EcsSpec {
    /// The service's desired count (`service.replicas`).
    pub desired_count: u32,
    /// `resetOnHealthyTask`: a healthy task resets the failure count (consecutive model).
    pub reset_on_healthy_task: bool,
}

impl Raw {
    /// The checked rule; the desired count is the scenario's `service.replicas`.
    pub fn check(&self, ctx: &PolicyContext) -> PolicyRule {
        PolicyRule::EcsCircuitBreaker(EcsSpec {
            desired_count: ctx.replicas,
            reset_on_healthy_task: self.reset_on_healthy_task.unwrap_or(true),
        })
    }
}

/// The breaker's failure threshold for a desired count.
pub fn threshold(desired_count: u32) -> u32 {
    desired_count.div_ceil(2).clamp(3, 200)
}

/// Counts failed tasks (failed health checks) against the ECS threshold: a
/// [`Consecutive`] counter whose limit is set by the service's size.
#[derive(Debug, Clone)]
pub struct EcsCircuitBreaker {
    counter: Consecutive,
}

impl EcsCircuitBreaker {
    pub fn new(spec: EcsSpec) -> Self {
        EcsCircuitBreaker {
            counter: Consecutive::counting(
                threshold(spec.desired_count),
                spec.reset_on_healthy_task,
            ),
        }
    }

    /// The failure threshold in use.
    pub fn threshold(&self) -> u32 {
        self.counter.limit()
    }
}

impl Policy for EcsCircuitBreaker {
    fn needs(&self) -> Needs {
        self.counter.needs()
    }

    fn reset(&mut self) {
        self.counter.reset();
    }

    fn on_health_check(&mut self, at_ms: u64, ok: bool) -> Decision {
        self.counter.on_health_check(at_ms, ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_for_desired_counts() {
        // ceil(0.5 x n) clamped to [3, 200]
        for (desired, expected) in [
            (1, 3),
            (2, 3),
            (4, 3),
            (6, 3),
            (7, 4),
            (10, 5),
            (11, 6),
            (399, 200),
            (400, 200),
            (500, 200),
        ] {
            assert_eq!(threshold(desired), expected, "desired count {desired}");
        }
    }

    fn breaker(desired_count: u32, reset: bool) -> EcsCircuitBreaker {
        EcsCircuitBreaker::new(EcsSpec {
            desired_count,
            reset_on_healthy_task: reset,
        })
    }

    /// Index of the check at which the breaker trips.
    fn trip(p: &mut EcsCircuitBreaker, seq: &[bool]) -> Option<usize> {
        seq.iter()
            .position(|ok| p.on_health_check(0, *ok) == Decision::Rollback)
    }

    #[test]
    fn consecutive_and_cumulative_models() {
        let f = false;
        let t = true;
        // desired 10: threshold 5
        let mut c = breaker(10, true);
        assert_eq!(c.threshold(), 5);
        assert_eq!(trip(&mut c, &[f, f, f, f, t, f, f, f, f, t]), None);
        c.reset();
        assert_eq!(trip(&mut c, &[f, f, f, f, f]), Some(4));
        let mut k = breaker(10, false);
        assert_eq!(trip(&mut k, &[f, f, f, f, t, f, t]), Some(5));
        // desired 1 and 4: the minimum of 3
        assert_eq!(trip(&mut breaker(1, true), &[f, f, f]), Some(2));
        assert_eq!(trip(&mut breaker(4, true), &[f, f, t, f, f, f]), Some(5));
        // desired 500: the maximum of 200
        let mut big = breaker(500, true);
        assert_eq!(trip(&mut big, &[f; 200]), Some(199));
    }
}
