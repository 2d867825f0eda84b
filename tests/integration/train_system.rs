//! Release trains over a system of services: each release releases one service, the
//! train's services in turn, through the system engine. Closed forms (change failure rate
//! equals the bad probability with no latent cause, deployment frequency equals the
//! schedule, each service's share of the releases is its share of the turn), a zone's
//! latent cause blamed on the releases of the services it reaches, common random numbers
//! across policies and review policies, determinism across threads, bad input located.

use super::rollsim;
use crate::scenario;
use crate::trains::{assert_proportion, lossy, slot, train_runs, ERRORS, ORACLE};
use predicates::prelude::*;
use rollsim::experiment::train::{summarize_services, TrainResults};
use rollsim::scenario::Scenario;
use rollsim::sim::train::{simulate_train_run, TrainWorld};
use rollsim::sim::Prepared;

/// The slot in a quiet system (`front` calls `back`, `back` in zone `z`, whose latent
/// cause loses 30% for an hour), a train of `train` keys and the given policies.
fn system_text(train: &str, policies: &str) -> String {
    let fault = lossy("lossy-zone", "1h", "zone = \"z\"\n");
    let rest = format!(
        r#"[[services]]
name = "front"
request_rate = 20.0
calls = [{{ service = "back", fraction = 1.0 }}]

[[services]]
name = "back"
zone = "z"

{fault}
{train}

{policies}"#
    );
    slot("", &rest)
}

fn results(s: &Scenario, runs: u64) -> TrainResults {
    train_runs(s, 11, runs)
}

#[test]
fn a_system_train_fails_at_the_bad_probability_and_releases_each_service_in_turn() {
    let s = scenario(&system_text(
        "[train]\nhorizon = \"2w\"\nreleases_per_day = 3\nservices = [\"front\", \"back\", \"back\"]\n\
         code_defect_probability = 0.1\nconfig_change_probability = 0.05\nreviews = [\"none\"]",
        ORACLE,
    ));
    let runs = 60;
    let got = results(&s, runs);
    assert_eq!(got.records.len(), runs as usize);
    let (mut failed, mut deployed) = (0u64, 0u64);
    for r in &got.records {
        // 3 a working day, 10 working days, every one-hour slot inside a three-hour gap.
        assert_eq!((r.releases, r.deployments), (30, 30), "run {}", r.run);
        assert!((r.deployments_per_week - 15.0).abs() < 1e-9);
        failed += u64::from(r.failed_deployments);
        deployed += u64::from(r.deployments);
    }
    assert_proportion(failed, deployed, 0.15, "change failure rate");
    // `back` is named twice: two releases in three are its own, exactly.
    assert_eq!(got.services.len(), 2 * runs as usize);
    for pair in got.services.chunks(2) {
        assert_eq!(
            (pair[0].service.as_str(), pair[0].deployments),
            ("front", 10)
        );
        assert_eq!(
            (pair[1].service.as_str(), pair[1].deployments),
            ("back", 20)
        );
    }
    // The oracle rolls back exactly the bad releases of each service.
    for row in summarize_services(&got.services) {
        assert_eq!(row.false_positive_rollbacks, 0.0, "{}", row.service);
        let n = row.deployments * runs as f64;
        let cfr = row.change_failure_rate.unwrap_or(0.0);
        let sd = (0.15 * 0.85 / n).sqrt();
        assert!((cfr - 0.15).abs() < 3.3 * sd, "{}: {cfr}", row.service);
    }
}

#[test]
fn a_zone_latent_cause_is_blamed_on_the_releases_of_every_service_it_reaches() {
    // The zone holds `back` only; `front` calls `back` for every request, so the loss
    // (30% of calls) fails `front`'s requests too: while it shows, the error rule rolls
    // back the (fine) release of whichever service is on the train.
    let s = scenario(&system_text(
        "[train]\nhorizon = \"2w\"\nreleases_per_day = 2\ncode_defect_probability = 0.0\n\
         reviews = [\"none\", \"every_rollback\"]\n\n[[train.latent]]\nname = \"switch\"\n\
         fault = \"lossy-zone\"\nat = \"0s\"\nshows_probability = 0.5",
        ERRORS,
    ));
    let got = results(&s, 20);
    let mut shown = 0;
    for (r, pair) in got.records.iter().zip(got.services.chunks(2)) {
        // Each service's rollbacks are exactly its releases the cause showed in.
        for row in pair {
            assert_eq!(
                row.rollbacks, row.latent_shown,
                "run {} {}",
                r.run, row.service
            );
            assert_eq!(row.false_positive_rollbacks, row.rollbacks);
            shown += row.latent_shown;
        }
        if r.review == "none" {
            assert_eq!(r.recurrences, r.latent_shown.saturating_sub(1));
        }
    }
    assert!(shown > 0);
    let front: u32 = got
        .services
        .iter()
        .filter(|r| r.service == "front")
        .map(|r| r.rollbacks)
        .sum();
    assert!(front > 0, "the caller's releases are rolled back too");
}

#[test]
fn a_system_train_world_depends_on_no_policy_or_review_policy() {
    let train = "[train]\nhorizon = \"1w\"\nreleases_per_day = 2\narrivals = \"poisson\"\n\
                 reviews = [\"every_rollback\", \"none\"]\n\n[[train.latent]]\n\
                 fault = \"lossy-zone\"\nrate_per_week = 2\nshows_probability = 0.5";
    let both = scenario(&system_text(train, &format!("{ORACLE}{ERRORS}")));
    let one = scenario(&system_text(train, ERRORS));
    let (Some(t1), Some(t2)) = (both.train.as_deref(), one.train.as_deref()) else {
        panic!("no [train]")
    };
    let (pb, po) = (Prepared::new(&both), Prepared::new(&one));
    for run in 0..4 {
        let w = TrainWorld::for_run(t1, 3, run);
        assert_eq!(w, TrainWorld::for_run(t2, 3, run));
        // Release k releases service k mod 2 (every service, in file order).
        assert!(w
            .releases
            .iter()
            .enumerate()
            .all(|(k, r)| r.service == k % 2));
        let a = simulate_train_run(&pb, t1, 3, run);
        let b = simulate_train_run(&po, t2, 3, run);
        assert_eq!(a.len(), 4);
        assert_eq!(&a[2..], &b[..]);
        assert_eq!(a[0].services.len(), 2);
    }
    let none_only = scenario(&system_text(
        &train.replace("[\"every_rollback\", \"none\"]", "[\"none\"]"),
        ERRORS,
    ));
    let t3 = none_only.train.as_deref().expect("train");
    let p3 = Prepared::new(&none_only);
    for run in 0..4 {
        let a = simulate_train_run(&po, t2, 3, run);
        let b = simulate_train_run(&p3, t3, 3, run);
        assert_eq!(a[1], b[0]);
    }
}

#[test]
fn a_system_train_is_byte_identical_with_one_and_two_threads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = [
        "train-runs.csv",
        "weekly.csv",
        "train-summary.csv",
        "train-services.csv",
        "services-summary.csv",
    ];
    let mut got = Vec::new();
    for threads in ["1", "2"] {
        let out = dir.path().join(format!("t{threads}"));
        rollsim()
            .env("RAYON_NUM_THREADS", threads)
            .args(["train", "scenarios/train-checkout-payments-ledger.toml"])
            .args(["--runs", "3", "--seed", "9", "--out"])
            .arg(&out)
            .assert()
            .success()
            .stdout(predicate::str::contains("Verdict on reviews"));
        let read: Vec<Vec<u8>> = files
            .iter()
            .map(|f| std::fs::read(out.join(f)).expect("written"))
            .collect();
        got.push(read);
        let md = std::fs::read_to_string(out.join("report.md")).expect("report.md");
        assert!(md.contains("## Releases by service"));
    }
    assert!(
        got[0] == got[1],
        "system train outputs differ between 1 and 2 threads"
    );
    let services = String::from_utf8_lossy(&got[0][3]).into_owned();
    assert!(services.starts_with("run,policy,review,service,deployments,"));
    // 3 runs x 3 policies x 3 review policies x 3 services, and the header.
    assert_eq!(services.lines().count(), 1 + 81);
}

#[test]
fn bad_system_train_input_is_located() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.toml");
    let cases = [
        (
            system_text("[train]\nservices = [\"front\", \"bakc\"]", ORACLE),
            "services = [",
            "unknown service \"bakc\"",
        ),
        (
            system_text("[train]", ORACLE).replace(
                "name = \"back\"\n",
                "name = \"back\"\nrelease = { bad_probability = 0.2 }\n",
            ),
            "release = { bad_probability",
            "remove release.bad_probability",
        ),
        (
            system_text("[train]\nservices = []", ORACLE),
            "services = []",
            "train.services is empty",
        ),
    ];
    for (text, marker, message) in cases {
        std::fs::write(&path, &text).expect("write");
        let line = text
            .lines()
            .position(|l| l.contains(marker))
            .map_or(0, |i| i + 1);
        rollsim()
            .args(["validate"])
            .arg(&path)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!("bad.toml:{line}:")))
            .stderr(predicate::str::contains(message));
    }
    // train.services needs a system.
    let text = "[train]\nservices = [\"a\"]\n";
    std::fs::write(&path, text).expect("write");
    rollsim()
        .args(["validate"])
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.toml:2:"))
        .stderr(predicate::str::contains("this file has no [[services]]"));
}
