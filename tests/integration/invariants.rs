//! Properties every run must have, whatever the scenario.

use super::{of, records, scenario};
use std::collections::HashMap;

const LOOPY: &str = r#"
    [simulation]
    duration = "12h"
    [release]
    at = "1h"
    bad_probability = 0.3
    [rollout]
    strategy = "canary"
    [pipeline]
    max_attempts = 4
    retry_delay = { exponential = "10m" }
    [[faults]]
    kind = "infra_latency"
    probability = 0.7
    window = ["55m", "1h 10m"]
    duration = { lognormal = { median = "2h", p95 = "6h" } }
    latency_factor = 4.0
    packet_loss = 0.03
    [[policies]]
    name = "none"
    kind = "none"
    [[policies]]
    name = "oracle"
    kind = "oracle"
    [[policies]]
    name = "threshold"
    kind = "threshold"
    error_rate_above = 0.02
    window = "5m"
    [[policies]]
    name = "latency"
    kind = "threshold"
    latency_p99_above = "600ms"
    window = "5m"
"#;

#[test]
fn counts_are_consistent_in_every_run() {
    let s = scenario(LOOPY);
    let all = records(&s, 99, 300);
    assert!(
        all.iter().any(|r| r.rollback_loops > 0),
        "the scenario should loop"
    );
    for r in &all {
        assert!(r.deploy_attempts >= 1 && r.deploy_attempts <= 4);
        assert!(r.rollbacks <= r.deploy_attempts);
        assert_eq!(
            r.rollbacks,
            r.false_positive_rollbacks + r.true_positive_rollbacks
        );
        assert!(r.misattributed_rollbacks <= r.false_positive_rollbacks);
        assert_eq!(r.rollback_loops, r.rollbacks.saturating_sub(1));
        assert!(r.failed_requests <= r.total_requests);
        assert!(r.downtime_s <= 12.0 * 3600.0);
        if r.release_bad {
            assert_eq!(r.false_positive_rollbacks, 0);
        } else {
            assert_eq!(r.true_positive_rollbacks, 0);
            assert!(!r.missed_bad_release);
        }
        if let (Some(d), Some(rec)) = (r.time_to_detect_s, r.time_to_recover_s) {
            assert!(rec >= d);
        }
    }
    for r in of(&all, "none") {
        assert_eq!(r.rollbacks, 0, "none never rolls back");
        assert_eq!(r.deploy_attempts, 1);
        assert_eq!(r.missed_bad_release, r.release_bad);
    }
    for r in of(&all, "oracle") {
        assert_eq!(
            r.false_positive_rollbacks, 0,
            "oracle has no false positives"
        );
    }
}

#[test]
fn policies_share_the_world_of_each_run() {
    // Common random numbers: truth, faults and traffic volume do not depend on the policy.
    let s = scenario(LOOPY);
    let all = records(&s, 7, 200);
    let mut by_run: HashMap<u64, Vec<_>> = HashMap::new();
    for r in &all {
        by_run.entry(r.run).or_default().push(r);
    }
    for rows in by_run.values() {
        assert_eq!(rows.len(), 4);
        for r in rows {
            assert_eq!(r.seed, rows[0].seed);
            assert_eq!(r.release_bad, rows[0].release_bad);
            assert_eq!(r.faults, rows[0].faults);
            assert_eq!(r.total_requests, rows[0].total_requests);
        }
    }
}
