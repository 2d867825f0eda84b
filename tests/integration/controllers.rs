//! The controller policies (argo_analysis, flagger, burn_rate, ecs_circuit_breaker, kayenta)
//! through the whole simulator: detection times that follow from each controller's rules.

use super::{of, records, scenario};
use rollsim::scenario::parse;

/// A release that is always bad from the first request (50% errors), deployed at 1h to a
/// steady, noiseless service; every policy sees the same runs.
const BAD_RELEASE: &str = r#"
    [simulation]
    duration = "3h"
    scrape_interval = "15s"
    [service]
    request_rate = 2000.0
    baseline_error_rate = 0.0
    replicas = 10
    [signals]
    noise_sd = 0.0
    [health_check]
    interval = "10s"
    [slo]
    error_rate = 0.001
    [release]
    at = "1h"
    bad_probability = 1.0
    bake = "1h"
    [release.bad]
    error_rate = 0.5
    [rollout]
    strategy = "all_at_once"

    [[policies]]
    name = "argo-fl0"
    kind = "argo_analysis"
    interval = "1m"
    failure_error_rate_above = 0.05

    [[policies]]
    name = "argo-fl3"
    kind = "argo_analysis"
    interval = "1m"
    failure_limit = 3
    failure_error_rate_above = 0.05

    [[policies]]
    name = "flagger"
    kind = "flagger"
    interval = "1m"
    threshold = 3
    request_success_rate_min = 99.0

    [[policies]]
    name = "burn"
    kind = "burn_rate"

    [[policies]]
    name = "ecs"
    kind = "ecs_circuit_breaker"

    [[policies]]
    name = "kayenta"
    kind = "kayenta"
    interval = "5m"
    direction = "increase"
    metrics = ["error_rate"]
    rollout = { strategy = "canary", steps = [{ weight = 20, pause = "30m" }, { weight = 100 }] }
"#;

/// Every run's detection time of one policy (seconds after the bad version began serving).
fn detection_times(all: &[rollsim::outcome::RunRecord], policy: &str) -> Vec<f64> {
    of(all, policy)
        .iter()
        .map(|r| match r.time_to_detect_s {
            Some(t) => t,
            None => panic!("{policy}: run {} did not detect the bad release", r.run),
        })
        .collect()
}

#[test]
fn controllers_detect_a_bad_release_when_their_rules_say() {
    let s = scenario(BAD_RELEASE);
    let all = records(&s, 11, 20);
    let every = |policy: &str, expected: f64| {
        for t in detection_times(&all, policy) {
            assert_eq!(t, expected, "{policy}");
        }
    };
    // Argo: the first measurement is taken at the first scrape (15 s after the deploy);
    // failureLimit 0 fails on it, failureLimit 3 on the 4th, one interval apart.
    every("argo-fl0", 15.0);
    every("argo-fl3", 15.0 + 3.0 * 60.0);
    // Flagger: checks one interval after the analysis starts (15 s), three failed checks
    // (75 s, 135 s, 195 s), rollback at the next tick.
    every("flagger", 15.0 + 4.0 * 60.0);
    // Burn rate, SLO 0.999 from [slo]: (1 - SLO) / 0.5 x 1h x 14.4 = 103.68 s, seen at the
    // next scrape (105 s; 2000 requests a second keep the noise far below the 1.3% margin).
    for t in detection_times(&all, "burn") {
        let closed = 0.001 / 0.5 * 3600.0 * 14.4;
        assert!(
            t >= closed && t <= closed + 15.0,
            "burn: {t} s vs {closed} s"
        );
    }
    // ECS: 10 replicas give a threshold of 5 failed tasks; probes every 10 s fail half the
    // time, so 5 in a row take at least 40 s.
    for t in detection_times(&all, "ecs") {
        assert!(t >= 40.0, "ecs: {t}");
    }
    // Kayenta at 20% canary weight: the first judgement (5 min after the first scrape)
    // finds the error rate High: score 0, at or below marginal.
    every("kayenta", 15.0 + 300.0);
    // Every policy rolled every bad release back exactly once.
    for r in &all {
        assert_eq!(r.true_positive_rollbacks, 1, "{} run {}", r.policy, r.run);
        assert!(!r.missed_bad_release);
    }
}

#[test]
fn burn_rate_detection_time_matches_the_closed_form() {
    // Error ratios low enough that only the 6h / 30m or 3d / 6h pairs can fire.
    for (error_rate, slo) in [(0.02, 0.999), (0.1, 0.999), (0.04, 0.995)] {
        let text = format!(
            r#"
            [simulation]
            duration = "40h"
            scrape_interval = "15s"
            [service]
            request_rate = 1000000.0
            baseline_error_rate = 0.0
            [signals]
            noise_sd = 0.0
            [release]
            at = "1h"
            bad_probability = 1.0
            bake = "1h"
            [release.bad]
            error_rate = {error_rate}
            [[policies]]
            name = "burn"
            kind = "burn_rate"
            slo = {slo}
            "#
        );
        let s = scenario(&text);
        let all = records(&s, 3, 4);
        let closed = [(1.0, 14.4), (6.0, 6.0), (72.0, 1.0)]
            .iter()
            .filter(|(_, b)| error_rate > b * (1.0 - slo))
            .map(|(h, b)| (1.0 - slo) / error_rate * h * 3600.0 * b)
            .fold(f64::INFINITY, f64::min);
        for t in detection_times(&all, "burn") {
            // Binomial noise on 15 million requests a scrape moves the crossing by far less
            // than a scrape.
            assert!(
                t >= closed - 15.0 && t <= closed + 15.0,
                "error ratio {error_rate}, slo {slo}: detected after {t} s, closed form {closed} s"
            );
        }
    }
}

#[test]
fn argo_inconclusive_holds_or_rolls_back_as_configured() {
    // 3% errors: neither below the 1% success bound nor above the 5% failure bound.
    let base = r#"
        [simulation]
        duration = "3h"
        [service]
        request_rate = 200.0
        baseline_error_rate = 0.0
        [signals]
        noise_sd = 0.0
        [release]
        at = "1h"
        bad_probability = 1.0
        bake = "30m"
        [release.bad]
        error_rate = 0.03
        [human]
        ack = "10m"
        right_call = 1.0
        night_factor = 1.0
        [[policies]]
        name = "hold"
        kind = "argo_analysis"
        interval = "1m"
        success_error_rate_below = 0.01
        failure_error_rate_above = 0.05
        on_inconclusive = "hold"
        [[policies]]
        name = "pause"
        kind = "argo_analysis"
        interval = "1m"
        success_error_rate_below = 0.01
        failure_error_rate_above = 0.05
        [[policies]]
        name = "abort"
        kind = "argo_analysis"
        interval = "1m"
        success_error_rate_below = 0.01
        failure_error_rate_above = 0.05
        on_inconclusive = "rollback"
    "#;
    let s = scenario(base);
    let all = records(&s, 5, 10);
    for r in of(&all, "hold") {
        assert_eq!(r.rollbacks, 0);
        assert!(r.missed_bad_release);
    }
    for r in of(&all, "abort") {
        assert_eq!(r.rollbacks, 1);
        assert_eq!(r.time_to_detect_s, Some(15.0));
    }
    // The default, as Argo Rollouts does: the rollout pauses and pages a person, who
    // aborts 10 minutes later (an in-place rollback then takes its 2 minutes).
    for r in of(&all, "pause") {
        assert_eq!((r.rollbacks, r.pages), (1, 1));
        assert_eq!(r.time_to_detect_s, Some(15.0));
        assert_eq!(r.time_to_recover_s, Some(15.0 + 600.0 + 120.0));
    }
}

#[test]
fn a_paused_good_release_resumes_where_it_stopped() {
    // A good release with 3% errors sits in the inconclusive band: the canary pauses at its
    // 10% step at the first measurement (the first scrape, 15 s in), the person resumes it
    // 10 minutes later (at 01:00 the night factor is set to 1),
    // and every later step (and the promotion) comes 10 minutes late.
    let s = scenario(
        r#"
        [simulation]
        duration = "4h"
        [service]
        request_rate = 200.0
        baseline_error_rate = 0.03
        [signals]
        noise_sd = 0.0
        [release]
        at = "1h"
        bad_probability = 0.0
        bake = "30m"
        [rollout]
        strategy = "canary"
        steps = [{ weight = 10, pause = "5m" }, { weight = 50, pause = "5m" }, { weight = 100 }]
        [human]
        ack = "10m"
        right_call = 1.0
        night_factor = 1.0
        [[policies]]
        name = "pause"
        kind = "argo_analysis"
        interval = "1m"
        success_error_rate_below = 0.01
        failure_error_rate_above = 0.05
        "#,
    );
    let prepared = rollsim::sim::Prepared::new(&s);
    let world = rollsim::sim::World::draw(&s, 0, 1);
    let (r, trace) = rollsim::sim::replicate_traced(&prepared, &world, &s.policies[0]);
    assert_eq!((r.rollbacks, r.pages), (0, 1));
    let at = |kind: &str| -> Vec<f64> {
        trace
            .events
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| e.t_s)
            .collect()
    };
    let h = 3600.0;
    assert_eq!(at("pause"), vec![h + 15.0]);
    assert_eq!(at("resume"), vec![h + 615.0]);
    // Steps: 10% at 1h, 50% and 100% 5 and 10 minutes later, shifted by the 10-minute
    // pause; promotion after the 30-minute bake.
    assert_eq!(at("share"), vec![h, h + 300.0 + 600.0, h + 600.0 + 600.0]);
    assert_eq!(at("promote"), vec![h + 600.0 + 600.0 + 1800.0]);
}

#[test]
fn ecs_threshold_follows_the_desired_count() {
    // A release whose every request fails: every probe fails, one every 10 s from the
    // deploy on, so the breaker trips (threshold - 1) x 10 s after the deploy.
    for (replicas, threshold) in [(1, 3), (4, 3), (10, 5), (500, 200)] {
        let text = format!(
            r#"
            [simulation]
            duration = "4h"
            [service]
            replicas = {replicas}
            [health_check]
            interval = "10s"
            [release]
            at = "1h"
            bad_probability = 1.0
            bake = "1h"
            [release.bad]
            error_rate = 1.0
            [[policies]]
            name = "ecs"
            kind = "ecs_circuit_breaker"
            "#
        );
        let s = scenario(&text);
        let all = records(&s, 1, 2);
        for t in detection_times(&all, "ecs") {
            assert_eq!(t, (threshold - 1) as f64 * 10.0, "replicas {replicas}");
        }
    }
}

/// Parses `text` and returns its error message, which must exist.
fn error_of(text: &str) -> String {
    match parse(text, "c.toml") {
        Ok(_) => panic!("accepted: {text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn controller_keys_are_range_checked_and_located() {
    let cases: &[(&str, &str)] = &[
        (
            "[[policies]]\nname = \"a\"\nkind = \"argo_analysis\"\nfailure_error_rate_above = 0.05\nfailure_limit = -2\n",
            "c.toml:5:17: failure_limit = -2 is out of range; expected an integer from -1 to 1000000",
        ),
        (
            "[[policies]]\nname = \"a\"\nkind = \"argo_analysis\"\nfailure_error_rate_above = 0.05\nfailure_limit = -1\n",
            "c.toml:5:17: failure_limit = -1 disables failures",
        ),
        (
            "[[policies]]\nname = \"a\"\nkind = \"argo_analysis\"\nfailure_error_rate_above = 0.05\ncount = 2\nfailure_limit = 3\n",
            "c.toml:5:9: count = 2 is out of range; expected count >= failure_limit + consecutive_success_limit (3)",
        ),
        (
            "[[policies]]\nname = \"a\"\nkind = \"argo_analysis\"\n",
            "an argo_analysis policy needs a condition",
        ),
        (
            "[[policies]]\nname = \"a\"\nkind = \"argo_analysis\"\nfailure_error_rate_above = 1.5\n",
            "c.toml:4:28: failure_error_rate_above = 1.5 is not a probability; expected a number in [0, 1]",
        ),
        (
            "[[policies]]\nname = \"f\"\nkind = \"flagger\"\nrequest_success_rate_min = 101\n",
            "c.toml:4:28: request_success_rate_min (percent) = 101 is out of range; expected a number from 0 to 100",
        ),
        (
            "[[policies]]\nname = \"f\"\nkind = \"flagger\"\nthreshold = 2\n",
            "a flagger policy needs a metric",
        ),
        (
            "[[policies]]\nname = \"b\"\nkind = \"burn_rate\"\nslo = 1.0\n",
            "c.toml:4:7: slo = 1 is out of range; expected a target strictly between 0 and 1",
        ),
        (
            "[[policies]]\nname = \"b\"\nkind = \"burn_rate\"\nwindows = [{ long = \"5m\", short = \"1h\", burn_rate = 2.0 }]\n",
            "expected short <= long",
        ),
        (
            "[[policies]]\nname = \"k\"\nkind = \"kayenta\"\npass = 40\nmarginal = 60\n",
            "c.toml:5:12: marginal = 60 is above pass = 40; expected marginal <= pass",
        ),
        (
            "[[policies]]\nname = \"k\"\nkind = \"kayenta\"\nmetrics = [\"error_rate\"]\ncritical = [\"latency_p99\"]\n",
            "a critical metric must be one of `metrics`",
        ),
        (
            "[[policies]]\nname = \"e\"\nkind = \"ecs_circuit_breaker\"\nthreshold = 4\n",
            "c.toml:4:13: `threshold` does not apply to kind `ecs_circuit_breaker`; expected only reset_on_healthy_task",
        ),
        (
            "[[policies]]\nname = \"t\"\nkind = \"threshold\"\nerror_rate_above = 0.1\ninterval = \"1m\"\n",
            "`interval` does not apply to kind `threshold`",
        ),
    ];
    for (text, expected) in cases {
        let e = error_of(text);
        assert!(e.contains(expected), "expected {expected:?} in:\n{e}");
    }
}

#[test]
fn flagger_clamps_interval_and_threshold_like_flagger() {
    let s = scenario(
        "[[policies]]\nname = \"f\"\nkind = \"flagger\"\ninterval = \"2s\"\nthreshold = -4\nrequest_success_rate_min = 99\n",
    );
    match &s.policies[0].rule {
        rollsim::scenario::PolicyRule::Flagger(f) => {
            assert_eq!(f.interval_ms, 10_000);
            assert_eq!(f.threshold, 1);
        }
        other => panic!("not a flagger rule: {other:?}"),
    }
}

/// The times (seconds) of a traced run's events of one kind, and the share each `share`
/// event set (percent, from its detail).
fn traced(text: &str, policy: usize) -> (rollsim::outcome::RunRecord, rollsim::sim::trace::Trace) {
    let s = scenario(text);
    let prepared = rollsim::sim::Prepared::new(&s);
    let world = rollsim::sim::World::draw(&s, 0, 1);
    rollsim::sim::replicate_traced(&prepared, &world, &s.policies[policy])
}

fn times(trace: &rollsim::sim::trace::Trace, kind: &str) -> Vec<f64> {
    trace
        .events
        .iter()
        .filter(|e| e.kind == kind)
        .map(|e| e.t_s - 3600.0)
        .collect()
}

fn shares(trace: &rollsim::sim::trace::Trace) -> Vec<(f64, String)> {
    trace
        .events
        .iter()
        .filter(|e| e.kind == "share")
        .map(|e| {
            let pct = e.detail.split('%').next().unwrap_or_default().to_string();
            (e.t_s - 3600.0, pct)
        })
        .collect()
}

/// A noiseless service with one scrape a minute, deployed at 1h; a payment outage fails
/// half the requests from `outage_at` for `outage_for` (the traffic of whole scrapes).
fn gated(outage: &str, bad: f64, policies: &str) -> String {
    format!(
        r#"
        [simulation]
        duration = "3h"
        scrape_interval = "1m"
        [service]
        request_rate = 200.0
        baseline_error_rate = 0.0
        [signals]
        noise_sd = 0.0
        [release]
        at = "1h"
        bad_probability = {bad}
        bake = "10m"
        [release.bad]
        error_rate = 0.5
        [human]
        ack = "10m"
        right_call = 1.0
        night_factor = 1.0
        {outage}
        {policies}
        "#
    )
}

/// One outage of every version over the traffic of the scrape interval [from, from + 1m)
/// after the deploy, so exactly the check that reads that interval fails.
fn outage_over(from_s: &[u64]) -> String {
    from_s
        .iter()
        .map(|s| {
            format!(
                "[[faults]]\nname = \"outage-{s}\"\nkind = \"dependency_outage\"\nat = \"{}s\"\nduration = \"1m\"\nerror_rate = 0.5\n",
                3600 + s
            )
        })
        .collect()
}

const FLAGGER: &str = r#"
        [[policies]]
        name = "flagger"
        kind = "flagger"
        interval = "1m"
        threshold = 5
        request_success_rate_min = 99.0
"#;

#[test]
fn flagger_advances_the_weight_only_on_passing_checks() {
    // Flagger's first tick routes step_weight to the canary without a check
    // (scheduler.go: canaryWeight == 0), the analysis starts at the first scrape (60 s) and
    // checks every minute from 120 s. The check at 180 s reads the outage at [120 s, 180 s):
    // it fails and the weight stays. pass, fail, pass: 10% + 2 x 10% after three checks.
    let text = gated(
        &outage_over(&[120]),
        0.0,
        &format!("{FLAGGER}step_weight = 10\nmax_weight = 30\n"),
    );
    let (r, trace) = traced(&text, 0);
    assert_eq!(r.rollbacks, 0);
    assert_eq!(
        shares(&trace),
        vec![
            (0.0, "10".into()),
            (120.0, "20".into()),
            (240.0, "30".into()),
            // at max_weight the next passing check promotes: (3 weights + 1 failed check)
            // intervals after the analysis started at 60 s
            (60.0 + (3.0 + 1.0) * 60.0, "100".into()),
        ]
    );
    assert_eq!(times(&trace, "promote"), vec![300.0 + 600.0]);

    // Without the outage: one interval per weight.
    let text = gated(
        "",
        0.0,
        &format!("{FLAGGER}step_weight = 10\nmax_weight = 30\n"),
    );
    let (_, trace) = traced(&text, 0);
    let at: Vec<f64> = shares(&trace).iter().map(|s| s.0).collect();
    assert_eq!(at, vec![0.0, 120.0, 180.0, 240.0]);
}

#[test]
fn flagger_failed_checks_hold_the_weight_until_the_threshold_rolls_back() {
    // Checks at 120 s .. 360 s all read the outage: 5 failed checks, no step, and the
    // rollback at the next tick (threshold 5); the weight never left 20%.
    let text = gated(
        &outage_over(&[60, 120, 180, 240, 300]),
        0.0,
        &format!("{FLAGGER}step_weights = [20, 40, 80]\n"),
    );
    let (r, trace) = traced(&text, 0);
    assert_eq!(r.rollbacks, 1);
    assert_eq!(shares(&trace), vec![(0.0, "20".into())]);
    assert_eq!(times(&trace, "rollback"), vec![420.0]);
}

#[test]
fn flagger_step_weights_and_max_weight_100_promote_one_check_after_the_top() {
    // step_weights: 5, 25, 60, then the promotion.
    let text = gated("", 0.0, &format!("{FLAGGER}step_weights = [5, 25, 60]\n"));
    let (_, trace) = traced(&text, 0);
    assert_eq!(
        shares(&trace),
        vec![
            (0.0, "5".into()),
            (120.0, "25".into()),
            (180.0, "60".into()),
            (240.0, "100".into()),
        ]
    );
    // max_weight 100 (the default): the canary holds 100% for a check before promotion.
    let text = gated("", 0.0, &format!("{FLAGGER}step_weight = 50\n"));
    let (_, trace) = traced(&text, 0);
    assert_eq!(
        shares(&trace),
        vec![
            (0.0, "50".into()),
            (120.0, "100".into()),
            (180.0, "100".into())
        ]
    );
    assert_eq!(times(&trace, "promote"), vec![180.0 + 600.0]);
}

#[test]
fn flagger_iterations_promote_after_that_many_passing_checks() {
    // iterations = 3: all traffic to the canary from the first tick, 3 passing checks, then
    // the promotion; the failed check at 240 s adds an interval (runAB counts only passes).
    let text = gated("", 0.0, &format!("{FLAGGER}iterations = 3\n"));
    let (_, trace) = traced(&text, 0);
    let at: Vec<f64> = shares(&trace).iter().map(|s| s.0).collect();
    assert_eq!(at, vec![0.0, 120.0, 180.0, 240.0]);
    assert_eq!(times(&trace, "promote"), vec![240.0 + 600.0]);
    let text = gated(
        &outage_over(&[180]),
        0.0,
        &format!("{FLAGGER}iterations = 3\n"),
    );
    let (r, trace) = traced(&text, 0);
    assert_eq!(r.rollbacks, 0);
    let at: Vec<f64> = shares(&trace).iter().map(|s| s.0).collect();
    assert_eq!(at, vec![0.0, 120.0, 180.0, 300.0]);
}

const ARGO_STEP: &str = r#"
        [[policies]]
        name = "argo"
        kind = "argo_analysis"
        interval = "1m"
        count = 3
        success_error_rate_below = 0.01
        failure_error_rate_above = 0.05
        rollout = { strategy = "canary", steps = [{ weight = 20, pause = "5m", analysis = true }, { weight = 100 }] }
"#;

#[test]
fn argo_step_analysis_gates_its_step() {
    // Good release: the step's AnalysisRun starts when the 5-minute pause ends; its
    // measurements come at the first scrape after that (360 s) and every interval; the third
    // (count 3) makes it Successful and the step completes then: 300 + 60 + 2 x 60 s.
    let (r, trace) = traced(&gated("", 0.0, ARGO_STEP), 0);
    assert_eq!((r.rollbacks, r.pages), (0, 0));
    assert_eq!(
        shares(&trace),
        vec![(0.0, "20".into()), (480.0, "100".into())]
    );
    assert_eq!(times(&trace, "promote"), vec![480.0 + 600.0]);

    // Bad release: the first measurement fails (failureLimit 0) and the rollout aborts; no
    // background analysis ran during the pause.
    let (r, trace) = traced(&gated("", 1.0, ARGO_STEP), 0);
    assert_eq!(r.rollbacks, 1);
    assert_eq!(times(&trace, "rollback"), vec![360.0]);
    assert_eq!(shares(&trace).len(), 1);

    // Without count the step analysis runs until it fails: the step never completes.
    let no_count = ARGO_STEP.replace("count = 3\n", "");
    let (r, trace) = traced(&gated("", 0.0, &no_count), 0);
    assert_eq!(r.rollbacks, 0);
    assert_eq!(shares(&trace).len(), 1);
    assert!(times(&trace, "promote").is_empty());
}

#[test]
fn argo_inconclusive_step_analysis_pauses_and_a_resume_starts_a_new_run() {
    // 3% errors on a good release: Inconclusive at the first measurement (360 s); the
    // person resumes 10 minutes later and a new AnalysisRun starts at once
    // (needsNewAnalysisRun), which is Inconclusive again at its first scrape.
    let text = gated("", 0.0, ARGO_STEP)
        .replace("baseline_error_rate = 0.0", "baseline_error_rate = 0.03");
    let (r, trace) = traced(&text, 0);
    assert_eq!(r.rollbacks, 0);
    assert_eq!(times(&trace, "pause")[..2], [360.0, 960.0 + 60.0]);
    assert_eq!(times(&trace, "resume")[0], 960.0);
    assert_eq!(shares(&trace).len(), 1);
}

#[test]
fn an_approval_step_waits_for_the_person() {
    // `approval = true` (Argo's `pause: {}`): the person is paged when the step's pause
    // ends and promotes a good release (or aborts a bad one) after the 10-minute ack.
    let policy = r#"
        [[policies]]
        name = "none"
        kind = "none"
        rollout = { strategy = "canary", steps = [{ weight = 20, pause = "1m", approval = true }, { weight = 100 }] }
    "#;
    let (r, trace) = traced(&gated("", 0.0, policy), 0);
    assert_eq!((r.rollbacks, r.pages), (0, 1));
    assert_eq!(
        shares(&trace),
        vec![(0.0, "20".into()), (660.0, "100".into())]
    );
    let (r, trace) = traced(&gated("", 1.0, policy), 0);
    assert_eq!((r.rollbacks, r.pages), (1, 1));
    assert_eq!(times(&trace, "rollback"), vec![660.0]);
}

#[test]
fn flagger_traffic_keys_are_checked_and_located() {
    let bad = |extra: &str| {
        let text = format!(
            "[[policies]]\nname = \"f\"\nkind = \"flagger\"\nrequest_success_rate_min = 99.0\n{extra}\n"
        );
        error_of(&text)
    };
    let e = bad("step_weight = 0");
    assert!(
        e.contains("c.toml:5:15: step_weight = 0 is out of range"),
        "{e}"
    );
    let e = bad("step_weights = [10, 5]");
    assert!(
        e.contains("c.toml:5:21: step weight 5 does not increase"),
        "{e}"
    );
    let e = bad("iterations = 3\nstep_weight = 10");
    assert!(
        e.contains("c.toml:6:15: step_weight has no effect with iterations"),
        "{e}"
    );
    let e = bad("max_weight = 50");
    assert!(e.contains("needs step_weight or step_weights"), "{e}");
    let e = bad("step_weight = 10\nrollout = { strategy = \"canary\" }");
    assert!(
        e.contains("c.toml:6:11: a flagger policy with step_weight"),
        "{e}"
    );
    let e = error_of("[rollout]\nstrategy = \"canary\"\nsteps = [{ weight = 100, analysis = true, approval = true }]\n");
    assert!(e.contains("c.toml:3:"), "{e}");
    assert!(e.contains("one gate"), "{e}");
}
