//! The human in the loop and the loop guards.

use super::{of, records, scenario};

fn oracle_with_checkpoint(release_at: &str, day: &str) -> String {
    format!(
        r#"
        [simulation]
        duration = "48h"
        [release]
        at = "{release_at}"
        bad_probability = 1.0
        [rollout]
        strategy = "canary"
        [human]
        ack = "10m"
        right_call = 1.0
        fatigue = 0.0
        day = "{day}"
        handling = "20m"
        [[policies]]
        name = "oracle-human"
        kind = "oracle"
        reaction = "1m"
        checkpoint = "rollback"
        "#
    )
}

#[test]
fn a_checkpoint_adds_the_ack_time_stretched_at_night_and_on_weekends() {
    // (release time, day, ack minutes, extra seconds): a 60-minute ack outlasts the canary
    // and its bake (50 minutes), so the release is promoted meanwhile and the rollback is
    // in place, taking the default rollback_duration of 2 minutes.
    for (at, day, ack_min, extra) in [
        ("12h", "weekday", 10.0, 0.0),
        ("23h", "weekday", 30.0, 0.0),
        ("12h", "weekend", 20.0, 0.0),
        ("3h", "weekend", 60.0, 120.0),
    ] {
        let s = scenario(&oracle_with_checkpoint(at, day));
        for r in records(&s, 1, 20) {
            assert_eq!(r.time_to_detect_s, Some(60.0));
            assert_eq!(
                r.time_to_recover_s,
                Some(60.0 + ack_min * 60.0 + extra),
                "release at {at} on a {day}"
            );
            assert_eq!(r.pages, 1);
            assert_eq!(r.human_minutes, 20.0);
            assert_eq!(r.true_positive_rollbacks, 1);
        }
    }
}

#[test]
fn a_train_slot_pages_the_human_at_its_clock_time() {
    // The release an hour into its slot, the oracle's rule 1 minute later: the page comes
    // 1h01m after the slot's start, on the slot's clock (model time 0 is a Thursday
    // 00:00, day 4 a Monday). (slot start, ack minutes): Monday 12:00 pages at 13:01, a
    // day page (10 min); Monday 21:30 at 22:31, a night page (x3); Saturday 12:00 a weekend
    // page (x2) though `day` says weekday; Sunday 02:00 at 03:01, both (x6).
    let day = 86_400_000u64;
    let hour = 3_600_000u64;
    let s = scenario(&oracle_with_checkpoint("1h", "weekday"));
    let prepared = rollsim::sim::Prepared::new(&s);
    for (clock_ms, ack_min) in [
        (4 * day + 12 * hour, 10.0),
        (4 * day + 21 * hour + hour / 2, 30.0),
        (2 * day + 12 * hour, 20.0),
        (3 * day + 2 * hour, 60.0),
    ] {
        let world = rollsim::sim::World {
            clock_ms,
            ..rollsim::sim::World::for_run(&s, 1, 0)
        };
        let r = rollsim::sim::replicate(&prepared, &world, &s.policies[0]);
        assert_eq!(r.time_to_detect_s, Some(60.0));
        // A 60-minute ack outlasts the canary and its bake: the rollback then takes the
        // default rollback_duration of 2 minutes.
        let extra = if ack_min > 50.0 { 120.0 } else { 0.0 };
        assert_eq!(
            r.time_to_recover_s,
            Some(60.0 + ack_min * 60.0 + extra),
            "slot at model time {clock_ms} ms"
        );
        assert_eq!(r.pages, 1);
    }
}

#[test]
fn a_checkpoint_trades_downtime_for_fewer_false_positives_and_fatigue_erodes_it() {
    let rested = records(
        &rollsim::scenario::load("scenarios/manual-checkpoint.toml".as_ref()).expect("scenario"),
        3,
        600,
    );
    let tired = records(
        &rollsim::scenario::load("scenarios/manual-checkpoint-fatigued.toml".as_ref())
            .expect("scenario"),
        3,
        600,
    );
    let mean = |rows: &[&rollsim::outcome::RunRecord],
                f: fn(&rollsim::outcome::RunRecord) -> f64| {
        rows.iter().map(|r| f(r)).sum::<f64>() / rows.len() as f64
    };
    let fp = |r: &rollsim::outcome::RunRecord| f64::from(r.false_positive_rollbacks);
    let down = |r: &rollsim::outcome::RunRecord| r.downtime_s;
    let auto = of(&rested, "automatic");
    let human = of(&rested, "human-checkpoint");
    let tired_human = of(&tired, "human-checkpoint");
    assert!(
        mean(&human, fp) < 0.5 * mean(&auto, fp),
        "a checkpoint halves false positives at least"
    );
    assert!(mean(&human, down) > mean(&auto, down), "and costs downtime");
    assert!(
        mean(&tired_human, fp) > mean(&human, fp),
        "fatigue brings false positives back"
    );
    assert!(
        mean(&tired_human, down) > mean(&human, down),
        "and stretches acks"
    );
    for r in human.iter().chain(&tired_human) {
        assert_eq!(r.human_minutes, 20.0 * f64::from(r.pages));
    }
    // The automatic policy of both files sees the same runs: background pages only touch
    // the human.
    for (a, b) in auto.iter().zip(of(&tired, "automatic")) {
        assert_eq!(a, &b);
    }
}

#[test]
fn loop_guards_stop_the_rollback_loop() {
    let all = records(
        &rollsim::scenario::load("scenarios/loop-guards.toml".as_ref()).expect("scenario"),
        5,
        300,
    );
    let unguarded = of(&all, "unguarded");
    assert!(
        unguarded.iter().filter(|r| r.rollback_loops >= 3).count() > 250,
        "the unguarded gate loops"
    );
    for r in of(&all, "freeze-after-1") {
        assert_eq!(r.deploy_attempts, 1);
        assert_eq!(r.rollback_loops, 0);
    }
    for r in of(&all, "max-2-auto") {
        assert!(r.rollbacks <= 2);
        if r.rollbacks == 2 {
            assert!(
                r.rollbacks_suppressed >= 1,
                "the third decision is suppressed"
            );
        }
    }
    let attempts = |name: &str| {
        of(&all, name)
            .iter()
            .map(|r| r.deploy_attempts)
            .sum::<u32>()
    };
    assert!(attempts("backoff-x3") < attempts("unguarded"));
    for r in of(&all, "human-after-first") {
        assert!(
            r.pages + 1 >= r.rollbacks,
            "every rollback after the first was a human's"
        );
    }
}

#[test]
fn aborting_controllers_do_not_retry_the_same_release() {
    // Argo Rollouts and Flagger abort a rollout and wait for a new revision; a generic
    // rule in a retrying pipeline re-deploys, and the override switches either way.
    let s = scenario(
        r#"
        [release]
        bad_probability = 1.0
        [release.bad]
        error_rate = 0.2
        [rollout]
        strategy = "canary"
        [pipeline]
        max_attempts = 3
        retry_delay = "10m"
        [[policies]]
        name = "rule"
        kind = "threshold"
        error_rate_above = 0.05
        [[policies]]
        name = "rule-no-retry"
        kind = "threshold"
        error_rate_above = 0.05
        pipeline_retries = false
        [[policies]]
        name = "argo"
        kind = "argo_analysis"
        interval = "1m"
        failure_error_rate_above = 0.05
        [[policies]]
        name = "argo-retried"
        kind = "argo_analysis"
        interval = "1m"
        failure_error_rate_above = 0.05
        pipeline_retries = true
        "#,
    );
    let all = records(&s, 2, 30);
    for r in of(&all, "rule")
        .iter()
        .chain(of(&all, "argo-retried").iter())
    {
        assert_eq!((r.deploy_attempts, r.rollbacks), (3, 3), "{}", r.policy);
    }
    for r in of(&all, "argo")
        .iter()
        .chain(of(&all, "rule-no-retry").iter())
    {
        assert_eq!((r.deploy_attempts, r.rollbacks), (1, 1), "{}", r.policy);
    }
}
