//! Blocks of scrape intervals: the unit in which a single service's traffic is drawn, so
//! that the stretches nobody observes cost one draw per counter instead of one per scrape.
//!
//! A block is [`BLOCK_TICKS`] consecutive scrape intervals (15 minutes at 15 s scrapes; the
//! last block of a run may be shorter). Every draw of the traffic of block `b` comes from
//! sub-streams keyed by `b` (`stream_at(seed, b, ..)`), so every block starts from the same
//! stream state whatever happened in the blocks before it, and whichever way they were
//! drawn (common random numbers: one policy may skip a block that another draws scrape by
//! scrape).
//!
//! Within a block, always, first: the block's request total `N ~ Poisson(M)`, `M` the sum
//! of its intervals' means (so the total of a run never depends on the policy). Then:
//!
//! - a block whose truth is *constant* at its start (one version serves everything, no
//!   ramp, no overload, the defect's intensity and the active faults the same at its first
//!   and last interval; only the drifting baseline may move, interval by interval) draws
//!   its errors at once: each of the `N` requests falls in interval `i` with probability
//!   `m_i / M` and fails there with probability `p_i`, so `E | N ~ Binomial(N, W / M)`
//!   with `W = Σ m_i p_i`. When per-interval counts are wanted, they are split off exactly:
//!   given `E` and `S = N - E`, the errors fall in the intervals as a multinomial of
//!   weights `m_i p_i` and the successes of weights `m_i (1 - p_i)`, independently, drawn
//!   as binomial bridges (`e_i ~ Binomial(E_left, w_i / W_left)`). Should the truth change
//!   within the block after all (an event nobody foresaw at its start: a policy's
//!   decision, a command), the rest of the block continues as a general block from the
//!   requests left: the requests of the remaining intervals do not depend on the truth,
//!   and their errors are drawn afresh under the new truth, which is exact. Where nothing
//!   but the scorer reads an interval's counts, the split is put off: the block's last
//!   interval takes the totals left, and a change of the truth first splits the intervals
//!   passed by the same bridges in the same order (see `Traffic::counts_unread`).
//! - any other block splits `N` into its intervals by a binomial bridge
//!   (`n_i ~ Binomial(N_left, m_i / M_left)`, the multinomial of a Poisson total) and draws
//!   each interval's share and errors as the scrape-by-scrape path always did.
//!
//! A release train's slot starts at its own clock time (`World::clock_ms`, any millisecond
//! of the week). Its blocks are aligned to the slot's own start, as a run's are, so block
//! `b` holds the same intervals of the slot whatever its clock; where the rate varies with
//! the time of day or week, a block's means are those of its intervals at the clock time,
//! computed when the block starts ([`Blocks::means_at`]); with a flat rate they are the
//! precomputed ones. The draws are the same functions of the means as at time 0.
//!
//! Blocks are used only where every draw above is exact: requests Poisson
//! (`request_dispersion` = 1; a dispersed count is a Gamma mixture drawn per interval),
//! one service (a system's callers change a callee's load at every tick: see below).
//! Everywhere else the traffic is drawn scrape by scrape, as before blocks existed.
//!
//! In a system, a service's means are not known ahead (its callers' retries set its load
//! interval by interval, from its truth of the interval before), so it has no `Blocks`;
//! its draws still come from sub-streams keyed by the block of [`BLOCK_TICKS`] intervals
//! that holds them (`Traffic::keyed_by_block`): within a block, interval by interval, as
//! the sequential streams drew, so how one block was drawn never moves another's. A block
//! that nothing observes (decided at its first interval: see the engine's `pooled.rs`)
//! is *pooled*: its truth is computed interval by interval as always, and only the sums
//! `M = Σ m_i` and `W = Σ m_i q_i` are kept (`q_i` the probability that a request of
//! interval `i` fails, the versions mixed by the share, the callees' effect included);
//! at its last interval its requests `N ~ Poisson(M)` and failed requests `Binomial(N, W /
//! M)` are drawn at once. That is exact because in a system no count ever feeds back into
//! a truth: a caller's failures and a callee's retried load follow the callees' true
//! probabilities, and only `seen_error` follows counts (the scrapes'), which a pooled
//! block's rule excludes. Should the block come to be observed before its end, the
//! intervals passed are drawn at once then and the rest one by one from the same
//! sub-streams (fresh draws: exact). A timeline's rows of a pooled block are written at
//! its end, the totals split into intervals and versions by binomial bridges (the
//! multinomial given the totals) from the block's `Bridge` stream. A `[data]` store's reads and writes are drawn per interval from the requests
//! split off the block, so its blocks are never skipped.

use super::ServiceModel;
use crate::scenario::Scenario;

pub use crate::sim::rng::BLOCK_TICKS;

/// Above this many scrape ticks per run, the intervals' means are computed when needed
/// instead of kept (8 bytes a tick; the shipped scenarios need at most 40,320).
const KEEP_MEANS_UP_TO: u64 = 1 << 20;

/// The blocks of a scenario's runs: the mean requests of every scrape interval and the
/// sum of each block's, computed once per experiment (every run shares them).
#[derive(Debug, Clone)]
pub struct Blocks {
    dt_ms: u64,
    ticks: u64,
    /// The mean of every interval (empty past [`KEEP_MEANS_UP_TO`] ticks).
    means: Vec<f64>,
    /// The sum of the means of each block's intervals, in order.
    totals: Vec<f64>,
    model: ServiceModel,
}

impl Blocks {
    /// The blocks of `s` with service model `model`, or `None` where blocks would not be
    /// exact (see the module's documentation): dispersed requests. The caller decides for
    /// systems (a service of a system never uses blocks).
    pub fn new(model: &ServiceModel, s: &Scenario) -> Option<Blocks> {
        if s.signals.request_dispersion > 1.0 {
            return None;
        }
        let dt_ms = s.scrape_interval_ms;
        let ticks = s.duration_ms.div_ceil(dt_ms);
        let mean = |i: u64| interval_mean(model, i * dt_ms, dt_ms);
        let means: Vec<f64> = if ticks <= KEEP_MEANS_UP_TO {
            (0..ticks).map(mean).collect()
        } else {
            Vec::new()
        };
        let block = BLOCK_TICKS as u64;
        let totals = (0..ticks.div_ceil(block))
            .map(|b| {
                let end = ((b + 1) * block).min(ticks);
                (b * block..end)
                    .map(|i| means.get(i as usize).copied().unwrap_or_else(|| mean(i)))
                    .sum()
            })
            .collect();
        Some(Blocks {
            dt_ms,
            ticks,
            means,
            totals,
            model: model.clone(),
        })
    }

    /// The mean requests of interval `i` (the one starting at `i` scrape intervals).
    #[inline]
    pub fn mean(&self, i: u64) -> f64 {
        match self.means.get(i as usize) {
            Some(&m) => m,
            None => interval_mean(&self.model, i * self.dt_ms, self.dt_ms),
        }
    }

    /// The intervals of block `b`: its first and one past its last.
    #[inline]
    pub fn range(&self, b: u64) -> (u64, u64) {
        let block = BLOCK_TICKS as u64;
        (b * block, ((b + 1) * block).min(self.ticks))
    }

    /// The sum of the means of block `b`'s intervals.
    #[inline]
    pub fn total(&self, b: u64) -> f64 {
        self.totals.get(b as usize).copied().unwrap_or(0.0)
    }

    /// Whether a run whose model time 0 is at `clock_ms` (a release train's slot) has
    /// other interval means than a run starting at 0: only when the clock is not 0 and the
    /// request rate varies with the time of day or week. Blocks are aligned to the run's own
    /// start either way, so block `b` holds the same intervals of the run at any clock.
    #[inline]
    pub fn shifted_at(&self, clock_ms: u64) -> bool {
        clock_ms != 0 && self.model.rate_varies()
    }

    /// The means of block `b`'s intervals in a run whose model time 0 is at `clock_ms`,
    /// written to the front of `out` (interval `range(b).0 + k` at `out[k]`), and their
    /// sum: the block's request total is Poisson of that sum, as at clock 0. Computed per
    /// block when it starts (two cosines per swing, see [`ServiceModel::rates_from`]),
    /// since a train's slots start at any millisecond of the week.
    pub fn means_at(&self, b: u64, clock_ms: u64, out: &mut [f64; BLOCK_TICKS]) -> f64 {
        let (first, end) = self.range(b);
        let len = (end - first) as usize;
        let rates = &mut out[..len];
        self.model
            .rates_from(clock_ms + first * self.dt_ms, self.dt_ms, rates);
        for m in rates.iter_mut() {
            // As `interval_mean` computes it from the rate.
            *m = *m * 1.0 * self.dt_ms as f64 / 1000.0;
        }
        rates.iter().sum()
    }

    /// The scrape interval (ms).
    #[inline]
    pub fn dt_ms(&self) -> u64 {
        self.dt_ms
    }
}

/// The mean requests of `[t, t + dt)`, as the scrape-by-scrape path computes it.
#[inline]
fn interval_mean(model: &ServiceModel, t: u64, dt: u64) -> f64 {
    model.rate_at(t) * 1.0 * dt as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse;

    #[test]
    fn block_totals_sum_the_intervals_means_and_cover_the_run() {
        let s = match parse(
            "[simulation]\nduration = \"1h 1m\"\nscrape_interval = \"15s\"\n\
             [service]\nrequest_rate = 100.0\ndiurnal_amplitude = 0.5\n",
            "t",
        ) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        let model = ServiceModel::new(&s);
        let Some(b) = Blocks::new(&model, &s) else {
            panic!("blocks apply")
        };
        // 244 ticks: four full blocks and one of four.
        assert_eq!(b.range(3), (180, 240));
        assert_eq!(b.range(4), (240, 244));
        let sum: f64 = (0..244).map(|i| b.mean(i)).sum();
        let totals: f64 = (0..5).map(|k| b.total(k)).sum();
        assert!((sum - totals).abs() < 1e-6 * sum);
        assert_eq!(b.mean(7), model.rate_at(7 * 15_000) * 15.0);
    }

    #[test]
    fn dispersed_requests_keep_the_per_scrape_path() {
        for (extra, blocks) in [
            ("[signals]\nrequest_dispersion = 2.0\n", false),
            ("[signals]\nrequest_dispersion = 1.0\n", true),
            ("[data]\ninitial_records = 1000\n", true),
        ] {
            let text = format!("[simulation]\nduration = \"1h\"\n{extra}");
            let s = match parse(&text, "t") {
                Ok(s) => s,
                Err(e) => panic!("{e}"),
            };
            let b = Blocks::new(&ServiceModel::new(&s), &s);
            assert_eq!(b.is_some(), blocks, "{extra}");
        }
    }
}
