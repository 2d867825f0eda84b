//! One replication: a deploy of the release under one policy, with the run's faults and
//! noise, from time 0 to the horizon, scored into a [`RunRecord`].

use super::command::{Command, Timed};
use super::queue::{EventQueue, Phase as At};
use super::rng::{stream, Stream, StreamRng};
use super::trace::{Trace, TraceEvent, TraceRow};
use super::world::World;
use crate::model::data::DataState;
use crate::model::faults::FaultWindow;
use crate::model::rollout::{keeps_old_warm, plan, ShareStep};
use crate::model::{Effects, ServiceModel, VersionTruth};
use crate::outcome::RunRecord;
use crate::policy::human::HumanModel;
use crate::policy::{self, Decision, Needs, Policy, Scrape, VersionSample};
use crate::scenario::{
    Action, Checkpoint, Day, MigrationWhen, PolicyRule, PolicySpec, Scenario, StepGate,
    UnsafeRollback, Until,
};
use crate::sim::rng::sample::{binomial, requests, scraped_p99, Drift, TailCache};
use rand::Rng;
use std::borrow::Cow;
use std::collections::VecDeque;

mod live;
use live::LiveState;
pub use live::{Counters, Live, LiveEnd, LivePage, LiveTick, LiveView, LATENCY_BUCKETS_S};

/// What every replication of a scenario shares, computed once per experiment.
#[derive(Debug, Clone)]
pub struct Prepared<'a> {
    pub scenario: &'a Scenario,
    model: ServiceModel,
}

impl<'a> Prepared<'a> {
    /// Precomputes the service model of `scenario`.
    pub fn new(scenario: &'a Scenario) -> Self {
        Prepared {
            scenario,
            model: ServiceModel::new(scenario),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Event {
    Tick,
    HealthCheck,
    Deploy,
    /// A traffic step of the rollout plan; `epoch` changes when the rollout pauses, which
    /// cancels the steps scheduled before the pause.
    Share {
        attempt: u32,
        epoch: u32,
        step: usize,
    },
    Promote {
        attempt: u32,
        epoch: u32,
    },
    RollbackDone {
        attempt: u32,
    },
    Oracle {
        attempt: u32,
    },
    FaultStart(usize),
    FaultEnd(usize),
    Migration(usize),
    FixDeployed {
        attempt: u32,
    },
    /// The paged human answers.
    HumanAnswer {
        attempt: u32,
        about: Ask,
    },
    /// A step that waits for approval has held its pause: page for the approval.
    ApprovalDue {
        attempt: u32,
        epoch: u32,
    },
    /// A command from outside (a replayed game-day action).
    Command(Command),
}

/// What a human is paged about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ask {
    /// A policy's rule fired: act or keep the release.
    Rule,
    /// Promotion waits for a sign-off.
    Promotion,
    /// The rollout paused (an inconclusive analysis): abort or resume.
    Pause,
    /// A step waits for a person (a pause without a duration): abort or promote.
    Approval,
}

impl Ask {
    fn describe(self) -> &'static str {
        match self {
            Ask::Rule => "rule fired",
            Ask::Promotion => "promotion sign-off",
            Ask::Pause => "rollout paused",
            Ask::Approval => "step waits for approval",
        }
    }
}

/// Where the new version stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
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

struct Pending {
    deliver_ms: u64,
    attempt: u32,
    scrape: Scrape,
}

struct Streams {
    traffic: StreamRng,
    noise: StreamRng,
    split: StreamRng,
    errors_old: StreamRng,
    errors_new: StreamRng,
    latency: StreamRng,
    scrape: StreamRng,
    health: StreamRng,
    pipeline: StreamRng,
    data: StreamRng,
    recovery: StreamRng,
    human: StreamRng,
}

impl Streams {
    fn new(seed: u64) -> Self {
        Streams {
            traffic: stream(seed, Stream::Traffic),
            noise: stream(seed, Stream::Noise),
            split: stream(seed, Stream::Split),
            errors_old: stream(seed, Stream::ErrorsOld),
            errors_new: stream(seed, Stream::ErrorsNew),
            latency: stream(seed, Stream::Latency),
            scrape: stream(seed, Stream::Scrape),
            health: stream(seed, Stream::Health),
            pipeline: stream(seed, Stream::Pipeline),
            data: stream(seed, Stream::Data),
            recovery: stream(seed, Stream::Recovery),
            human: stream(seed, Stream::Human),
        }
    }
}

struct Replication<'a, 'w> {
    p: &'a Prepared<'a>,
    world: &'w World,
    spec: &'a PolicySpec,
    policy: Box<dyn Policy>,
    needs: Needs,
    /// The policy's rollout as share steps, and whether it keeps the old version warm.
    plan: Vec<ShareStep>,
    warm: bool,
    rng: Streams,
    queue: EventQueue<Event>,
    drift: Drift,

    // state of the release
    phase: Phase,
    attempt: u32,
    share: f64,
    /// Linear move of the share back to 0: (start time, start share, end time).
    ramp: Option<(u64, f64, u64)>,
    serve_start_ms: Option<u64>,
    /// The policy has acted on the current deploy (it watches no more until the next).
    acted: bool,
    /// The defect is gone for good: a fix was rolled forward or the flag turned off.
    defect_off: bool,
    /// The new code path is off: the new version writes the old format.
    flag_off: bool,
    promoted_once: bool,
    /// The on-call human (drawn per run: weekday or weekend, background pages).
    human: HumanModel<'a>,
    /// After keeping a release, the human silences the alert until then.
    silenced_until: u64,
    /// The rollout's current plan step and when it started (for pause and resume).
    step: usize,
    step_at: u64,
    /// Bumped by a pause: plan events of an older epoch are void.
    epoch: u32,
    /// When the rollout paused, while it is paused.
    paused_at: Option<u64>,
    /// A promotion waits for the human's sign-off.
    awaiting_signoff: bool,
    /// The current step is gated and waits for the policy's `Advance` (or the human).
    awaiting_advance: bool,
    data: Option<DataState<'a>>,
    /// Every fault occurrence: the world's, then those injected live.
    faults: Cow<'w, [FaultWindow]>,
    active: Vec<bool>,
    /// A fix was rolled forward (the flag no longer matters to the defect).
    fixed: bool,
    /// Events before this instant have been processed.
    now_ms: u64,
    /// Game-day state: pages go to the team, metrics are exposed; `None` otherwise.
    live: Option<Box<LiveState>>,
    effects: Effects,
    truth_new: VersionTruth,
    pending: VecDeque<Pending>,
    slo_tail_old: TailCache,
    slo_tail_new: TailCache,
    timeout_tail: TailCache,

    // outcome
    out: RunRecord,
    downtime_ms: u64,
    first_onset_ms: Option<u64>,
    first_detect_ms: Option<u64>,
    first_recover_ms: Option<u64>,
    /// The timeline, when recording (`rollsim trace`).
    trace: Option<Trace>,
}

/// Runs `spec` against `world` and scores the outcome.
pub fn replicate(p: &Prepared<'_>, world: &World, spec: &PolicySpec) -> RunRecord {
    replicate_with(p, world, spec, None).0
}

/// Like [`replicate`], and records the timeline. The outcome is the same: recording draws
/// observations the policy may not need, from streams that only feed observations.
pub fn replicate_traced(p: &Prepared<'_>, world: &World, spec: &PolicySpec) -> (RunRecord, Trace) {
    let (r, t) = replicate_with(p, world, spec, Some(Trace::default()));
    (r, t.unwrap_or_default())
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

/// Replays a recorded game: `spec` with the team's commands at their instants, pages
/// left to the team (as in the game), traced. Equal to the game, event for event.
pub fn replicate_scripted(
    p: &Prepared<'_>,
    world: &World,
    spec: &PolicySpec,
    script: &[Timed],
) -> (RunRecord, Trace) {
    let mut r = Replication::new(p, world, spec, Some(Trace::default()), true);
    for c in script {
        r.queue
            .push_in(c.at_ms, At::Command, Event::Command(c.command));
    }
    r.start();
    r.advance(p.scenario.duration_ms);
    let (record, trace) = r.finish();
    (record, trace.unwrap_or_default())
}

fn replicate_with(
    p: &Prepared<'_>,
    world: &World,
    spec: &PolicySpec,
    trace: Option<Trace>,
) -> (RunRecord, Option<Trace>) {
    let mut r = Replication::new(p, world, spec, trace, false);
    r.start();
    r.advance(p.scenario.duration_ms);
    r.finish()
}

impl<'a, 'w> Replication<'a, 'w> {
    /// A replication at time 0 (nothing scheduled yet: see [`Self::start`]); `live` sends
    /// pages to a team and keeps the exposed metrics of a game day.
    fn new(
        p: &'a Prepared<'a>,
        world: &'w World,
        spec: &'a PolicySpec,
        trace: Option<Trace>,
        live: bool,
    ) -> Self {
        let s = p.scenario;
        let mut rng = Streams::new(world.seed);
        let drift = Drift::new(
            &mut rng.noise,
            s.signals.noise_sd,
            s.signals.noise_correlation_ms,
            s.scrape_interval_ms,
        );
        let policy = policy::build(spec);
        let human = draw_human(s, &mut rng.human);
        let mut needs = policy.needs();
        if trace.is_some() || live {
            needs.scrapes = true;
            needs.latency = true;
        }
        if live {
            needs.health_checks = true;
        }
        Replication {
            p,
            world,
            spec,
            policy,
            needs,
            plan: plan(&spec.rollout, s.service.replicas),
            warm: keeps_old_warm(&spec.rollout),
            rng,
            queue: EventQueue::default(),
            drift,
            phase: Phase::Idle,
            attempt: 0,
            share: 0.0,
            ramp: None,
            serve_start_ms: None,
            acted: false,
            defect_off: false,
            flag_off: false,
            promoted_once: false,
            human,
            silenced_until: 0,
            step: 0,
            step_at: 0,
            epoch: 0,
            paused_at: None,
            awaiting_signoff: false,
            awaiting_advance: false,
            data: s.data.as_ref().map(DataState::new),
            faults: Cow::Borrowed(&world.faults),
            active: vec![false; world.faults.len()],
            fixed: false,
            now_ms: 0,
            live: live.then(|| Box::new(LiveState::new(world.seed))),
            effects: Effects::default(),
            truth_new: VersionTruth {
                error_prob: 0.0,
                latency_mu: p.model.latency_mu,
            },
            pending: VecDeque::new(),
            slo_tail_old: TailCache::default(),
            slo_tail_new: TailCache::default(),
            timeout_tail: TailCache::default(),
            out: RunRecord::new(
                world.run,
                world.seed,
                &spec.name,
                world.release_bad,
                world.faults.len() as u32,
            ),
            downtime_ms: 0,
            first_onset_ms: None,
            first_detect_ms: None,
            first_recover_ms: None,
            trace,
        }
    }
}

impl Replication<'_, '_> {
    /// Schedules what is known at time 0: faults, migrations, the deploy, the samplers.
    fn start(&mut self) {
        let s = self.p.scenario;
        for (i, f) in self.world.faults.iter().enumerate() {
            self.queue.push(f.start_ms, Event::FaultStart(i));
            self.queue.push(f.end_ms, Event::FaultEnd(i));
        }
        if let Some(d) = &s.data {
            for (i, m) in d.migrations.iter().enumerate() {
                if let MigrationWhen::At(t) = m.when {
                    self.queue.push(t, Event::Migration(i));
                }
            }
        }
        self.queue.push(s.release.at_ms, Event::Deploy);
        self.queue.push_in(0, At::Sample, Event::Tick);
        if self.needs.health_checks {
            self.queue.push_in(0, At::Sample, Event::HealthCheck);
        }
    }

    /// Processes every event before `until` (and before the horizon).
    fn advance(&mut self, until: u64) {
        let until = until.min(self.p.scenario.duration_ms);
        while self.queue.peek_time().is_some_and(|t| t < until) {
            let Some((t, ev)) = self.queue.pop() else {
                break;
            };
            self.now_ms = t;
            match ev {
                Event::Tick => self.tick(t),
                Event::HealthCheck => self.health_check(t),
                Event::Deploy => {
                    // A team may have re-deployed by hand before the pipeline's retry.
                    if self.phase == Phase::Idle {
                        self.deploy(t)
                    }
                }
                Event::Share {
                    attempt,
                    epoch,
                    step,
                } => {
                    if epoch == self.epoch {
                        self.share_step(t, attempt, step)
                    }
                }
                Event::Promote { attempt, epoch } => {
                    if attempt == self.attempt && epoch == self.epoch && self.phase == Phase::Baking
                    {
                        if self.spec.checkpoint == Checkpoint::RollbackAndPromotion {
                            self.awaiting_signoff = true;
                            self.page(t, Ask::Promotion);
                        } else {
                            self.promote(t);
                        }
                    }
                }
                Event::HumanAnswer { attempt, about } => self.human_answer(t, attempt, about),
                Event::ApprovalDue { attempt, epoch } => {
                    if attempt == self.attempt && epoch == self.epoch && self.awaiting_advance {
                        self.page(t, Ask::Approval);
                    }
                }
                Event::RollbackDone { attempt } => {
                    if attempt == self.attempt && self.phase == Phase::RollingBack {
                        self.rollback_done(t);
                    }
                }
                Event::Oracle { attempt } => {
                    if attempt == self.attempt {
                        self.decide(t, Decision::Rollback);
                    }
                }
                Event::FaultStart(i) => self.set_fault(t, i, true),
                Event::FaultEnd(i) => self.set_fault(t, i, false),
                Event::Migration(i) => self.migrate(t, i),
                Event::FixDeployed { attempt } => {
                    if attempt == self.attempt && self.new_exists() {
                        self.note(t, "fix_deployed", String::new);
                        self.fixed = true;
                        self.remove_defect(t);
                    }
                }
                Event::Command(c) => {
                    self.command(t, c);
                }
            }
        }
        self.now_ms = self.now_ms.max(until);
    }

    fn finish(mut self) -> (RunRecord, Option<Trace>) {
        let o = &mut self.out;
        o.downtime_s = self.downtime_ms as f64 / 1000.0;
        o.missed_bad_release = self.world.release_bad
            && !self.defect_off
            && matches!(self.phase, Phase::Rolling | Phase::Baking | Phase::Promoted)
            && self.serve_start_ms.is_some();
        if let Some(d) = &self.data {
            o.new_format_records = d.new_format_records();
            o.unreadable_reads = d.out.unreadable_reads;
            o.corrupted_records = d.out.corrupted_records;
            o.lost_writes = d.out.lost_writes;
            if let (Some(harm), Some(seen)) = (d.out.first_harm_ms, d.out.first_visible_ms) {
                o.data_harm_detected_s = Some(seen.saturating_sub(harm) as f64 / 1000.0);
            }
        }
        o.rollback_loops = o.rollbacks.saturating_sub(1);
        if let Some(onset) = self.first_onset_ms {
            o.time_to_detect_s = self
                .first_detect_ms
                .map(|d| d.saturating_sub(onset) as f64 / 1000.0);
            o.time_to_recover_s = self
                .first_recover_ms
                .map(|d| d.saturating_sub(onset) as f64 / 1000.0);
        }
        (self.out, self.trace)
    }

    /// Records an event when tracing; `detail` is only formatted then.
    fn note(&mut self, t: u64, kind: &'static str, detail: impl FnOnce() -> String) {
        if let Some(tr) = &mut self.trace {
            tr.events.push(TraceEvent {
                t_s: t as f64 / 1000.0,
                kind,
                detail: detail(),
            });
        }
    }

    /// Whether the policy is watching the new version now.
    fn watching(&self) -> bool {
        if self.acted {
            return false;
        }
        match self.phase {
            Phase::Rolling | Phase::Baking => true,
            Phase::Promoted => self.spec.until == Until::End,
            Phase::Idle | Phase::RollingBack => false,
        }
    }

    fn migrate(&mut self, t: u64, i: usize) {
        if let Some(d) = &mut self.data {
            d.start_migration(i);
        }
        let s = self.p.scenario;
        self.note(t, "migration", || {
            s.data
                .as_ref()
                .map(|d| d.migrations[i].name.clone())
                .unwrap_or_default()
        });
    }

    fn set_fault(&mut self, t: u64, i: usize, on: bool) {
        let s = self.p.scenario;
        let f = &s.faults[self.faults[i].fault];
        self.note(t, if on { "fault_start" } else { "fault_end" }, || {
            f.name.clone()
        });
        self.active[i] = on;
        let faults = &self.p.scenario.faults;
        self.effects = Effects::combine(
            self.faults
                .iter()
                .zip(&self.active)
                .filter(|(_, a)| **a)
                .map(|(w, _)| &faults[w.fault].effect),
        );
    }

    fn deploy(&mut self, t: u64) {
        self.attempt += 1;
        let attempt = self.attempt;
        self.note(t, "deploy", || format!("attempt {attempt}"));
        self.out.deploy_attempts = self.attempt;
        self.phase = Phase::Rolling;
        self.share = 0.0;
        self.ramp = None;
        self.serve_start_ms = None;
        self.acted = false;
        self.awaiting_signoff = false;
        self.silenced_until = 0;
        self.policy.reset();
        if self.attempt == 1 {
            // Coupled migrations run just before the new code, once.
            let coupled: Vec<usize> = self
                .p
                .scenario
                .data
                .iter()
                .flat_map(|d| d.migrations.iter())
                .enumerate()
                .filter(|(_, m)| m.when == MigrationWhen::WithRelease)
                .map(|(i, _)| i)
                .collect();
            for i in coupled {
                self.migrate(t, i);
            }
        }
        self.pending.clear();
        self.paused_at = None;
        self.schedule_plan(t);
    }

    /// Whether leaving `step` waits for more than its hold: its own gate, or a policy that
    /// gates every step but the last (the promotion).
    fn gated(&self, step: usize) -> bool {
        self.plan[step].gate != StepGate::None
            || (step + 1 < self.plan.len() && self.policy.gates_every_step())
    }

    /// Whether any step is gated: then each step schedules the next when it is reached.
    fn chained(&self) -> bool {
        (0..self.plan.len()).any(|k| self.gated(k))
    }

    /// Schedules traffic step `step` of the current deploy (and epoch) at `at`.
    fn push_share(&mut self, at: u64, step: usize) {
        let (attempt, epoch) = (self.attempt, self.epoch);
        self.queue.push(
            at,
            Event::Share {
                attempt,
                epoch,
                step,
            },
        );
    }

    /// Schedules every traffic step of the plan from the deploy at `t`; with a gated step,
    /// only the first (each step then schedules the next, see [`Self::share_step`]).
    fn schedule_plan(&mut self, t: u64) {
        self.awaiting_advance = false;
        let steps = if self.chained() { 1 } else { self.plan.len() };
        for step in 0..steps {
            self.push_share(t + self.plan[step].offset_ms, step);
        }
    }

    /// The rollout stops where it is and a human is asked to abort or resume.
    fn pause(&mut self, t: u64) {
        if self.paused_at.is_some() || !matches!(self.phase, Phase::Rolling | Phase::Baking) {
            return;
        }
        self.note(t, "pause", || "inconclusive analysis".into());
        if self.live.is_none() {
            self.note_detection(t);
        }
        self.paused_at = Some(t);
        self.epoch += 1;
        self.acted = true;
        self.page(t, Ask::Pause);
    }

    /// The rollout goes on from where it paused, with the time its step had already held.
    fn resume(&mut self, t: u64) {
        let Some(paused) = self.paused_at.take() else {
            return;
        };
        self.note(t, "resume", String::new);
        let elapsed = paused.saturating_sub(self.step_at);
        self.step_at = t - elapsed.min(t);
        let attempt = self.attempt;
        if self.awaiting_advance {
            if self.plan[self.step].gate == StepGate::Analysis {
                // A new AnalysisRun for the step (rollout/analysis.go: needsNewAnalysisRun).
                self.acted = false;
                self.policy.on_step(Some(t));
            }
            if self.plan[self.step].gate == StepGate::Approval {
                // The pause voided the approval's page if it was still to come.
                let wait = self.plan[self.step].hold_ms.saturating_sub(elapsed);
                let epoch = self.epoch;
                self.queue
                    .push(t + wait, Event::ApprovalDue { attempt, epoch });
            }
            return;
        }
        let chained = self.chained();
        match self.phase {
            Phase::Rolling if chained => {
                let hold = self.plan[self.step].hold_ms.saturating_sub(elapsed);
                self.push_share(t + hold, self.step + 1);
            }
            Phase::Rolling => {
                let current = self.plan[self.step].offset_ms;
                for step in self.step + 1..self.plan.len() {
                    let wait = (self.plan[step].offset_ms - current).saturating_sub(elapsed);
                    self.push_share(t + wait, step);
                }
            }
            Phase::Baking => {
                let hold = self.plan[self.step].hold_ms + self.p.scenario.release.bake_ms;
                let epoch = self.epoch;
                self.queue.push(
                    t + hold.saturating_sub(elapsed),
                    Event::Promote { attempt, epoch },
                );
            }
            _ => {}
        }
    }

    fn share_step(&mut self, t: u64, attempt: u32, step: usize) {
        if attempt != self.attempt || self.phase != Phase::Rolling {
            return;
        }
        self.share = self.plan[step].share;
        self.step = step;
        self.step_at = t;
        let share = self.share;
        self.note(t, "share", || {
            format!("{:.0}% to the new version", share * 100.0)
        });
        if self.share > 0.0 && self.serve_start_ms.is_none() {
            self.serve_start_ms = Some(t);
            if let PolicyRule::Oracle { reaction_ms } = self.spec.rule {
                if self.world.release_bad {
                    let onset = t + self.p.scenario.release.bad.onset_ms;
                    self.queue
                        .push(onset + reaction_ms, Event::Oracle { attempt });
                }
            }
        }
        let hold = self.plan[step].hold_ms;
        let last = step + 1 == self.plan.len();
        if last {
            self.phase = Phase::Baking;
        }
        let gate = self.plan[step].gate;
        self.policy
            .on_step((gate == StepGate::Analysis).then_some(t + hold));
        self.awaiting_advance = self.gated(step);
        let epoch = self.epoch;
        if self.awaiting_advance {
            if gate == StepGate::Approval {
                self.queue
                    .push(t + hold, Event::ApprovalDue { attempt, epoch });
            }
        } else if last {
            // The last step's pause holds at 100% before the bake.
            let hold = hold + self.p.scenario.release.bake_ms;
            self.queue.push(t + hold, Event::Promote { attempt, epoch });
        } else if self.chained() {
            let step = step + 1;
            self.push_share(t + hold, step);
        }
    }

    /// The gated current step passed (the policy's `Advance`, or a person): the next step
    /// follows once the step has held its pause; after the last step, the bake.
    fn step_passed(&mut self, t: u64) {
        if !self.awaiting_advance || self.paused_at.is_some() {
            return;
        }
        self.awaiting_advance = false;
        let at = t.max(self.step_at + self.plan[self.step].hold_ms);
        let (attempt, epoch) = (self.attempt, self.epoch);
        self.note(t, "step_passed", String::new);
        match self.phase {
            // At once when the hold is over, so this tick's traffic has the new share.
            Phase::Rolling if at == t => self.share_step(t, attempt, self.step + 1),
            Phase::Rolling => {
                let step = self.step + 1;
                self.push_share(at, step);
            }
            Phase::Baking => {
                let bake = self.p.scenario.release.bake_ms;
                self.queue
                    .push(at + bake, Event::Promote { attempt, epoch });
            }
            _ => {}
        }
    }

    fn promote(&mut self, t: u64) {
        self.phase = Phase::Promoted;
        self.note(t, "promote", String::new);
        if self.promoted_once {
            return;
        }
        self.promoted_once = true;
        if let Some(d) = &self.p.scenario.data {
            for (i, m) in d.migrations.iter().enumerate() {
                if let MigrationWhen::AfterPromotion { delay_ms } = m.when {
                    self.queue.push(t + delay_ms, Event::Migration(i));
                }
            }
        }
    }

    /// A policy's rule fired: act, suppress (a loop guard), or page a human.
    fn decide(&mut self, t: u64, d: Decision) {
        if d == Decision::Advance && self.watching() {
            self.step_passed(t);
            return;
        }
        if d == Decision::Pause && self.watching() {
            self.pause(t);
            return;
        }
        if d != Decision::Rollback || !self.watching() || t < self.silenced_until {
            return;
        }
        self.acted = true;
        // In a game the page is not the decision: the team's action is.
        if self.live.is_none() {
            self.note_detection(t);
        }
        let guards = self.spec.guards;
        let human = self.spec.checkpoint != Checkpoint::None
            || (guards.human_after_first_rollback && self.out.rollbacks >= 1);
        if human {
            self.page(t, Ask::Rule);
            return;
        }
        if guards
            .max_auto_rollbacks
            .is_some_and(|max| self.out.rollbacks >= max)
        {
            self.note(t, "suppressed", || "max_auto_rollbacks reached".into());
            self.out.rollbacks_suppressed += 1;
            return;
        }
        self.act(t);
    }

    /// Pages the human; the answer comes after the ack time.
    fn page(&mut self, t: u64, about: Ask) {
        if let Some(live) = &mut self.live {
            // The team is paged: it answers with commands, not through the human model.
            self.out.pages += 1;
            live.page(t, about.describe());
            self.note(t, "page", || about.describe().into());
            return;
        }
        let ack = self.human.page(&mut self.rng.human, t);
        self.out.pages += 1;
        self.out.human_minutes += self.p.scenario.human.handling_ms as f64 / 60_000.0;
        self.note(t, "page", || {
            format!(
                "{}; answered after {}",
                about.describe(),
                humantime::format_duration(std::time::Duration::from_millis(ack))
            )
        });
        self.queue.push(
            t + ack,
            Event::HumanAnswer {
                attempt: self.attempt,
                about,
            },
        );
    }

    /// The human answers: signs a promotion off, or makes the call on a fired rule (the
    /// right call with the model's probability: act on a bad release, keep a good one).
    fn human_answer(&mut self, t: u64, attempt: u32, about: Ask) {
        if attempt != self.attempt
            || !matches!(self.phase, Phase::Rolling | Phase::Baking | Phase::Promoted)
        {
            return;
        }
        if about == Ask::Promotion {
            if self.awaiting_signoff && self.phase == Phase::Baking {
                self.awaiting_signoff = false;
                self.promote(t);
            }
            return;
        }
        let right = self.rng.human.random::<f64>() < self.human.right_probability(t);
        if about == Ask::Approval && !self.awaiting_advance {
            return;
        }
        if self.world.release_bad == right {
            self.note(t, "human_acts", String::new);
            self.paused_at = None;
            self.act(t);
        } else if about == Ask::Approval {
            self.note(t, "human_promotes", String::new);
            self.step_passed(t);
        } else if about == Ask::Pause {
            self.note(t, "human_resumes", String::new);
            self.resume(t);
        } else {
            self.note(t, "human_keeps", String::new);
            self.acted = false;
            self.policy.reset();
            self.silenced_until = t + self.p.scenario.human.silence_ms;
        }
    }

    /// Carries out the policy's action.
    fn act(&mut self, t: u64) {
        match self.spec.action {
            Action::Rollback => {
                let unsafe_now = self.data.as_ref().is_some_and(|d| d.rollback_unsafe());
                let refuse = self.p.scenario.data.as_ref().is_some_and(|d| {
                    self.spec.unsafe_rollback.unwrap_or(d.on_unsafe_rollback)
                        == UnsafeRollback::Refuse
                });
                if unsafe_now && refuse {
                    self.note(t, "refused", || {
                        "rollback across a destructive migration".into()
                    });
                    self.out.rollback_refused_unsafe += 1;
                } else {
                    self.rollback(t);
                }
            }
            Action::RollForward => {
                self.note(t, "roll_forward", String::new);
                self.out.roll_forwards += 1;
                let delay = self
                    .p
                    .scenario
                    .recovery
                    .roll_forward_delay
                    .sample(&mut self.rng.recovery);
                self.queue.push(
                    t + delay,
                    Event::FixDeployed {
                        attempt: self.attempt,
                    },
                );
            }
            Action::FlagOff => self.turn_flag_off(t, String::new()),
        }
    }

    /// The kill switch: the new code path stops (it writes the old format again) and with
    /// it the defect; `by` says who turned it (empty for the policy).
    fn turn_flag_off(&mut self, t: u64, by: String) {
        self.note(t, "flag_off", || by);
        self.out.flags_off += 1;
        self.flag_off = true;
        self.remove_defect(t);
    }

    fn note_detection(&mut self, t: u64) {
        if self.first_onset_ms.is_some() && self.first_detect_ms.is_none() {
            self.first_detect_ms = Some(t);
        }
    }

    /// The defect stops for good (a fix serves, or the flag turned the code path off).
    fn remove_defect(&mut self, t: u64) {
        if self.defect_off {
            return;
        }
        self.defect_off = true;
        if self.world.release_bad
            && self.first_onset_ms.is_some()
            && self.first_recover_ms.is_none()
        {
            self.first_recover_ms = Some(t);
        }
    }

    fn rollback(&mut self, t: u64) {
        if !matches!(self.phase, Phase::Rolling | Phase::Baking | Phase::Promoted) {
            return;
        }
        let infra = self.effects.any;
        self.note(t, "rollback", || {
            if infra {
                "while a fault was active".into()
            } else {
                String::new()
            }
        });
        let o = &mut self.out;
        o.rollbacks += 1;
        if self.world.release_bad {
            o.true_positive_rollbacks += 1;
        } else {
            o.false_positive_rollbacks += 1;
            if self.effects.any {
                o.misattributed_rollbacks += 1;
            }
        }
        self.note_detection(t);
        if let Some(d) = &mut self.data {
            d.on_rollback();
        }
        let instant = self.warm && self.phase != Phase::Promoted;
        self.phase = Phase::RollingBack;
        self.pending.clear();
        let duration = self.spec.rollout.rollback_duration_ms;
        if instant || duration == 0 || self.share == 0.0 {
            self.rollback_done(t);
        } else {
            self.ramp = Some((t, self.share, t + duration));
            self.queue.push(
                t + duration,
                Event::RollbackDone {
                    attempt: self.attempt,
                },
            );
        }
    }

    fn rollback_done(&mut self, t: u64) {
        self.note(t, "rollback_done", String::new);
        self.phase = Phase::Idle;
        self.share = 0.0;
        self.ramp = None;
        if self.first_onset_ms.is_some() && self.first_recover_ms.is_none() {
            self.first_recover_ms = Some(t);
        }
        self.serve_start_ms = None;
        let guards = self.spec.guards;
        let frozen = guards.freeze_after.is_some_and(|n| self.out.rollbacks >= n);
        if frozen {
            self.note(t, "frozen", || {
                "freeze_after reached: no more retries".into()
            });
        }
        if self.attempt < self.p.scenario.pipeline.max_attempts
            && !frozen
            && self.spec.pipeline_retries
        {
            let base = self
                .p
                .scenario
                .pipeline
                .retry_delay
                .sample(&mut self.rng.pipeline);
            let backoff = guards
                .retry_backoff
                .powi(self.attempt.saturating_sub(1) as i32);
            self.queue
                .push(t + (base as f64 * backoff).round() as u64, Event::Deploy);
        }
    }

    /// Whether the new version's replicas exist (it can be probed and scraped).
    fn new_exists(&self) -> bool {
        self.phase != Phase::Idle
    }

    fn tick(&mut self, t: u64) {
        let s = self.p.scenario;
        let dt = s.scrape_interval_ms;
        self.queue.push_in(t + dt, At::Sample, Event::Tick);

        // 1. Observations whose delay has passed reach the policy.
        while self.pending.front().is_some_and(|p| p.deliver_ms <= t) {
            if let Some(p) = self.pending.pop_front() {
                if p.attempt == self.attempt && self.watching() {
                    let d = self.policy.on_scrape(&p.scrape);
                    self.decide(t, d);
                }
            }
        }

        // 2. The true state over [t, t + dt).
        if let Some((t0, s0, t1)) = self.ramp {
            self.share = s0 * (1.0 - (t - t0) as f64 / (t1 - t0) as f64).max(0.0);
        }
        let share = self.share;
        let model = &self.p.model;
        let rate = model.rate_at(t);
        let total = requests(
            &mut self.rng.traffic,
            rate * dt as f64 / 1000.0,
            s.signals.request_dispersion,
        );
        let baseline =
            (s.service.baseline_error_rate * self.drift.step(&mut self.rng.noise)).min(1.0);
        let shared = model.shared_error(baseline, &self.effects, rate);
        let intensity = match self.serve_start_ms {
            Some(start) if self.world.release_bad && share > 0.0 && !self.defect_off => {
                if self.first_onset_ms.is_none() && t >= start + s.release.bad.onset_ms {
                    self.first_onset_ms = Some(start + s.release.bad.onset_ms);
                }
                model.intensity(t - start)
            }
            _ => 0.0,
        };
        let old = model.version(shared, &self.effects, 0.0);
        let new = model.version(shared, &self.effects, intensity);
        self.truth_new = new;

        let n_new = if share <= 0.0 {
            0
        } else if share >= 1.0 {
            total
        } else {
            binomial(&mut self.rng.split, total, share)
        };
        let n_old = total - n_new;
        let mut e_old = binomial(&mut self.rng.errors_old, n_old, old.error_prob);
        let mut e_new = binomial(&mut self.rng.errors_new, n_new, new.error_prob);
        // Reads of formats a version does not know: errors, lost writes or corruption.
        let (mut data_old, mut data_new) = (0.0, 0.0);
        if let Some(d) = &mut self.data {
            let spec = d.spec();
            let mut writer_new = spec.new;
            if self.flag_off {
                writer_new.writes = spec.old.writes;
            }
            data_old = d.error_probability(&spec.old);
            data_new = d.error_probability(&writer_new);
            let failed = d.tick(
                &mut self.rng.data,
                t,
                dt,
                [n_old, n_new],
                [spec.old, writer_new],
            );
            // A request that fails for two reasons fails once.
            e_old = (e_old + failed[0]).min(n_old);
            e_new = (e_new + failed[1]).min(n_new);
        }
        self.out.total_requests += total;
        self.out.failed_requests += e_old + e_new;

        // 3. Downtime: the true service level against the SLO.
        let with_data = |p: f64, d: f64| 1.0 - (1.0 - p) * (1.0 - d);
        let error_ratio = (1.0 - share) * with_data(old.error_prob, data_old)
            + share * with_data(new.error_prob, data_new);
        let slo_ms = s.slo.latency_p99_ms;
        let slow = if share >= 1.0 {
            self.slo_tail_new
                .get(new.latency_mu, model.latency_sigma, slo_ms)
        } else if share <= 0.0 {
            self.slo_tail_old
                .get(old.latency_mu, model.latency_sigma, slo_ms)
        } else {
            (1.0 - share)
                * self
                    .slo_tail_old
                    .get(old.latency_mu, model.latency_sigma, slo_ms)
                + share
                    * self
                        .slo_tail_new
                        .get(new.latency_mu, model.latency_sigma, slo_ms)
        };
        if error_ratio > s.slo.error_rate || slow > 0.01 {
            self.downtime_ms += dt;
        }

        // 4. The scrape of this interval, delivered after the metric delay.
        let mut observed = None;
        if self.needs.scrapes && self.new_exists() {
            let lost: bool = self.rng.scrape.random::<f64>() < s.signals.missing_scrape_probability;
            if !(lost || self.effects.metrics_gap) {
                let sigma = model.latency_sigma;
                let latency = self.needs.latency;
                let rng = &mut self.rng.latency;
                let mut sample = |n: u64, errors: u64, mu: f64| VersionSample {
                    requests: n,
                    errors,
                    latency_p99_ms: (latency && n > 0).then(|| scraped_p99(rng, mu, sigma, n)),
                };
                let scrape = Scrape {
                    at_ms: t + dt,
                    new: Some(sample(n_new, e_new, new.latency_mu)),
                    old: Some(sample(n_old, e_old, old.latency_mu)),
                };
                observed = Some(scrape);
                self.push_scrape(t + dt, scrape);
            } else {
                let scrape = Scrape {
                    at_ms: t + dt,
                    new: None,
                    old: None,
                };
                self.push_scrape(t + dt, scrape);
            }
        }
        // Scrapes run only while the new version exists; before, the game draws its own.
        let unscraped = !(self.needs.scrapes && self.new_exists());
        if let Some(live) = &mut self.live {
            let p99 = |v: Option<VersionSample>| v.and_then(|v| v.latency_p99_ms);
            let served = live::Served {
                requests: [n_old, n_new],
                errors: [e_old, e_new],
                mu: [old.latency_mu, new.latency_mu],
                p99_ms: [
                    observed.and_then(|o| p99(o.old)),
                    observed.and_then(|o| p99(o.new)),
                ],
                unscraped,
            };
            live.tick(model, t, served);
        }
        if self.trace.is_some() {
            let truth = [
                VersionTruth {
                    error_prob: with_data(old.error_prob, data_old),
                    ..old
                },
                VersionTruth {
                    error_prob: with_data(new.error_prob, data_new),
                    ..new
                },
            ];
            self.record(t, share, truth, observed, total, e_old + e_new);
        }
    }

    /// Records the row of this tick when tracing.
    fn record(
        &mut self,
        t: u64,
        share: f64,
        truth: [VersionTruth; 2],
        observed: Option<Scrape>,
        requests: u64,
        failed: u64,
    ) {
        let model = &self.p.model;
        if let Some(tr) = &mut self.trace {
            let new = observed.and_then(|s| s.new);
            let old = observed.and_then(|s| s.old);
            let seen = new.filter(|o| o.requests > 0);
            tr.rows.push(TraceRow {
                t_s: t as f64 / 1000.0,
                share_new: share,
                true_error_rate_old: truth[0].error_prob,
                true_error_rate_new: truth[1].error_prob,
                observed_error_rate_new: seen.map(|o| o.errors as f64 / o.requests as f64),
                true_p99_old_ms: model.p99(truth[0].latency_mu),
                true_p99_new_ms: model.p99(truth[1].latency_mu),
                observed_p99_new_ms: seen.and_then(|o| o.latency_p99_ms),
                requests,
                failed_requests: failed,
                observed_requests_new: new.map(|o| o.requests),
                observed_errors_new: new.map(|o| o.errors),
                observed_requests_old: old.map(|o| o.requests),
                observed_errors_old: old.map(|o| o.errors),
                observed_p99_old_ms: old.and_then(|o| o.latency_p99_ms),
            });
        }
    }

    fn push_scrape(&mut self, at: u64, scrape: Scrape) {
        self.pending.push_back(Pending {
            deliver_ms: at + self.p.scenario.signals.metric_delay_ms,
            attempt: self.attempt,
            scrape,
        });
    }

    fn health_check(&mut self, t: u64) {
        let hc = &self.p.scenario.health_check;
        self.queue
            .push_in(t + hc.interval_ms, At::Sample, Event::HealthCheck);
        let u: f64 = self.rng.health.random();
        let watching = self.new_exists() && self.watching();
        // A game day shows every probe of the new version, watched by the policy or not.
        let shown = self.live.is_some() && self.new_exists();
        if !(watching || shown) {
            return;
        }
        let model = &self.p.model;
        let flaky = hc.false_failure_probability.max(self.effects.flapping);
        let slow = self.timeout_tail.get(
            self.truth_new.latency_mu,
            model.latency_sigma,
            hc.timeout_ms as f64,
        );
        let ok_prob = (1.0 - flaky)
            * (1.0 - self.truth_new.error_prob)
            * (1.0 - slow)
            * (1.0 - self.effects.capacity_loss);
        let ok = u < ok_prob;
        if let Some(live) = &mut self.live {
            live.health_check(ok);
        }
        if !watching {
            return;
        }
        if let Some(tr) = &mut self.trace {
            tr.health_checks.push((t, ok));
        }
        let d = self.policy.on_health_check(t, ok);
        self.decide(t, d);
    }
}
