//! The data store of one run: records by format, what reads and writes do to them, and the
//! schema migrations. This is where "rollback is not revert" becomes numbers.
//!
//! Per tick, a version's requests write (insert) records in its write format and read
//! records; a read touches a recently written record with probability
//! `recent_read_fraction`, else a record drawn uniformly from the store. A read of a format
//! the reader does not know is an *unreadable read*, and then, by the reader's
//! `on_unknown`: `error` fails the request (visible), `ignore_unknown` works but a rewrite
//! drops the fields it does not know (a *lost write*), `misread` works wrongly and a
//! rewrite *corrupts* the record (silent: no signal changes). Draws come from the run's
//! `Data` stream only, so a scenario with data sees the very same traffic, noise and
//! faults as the same scenario without it.

use crate::scenario::{CodeVersion, DataSpec, MigrationStep};
use crate::sim::rng::sample::binomial;
use rand::Rng;
use std::collections::VecDeque;

/// What the data did in one run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DataOutcome {
    pub unreadable_reads: u64,
    pub corrupted_records: u64,
    pub lost_writes: u64,
    pub first_harm_ms: Option<u64>,
    /// First moment harm showed in a signal (errors of unreadable reads in a scrape).
    pub first_visible_ms: Option<u64>,
}

/// Records by format and the state of the migrations, for one run.
#[derive(Debug, Clone)]
pub struct DataState<'a> {
    spec: &'a DataSpec,
    /// Intact records per format.
    counts: Vec<u64>,
    /// Intact plus corrupted records (reads draw from all of them).
    total: u64,
    /// Writes of the last `recent_window_ms`, as (time, format, count).
    recent: VecDeque<(u64, usize, u64)>,
    recent_counts: Vec<u64>,
    recent_total: u64,
    /// Per migration: running (a backfill in progress) and stopped for good.
    running: Vec<bool>,
    stopped: Vec<bool>,
    /// An applied contract turned records into a format the old version cannot read.
    unsafe_rollback: bool,
    pub out: DataOutcome,
}

impl<'a> DataState<'a> {
    /// A store holding `initial_records` records in the old version's write format.
    pub fn new(spec: &'a DataSpec) -> Self {
        let mut counts = vec![0; spec.formats.len()];
        counts[spec.old.writes] = spec.initial_records;
        DataState {
            spec,
            counts,
            total: spec.initial_records,
            recent: VecDeque::new(),
            recent_counts: vec![0; spec.formats.len()],
            recent_total: 0,
            running: vec![false; spec.migrations.len()],
            stopped: vec![false; spec.migrations.len()],
            unsafe_rollback: false,
            out: DataOutcome::default(),
        }
    }

    /// The data section this state follows.
    pub fn spec(&self) -> &'a DataSpec {
        self.spec
    }

    /// Records in a format the old version cannot read.
    pub fn new_format_records(&self) -> u64 {
        (0..self.counts.len())
            .filter(|&f| !self.spec.old.reads(f))
            .map(|f| self.counts[f])
            .sum()
    }

    /// Probability that one read by `v` touches a record in a format `v` does not read.
    pub fn unknown_probability(&self, v: &CodeVersion) -> f64 {
        let unknown = |counts: &[u64]| -> u64 {
            (0..counts.len())
                .filter(|&f| !v.reads(f))
                .map(|f| counts[f])
                .sum()
        };
        let store = if self.total == 0 {
            0.0
        } else {
            unknown(&self.counts) as f64 / self.total as f64
        };
        let recent = if self.recent_total == 0 {
            store
        } else {
            unknown(&self.recent_counts) as f64 / self.recent_total as f64
        };
        let r = self.spec.recent_read_fraction;
        r * recent + (1.0 - r) * store
    }

    /// Probability that a request of `v` fails because it reads an unknown format.
    pub fn error_probability(&self, v: &CodeVersion) -> f64 {
        if v.on_unknown.error == 0.0 {
            return 0.0;
        }
        self.spec.read_fraction * self.unknown_probability(v) * v.on_unknown.error
    }

    /// Whether rolling back to the old version crosses a destructive migration: a contract
    /// has turned records into a format the old version cannot read.
    pub fn rollback_unsafe(&self) -> bool {
        self.unsafe_rollback
    }

    /// Applies migration `i` as it starts.
    pub fn start_migration(&mut self, i: usize) {
        match self.spec.migrations[i].step {
            MigrationStep::Expand { .. } => {}
            MigrationStep::Backfill { .. } => {
                if !self.stopped[i] {
                    self.running[i] = true;
                }
            }
            MigrationStep::Contract {
                drops,
                into,
                data_loss,
            } => {
                let n = self.counts[drops];
                if data_loss && n > 0 {
                    self.out.lost_writes += n;
                }
                self.counts[into] += n;
                self.counts[drops] = 0;
                let r = self.recent_counts[drops];
                self.recent_counts[into] += r;
                self.recent_counts[drops] = 0;
                for w in self.recent.iter_mut().filter(|w| w.1 == drops) {
                    w.1 = into;
                }
                if !self.spec.old.reads(into) {
                    self.unsafe_rollback = true;
                }
            }
        }
    }

    /// The release is being rolled back: backfills that stop on rollback stop for good.
    pub fn on_rollback(&mut self) {
        for (i, m) in self.spec.migrations.iter().enumerate() {
            if let MigrationStep::Backfill {
                stop_on_rollback: true,
                ..
            } = m.step
            {
                self.running[i] = false;
                self.stopped[i] = true;
            }
        }
    }

    /// Simulates the reads and writes of one tick over `[t, t + dt)`, where `n[v]`
    /// requests hit version `writers[v]` (0 = old, 1 = new). Returns the requests of each
    /// version that failed because they read an unknown format.
    pub fn tick<R: Rng + ?Sized>(
        &mut self,
        rng: &mut R,
        t: u64,
        dt: u64,
        n: [u64; 2],
        writers: [CodeVersion; 2],
    ) -> [u64; 2] {
        let spec = self.spec;
        self.backfill(dt);
        // Forget writes that left the recent window.
        while self
            .recent
            .front()
            .is_some_and(|w| w.0 + spec.recent_window_ms <= t)
        {
            if let Some((_, f, c)) = self.recent.pop_front() {
                self.recent_counts[f] -= c;
                self.recent_total -= c;
            }
        }
        let mut failed = [0; 2];
        let mut writes = [0; 2];
        for v in 0..2 {
            if n[v] == 0 {
                continue;
            }
            let w = writers[v];
            let reads = binomial(rng, n[v], spec.read_fraction);
            writes[v] = binomial(rng, n[v], spec.write_fraction);
            let p = self.unknown_probability(&w);
            let unknown = binomial(rng, reads, p);
            if unknown == 0 {
                continue;
            }
            self.out.unreadable_reads += unknown;
            self.out.first_harm_ms.get_or_insert(t);
            // Split the unknown reads by behaviour (a multinomial as two binomials).
            let sh = w.on_unknown;
            let errors = binomial(rng, unknown, sh.error);
            let rest = unknown - errors;
            let quiet = sh.ignore_unknown + sh.misread;
            let ignored = if quiet > 0.0 {
                binomial(rng, rest, sh.ignore_unknown / quiet)
            } else {
                0
            };
            let misread = rest - ignored;
            if errors > 0 {
                failed[v] = errors.min(n[v]);
                self.out.first_visible_ms.get_or_insert(t + dt);
            }
            if ignored > 0 {
                let rewrites = binomial(rng, ignored, spec.rewrite_fraction);
                let moved = self.take_unknown(&w, rewrites);
                self.out.lost_writes += moved;
                self.counts[w.writes] += moved;
            }
            if misread > 0 {
                let rewrites = binomial(rng, misread, spec.rewrite_fraction);
                // Corrupted records leave the intact counts but stay in the store.
                self.out.corrupted_records += self.take_unknown(&w, rewrites);
            }
        }
        for v in 0..2 {
            if writes[v] > 0 {
                let f = writers[v].writes;
                self.counts[f] += writes[v];
                self.total += writes[v];
                self.recent.push_back((t, f, writes[v]));
                self.recent_counts[f] += writes[v];
                self.recent_total += writes[v];
            }
        }
        failed
    }

    /// Removes up to `k` intact records of formats `v` cannot read, largest format first.
    fn take_unknown(&mut self, v: &CodeVersion, mut k: u64) -> u64 {
        let mut taken = 0;
        while k > 0 {
            let Some(f) = (0..self.counts.len())
                .filter(|&f| !v.reads(f) && self.counts[f] > 0)
                .max_by_key(|&f| self.counts[f])
            else {
                break;
            };
            let m = k.min(self.counts[f]);
            self.counts[f] -= m;
            k -= m;
            taken += m;
        }
        taken
    }

    fn backfill(&mut self, dt: u64) {
        for (i, m) in self.spec.migrations.iter().enumerate() {
            if !self.running[i] {
                continue;
            }
            if let MigrationStep::Backfill {
                from,
                to,
                rate_per_s,
                ..
            } = m.step
            {
                let k = ((rate_per_s * dt as f64 / 1000.0).round() as u64).min(self.counts[from]);
                self.counts[from] -= k;
                self.counts[to] += k;
                if self.counts[from] == 0 {
                    self.running[i] = false;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse;
    use crate::sim::rng::{stream, Stream};

    fn spec(extra: &str) -> DataSpec {
        let text = format!(
            "[data]\ninitial_records = 1000\nrecent_read_fraction = 0.5\n[data.old]\nreads = [\"v1\"]\nwrites = \"v1\"\n[data.new]\nreads = [\"v1\", \"v2\"]\nwrites = \"v2\"\n[[data.migrations]]\nkind = \"expand\"\nadds = \"v2\"\nat = \"1m\"\n{extra}"
        );
        match parse(&text, "t") {
            Ok(s) => s.data.expect("data"),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn contract_with_data_loss_loses_every_converted_record_and_makes_rollback_unsafe() {
        let d = spec("[[data.migrations]]\nkind = \"contract\"\ndrops = \"v1\"\ninto = \"v2\"\nat = \"2h\"\n");
        let mut s = DataState::new(&d);
        assert!(!s.rollback_unsafe());
        s.start_migration(1);
        assert_eq!(s.out.lost_writes, 1000);
        assert_eq!(s.new_format_records(), 1000);
        assert!(s.rollback_unsafe());
        // Every record is now unknown to the old version.
        assert_eq!(s.unknown_probability(&d.old), 1.0);
    }

    #[test]
    fn backfill_moves_records_at_its_rate_and_stops_on_rollback() {
        let d = spec("[[data.migrations]]\nkind = \"backfill\"\nfrom = \"v1\"\nto = \"v2\"\nrate = 2.0\nat = \"2h\"\n");
        let mut s = DataState::new(&d);
        let mut rng = stream(1, Stream::Data);
        s.start_migration(1);
        s.tick(&mut rng, 0, 15_000, [0, 0], [d.old, d.new]);
        assert_eq!(s.new_format_records(), 30);
        s.on_rollback();
        s.start_migration(1); // a stopped backfill does not resume
        s.tick(&mut rng, 15_000, 15_000, [0, 0], [d.old, d.new]);
        assert_eq!(s.new_format_records(), 30);
    }

    #[test]
    fn unknown_probability_mixes_recent_writes_and_the_store() {
        let d = spec("");
        let mut s = DataState::new(&d);
        let mut rng = stream(2, Stream::Data);
        // 1000 requests on the new version; about a tenth write a v2 record.
        s.tick(&mut rng, 0, 15_000, [0, 1000], [d.old, d.new]);
        let written = s.new_format_records() as f64;
        assert!(written > 0.0);
        let store = written / (1000.0 + written);
        // Half the reads go to recent writes (all v2), half to the whole store.
        let expected = 0.5 * 1.0 + 0.5 * store;
        assert!((s.unknown_probability(&d.old) - expected).abs() < 1e-12);
        assert_eq!(s.unknown_probability(&d.new), 0.0);
    }
}
