use super::*;
use crate::report::inputs::SummaryRow;

#[test]
fn pareto_front_keeps_the_non_dominated() {
    let pts = [
        Some((0.0, 0.20)),  // none: no false positives, misses everything
        Some((0.0, 0.0)),   // oracle: dominates all
        Some((0.08, 0.0)),  // threshold
        Some((0.03, 0.18)), // probes
        None,               // no data
    ];
    assert_eq!(pareto_front(&pts), [false, true, false, false, false]);
    let pts = [
        Some((0.0, 0.20)),
        Some((0.08, 0.0)),
        Some((0.03, 0.18)),
        Some((0.05, 0.19)), // beaten by (0.03, 0.18)
        Some((0.03, 0.18)), // a tie is on the front with its twin
        Some((f64::NAN, 0.0)),
    ];
    assert_eq!(pareto_front(&pts), [true, true, true, false, true, false]);
    assert!(pareto_front(&[]).is_empty());
}

fn row(p: &str, m: &str, mean: f64, lo: f64, hi: f64) -> SummaryRow {
    SummaryRow {
        policy: p.into(),
        metric: m.into(),
        mean: Some(mean),
        ci95_low: Some(lo),
        ci95_high: Some(hi),
        n: 1000,
    }
}

/// The estimates of summary rows, policies in their first-seen order.
fn estimates(rows: &[SummaryRow]) -> EstimateTable {
    EstimateTable::from_summary(rows, &[])
}

fn table() -> EstimateTable {
    estimates(&[
        row("none", "failed_requests", 32571.9, 30444.0, 34697.0),
        row("canary", "failed_requests", 836.2, 748.0, 924.4),
        row("threshold-x", "failed_requests", 900.0, 850.0, 950.0),
        row("none", "false_positive_rollbacks", 0.0, 0.0, 0.0),
        row("canary", "false_positive_rollbacks", 0.03, 0.02, 0.04),
        row(
            "threshold-x",
            "false_positive_rollbacks",
            0.078,
            0.066,
            0.089,
        ),
        row("none", "missed_bad_release", 0.198, 0.174, 0.224),
        row("canary", "missed_bad_release", 0.0, 0.0, 0.004),
        row("threshold-x", "missed_bad_release", 0.0, 0.0, 0.004),
    ])
}

fn nothing() -> Refs {
    Refs {
        bounds: Vec::new(),
        nothing: vec!["none".into()],
    }
}

#[test]
fn findings_rank_only_choices_and_say_by_how_much() {
    let f = outcome_findings(
        &table(),
        &["failed_requests".into(), "false_positive_rollbacks".into()],
        &nothing(),
    );
    // Overlapping intervals: no winner; doing nothing is clearly worse, so it is said.
    assert_eq!(
        f[0],
        "The runs cannot tell canary and threshold-x apart on failed requests: their 95% \
         intervals overlap (canary lowest at 836.2 [748.0, 924.4] per run). Doing nothing \
         (none) has 32572 [30444, 34697] per run."
    );
    // Not "none has the fewest false-positive rollbacks": it never acts.
    assert_eq!(
        f[1],
        "canary has the fewest false-positive rollbacks: 0.030 [0.020, 0.040] per run, \
         ahead of the runner-up threshold-x (0.078 [0.066, 0.089] per run) by 0.048 per run."
    );
    assert_eq!(f.len(), 2);
}

#[test]
fn findings_name_the_worst_and_the_policies_level_with_the_best() {
    let t = estimates(&[
        row("a", "downtime_s", 100.0, 90.0, 110.0),
        row("b", "downtime_s", 105.0, 95.0, 115.0),
        row("c", "downtime_s", 300.0, 280.0, 320.0),
        row("d", "downtime_s", 300.0, 280.0, 320.0),
    ]);
    let f = outcome_findings(&t, &["downtime_s".into()], &Refs::default());
    assert_eq!(
        f[0],
        "a has the least downtime, 100.0 [90.0, 110.0] s per run, but the runs cannot tell \
         it from b (overlapping 95% intervals). d has the most downtime: 300.0 [280.0, \
         320.0] s per run."
    );
    let t = estimates(&[
        row("a", "rollback_loops", 0.0, 0.0, 0.0),
        row("b", "rollback_loops", 0.0, 0.0, 0.0),
    ]);
    let f = outcome_findings(&t, &["rollback_loops".into()], &Refs::default());
    assert_eq!(
        f,
        ["Every policy that acts has the same rollback loops: 0.000 [0.000, 0.000] per run."]
    );
}

#[test]
fn references_are_not_ranked() {
    let mut rows = vec![row("oracle", "failed_requests", 10.0, 9.0, 11.0)];
    rows.extend([
        row("a", "failed_requests", 100.0, 90.0, 110.0),
        row("b", "failed_requests", 200.0, 190.0, 210.0),
    ]);
    let t = estimates(&rows);
    let refs = Refs {
        bounds: vec!["oracle".into()],
        nothing: Vec::new(),
    };
    let f = outcome_findings(&t, &["failed_requests".into()], &refs);
    assert!(
        f[0].starts_with("a has the fewest failed requests"),
        "{}",
        f[0]
    );
    let pts = tradeoff_points(&t, "failed_requests", "failed_requests", &refs);
    assert_eq!(pareto_front(&pts), [false, true, false]);
}

#[test]
fn tradeoff_finding_names_front_and_who_beats_whom() {
    let f = tradeoff_findings(
        &table(),
        "false_positive_rollbacks",
        "missed_bad_release",
        &nothing(),
    );
    // none (never acts) is not on the front it would trivially join.
    assert_eq!(
        f,
        [
            "On the Pareto front (no other policy that acts has both fewer false-positive \
             rollbacks and fewer missed bad releases): canary.",
            "canary does at least as well as threshold-x on both, and clearly better on one: \
             0.030 vs 0.078 false-positive rollbacks, 0.0% vs 0.0% missed bad releases."
        ]
    );
    // Better on both means but within the intervals on both: no claim.
    let t = estimates(&[
        row("a", "false_positive_rollbacks", 0.03, 0.02, 0.04),
        row("b", "false_positive_rollbacks", 0.035, 0.025, 0.045),
        row("a", "missed_bad_release", 0.01, 0.0, 0.02),
        row("b", "missed_bad_release", 0.012, 0.002, 0.022),
    ]);
    let f = tradeoff_findings(
        &t,
        "false_positive_rollbacks",
        "missed_bad_release",
        &Refs::default(),
    );
    assert_eq!(f.len(), 1, "{f:?}");
}

#[test]
fn comparison_finding_says_whether_the_interval_excludes_zero() {
    let t = EstimateTable::from_comparison(
        &[
            crate::report::inputs::ComparisonRow {
                policy: "gate".into(),
                baseline: "none".into(),
                metric: "downtime_s".into(),
                mean_difference: Some(-9843.5),
                ci95_low: Some(-10700.0),
                ci95_high: Some(-8990.0),
                n: 1000,
            },
            crate::report::inputs::ComparisonRow {
                policy: "gate".into(),
                baseline: "none".into(),
                metric: "false_positive_rollbacks".into(),
                mean_difference: Some(0.01),
                ci95_low: Some(-0.002),
                ci95_high: Some(0.022),
                n: 1000,
            },
        ],
        &[],
    );
    let f = comparison_findings(
        &t,
        "none",
        &["downtime_s".into(), "false_positive_rollbacks".into()],
        &nothing(),
    );
    assert_eq!(
        f[0],
        "gate has the largest reduction in downtime against none: -9844 [-10700, -8990] s \
         per run (the interval excludes 0: a real difference)."
    );
    assert_eq!(
        f[1],
        "No policy reduces false-positive rollbacks against none; gate adds the most: \
         +0.010 [-0.002, +0.022] per run (not distinguishable from no change)."
    );
}

#[test]
fn unmet_recommendation_is_said_plainly() {
    let r = Recommendation {
        objective: "min downtime_s s.t. false_positive_rollbacks <= 0.001".into(),
        param: "policies.gate.error_rate_above".into(),
        met: false,
        ..Default::default()
    };
    assert_eq!(
        recommendation_sentence(&r),
        "No value of error_rate_above meets \"min downtime_s s.t. false_positive_rollbacks <= 0.001\"."
    );
}

#[test]
fn timeline_finding_tells_the_story() {
    let ev = |t: f64, k: &str, d: &str| EventRow {
        t_s: t,
        kind: k.into(),
        detail: Some(d.into()),
    };
    let events = [
        ev(3600.0, "deploy", "attempt 1"),
        ev(3720.0, "fault_start", "dependency_outage"),
        ev(3900.0, "rollback", "error rate 0.031 > 0.02"),
        ev(4200.0, "fault_end", "dependency_outage"),
    ];
    let trace = [TraceRow {
        t_s: 3900.0,
        share_new: Some(0.1),
        true_error_rate_old: Some(0.001),
        true_error_rate_new: Some(0.051),
        observed_error_rate_new: None,
        true_p99_old_ms: None,
        true_p99_new_ms: None,
        observed_p99_new_ms: None,
        requests: None,
        failed_requests: None,
    }];
    let f = timeline_findings(&trace, &events);
    assert_eq!(
        f[0],
        "Deployed at 1:00:00, rolled back at 1:05:00 (5 min later), while a fault was \
         active (dependency_outage)."
    );
    assert_eq!(f[1], "Faults: dependency_outage 1:02:00–1:10:00.");
    assert_eq!(
        f[2],
        "The new version's true error rate peaked at 5.100% at 1:05:00."
    );
}
