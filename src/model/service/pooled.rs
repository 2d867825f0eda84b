//! A system service's intervals pooled: in a block nobody observes, its truth is computed
//! interval by interval as always (the drift moves, callers' retries move its load, its
//! callees' truth moves its errors), but its counts are only summed, and drawn at once
//! when the block ends (see `model::blocks`, "In a system").

use super::{Interval, Service};
use crate::model::release::Release;

impl Service<'_, '_> {
    /// The same, for a service of a system: its traffic drawn from sub-streams keyed by
    /// block, and pooled where nobody observes it (see `Traffic::keyed_by_block`).
    pub fn keyed_by_block(mut self) -> Self {
        self.traffic = self.traffic.keyed_by_block();
        self
    }

    /// Whether the current block's intervals are being pooled.
    #[inline]
    pub fn pooling(&self) -> bool {
        self.traffic.pooling()
    }

    /// The block whose first interval starts at `t` is pooled.
    pub fn start_pooling(&mut self, t: u64, dt: u64) {
        self.traffic.start_pooling(t / dt.max(1));
    }

    /// The truth of `[t, t + dt)` with `release` at its current share, as
    /// [`Self::interval`] computes it, its counts pooled, not drawn (the interval's
    /// `served` is empty): returns it with its mean requests and the probability that one
    /// of them fails (the versions mixed by the share). Never with a data store.
    pub fn pooled_interval(&mut self, t: u64, dt: u64, release: &Release) -> (Interval, f64, f64) {
        let rate = self.model.rate_at(self.clock_ms + t) * self.load;
        let m = rate * dt as f64 / 1000.0;
        self.baseline = self
            .traffic
            .baseline(self.scenario.service.baseline_error_rate);
        let (truth, onset_ms) = self.truth(t, rate, self.baseline, release);
        let share = release.share;
        // As `Traffic::split` draws: the new version's share of the requests, each
        // failing with its version's probability.
        let q = if share <= 0.0 {
            truth[0].error_prob
        } else if share >= 1.0 {
            truth[1].error_prob
        } else {
            (1.0 - share) * truth[0].error_prob + share * truth[1].error_prob
        };
        self.traffic.pool(m, q);
        let iv = Interval::uncounted(truth, onset_ms);
        (iv, m, q)
    }

    /// The requests and failed requests of the intervals pooled so far, drawn at once
    /// (see `Traffic::draw_pooled`); the pooling ends.
    pub fn draw_pooled(&mut self) -> (u64, u64) {
        self.traffic.draw_pooled()
    }
}
