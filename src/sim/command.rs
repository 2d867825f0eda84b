//! Commands from outside the simulation: what a game-day team (or a real automation
//! driving rollsim over HTTP) does, and the facilitator's live fault injects.
//!
//! A command applies at one simulated instant, after every event before that instant and
//! before any event at it. A game records each command with its instant; replaying the
//! recording ([`super::replicate_scripted`]) puts the commands back at the same instants,
//! so the replay is the game, event for event.

use serde::{Deserialize, Serialize};

/// One action on the running release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Roll the new version back now.
    Rollback,
    /// Skip the remaining rollout steps: all traffic to the new version, promoted.
    Promote,
    /// Hold the rollout at its current step.
    Pause,
    /// Continue a paused rollout with the time its step had already held.
    Resume,
    /// Acknowledge the open pages (an alert rule the team asked to be paged by).
    Ack,
    /// Re-deploy the release after a rollback.
    Deploy,
    /// Turn the new code path's feature flag on or off.
    Flag { on: bool },
    /// Start fault number `fault` of the scenario now, for `duration_ms`.
    Inject { fault: usize, duration_ms: u64 },
}

/// Every command but `inject` (which needs a fault and a duration), by name.
const SIMPLE: [Command; 8] = [
    Command::Rollback,
    Command::Promote,
    Command::Pause,
    Command::Resume,
    Command::Ack,
    Command::Deploy,
    Command::Flag { on: true },
    Command::Flag { on: false },
];

impl Command {
    /// The command named `name` ([`Command::name`]), for those that need no argument.
    pub fn from_name(name: &str) -> Option<Command> {
        SIMPLE.into_iter().find(|c| c.name() == name)
    }

    /// The names [`Command::from_name`] knows, and `inject`, for messages.
    pub fn names() -> String {
        let simple: Vec<&str> = SIMPLE.iter().map(Command::name).collect();
        format!("{} or inject", simple.join(", "))
    }

    /// The command's name in recordings and on the HTTP API.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Rollback => "rollback",
            Command::Promote => "promote",
            Command::Pause => "pause",
            Command::Resume => "resume",
            Command::Ack => "ack",
            Command::Deploy => "deploy",
            Command::Flag { on: true } => "flag_on",
            Command::Flag { on: false } => "flag_off",
            Command::Inject { .. } => "inject",
        }
    }
}

/// A command at the simulated instant it applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timed {
    pub at_ms: u64,
    pub command: Command,
}

/// What became of a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// Whether the command changed anything.
    pub done: bool,
    /// What it did, or why it did nothing (e.g. "nothing to roll back").
    pub detail: String,
}

impl Applied {
    pub(crate) fn done(detail: impl Into<String>) -> Self {
        Applied {
            done: true,
            detail: detail.into(),
        }
    }
    pub(crate) fn ignored(why: impl Into<String>) -> Self {
        Applied {
            done: false,
            detail: why.into(),
        }
    }
}
