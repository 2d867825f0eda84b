//! The game: a [`Live`] replication plus what the players see and did.
//!
//! Everything here is synchronous and clock-free: the runtime decides when game time
//! moves. What the players see is filtered: the faults (the point of the exercise) and the
//! release's ground truth stay hidden until the scorecard.

use crate::scenario::PolicySpec;
use crate::scenario::Scenario;
use crate::sim::command::{Applied, Command, Timed};
use crate::sim::{Live, LiveEnd, LivePage, LiveView, Prepared, World};
use serde::Serialize;

/// Event kinds the players do not see: the hidden faults, and bookkeeping.
const HIDDEN: &[&str] = &[
    "fault_start",
    "fault_end",
    "human_acts",
    "human_keeps",
    "human_resumes",
];

/// How many events `/api/state` and the dashboards show.
const FEED: usize = 50;

/// How many of the latest actions `/api/state` and the dashboards show (the counts cover
/// them all; `actions.csv` has every one).
pub const RECENT_ACTIONS: usize = 50;

/// Whether an inject of `duration_ms` makes sense in this game: above zero and no longer
/// than the game itself (a fault cannot outlast the horizon; 500 billion years is a typo,
/// not an exercise).
pub fn check_inject_ms(scenario: &Scenario, duration_ms: u64) -> Result<(), String> {
    if duration_ms == 0 {
        return Err("must be above zero".into());
    }
    if duration_ms > scenario.duration_ms {
        return Err(format!(
            "{} is longer than the game ({}); at most the game's duration",
            crate::check::duration_text(duration_ms),
            crate::check::duration_text(scenario.duration_ms),
        ));
    }
    Ok(())
}

/// Who issued a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The HTTP API (a player's script, a real automation, the facilitator).
    Http,
    /// The dashboard's keys or typed commands.
    Console,
    /// A recording being replayed.
    Script,
}

/// One command as the game recorded it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Action {
    pub at_ms: u64,
    #[serde(skip)]
    pub command: Command,
    pub action: &'static str,
    /// The injected fault's name (`inject` only).
    pub fault: Option<String>,
    /// The injected fault's duration (`inject` only).
    pub duration_ms: Option<u64>,
    pub source: Source,
    pub done: bool,
    pub detail: String,
}

/// One event as the players see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedEvent {
    pub t_s: f64,
    pub kind: &'static str,
    pub detail: String,
}

/// A version's signals as the players' dashboards show them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionState {
    pub requests_total: u64,
    pub errors_total: u64,
    /// Errors / requests over the last minute of game time; `None` without requests.
    pub error_rate_1m: Option<f64>,
    /// The latest scraped p99 latency of the last minute.
    pub p99_ms: Option<f64>,
}

/// `GET /api/state`: everything the players may see, at one instant. Its size does not
/// grow with the number of requests, and nothing in it identifies the world (no seed:
/// players could otherwise find the facilitator's world by trying seeds; the scorecard
/// reveals it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct State {
    pub service: String,
    pub game_time_s: f64,
    pub duration_s: f64,
    #[serde(flatten)]
    pub view: LiveView,
    pub old: VersionState,
    pub new: VersionState,
    pub health_checks_passed: u64,
    pub health_checks_failed: u64,
    pub pages: Vec<LivePage>,
    /// The latest events, oldest first (faults hidden).
    pub events: Vec<FeedEvent>,
    /// The latest [`RECENT_ACTIONS`] actions, oldest first.
    pub actions: Vec<Action>,
    /// Every action so far, and those that took effect.
    pub actions_total: usize,
    pub actions_done: usize,
    /// Faults a facilitator can inject by name.
    pub injectable: Vec<String>,
}

/// A game in progress.
pub struct Game<'a> {
    scenario: &'a Scenario,
    live: Live<'a>,
    actions: Vec<Action>,
    actions_done: usize,
}

impl<'a> Game<'a> {
    /// A game of `world` in which `team` (the scenario's pager rule or none) pages the
    /// players; nothing has happened yet.
    pub fn new(p: &'a Prepared<'a>, world: &'a World, team: &'a PolicySpec) -> Self {
        Game {
            scenario: p.scenario,
            live: Live::new(p, world, team),
            actions: Vec::new(),
            actions_done: 0,
        }
    }

    pub fn now_ms(&self) -> u64 {
        self.live.now_ms()
    }

    pub fn finished(&self) -> bool {
        self.live.finished()
    }

    pub fn duration_ms(&self) -> u64 {
        self.scenario.duration_ms
    }

    /// Plays every event before `t_ms`.
    pub fn advance_to(&mut self, t_ms: u64) {
        self.live.advance_to(t_ms);
    }

    /// Applies a command now and records it.
    pub fn apply(&mut self, command: Command, source: Source) -> Applied {
        let at_ms = self.live.now_ms();
        let applied = self.live.apply(command);
        let (fault, duration_ms) = match command {
            Command::Inject { fault, duration_ms } => (
                self.scenario.faults.get(fault).map(|f| f.name.clone()),
                Some(duration_ms),
            ),
            _ => (None, None),
        };
        self.actions_done += usize::from(applied.done);
        self.actions.push(Action {
            at_ms,
            command,
            action: command.name(),
            fault,
            duration_ms,
            source,
            done: applied.done,
            detail: applied.detail.clone(),
        });
        applied
    }

    /// The commands so far, as a script that replays this game.
    pub fn script(&self) -> Vec<Timed> {
        self.actions
            .iter()
            .map(|a| Timed {
                at_ms: a.at_ms,
                command: a.command,
            })
            .collect()
    }

    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    pub fn view(&self) -> LiveView {
        self.live.view()
    }

    pub fn pages(&self) -> &[LivePage] {
        self.live.pages()
    }

    /// The last scrape intervals, oldest first, for sparklines.
    pub fn history(&self) -> impl Iterator<Item = &crate::sim::LiveTick> {
        self.live.history()
    }

    /// The events the players may see, oldest first.
    pub fn feed(&self) -> impl DoubleEndedIterator<Item = FeedEvent> + '_ {
        self.live
            .trace()
            .events
            .iter()
            .filter(|e| !HIDDEN.contains(&e.kind))
            .map(|e| FeedEvent {
                t_s: e.t_s,
                kind: e.kind,
                detail: e.detail.clone(),
            })
    }

    fn version(&self, v: usize) -> VersionState {
        let c = self.live.counters();
        let minute_ago = self.now_ms().saturating_sub(60_000);
        let (mut n, mut e) = (0, 0);
        let mut p99 = None;
        for t in self.live.history() {
            if t.t_ms >= minute_ago {
                n += t.requests[v];
                e += t.errors[v];
                if t.p99_ms[v].is_some() {
                    p99 = t.p99_ms[v];
                }
            }
        }
        VersionState {
            requests_total: c.requests[v],
            errors_total: c.errors[v],
            error_rate_1m: (n > 0).then(|| e as f64 / n as f64),
            p99_ms: p99,
        }
    }

    pub fn state(&self) -> State {
        let c = self.live.counters();
        let mut events: Vec<FeedEvent> = self.feed().rev().take(FEED).collect();
        events.reverse();
        State {
            service: self.scenario.service.name.clone(),
            game_time_s: self.now_ms() as f64 / 1000.0,
            duration_s: self.scenario.duration_ms as f64 / 1000.0,
            view: self.live.view(),
            old: self.version(0),
            new: self.version(1),
            health_checks_passed: c.health_checks[0],
            health_checks_failed: c.health_checks[1],
            pages: self.live.pages().to_vec(),
            events,
            actions: self.actions[self.actions.len().saturating_sub(RECENT_ACTIONS)..].to_vec(),
            actions_total: self.actions.len(),
            actions_done: self.actions_done,
            injectable: self
                .scenario
                .faults
                .iter()
                .map(|f| f.name.clone())
                .collect(),
        }
    }

    /// `GET /metrics`: the game's counters in the Prometheus text exposition format.
    pub fn metrics(&self) -> String {
        super::metrics::encode(
            &self.scenario.service.name,
            self.live.counters(),
            &self.live.view(),
        )
    }

    /// Plays out the rest of the horizon untouched and returns the outcome.
    pub fn finish(self) -> (LiveEnd, Vec<Action>) {
        (self.live.finish(), self.actions)
    }
}
