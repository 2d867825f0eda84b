//! Game day: a scenario played live, in real time or faster, by a team or by a real
//! automation, with the faults hidden; afterwards a scorecard against every automatic
//! policy on the very same world.
//!
//! Data flow, one direction: the runtime loop ([`runtime::play`]) owns the [`Game`] and
//! is the only writer; HTTP handlers ([`server`]) and the terminal ([`ui`]) send it
//! requests over a channel and read the snapshots it publishes. The game itself is the
//! engine's [`crate::sim::Live`] replication: no clock, no I/O, so a recorded game
//! replays exactly ([`crate::sim::replicate_scripted`]).

pub mod console;
pub mod game;
pub mod metrics;
pub mod recording;
pub mod run;
pub mod runtime;
pub mod scorecard;
pub mod server;
pub mod ui;

pub use game::{Game, Source, State};

use crate::scenario::{Checkpoint, Guards, PolicyRule, PolicySpec, Scenario, Until};

/// The game the unit tests play: a service of 10 requests/s over `duration`, a release at
/// 1 m and a five-minute `infra_latency` fault `db-slow` with `fault_keys` added.
#[cfg(test)]
pub(crate) fn test_scenario(duration: &str, fault_keys: &str) -> Scenario {
    let text = format!(
        "[simulation]\nduration = \"{duration}\"\n[service]\nname = \"s\"\nrequest_rate = 10\n\
         [release]\nat = \"1m\"\n[[faults]]\nname = \"db-slow\"\nkind = \"infra_latency\"\n\
         duration = \"5m\"\n{fault_keys}\n"
    );
    crate::scenario::parse(&text, "t.toml").expect("a valid scenario")
}

/// The team's policy: the rule that pages the team (a scenario policy's, with a page
/// instead of an automatic action), or no rule at all. Pipeline retries stay off: after
/// the team rolls back, re-deploying is the team's call (`deploy`).
pub fn team_spec(scenario: &Scenario, pager: Option<usize>) -> PolicySpec {
    let base = pager.and_then(|i| scenario.policies.get(i));
    PolicySpec {
        name: scorecard::TEAM.into(),
        until: base.map_or(Until::End, |b| b.until),
        rule: base.map_or(PolicyRule::None, |b| b.rule.clone()),
        rollout: base.map_or_else(|| scenario.rollout.clone(), |b| b.rollout.clone()),
        action: crate::scenario::Action::Rollback,
        unsafe_rollback: None,
        checkpoint: Checkpoint::Rollback,
        guards: Guards {
            retry_backoff: 1.0,
            ..Guards::default()
        },
        pipeline_retries: false,
    }
}
