//! A rollback held on a dependency (`hold_on_dependency`, in a system): the rule asks for
//! a rollback while a service it depends on explains the signal (see the system engine's
//! `explains`), so the rollback waits, and so does the rollout. A held rollback pauses the
//! rollout where it is, as Flagger halts a canary's advancement at a failed check and Argo
//! Rollouts pauses at an inconclusive analysis: a release the rule wants rolled back is
//! never promoted past that wish. The hold ends in one of three ways:
//!
//! - the rule's next answer to the same kind of observation is no longer a rollback (the
//!   dependency's trouble passed and took the signal with it): the rollout goes on, with
//!   the time its step had already held;
//! - nothing explains the signal any more and the rule still asks: the rollout goes on and
//!   the rule acts at once (a rollback, or a page where a human decides);
//! - the rollback has been held `hold_at_most` since its first held decision: it is
//!   carried out all the same (Flagger rolls back a canary that made no progress within
//!   its deadline), so a dependency that never recovers cannot stall a release for ever.

use super::{Response, Run};
use crate::sim::agenda::Event;

/// The kind of observation a rule answered: a hold is let go only by the rule's answer to
/// the same kind (a rule that reads scrapes answers `Continue` to every health check).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    Scrape,
    Probe,
    /// A queued event (the oracle bound): it answers once.
    Event,
}

/// A rollback decision held now.
#[derive(Debug, Clone, Copy)]
pub(super) struct Holding {
    /// Its first held decision, where `hold_at_most` counts from.
    pub(super) since: u64,
    pub(super) source: Source,
    /// Whether the hold paused the rollout (it was rolling and not paused already).
    pub(super) paused: bool,
}

impl Response<'_> {
    /// The rule asks for a rollback at `t` and a dependency explains the signal: the
    /// decision is held (counted) and, at its first held decision, the rollout pauses and
    /// the bound is scheduled.
    pub(super) fn hold(&mut self, t: u64, source: Source, run: Run) {
        run.agenda.note(t, "held", || {
            "a dependency's own trouble explains it".into()
        });
        run.scorer.held();
        if self.holding.is_some() {
            return;
        }
        let paused = run.release.can_pause();
        if paused {
            run.release.hold(t);
            run.agenda
                .note(t, "pause", || "rollback held on a dependency".into());
        }
        self.holding = Some(Holding {
            since: t,
            source,
            paused,
        });
        if let Some(most) = self.spec.guards.hold_at_most_ms {
            let (release, attempt) = (run.release.index, run.release.attempt);
            run.agenda.at(
                t.saturating_add(most),
                Event::HoldExpires {
                    release,
                    attempt,
                    since: t,
                },
            );
        }
    }

    /// The hold ends at `t`: a rollout it paused goes on.
    pub(super) fn let_go(&mut self, t: u64, run: Run) {
        let Some(h) = self.holding.take() else {
            return;
        };
        if h.paused && run.release.paused_at.is_some() {
            self.resume(t, run);
        }
    }

    /// The held rollback has waited `hold_at_most`: it is carried out now.
    pub(super) fn hold_expired(&mut self, t: u64, mut run: Run) {
        run.agenda
            .note(t, "hold_expired", || "hold_at_most reached".into());
        self.let_go(t, run.reborrow());
        if self.watching(run.release) {
            self.carry_out(t, run);
        }
    }
}
