//! Same-instant observation: a probe sees every change of its instant.

use super::*;
use crate::scenario::parse;

/// A bad release that fails every request from its deploy at `deploy_s`, watched by a
/// probe rule that rolls back on the first failed probe: returns when the rollback came
/// (ms) and the run's time to detect (s).
fn probe_detection(scrape_s: u64, probe_s: u64, deploy_s: u64) -> (Option<u64>, Option<f64>) {
    let text = format!(
        "[simulation]\nduration = \"2h\"\nscrape_interval = \"{scrape_s}s\"\n\
         [service]\nbaseline_error_rate = 0.0\n\
         [signals]\nnoise_sd = 0.0\nmissing_scrape_probability = 0.0\n\
         [health_check]\ninterval = \"{probe_s}s\"\ntimeout = \"10s\"\n\
         false_failure_probability = 0.0\n\
         [release]\nat = \"{deploy_s}s\"\nbad_probability = 1.0\n\
         [release.bad]\nerror_rate = 1.0\n\
         [[policies]]\nname = \"first-failed-probe\"\nkind = \"consecutive\"\nfailures = 1\n"
    );
    let s = match parse(&text, "t") {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
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

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

#[test]
fn a_probe_sees_the_interval_that_starts_at_its_instant() {
    // (scrape, probe, deploy) in seconds. The truth of a scrape interval is drawn at its
    // start, after every change of that instant, so the defect shows from the first tick
    // at or after the deploy; the rule acts at the first probe at or after that tick.
    // The cases where a probe and that tick share an instant and the probe was scheduled
    // first (a probe interval longer than the scrape interval) are the ones that read the
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
        let first_tick = deploy.div_ceil(scrape) * scrape;
        let expected = first_tick.div_ceil(probe) * probe;
        let (rollback, detect) = probe_detection(scrape, probe, deploy);
        assert_eq!(
            rollback,
            Some(expected * 1000),
            "scrape {scrape} s, probe {probe} s, deploy at {deploy} s"
        );
        assert_eq!(
            detect,
            Some((expected - deploy) as f64),
            "scrape {scrape} s, probe {probe} s, deploy at {deploy} s"
        );
    }
}
