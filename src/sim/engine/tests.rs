//! Same-instant observation: a probe sees every change of its instant, and every change
//! since the last scrape tick.

use super::*;
use crate::scenario::parse;

/// A scenario `duration` long without noise or false probe failures, scraped every
/// `scrape_s` and probed every `probe_s`, with `rest` (release, faults, policies) added.
fn noiseless(scrape_s: u64, probe_s: u64, duration: &str, rest: &str) -> crate::scenario::Scenario {
    let text = format!(
        "[simulation]\nduration = \"{duration}\"\nscrape_interval = \"{scrape_s}s\"\n\
         [service]\nbaseline_error_rate = 0.0\n\
         [signals]\nnoise_sd = 0.0\nmissing_scrape_probability = 0.0\n\
         [health_check]\ninterval = \"{probe_s}s\"\ntimeout = \"10s\"\n\
         false_failure_probability = 0.0\n{rest}"
    );
    match parse(&text, "t") {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    }
}

/// A bad release that fails every request from its deploy at `deploy_s`, watched by a
/// probe rule that rolls back on the first failed probe: returns when the rollback came
/// (ms) and the run's time to detect (s).
fn probe_detection(scrape_s: u64, probe_s: u64, deploy_s: u64) -> (Option<u64>, Option<f64>) {
    let s = noiseless(
        scrape_s,
        probe_s,
        "2h",
        &format!(
            "[release]\nat = \"{deploy_s}s\"\nbad_probability = 1.0\n\
             [release.bad]\nerror_rate = 1.0\n\
             [[policies]]\nname = \"first-failed-probe\"\nkind = \"consecutive\"\nfailures = 1\n"
        ),
    );
    let p = Prepared::new(&s);
    let world = World::draw(&s, 0, 1);
    assert!(world.release_bad);
    let (record, trace) = replicate_traced(&p, &world, &s.policies[0]);
    let rollback = trace
        .events
        .iter()
        .find(|e| e.kind == "rollback")
        .map(|e| (e.t_s * 1000.0).round() as u64);
    (rollback, record.time_to_detect_s)
}

/// Asserts that [`probe_detection`] rolls back at `expected_s` and measures the time to
/// detect from the deploy.
fn detected_at(scrape_s: u64, probe_s: u64, deploy_s: u64, expected_s: u64) {
    let (rollback, detect) = probe_detection(scrape_s, probe_s, deploy_s);
    let case = format!("scrape {scrape_s} s, probe {probe_s} s, deploy at {deploy_s} s");
    assert_eq!(rollback, Some(expected_s * 1000), "{case}");
    assert_eq!(detect, Some((expected_s - deploy_s) as f64), "{case}");
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

#[test]
fn a_probe_sees_the_interval_that_starts_at_its_instant() {
    // (scrape, probe, deploy) in seconds. A probe computes the truth at its own instant,
    // after every change of that instant, so the rule acts at the first probe at or after
    // the deploy. (13, 5, 3600) is a deploy between ticks (more in
    // `a_probe_between_ticks_sees_a_deploy_at_once`): at 3605 s while probes read the truth
    // drawn at the interval's start.
    // The cases where a probe shares its instant with the first tick after the deploy and
    // was scheduled first (a probe interval longer than the scrape interval) read the
    // interval before the deploy until probes fired after the ticks of their instant:
    // (15, 20, 3600) detected at 3620, (7, 11, 77) at 88, (30, 45, 90) at 135, (15, 20, 60)
    // at 80.
    let on_the_hour = [(15, 20), (15, 10), (10, 15), (15, 15), (13, 5), (5, 13)];
    // Deployed at the first instant a tick and a probe share (past 0).
    let at_a_shared_instant = [(7, 11), (11, 7), (30, 45), (20, 15), (15, 20)];
    let cases = on_the_hour
        .map(|(s, p)| (s, p, 3600))
        .into_iter()
        .chain(at_a_shared_instant.map(|(s, p)| (s, p, s * p / gcd(s, p))))
        .chain([(15, 20, 65)]);
    for (scrape, probe, deploy) in cases {
        detected_at(scrape, probe, deploy, deploy.div_ceil(probe) * probe);
    }
}

#[test]
fn a_probe_between_ticks_sees_a_deploy_at_once() {
    // (scrape, probe, deploy) in seconds, deploys between two ticks. A probe computes the
    // truth at its own instant, so the rule acts at the first probe at or after the deploy
    // (at the deploy itself when a probe falls there). Reading the truth drawn at the
    // interval's start, it acted at the first probe at or after the next tick instead:
    // (15, 10, 5) at 20 s, (15, 10, 10) at 20 s, (15, 5, 5) at 15 s, (20, 15, 45) at 60 s,
    // (7, 11, 22) at 33 s, (13, 5, 3605) at 3615 s, (30, 7, 3601) at 3633 s.
    let cases = [
        (15, 10, 5, 10),
        (15, 10, 10, 10),
        (15, 5, 5, 5),
        (20, 15, 45, 45),
        (7, 11, 22, 22),
        (13, 5, 3605, 3605),
        (30, 7, 3601, 3605),
    ];
    for (scrape, probe, deploy, expected) in cases {
        detected_at(scrape, probe, deploy, expected);
    }
}

/// The health checks (time in ms, passed) of a good release deployed at 0 and watched for
/// 10 minutes by a probe rule that never fires, while a fault with `effect` (its kind's
/// keys) is active over `[start_s, end_s)`.
fn probes_under_fault(
    scrape_s: u64,
    probe_s: u64,
    effect: &str,
    start_s: u64,
    end_s: u64,
) -> Vec<(u64, bool)> {
    let s = noiseless(
        scrape_s,
        probe_s,
        "10m",
        &format!(
            "[release]\nat = \"0s\"\nbad_probability = 0.0\nbake = \"1h\"\n\
             [[faults]]\n{effect}\nat = \"{start_s}s\"\nduration = \"{}s\"\n\
             [[policies]]\nname = \"patient-probe\"\nkind = \"consecutive\"\nfailures = 10000\n",
            end_s - start_s
        ),
    );
    let p = Prepared::new(&s);
    let world = World::draw(&s, 0, 1);
    assert!(!world.release_bad);
    let (_, trace) = replicate_traced(&p, &world, &s.policies[0]);
    trace.health_checks
}

#[test]
fn a_fault_between_ticks_fails_every_probe_while_it_lasts() {
    // A fault that fails every request (or takes every replica) from `start` to `end`, both
    // between ticks: every probe at or after its start and before its end fails, every
    // other passes. Reading the truth drawn at the interval's start, an outage reached the
    // probes only from the next tick and stayed until the tick after its end: with 15 s
    // scrapes and 10 s probes, an outage over [7 s, 37 s) failed the probes at 20 and
    // 40 s instead of those at 10, 20 and 30 s.
    let outage = "kind = \"dependency_outage\"\nerror_rate = 1.0";
    let node_loss = "kind = \"node_loss\"\ncapacity_loss = 1.0";
    let cases = [
        (15, 10, outage, 7, 37),
        (15, 5, outage, 7, 52),
        (20, 3, outage, 7, 100),
        (7, 11, outage, 8, 60),
        (60, 10, outage, 61, 119),
        (15, 10, node_loss, 7, 37),
    ];
    for (scrape, probe, effect, start, end) in cases {
        let checks = probes_under_fault(scrape, probe, effect, start, end);
        let expected: Vec<(u64, bool)> = (0..600 / probe + u64::from(600 % probe != 0))
            .map(|k| k * probe)
            .map(|t| (t * 1000, !(start..end).contains(&t)))
            .collect();
        assert_eq!(
            checks, expected,
            "scrape {scrape} s, probe {probe} s, {effect} over [{start} s, {end} s)"
        );
    }
}
