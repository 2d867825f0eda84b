//! `[rollout]` and a policy's own `rollout`: the strategy and its keys, canary steps and
//! their gates.

use super::raw::*;
use super::span::Seg;
use super::{CanaryStep, Rollout, StepGate, Strategy};
use crate::check::{at, idx, Checker};

/// A policy's rollout on top of the scenario's: keys the policy leaves out come from
/// `[rollout]` (strategy-specific keys only when the strategy is the same).
pub(super) fn merged(base: &RawRollout, over: &RawRollout) -> RawRollout {
    let same = over.strategy.is_none() || over.strategy == base.strategy;
    fn inherit<T: Clone>(same: bool, o: &Option<T>, b: &Option<T>) -> Option<T> {
        o.clone().or(if same { b.clone() } else { None })
    }
    RawRollout {
        strategy: over.strategy.or(base.strategy),
        steps: inherit(same, &over.steps, &base.steps),
        batch_size: inherit(same, &over.batch_size, &base.batch_size),
        batch_interval: inherit(same, &over.batch_interval, &base.batch_interval),
        preview: inherit(same, &over.preview, &base.preview),
        rollback_duration: over.rollback_duration.or(base.rollback_duration),
    }
}

pub(super) fn check_rollout(
    c: &mut Checker,
    ro: &[Seg],
    rro: &RawRollout,
    replicas: u32,
) -> Rollout {
    let ro = ro.to_vec();
    let strategy_name = rro.strategy.unwrap_or(StrategyName::AllAtOnce);
    let set = [
        ("steps", rro.steps.is_some()),
        ("batch_size", rro.batch_size.is_some()),
        ("batch_interval", rro.batch_interval.is_some()),
        ("preview", rro.preview.is_some()),
    ];
    let strategy = match strategy_name {
        StrategyName::AllAtOnce => {
            c.only(&ro, "all_at_once", &set, &[]);
            Strategy::AllAtOnce
        }
        StrategyName::Rolling => {
            c.only(&ro, "rolling", &set, &["batch_size", "batch_interval"]);
            let default_batch = u64::from(replicas).div_ceil(4);
            Strategy::Rolling {
                batch_size: c.int(
                    at(&ro, "batch_size"),
                    "rollout.batch_size",
                    rro.batch_size,
                    default_batch,
                    1,
                    u64::from(replicas),
                ) as u32,
                batch_interval_ms: c.positive(
                    at(&ro, "batch_interval"),
                    "rollout.batch_interval",
                    rro.batch_interval,
                    120_000,
                ),
            }
        }
        StrategyName::BlueGreen => {
            c.only(&ro, "blue_green", &set, &["preview"]);
            Strategy::BlueGreen {
                preview_ms: rro.preview.map(|d| d.0).unwrap_or(10 * 60_000),
            }
        }
        StrategyName::Canary => {
            c.only(&ro, "canary", &set, &["steps"]);
            let steps = match &rro.steps {
                None => vec![
                    CanaryStep {
                        weight: 0.1,
                        pause_ms: 10 * 60_000,
                        gate: StepGate::None,
                    },
                    CanaryStep {
                        weight: 0.5,
                        pause_ms: 10 * 60_000,
                        gate: StepGate::None,
                    },
                    CanaryStep {
                        weight: 1.0,
                        pause_ms: 0,
                        gate: StepGate::None,
                    },
                ],
                Some(steps) => canary_steps(c, &at(&ro, "steps"), steps),
            };
            Strategy::Canary { steps }
        }
    };
    Rollout {
        strategy,
        rollback_duration_ms: rro.rollback_duration.map(|d| d.0).unwrap_or(120_000),
    }
}

fn canary_steps(c: &mut Checker, path: &[Seg], steps: &[RawCanaryStep]) -> Vec<CanaryStep> {
    let mut out = Vec::with_capacity(steps.len());
    let mut last = 0.0;
    for (i, s) in steps.iter().enumerate() {
        let p = idx(path, i);
        if !(s.weight > 0.0 && s.weight <= 100.0) {
            c.fail(
                at(&p, "weight"),
                format!(
                    "canary weight {} is out of range; expected a percentage in (0, 100]",
                    s.weight
                ),
            );
        } else if s.weight <= last {
            c.fail(at(&p, "weight"), format!("canary weight {} does not increase (previous step is {last}); expected increasing weights", s.weight));
        }
        last = s.weight;
        let gate = match (s.analysis == Some(true), s.approval == Some(true)) {
            (false, false) => StepGate::None,
            (true, false) => StepGate::Analysis,
            (false, true) => StepGate::Approval,
            (true, true) => {
                c.fail(
                    at(&p, "approval"),
                    "a step waits for one gate; expected `analysis = true` or `approval = true`, not both (use two steps)",
                );
                StepGate::None
            }
        };
        out.push(CanaryStep {
            weight: s.weight / 100.0,
            pause_ms: s.pause.map(|d| d.0).unwrap_or(0),
            gate,
        });
    }
    match steps.last() {
        None => c.fail(
            path.to_vec(),
            "canary steps are empty; expected steps whose weights reach 100",
        ),
        Some(s) if s.weight != 100.0 => c.fail(
            at(&idx(path, steps.len() - 1), "weight"),
            format!(
                "canary weights must reach 100; the last step sets {}",
                s.weight
            ),
        ),
        _ => {}
    }
    out
}
