//! Conformance tables of the Argo Rollouts rules (`super`), written from its source.

use super::super::VersionSample;
use super::*;
use Measurement::{Error as E, Failed as F, Inconclusive as I, Successful as S};

fn limits(failure_limit: i64) -> Limits {
    Limits {
        count: None,
        failure_limit,
        inconclusive_limit: 0,
        consecutive_error_limit: 4,
        consecutive_success_limit: 0,
    }
}

/// The metric phase after each measurement of `seq`, stopping at the first completed
/// phase: (phase, number of measurements taken).
fn run(l: &Limits, seq: &[Measurement]) -> (Phase, usize) {
    let mut r = MetricResult::default();
    for (i, m) in seq.iter().enumerate() {
        r.record(*m);
        let p = r.assess(l, false);
        if p.completed() {
            return (p, i + 1);
        }
    }
    (r.assess(l, false), seq.len())
}

#[test]
fn evaluate_result_table() {
    let both = Conditions {
        success_below: Some(0.01),
        failure_above: Some(0.05),
    };
    let success_only = Conditions {
        success_below: Some(0.01),
        failure_above: None,
    };
    let failure_only = Conditions {
        success_below: None,
        failure_above: Some(0.05),
    };
    let none = Conditions::default();
    // both conditions: failure wins, neither true = Inconclusive
    assert_eq!(evaluate(Some(0.001), &both), S);
    assert_eq!(evaluate(Some(0.02), &both), I);
    assert_eq!(evaluate(Some(0.06), &both), F);
    // strict comparisons at the thresholds
    assert_eq!(evaluate(Some(0.01), &both), I);
    assert_eq!(evaluate(Some(0.05), &both), I);
    // only success: not successful = Failed
    assert_eq!(evaluate(Some(0.001), &success_only), S);
    assert_eq!(evaluate(Some(0.02), &success_only), F);
    // only failure: not failed = Successful
    assert_eq!(evaluate(Some(0.02), &failure_only), S);
    assert_eq!(evaluate(Some(0.06), &failure_only), F);
    // no condition: always Successful
    assert_eq!(evaluate(Some(0.9), &none), S);
    // no data is an Error whatever the conditions
    assert_eq!(evaluate(None, &both), E);
    assert_eq!(evaluate(Some(f64::NAN), &failure_only), E);
}

type Case<'a> = (i64, &'a [Measurement], Phase, usize, Decision);

#[test]
fn failure_limit_0_1_3_conformance_table() {
    // (failureLimit, measurements, resulting metric phase, measurements taken when it
    // completed, the rollout's decision with on_inconclusive = "hold")
    const R: Decision = Decision::Rollback;
    const C: Decision = Decision::Continue;
    let table: &[Case] = &[
        // failureLimit 0 (the default): the first failure fails the metric
        (0, &[F], Phase::Failed, 1, R),
        (0, &[S, S, F], Phase::Failed, 3, R),
        (0, &[S, S, S, S], Phase::Running, 4, C),
        // failureLimit 1: failures need not be consecutive, the 2nd fails
        (1, &[F], Phase::Running, 1, C),
        (1, &[F, S, S, F], Phase::Failed, 4, R),
        (1, &[F, F], Phase::Failed, 2, R),
        // failureLimit 3: the docs say "fails after three"; `failed > 3` needs a 4th
        (3, &[F, F, F], Phase::Running, 3, C),
        (3, &[F, F, F, F], Phase::Failed, 4, R),
        (3, &[F, S, F, S, F, S, F], Phase::Failed, 7, R),
        (3, &[F, I], Phase::Inconclusive, 2, C),
        (3, &[F, F, F, E, E, E, E, E], Phase::Error, 8, R),
        // errors: 5 in a row (> consecutiveErrorLimit 4) are an Error phase, whatever
        // failureLimit; a success in between resets the streak
        (0, &[E, E, E, E], Phase::Running, 4, C),
        (0, &[E, E, E, E, E], Phase::Error, 5, R),
        (3, &[E, E, E, E, S, E, E, E, E], Phase::Running, 9, C),
        (3, &[E, E, E, E, F, E, E, E, E, E], Phase::Error, 10, R),
        // an Error does not count as a failure
        (1, &[E, F, E, S], Phase::Running, 4, C),
        // inconclusive: inconclusiveLimit 0, the first is enough, before failures
        (3, &[I], Phase::Inconclusive, 1, C),
        (1, &[F, I], Phase::Inconclusive, 2, C),
        (0, &[S, I], Phase::Inconclusive, 2, C),
    ];
    for (fl, seq, phase, n, d) in table {
        let got = run(&limits(*fl), seq);
        assert_eq!(got, (*phase, *n), "failureLimit {fl}, sequence {seq:?}");
        assert_eq!(
            decision(got.0, OnInconclusive::Hold),
            *d,
            "failureLimit {fl}, sequence {seq:?}"
        );
    }
    // The rollout's decision for each resulting phase.
    let hold = OnInconclusive::Hold;
    let abort = OnInconclusive::Rollback;
    assert_eq!(decision(Phase::Failed, hold), Decision::Rollback);
    assert_eq!(decision(Phase::Error, hold), Decision::Rollback);
    assert_eq!(decision(Phase::Inconclusive, hold), Decision::Continue);
    assert_eq!(decision(Phase::Inconclusive, abort), Decision::Rollback);
    assert_eq!(decision(Phase::Running, abort), Decision::Continue);
    assert_eq!(decision(Phase::Successful, abort), Decision::Continue);
}

#[test]
fn later_limit_checks_override_earlier_ones() {
    // A result past two limits at once takes the later check's phase.
    let mut r = MetricResult {
        measurements: 10,
        failed: 2,
        inconclusive: 2,
        consecutive_error: 5,
        ..MetricResult::default()
    };
    let l = limits(0);
    assert_eq!(r.assess(&l, false), Phase::Error);
    r.consecutive_error = 0;
    assert_eq!(r.assess(&l, false), Phase::Inconclusive);
    r.inconclusive = 0;
    assert_eq!(r.assess(&l, false), Phase::Failed);
}

#[test]
fn count_reached_without_breach_is_successful() {
    let l = Limits {
        count: Some(3),
        ..limits(1)
    };
    assert_eq!(run(&l, &[S, F, S]), (Phase::Successful, 3));
    // errors do not count towards `count`
    assert_eq!(run(&l, &[S, E, F, E, S]), (Phase::Successful, 5));
    assert_eq!(run(&l, &[F, F]), (Phase::Failed, 2));
    // a disabled failure limit (-1) needs consecutiveSuccessLimit; count reached without
    // it is Failed, and with failureLimit >= 0 it is Inconclusive
    let cs = Limits {
        count: Some(4),
        failure_limit: -1,
        consecutive_success_limit: 2,
        ..limits(0)
    };
    assert_eq!(run(&cs, &[F, F, F, F]), (Phase::Failed, 4));
    assert_eq!(run(&cs, &[F, S, S]), (Phase::Successful, 3));
    let cs0 = Limits {
        failure_limit: 2,
        ..cs
    };
    assert_eq!(run(&cs0, &[S, F, S, F]), (Phase::Inconclusive, 4));
    // terminated before count: Successful; before any measurement: Successful
    let r = MetricResult::default();
    assert_eq!(r.assess(&l, true), Phase::Successful);
    assert_eq!(r.assess(&l, false), Phase::Pending);
}

fn spec(failure_limit: i64, on_inconclusive: OnInconclusive) -> ArgoSpec {
    ArgoSpec {
        interval_ms: 60_000,
        initial_delay_ms: 0,
        count: None,
        failure_limit,
        inconclusive_limit: 0,
        consecutive_error_limit: 4,
        consecutive_success_limit: 0,
        error_rate: Conditions {
            success_below: Some(0.01),
            failure_above: Some(0.05),
        },
        latency_p99_ms: Conditions::default(),
        on_inconclusive,
        step_analysis: false,
    }
}

fn scrape(at_ms: u64, requests: u64, errors: u64) -> Scrape {
    let s = VersionSample {
        requests,
        errors,
        latency_p99_ms: None,
        gauges: Default::default(),
    };
    Scrape {
        at_ms,
        new: Some(s),
        old: None,
    }
}

fn lost(at_ms: u64) -> Scrape {
    Scrape {
        at_ms,
        new: None,
        old: None,
    }
}

/// Feeds one scrape every 15 s whose error ratio over each minute is `rates[k]` (None:
/// lost scrapes), returning the decisions with the scrape time at which each came.
fn drive(p: &mut ArgoAnalysis, minutes: &[Option<u64>]) -> Vec<(u64, Decision)> {
    let mut out = vec![];
    let mut t = 0;
    for errors in minutes {
        for _ in 0..4 {
            t += 15_000;
            let s = match errors {
                Some(e) => scrape(t, 100, *e),
                None => lost(t),
            };
            let d = p.on_scrape(&s);
            if d == Decision::Rollback {
                out.push((t, d));
            }
        }
    }
    out
}

#[test]
fn decisions_through_the_policy() {
    // failureLimit 0: the first failed measurement aborts.
    let mut p = ArgoAnalysis::new(spec(0, OnInconclusive::Hold));
    let d = drive(&mut p, &[Some(0), Some(0), Some(30), Some(30)]);
    assert_eq!(p.phase(), Phase::Failed);
    // measurements at 15 s, 75 s, 135 s: the third sees 30 errors in 400 requests
    assert_eq!(d, vec![(135_000, Decision::Rollback)]);

    // failureLimit 3: four failed measurements, a minute apart.
    let mut p = ArgoAnalysis::new(spec(3, OnInconclusive::Hold));
    let d = drive(&mut p, &[Some(10); 6]);
    assert_eq!(d, vec![(15_000 + 3 * 60_000, Decision::Rollback)]);

    // Inconclusive (3% errors: neither < 1% nor > 5%): hold stops without a rollback,
    // and no later failure is measured; "rollback" aborts.
    let mut p = ArgoAnalysis::new(spec(0, OnInconclusive::Hold));
    assert!(drive(&mut p, &[Some(3), Some(50), Some(50)]).is_empty());
    assert_eq!(p.phase(), Phase::Inconclusive);
    let mut p = ArgoAnalysis::new(spec(0, OnInconclusive::Rollback));
    assert_eq!(
        drive(&mut p, &[Some(3)]),
        vec![(15_000, Decision::Rollback)]
    );

    // reset() starts a new run
    p.reset();
    assert_eq!(p.phase(), Phase::Running);
}

#[test]
fn no_data_errors_are_retried_every_scrape_and_abort_on_the_fifth() {
    let mut p = ArgoAnalysis::new(spec(0, OnInconclusive::Hold));
    // 5 lost scrapes in a row: measurements at each (the 10 s retry falls before the next
    // 15 s scrape); the 5th error exceeds consecutiveErrorLimit 4.
    let d = drive(&mut p, &[None, None]);
    assert_eq!(d, vec![(75_000, Decision::Rollback)]);
    assert_eq!(p.phase(), Phase::Error);
}

#[test]
fn count_ends_the_run_successfully() {
    let mut s = spec(0, OnInconclusive::Hold);
    s.count = Some(2);
    let mut p = ArgoAnalysis::new(s);
    // two clean measurements (15 s, 75 s), then errors nobody measures
    assert!(drive(&mut p, &[Some(0), Some(0), Some(90), Some(90)]).is_empty());
    assert_eq!(p.phase(), Phase::Successful);
}

#[test]
fn a_step_analysis_runs_only_from_its_gate_and_advances_when_successful() {
    let mut s = spec(0, OnInconclusive::Pause);
    s.count = Some(2);
    s.step_analysis = true;
    let mut p = ArgoAnalysis::new(s);
    // no step with an analysis yet: nothing is measured, even a failing interval
    assert_eq!(p.on_scrape(&scrape(60_000, 100, 90)), Decision::Continue);
    // the gate opens at 120 s: measurements at the scrapes after it, 180 s and 240 s
    p.on_step(Some(120_000));
    assert_eq!(p.on_scrape(&scrape(120_000, 100, 90)), Decision::Continue);
    assert_eq!(p.on_scrape(&scrape(180_000, 100, 0)), Decision::Continue);
    assert_eq!(p.on_scrape(&scrape(240_000, 100, 0)), Decision::Advance);
    assert_eq!(p.phase(), Phase::Successful);
    // a step without analysis: idle; the next gated step starts a new run
    p.on_step(None);
    assert_eq!(p.on_scrape(&scrape(300_000, 100, 90)), Decision::Continue);
    p.on_step(Some(300_000));
    assert_eq!(p.on_scrape(&scrape(360_000, 100, 3)), Decision::Pause);
    p.on_step(Some(360_000));
    assert_eq!(p.on_scrape(&scrape(420_000, 100, 90)), Decision::Rollback);
}

#[test]
fn a_background_analysis_ignores_steps() {
    let mut p = ArgoAnalysis::new(spec(0, OnInconclusive::Hold));
    p.on_step(Some(600_000));
    assert_eq!(p.on_scrape(&scrape(60_000, 100, 90)), Decision::Rollback);
}

#[test]
fn two_metrics_run_phase_is_the_worst() {
    let mut s = spec(0, OnInconclusive::Hold);
    s.latency_p99_ms = Conditions {
        success_below: None,
        failure_above: Some(500.0),
    };
    let mut p = ArgoAnalysis::new(s);
    assert!(p.needs().latency);
    let mut sc = scrape(15_000, 100, 0);
    if let Some(v) = sc.new.as_mut() {
        v.latency_p99_ms = Some(900.0);
    }
    assert_eq!(p.on_scrape(&sc), Decision::Rollback);
    assert_eq!(p.phase(), Phase::Failed);
}
