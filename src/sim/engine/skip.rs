//! Fast-forward: a block of a single service's traffic that nothing can observe or change
//! is drawn and scored in one step at its first tick (see `model::blocks` for the draws,
//! and ARCHITECTURE.md for the rule).

use super::Replication;
use crate::model::blocks::BLOCK_TICKS;
use crate::sim::queue::Phase as At;

impl Replication<'_, '_> {
    /// Whether nothing can observe or change the block of service `s` that starts at `t`
    /// before its end: no policy watching that reads an observation (a passive one, `none`
    /// or `oracle`, reads none), no game, no timeline rows, no signal faults
    /// (whose state moves at every scrape), no data store (whose reads and writes are drawn
    /// per interval), no event queued before its last tick, and its last tick before the
    /// end of this advance.
    pub(super) fn unobserved_block(&self, t: u64, s: usize) -> bool {
        let dt = self.p.scenario.scrape_interval_ms;
        let traced = self.agenda.trace.as_ref().is_some_and(|tr| !tr.events_only);
        if self.counts_read(s) || traced || self.in_system {
            return false;
        }
        let Some(blocks) = self.p.blocks.as_ref() else {
            return false;
        };
        let (_, end) = blocks.range(t / dt / BLOCK_TICKS as u64);
        let last = (end.max(1) - 1) * dt;
        last < self.until_ms && self.quiet_through(last)
    }

    /// Whether anything but the scorer reads service `s`'s counts now: a policy watching
    /// its release that reads an observation (a passive one, `none` or `oracle`, reads
    /// none), a game, signal faults (whose state moves at every scrape) or a data store
    /// (whose reads and writes are drawn per interval). The one rule behind both a single
    /// service's skipped blocks and a system's pooled ones.
    pub(super) fn counts_read(&self, s: usize) -> bool {
        let release = &self.releases[self.services[s].release];
        let watched =
            release.exists() && self.response.watching(release) && self.response.observes();
        watched
            || self.exposition.is_some()
            || self.signals.has_faults()
            || self.services[s].data.is_some()
    }

    /// Whether no event is queued before the sample at `last` (the last tick of a block):
    /// then nothing can come to observe or change the block before it ends.
    pub(super) fn quiet_through(&self, last: u64) -> bool {
        self.agenda
            .queue
            .peek_key()
            .is_none_or(|key| (last, At::Sample) < key)
    }

    /// The block of service `s` starting at `t`, drawn and scored at once (see
    /// [`Self::unobserved_block`]); the scrapes due in it reach nobody.
    pub(super) fn skip_block(&mut self, t: u64, s: usize) {
        let dt = self.p.scenario.scrape_interval_ms;
        let r = self.services[s].release;
        let scorer = &mut self.scorer;
        let stretch =
            self.services[s].skip_block(t, &self.releases[r], |level| scorer.level(dt, level));
        if let Some(onset) = stretch.onset_ms {
            self.scorer.onset(onset);
        }
        self.scorer.served(stretch.requests, stretch.failed);
        let next = t + stretch.ticks * dt;
        self.next_ticks[s] = next;
        while self.signals.due(next - dt).is_some() {}
    }
}
