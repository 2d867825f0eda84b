//! Bursts of errors beyond the drift (see [`super::fit`]'s module doc): a scrape whose
//! errors twice the local error rate cannot explain at `p < 1e-6`, adjacent ones taken as
//! one spike.

use super::Sample;
use statrs::distribution::{Binomial, DiscreteCDF};

const HOUR_MS: f64 = 3_600_000.0;
/// Half-width of the window of the local error rate a spike is judged against.
const LOCAL_MS: u64 = 30 * 60_000;
/// Binomial tail probability below which a scrape is a spike.
const SPIKE_P: f64 = 1e-6;

/// Bursts of errors beyond the drift.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Spikes {
    /// Spikes found (runs of adjacent spike scrapes).
    pub events: usize,
    /// Scrapes in them.
    pub scrapes: usize,
    /// Spikes per hour of data.
    pub per_hour: f64,
    /// Median added error probability of a spike (over the local rate).
    pub added_error_rate: f64,
    /// Mean length of a spike, in whole scrape intervals.
    pub duration_ms: u64,
}

/// `P(X >= e)` for `X ~ Binomial(n, p)`.
fn upper_tail(e: u64, n: u64, p: f64) -> f64 {
    if e == 0 {
        return 1.0;
    }
    if p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    Binomial::new(p, n).map_or(1.0, |b| b.sf(e - 1))
}

/// Spike scrapes: `Some(local error rate)` for a spike, `None` otherwise.
pub(super) fn find_spikes(s: &[Sample]) -> Vec<Option<f64>> {
    let total_r: u64 = s.iter().map(|x| x.requests).sum();
    let total_e: u64 = s.iter().map(|x| x.errors).sum();
    let global = total_e as f64 / total_r.max(1) as f64;
    let mut flags: Vec<Option<f64>> = vec![None; s.len()];
    // Two passes: the second judges against local rates with the first pass's spikes left out.
    for _ in 0..2 {
        let mut cr = vec![0u64; s.len() + 1];
        let mut ce = vec![0u64; s.len() + 1];
        for (i, x) in s.iter().enumerate() {
            let keep = flags[i].is_none();
            cr[i + 1] = cr[i] + if keep { x.requests } else { 0 };
            ce[i + 1] = ce[i] + if keep { x.errors } else { 0 };
        }
        let mut next = vec![None; s.len()];
        for (i, x) in s.iter().enumerate() {
            if x.requests == 0 || x.errors == 0 {
                continue;
            }
            let lo = s.partition_point(|y| y.at_ms + LOCAL_MS < x.at_ms);
            let hi = s.partition_point(|y| y.at_ms <= x.at_ms + LOCAL_MS);
            let (own_r, own_e) = if flags[i].is_none() {
                (x.requests, x.errors)
            } else {
                (0, 0)
            };
            let r = cr[hi] - cr[lo] - own_r;
            let e = ce[hi] - ce[lo] - own_e;
            let local = if r > 0 { e as f64 / r as f64 } else { global };
            let p = (2.0 * local.max(0.5 * global)).min(1.0);
            if (x.errors as f64) <= x.requests as f64 * p {
                continue;
            }
            if upper_tail(x.errors, x.requests, p) < SPIKE_P {
                next[i] = Some(local);
            }
        }
        flags = next;
    }
    flags
}

/// The spikes' count, rate, median size and mean length from the spike scrapes.
pub(super) fn summarize_spikes(
    s: &[Sample],
    flags: &[Option<f64>],
    dt: u64,
    span_ms: u64,
) -> Spikes {
    let mut sizes = Vec::new();
    let mut lengths = Vec::new();
    let mut scrapes = 0;
    let mut current: Option<(u64, u64, Vec<f64>)> = None; // (first, last, added errors)
    for (x, f) in s.iter().zip(flags) {
        let Some(local) = f else { continue };
        scrapes += 1;
        let r = x.errors as f64 / x.requests as f64;
        let added = ((r - local) / (1.0 - local).max(1e-12)).clamp(0.0, 1.0);
        match &mut current {
            Some((_, last, v)) if x.at_ms <= *last + 2 * dt => {
                *last = x.at_ms;
                v.push(added);
            }
            _ => {
                if let Some((a, b, v)) = current.take() {
                    lengths.push((b - a) / dt + 1);
                    sizes.push(v.iter().sum::<f64>() / v.len() as f64);
                }
                current = Some((x.at_ms, x.at_ms, vec![added]));
            }
        }
    }
    if let Some((a, b, v)) = current {
        lengths.push((b - a) / dt + 1);
        sizes.push(v.iter().sum::<f64>() / v.len() as f64);
    }
    if sizes.is_empty() {
        return Spikes::default();
    }
    sizes.sort_by(f64::total_cmp);
    let median = if sizes.len() % 2 == 1 {
        sizes[sizes.len() / 2]
    } else {
        (sizes[sizes.len() / 2 - 1] + sizes[sizes.len() / 2]) / 2.0
    };
    let mean_len = lengths.iter().sum::<u64>() as f64 / lengths.len() as f64;
    Spikes {
        events: sizes.len(),
        scrapes,
        per_hour: sizes.len() as f64 / (span_ms as f64 / HOUR_MS),
        added_error_rate: median,
        duration_ms: (mean_len.round() as u64).max(1) * dt,
    }
}
