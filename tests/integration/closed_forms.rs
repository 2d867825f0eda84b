//! The simulator against closed forms.

use super::{of, prob_run_of_k, records, scenario, SIXTY_CHECKS};

#[test]
fn run_probability_helper_matches_small_cases() {
    // n = k: all must fail.
    assert!((prob_run_of_k(3, 3, 0.5) - 0.125).abs() < 1e-12);
    // n = 3, k = 2: FF?, ?FF minus FFF counted twice: 0.25 + 0.25 - 0.125
    assert!((prob_run_of_k(3, 2, 0.5) - 0.375).abs() < 1e-12);
    assert_eq!(prob_run_of_k(10, 1, 0.0), 0.0);
}

#[test]
fn consecutive_false_positive_rate_matches_the_exact_run_probability() {
    // A healthy release, all-at-once at 1h, watched for a 10-minute bake with a probe every
    // 10 s: exactly 60 checks, each failing independently with probability q.
    let s = scenario(&format!(
        r#"{SIXTY_CHECKS}
        [[policies]]
        name = "k2"
        kind = "consecutive"
        failures = 2
        [[policies]]
        name = "k3"
        kind = "consecutive"
        failures = 3
        "#
    ));
    let runs = 6000;
    let all = records(&s, 11, runs);
    for (name, k) in [("k2", 2), ("k3", 3)] {
        let rows = of(&all, name);
        let fp = rows
            .iter()
            .filter(|r| r.false_positive_rollbacks > 0)
            .count() as f64
            / runs as f64;
        let exact = prob_run_of_k(60, k, 0.1);
        let sd = (exact * (1.0 - exact) / runs as f64).sqrt();
        assert!(
            (fp - exact).abs() < 4.0 * sd,
            "{name}: simulated false-positive rate {fp:.4}, exact {exact:.4} (sd {sd:.4})"
        );
        assert!(rows.iter().all(|r| r.true_positive_rollbacks == 0));
    }
}

#[test]
fn mean_failed_requests_equal_rate_times_time_times_error_rate() {
    // Constant traffic, constant error probability, nothing deployed that is bad:
    // failed ~ Poisson-Binomial with mean rate * T * p.
    let s = scenario(
        r#"
        [simulation]
        duration = "6h"
        [service]
        request_rate = 20.0
        baseline_error_rate = 0.01
        [signals]
        noise_sd = 0.0
        [release]
        bad_probability = 0.0
        [[policies]]
        name = "none"
        kind = "none"
        "#,
    );
    let runs = 400;
    let all = records(&s, 5, runs);
    let failed: Vec<f64> = all.iter().map(|r| r.failed_requests as f64).collect();
    let total: Vec<f64> = all.iter().map(|r| r.total_requests as f64).collect();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let expected_total = 20.0 * 6.0 * 3600.0;
    let expected_failed = expected_total * 0.01;
    // Total requests are Poisson(432000): sd of the mean = sqrt(432000 / 400) ~ 33.
    assert!((mean(&total) - expected_total).abs() < 4.0 * (expected_total / runs as f64).sqrt());
    // Failed requests are Poisson(4320) (thinned Poisson): sd of the mean ~ 3.3.
    assert!(
        (mean(&failed) - expected_failed).abs() < 4.0 * (expected_failed / runs as f64).sqrt(),
        "mean failed {} vs {expected_failed}",
        mean(&failed)
    );
}

#[test]
fn drifting_noise_keeps_the_mean_error_rate() {
    // The drift multiplier is mean-preserving, so noise must not bias failed requests.
    let s = scenario(
        r#"
        [simulation]
        duration = "24h"
        [service]
        request_rate = 10.0
        baseline_error_rate = 0.01
        [signals]
        noise_sd = 0.5
        noise_correlation = "10m"
        [release]
        bad_probability = 0.0
        [[policies]]
        name = "none"
        kind = "none"
        "#,
    );
    let runs = 300;
    let all = records(&s, 8, runs);
    let ratio = all.iter().map(|r| r.failed_requests).sum::<u64>() as f64
        / all.iter().map(|r| r.total_requests).sum::<u64>() as f64;
    assert!((ratio - 0.01).abs() < 0.0004, "error ratio {ratio}");
}

#[test]
fn diurnal_traffic_averages_to_the_daily_rate() {
    let s = scenario(
        r#"
        [service]
        request_rate = 10.0
        diurnal_amplitude = 0.8
        [release]
        bad_probability = 0.0
        [[policies]]
        name = "none"
        kind = "none"
        "#,
    );
    let all = records(&s, 3, 100);
    let mean = all.iter().map(|r| r.total_requests as f64).sum::<f64>() / 100.0;
    let expected = 10.0 * 86_400.0;
    assert!(
        (mean - expected).abs() < 4.0 * (expected / 100.0).sqrt(),
        "{mean}"
    );
}

#[test]
fn downtime_of_a_fixed_outage_is_its_duration() {
    // A dependency fails half the requests from 02:00 for 30 minutes: the true error ratio
    // is over the 1% SLO for exactly 120 scrape intervals of 15 s.
    let s = scenario(
        r#"
        [service]
        baseline_error_rate = 0.0
        [signals]
        noise_sd = 0.0
        [release]
        bad_probability = 0.0
        [[faults]]
        kind = "dependency_outage"
        at = "2h"
        duration = "30m"
        error_rate = 0.5
        [[policies]]
        name = "none"
        kind = "none"
        "#,
    );
    for r in records(&s, 1, 20) {
        assert_eq!(r.downtime_s, 1800.0);
        assert_eq!(r.faults, 1);
    }
}

#[test]
fn oracle_detects_at_onset_plus_reaction_and_never_rolls_back_a_good_release() {
    let s = scenario(
        r#"
        [release]
        bad_probability = 0.5
        [release.bad]
        error_rate = 0.2
        onset = "5m"
        [rollout]
        strategy = "canary"
        [[policies]]
        name = "oracle"
        kind = "oracle"
        reaction = "90s"
        "#,
    );
    let all = records(&s, 21, 200);
    assert!(all.iter().any(|r| r.release_bad) && all.iter().any(|r| !r.release_bad));
    for r in &all {
        assert_eq!(r.false_positive_rollbacks, 0);
        assert!(!r.missed_bad_release);
        if r.release_bad {
            assert_eq!(r.true_positive_rollbacks, 1);
            assert_eq!(r.time_to_detect_s, Some(90.0));
            // Canary keeps the old version warm: recovery is the detection.
            assert_eq!(r.time_to_recover_s, Some(90.0));
        } else {
            assert_eq!(r.rollbacks, 0);
            assert_eq!(r.time_to_detect_s, None);
        }
    }
}

#[test]
fn in_place_rollback_takes_the_rollback_duration() {
    let s = scenario(
        r#"
        [release]
        bad_probability = 1.0
        [rollout]
        strategy = "all_at_once"
        rollback_duration = "3m"
        [[policies]]
        name = "oracle"
        kind = "oracle"
        reaction = "1m"
        "#,
    );
    for r in records(&s, 2, 20) {
        assert_eq!(r.time_to_detect_s, Some(60.0));
        assert_eq!(r.time_to_recover_s, Some(240.0));
    }
}

/// P(X > k) for X ~ Binomial(n, p), exactly.
fn binomial_tail_above(n: u64, p: f64, k: f64) -> f64 {
    let mut pmf = (1.0 - p).powi(n as i32); // P(X = 0)
    let mut tail = 0.0;
    for x in 0..=n {
        if x as f64 > k {
            tail += pmf;
        }
        // P(X = x + 1) from P(X = x)
        pmf *= (n - x) as f64 / (x + 1) as f64 * p / (1.0 - p);
    }
    tail
}

#[test]
fn windowed_threshold_false_positive_rate_matches_the_exact_probability() {
    // A healthy release at 1h, watched for a 10-minute bake. A one-scrape window: each
    // check compares errors / requests of one 15 s scrape with 10%. Requests per scrape are
    // Poisson(30), errors Binomial(n, 0.02); the 39 checks delivered before promotion are
    // independent, so P(false rollback) = 1 - (1 - q)^39 with
    // q = sum_n Poisson(n; 30) P(Binomial(n, 0.02) > 0.1 n).
    let s = scenario(
        r#"
        [simulation]
        duration = "2h"
        [service]
        request_rate = 2.0
        baseline_error_rate = 0.02
        [signals]
        noise_sd = 0.0
        [release]
        at = "1h"
        bad_probability = 0.0
        bake = "10m"
        [[policies]]
        name = "gate"
        kind = "threshold"
        error_rate_above = 0.1
        window = "15s"
        "#,
    );
    let lambda: f64 = 30.0;
    let mut q = 0.0;
    let mut poisson = (-lambda).exp();
    for n in 0..200u64 {
        if n > 0 {
            poisson *= lambda / n as f64;
            q += poisson * binomial_tail_above(n, 0.02, 0.1 * n as f64);
        }
    }
    let exact = 1.0 - (1.0 - q).powi(39);
    let runs = 6000;
    let all = records(&s, 17, runs);
    let fp = all
        .iter()
        .filter(|r| r.false_positive_rollbacks > 0)
        .count() as f64
        / runs as f64;
    let sd = (exact * (1.0 - exact) / runs as f64).sqrt();
    assert!(
        (fp - exact).abs() < 4.0 * sd,
        "simulated {fp:.4}, exact {exact:.4} (per check {q:.5}, sd {sd:.4})"
    );
}
