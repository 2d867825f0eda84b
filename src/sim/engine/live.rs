//! A replication driven from outside, step by step: the engine of a game day.
//!
//! [`Live`] advances the same replication as `replicate` does, but only as far as it is
//! told, and takes [`Command`]s between steps. Pages go to the team instead of the human
//! model, every probe of the new version is shown, and the requests of each tick are kept
//! as counters and latency histogram buckets ([`Exposition`]) so they can be exposed to a
//! real Prometheus; exposing metrics never changes a run.

use super::{Phase, Replication};
use crate::model::faults::FaultWindow;
use crate::outcome::RunRecord;
use crate::response::team::LivePage;
use crate::scenario::{PolicySpec, StepGate};
use crate::signals::exposition::{Counters, Exposition, LiveTick};
use crate::sim::command::{Applied, Command};
use crate::sim::trace::Trace;
use crate::sim::{Prepared, World};
use serde::Serialize;

/// Where the release stands, as the team sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveView {
    pub now_ms: u64,
    pub duration_ms: u64,
    pub phase: &'static str,
    /// Deploys of the release so far.
    pub attempt: u32,
    pub share_new: f64,
    pub paused: bool,
    /// A promotion waits for the team's sign-off (`promote`).
    pub awaiting_signoff: bool,
    pub flag_on: bool,
    pub finished: bool,
}

/// A game day's replication: advanced by the caller's clock, steered by commands.
pub struct Live<'a> {
    r: Replication<'a, 'a>,
}

/// What a finished game leaves: the team's outcome, its timeline, its pages, and the
/// faults injected live (which the scorecard adds to the world of every automatic policy).
pub struct LiveEnd {
    pub record: RunRecord,
    pub trace: Trace,
    pub pages: Vec<LivePage>,
    pub injected: Vec<FaultWindow>,
}

impl<'a> Live<'a> {
    /// The game of `spec` (the team's pager rule, or none) against `world`, at time 0.
    pub fn new(p: &'a Prepared<'a>, world: &'a World, spec: &'a PolicySpec) -> Self {
        let mut r = Replication::new(p, world, spec, Some(Trace::default()), true);
        r.start();
        Live { r }
    }

    /// Simulated time: every event before it has happened.
    pub fn now_ms(&self) -> u64 {
        self.r.now_ms
    }

    /// Whether the horizon has been reached.
    pub fn finished(&self) -> bool {
        self.r.now_ms >= self.r.p.scenario.duration_ms
    }

    /// Runs every event before `t_ms` (never past the horizon, never backwards).
    pub fn advance_to(&mut self, t_ms: u64) {
        if t_ms > self.r.now_ms {
            self.r.advance(t_ms);
        }
    }

    /// Applies `command` now.
    pub fn apply(&mut self, command: Command) -> Applied {
        if self.finished() {
            return Applied::ignored("the game is over");
        }
        let t = self.r.now_ms;
        self.r.command(t, command)
    }

    pub fn view(&self) -> LiveView {
        let r = &self.r;
        let release = &r.releases[0];
        LiveView {
            now_ms: r.now_ms,
            duration_ms: r.p.scenario.duration_ms,
            phase: match release.phase {
                Phase::Idle if release.attempt == 0 => "not_deployed",
                Phase::Idle => "rolled_back",
                Phase::Rolling => "rolling",
                Phase::Baking => "baking",
                Phase::Promoted => "promoted",
                Phase::RollingBack => "rolling_back",
            },
            attempt: release.attempt,
            share_new: release.share,
            paused: release.paused_at.is_some(),
            awaiting_signoff: release.awaiting_signoff,
            flag_on: !release.flag_off,
            finished: self.finished(),
        }
    }

    pub fn counters(&self) -> &Counters {
        &self.exposition().counters
    }

    /// The last scrape intervals (at most 720), oldest first.
    pub fn history(&self) -> impl Iterator<Item = &LiveTick> {
        self.exposition().history.iter()
    }

    pub fn pages(&self) -> &[LivePage] {
        self.r.response.pages()
    }

    /// Everything that happened so far, faults included (the caller decides what to show).
    pub fn trace(&self) -> &Trace {
        // A live replication is always traced.
        static EMPTY: Trace = Trace {
            rows: Vec::new(),
            events: Vec::new(),
            health_checks: Vec::new(),
            events_only: false,
        };
        self.r.agenda.trace.as_ref().unwrap_or(&EMPTY)
    }

    fn exposition(&self) -> &Exposition {
        self.r
            .exposition
            .as_deref()
            .expect("a Live replication is built with its exposition")
    }

    /// Runs to the horizon (the rest of the game plays out untouched) and scores it.
    pub fn finish(mut self) -> LiveEnd {
        let horizon = self.r.p.scenario.duration_ms;
        self.r.advance(horizon);
        // The faults after the world's are the ones injected live.
        let injected = self.r.services[0].fault_windows()[self.r.world.faults.len()..].to_vec();
        let pages = self.r.response.take_pages();
        let (record, trace) = self.r.finish();
        LiveEnd {
            record,
            trace: trace.unwrap_or_default(),
            pages,
            injected,
        }
    }
}

impl Replication<'_, '_> {
    /// Carries out a command at `t` (every event before `t` has happened).
    pub(super) fn command(&mut self, t: u64, c: Command) -> Applied {
        // The command's own event goes before the events it causes.
        let at = self.agenda.trace.as_ref().map_or(0, |tr| tr.events.len());
        let (response, run) = self.run(0);
        let release = &*run.release;
        let (serving, rolling) = (release.serving(), release.rolling());
        let applied = match c {
            Command::Rollback if serving => {
                response.take_over(t, run);
                Applied::done("rolling back to the old version")
            }
            Command::Rollback => {
                Applied::ignored("nothing to roll back: the new version is not serving")
            }
            Command::Promote if rolling => {
                run.release.skip_steps(t, run.agenda);
                run.release.promote(t, run.agenda);
                Applied::done("promoted: all traffic on the new version")
            }
            Command::Promote => Applied::ignored("nothing to promote: no rollout in progress"),
            Command::Pause if release.can_pause() => {
                run.scorer.detected(t);
                run.release.hold(t);
                run.agenda.note(t, "pause", || "by the team".into());
                Applied::done("rollout paused")
            }
            Command::Pause if rolling => Applied::ignored("the rollout is already paused"),
            Command::Pause => Applied::ignored("nothing to pause: no rollout in progress"),
            Command::Resume if release.paused_at.is_some() => {
                response.resume(t, run);
                Applied::done("rollout resumed")
            }
            // A step that waits for a person (`approval = true`): resuming approves it.
            Command::Resume
                if rolling && release.awaiting_advance && release.gate() == StepGate::Approval =>
            {
                response.step_passed(t, run);
                Applied::done("step approved")
            }
            Command::Resume => Applied::ignored("the rollout is not paused"),
            Command::Ack => response.ack(t, release),
            Command::Deploy if release.phase == Phase::Idle && release.attempt > 0 => {
                self.deploy(t, 0);
                Applied::done(format!("deploy attempt {}", self.releases[0].attempt))
            }
            Command::Deploy if release.attempt == 0 => {
                Applied::ignored("the release is not deployed yet: its deploy is scheduled")
            }
            Command::Deploy => Applied::ignored("the release is already deployed"),
            Command::Flag { on: false } if !release.flag_off => {
                run.scorer.detected(t);
                response.turn_flag_off(t, "by the team".into(), run);
                Applied::done("feature flag off: the new code path is disabled")
            }
            Command::Flag { on: true } if release.flag_off => {
                run.agenda.note(t, "flag_on", || "by the team".into());
                run.release.flag_off = false;
                if !run.release.fixed {
                    run.release.defect_off = false;
                }
                Applied::done("feature flag on: the new code path runs again")
            }
            Command::Flag { on } => Applied::ignored(format!(
                "the flag is already {}",
                if on { "on" } else { "off" }
            )),
            Command::Inject { fault, duration_ms } => self.inject(t, fault, duration_ms),
        };
        if let Some(tr) = &mut self.agenda.trace {
            let event = crate::sim::trace::TraceEvent {
                t_s: t as f64 / 1000.0,
                kind: "command",
                detail: format!(
                    "{}: {}{}",
                    c.name(),
                    if applied.done { "" } else { "ignored, " },
                    applied.detail
                ),
                service: None,
            };
            tr.events.insert(at.min(tr.events.len()), event);
        }
        applied
    }

    fn inject(&mut self, t: u64, fault: usize, duration_ms: u64) -> Applied {
        let Some(f) = self.p.scenario.faults.get(fault) else {
            return Applied::ignored(format!("no fault number {fault}"));
        };
        if duration_ms == 0 {
            return Applied::ignored("a fault needs a duration above zero");
        }
        let end = t
            .saturating_add(duration_ms)
            .min(self.p.scenario.duration_ms);
        let window = FaultWindow {
            fault,
            start_ms: t,
            end_ms: end,
        };
        self.services[0].inject(window, &mut self.agenda);
        Applied::done(format!(
            "{} injected for {}",
            f.name,
            crate::check::duration_text(duration_ms)
        ))
    }
}
