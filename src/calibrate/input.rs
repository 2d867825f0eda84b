//! What a fit reads: a series of scrapes' counts ([`Input`]) and which stretches of it
//! to keep ([`Selection`]); the time between kept stretches is not lost scrapes.

use crate::recorded::Scrapes;

/// The counts of one present scrape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// End of the scraped interval (Unix ms; the time of day is UTC).
    pub at_ms: u64,
    /// Requests and failed requests in the interval (errors are 0 when the input has no
    /// errors series: see [`Input::has_errors`]).
    pub requests: u64,
    pub errors: u64,
    /// The scraped p99 latency, when the recording has a latency series.
    pub latency_p99_ms: Option<f64>,
}

/// A recorded (or simulated) series of scrapes; lost scrapes are the gaps.
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    /// The scrape interval; spacings longer than it are lost scrapes.
    pub interval_ms: u64,
    /// Present scrapes in time order.
    pub samples: Vec<Sample>,
    /// Whether errors were recorded: without them (counts only) the error rate, its drift
    /// and spikes are not fitted, rather than fitted as zero.
    pub has_errors: bool,
    /// Indices of the samples that start a new stretch (after a part left out of the
    /// fit): the time before them is not lost scrapes.
    pub breaks: Vec<usize>,
}

impl Input {
    /// The watched version's counts of recorded scrapes (errors recorded).
    pub fn from_scrapes(s: &Scrapes) -> Input {
        Input {
            interval_ms: s.interval_ms,
            samples: s
                .present
                .iter()
                .map(|x| Sample {
                    at_ms: x.at_ms,
                    requests: x.new.requests,
                    errors: x.new.errors,
                    latency_p99_ms: x.new.latency_p99_ms,
                })
                .collect(),
            has_errors: true,
            breaks: vec![],
        }
    }

    /// Whether sample `i` continues the stretch of sample `i - 1` (so the spacing between
    /// them is scrapes, present or lost).
    pub fn same_stretch(&self, i: usize) -> bool {
        i > 0 && self.breaks.binary_search(&i).is_err()
    }

    /// The samples `sel` keeps, a break wherever it left time out between two of them.
    pub fn select(&self, sel: &Selection) -> Input {
        let mut samples = Vec::new();
        let mut breaks = Vec::new();
        let mut prev: Option<(usize, (usize, usize))> = None;
        for (i, x) in self.samples.iter().enumerate() {
            let Some(part) = sel.part(x.at_ms) else {
                continue;
            };
            if let Some((j, p)) = prev {
                let broken = self.breaks.iter().any(|&b| b > j && b <= i);
                if p != part || broken {
                    breaks.push(samples.len());
                }
            }
            prev = Some((i, part));
            samples.push(*x);
        }
        Input {
            interval_ms: self.interval_ms,
            samples,
            has_errors: self.has_errors,
            breaks,
        }
    }
}

/// Which times a fit keeps: healthy stretches (none: all of it), less excluded windows;
/// both inclusive, Unix ms.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selection {
    stretches: Vec<(u64, u64)>,
    excluded: Vec<(u64, u64)>,
}

impl Selection {
    /// Overlapping or touching windows are merged, so a stretch is one piece of time.
    pub fn new(stretches: Vec<(u64, u64)>, excluded: Vec<(u64, u64)>) -> Selection {
        Selection {
            stretches: merged(stretches),
            excluded: merged(excluded),
        }
    }

    /// The piece of the selection that holds `t`: (stretch, excluded windows before it);
    /// `None` outside the selection.
    fn part(&self, t: u64) -> Option<(usize, usize)> {
        let stretch = if self.stretches.is_empty() {
            0
        } else {
            self.stretches.iter().position(|&(a, b)| a <= t && t <= b)?
        };
        if self.excluded.iter().any(|&(a, b)| a <= t && t <= b) {
            return None;
        }
        Some((stretch, self.excluded.iter().filter(|w| w.1 < t).count()))
    }
}

fn merged(mut w: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    w.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(w.len());
    for (a, b) in w {
        match out.last_mut() {
            Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}
