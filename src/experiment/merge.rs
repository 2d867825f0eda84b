//! Merging shards: the outputs of `--shard i/n` are contiguous blocks of one experiment's
//! runs (or of one sweep's points); merged in order they are exactly the single-machine
//! output, because every run's world depends only on (master seed, run) and the summary is
//! recomputed serially in run order ([`Summarizer`](super::Summarizer)).
//!
//! This module decides whether a set of blocks is a whole experiment; reading and writing
//! the shard directories is the caller's.

/// A contiguous block of runs (or sweep points) `first..first + count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    pub first: u64,
    pub count: u64,
}

/// Why a set of blocks is not a whole experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gap {
    /// Block `part` (in order) starts at `first`, but `expected` was next: a block is
    /// missing before it or overlaps the previous one.
    Starts {
        part: usize,
        first: u64,
        expected: u64,
    },
    /// The blocks end at `covered`, short of `total`.
    Short { covered: u64, total: u64 },
}

impl Gap {
    /// The problem in words; `unit` is "run" or "point", `whole` "experiment" or "sweep".
    pub fn describe(&self, unit: &str, whole: &str) -> String {
        match *self {
            Gap::Starts {
                first, expected, ..
            } => format!(
                "starts at {unit} {first} but {unit} {expected} is missing or repeated; expected all shards of one {whole}"
            ),
            Gap::Short { covered, total } => format!(
                "the shards cover {unit}s 0..{covered} of {total}; a shard is missing"
            ),
        }
    }
}

/// Checks that `blocks`, taken in the given order, tile `0..total` exactly.
pub fn tile(blocks: &[Block], total: u64) -> Result<(), Gap> {
    let mut next = 0;
    for (part, b) in blocks.iter().enumerate() {
        if b.first != next {
            return Err(Gap::Starts {
                part,
                first: b.first,
                expected: next,
            });
        }
        next = b.first + b.count;
    }
    if next != total {
        return Err(Gap::Short {
            covered: next,
            total,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(first: u64, count: u64) -> Block {
        Block { first, count }
    }

    #[test]
    fn blocks_must_tile_the_whole() {
        let sorted = [b(0, 5), b(5, 5)];
        assert_eq!(tile(&sorted, 10), Ok(()));
        assert_eq!(
            tile(&sorted, 12),
            Err(Gap::Short {
                covered: 10,
                total: 12
            })
        );
        let gap = tile(&[b(0, 4), b(5, 5)], 10).unwrap_err();
        assert_eq!(
            gap,
            Gap::Starts {
                part: 1,
                first: 5,
                expected: 4
            }
        );
        assert_eq!(
            gap.describe("run", "experiment"),
            "starts at run 5 but run 4 is missing or repeated; expected all shards of one experiment"
        );
        assert!(tile(&[b(0, 5), b(0, 5)], 10).is_err(), "a repeated shard");
    }
}
