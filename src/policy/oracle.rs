//! `oracle`: rolls back at the true onset of a bad release plus a reaction time: a
//! yardstick, not a bound (a rule that reacts sooner than the reaction time does better).
//! It reads the truth, so it is not a [`super::Policy`]: the engine schedules its rollback
//! (`PolicyRule::Oracle`), and it is shown as a reference, never ranked.

use crate::check::Dur;
use crate::policy::PolicyRule;
use serde::Deserialize;

/// An `oracle` entry's own keys.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// Time from the true onset to the rollback decision (default 1 minute).
    pub reaction: Option<Dur>,
}

impl Raw {
    /// The checked rule; any duration is a valid reaction time.
    pub fn check(&self) -> PolicyRule {
        PolicyRule::Oracle {
            reaction_ms: self.reaction.map(|d| d.0).unwrap_or(60_000),
        }
    }
}
