//! Named, portable random streams.
//!
//! Every random draw in a run comes from a ChaCha8 stream keyed by (run seed, stream name);
//! the run seed is itself derived from (master seed, run index). ChaCha8 is a portable,
//! versioned algorithm (unlike `StdRng`), so a seed reproduces the same run on any machine
//! and with any thread count. Streams that describe the world (traffic, noise, faults) are
//! never touched by a policy's decisions, which is what makes policies comparable on the
//! very same faults and noise (common random numbers).

pub mod sample;

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The random streams of one run. Each has a fixed number that is part of the key, so
/// adding a stream never shifts the draws of the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Stream {
    /// Derivation of per-run seeds from the master seed.
    RunSeed = 1,
    /// Ground truth of the release: is it bad?
    Release = 2,
    /// Fault schedule and durations.
    Faults = 3,
    /// Request volume per tick.
    Traffic = 4,
    /// Drift of the baseline error rate.
    Noise = 5,
    /// Split of requests between the versions.
    Split = 6,
    /// Errors among the old version's requests.
    ErrorsOld = 7,
    /// Errors among the new version's requests.
    ErrorsNew = 8,
    /// Sampling error of scraped latency quantiles.
    Latency = 9,
    /// Lost scrapes.
    Scrape = 10,
    /// Health-check outcomes.
    Health = 11,
    /// Delivery pipeline (retry delays).
    Pipeline = 12,
    /// Reads and writes of the data store.
    Data = 13,
    /// Delays of recovery actions (roll-forward fixes).
    Recovery = 14,
    /// The on-call human: background pages, ack times, calls.
    Human = 15,
    /// Game day only: latency histogram buckets of the exposed metrics (never read by a
    /// policy, so a game's decisions do not depend on it).
    Exposition = 16,
    /// Faults of the signal (`signals::faults`): warm-up errors, thinned counts, failed
    /// queries; drawn only when a scenario has such a fault, so no other stream moves.
    SignalFaults = 17,
    /// A release train's merge times.
    Train = 18,
    /// One release of a train (keyed by its index): cause, seed, latent showing.
    TrainRelease = 19,
    /// One latent cause of a train (keyed by its index): its appearances.
    Latent = 20,
    /// The review after one release of a train (keyed by the release's index).
    Review = 21,
    /// How long each latent cause acts up in one release of a train (keyed by the
    /// release's index): its fault's own duration.
    LatentSpell = 22,
    /// Noise of the gauge readings (CPU, saturation, queue length): drawn only when a
    /// policy or a trace reads the gauges.
    Gauges = 23,
    /// The binomial bridges that split a block's request, error and success totals into
    /// its scrape intervals (keyed by the block's index; see `model::blocks`).
    Bridge = 24,
}

/// Scrape intervals per block: a single service's traffic is drawn in blocks of this many
/// intervals, each from sub-streams keyed by the block's index (see `model::blocks`), and
/// its scrapes' latency too, so skipping a block moves no later draw.
pub const BLOCK_TICKS: usize = 60;

/// The generator behind every stream.
pub type StreamRng = ChaCha8Rng;

fn keyed(a: u64, b: u64, stream: Stream) -> StreamRng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&a.to_le_bytes());
    key[8..16].copy_from_slice(&b.to_le_bytes());
    key[16..24].copy_from_slice(&(stream as u64).to_le_bytes());
    key[24..].copy_from_slice(b"rollsim1");
    ChaCha8Rng::from_seed(key)
}

/// The seed of run `run` under master seed `master`.
pub fn run_seed(master: u64, run: u64) -> u64 {
    keyed(master, run, Stream::RunSeed).next_u64()
}

/// The stream `stream` of the run whose seed is `run_seed`.
pub fn stream(run_seed: u64, stream: Stream) -> StreamRng {
    keyed(run_seed, 0, stream)
}

/// The stream `stream` of item `index` of run `run_seed` (a train's release `index`):
/// every item draws from its own stream, so how many items another choice consumed never
/// moves this one's draws.
pub fn stream_at(run_seed: u64, index: u64, stream: Stream) -> StreamRng {
    keyed(run_seed, index.wrapping_add(1), stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_pinned() {
        // A changed value here means every published result stops reproducing:
        // change it only together with the major version.
        let a = run_seed(42, 0);
        assert_eq!(a, run_seed(42, 0));
        assert_ne!(a, run_seed(42, 1));
        assert_ne!(a, run_seed(43, 0));
        let mut s1 = stream(a, Stream::Traffic);
        let mut s2 = stream(a, Stream::Noise);
        assert_ne!(s1.next_u64(), s2.next_u64());
    }
}
