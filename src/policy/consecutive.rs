//! `consecutive`: roll back after k consecutive failed health checks, as a liveness or
//! readiness probe with `failureThreshold = k` drives a restart or a failed deploy.

use super::{Decision, Needs, Policy};
use crate::check::{at, Checker, Seg};
use crate::policy::PolicyRule;
use serde::Deserialize;

/// A `consecutive` entry's own keys.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// Failed checks in a row that roll back (default 3, like a probe's
    /// `failureThreshold`).
    pub failures: Option<i64>,
}

impl Raw {
    /// The checked rule: 1 to 10,000 failures.
    pub fn check(&self, c: &mut Checker, path: &[Seg]) -> PolicyRule {
        let failures = c.int(
            at(path, "failures"),
            "failures",
            self.failures,
            3,
            1,
            10_000,
        );
        PolicyRule::Consecutive {
            failures: failures as u32,
        }
    }
}

/// Counts failed health checks up to a limit; a success resets the count unless the count
/// is cumulative (the ECS breaker's `resetOnHealthyTask = false` counts that way).
#[derive(Debug, Clone)]
pub struct Consecutive {
    failures: u32,
    reset_on_success: bool,
    run: u32,
}

impl Consecutive {
    /// A policy that rolls back at the `failures`-th failure in a row.
    pub fn new(failures: u32) -> Self {
        Self::counting(failures, true)
    }

    /// Rolls back at the `failures`-th failure, in a row or (without `reset_on_success`)
    /// since the deploy.
    pub fn counting(failures: u32, reset_on_success: bool) -> Self {
        Consecutive {
            failures,
            reset_on_success,
            run: 0,
        }
    }

    /// The number of failures that rolls back.
    pub fn limit(&self) -> u32 {
        self.failures
    }
}

impl Policy for Consecutive {
    fn needs(&self) -> Needs {
        Needs {
            health_checks: true,
            ..Needs::default()
        }
    }
    fn reset(&mut self) {
        self.run = 0;
    }
    fn on_health_check(&mut self, _at_ms: u64, ok: bool) -> Decision {
        if ok {
            if self.reset_on_success {
                self.run = 0;
            }
            return Decision::Continue;
        }
        self.run += 1;
        if self.run >= self.failures {
            Decision::Rollback
        } else {
            Decision::Continue
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolls_back_on_the_kth_failure_in_a_row_only() {
        let mut p = Consecutive::new(3);
        let seq = [false, false, true, false, false, true, false, false, false];
        let got: Vec<_> = seq.iter().map(|&ok| p.on_health_check(0, ok)).collect();
        assert_eq!(got.iter().filter(|d| **d == Decision::Rollback).count(), 1);
        assert_eq!(got[8], Decision::Rollback);
        p.reset();
        assert_eq!(p.on_health_check(0, false), Decision::Continue);
    }
}
