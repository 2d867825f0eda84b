//! Release trains: closed forms (change failure rate equals the bad probability with no
//! latent cause, deployment frequency equals the schedule, a never-reviewed latent cause
//! recurs at its known rate), common random numbers (the train's world depends on no
//! policy or review policy), determinism across threads, and bad input located.

use super::rollsim;
use crate::scenario;
use crate::trains::{assert_proportion, lossy, slot, train_runs, ERRORS, ORACLE};
use predicates::prelude::*;
use rollsim::experiment::train::summarize;
use rollsim::outcome::train::TrainRecord;
use rollsim::scenario::Scenario;
use rollsim::sim::train::{simulate_train_run, Cause, TrainWorld};
use rollsim::sim::Prepared;

/// The slot with one service and a latent cause (`lossy-network`, 30% loss for an hour),
/// a train of `train` keys and the given policies.
fn train_text(train: &str, policies: &str) -> String {
    let fault = lossy("lossy-network", "1h", "");
    let rest = format!("{fault}\n{train}\n\n{policies}");
    slot("request_rate = 20.0", &rest)
}

fn records(s: &Scenario, runs: u64) -> Vec<TrainRecord> {
    train_runs(s, 11, runs).records
}

#[test]
fn change_failure_rate_is_the_bad_probability_and_frequency_the_schedule() {
    let s = scenario(&train_text(
        "[train]\nhorizon = \"4w\"\nreleases_per_day = 3\ncode_defect_probability = 0.1\n\
         config_change_probability = 0.05\nreviews = [\"none\"]",
        ORACLE,
    ));
    let runs = 100;
    let recs = records(&s, runs);
    assert_eq!(recs.len(), runs as usize);
    let (mut failed, mut deployed) = (0u64, 0u64);
    for r in &recs {
        // 3 a working day, 5 working days a week, every slot (1h) well inside the gaps.
        assert_eq!(r.releases, 60, "run {}", r.run);
        assert_eq!(r.deployments, 60, "run {}", r.run);
        assert!((r.deployments_per_week - 15.0).abs() < 1e-9);
        assert_eq!(r.queued_at_end, 0);
        failed += u64::from(r.failed_deployments);
        deployed += u64::from(r.deployments);
    }
    // The oracle rolls back exactly the bad releases: the change failure rate is the
    // bad probability (0.1 + 0.05), within a 99.9% binomial interval.
    assert_proportion(failed, deployed, 0.15, "change failure rate");
}

#[test]
fn a_never_reviewed_latent_cause_recurs_at_its_known_rate() {
    // Present from the start, never fixed, showing in a release with probability 0.4;
    // the loss (30% of calls) makes the error rule roll back every release it shows in,
    // and nothing else is ever rolled back (no bad release, a quiet service).
    let s = scenario(&train_text(
        "[train]\nhorizon = \"4w\"\nreleases_per_day = 4\ncode_defect_probability = 0.0\n\
         reviews = [\"none\", \"every_rollback\"]\n\n[[train.latent]]\nname = \"lossy\"\n\
         fault = \"lossy-network\"\nat = \"0s\"\nshows_probability = 0.4",
        ERRORS,
    ));
    let runs = 60;
    let recs = records(&s, runs);
    let never: Vec<&TrainRecord> = recs.iter().filter(|r| r.review == "none").collect();
    let mut total = 0.0;
    for r in &never {
        assert_eq!(
            r.false_positive_rollbacks_per_week * 4.0,
            f64::from(r.latent_shown)
        );
        // Every showing after the first is a recurrence of the same unfixed cause.
        assert_eq!(
            r.recurrences,
            r.latent_shown.saturating_sub(1),
            "run {}",
            r.run
        );
        assert_eq!(r.latent_fixed, 0);
        total += f64::from(r.latent_shown);
    }
    // Known rate: 0.4 of 80 deploys a train show it.
    let n = never.len() as f64 * 80.0;
    let mean = total / n;
    let sd = (0.4 * 0.6 / n).sqrt();
    assert!((mean - 0.4).abs() < 3.3 * sd, "shown per deploy {mean}");
    // Reviewing every rollback fixes it (find probability 0.8 by default): fewer
    // recurrences on the same trains.
    let reviewed: u32 = recs
        .iter()
        .filter(|r| r.review == "every_rollback")
        .map(|r| r.recurrences)
        .sum();
    let unreviewed: u32 = never.iter().map(|r| r.recurrences).sum();
    assert!(reviewed * 4 < unreviewed, "{reviewed} vs {unreviewed}");
}

#[test]
fn the_train_world_depends_on_no_policy_or_review_policy() {
    let train = "[train]\nhorizon = \"2w\"\nreleases_per_day = 2\narrivals = \"poisson\"\n\
                 reviews = [\"every_rollback\", \"none\"]\n\n[[train.latent]]\n\
                 fault = \"lossy-network\"\nrate_per_week = 1\nshows_probability = 0.5";
    let both = scenario(&train_text(train, &format!("{ORACLE}{ERRORS}")));
    let one = scenario(&train_text(train, ERRORS));
    let (Some(t1), Some(t2)) = (both.train.as_deref(), one.train.as_deref()) else {
        panic!("no [train]")
    };
    for run in 0..5 {
        let w = TrainWorld::for_run(t1, 3, run);
        assert_eq!(w, TrainWorld::for_run(t2, 3, run));
        assert!(w.releases.iter().any(|r| r.cause == Cause::Good));
        // The errors rule's pairs are the same whether or not the oracle runs beside it.
        let pb = Prepared::new(&both);
        let po = Prepared::new(&one);
        let a = simulate_train_run(&pb, t1, 3, run);
        let b = simulate_train_run(&po, t2, 3, run);
        assert_eq!(a.len(), 4);
        assert_eq!(&a[2..], &b[..]);
    }
    // A review policy added or removed leaves the other's rows alone.
    let none_only = scenario(&train_text(
        &train.replace("[\"every_rollback\", \"none\"]", "[\"none\"]"),
        ERRORS,
    ));
    let t3 = none_only.train.as_deref().expect("train");
    let p1 = Prepared::new(&one);
    let p3 = Prepared::new(&none_only);
    for run in 0..5 {
        let a = simulate_train_run(&p1, t2, 3, run);
        let b = simulate_train_run(&p3, t3, 3, run);
        assert_eq!(a[1], b[0]);
    }
    let s = summarize(&records(&one, 10));
    assert!(s.iter().any(|r| r.metric == "change_failure_rate"));
}

#[test]
fn a_train_is_byte_identical_with_one_and_two_threads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut got = Vec::new();
    // `--quiet` (no progress bar) on the second changes nothing written either.
    for (threads, quiet) in [("1", None), ("2", Some("--quiet"))] {
        let out = dir.path().join(format!("t{threads}"));
        rollsim()
            .env("RAYON_NUM_THREADS", threads)
            .args(["train", "scenarios/train-review-latent-network.toml"])
            .args(["--runs", "8", "--seed", "9"])
            .args(quiet)
            .arg("--out")
            .arg(&out)
            .assert()
            .success()
            .stdout(predicate::str::contains("Verdict on reviews"))
            .stdout(predicate::function(|out: &str| {
                out.lines().all(|l| l.chars().count() <= 100)
            }));
        let files: Vec<Vec<u8>> = ["train-runs.csv", "weekly.csv", "train-summary.csv"]
            .iter()
            .map(|f| std::fs::read(out.join(f)).expect("written"))
            .collect();
        got.push(files);
    }
    assert!(
        got[0] == got[1],
        "train outputs differ between 1 and 2 threads"
    );
    let weekly = String::from_utf8_lossy(&got[0][1]).into_owned();
    assert!(weekly.starts_with("run,policy,review,week,deployments,"));
}

/// Writes a scenario and returns its path.
fn write(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    let p = dir.join("bad.toml");
    std::fs::write(&p, text).expect("write");
    p
}

#[test]
fn bad_train_input_is_located_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let cases = [
        (
            "reviews = [\"every_rollback\", \"sometimes\"]",
            "unknown review policy \"sometimes\"",
        ),
        ("working_hours = [18, 9]", "train.working_hours must be"),
        (
            "\n[[train.latent]]\nfault = \"nowhere\"",
            "names no [[faults]] entry",
        ),
        ("code_defect_probability = 1.5", "is not a probability"),
    ];
    for (keys, message) in cases {
        let text = train_text(&format!("[train]\n{keys}"), ORACLE);
        let path = write(dir.path(), &text);
        let line = text
            .lines()
            .position(|l| l.contains(keys.trim().lines().last().unwrap_or(keys)))
            .map_or(0, |i| i + 1);
        rollsim()
            .args(["train"])
            .arg(&path)
            .arg("--out")
            .arg(&out)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!("bad.toml:{line}:")))
            .stderr(predicate::str::contains(message));
        assert!(!out.exists(), "{keys}: nothing may be written");
    }
    // A latent cause's fault must be left to the train.
    let text = train_text(
        "[train]\n[[train.latent]]\nfault = \"lossy-network\"",
        ORACLE,
    )
    .replace("inject_only = true\n", "at = \"10m\"\n");
    let path = write(dir.path(), &text);
    rollsim()
        .args(["validate"])
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("must be inject_only = true"));
    // Another command refuses a train; `train` refuses a file without one.
    let path = write(dir.path(), &train_text("[train]", ORACLE));
    rollsim()
        .args(["run"])
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("rollsim train"));
    let path = write(dir.path(), &train_text("", ORACLE));
    rollsim()
        .args(["train"])
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("needs a [train] section"));
    assert!(!out.exists());
}

#[test]
fn report_rebuilds_a_train_directory_as_train_wrote_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("t");
    rollsim()
        .args(["train", "scenarios/train-review-latent-network.toml"])
        .args(["--runs", "3", "--seed", "9", "--out"])
        .arg(&out)
        .assert()
        .success();
    let made = ["report.html", "report.md", "weekly.svg", "weekly.png"];
    let written: Vec<Vec<u8>> = made
        .iter()
        .map(|f| std::fs::read(out.join(f)).expect("written"))
        .collect();
    for f in made {
        std::fs::remove_file(out.join(f)).expect("remove");
    }
    rollsim().arg("report").arg(&out).assert().success();
    for (f, bytes) in made.iter().zip(&written) {
        let again = std::fs::read(out.join(f)).expect("rebuilt");
        assert!(
            &again == bytes,
            "{f} differs from what `rollsim train` wrote"
        );
    }
    let md = String::from_utf8_lossy(&written[1]).into_owned();
    assert!(md.contains("## Verdict on reviews"));
    assert!(md.contains("![weekly](weekly.svg)"));

    // A malformed row is located at its line; nothing is written.
    for f in made {
        std::fs::remove_file(out.join(f)).expect("remove");
    }
    let runs = std::fs::read_to_string(out.join("train-runs.csv")).expect("runs");
    let mut lines: Vec<String> = runs.lines().map(str::to_string).collect();
    lines[2] = lines[2].replacen(",", ",not-a-seed,", 1);
    std::fs::write(out.join("train-runs.csv"), lines.join("\n") + "\n").expect("write");
    rollsim()
        .arg("report")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("train-runs.csv:3"));
    assert!(made.iter().all(|f| !out.join(f).exists()));
    // Without its weeks, a train's report says what is missing.
    std::fs::write(out.join("train-runs.csv"), runs).expect("write");
    std::fs::remove_file(out.join("weekly.csv")).expect("remove");
    rollsim()
        .arg("report")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("weekly.csv"))
        .stderr(predicate::str::contains("is missing"));
}

/// Malformed `[train]` sections, each with the text of the line its message must name and
/// a part of that message: every one is refused with `file:line:col` and exit 2.
const MALFORMED: &[(&str, &str, &str)] = &[
    ("horizon = \"0s\"", "horizon", "horizon"),
    ("horizon = \"soon\"", "horizon", "soon"),
    ("horizon = 3", "horizon", "expected a duration"),
    (
        "releases_per_day = -1",
        "releases_per_day",
        "releases_per_day",
    ),
    ("releases_per_day = 5000", "releases_per_day", "too many"),
    (
        "horizon = \"500w\"\nreleases_per_day = 1000",
        "releases_per_day",
        "expected at most 100000",
    ),
    ("arrivals = \"random\"", "arrivals", "\"random\" is unknown"),
    (
        "working_hours = [9]",
        "working_hours",
        "working_hours must be",
    ),
    (
        "working_hours = [9, 25]",
        "working_hours",
        "working_hours must be",
    ),
    (
        "working_hours = [-3, 4]",
        "working_hours",
        "working_hours must be",
    ),
    ("weekends = \"yes\"", "weekends", "expected a boolean"),
    (
        "code_defect_probability = 0.5\nconfig_change_probability = 0.9",
        "config_change_probability",
        "is over 1",
    ),
    (
        "config_change_probability = -0.1",
        "config_change_probability",
        "probability",
    ),
    ("reviews = []", "reviews", "is empty"),
    ("reviews = [\"none\", \"none\"]", "reviews", "twice"),
    ("reviews = \"none\"", "reviews", "expected a sequence"),
    ("horizn = \"1w\"", "horizn", "horizn"),
    ("services = [\"payments\"]", "services", "no [[services]]"),
    (
        "[train.review]\nfind_probability = 2",
        "find_probability",
        "probability",
    ),
    (
        "[train.review]\nnotice_probability = 1.5",
        "notice_probability",
        "probability",
    ),
    (
        "[train.review]\ntime = \"-1h\"",
        "time",
        "invalid duration \"-1h\"",
    ),
    ("[train.review]\nhold = true", "hold", "hold"),
    ("[train.freeze]\nrollbacks = 0", "rollbacks", "rollbacks"),
    ("[train.freeze]\nwindow = \"0s\"", "window", "window"),
    (
        "[[train.latent]]\nfault = \"lossy-network\"\nrate_per_week = 1\nat = \"1d\"",
        "at = ",
        "not both",
    ),
    (
        "[[train.latent]]\nfault = \"lossy-network\"\nshows_probability = -0.1",
        "shows_probability",
        "probability",
    ),
    (
        "[[train.latent]]\nfault = \"lossy-network\"\nrate_per_week = 0",
        "rate_per_week",
        "rate_per_week",
    ),
    (
        "[[train.latent]]\nfault = 7",
        "fault = 7",
        "expected a string",
    ),
];

#[test]
fn every_malformed_train_section_is_located_with_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    for (keys, marker, message) in MALFORMED {
        let text = train_text(&format!("[train]\n{keys}"), ORACLE);
        let path = write(dir.path(), &text);
        // The last line of the section holding the marker (the section's own keys come
        // after the template's).
        let line = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.trim_start().starts_with(marker))
            .last()
            .map_or(0, |(i, _)| i + 1);
        assert!(line > 0, "{keys}: marker {marker:?} not found");
        let out = rollsim().arg("validate").arg(&path).output().expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let located = stderr.contains(&format!("bad.toml:{line}:"));
        if out.status.code() != Some(2)
            || stderr.contains("panicked")
            || !located
            || !stderr.contains(message)
        {
            failures.push(format!(
                "{keys}: want exit 2, line {line}, {message:?}; got {:?}: {stderr}",
                out.status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
