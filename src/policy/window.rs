//! A time window of recent scrapes, shared by the controller policies that query "the last
//! `interval`" as a Prometheus range query would.

use super::{Scrape, VersionSample};
use std::collections::VecDeque;

/// The scrapes whose interval ends in the last `span_ms` (lost scrapes included, as `None`).
#[derive(Debug, Clone)]
pub(crate) struct Recent {
    span_ms: u64,
    scrapes: VecDeque<Scrape>,
}

/// Sums of one version's samples over a window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Totals {
    pub requests: u64,
    pub errors: u64,
    pub p99_sum: f64,
    pub p99_n: u64,
}

impl Totals {
    pub fn add(&mut self, s: &VersionSample) {
        self.requests += s.requests;
        self.errors += s.errors;
        if let Some(v) = s.latency_p99_ms {
            self.p99_sum += v;
            self.p99_n += 1;
        }
    }

    /// Errors / requests; `None` without requests (Prometheus would return NaN).
    pub fn error_rate(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.errors as f64 / self.requests as f64)
    }

    /// The mean scraped p99; `None` when no scrape had one.
    pub fn p99_ms(&self) -> Option<f64> {
        (self.p99_n > 0).then(|| self.p99_sum / self.p99_n as f64)
    }
}

impl Recent {
    /// Keeps at least `span_ms` of scrapes.
    pub fn new(span_ms: u64) -> Self {
        Recent {
            span_ms,
            scrapes: VecDeque::new(),
        }
    }

    pub fn clear(&mut self) {
        self.scrapes.clear();
    }

    /// Adds a scrape and forgets those older than the span.
    pub fn push(&mut self, s: &Scrape) {
        self.scrapes.push_back(*s);
        while let Some(f) = self.scrapes.front() {
            if f.at_ms + self.span_ms > s.at_ms {
                break;
            }
            self.scrapes.pop_front();
        }
    }

    /// The new version's totals over the scrapes ending in `(now - span, now]`.
    pub fn new_totals(&self, now: u64, span_ms: u64) -> Totals {
        let mut t = Totals::default();
        for s in self.scrapes.iter().filter(|s| s.at_ms + span_ms > now) {
            if let Some(v) = &s.new {
                t.add(v);
            }
        }
        t
    }
}
