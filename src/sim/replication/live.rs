//! A replication driven from outside, step by step: the engine of a game day.
//!
//! [`Live`] advances the same replication as `replicate` does, but only as far as it is
//! told, and takes [`Command`]s between steps. Pages go to the team instead of the human
//! model, every probe of the new version is shown, and the requests of each tick are kept
//! as counters and latency histogram buckets so they can be exposed to a real Prometheus.
//! The bucket counts come from their own stream ([`Stream::Exposition`]), which nothing
//! else reads: exposing metrics never changes a run.

use super::{Ask, Event, Phase, Replication};
use crate::model::faults::FaultWindow;
use crate::model::ServiceModel;
use crate::outcome::RunRecord;
use crate::scenario::{PolicySpec, StepGate};
use crate::sim::command::{Applied, Command};
use crate::sim::rng::sample::{binomial, scraped_p99};
use crate::sim::rng::{stream, Stream, StreamRng};
use crate::sim::trace::Trace;
use crate::sim::{Prepared, World};
use serde::Serialize;
use std::collections::VecDeque;

/// Upper bounds (seconds) of the exposed latency histogram: Prometheus' default buckets.
pub const LATENCY_BUCKETS_S: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How many ticks of history a game keeps for its dashboards.
const HISTORY: usize = 720;

/// Monotonic totals since the start of the game, as a Prometheus client would count
/// them; index 0 is the old (stable) version, 1 the new one.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Counters {
    pub requests: [u64; 2],
    pub errors: [u64; 2],
    /// Cumulative bucket counts: requests at or under each of [`LATENCY_BUCKETS_S`].
    pub latency_buckets: [[u64; 11]; 2],
    /// Sum of request latencies (seconds), from the mean of the latency distribution.
    pub latency_sum_s: [f64; 2],
    /// Probes of the new version: [passed, failed].
    pub health_checks: [u64; 2],
}

/// One scrape interval as the team's dashboards show it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LiveTick {
    pub t_ms: u64,
    pub requests: [u64; 2],
    pub errors: [u64; 2],
    /// The scraped p99 (ms), when the scrape arrived and the version served requests.
    pub p99_ms: [Option<f64>; 2],
}

/// A page to the team.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LivePage {
    pub id: u32,
    pub at_ms: u64,
    pub about: &'static str,
    pub acked_ms: Option<u64>,
}

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

/// One tick's requests per version (old, new), as the engine drew them.
pub(super) struct Served {
    pub requests: [u64; 2],
    pub errors: [u64; 2],
    /// Log-mean latency.
    pub mu: [f64; 2],
    /// The policy scrape's p99, when one was drawn and arrived.
    pub p99_ms: [Option<f64>; 2],
    /// No policy scrape was drawn this tick (before the deploy).
    pub unscraped: bool,
}

pub(super) struct LiveState {
    rng: StreamRng,
    counters: Counters,
    history: VecDeque<LiveTick>,
    pages: Vec<LivePage>,
}

impl LiveState {
    pub(super) fn new(seed: u64) -> Self {
        LiveState {
            rng: stream(seed, Stream::Exposition),
            counters: Counters::default(),
            history: VecDeque::with_capacity(HISTORY),
            pages: Vec::new(),
        }
    }

    pub(super) fn page(&mut self, t: u64, about: &'static str) {
        let id = self.pages.len() as u32 + 1;
        self.pages.push(LivePage {
            id,
            at_ms: t,
            about,
            acked_ms: None,
        });
    }

    pub(super) fn health_check(&mut self, ok: bool) {
        self.counters.health_checks[usize::from(!ok)] += 1;
    }

    /// Counts one tick's requests: totals, errors and latency buckets per version.
    pub(super) fn tick(&mut self, model: &ServiceModel, t: u64, served: Served) {
        let Served {
            requests,
            errors,
            mu,
            p99_ms,
            unscraped,
        } = served;
        let c = &mut self.counters;
        for v in 0..2 {
            let n = requests[v];
            c.requests[v] += n;
            c.errors[v] += errors[v];
            if n == 0 {
                continue;
            }
            let mean_s = (mu[v] + model.latency_sigma.powi(2) / 2.0).exp() / 1000.0;
            c.latency_sum_s[v] += n as f64 * mean_s;
            // A multinomial draw over the buckets as a chain of conditional binomials.
            let (mut left, mut above, mut at_or_under) = (n, 1.0, 0);
            for (i, le) in LATENCY_BUCKETS_S.iter().enumerate() {
                let tail = model.latency_tail(mu[v], le * 1000.0);
                let k = if above > 0.0 {
                    binomial(
                        &mut self.rng,
                        left,
                        ((above - tail) / above).clamp(0.0, 1.0),
                    )
                } else {
                    0
                };
                left -= k;
                at_or_under += k;
                above = tail;
                c.latency_buckets[v][i] += at_or_under;
            }
        }
        // Before the deploy no policy scrape is drawn: the dashboards still show a p99,
        // drawn from this state's own stream (a lost scrape stays a gap).
        let mut p99_ms = p99_ms;
        for v in 0..2 {
            if unscraped && requests[v] > 0 {
                p99_ms[v] = Some(scraped_p99(
                    &mut self.rng,
                    mu[v],
                    model.latency_sigma,
                    requests[v],
                ));
            }
        }
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(LiveTick {
            t_ms: t,
            requests,
            errors,
            p99_ms,
        });
    }

    /// Acknowledges every open page; returns what they were about.
    fn ack(&mut self, t: u64) -> Vec<&'static str> {
        self.pages
            .iter_mut()
            .filter(|p| p.acked_ms.is_none())
            .map(|p| {
                p.acked_ms = Some(t);
                p.about
            })
            .collect()
    }
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
        LiveView {
            now_ms: r.now_ms,
            duration_ms: r.p.scenario.duration_ms,
            phase: match r.phase {
                Phase::Idle if r.attempt == 0 => "not_deployed",
                Phase::Idle => "rolled_back",
                Phase::Rolling => "rolling",
                Phase::Baking => "baking",
                Phase::Promoted => "promoted",
                Phase::RollingBack => "rolling_back",
            },
            attempt: r.attempt,
            share_new: r.share,
            paused: r.paused_at.is_some(),
            awaiting_signoff: r.awaiting_signoff,
            flag_on: !r.flag_off,
            finished: self.finished(),
        }
    }

    pub fn counters(&self) -> &Counters {
        &self.state().counters
    }

    /// The last scrape intervals (at most 720), oldest first.
    pub fn history(&self) -> impl Iterator<Item = &LiveTick> {
        self.state().history.iter()
    }

    pub fn pages(&self) -> &[LivePage] {
        &self.state().pages
    }

    /// Everything that happened so far, faults included (the caller decides what to show).
    pub fn trace(&self) -> &Trace {
        // A live replication is always traced.
        static EMPTY: Trace = Trace {
            rows: Vec::new(),
            events: Vec::new(),
            health_checks: Vec::new(),
        };
        self.r.trace.as_ref().unwrap_or(&EMPTY)
    }

    fn state(&self) -> &LiveState {
        self.r
            .live
            .as_deref()
            .expect("a Live replication is built with its live state")
    }

    /// Runs to the horizon (the rest of the game plays out untouched) and scores it.
    pub fn finish(mut self) -> LiveEnd {
        let horizon = self.r.p.scenario.duration_ms;
        self.r.advance(horizon);
        // The faults after the world's are the ones injected live.
        let injected = self.r.faults[self.r.world.faults.len()..].to_vec();
        let pages = self.r.live.take().map(|s| s.pages).unwrap_or_default();
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
        let at = self.trace.as_ref().map_or(0, |tr| tr.events.len());
        let serving = matches!(self.phase, Phase::Rolling | Phase::Baking | Phase::Promoted);
        let rolling = matches!(self.phase, Phase::Rolling | Phase::Baking);
        let applied = match c {
            Command::Rollback if serving => {
                self.note_detection(t);
                self.acted = true;
                self.paused_at = None;
                self.awaiting_signoff = false;
                self.rollback(t);
                Applied::done("rolling back to the old version")
            }
            Command::Rollback => {
                Applied::ignored("nothing to roll back: the new version is not serving")
            }
            Command::Promote if rolling => {
                self.epoch += 1; // voids the remaining steps
                self.paused_at = None;
                self.awaiting_advance = false;
                self.awaiting_signoff = false;
                if self.share < 1.0 {
                    self.share = 1.0;
                    self.serve_start_ms.get_or_insert(t);
                    self.note(t, "share", || "100% to the new version".into());
                }
                self.promote(t);
                Applied::done("promoted: all traffic on the new version")
            }
            Command::Promote => Applied::ignored("nothing to promote: no rollout in progress"),
            Command::Pause if rolling && self.paused_at.is_none() => {
                self.note_detection(t);
                self.paused_at = Some(t);
                self.epoch += 1;
                self.note(t, "pause", || "by the team".into());
                Applied::done("rollout paused")
            }
            Command::Pause if rolling => Applied::ignored("the rollout is already paused"),
            Command::Pause => Applied::ignored("nothing to pause: no rollout in progress"),
            Command::Resume if self.paused_at.is_some() => {
                self.resume(t);
                Applied::done("rollout resumed")
            }
            // A step that waits for a person (`approval = true`): resuming approves it.
            Command::Resume
                if rolling
                    && self.awaiting_advance
                    && self.plan[self.step].gate == StepGate::Approval =>
            {
                self.step_passed(t);
                Applied::done("step approved")
            }
            Command::Resume => Applied::ignored("the rollout is not paused"),
            Command::Ack => self.ack(t),
            Command::Deploy if self.phase == Phase::Idle && self.attempt > 0 => {
                self.deploy(t);
                Applied::done(format!("deploy attempt {}", self.attempt))
            }
            Command::Deploy if self.attempt == 0 => {
                Applied::ignored("the release is not deployed yet: its deploy is scheduled")
            }
            Command::Deploy => Applied::ignored("the release is already deployed"),
            Command::Flag { on: false } if !self.flag_off => {
                self.note_detection(t);
                self.turn_flag_off(t, "by the team".into());
                Applied::done("feature flag off: the new code path is disabled")
            }
            Command::Flag { on: true } if self.flag_off => {
                self.note(t, "flag_on", || "by the team".into());
                self.flag_off = false;
                if !self.fixed {
                    self.defect_off = false;
                }
                Applied::done("feature flag on: the new code path runs again")
            }
            Command::Flag { on } => Applied::ignored(format!(
                "the flag is already {}",
                if on { "on" } else { "off" }
            )),
            Command::Inject { fault, duration_ms } => self.inject(t, fault, duration_ms),
        };
        if let Some(tr) = &mut self.trace {
            let event = crate::sim::trace::TraceEvent {
                t_s: t as f64 / 1000.0,
                kind: "command",
                detail: format!(
                    "{}: {}{}",
                    c.name(),
                    if applied.done { "" } else { "ignored, " },
                    applied.detail
                ),
            };
            tr.events.insert(at.min(tr.events.len()), event);
        }
        applied
    }

    fn ack(&mut self, t: u64) -> Applied {
        let Some(live) = &mut self.live else {
            return Applied::ignored("no page is open");
        };
        let acked = live.ack(t);
        if acked.is_empty() {
            return Applied::ignored("no page is open");
        }
        // A fired rule that the team acknowledges without acting is silenced, as the
        // human model's "keep" is: the rule watches again after the silence.
        let rule = acked.contains(&Ask::Rule.describe());
        if rule && self.acted && self.paused_at.is_none() && self.phase != Phase::RollingBack {
            self.acted = false;
            self.policy.reset();
            self.silenced_until = t + self.p.scenario.human.silence_ms;
        }
        Applied::done(format!("{} page(s) acknowledged", acked.len()))
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
        let i = self.faults.len();
        self.faults.to_mut().push(window);
        self.active.push(false);
        self.queue.push(t, Event::FaultStart(i));
        self.queue.push(end, Event::FaultEnd(i));
        Applied::done(format!(
            "{} injected for {}",
            f.name,
            humantime::format_duration(std::time::Duration::from_millis(duration_ms))
        ))
    }
}
