//! Rollout strategies as plans: the new version's traffic share over time from the start
//! of a deploy, and whether the old version stays warm for an instant rollback.

use crate::scenario::{Rollout, StepGate, Strategy};

/// One change of the new version's traffic share, `offset_ms` after the deploy starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShareStep {
    pub offset_ms: u64,
    pub share: f64,
    /// How long the step holds before the next one (for the last step: before the bake);
    /// with a gate, how long before the gate opens.
    pub hold_ms: u64,
    /// What the step waits for after its hold (a step analysis, a person).
    pub gate: StepGate,
}

/// The share changes of one deploy, in time order; the last one sets the share to 1.
pub fn plan(rollout: &Rollout, replicas: u32) -> Vec<ShareStep> {
    match &rollout.strategy {
        Strategy::AllAtOnce => vec![ShareStep {
            offset_ms: 0,
            share: 1.0,
            hold_ms: 0,
            gate: StepGate::None,
        }],
        Strategy::Rolling {
            batch_size,
            batch_interval_ms,
        } => {
            let batches = replicas.div_ceil(*batch_size);
            (1..=batches)
                .map(|k| ShareStep {
                    offset_ms: u64::from(k - 1) * batch_interval_ms,
                    share: (f64::from(k * batch_size) / f64::from(replicas)).min(1.0),
                    hold_ms: if k == batches { 0 } else { *batch_interval_ms },
                    gate: StepGate::None,
                })
                .collect()
        }
        Strategy::BlueGreen { preview_ms } => vec![ShareStep {
            offset_ms: *preview_ms,
            share: 1.0,
            hold_ms: 0,
            gate: StepGate::None,
        }],
        Strategy::Canary { steps } => {
            let mut t = 0;
            steps
                .iter()
                .map(|s| {
                    let step = ShareStep {
                        offset_ms: t,
                        share: s.weight,
                        hold_ms: s.pause_ms,
                        gate: s.gate,
                    };
                    t += s.pause_ms;
                    step
                })
                .collect()
        }
    }
}

/// Whether the old version keeps running at full size until promotion, so that a rollback
/// before promotion moves traffic back at once (canary and blue-green do; in-place
/// strategies must redeploy the old version, which takes `rollback_duration`).
pub fn keeps_old_warm(rollout: &Rollout) -> bool {
    matches!(
        rollout.strategy,
        Strategy::BlueGreen { .. } | Strategy::Canary { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse;

    fn rollout(toml: &str) -> (Rollout, u32) {
        let s = parse(toml, "t").unwrap();
        (s.rollout, s.service.replicas)
    }

    #[test]
    fn rolling_batches_step_up_to_full() {
        let (r, n) = rollout("[service]\nreplicas = 10\n[rollout]\nstrategy = \"rolling\"\nbatch_size = 4\nbatch_interval = \"1m\"\n");
        let p = plan(&r, n);
        let shares: Vec<_> = p
            .iter()
            .map(|s| (s.offset_ms, s.share, s.hold_ms))
            .collect();
        assert_eq!(
            shares,
            vec![(0, 0.4, 60_000), (60_000, 0.8, 60_000), (120_000, 1.0, 0)]
        );
        assert!(!keeps_old_warm(&r));
    }

    #[test]
    fn canary_steps_accumulate_pauses() {
        let (r, n) = rollout("[rollout]\nstrategy = \"canary\"\nsteps = [{weight = 5, pause = \"10m\"}, {weight = 50, pause = \"5m\"}, {weight = 100}]\n");
        let p = plan(&r, n);
        assert_eq!(
            p[0],
            ShareStep {
                offset_ms: 0,
                share: 0.05,
                hold_ms: 600_000,
                gate: StepGate::None,
            }
        );
        assert_eq!(
            p[1],
            ShareStep {
                offset_ms: 600_000,
                share: 0.5,
                hold_ms: 300_000,
                gate: StepGate::None,
            }
        );
        assert_eq!(
            p[2],
            ShareStep {
                offset_ms: 900_000,
                share: 1.0,
                hold_ms: 0,
                gate: StepGate::None,
            }
        );
        assert!(keeps_old_warm(&r));
    }

    #[test]
    fn blue_green_switches_after_preview() {
        let (r, n) = rollout("[rollout]\nstrategy = \"blue_green\"\npreview = \"15m\"\n");
        assert_eq!(
            plan(&r, n),
            vec![ShareStep {
                offset_ms: 900_000,
                share: 1.0,
                hold_ms: 0,
                gate: StepGate::None,
            }]
        );
    }
}
