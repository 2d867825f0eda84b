//! The requests a service serves in one scrape interval: how many arrive, how they split
//! between the versions, and how many truly fail. These are the truth of the interval (the
//! users' experience), drawn from the world's streams only, whatever the policy does.

use super::blocks::{Blocks, BLOCK_TICKS};
use super::VersionTruth;
use crate::scenario::Scenario;
use crate::sim::rng::sample::{binomial, requests, Drift};
use crate::sim::rng::{stream, stream_at, Stream, StreamRng};

/// The streams of a service's traffic, and the drift of its baseline error rate.
#[derive(Clone)]
pub struct Traffic<'a> {
    seed: u64,
    traffic: StreamRng,
    noise: StreamRng,
    split: StreamRng,
    errors_old: StreamRng,
    errors_new: StreamRng,
    /// Reads and writes of the data store.
    pub data: StreamRng,
    drift: Drift,
    /// The blocks its traffic is drawn in, if any (see [`super::blocks`]).
    blocks: Option<&'a Blocks>,
    /// The model time at which the run starts (0 but in a release train's slot).
    clock_ms: u64,
    /// Whether its blocks' means differ from those `blocks` holds (a slot at another time
    /// of day or week): then each block's means are computed when it starts.
    shifted: bool,
    /// The draws of the current block.
    block: Box<BlockState>,
    /// Whether nothing reads an interval's counts but the scorer, which only sums them
    /// (see [`Traffic::counts_unread`]).
    counts_unread: bool,
    /// In a system: its streams keyed by block, and what a block nobody observes has
    /// pooled (see [`Traffic::keyed_by_block`]).
    keyed: Option<Box<Keyed>>,
}

/// A system service's traffic in blocks (see `model::blocks`, "In a system"): the block
/// whose sub-streams are in use, and the sums a block nobody observes has pooled.
#[derive(Clone)]
struct Keyed {
    /// The block whose sub-streams are in use (`u64::MAX`: none yet).
    block: u64,
    /// Whether the block's intervals are pooled, not drawn.
    pooling: bool,
    /// The sums over the intervals pooled: `Σ m_i` and `Σ m_i q_i`.
    m: f64,
    w: f64,
}

impl Keyed {
    /// Block `block`'s sub-streams in use, nothing pooled.
    fn at(block: u64) -> Self {
        Keyed {
            block,
            pooling: false,
            m: 0.0,
            w: 0.0,
        }
    }
}

/// What is left to draw of the current block.
#[derive(Clone)]
struct BlockState {
    /// Its first interval and one past its last.
    first: u64,
    end: u64,
    /// Requests not yet given to an interval, and the sum of the means left.
    n_left: u64,
    m_left: f64,
    /// The means of its intervals, when the run is shifted in time (else `Blocks` has
    /// them).
    means: [f64; BLOCK_TICKS],
    /// The binomial bridges that split the block's totals into intervals.
    bridge: StreamRng,
    /// The baselines of its intervals, drawn at its start (constant blocks only).
    baselines: Option<[f64; BLOCK_TICKS]>,
    /// The errors drawn at once in a block whose truth is constant.
    constant: Option<Constant>,
}

/// A block whose truth is constant (but for the baseline's drift): its errors and
/// successes drawn at once, split into intervals when asked for.
#[derive(Clone)]
struct Constant {
    /// The version serving every request, and its share (0 or 1).
    version: usize,
    share: f64,
    /// Each interval's error probability and `m_i p_i`.
    p: [f64; BLOCK_TICKS],
    w: [f64; BLOCK_TICKS],
    /// Errors and successes not yet given to an interval, and the weights left.
    e_left: u64,
    s_left: u64,
    w_left: f64,
    /// Intervals passed whose counts nobody read, not yet split off (see
    /// [`Traffic::counts_unread`]): the ones just before the current interval.
    deferred: u64,
}

/// `part / whole` as a probability (0 when nothing is left).
#[inline]
pub fn fraction(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        (part / whole).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

impl<'a> Traffic<'a> {
    /// The traffic streams of the run whose seed is `seed` (the drift starts in its
    /// stationary distribution, drawn from the noise stream), drawn in `blocks` if given.
    pub fn new(seed: u64, s: &Scenario, blocks: Option<&'a Blocks>) -> Self {
        let mut noise = stream(seed, Stream::Noise);
        let drift = Drift::new(
            &mut noise,
            s.signals.noise_sd,
            s.signals.noise_correlation_ms,
            s.scrape_interval_ms,
        );
        Traffic {
            seed,
            traffic: stream(seed, Stream::Traffic),
            noise,
            split: stream(seed, Stream::Split),
            errors_old: stream(seed, Stream::ErrorsOld),
            errors_new: stream(seed, Stream::ErrorsNew),
            data: stream(seed, Stream::Data),
            drift,
            blocks,
            clock_ms: 0,
            shifted: false,
            block: Box::new(BlockState {
                first: 0,
                end: 0,
                n_left: 0,
                m_left: 0.0,
                means: [0.0; BLOCK_TICKS],
                bridge: stream(seed, Stream::Bridge),
                baselines: None,
                constant: None,
            }),
            counts_unread: false,
            keyed: None,
        }
    }

    /// The same, for a service of a system: its interval-by-interval draws come from
    /// sub-streams keyed by the block of [`BLOCK_TICKS`] intervals that holds them
    /// (`stream_at(seed, b, ..)`, sequential within the block), so how one block was drawn
    /// never moves another's; and a block nobody observes may pool its intervals instead
    /// (see [`Self::pool`]). Its callers change its load at every interval, so its means
    /// are not known ahead, and its blocks are not [`Blocks`].
    pub fn keyed_by_block(mut self) -> Self {
        self.keyed = Some(Box::new(Keyed::at(u64::MAX)));
        self
    }

    /// Interval `i` is drawn next: when it starts another block, that block's sub-streams
    /// take over (nothing pooled). A no-op unless [`Self::keyed_by_block`].
    #[inline]
    pub fn enter_keyed(&mut self, i: u64) {
        let Some(k) = &mut self.keyed else {
            return;
        };
        let b = i / BLOCK_TICKS as u64;
        if k.block == b {
            return;
        }
        *k.as_mut() = Keyed::at(b);
        self.enter_streams(b);
    }

    /// Block `b`'s sub-streams of requests, their split and each version's errors take
    /// over: a single service's block and a system service's keyed block start alike.
    #[inline]
    fn enter_streams(&mut self, b: u64) {
        let seed = self.seed;
        self.traffic = stream_at(seed, b, Stream::Traffic);
        self.split = stream_at(seed, b, Stream::Split);
        self.errors_old = stream_at(seed, b, Stream::ErrorsOld);
        self.errors_new = stream_at(seed, b, Stream::ErrorsNew);
    }

    /// The block of interval `i` (its first) starts pooled: its intervals' counts are not
    /// drawn, only summed (see [`Self::pool`]) until [`Self::draw_pooled`].
    pub fn start_pooling(&mut self, i: u64) {
        self.enter_keyed(i);
        if let Some(k) = &mut self.keyed {
            k.pooling = true;
        }
    }

    /// Whether the current block's intervals are being pooled.
    #[inline]
    pub fn pooling(&self) -> bool {
        self.keyed.as_ref().is_some_and(|k| k.pooling)
    }

    /// An interval pooled: `m` requests expected, each failing with probability `q` (the
    /// versions mixed by the share). Its requests are Poisson(`m`) and its failed requests
    /// Poisson(`m q`), independent of every other interval's given the truth, and nothing
    /// reads them but the scorer's sums: they are drawn with the others at once.
    #[inline]
    pub fn pool(&mut self, m: f64, q: f64) {
        if let Some(k) = &mut self.keyed {
            k.m += m;
            k.w += m * q;
        }
    }

    /// The intervals pooled so far, drawn at once from the block's sub-streams: requests
    /// `N ~ Poisson(Σ m_i)` and failed `Binomial(N, Σ m_i q_i / Σ m_i)` (a sum of
    /// independent Poisson counts, thinned); the pooling ends. The block's later intervals,
    /// if any, are drawn one by one from the same sub-streams (exact: fresh draws).
    pub fn draw_pooled(&mut self) -> (u64, u64) {
        let Some(k) = &mut self.keyed else {
            return (0, 0);
        };
        let n = requests(&mut self.traffic, k.m, 1.0);
        let e = binomial(&mut self.errors_old, n, fraction(k.w, k.m));
        k.pooling = false;
        k.m = 0.0;
        k.w = 0.0;
        (n, e)
    }

    /// The same, for a run where nothing reads an interval's requests and errors but the
    /// scorer, which only sums them (a policy that reads no scrape, nothing traced or
    /// shown, no data store): while a constant block's truth stays as it was, its
    /// intervals' counts are not split off one by one. They reach the scorer all at once,
    /// with the block's last interval (the block's totals, less what was split off), or,
    /// when the truth changes within the block, split off then by the very bridges, in
    /// the same order, that interval-by-interval drawing would have drawn: every draw,
    /// every total, every later interval is the same; only the counts of single
    /// intervals, which nobody reads, are not drawn.
    pub fn counts_unread(mut self) -> Self {
        self.counts_unread = true;
        self
    }

    /// The same, its run starting at model time `clock_ms` (a train's slot): its blocks'
    /// means are the model's at `clock_ms` on.
    pub fn with_clock(mut self, clock_ms: u64) -> Self {
        self.clock_ms = clock_ms;
        self.shifted = self.blocks.is_some_and(|b| b.shifted_at(clock_ms));
        self
    }

    /// The blocks its traffic is drawn in, if any.
    #[inline]
    pub fn blocks(&self) -> Option<&'a Blocks> {
        self.blocks
    }

    /// The mean requests of interval `i` of the current block.
    #[inline]
    fn mean(&self, blocks: &Blocks, i: u64) -> f64 {
        if self.shifted {
            self.block.means[(i - self.block.first) as usize]
        } else {
            blocks.mean(i)
        }
    }

    /// Whether interval `i` lies in the current block.
    #[inline]
    pub fn in_block(&self, i: u64) -> bool {
        self.block.first <= i && i < self.block.end
    }

    /// Block `b` starts: its streams are keyed by `b` and its request total is drawn.
    pub fn start_block(&mut self, b: u64) {
        let Some(blocks) = self.blocks else {
            return;
        };
        let seed = self.seed;
        let (first, end) = blocks.range(b);
        let m = if self.shifted {
            blocks.means_at(b, self.clock_ms, &mut self.block.means)
        } else {
            blocks.total(b)
        };
        self.enter_streams(b);
        let n = requests(&mut self.traffic, m, 1.0);
        let block = &mut *self.block;
        block.bridge = stream_at(seed, b, Stream::Bridge);
        block.first = first;
        block.end = end;
        block.n_left = n;
        block.m_left = m;
        block.baselines = None;
        block.constant = None;
    }

    /// Draws the baselines of every interval of the current block now (the drift moves
    /// once per interval, from the noise stream, in the same order as interval by
    /// interval) and returns them.
    pub fn draw_baselines(&mut self, baseline: f64) -> &[f64] {
        let len = (self.block.end - self.block.first) as usize;
        let xs = self.block.baselines.insert([baseline; BLOCK_TICKS]);
        if self.drift.is_flat() {
            // Every step is 1 and draws nothing: the baseline as a step leaves it.
            xs.fill(baseline.min(1.0));
        } else {
            for x in xs.iter_mut().take(len) {
                *x = (baseline * self.drift.step(&mut self.noise)).min(1.0);
            }
        }
        &xs[..len]
    }

    /// Whether the drift never moves (`noise_sd = 0`): then every baseline a block draws
    /// is the same.
    #[inline]
    pub fn drift_is_flat(&self) -> bool {
        self.drift.is_flat()
    }

    /// The baselines drawn by [`Self::draw_baselines`] for the current block (empty if
    /// none were).
    #[inline]
    pub fn baselines(&self) -> &[f64] {
        let len = (self.block.end - self.block.first) as usize;
        self.block.baselines.as_ref().map_or(&[], |xs| &xs[..len])
    }

    /// The current block's truth is constant: `version` serves every request (at
    /// `share`), failing with probability `p[i]` in its `i`-th interval. Its errors are
    /// drawn now: `Binomial(N, Σ m_i p_i / M)` (see [`super::blocks`]).
    pub fn set_constant(&mut self, version: usize, share: f64, p: &[f64]) {
        let Some(blocks) = self.blocks else {
            return;
        };
        let shifted = self.shifted;
        let block = &mut *self.block;
        // Built in place (two arrays of a block's length: no copy of them).
        let c = block.constant.insert(Constant {
            version,
            share,
            p: [0.0; BLOCK_TICKS],
            w: [0.0; BLOCK_TICKS],
            e_left: 0,
            s_left: 0,
            w_left: 0.0,
            deferred: 0,
        });
        let mut w_left = 0.0;
        for (k, &pk) in p.iter().enumerate().take(BLOCK_TICKS) {
            let m = if shifted {
                block.means[k]
            } else {
                blocks.mean(block.first + k as u64)
            };
            let w = m * pk;
            c.p[k] = pk;
            c.w[k] = w;
            w_left += w;
        }
        c.w_left = w_left;
        let errors = if version == 0 {
            &mut self.errors_old
        } else {
            &mut self.errors_new
        };
        c.e_left = binomial(errors, block.n_left, fraction(w_left, block.m_left));
        c.s_left = block.n_left - c.e_left;
    }

    /// The error probability of each interval of the current block, if its truth is
    /// constant (see [`Self::set_constant`]; empty otherwise).
    #[inline]
    pub fn constant_error_probs(&self) -> &[f64] {
        let len = (self.block.end - self.block.first) as usize;
        self.block.constant.as_ref().map_or(&[], |c| &c.p[..len])
    }

    /// The rest of a constant block at once: (requests, errors), nothing left to split.
    pub fn skip_block(&mut self) -> (u64, u64) {
        let block = &mut *self.block;
        let n = block.n_left;
        let e = block.constant.take().map_or(0, |c| c.e_left);
        block.n_left = 0;
        block.m_left = 0.0;
        block.first = block.end;
        (n, e)
    }

    /// The baseline error rate of interval `i`: drawn at the block's start for a constant
    /// block, else now.
    #[inline]
    pub fn baseline_at(&mut self, i: u64, baseline: f64) -> f64 {
        match &self.block.baselines {
            Some(xs) if self.in_block(i) => xs[(i - self.block.first) as usize],
            _ => self.baseline(baseline),
        }
    }

    /// The requests and errors of interval `i` of the current block at `share` under
    /// `truth`: split off the block's totals while its truth stays what it was at its
    /// start; otherwise its requests split off the requests left and their errors drawn.
    /// With [`Self::counts_unread`], the counts of a constant block's intervals are held
    /// back and handed over with a later interval's (see there).
    pub fn block_interval(&mut self, i: u64, share: f64, truth: &[VersionTruth; 2]) -> Split {
        let Some(blocks) = self.blocks else {
            return self.split(0, share, truth);
        };
        let m = self.mean(blocks, i);
        let shifted = self.shifted;
        let unread = self.counts_unread;
        let block = &mut *self.block;
        let last = i + 1 >= block.end;
        let k = (i - block.first) as usize;
        // Requests and errors of the intervals held back, split off now.
        let mut held = (0, 0, 0);
        if let Some(c) = &mut block.constant {
            let version = c.version;
            if share == c.share && truth[version].error_prob == c.p[k] {
                if unread && !last {
                    c.deferred += 1;
                    return Split {
                        requests: [0; 2],
                        errors: [0; 2],
                    };
                }
                // The last interval takes what is left, held-back intervals included.
                let (e, s) = if last {
                    (c.e_left, c.s_left)
                } else {
                    bridge(&mut block.bridge, c, m, block.m_left, c.w[k])
                };
                c.e_left -= e;
                c.s_left -= s;
                c.w_left -= c.w[k];
                block.n_left -= e + s;
                block.m_left -= m;
                let mut out = Split {
                    requests: [0; 2],
                    errors: [0; 2],
                };
                out.requests[version] = e + s;
                out.errors[version] = e;
                return out;
            }
            // The truth changed within the block: the intervals held back are split off
            // as they would have been, then its requests left stay, their errors drawn
            // under the truth as it is.
            for j in i - c.deferred..i {
                let kj = (j - block.first) as usize;
                let mj = if shifted {
                    block.means[kj]
                } else {
                    blocks.mean(j)
                };
                let (e, s) = bridge(&mut block.bridge, c, mj, block.m_left, c.w[kj]);
                c.e_left -= e;
                c.s_left -= s;
                c.w_left -= c.w[kj];
                block.n_left -= e + s;
                block.m_left -= mj;
                held = (version, held.1 + e + s, held.2 + e);
            }
            block.constant = None;
        }
        let n = if last {
            block.n_left
        } else {
            binomial(&mut block.bridge, block.n_left, fraction(m, block.m_left))
        };
        block.n_left -= n;
        block.m_left -= m;
        let mut out = self.split(n, share, truth);
        out.requests[held.0] += held.1;
        out.errors[held.0] += held.2;
        out
    }

    /// Requests arriving in an interval of mean `mean`.
    #[inline]
    pub fn arrivals(&mut self, mean: f64, dispersion: f64) -> u64 {
        requests(&mut self.traffic, mean, dispersion)
    }

    /// The baseline error rate of this interval: `baseline` times the drift.
    #[inline]
    pub fn baseline(&mut self, baseline: f64) -> f64 {
        (baseline * self.drift.step(&mut self.noise)).min(1.0)
    }

    /// The requests (old, new) of `total` with `share` of them on the new version, and
    /// their errors under the versions' truth.
    #[inline]
    pub fn split(&mut self, total: u64, share: f64, truth: &[VersionTruth; 2]) -> Split {
        let n_new = if share <= 0.0 {
            0
        } else if share >= 1.0 {
            total
        } else {
            binomial(&mut self.split, total, share)
        };
        let n_old = total - n_new;
        let e_old = binomial(&mut self.errors_old, n_old, truth[0].error_prob);
        let e_new = binomial(&mut self.errors_new, n_new, truth[1].error_prob);
        Split {
            requests: [n_old, n_new],
            errors: [e_old, e_new],
        }
    }
}

/// The errors and successes of one interval of a constant block of mean `m` and error
/// weight `w` (`m_i p_i`), split off what is left of the block (`m_left`: the means left)
/// by binomial bridges drawn from `bridge`, errors first.
#[inline]
fn bridge(bridge: &mut StreamRng, c: &Constant, m: f64, m_left: f64, w: f64) -> (u64, u64) {
    let e = binomial(bridge, c.e_left, fraction(w, c.w_left));
    let s = binomial(bridge, c.s_left, fraction(m - w, m_left - c.w_left));
    (e, s)
}

/// Requests and failed requests per version (old, new).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    pub requests: [u64; 2],
    pub errors: [u64; 2],
}
