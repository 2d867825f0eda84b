//! The response: what becomes of a policy's decision. A rollback, a roll forward or a
//! flag turned off; a pause; a page to a human (the human model, or the team in a game
//! day) and what the human answers; the loop guards (suppressed rollbacks, frozen
//! retries, back-off) and the pipeline's retry.
//!
//! The policy lives here: the engine hands it observations through [`Response`] and the
//! decisions come back as changes to the release (the model's state machine) and counts
//! for the scorer. The truth is read in two places only, as in reality: the human's call
//! (right with the human model's probability) and the oracle bound's schedule.

mod hold;
pub mod team;

use crate::model::release::{Phase, Release, StepReached};
use crate::model::service::Service;
use crate::outcome::Scorer;
use crate::policy::human::HumanModel;
use crate::policy::{self, Decision, Needs, Policy, Scrape};
use crate::scenario::{Action, Checkpoint, Day, PolicySpec, Scenario, UnsafeRollback, Until};
use crate::sim::agenda::{Agenda, Ask, Event};
use crate::sim::command::Applied;
use crate::sim::rng::{stream, Stream, StreamRng};
use hold::{Holding, Source};
use rand::Rng;
use team::Pager;

/// What a response acts on: one release, its service, the scorer and the agenda.
pub struct Run<'r, 'a, 'w> {
    pub release: &'r mut Release,
    pub service: &'r mut Service<'a, 'w>,
    pub scorer: &'r mut Scorer,
    pub agenda: &'r mut Agenda,
}

impl<'a, 'w> Run<'_, 'a, 'w> {
    /// The same run, lent for one call.
    fn reborrow(&mut self) -> Run<'_, 'a, 'w> {
        Run {
            release: &mut *self.release,
            service: &mut *self.service,
            scorer: &mut *self.scorer,
            agenda: &mut *self.agenda,
        }
    }
}

/// The policy of one replication and everything that acts on its decisions.
pub struct Response<'a> {
    scenario: &'a Scenario,
    spec: &'a PolicySpec,
    policy: Box<dyn Policy>,
    /// The on-call human (drawn per run: weekday or weekend, background pages).
    human: HumanModel<'a>,
    /// In a game day, pages go to the team instead of the human model.
    team: Option<Pager>,
    /// The policy has acted on the current deploy (it watches no more until the next).
    acted: bool,
    /// After keeping a release, the human silences the alert until then.
    silenced_until: u64,
    /// In a system, with `hold_on_dependency`: a dependency's own trouble explains the
    /// signal now (set by the engine from observed dependency health), so a rollback
    /// decision is held instead of acted on.
    pub held: bool,
    /// The rollback decision held now, if any (see `hold.rs`).
    holding: Option<Holding>,
    human_rng: StreamRng,
    recovery: StreamRng,
    pipeline: StreamRng,
}

/// The human of a run: the day, and the background pages of the day before and of the
/// run itself, all from the human stream (the same for every policy of the run).
fn draw_human<'a>(s: &'a Scenario, rng: &mut StreamRng) -> HumanModel<'a> {
    let h = &s.human;
    let weekend = match h.day {
        Day::Weekday => false,
        Day::Weekend => true,
        Day::Random => rng.random::<f64>() < 2.0 / 7.0,
    };
    let mut background = Vec::new();
    if h.background_pages_per_day > 0.0 {
        if let Ok(gap) = rand_distr::Exp::new(h.background_pages_per_day / 86_400_000.0) {
            let mut t = -86_400_000.0;
            loop {
                t += rand_distr::Distribution::<f64>::sample(&gap, rng);
                if t >= s.duration_ms as f64 {
                    break;
                }
                background.push(t as i64);
            }
        }
    }
    HumanModel::new(h, weekend, background)
}

impl<'a> Response<'a> {
    /// The response of `spec` in the run whose seed is `seed`; with `team`, pages go to a
    /// game day's team.
    pub fn new(seed: u64, scenario: &'a Scenario, spec: &'a PolicySpec, team: bool) -> Self {
        let mut human_rng = stream(seed, Stream::Human);
        let human = draw_human(scenario, &mut human_rng);
        Response {
            scenario,
            spec,
            policy: policy::build(spec),
            human,
            team: team.then(Pager::default),
            acted: false,
            silenced_until: 0,
            held: false,
            holding: None,
            human_rng,
            recovery: stream(seed, Stream::Recovery),
            pipeline: stream(seed, Stream::Pipeline),
        }
    }

    /// The observations the policy reads.
    pub fn needs(&self) -> Needs {
        self.policy.needs()
    }

    /// Whether every rollout step but the last waits for the policy's `Advance`.
    pub fn gates_every_step(&self) -> bool {
        self.policy.gates_every_step()
    }

    /// Whether the policy's `Advance` passes a step before its hold ends.
    pub fn passes_steps_early(&self) -> bool {
        self.policy.passes_steps_early()
    }

    /// The pages sent to the team (empty outside a game day).
    pub fn pages(&self) -> &[team::LivePage] {
        self.team.as_ref().map_or(&[], |p| &p.pages)
    }

    /// Whether the policy reads any observation at all (scrapes, health checks or
    /// gauges). A passive policy (`none`, `oracle`) watches all run long but sees nothing:
    /// the oracle acts at a queued event, so a stretch no event interrupts is one nothing
    /// of it can observe (see the engine's fast-forward).
    pub fn observes(&self) -> bool {
        let n = self.policy.needs();
        n.scrapes || n.latency || n.health_checks || n.gauges
    }

    /// Whether the policy is watching the new version of `release` now.
    pub fn watching(&self, release: &Release) -> bool {
        if self.acted {
            return false;
        }
        match release.phase {
            Phase::Rolling | Phase::Baking => true,
            Phase::Promoted => self.spec.until == Until::End,
            Phase::Idle | Phase::RollingBack => false,
        }
    }

    /// A new deploy started: the policy forgets everything and watches again.
    pub fn on_deploy(&mut self) {
        self.acted = false;
        self.silenced_until = 0;
        self.holding = None;
        self.policy.reset();
    }

    /// An event of the release at `t`: a traffic step, the end of the bake, the human's
    /// answer, an approval due, the end of a gradual rollback, the oracle, a fix served.
    /// An event of an earlier attempt (or rollout epoch) is void.
    pub fn on_event(&mut self, t: u64, ev: Event, run: Run) {
        let release = &*run.release;
        let this_attempt = |attempt: u32| attempt == release.attempt;
        match ev {
            Event::Share {
                attempt,
                epoch,
                step,
                ..
            } if epoch == release.epoch() => {
                let reached = run.release.share_step(t, attempt, step, run.agenda);
                self.on_step(reached);
            }
            Event::Promote { attempt, epoch, .. }
                if release.current(attempt, epoch) && release.phase == Phase::Baking =>
            {
                self.promotion_due(t, run)
            }
            Event::HumanAnswer { attempt, about, .. }
                if this_attempt(attempt) && release.serving() =>
            {
                self.human_answer(t, about, run)
            }
            Event::ApprovalDue { attempt, epoch, .. }
                if release.current(attempt, epoch) && release.awaiting_advance =>
            {
                self.page(t, Ask::Approval, run)
            }
            Event::RollbackDone { attempt, .. }
                if this_attempt(attempt) && release.phase == Phase::RollingBack =>
            {
                self.rollback_done(t, run)
            }
            // The oracle bound acts on a bad release.
            Event::Oracle { attempt, .. } if this_attempt(attempt) => {
                self.decide(t, Decision::Rollback, Source::Event, run)
            }
            Event::HoldExpires { attempt, since, .. }
                if this_attempt(attempt) && self.holding.is_some_and(|h| h.since == since) =>
            {
                self.hold_expired(t, run)
            }
            Event::FixDeployed { attempt, .. } if this_attempt(attempt) && release.exists() => {
                run.agenda.note(t, "fix_deployed", String::new);
                run.release.fixed = true;
                remove_defect(t, run);
            }
            _ => {}
        }
    }

    /// The rollout reached a step (the policy's step analysis may start).
    pub fn on_step(&mut self, reached: Option<StepReached>) {
        if let Some(r) = reached {
            self.policy.on_step(r.analysis_at_ms);
        }
    }

    /// A scrape reaches the policy at `t`.
    pub fn observe_scrape(&mut self, t: u64, scrape: &Scrape, run: Run) {
        let d = self.policy.on_scrape(scrape);
        self.decide(t, d, Source::Scrape, run);
    }

    /// A health check of the new version reaches the policy at `t`.
    pub fn observe_probe(&mut self, t: u64, ok: bool, run: Run) {
        let d = self.policy.on_health_check(t, ok);
        self.decide(t, d, Source::Probe, run);
    }

    /// A policy's rule answered (to an observation of `source`): act, suppress (a loop
    /// guard), page a human, or hold the rollback while a dependency explains the signal.
    fn decide(&mut self, t: u64, d: Decision, source: Source, mut run: Run) {
        if d != Decision::Rollback && self.holding.is_some_and(|h| h.source == source) {
            // The rule no longer asks for a rollback: the rollout goes on.
            self.let_go(t, run.reborrow());
        }
        let watching = self.watching(run.release);
        if d == Decision::Advance && watching {
            self.step_passed(t, run);
            return;
        }
        if d == Decision::Pause && watching {
            self.pause(t, run);
            return;
        }
        if d != Decision::Rollback || !watching || t < self.silenced_until {
            return;
        }
        if self.held {
            self.hold(t, source, run);
            return;
        }
        if self.holding.is_some() {
            // Nothing explains the signal any more: the rollout goes on, and the rule acts.
            self.let_go(t, run.reborrow());
        }
        self.carry_out(t, run);
    }

    /// Carries out a rollback decision: act, suppress (a loop guard), or page a human.
    fn carry_out(&mut self, t: u64, run: Run) {
        self.acted = true;
        // In a game the page is not the decision: the team's action is.
        if self.team.is_none() {
            run.scorer.detected(t);
        }
        let guards = self.spec.guards;
        let human = self.spec.checkpoint != Checkpoint::None
            || (guards.human_after_first_rollback && run.scorer.rollbacks() >= 1);
        if human {
            self.page(t, Ask::Rule, run);
            return;
        }
        if guards
            .max_auto_rollbacks
            .is_some_and(|max| run.scorer.rollbacks() >= max)
        {
            run.agenda
                .note(t, "suppressed", || "max_auto_rollbacks reached".into());
            run.scorer.suppressed();
            return;
        }
        self.act(t, run);
    }

    /// The current step passed (the policy's `Advance`, or a person).
    pub fn step_passed(&mut self, t: u64, run: Run) {
        let reached = run.release.step_passed(t, run.agenda);
        self.on_step(reached);
    }

    /// The rollout stops where it is and a human is asked to abort or resume.
    fn pause(&mut self, t: u64, run: Run) {
        if !run.release.can_pause() {
            return;
        }
        run.agenda
            .note(t, "pause", || "inconclusive analysis".into());
        if self.team.is_none() {
            run.scorer.detected(t);
        }
        run.release.hold(t);
        self.acted = true;
        self.page(t, Ask::Pause, run);
    }

    /// The rollout goes on from where it paused.
    pub fn resume(&mut self, t: u64, run: Run) {
        if let Some(true) = run.release.resume(t, run.agenda) {
            // A new analysis of the step: the policy watches again.
            self.acted = false;
            self.policy.on_step(Some(t));
        }
    }

    /// Pages the human (or the team); the human's answer comes after the ack time.
    fn page(&mut self, t: u64, about: Ask, run: Run) {
        if let Some(team) = &mut self.team {
            // The team is paged: it answers with commands, not through the human model.
            run.scorer.paged(None);
            team.page(t, about.describe());
            run.agenda.note(t, "page", || about.describe().into());
            return;
        }
        let ack = self
            .human
            .page(&mut self.human_rng, t, run.service.clock_ms());
        run.scorer
            .paged(Some(self.scenario.human.handling_ms as f64 / 60_000.0));
        run.agenda.note(t, "page", || {
            format!(
                "{}; answered after {}",
                about.describe(),
                crate::scenario::check::duration_text(ack)
            )
        });
        let (release, attempt) = (run.release.index, run.release.attempt);
        run.agenda.at(
            t + ack,
            Event::HumanAnswer {
                release,
                attempt,
                about,
            },
        );
    }

    /// The bake is over: promote, or ask for the sign-off.
    fn promotion_due(&mut self, t: u64, run: Run) {
        if self.spec.checkpoint == Checkpoint::RollbackAndPromotion {
            run.release.awaiting_signoff = true;
            self.page(t, Ask::Promotion, run);
        } else {
            run.release.promote(t, run.agenda);
        }
    }

    /// The human answers (the release still serves the attempt it was paged about): signs
    /// a promotion off, or makes the call on a fired rule (the right call with the model's
    /// probability: act on a bad release, keep a good one).
    fn human_answer(&mut self, t: u64, about: Ask, run: Run) {
        if about == Ask::Promotion {
            if run.release.awaiting_signoff && run.release.phase == Phase::Baking {
                run.release.awaiting_signoff = false;
                run.release.promote(t, run.agenda);
            }
            return;
        }
        let right = self.human_rng.random::<f64>() < self.human.right_probability(t);
        if about == Ask::Approval && !run.release.awaiting_advance {
            return;
        }
        if run.release.bad() == right {
            run.agenda.note(t, "human_acts", String::new);
            run.release.paused_at = None;
            self.act(t, run);
        } else if about == Ask::Approval {
            run.agenda.note(t, "human_promotes", String::new);
            self.step_passed(t, run);
        } else if about == Ask::Pause {
            run.agenda.note(t, "human_resumes", String::new);
            self.resume(t, run);
        } else {
            run.agenda.note(t, "human_keeps", String::new);
            self.keep(t);
        }
    }

    /// The release is kept after a fired rule: the rule watches again after the silence.
    fn keep(&mut self, t: u64) {
        self.acted = false;
        self.policy.reset();
        self.silenced_until = t + self.scenario.human.silence_ms;
    }

    /// Carries out the policy's action.
    fn act(&mut self, t: u64, run: Run) {
        match self.spec.action {
            Action::Rollback => {
                let refuse = self.scenario.data.as_ref().is_some_and(|d| {
                    self.spec.unsafe_rollback.unwrap_or(d.on_unsafe_rollback)
                        == UnsafeRollback::Refuse
                });
                if run.service.rollback_unsafe() && refuse {
                    run.agenda.note(t, "refused", || {
                        "rollback across a destructive migration".into()
                    });
                    run.scorer.refused_unsafe();
                } else {
                    self.rollback(t, run);
                }
            }
            Action::RollForward => {
                run.agenda.note(t, "roll_forward", String::new);
                run.scorer.rolled_forward();
                let delay = self
                    .scenario
                    .recovery
                    .roll_forward_delay
                    .sample(&mut self.recovery);
                let (release, attempt) = (run.release.index, run.release.attempt);
                run.agenda
                    .at(t + delay, Event::FixDeployed { release, attempt });
            }
            Action::FlagOff => self.turn_flag_off(t, String::new(), run),
        }
    }

    /// The kill switch: the new code path stops (it writes the old format again) and with
    /// it the defect; `by` says who turned it (empty for the policy).
    pub fn turn_flag_off(&mut self, t: u64, by: String, run: Run) {
        run.agenda.note(t, "flag_off", || by);
        run.scorer.flag_off();
        run.release.flag_off = true;
        remove_defect(t, run);
    }

    /// Someone outside the policy rolls back now (a team's command): the policy stops
    /// watching this deploy.
    pub fn take_over(&mut self, t: u64, run: Run) {
        run.scorer.detected(t);
        self.acted = true;
        run.release.paused_at = None;
        run.release.awaiting_signoff = false;
        self.rollback(t, run);
    }

    /// Rolls the release back (when it serves).
    fn rollback(&mut self, t: u64, run: Run) {
        if !run.release.serving() {
            return;
        }
        let infra = run.service.effects().any;
        run.agenda.note(t, "rollback", || {
            if infra {
                "while a fault was active".into()
            } else {
                String::new()
            }
        });
        run.scorer.rollback(t, run.release.bad(), infra);
        run.scorer.detected(t);
        run.service.on_rollback();
        if run.release.begin_rollback(t, run.agenda) {
            self.rollback_done(t, run);
        }
    }

    /// Every request is back on the old version: the pipeline retries the release unless
    /// a loop guard froze it or its attempts are spent.
    fn rollback_done(&mut self, t: u64, run: Run) {
        run.release.rolled_back(t, run.agenda);
        run.scorer.recovered(t);
        let guards = self.spec.guards;
        let frozen = guards
            .freeze_after
            .is_some_and(|n| run.scorer.rollbacks() >= n);
        if frozen {
            run.agenda.note(t, "frozen", || {
                "freeze_after reached: no more retries".into()
            });
        }
        let attempt = run.release.attempt;
        if attempt < self.scenario.pipeline.max_attempts && !frozen && self.spec.pipeline_retries {
            let base = self
                .scenario
                .pipeline
                .retry_delay
                .sample(&mut self.pipeline);
            let backoff = guards.retry_backoff.powi(attempt.saturating_sub(1) as i32);
            let release = run.release.index;
            run.agenda.at(
                t + (base as f64 * backoff).round() as u64,
                Event::Deploy { release },
            );
        }
    }

    /// The team acknowledges its open pages at `t`. A fired rule acknowledged without
    /// acting is silenced, as the human model's "keep" is.
    pub fn ack(&mut self, t: u64, release: &Release) -> Applied {
        let Some(team) = &mut self.team else {
            return Applied::ignored("no page is open");
        };
        let acked = team.ack(t);
        if acked.is_empty() {
            return Applied::ignored("no page is open");
        }
        let rule = acked.contains(&Ask::Rule.describe());
        let rolling_back = release.phase == Phase::RollingBack;
        if rule && self.acted && release.paused_at.is_none() && !rolling_back {
            self.keep(t);
        }
        Applied::done(format!("{} page(s) acknowledged", acked.len()))
    }

    /// The pages sent to the team, taken at the end of a game.
    pub fn take_pages(&mut self) -> Vec<team::LivePage> {
        self.team.take().map(|p| p.pages).unwrap_or_default()
    }
}

/// The defect stops for good (a fix serves, or the flag turned the code path off).
fn remove_defect(t: u64, run: Run) {
    if run.release.remove_defect() && run.release.bad() {
        run.scorer.recovered(t);
    }
}
