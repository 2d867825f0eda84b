//! Unit tests of `recommend` (`super`).

use super::*;
use crate::experiment::objective::parse;

fn objective(text: &str) -> Objective {
    parse(text, Some("a"), &policies()).expect("parse")
}

fn policies() -> Vec<String> {
    vec!["a".into(), "b".into()]
}

/// An estimate with mean `m` and the interval `m - h .. m + h`.
fn e(m: f64, h: f64) -> Estimate {
    Estimate {
        mean: m,
        ci95_low: m - h,
        ci95_high: m + h,
        n: 100,
    }
}

/// A point of policy `a`: downtime and false positives with their half-widths.
fn point(i: usize, v: f64, down: (f64, f64), fp: (f64, f64)) -> PointResult {
    let mut estimates = BTreeMap::new();
    estimates.insert(("a".into(), "downtime_s".into()), e(down.0, down.1));
    estimates.insert(
        ("a".into(), "false_positive_rollbacks".into()),
        e(fp.0, fp.1),
    );
    PointResult {
        point: i,
        values: vec![("x".into(), v)],
        estimates,
    }
}

#[test]
fn recommends_the_best_point_whose_bound_meets_the_constraints() {
    let o = objective("min downtime_s s.t. false_positive_rollbacks <= 0.01");
    let pts = [
        point(0, 1.0, (10.0, 1.0), (0.05, 0.001)),
        point(1, 2.0, (20.0, 1.0), (0.009, 0.0005)),
        point(2, 3.0, (30.0, 1.0), (0.001, 0.0005)),
    ];
    let r = recommend(&o, &pts, 0.95);
    assert!(r.met);
    assert_eq!(r.point, Some(1));
    assert_eq!(r.tied, vec![1]);
    assert_eq!(r.tie_break, None);
    assert_eq!(r.constraints[0].bound, Some(0.0095));
    assert!(r.message.starts_with("recommended: x = 2"), "{}", r.message);
    assert!(
        r.message
            .contains("false_positive_rollbacks@a <= 0.01 (upper 95% bound 0.0095)"),
        "{}",
        r.message
    );
}

#[test]
fn a_mean_that_meets_a_constraint_is_not_enough() {
    let o = objective("min downtime_s s.t. false_positive_rollbacks <= 0.01");
    // Point 0's mean (0.008) meets the constraint, its upper bound (0.014) does not.
    let pts = [
        point(0, 1.0, (10.0, 1.0), (0.008, 0.006)),
        point(1, 2.0, (20.0, 1.0), (0.004, 0.002)),
    ];
    let r = recommend(&o, &pts, 0.95);
    assert_eq!(r.point, Some(1), "{}", r.message);
    let b = r.constraints[0].bound.expect("a bound");
    assert!((b - 0.006).abs() < 1e-12, "{b}");
    // Alone, it is not recommended, and the message says why.
    let r = recommend(&o, &pts[..1], 0.95);
    assert!(!r.met);
    assert_eq!(r.point, None);
    assert!(
            r.message.starts_with(
                "no swept value meets false_positive_rollbacks@a <= 0.01 at 95% confidence; the closest is x = 1 with false_positive_rollbacks@a = 0.0080 (bound 0.0140); its mean meets the constraint but its interval does not"
            ),
            "{}",
            r.message
        );
}

#[test]
fn a_lower_confidence_narrows_the_bound() {
    let o = objective("min downtime_s s.t. false_positive_rollbacks <= 0.01");
    let pts = [point(0, 1.0, (10.0, 1.0), (0.008, 0.003))];
    assert!(!recommend(&o, &pts, 0.95).met);
    // At 80% the half-width is 0.003 * 1.2816 / 1.96 = 0.00196: 0.00996 <= 0.01.
    let r = recommend(&o, &pts, 0.8);
    assert!(r.met, "{}", r.message);
    let b = r.constraints[0].bound.expect("bound");
    assert!(
        (b - (0.008 + 0.003 * 1.281_551_565 / Z975)).abs() < 1e-9,
        "{b}"
    );
    assert!(r.message.contains("upper 80% bound"), "{}", r.message);
    assert!(check_confidence(1.2)
        .unwrap_err()
        .contains("from 0.5 to 0.999"));
}

#[test]
fn overlapping_intervals_tie_and_the_tie_goes_to_the_conservative_value() {
    let o = objective("min downtime_s s.t. false_positive_rollbacks <= 0.1");
    // Downtime 10 +- 2 and 11 +- 2 overlap; 30 +- 1 does not. Point 0 has the lower
    // mean, point 1 fewer false positives: point 1 is recommended.
    let pts = [
        point(0, 0.01, (10.0, 2.0), (0.05, 0.01)),
        point(1, 0.02, (11.0, 2.0), (0.02, 0.01)),
        point(2, 0.03, (30.0, 1.0), (0.001, 0.001)),
    ];
    let r = recommend(&o, &pts, 0.95);
    assert_eq!(r.point, Some(1), "{}", r.message);
    assert_eq!(r.tied, vec![0, 1]);
    let t = r.tie_break.expect("a tie");
    assert!(
            t == "2 values tie (95% intervals of downtime_s@a overlap): 0.01, 0.02; chose 0.02, the most conservative (fewest false-positive rollbacks: 0.0200 against up to 0.0500)",
            "{t}"
        );
    assert!(r.message.contains(&t));
    // Equal false positives: the simpler value (fewer significant digits) wins.
    let pts = [
        point(0, 0.025, (10.0, 2.0), (0.0, 0.01)),
        point(1, 0.02, (11.0, 2.0), (0.0, 0.01)),
    ];
    let r = recommend(&o, &pts, 0.95);
    assert_eq!(r.point, Some(1));
    assert!(r.tie_break.expect("tie").contains("the simplest"));
    assert_eq!(
        (digits(0.025), digits(0.02), digits(900.0), digits(0.0)),
        (2, 1, 1, 0)
    );
}

#[test]
fn a_paste_says_where_it_goes() {
    let paste = |table: &str| {
        Paste {
            table: table.into(),
            line: "x = 1".into(),
        }
        .describe()
    };
    assert_eq!(
        paste("policies.gate"),
        "in the scenario, [[policies]] named \"gate\":\n    x = 1"
    );
    assert_eq!(
        paste("faults.0"),
        "in the scenario, [[faults]] number 0 (from 0):\n    x = 1"
    );
    assert_eq!(
        paste("release.bad"),
        "in the scenario, [release.bad]:\n    x = 1"
    );
}

#[test]
fn says_plainly_when_nothing_meets_the_constraint() {
    let o = objective("min downtime_s s.t. false_positive_rollbacks <= 0.001");
    let pts = [
        point(0, 1.0, (10.0, 1.0), (0.05, 0.01)),
        point(1, 2.0, (20.0, 1.0), (0.002, 0.001)),
    ];
    let r = recommend(&o, &pts, 0.95);
    assert!(!r.met);
    assert_eq!(r.point, None);
    assert!(
            r.message.starts_with(
                "no swept value meets false_positive_rollbacks@a <= 0.001 at 95% confidence; the closest is x = 2"
            ),
            "{}",
            r.message
        );
}
