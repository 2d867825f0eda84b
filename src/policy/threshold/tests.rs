use super::super::VersionSample;
use super::*;

/// A version's readings: `requests` and `errors`, a 100 ms p99, no gauges.
fn sample(requests: u64, errors: u64) -> VersionSample {
    VersionSample {
        requests,
        errors,
        latency_p99_ms: Some(100.0),
        gauges: Default::default(),
    }
}

/// A scrape of the new version alone.
fn scrape(at_ms: u64, requests: u64, errors: u64) -> Scrape {
    Scrape {
        at_ms,
        new: Some(sample(requests, errors)),
        old: None,
    }
}

/// An error-ratio rule: above, window, `for`, min_requests, on_no_data.
fn error_rule(above: f64, window_ms: u64, for_ms: u64, min: u64, no_data: NoData) -> Threshold {
    Threshold::new(
        ThresholdSignal::ErrorRate { above },
        window_ms,
        for_ms,
        min,
        no_data,
    )
}

/// A rule with no `for`, judged at any traffic, that ignores no data.
fn plain(signal: ThresholdSignal, window_ms: u64) -> Threshold {
    Threshold::new(signal, window_ms, 0, 1, NoData::Ignore)
}

/// The rule's decision after each scrape, in order.
fn decide(t: &mut Threshold, scrapes: &[Scrape]) -> Vec<Decision> {
    scrapes.iter().map(|s| t.on_scrape(s)).collect()
}

use Decision::{Continue as C, Rollback as R};

fn missing(at_ms: u64) -> Scrape {
    Scrape {
        at_ms,
        new: None,
        old: None,
    }
}

#[test]
fn ratio_of_sums_over_the_window() {
    // 60 s window, 15 s scrapes: four scrapes in the window.
    let mut t = plain(ThresholdSignal::ErrorRate { above: 0.05 }, 60_000);
    let scrapes = [
        scrape(15_000, 100, 0),
        scrape(30_000, 100, 0),
        scrape(45_000, 100, 0),
        // 20 / 400 = 0.05: not strictly above.
        scrape(60_000, 100, 20),
        // window now 30..75 s: 21 / 400 > 0.05
        scrape(75_000, 100, 1),
    ];
    assert_eq!(decide(&mut t, &scrapes), [C, C, C, C, R]);
}

#[test]
fn hold_time_must_elapse_in_breach() {
    let mut t = error_rule(0.01, 15_000, 30_000, 1, NoData::Ignore);
    let scrapes = [
        scrape(15_000, 100, 50),
        scrape(30_000, 100, 50),
        scrape(45_000, 100, 0), // breaks the hold
        scrape(60_000, 100, 50),
        scrape(75_000, 100, 50),
        scrape(90_000, 100, 50),
    ];
    assert_eq!(decide(&mut t, &scrapes), [C, C, C, C, C, R]);
}

#[test]
fn no_data_is_ignored_or_a_breach_as_configured() {
    let mut ignore = plain(ThresholdSignal::ErrorRate { above: 0.01 }, 15_000);
    let mut breach = error_rule(0.01, 15_000, 0, 1, NoData::Breach);
    assert_eq!(ignore.on_scrape(&missing(15_000)), Decision::Continue);
    assert_eq!(breach.on_scrape(&missing(15_000)), Decision::Rollback);
    // Too few requests is no data as well.
    let mut low = error_rule(0.01, 15_000, 0, 50, NoData::Ignore);
    assert_eq!(low.on_scrape(&scrape(15_000, 10, 10)), Decision::Continue);
}

/// Bug 6 of issue 12: a pending `for` timer does not survive a window with no data
/// under `ignore` (a Prometheus pending alert is deleted when its query returns
/// nothing), and does under `breach`. 15 s window and scrapes, `for` = 30 s.
#[test]
fn no_data_drops_a_pending_timer_unless_it_is_a_breach() {
    let rule = |no_data| error_rule(0.01, 15_000, 30_000, 1, no_data);
    let trace = |t: &mut Threshold| -> Vec<(u64, Decision)> {
        let mut out = Vec::new();
        for s in [
            scrape(15_000, 100, 50), // breach: pending since 15 s
            scrape(30_000, 100, 50), // 15 s pending
            missing(45_000),         // the window is empty: no data
            scrape(60_000, 100, 50), // breach again
            scrape(75_000, 100, 50),
            scrape(90_000, 100, 50),
        ] {
            let d = t.on_scrape(&s);
            out.push((s.at_ms, d));
            if d == Decision::Rollback {
                break;
            }
        }
        out
    };
    // ignore: pending again from 60 s, fires once 30 s have passed, at 90 s.
    assert_eq!(
        trace(&mut rule(NoData::Ignore)),
        vec![
            (15_000, C),
            (30_000, C),
            (45_000, C),
            (60_000, C),
            (75_000, C),
            (90_000, R)
        ]
    );
    // breach: the empty window keeps the condition, which has held 30 s at 45 s.
    assert_eq!(
        trace(&mut rule(NoData::Breach)),
        vec![(15_000, C), (30_000, C), (45_000, R)]
    );
    // A lost scrape with data left in a longer window is not "no data": 60 s window,
    // the timer from 15 s runs on and fires at 45 s.
    let mut long = error_rule(0.01, 60_000, 30_000, 1, NoData::Ignore);
    assert_eq!(
        trace(&mut long),
        vec![(15_000, C), (30_000, C), (45_000, R)]
    );
}

#[test]
fn latency_uses_the_mean_scraped_p99() {
    let mut t = plain(ThresholdSignal::LatencyP99 { above_ms: 150.0 }, 30_000);
    let mut s = scrape(15_000, 10, 0);
    s.new.as_mut().unwrap().latency_p99_ms = Some(100.0);
    assert_eq!(t.on_scrape(&s), Decision::Continue);
    s.at_ms = 30_000;
    s.new.as_mut().unwrap().latency_p99_ms = Some(250.0);
    assert_eq!(t.on_scrape(&s), Decision::Rollback); // mean 175 > 150
}

/// A scrape of both versions: (requests, errors) of each.
fn with_old(at_ms: u64, new: (u64, u64), old: (u64, u64)) -> Scrape {
    Scrape {
        at_ms,
        new: Some(sample(new.0, new.1)),
        old: Some(sample(old.0, old.1)),
    }
}

#[test]
fn requests_below_counts_the_window_and_needs_a_scrape() {
    let mut t = plain(ThresholdSignal::RequestsBelow { below: 100 }, 30_000);
    // Judged once a whole window (30 s) has passed since the first scrape (15 s).
    let first = [
        missing(15_000),
        scrape(30_000, 60, 0),
        scrape(45_000, 30, 0),
    ];
    assert_eq!(decide(&mut t, &first), [C, C, R]);
    t.reset();
    let second = [
        scrape(15_000, 10, 0),
        scrape(30_000, 100, 0),
        // 100 + 0 in the window (15..45 s]: not fewer than 100.
        scrape(45_000, 0, 0),
        // 0 + 0 in the window (30..60 s].
        scrape(60_000, 0, 0),
    ];
    assert_eq!(decide(&mut t, &second), [C, C, C, R]);
    // A lost scrape keeps the window's earlier scrapes.
    t.reset();
    let lost = [scrape(15_000, 200, 0), missing(30_000), missing(45_000)];
    assert_eq!(decide(&mut t, &lost), [C, C, C]);
}

fn aws(above: f64) -> Threshold {
    Threshold::from_spec(ThresholdSpec {
        signal: ThresholdSignal::ErrorRate { above },
        window_ms: 15_000,
        for_ms: 0,
        min_requests: 1,
        on_no_data: NoData::Ignore,
        ignore_alarm_at_start: true,
    })
}

#[test]
fn an_alarm_holding_at_the_start_is_ignored_until_it_clears() {
    // The stable version already shows 5% at the first scrape: the alarm was in ALARM.
    let mut t = aws(0.02);
    let scrapes = [
        with_old(15_000, (100, 5), (100, 5)),
        with_old(30_000, (100, 9), (100, 5)),
        // It clears once (1%), then enters ALARM again: that one acts.
        with_old(45_000, (100, 1), (100, 1)),
        with_old(60_000, (100, 5), (100, 1)),
    ];
    assert_eq!(decide(&mut t, &scrapes), [C, C, C, R]);
    // A new deploy judges the start again: OK before, so the first breach acts.
    t.reset();
    assert_eq!(
        t.on_scrape(&with_old(15_000, (100, 5), (100, 1))),
        Decision::Rollback
    );
    // Without the key, the same first scrape acts at once.
    let mut p = plain(ThresholdSignal::ErrorRate { above: 0.02 }, 15_000);
    assert_eq!(
        p.on_scrape(&with_old(15_000, (100, 5), (100, 5))),
        Decision::Rollback
    );
}

fn gauge_scrape(at_ms: u64, requests: u64, new_cpu: Option<f64>, old_cpu: Option<f64>) -> Scrape {
    let v = |cpu| VersionSample {
        requests,
        errors: 0,
        latency_p99_ms: None,
        gauges: crate::policy::Gauges {
            cpu,
            ..Default::default()
        },
    };
    Scrape {
        at_ms,
        new: Some(v(new_cpu)),
        old: Some(v(old_cpu)),
    }
}

fn cpu_rule(above: f64, window_ms: u64, min_requests: u64, ignore_at_start: bool) -> Threshold {
    Threshold::from_spec(ThresholdSpec {
        signal: ThresholdSignal::Gauge {
            gauge: crate::policy::Gauge::Cpu,
            above,
        },
        window_ms,
        for_ms: 0,
        min_requests,
        on_no_data: NoData::Ignore,
        ignore_alarm_at_start: ignore_at_start,
    })
}

#[test]
fn a_gauge_rule_compares_the_mean_reading_at_any_traffic() {
    // 30 s window, 15 s scrapes: the mean of the last two readings; min_requests = 50 does
    // not apply (a gauge reads with no request at all).
    let mut t = cpu_rule(0.8, 30_000, 50, false);
    assert!(t.needs().gauges && !t.needs().latency);
    let scrapes = [
        gauge_scrape(15_000, 0, Some(0.7), None),
        // (0.7 + 0.9) / 2 = 0.8: not strictly above.
        gauge_scrape(30_000, 0, Some(0.9), None),
        // (0.9 + 0.75) / 2 = 0.825 > 0.8.
        gauge_scrape(45_000, 0, Some(0.75), None),
    ];
    assert_eq!(decide(&mut t, &scrapes), [C, C, R]);
    // No reading in the window (a recording without the series): no data.
    let mut t = cpu_rule(0.1, 15_000, 1, false);
    let unread = [gauge_scrape(15_000, 100, None, Some(0.9)), missing(30_000)];
    assert_eq!(decide(&mut t, &unread), [C, C]);
}

#[test]
fn a_gauge_alarm_at_the_start_is_judged_on_the_stable_versions_reading() {
    // The stable pods were already at 90% CPU when the deploy started: ignored until the
    // stable reading is judged OK... the alarm held, so the canary's 95% does not act.
    let mut t = cpu_rule(0.8, 15_000, 1, true);
    let scrapes = [
        gauge_scrape(15_000, 10, Some(0.95), Some(0.9)),
        // It clears (70%), then enters ALARM again: that acts.
        gauge_scrape(30_000, 10, Some(0.7), Some(0.7)),
        gauge_scrape(45_000, 10, Some(0.85), Some(0.7)),
    ];
    assert_eq!(decide(&mut t, &scrapes), [C, C, R]);
}
