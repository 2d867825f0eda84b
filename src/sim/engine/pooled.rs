//! A system service's block that nothing observes, pooled: its truth is computed and scored
//! interval by interval (the service level, the downtime, what its callers see of it), but
//! its requests and failed requests are drawn once, at its last interval, from the sums
//! of its intervals' means and failing means (see `model::blocks`, "In a system", for why
//! that is exact, and ARCHITECTURE.md for the rule).

use super::sample::row;
use super::Replication;
use crate::model::blocks::BLOCK_TICKS;
use crate::model::service::Interval;
use crate::model::system::CalleeState;
use crate::model::traffic::{fraction, Split};
use crate::signals::Served;
use crate::sim::rng::sample::binomial;
use crate::sim::rng::{stream_at, Stream};

/// An interval of a pooled block whose timeline row waits for the block's counts.
#[derive(Debug, Clone)]
pub(super) struct PooledRow {
    t: u64,
    share: f64,
    iv: Interval,
    /// Its mean requests and the probability that one fails.
    m: f64,
    q: f64,
    /// Whether its scrape is drawn for the row (the new version existed), its deploy
    /// attempt and whether the metrics pipeline had a gap.
    scraped: bool,
    attempt: u32,
    gap: bool,
}

impl Replication<'_, '_> {
    /// Whether nothing but the scorer reads service `s`'s counts now: nothing that reads a
    /// single service's (see [`Self::counts_read`]), requests Poisson (no dispersion), and
    /// no caller holding on its dependencies that reads the error ratio of its scrapes
    /// while its release exists. A timeline's rows do not count: they are written when
    /// the block's counts are drawn.
    fn counts_unobserved(&self, s: usize) -> bool {
        let exists = self.releases[self.services[s].release].exists();
        !(self.counts_read(s)
            || self.p.scenario.signals.request_dispersion > 1.0
            || (self.seen_by_callers && exists))
    }

    /// The interval at `t` of service `s` (a service of a system) at `share`, pooled when
    /// its block is: a block is pooled when, at its first interval, nothing observes its
    /// counts and no event of this replication is queued before its last interval (so
    /// nothing can come to observe them). Should it be observed before its end after all,
    /// the intervals passed are drawn at once then, and the rest one by one. Returns
    /// whether the interval was pooled (and scored); otherwise the tick draws it.
    pub(super) fn pooled_tick(&mut self, t: u64, s: usize, share: f64) -> bool {
        let dt = self.p.scenario.scrape_interval_ms;
        let i = t / dt;
        let block = BLOCK_TICKS as u64;
        let ticks = self.p.scenario.duration_ms.div_ceil(dt);
        let end = ((i / block + 1) * block).min(ticks);
        let unobserved = self.counts_unobserved(s);
        if i % block == 0 {
            if !(unobserved && self.quiet_through((end.max(1) - 1) * dt)) {
                return false;
            }
            self.services[s].start_pooling(t, dt);
        } else if !self.services[s].pooling() {
            return false;
        } else if !unobserved {
            // Observed after all: the intervals passed at once, the rest one by one.
            self.draw_pooled(s);
            return false;
        }
        let r = self.services[s].release;
        let release = &self.releases[r];
        let service = &mut self.services[s];
        let (iv, m, q) = service.pooled_interval(t, dt, release);
        if let Some(onset) = iv.onset_ms {
            self.scorer.onset(onset);
        }
        let level = service.level(&iv, share);
        if !release.exists() {
            self.seen_error = None;
        }
        self.last = CalleeState {
            share,
            truth: iv.with_data(),
        };
        self.scorer.level(dt, &level);
        if self.agenda.trace.as_ref().is_some_and(|tr| !tr.events_only) {
            self.pooled_rows.push(PooledRow {
                t,
                share,
                iv,
                m,
                q,
                scraped: self.signals.needs().scrapes && release.exists(),
                attempt: release.attempt,
                gap: service.effects().metrics_gap,
            });
        }
        if i + 1 >= end {
            self.draw_pooled(s);
        }
        true
    }

    /// The intervals of service `s` pooled so far, drawn at once and scored; a timeline's
    /// rows of them written.
    fn draw_pooled(&mut self, s: usize) {
        let (n, e) = self.services[s].draw_pooled();
        self.scorer.served(n, e);
        if !self.pooled_rows.is_empty() {
            self.write_pooled_rows(n, e);
        }
    }

    /// The rows of the pooled intervals, given their `n` requests and `e` failed: split
    /// into intervals and versions as the draws one by one would have made them (given
    /// the totals, failed requests fall in the intervals as a multinomial of weights
    /// `m_i q_i`, and succeeded ones of weights `m_i (1 - q_i)`; within an interval, on
    /// the new version with the share of each that it holds), by binomial bridges from the
    /// block's bridge stream; each row's scrape drawn from the counts, sent to nobody.
    fn write_pooled_rows(&mut self, n: u64, e: u64) {
        let rows = std::mem::take(&mut self.pooled_rows);
        let dt = self.p.scenario.scrape_interval_ms;
        let b = rows.first().map_or(0, |x| x.t / dt / BLOCK_TICKS as u64);
        let mut bridge = stream_at(self.world.seed, b, Stream::Bridge);
        let mut m_left: f64 = rows.iter().map(|x| x.m).sum();
        let mut w_left: f64 = rows.iter().map(|x| x.m * x.q).sum();
        let (mut e_left, mut s_left) = (e, n - e);
        let count = rows.len();
        for (k, mut x) in rows.into_iter().enumerate() {
            let w = x.m * x.q;
            let (ei, si) = if k + 1 == count {
                (e_left, s_left)
            } else {
                (
                    binomial(&mut bridge, e_left, fraction(w, w_left)),
                    binomial(&mut bridge, s_left, fraction(x.m - w, m_left - w_left)),
                )
            };
            e_left -= ei;
            s_left -= si;
            m_left -= x.m;
            w_left -= w;
            let p_new = x.iv.truth[1].error_prob;
            let (e_new, s_new) = if x.share <= 0.0 {
                (0, 0)
            } else if x.share >= 1.0 {
                (ei, si)
            } else {
                (
                    binomial(&mut bridge, ei, fraction(x.share * p_new, x.q)),
                    binomial(
                        &mut bridge,
                        si,
                        fraction(x.share * (1.0 - p_new), 1.0 - x.q),
                    ),
                )
            };
            x.iv.served = Split {
                requests: [ei + si - e_new - s_new, e_new + s_new],
                errors: [ei - e_new, e_new],
            };
            let observed = if x.scraped {
                let served = Served {
                    requests: x.iv.served.requests,
                    errors: x.iv.served.errors,
                    mu: [x.iv.truth[0].latency_mu, x.iv.truth[1].latency_mu],
                    share: x.share,
                    gauges: None,
                };
                self.signals
                    .scrape_unsent(x.t, dt, x.attempt, &served, x.gap)
            } else {
                None
            };
            if let Some(tr) = self.agenda.trace.as_mut() {
                tr.rows
                    .push(row(&self.p.model, x.t, x.share, &x.iv, observed));
            }
        }
    }
}
