//! The outcome of a system of services in one run: each service's record with the blame
//! only a system has (a healthy service rolled back for a dependency's bad release, or for
//! a fault on it or a dependency), the rollback storms, and the record of the system as a
//! whole (what its users saw).
//!
//! A rollback storm: at least `services` services rolled back within `window_ms`. Storms
//! are counted greedily in time: the first rollback whose window holds enough services
//! opens a storm, which takes every rollback of its window; counting resumes after it.

use super::{RunRecord, Seconds, Timeline};

/// One service of a system in one run, as scored.
#[derive(Debug, Clone)]
pub struct ServiceRun {
    pub name: String,
    /// Its record as a single service (policy, truth, counts).
    pub record: RunRecord,
    pub timeline: Timeline,
    /// Users call it.
    pub entry: bool,
    /// Every service it depends on, directly or not (indices in the system).
    pub dependencies: Vec<usize>,
    /// The fault occurrences that hit it, `[start, end)` in ms.
    pub faults_ms: Vec<(u64, u64)>,
}

/// When rollbacks of many services count as a storm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StormRule {
    pub services: u32,
    pub window_ms: u64,
}

/// The storms of a run: how many, the services in each, and the most services rolled
/// back within one window (a storm or not).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Storms {
    pub count: u32,
    /// For each service, the storms it took part in.
    pub per_service: Vec<u32>,
    pub largest: u32,
}

/// Storms among `rollbacks` (time, service), for `n` services.
pub fn storms(rollbacks: &[(u64, usize)], n: usize, rule: StormRule) -> Storms {
    let mut events = rollbacks.to_vec();
    events.sort_unstable();
    let mut out = Storms {
        count: 0,
        per_service: vec![0; n],
        largest: 0,
    };
    let mut seen = vec![false; n];
    let in_window = |i: usize| {
        let end = events[i].0.saturating_add(rule.window_ms);
        events[i..].iter().take_while(move |e| e.0 < end)
    };
    let distinct = |i: usize, seen: &mut Vec<bool>| {
        seen.iter_mut().for_each(|s| *s = false);
        let mut k = 0u32;
        for &(_, s) in in_window(i) {
            if !seen[s] {
                seen[s] = true;
                k += 1;
            }
        }
        k
    };
    for i in 0..events.len() {
        out.largest = out.largest.max(distinct(i, &mut seen));
    }
    let mut i = 0;
    while i < events.len() {
        let k = distinct(i, &mut seen);
        if k >= rule.services {
            out.count += 1;
            for (s, hit) in seen.iter().enumerate() {
                if *hit {
                    out.per_service[s] += 1;
                }
            }
            let end = events[i].0.saturating_add(rule.window_ms);
            while i < events.len() && events[i].0 < end {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    out
}

/// Each service's record with the system's columns, then the system's record first:
/// `[system, service 0, service 1, ...]`. `faults` is the number of fault occurrences.
pub fn score(runs: Vec<ServiceRun>, rule: StormRule, faults: u32) -> Vec<RunRecord> {
    let n = runs.len();
    // The window in which each service's bad release hurt: its onset until it recovered.
    let hurting: Vec<Option<(u64, u64)>> = runs
        .iter()
        .map(|r| {
            let onset = r.timeline.onset_ms.filter(|_| r.record.release_bad)?;
            Some((onset, r.timeline.recovered_ms.unwrap_or(u64::MAX)))
        })
        .collect();
    let within = |t: u64, (a, b): (u64, u64)| a <= t && t < b;
    let all: Vec<(u64, usize)> = runs
        .iter()
        .enumerate()
        .flat_map(|(s, r)| r.timeline.rollbacks_ms.iter().map(move |&t| (t, s)))
        .collect();
    let st = storms(&all, n, rule);

    let mut rows = Vec::with_capacity(n + 1);
    let mut bad = Vec::new();
    for (s, r) in runs.iter().enumerate() {
        let mut o = r.record.clone();
        let (mut wrong, mut infra) = (0, 0);
        if !o.release_bad {
            for &t in &r.timeline.rollbacks_ms {
                if r.dependencies
                    .iter()
                    .any(|&d| hurting[d].is_some_and(|w| within(t, w)))
                {
                    wrong += 1;
                } else if std::iter::once(s)
                    .chain(r.dependencies.iter().copied())
                    .any(|d| runs[d].faults_ms.iter().any(|&w| within(t, w)))
                {
                    infra += 1;
                }
            }
        }
        let to_rollback = hurting[s].map(|(onset, _)| {
            r.timeline
                .rollbacks_ms
                .iter()
                .find(|&&t| t >= onset)
                .map(|&t| (t - onset) as f64 / 1000.0)
        });
        if let Some(t) = to_rollback {
            bad.push(t);
        }
        o.service = Some(r.name.clone());
        o.wrong_service_rollbacks = Some(wrong);
        o.infra_misattributed_rollbacks = Some(infra);
        o.rollback_storms = Some(st.per_service[s]);
        o.largest_storm = Some(st.largest);
        o.entry_failed_requests = Some(if r.entry { o.failed_requests } else { 0 });
        o.time_to_bad_service_rollback_s = to_rollback.flatten().into();
        o.rollbacks_held = Some(r.timeline.held);
        rows.push(o);
    }
    let mut system = whole(&rows, &runs, &bad, faults);
    system.rollback_storms = Some(st.count);
    system.largest_storm = Some(st.largest);
    let mut out = Vec::with_capacity(n + 1);
    out.push(system);
    out.extend(rows);
    out
}

/// The system's record: counts summed over services, what the users saw (failed
/// requests, requests and downtime at the entry services), a bad release missed anywhere;
/// `bad` holds each bad service's time until it was rolled back.
fn whole(rows: &[RunRecord], runs: &[ServiceRun], bad: &[Option<f64>], faults: u32) -> RunRecord {
    let first = &rows[0];
    let mut o = RunRecord::new(first.run, first.seed, &first.policy, false, faults);
    o.service = Some("system".into());
    let sum32 = |f: fn(&RunRecord) -> u32| rows.iter().map(f).sum::<u32>();
    let sum64 = |f: fn(&RunRecord) -> u64| rows.iter().map(f).sum::<u64>();
    o.release_bad = rows.iter().any(|r| r.release_bad);
    o.deploy_attempts = sum32(|r| r.deploy_attempts);
    o.rollbacks = sum32(|r| r.rollbacks);
    o.false_positive_rollbacks = sum32(|r| r.false_positive_rollbacks);
    o.true_positive_rollbacks = sum32(|r| r.true_positive_rollbacks);
    o.misattributed_rollbacks = sum32(|r| r.misattributed_rollbacks);
    o.missed_bad_release = rows.iter().any(|r| r.missed_bad_release);
    o.rollback_loops = sum32(|r| r.rollback_loops);
    let entry = || {
        rows.iter()
            .zip(runs)
            .filter(|(_, s)| s.entry)
            .map(|(r, _)| r)
    };
    o.downtime_s = entry().map(|r| r.downtime_s).fold(0.0, f64::max);
    o.failed_requests = entry().map(|r| r.failed_requests).sum();
    o.total_requests = entry().map(|r| r.total_requests).sum();
    let times = |f: fn(&RunRecord) -> Option<f64>| rows.iter().filter_map(f);
    o.time_to_detect_s = times(|r| r.time_to_detect_s).reduce(f64::min);
    o.time_to_recover_s = times(|r| r.time_to_recover_s).reduce(f64::max);
    o.roll_forwards = sum32(|r| r.roll_forwards);
    o.flags_off = sum32(|r| r.flags_off);
    o.rollback_refused_unsafe = sum32(|r| r.rollback_refused_unsafe);
    o.new_format_records = sum64(|r| r.new_format_records);
    o.unreadable_reads = sum64(|r| r.unreadable_reads);
    o.corrupted_records = sum64(|r| r.corrupted_records);
    o.lost_writes = sum64(|r| r.lost_writes);
    o.data_harm_detected_s = times(|r| r.data_harm_detected_s).reduce(f64::max);
    o.pages = sum32(|r| r.pages);
    o.human_minutes = rows.iter().map(|r| r.human_minutes).sum();
    o.rollbacks_suppressed = sum32(|r| r.rollbacks_suppressed);
    let opt = |f: fn(&RunRecord) -> Option<u32>| rows.iter().filter_map(f).sum::<u32>();
    o.wrong_service_rollbacks = Some(opt(|r| r.wrong_service_rollbacks));
    o.infra_misattributed_rollbacks = Some(opt(|r| r.infra_misattributed_rollbacks));
    o.entry_failed_requests = Some(o.failed_requests);
    o.rollbacks_held = Some(opt(|r| r.rollbacks_held));
    // Until every bad service was rolled back: the last of them; empty if one never was.
    o.time_to_bad_service_rollback_s = if bad.iter().any(Option::is_none) {
        Seconds::Empty
    } else {
        bad.iter().flatten().copied().reduce(f64::max).into()
    };
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: StormRule = StormRule {
        services: 3,
        window_ms: 600_000,
    };

    #[test]
    fn three_services_within_the_window_make_one_storm() {
        // Services 0, 1, 2 within 10 min; 3 much later; 0 again inside the storm.
        let r = [
            (0, 0),
            (120_000, 1),
            (599_999, 2),
            (300_000, 0),
            (5_000_000, 3),
        ];
        let s = storms(&r, 4, RULE);
        assert_eq!(s.count, 1);
        assert_eq!(s.per_service, vec![1, 1, 1, 0]);
        assert_eq!(s.largest, 3);
    }

    #[test]
    fn the_window_end_is_exclusive_and_one_service_counts_once() {
        let r = [(0, 0), (0, 0), (100, 1), (600_000, 2)];
        let s = storms(&r, 3, RULE);
        assert_eq!((s.count, s.largest), (0, 2));
    }

    fn run(bad: bool, deps: Vec<usize>, rollbacks: Vec<u64>, onset: Option<u64>) -> ServiceRun {
        let mut record = RunRecord::new(0, 1, "p", bad, 0);
        record.failed_requests = 10;
        ServiceRun {
            name: "s".into(),
            record,
            timeline: Timeline {
                rollbacks_ms: rollbacks,
                onset_ms: onset,
                recovered_ms: onset.map(|o| o + 100_000),
                held: 0,
            },
            entry: deps.is_empty(),
            dependencies: deps,
            faults_ms: vec![(1_000_000, 2_000_000)],
        }
    }

    #[test]
    fn a_healthy_caller_rolled_back_while_its_bad_callee_hurt_is_the_wrong_service() {
        let callee = run(true, vec![], vec![90_000], Some(30_000));
        // Rolled back at 60 s (the callee hurting): wrong service; at 1500 s (a fault on
        // the callee): misattributed to infrastructure.
        let mut caller = run(false, vec![0], vec![60_000, 1_500_000], None);
        caller.entry = true;
        let rows = score(vec![callee, caller], RULE, 1);
        assert_eq!(rows[0].service.as_deref(), Some("system"));
        assert_eq!(rows[2].wrong_service_rollbacks, Some(1));
        assert_eq!(rows[2].infra_misattributed_rollbacks, Some(1));
        assert_eq!(rows[1].wrong_service_rollbacks, Some(0));
        assert_eq!(rows[1].time_to_bad_service_rollback_s, Seconds::Value(60.0));
        assert_eq!(rows[0].time_to_bad_service_rollback_s, Seconds::Value(60.0));
        assert_eq!(rows[0].wrong_service_rollbacks, Some(1));
        // Users saw the caller's failures (both are entries here).
        assert_eq!(rows[0].entry_failed_requests, Some(20));
    }
}
