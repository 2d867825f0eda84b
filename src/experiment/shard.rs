//! Shards: disjoint, contiguous slices of the run indices, so `n` machines can each run
//! one and `merge` can concatenate them in run order into exactly the single-machine
//! output.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

/// Shard `index` of `count` (written `i/n`, 0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// The runs of this shard among `runs` runs: the `index`-th of `count` nearly equal,
    /// contiguous blocks.
    pub fn range(&self, runs: u64) -> Range<u64> {
        let start = (u128::from(runs) * u128::from(self.index) / u128::from(self.count)) as u64;
        let end = (u128::from(runs) * u128::from(self.index + 1) / u128::from(self.count)) as u64;
        start..end
    }
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || format!("invalid shard {s:?}; expected i/n with 0 <= i < n, e.g. 0/4");
        let (i, n) = s.split_once('/').ok_or_else(err)?;
        let index: u64 = i.trim().parse().map_err(|_| err())?;
        let count: u64 = n.trim().parse().map_err(|_| err())?;
        if count == 0 || index >= count {
            return Err(err());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_tile_the_runs_exactly() {
        for runs in [0u64, 1, 2, 7, 1000, 1001] {
            for count in 1..=5u64 {
                let mut next = 0;
                for index in 0..count {
                    let r = Shard { index, count }.range(runs);
                    assert_eq!(r.start, next);
                    next = r.end;
                }
                assert_eq!(next, runs);
            }
        }
    }

    #[test]
    fn parses_and_rejects() {
        assert_eq!("1/3".parse::<Shard>(), Ok(Shard { index: 1, count: 3 }));
        assert!("3/3".parse::<Shard>().is_err());
        assert!("x/3".parse::<Shard>().is_err());
        assert!("1".parse::<Shard>().is_err());
        assert!("0/0".parse::<Shard>().is_err());
    }
}
