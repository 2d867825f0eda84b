//! A rollback held on a dependency (`hold_on_dependency`): the rollout waits with it, and
//! the hold ends when the rule lets go, when nothing explains the signal any more, or after
//! `hold_at_most`. Exact instants from the trace of each run, against what the scenario
//! fixes: the dependency's deploy, the window, the bound and the rollout's plan.

use crate::{records, scenario};
use rollsim::scenario::{parse, Scenario};
use rollsim::sim::trace::TraceEvent;
use rollsim::sim::{replicate_system_traced, Prepared, World};

/// `api` calls `db` for every request. `api` deploys at 1 h, a canary of 20% for 10
/// minutes, then 100% and a 20-minute bake; `db` deploys (healthy) at 1h01m. The rule is
/// the fleet's: the new version's error ratio over 5 minutes above 2% for a minute.
/// `{API}` is api's release, `{DB}` db's, `{HOLD}` the policy's hold keys.
const TWO: &str = r#"
[simulation]
duration = "3h"
scrape_interval = "30s"
[service]
request_rate = 20.0
baseline_error_rate = 0.002
replicas = 4
[signals]
noise_sd = 0.0
metric_delay = "30s"
[slo]
error_rate = 0.01
[release]
bad_probability = 0.0
bake = "20m"
[rollout]
strategy = "canary"
steps = [{ weight = 20, pause = "10m" }, { weight = 100 }]
[[services]]
name = "api"
calls = [{ service = "db", fraction = 1.0, timeout = "500ms" }]
release = {API}
[[services]]
name = "db"
release = {DB}
[[policies]]
name = "dependency-aware"
kind = "threshold"
error_rate_above = 0.02
window = "5m"
for = "1m"
{HOLD}
"#;

fn two(api: &str, db: &str, hold: &str) -> Scenario {
    scenario(
        &TWO.replace("{API}", api)
            .replace("{DB}", db)
            .replace("{HOLD}", hold),
    )
}

/// A bad api release (5% errors two minutes after it serves); a healthy db release.
const BAD_API: &str =
    r#"{ at = "1h", bad_probability = 1.0, bad = { error_rate = 0.05, onset = "2m" } }"#;
const DB_AT_1H01: &str = r#"{ at = "1h01m" }"#;

/// Every event of `service` in run `run` (seed 3) of the scenario's only policy, as
/// (kind, instant in seconds).
fn events_of(s: &Scenario, run: u64, service: &str) -> Vec<(&'static str, u64)> {
    let p = Prepared::new(s);
    let world = World::for_run(s, 3, run);
    let (_, trace) = replicate_system_traced(&p, &world, 0).expect("a system");
    trace
        .events
        .iter()
        .filter(|e: &&TraceEvent| e.service.as_deref() == Some(service))
        .filter(|e| !e.kind.starts_with("fault"))
        .map(|e| (e.kind, e.t_s.round() as u64))
        .collect()
}

fn at(events: &[(&str, u64)], kind: &str) -> Vec<u64> {
    events
        .iter()
        .filter(|(k, _)| *k == kind)
        .map(|&(_, t)| t)
        .collect()
}

#[test]
fn a_held_rollback_pauses_the_rollout_and_acts_once_the_dependency_no_longer_explains_it() {
    // db deployed at 1h01m explains api's signal until 1h31m; the bound (by default the
    // window, 30 minutes from the first held decision, after api's onset at 1h02m) comes
    // later. So api's bad release waits at 20%, is never promoted, and is rolled back at
    // 1h31m exactly, the first scrape no dependency explains. Before the hold paused the
    // rollout, api was promoted at 1h30m, held, and its bad release missed.
    let s = two(BAD_API, DB_AT_1H01, r#"hold_on_dependency = "30m""#);
    let all = records(&s, 3, 10);
    for run in 0..10 {
        let ev = events_of(&s, run, "api");
        let held = at(&ev, "held");
        let first = held[0];
        assert!(first > 3720, "run {run}: held before the onset: {ev:?}");
        assert_eq!(at(&ev, "pause"), vec![first], "run {run}: {ev:?}");
        assert_eq!(at(&ev, "rollback"), vec![5460], "run {run}: {ev:?}");
        assert_eq!(at(&ev, "promote"), Vec::<u64>::new(), "run {run}: {ev:?}");
        assert_eq!(at(&ev, "hold_expired"), Vec::<u64>::new(), "run {run}");
        // No traffic step while paused: api stayed at 20% from its first step.
        assert_eq!(at(&ev, "share"), vec![3600], "run {run}: {ev:?}");
        // The rule asked at every scrape from its first held decision until 1h31m.
        assert_eq!(held, (first..5460).step_by(30).collect::<Vec<_>>());
        let rec = all
            .iter()
            .find(|r| r.run == run && r.service.as_deref() == Some("api"))
            .expect("api's record");
        assert!(!rec.missed_bad_release, "run {run}");
        assert_eq!(rec.true_positive_rollbacks, 1, "run {run}");
        assert_eq!(rec.rollbacks_held, Some(held.len() as u32), "run {run}");
    }
}

#[test]
fn a_rollback_held_longer_than_hold_at_most_is_carried_out() {
    // A two-hour window would hold api's rollback past its whole rollout; hold_at_most
    // carries it out ten minutes after its first held decision.
    let hold = "hold_on_dependency = \"2h\"\nhold_at_most = \"10m\"";
    let s = two(BAD_API, DB_AT_1H01, hold);
    for run in 0..10 {
        let ev = events_of(&s, run, "api");
        let first = at(&ev, "held")[0];
        assert_eq!(at(&ev, "pause"), vec![first], "run {run}: {ev:?}");
        assert_eq!(at(&ev, "hold_expired"), vec![first + 600], "run {run}");
        assert_eq!(at(&ev, "rollback"), vec![first + 600], "run {run}: {ev:?}");
        assert_eq!(at(&ev, "promote"), Vec::<u64>::new(), "run {run}");
    }
}

#[test]
fn a_rollout_paused_by_a_hold_resumes_with_the_time_its_step_had_held() {
    // db's release is bad (30% errors, all at once) and fails api's calls; db's own rule
    // rolls it back, api's errors pass, api's rule lets go and its healthy release goes
    // on: promoted 30 minutes of unpaused rollout after its deploy, never rolled back.
    let db = r#"{ at = "1h01m", bad_probability = 1.0, bad = { error_rate = 0.3, onset = "2m" } }
[services.rollout]
strategy = "canary"
steps = [{ weight = 100 }]"#;
    let s = two(r#"{ at = "1h" }"#, db, r#"hold_on_dependency = "30m""#);
    let mut paused_runs = 0;
    for run in 0..10 {
        let ev = events_of(&s, run, "api");
        assert_eq!(at(&ev, "rollback"), Vec::<u64>::new(), "run {run}: {ev:?}");
        let (pauses, resumes) = (at(&ev, "pause"), at(&ev, "resume"));
        assert_eq!(pauses.len(), resumes.len(), "run {run}: {ev:?}");
        let paused: u64 = pauses.iter().zip(&resumes).map(|(p, r)| r - p).sum();
        paused_runs += usize::from(paused > 0);
        assert_eq!(
            at(&ev, "promote"),
            vec![3600 + 1800 + paused],
            "run {run}: {ev:?}"
        );
    }
    assert!(
        paused_runs >= 5,
        "only {paused_runs} of 10 runs held api's rollback"
    );
}

#[test]
fn hold_at_most_without_hold_on_dependency_is_refused_at_its_key() {
    let text = TWO
        .replace("{API}", r#"{ at = "1h" }"#)
        .replace("{DB}", DB_AT_1H01)
        .replace("{HOLD}", r#"hold_at_most = "10m""#);
    let e = match parse(&text, "sys.toml") {
        Ok(_) => panic!("accepted"),
        Err(e) => e.to_string(),
    };
    assert!(e.contains("sys.toml:33:16: "), "{e}");
    assert!(
        e.contains("`hold_at_most` bounds a rollback held by `hold_on_dependency`"),
        "{e}"
    );
}
