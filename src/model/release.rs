//! A release: one new version of one service, with its deploy attempts and where its
//! rollout stands (the rollout state machine). It is a value the engine holds in a
//! collection, so a release train adds releases without touching the loop.
//!
//! The state machine only moves traffic and schedules its own next steps; what a policy,
//! a person or the pipeline decides arrives through the response stage.

use super::rollout::{keeps_old_warm, plan, ShareStep};
use crate::scenario::{Rollout, StepGate};
use crate::sim::agenda::{Agenda, Event};

/// Where the new version stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Only the old version runs (before the deploy, or after a completed rollback).
    Idle,
    /// Traffic is moving to the new version.
    Rolling,
    /// At 100%, watched for the bake time.
    Baking,
    /// Done; the old version is gone.
    Promoted,
    /// Traffic is moving back to the old version.
    RollingBack,
}

/// What a release is, fixed for the run.
#[derive(Debug, Clone)]
pub struct ReleaseSpec {
    /// The service the release rolls out on (its index in the engine's services).
    pub service: usize,
    /// The truth: whether the new version is bad.
    pub bad: bool,
    /// Whether every step but the last waits for the policy's `Advance`.
    pub gates_every_step: bool,
    /// Whether the policy's `Advance` leaves a step with no gate of its own before its hold
    /// ends (a judge that has seen enough: the sequential judge's `promote_early`).
    pub passes_early: bool,
    /// Hold at 100% before the promotion.
    pub bake_ms: u64,
    /// When the oracle bound rolls a bad release back, after it begins to serve.
    pub oracle_after_ms: Option<u64>,
    /// Migrations that start after the first promotion: (delay, migration index).
    pub after_promotion: Vec<(u64, usize)>,
}

/// The policy's rollout reached a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepReached {
    /// When the step's analysis gate opens (its hold ended); `None` without one.
    pub analysis_at_ms: Option<u64>,
}

/// One release and its rollout.
#[derive(Debug, Clone)]
pub struct Release {
    /// Its index in the engine's releases (its events carry it).
    pub index: usize,
    spec: ReleaseSpec,
    /// The rollout as share steps, and whether it keeps the old version warm.
    plan: Vec<ShareStep>,
    warm: bool,
    rollback_duration_ms: u64,
    /// Where the new version stands.
    pub phase: Phase,
    /// Deploys started so far.
    pub attempt: u32,
    /// Share of the service's traffic on the new version.
    pub share: f64,
    /// Linear move of the share back to 0: (start time, start share, end time).
    ramp: Option<(u64, f64, u64)>,
    /// When the current deploy first served traffic.
    pub serve_start_ms: Option<u64>,
    /// The defect is gone for good: a fix was rolled forward or the flag turned off.
    pub defect_off: bool,
    /// The new code path is off: the new version writes the old format.
    pub flag_off: bool,
    /// A fix was rolled forward (the flag no longer matters to the defect).
    pub fixed: bool,
    promoted_once: bool,
    /// When it was last promoted (reached all of production), if it was.
    pub promoted_ms: Option<u64>,
    /// The rollout's current plan step, when it started (for pause and resume) and how
    /// long it holds (its plan's hold, cut short when it passed early).
    step: usize,
    step_at: u64,
    hold_ms: u64,
    /// Bumped by a pause: plan events of an older epoch are void.
    epoch: u32,
    /// When the rollout paused, while it is paused.
    pub paused_at: Option<u64>,
    /// A promotion waits for the human's sign-off.
    pub awaiting_signoff: bool,
    /// The current step is gated and waits for the policy's `Advance` (or a person).
    pub awaiting_advance: bool,
}

impl Release {
    /// A release not deployed yet, rolled out by `rollout` over `replicas` replicas.
    pub fn new(index: usize, spec: ReleaseSpec, rollout: &Rollout, replicas: u32) -> Self {
        Release {
            index,
            spec,
            plan: plan(rollout, replicas),
            warm: keeps_old_warm(rollout),
            rollback_duration_ms: rollout.rollback_duration_ms,
            phase: Phase::Idle,
            attempt: 0,
            share: 0.0,
            ramp: None,
            serve_start_ms: None,
            defect_off: false,
            flag_off: false,
            fixed: false,
            promoted_once: false,
            promoted_ms: None,
            step: 0,
            step_at: 0,
            hold_ms: 0,
            epoch: 0,
            paused_at: None,
            awaiting_signoff: false,
            awaiting_advance: false,
        }
    }

    /// The service it rolls out on.
    pub fn service(&self) -> usize {
        self.spec.service
    }

    /// The truth: whether the new version is bad.
    pub fn bad(&self) -> bool {
        self.spec.bad
    }

    /// Whether the new version serves (or may serve) traffic.
    pub fn serving(&self) -> bool {
        matches!(self.phase, Phase::Rolling | Phase::Baking | Phase::Promoted)
    }

    /// Whether the rollout is in progress (not yet promoted).
    pub fn rolling(&self) -> bool {
        matches!(self.phase, Phase::Rolling | Phase::Baking)
    }

    /// Whether the new version's replicas exist (it can be probed and scraped).
    pub fn exists(&self) -> bool {
        self.phase != Phase::Idle
    }

    /// Whether an event of (`attempt`, `epoch`) still concerns the rollout.
    pub fn current(&self, attempt: u32, epoch: u32) -> bool {
        attempt == self.attempt && epoch == self.epoch
    }

    /// The rollout's epoch: bumped by a pause, which voids the steps scheduled before.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The gate of the current step.
    pub fn gate(&self) -> StepGate {
        self.plan[self.step].gate
    }

    /// A deploy attempt starts at `t`; returns whether it is the first.
    pub fn deploy(&mut self, t: u64, agenda: &mut Agenda) -> bool {
        self.attempt += 1;
        let attempt = self.attempt;
        agenda.note(t, "deploy", || format!("attempt {attempt}"));
        self.phase = Phase::Rolling;
        self.share = 0.0;
        self.ramp = None;
        self.serve_start_ms = None;
        self.awaiting_signoff = false;
        self.paused_at = None;
        self.schedule_plan(t, agenda);
        attempt == 1
    }

    /// Whether leaving `step` waits for more than its hold: its own gate, or a policy that
    /// gates every step but the last (the promotion).
    fn gated(&self, step: usize) -> bool {
        self.plan[step].gate != StepGate::None
            || (step + 1 < self.plan.len() && self.spec.gates_every_step)
    }

    /// Whether any step is gated, or a step may pass early: then each step schedules the
    /// next when it is reached.
    fn chained(&self) -> bool {
        self.spec.passes_early || (0..self.plan.len()).any(|k| self.gated(k))
    }

    /// Schedules traffic step `step` of the current deploy (and epoch) at `at`.
    fn push_share(&self, at: u64, step: usize, agenda: &mut Agenda) {
        agenda.at(
            at,
            Event::Share {
                release: self.index,
                attempt: self.attempt,
                epoch: self.epoch,
                step,
            },
        );
    }

    fn push_promote(&self, at: u64, agenda: &mut Agenda) {
        agenda.at(
            at,
            Event::Promote {
                release: self.index,
                attempt: self.attempt,
                epoch: self.epoch,
            },
        );
    }

    fn push_approval(&self, at: u64, agenda: &mut Agenda) {
        agenda.at(
            at,
            Event::ApprovalDue {
                release: self.index,
                attempt: self.attempt,
                epoch: self.epoch,
            },
        );
    }

    /// Schedules every traffic step of the plan from the deploy at `t`; with a gated step,
    /// only the first (each step then schedules the next, see [`Self::share_step`]).
    fn schedule_plan(&mut self, t: u64, agenda: &mut Agenda) {
        self.awaiting_advance = false;
        let steps = if self.chained() { 1 } else { self.plan.len() };
        for step in 0..steps {
            self.push_share(t + self.plan[step].offset_ms, step, agenda);
        }
    }

    /// Whether the rollout can pause now (it rolls and is not paused already).
    pub fn can_pause(&self) -> bool {
        self.paused_at.is_none() && self.rolling()
    }

    /// The rollout stops where it is: the steps scheduled before are void.
    pub fn hold(&mut self, t: u64) {
        self.paused_at = Some(t);
        self.epoch += 1;
    }

    /// The rollout goes on from where it paused, with the time its step had already held.
    /// `None` when it was not paused; `Some(true)` when the current step's analysis starts
    /// again (a new AnalysisRun: rollout/analysis.go, needsNewAnalysisRun).
    pub fn resume(&mut self, t: u64, agenda: &mut Agenda) -> Option<bool> {
        let paused = self.paused_at.take()?;
        agenda.note(t, "resume", String::new);
        let elapsed = paused.saturating_sub(self.step_at);
        self.step_at = t - elapsed.min(t);
        let step = self.plan[self.step];
        if self.awaiting_advance {
            if step.gate == StepGate::Approval {
                // The pause voided the approval's page if it was still to come.
                self.push_approval(t + step.hold_ms.saturating_sub(elapsed), agenda);
            }
            return Some(step.gate == StepGate::Analysis);
        }
        let chained = self.chained();
        match self.phase {
            Phase::Rolling if chained => {
                let hold = self.hold_ms.saturating_sub(elapsed);
                self.push_share(t + hold, self.step + 1, agenda);
            }
            Phase::Rolling => {
                for next in self.step + 1..self.plan.len() {
                    let wait = (self.plan[next].offset_ms - step.offset_ms).saturating_sub(elapsed);
                    self.push_share(t + wait, next, agenda);
                }
            }
            Phase::Baking => {
                let hold = self.hold_ms + self.spec.bake_ms;
                self.push_promote(t + hold.saturating_sub(elapsed), agenda);
            }
            _ => {}
        }
        Some(false)
    }

    /// Traffic step `step` of deploy `attempt` is due at `t`; `None` when it is void.
    pub fn share_step(
        &mut self,
        t: u64,
        attempt: u32,
        step: usize,
        agenda: &mut Agenda,
    ) -> Option<StepReached> {
        if attempt != self.attempt || self.phase != Phase::Rolling {
            return None;
        }
        self.share = self.plan[step].share;
        self.step = step;
        self.step_at = t;
        self.hold_ms = self.plan[step].hold_ms;
        let share = self.share;
        agenda.note(t, "share", || {
            format!("{:.0}% to the new version", share * 100.0)
        });
        if self.share > 0.0 && self.serve_start_ms.is_none() {
            self.serve_start_ms = Some(t);
            if let Some(after) = self.spec.oracle_after_ms {
                let (release, attempt) = (self.index, self.attempt);
                agenda.at(t + after, Event::Oracle { release, attempt });
            }
        }
        let hold = self.plan[step].hold_ms;
        let last = step + 1 == self.plan.len();
        if last {
            self.phase = Phase::Baking;
        }
        let gate = self.plan[step].gate;
        self.awaiting_advance = self.gated(step);
        if self.awaiting_advance {
            if gate == StepGate::Approval {
                self.push_approval(t + hold, agenda);
            }
        } else if last {
            // The last step's pause holds at 100% before the bake.
            self.push_promote(t + hold + self.spec.bake_ms, agenda);
        } else if self.chained() {
            self.push_share(t + hold, step + 1, agenda);
        }
        Some(StepReached {
            analysis_at_ms: (gate == StepGate::Analysis).then_some(t + hold),
        })
    }

    /// The current step passed (the policy's `Advance`, or a person) at `t`: the next step
    /// follows once the step has held its pause; after the last step, the bake. A gated
    /// step waits for this; a step with no gate of its own passes early (before its hold
    /// ends, voiding the next step scheduled at the end of the hold) when the policy may
    /// pass steps early ([`ReleaseSpec::passes_early`]); otherwise it is ignored. Returns
    /// the step reached at once, if any.
    pub fn step_passed(&mut self, t: u64, agenda: &mut Agenda) -> Option<StepReached> {
        if self.paused_at.is_some() {
            return None;
        }
        let hold_end = self.step_at + self.hold_ms;
        let early = self.spec.passes_early
            && self.rolling()
            && self.gate() == StepGate::None
            && t < hold_end;
        if !self.awaiting_advance && !early {
            return None;
        }
        self.awaiting_advance = false;
        let at = if early {
            self.epoch += 1; // voids the next step (or the promotion) due at the hold's end
            self.hold_ms = t - self.step_at;
            t
        } else {
            t.max(hold_end)
        };
        agenda.note(t, "step_passed", || {
            if early {
                "before the end of its hold".into()
            } else {
                String::new()
            }
        });
        match self.phase {
            // At once when the hold is over, so this tick's traffic has the new share.
            Phase::Rolling if at == t => self.share_step(t, self.attempt, self.step + 1, agenda),
            Phase::Rolling => {
                self.push_share(at, self.step + 1, agenda);
                None
            }
            Phase::Baking => {
                self.push_promote(at + self.spec.bake_ms, agenda);
                None
            }
            _ => None,
        }
    }

    /// Every remaining step is skipped (a team's `promote`): all traffic to the new version.
    pub fn skip_steps(&mut self, t: u64, agenda: &mut Agenda) {
        self.epoch += 1; // voids the remaining steps
        self.paused_at = None;
        self.awaiting_advance = false;
        self.awaiting_signoff = false;
        if self.share < 1.0 {
            self.share = 1.0;
            self.serve_start_ms.get_or_insert(t);
            agenda.note(t, "share", || "100% to the new version".into());
        }
    }

    /// Promoted: the old version is gone. The first promotion starts the migrations that
    /// wait for it.
    pub fn promote(&mut self, t: u64, agenda: &mut Agenda) {
        self.phase = Phase::Promoted;
        self.promoted_ms = Some(t);
        agenda.note(t, "promote", String::new);
        if self.promoted_once {
            return;
        }
        self.promoted_once = true;
        let service = self.spec.service;
        for &(delay_ms, migration) in &self.spec.after_promotion {
            agenda.at(t + delay_ms, Event::Migration { service, migration });
        }
    }

    /// Traffic starts moving back to the old version at `t`; returns whether it is back
    /// already (a warm old version before promotion, an instant rollback, no traffic).
    pub fn begin_rollback(&mut self, t: u64, agenda: &mut Agenda) -> bool {
        let instant = self.warm && self.phase != Phase::Promoted;
        self.phase = Phase::RollingBack;
        let duration = self.rollback_duration_ms;
        if instant || duration == 0 || self.share == 0.0 {
            return true;
        }
        self.ramp = Some((t, self.share, t + duration));
        let (release, attempt) = (self.index, self.attempt);
        agenda.at(t + duration, Event::RollbackDone { release, attempt });
        false
    }

    /// Every request is back on the old version.
    pub fn rolled_back(&mut self, t: u64, agenda: &mut Agenda) {
        agenda.note(t, "rollback_done", String::new);
        self.phase = Phase::Idle;
        self.share = 0.0;
        self.ramp = None;
        self.serve_start_ms = None;
    }

    /// Whether the share is moving back to 0 (a gradual rollback): it changes every tick.
    #[inline]
    pub fn ramping(&self) -> bool {
        self.ramp.is_some()
    }

    /// The share at `t`, moved along a gradual rollback.
    pub fn update_share(&mut self, t: u64) -> f64 {
        if let Some((t0, s0, t1)) = self.ramp {
            self.share = s0 * (1.0 - (t - t0) as f64 / (t1 - t0) as f64).max(0.0);
        }
        self.share
    }

    /// The defect stops for good (a fix serves, or the flag turned the code path off);
    /// returns whether it was still on.
    pub fn remove_defect(&mut self) -> bool {
        !std::mem::replace(&mut self.defect_off, true)
    }

    /// The time since the current deploy began to serve, while the defect of a bad
    /// release can act (it serves and the defect is on).
    pub fn defect_age_ms(&self, t: u64) -> Option<u64> {
        match self.serve_start_ms {
            Some(start) if self.spec.bad && self.share > 0.0 && !self.defect_off => Some(t - start),
            _ => None,
        }
    }
}
