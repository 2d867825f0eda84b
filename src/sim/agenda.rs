//! What the stages hand back to the engine: the events they schedule and the notes of the
//! timeline. The engine owns one [`Agenda`] and lends it to the stage it dispatches to, so a
//! stage schedules without knowing the loop that will fire its events.

use super::command::Command;
use super::queue::{EventQueue, Phase};
use super::trace::{Trace, TraceEvent};

/// Something scheduled to happen. Events that concern a service carry its index in the
/// engine's services, events of a release its index in the engine's releases; a release
/// event also carries the deploy attempt (and the rollout epoch) it was scheduled for, and
/// is void once the release has moved past them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Event {
    /// The scrape interval of a service starts: its truth and what it serves.
    Tick { service: usize },
    /// A health check of the new version of a service.
    HealthCheck { service: usize },
    /// A deploy of the release starts (the first, or the pipeline's retry).
    Deploy { release: usize },
    /// A traffic step of the rollout plan; `epoch` changes when the rollout pauses, which
    /// cancels the steps scheduled before the pause.
    Share {
        release: usize,
        attempt: u32,
        epoch: u32,
        step: usize,
    },
    /// The bake is over: promote (or ask for the sign-off).
    Promote {
        release: usize,
        attempt: u32,
        epoch: u32,
    },
    /// A gradual rollback has moved every request back to the old version.
    RollbackDone { release: usize, attempt: u32 },
    /// The oracle bound acts on a bad release.
    Oracle { release: usize, attempt: u32 },
    /// A fault occurrence of a service starts.
    FaultStart { service: usize, fault: usize },
    /// A fault occurrence of a service ends.
    FaultEnd { service: usize, fault: usize },
    /// A data migration of a service starts.
    Migration { service: usize, migration: usize },
    /// A fix rolled forward serves.
    FixDeployed { release: usize, attempt: u32 },
    /// A rollback held on a dependency since `since` has waited `hold_at_most`: it is
    /// carried out if it is still held (void once the rule let go or the release moved on).
    HoldExpires {
        release: usize,
        attempt: u32,
        since: u64,
    },
    /// The paged human answers.
    HumanAnswer {
        release: usize,
        attempt: u32,
        about: Ask,
    },
    /// A step that waits for approval has held its pause: page for the approval.
    ApprovalDue {
        release: usize,
        attempt: u32,
        epoch: u32,
    },
    /// A command from outside (a replayed game-day action).
    Command(Command),
}

/// What a human is paged about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
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
    /// The page's subject, as the timeline and the team's pager show it.
    pub fn describe(self) -> &'static str {
        match self {
            Ask::Rule => "rule fired",
            Ask::Promotion => "promotion sign-off",
            Ask::Pause => "rollout paused",
            Ask::Approval => "step waits for approval",
        }
    }
}

/// The event queue and the timeline of one replication.
#[derive(Default, Clone)]
pub struct Agenda {
    /// Events by (time, phase, insertion order).
    pub queue: EventQueue<Event>,
    /// The timeline, when recording (`rollsim trace`, a game).
    pub trace: Option<Trace>,
}

impl Agenda {
    /// An empty agenda; `trace` records the timeline when given.
    pub fn new(trace: Option<Trace>) -> Self {
        Agenda {
            queue: EventQueue::default(),
            trace,
        }
    }

    /// Schedules a state change at `t`.
    pub fn at(&mut self, t: u64, event: Event) {
        self.queue.push(t, event);
    }

    /// Schedules `event` at `t` in the given phase of that instant.
    pub fn at_in(&mut self, t: u64, phase: Phase, event: Event) {
        self.queue.push_in(t, phase, event);
    }

    /// Records an event of the timeline when tracing; `detail` is only formatted then.
    pub fn note(&mut self, t: u64, kind: &'static str, detail: impl FnOnce() -> String) {
        if let Some(tr) = &mut self.trace {
            tr.events.push(TraceEvent {
                t_s: t as f64 / 1000.0,
                kind,
                detail: detail(),
                service: None,
            });
        }
    }
}
