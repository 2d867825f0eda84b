//! The recorded series joined into scrapes, as a policy receives them.
//!
//! A scrape exists at every timestamp of `requests`; the other scrape series are read at
//! the same timestamps. The scrape interval is the most common spacing of `requests`, and
//! a longer spacing is a run of lost scrapes (the simulator's `missing_scrape_probability`
//! and metrics gaps), fed to policies as empty scrapes, as the simulator does.

use super::{format_timestamp, InputError, Problem, Recording, Series, SeriesName};
use crate::policy::{Gauges, Scrape, VersionSample};
use std::collections::BTreeMap;

/// The most scrape slots (present and lost) a recording may span, from its first
/// `requests` point to its last: two million, a year of 15 s scrapes or 23 days of 1 s
/// ones. A policy is fed every slot, so a gap of a hundred billion seconds (one bad
/// timestamp) would otherwise be gigabytes of empty scrapes. Split a longer recording and
/// replay the parts.
pub const MAX_SLOTS: u64 = 2_000_000;

/// One scrape that reached the recording.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecordedScrape {
    /// End of the scraped interval (Unix ms).
    pub at_ms: u64,
    /// The watched (new) version.
    pub new: VersionSample,
    /// The old version, when the recording has `old_requests` at this timestamp.
    pub old: Option<VersionSample>,
}

/// The scrapes of a recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Scrapes {
    /// The most common spacing of `requests`.
    pub interval_ms: u64,
    /// Present scrapes in time order.
    pub present: Vec<RecordedScrape>,
    /// Scrapes with requests but no `errors`/`error_ratio` point, counted as 0 errors
    /// (Prometheus returns nothing for the rate of a counter that never moved).
    pub errors_filled: usize,
}

/// Errors of one version at `at`: from the count series, or the ratio times requests.
fn errors_at(
    counts: Option<&Series>,
    ratio: Option<&Series>,
    at: u64,
    requests: u64,
) -> Option<u64> {
    if let Some(p) = counts.and_then(|s| s.at(at)) {
        return Some(p.value as u64);
    }
    ratio.and_then(|s| s.at(at)).map(|p| {
        if p.value.is_nan() {
            0 // 0/0: the scrape counted nothing (any other NaN is refused by the caller)
        } else {
            (p.value * requests as f64).round() as u64
        }
    })
}

impl Scrapes {
    /// Joins the scrape series; `Ok(None)` when the recording has no `requests` (only
    /// health checks, say). Every point of a scrape series needs a `requests` point at the
    /// same timestamp.
    pub fn from_recording(rec: &Recording) -> Result<Option<Scrapes>, InputError> {
        use SeriesName as N;
        let mut problems = Vec::new();
        for (counts, ratio) in [(N::Errors, N::ErrorRatio), (N::OldErrors, N::OldErrorRatio)] {
            if let (Some(_), Some(r)) = (rec.get(counts), rec.get(ratio)) {
                if let Some(p) = r.points.first() {
                    problems.push(Problem {
                        at: p.at.clone(),
                        message: format!("both {counts} and {ratio} are given; give one of them"),
                    });
                }
            }
        }
        let requests = rec.get(N::Requests);
        let old_requests = rec.get(N::OldRequests);
        // Every scrape series point needs its version's requests at the same time.
        let needs = [
            (N::Errors, N::Requests),
            (N::ErrorRatio, N::Requests),
            (N::LatencyP99Ms, N::Requests),
            (N::OldRequests, N::Requests),
            (N::OldErrors, N::OldRequests),
            (N::OldErrorRatio, N::OldRequests),
            (N::OldLatencyP99Ms, N::OldRequests),
            (N::Cpu, N::Requests),
            (N::Saturation, N::Requests),
            (N::QueueLength, N::Requests),
            (N::OldCpu, N::OldRequests),
            (N::OldSaturation, N::OldRequests),
            (N::OldQueueLength, N::OldRequests),
        ];
        for (name, base) in needs {
            let (Some(s), b) = (rec.get(name), rec.get(base)) else {
                continue;
            };
            for p in &s.points {
                if b.and_then(|b| b.at(p.at_ms)).is_none() {
                    problems.push(Problem {
                        at: p.at.clone(),
                        message: format!(
                            "{name} at {} has no {base} point at the same timestamp; every scrape needs {base}",
                            format_timestamp(p.at_ms)
                        ),
                    });
                }
            }
        }
        if !problems.is_empty() {
            return Err(InputError { problems });
        }
        let Some(requests) = requests else {
            return Ok(None);
        };
        let version = |n: u64,
                       at: u64,
                       counts: SeriesName,
                       ratio: SeriesName,
                       latency: SeriesName,
                       gauges: [SeriesName; 3],
                       filled: &mut usize,
                       problems: &mut Vec<Problem>| {
            let read = |name: SeriesName| rec.get(name).and_then(|s| s.at(at)).map(|p| p.value);
            let errors = match errors_at(rec.get(counts), rec.get(ratio), at, n) {
                Some(e) => e,
                None => {
                    *filled += 1;
                    0
                }
            };
            let nan = rec
                .get(ratio)
                .and_then(|s| s.at(at))
                .filter(|p| p.value.is_nan() && rec.get(counts).is_none());
            if let Some(p) = nan.filter(|_| n > 0) {
                problems.push(Problem {
                    at: p.at.clone(),
                    message: format!(
                        "{ratio} is NaN at {} where {n} requests were counted; NaN (0/0) is no data only at zero requests",
                        format_timestamp(at)
                    ),
                });
            }
            if errors > n {
                let p = rec
                    .get(counts)
                    .and_then(|s| s.at(at))
                    .or_else(|| rec.get(ratio).and_then(|s| s.at(at)));
                if let Some(p) = p {
                    problems.push(Problem {
                        at: p.at.clone(),
                        message: format!(
                            "{counts} = {errors} at {} is more than its {n} requests",
                            format_timestamp(at)
                        ),
                    });
                }
            }
            VersionSample {
                requests: n,
                errors: errors.min(n),
                latency_p99_ms: read(latency),
                gauges: Gauges {
                    cpu: read(gauges[0]),
                    saturation: read(gauges[1]),
                    queue_length: read(gauges[2]),
                },
            }
        };
        let mut filled = 0;
        let mut ignored = 0;
        let mut present = Vec::with_capacity(requests.points.len());
        for p in &requests.points {
            let new = version(
                p.value as u64,
                p.at_ms,
                N::Errors,
                N::ErrorRatio,
                N::LatencyP99Ms,
                [N::Cpu, N::Saturation, N::QueueLength],
                &mut filled,
                &mut problems,
            );
            let old = old_requests.and_then(|s| s.at(p.at_ms)).map(|o| {
                version(
                    o.value as u64,
                    p.at_ms,
                    N::OldErrors,
                    N::OldErrorRatio,
                    N::OldLatencyP99Ms,
                    [N::OldCpu, N::OldSaturation, N::OldQueueLength],
                    &mut ignored,
                    &mut problems,
                )
            });
            present.push(RecordedScrape {
                at_ms: p.at_ms,
                new,
                old,
            });
        }
        if !problems.is_empty() {
            return Err(InputError { problems });
        }
        let interval_ms = match most_common_spacing(
            &requests.points.iter().map(|p| p.at_ms).collect::<Vec<_>>(),
        ) {
            Some(i) => i,
            None => {
                let Some(at) = requests.points.first().map(|p| p.at.clone()) else {
                    return Ok(None);
                };
                return Err(InputError::one(
                    at,
                    "requests has a single point; at least two scrapes are needed to tell the scrape interval",
                ));
            }
        };
        let scrapes = Scrapes {
            interval_ms,
            present,
            errors_filled: filled,
        };
        scrapes.check_span(&requests.points)?;
        Ok(Some(scrapes))
    }

    /// Refuses a recording spanning more than [`MAX_SLOTS`] slots, at the point where the
    /// count goes past it (usually the far side of one absurd gap).
    fn check_span(&self, points: &[super::Point]) -> Result<(), InputError> {
        let mut slots: u64 = 1;
        for (i, pair) in points.windows(2).enumerate() {
            let lost = self.lost_after(i);
            slots = slots.saturating_add(lost).saturating_add(1);
            if slots > MAX_SLOTS {
                return Err(InputError::one(
                    pair[1].at.clone(),
                    format!(
                        "requests at {} comes {lost} lost scrapes of {} after the one at {}: \
                         the recording would span over {MAX_SLOTS} scrape intervals, the \
                         limit; check the timestamp, or split the recording and replay the parts",
                        format_timestamp(pair[1].at_ms),
                        crate::check::duration_text(self.interval_ms),
                        format_timestamp(pair[0].at_ms),
                    ),
                ));
            }
        }
        Ok(())
    }

    /// How many lost scrapes the gaps after `present[i]` hold.
    fn lost_after(&self, i: usize) -> u64 {
        match (self.present.get(i), self.present.get(i + 1)) {
            (Some(a), Some(b)) => lost_between(a.at_ms, b.at_ms, self.interval_ms),
            _ => 0,
        }
    }

    /// Lost scrapes between the first and the last present one.
    pub fn lost(&self) -> u64 {
        (0..self.present.len()).map(|i| self.lost_after(i)).sum()
    }

    /// Every scrape slot from the first present scrape to the last, lost ones empty: the
    /// sequence a policy receives.
    pub fn feed(&self) -> Vec<Scrape> {
        let mut out = Vec::with_capacity(self.present.len());
        for (i, s) in self.present.iter().enumerate() {
            out.push(Scrape {
                at_ms: s.at_ms,
                new: Some(s.new),
                old: s.old,
            });
            for j in 1..=self.lost_after(i) {
                out.push(Scrape {
                    at_ms: s.at_ms + j * self.interval_ms,
                    new: None,
                    old: None,
                });
            }
        }
        out
    }
}

/// Lost scrapes between present scrapes at `a` and `b`: the spacing in intervals, less one.
pub fn lost_between(a: u64, b: u64, interval_ms: u64) -> u64 {
    let d = b.saturating_sub(a);
    if interval_ms == 0 || 2 * d < 3 * interval_ms {
        return 0;
    }
    ((d as f64 / interval_ms as f64).round() as u64).saturating_sub(1)
}

/// The most common difference between consecutive times (the smaller one on a tie).
pub fn most_common_spacing(times: &[u64]) -> Option<u64> {
    let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
    for w in times.windows(2) {
        *counts.entry(w[1].saturating_sub(w[0])).or_default() += 1;
    }
    let best = counts.values().copied().max()?;
    counts.into_iter().find(|(_, c)| *c == best).map(|(d, _)| d)
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;

    #[test]
    fn recorded_gaps_are_lost_scrapes_not_errors() {
        let r = parse(
            "timestamp,series,value\n15,requests,10\n15,errors,1\n30,requests,10\n75,requests,8\n75,errors,2\n75,latency_p99_ms,120\n",
            "m.csv",
        )
        .unwrap();
        let s = Scrapes::from_recording(&r).unwrap().unwrap();
        assert_eq!(s.interval_ms, 15_000);
        assert_eq!(s.lost(), 2);
        assert_eq!(s.errors_filled, 1, "30 s has requests but no errors");
        let feed = s.feed();
        let times: Vec<u64> = feed.iter().map(|f| f.at_ms / 1000).collect();
        assert_eq!(times, vec![15, 30, 45, 60, 75]);
        assert!(feed[2].new.is_none() && feed[3].new.is_none());
        let last = feed[4].new.unwrap();
        assert_eq!(
            (last.requests, last.errors, last.latency_p99_ms),
            (8, 2, Some(120.0))
        );
    }

    #[test]
    fn a_far_future_timestamp_is_refused_not_materialised() {
        // The example: rows at 0, 15, 30 and 100000000000 s.
        let r = parse(
            "timestamp,series,value\n0,requests,10\n15,requests,10\n30,requests,10\n100000000000,requests,10\n",
            "m.csv",
        )
        .unwrap();
        let e = Scrapes::from_recording(&r).unwrap_err().to_string();
        assert!(
            e.starts_with("m.csv:5: requests at 5138-11-16T09:46:40Z comes 6666666664 lost scrapes of 15s after the one at 1970-01-01T00:00:30Z"),
            "{e}"
        );
        assert!(e.contains("over 2000000 scrape intervals"), "{e}");
        // At the limit: accepted, and fed as exactly MAX_SLOTS slots.
        let last = (MAX_SLOTS - 1) * 15;
        let r = parse(
            &format!("timestamp,series,value\n0,requests,10\n15,requests,10\n30,requests,10\n{last},requests,10\n"),
            "m.csv",
        )
        .unwrap();
        let s = Scrapes::from_recording(&r).unwrap().unwrap();
        assert_eq!(s.lost() + 4, MAX_SLOTS);
        let r = parse(
            &format!("timestamp,series,value\n0,requests,10\n15,requests,10\n30,requests,10\n{},requests,10\n", last + 15),
            "m.csv",
        )
        .unwrap();
        assert!(Scrapes::from_recording(&r).is_err());
    }

    #[test]
    fn recorded_scrape_series_need_requests_at_the_same_time() {
        let r = parse(
            "timestamp,series,value\n15,requests,10\n30,requests,10\n20,errors,1\n30,errors,11\n",
            "m.csv",
        )
        .unwrap();
        let e = Scrapes::from_recording(&r).unwrap_err().to_string();
        assert!(
            e.contains("m.csv:4: errors at 1970-01-01T00:00:20Z has no requests point"),
            "{e}"
        );
        let r = parse(
            "timestamp,series,value\n15,requests,10\n30,requests,10\n30,errors,11\n",
            "m.csv",
        )
        .unwrap();
        let e = Scrapes::from_recording(&r).unwrap_err().to_string();
        assert!(
            e.contains("m.csv:4: errors = 11 at 1970-01-01T00:00:30Z is more than its 10 requests"),
            "{e}"
        );
    }

    #[test]
    fn a_nan_error_ratio_at_zero_traffic_is_no_data_and_elsewhere_an_error() {
        // What Prometheus answers for sum(rate(errors)) / sum(rate(requests)) at night.
        let r = parse(
            "timestamp,series,value\n15,requests,10\n15,error_ratio,0.1\n30,requests,0\n30,error_ratio,NaN\n45,requests,4\n45,error_ratio,0\n",
            "m.csv",
        )
        .unwrap();
        let s = Scrapes::from_recording(&r).unwrap().unwrap();
        let feed = s.feed();
        let quiet = feed[1].new.unwrap();
        assert_eq!(
            (quiet.requests, quiet.errors),
            (0, 0),
            "served nothing: no data"
        );
        assert_eq!(feed[0].new.unwrap().errors, 1);
        assert_eq!(s.errors_filled, 0);
        let r = parse(
            "timestamp,series,value\n15,requests,10\n15,error_ratio,0.1\n30,requests,3\n30,error_ratio,NaN\n",
            "m.csv",
        )
        .unwrap();
        let e = Scrapes::from_recording(&r).unwrap_err().to_string();
        assert_eq!(
            e,
            "m.csv:5: error_ratio is NaN at 1970-01-01T00:00:30Z where 3 requests were counted; NaN (0/0) is no data only at zero requests"
        );
        // A NaN count is still refused where it is read.
        let e = parse("timestamp,series,value\n15,requests,NaN\n", "m.csv").unwrap_err();
        assert!(e.to_string().starts_with("m.csv:2: requests is NaN"), "{e}");
    }
}
