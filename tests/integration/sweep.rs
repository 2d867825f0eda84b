//! Sweeps: the analytic trade-off curve, streaming and resume, sharding, bad parameters.

use super::rollsim;
use super::{prob_run_of_k, SIXTY_CHECKS};
use predicates::prelude::*;
use std::path::Path;

/// Healthy releases watched for 60 health checks that fail independently with q = 0.1,
/// judged by 3 failures in a row.
fn probes() -> String {
    format!("{SIXTY_CHECKS}[[policies]]\nname = \"probes\"\nkind = \"consecutive\"\nfailures = 3\n")
}

fn sweep_rows(dir: &Path) -> Vec<csv::StringRecord> {
    let mut r = csv::Reader::from_path(dir.join("sweep.csv")).expect("sweep.csv");
    r.records().map(|x| x.expect("row")).collect()
}

#[test]
fn sweeping_k_reproduces_the_analytic_false_positive_curve() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scn = dir.path().join("probes.toml");
    std::fs::write(&scn, probes()).expect("write");
    let out = dir.path().join("sweep");
    let sweep = |objective: &str| {
        let mut c = rollsim();
        c.arg("sweep")
            .arg(&scn)
            .args(["--param", "policies.probes.failures=1..5:5"])
            .args(["--runs", "3000", "--seed", "4", "--out"])
            .arg(&out)
            .args(["--objective", objective]);
        c
    };
    sweep("min failures s.t. false_positive_rollbacks <= 0.1")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--objective: \"failures\" is not a metric",
        ));
    // The most sensitive rule whose false-positive rate stays within 10%.
    sweep("max false_positive_rollbacks s.t. false_positive_rollbacks <= 0.1")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "recommended: policies.probes.failures = 3",
        ));
    let rows = sweep_rows(&out);
    let mut seen = 0;
    for r in rows.iter().filter(|r| &r[6] == "false_positive_rollbacks") {
        let k: f64 = r[2].parse().expect("value");
        let mean: f64 = r[7].parse().expect("mean");
        let exact = prob_run_of_k(60, k as usize, 0.1);
        let sd = (exact * (1.0 - exact) / 3000.0).sqrt().max(1e-9);
        assert!(
            (mean - exact).abs() < 4.0 * sd,
            "k = {k}: simulated {mean}, exact {exact}"
        );
        seen += 1;
    }
    assert_eq!(seen, 5);
    let rec: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("recommendation.json")).expect("json"),
    )
    .expect("json");
    assert_eq!(rec["met"], true);
}

#[test]
fn resume_finishes_an_interrupted_sweep_without_redoing_points() {
    let dir = tempfile::tempdir().expect("tempdir");
    let args = |out: &Path| {
        let mut c = rollsim();
        c.args([
            "sweep",
            "scenarios/quickstart.toml",
            "--param",
            "service.request_rate=20,30,40",
            "--param",
            "policies.error-rate-2pct.window=120,300",
            "--runs",
            "40",
            "--seed",
            "8",
            "--out",
        ])
        .arg(out);
        c
    };
    let whole = dir.path().join("whole");
    args(&whole).assert().success();
    let full = std::fs::read_to_string(whole.join("sweep.csv")).expect("sweep.csv");
    let per_point = full.lines().skip(1).filter(|l| l.starts_with("0,")).count();
    assert!(per_point > 0);
    assert_eq!(full.lines().count(), 1 + 6 * per_point, "3 x 2 points");

    // Simulate a crash after two points and a half: keep the header, two whole points and
    // part of the third (with no checksum line).
    let cut = dir.path().join("cut");
    std::fs::create_dir(&cut).expect("mkdir");
    for f in ["manifest.json", "scenario.toml"] {
        std::fs::copy(whole.join(f), cut.join(f)).expect("copy");
    }
    let partial: String = full
        .lines()
        .take(1 + 2 * per_point + per_point / 2)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(cut.join("sweep.csv"), partial).expect("write");
    // The checksum lines of the two whole points, each appended after its rows.
    let sums: String = std::fs::read_to_string(whole.join("sweep-points.csv"))
        .expect("sweep-points.csv")
        .lines()
        .take(3)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(cut.join("sweep-points.csv"), sums).expect("write");
    args(&cut)
        .arg("--resume")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "resuming: 2 of 6 points already done",
        ));
    assert_eq!(
        std::fs::read_to_string(cut.join("sweep.csv")).expect("resumed"),
        full
    );

    // Resuming with different settings is refused.
    let mut other = rollsim();
    other
        .args([
            "sweep",
            "scenarios/quickstart.toml",
            "--param",
            "service.request_rate=20,30",
            "--runs",
            "40",
            "--seed",
            "8",
            "--resume",
            "--out",
        ])
        .arg(&cut)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("holds a different sweep"));
}

#[test]
fn sweep_shards_merge_into_the_single_machine_sweep() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |out: &Path, shard: Option<&str>| {
        let mut c = rollsim();
        c.args([
            "sweep",
            "scenarios/quickstart.toml",
            "--param",
            "policies.error-rate-2pct.error_rate_above=0.01..0.04:4",
            "--runs",
            "30",
            "--seed",
            "2",
            "--out",
        ])
        .arg(out);
        if let Some(s) = shard {
            c.args(["--shard", s]);
        }
        c.assert().success();
    };
    let whole = dir.path().join("whole");
    run(&whole, None);
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    run(&a, Some("0/2"));
    run(&b, Some("1/2"));
    let merged = dir.path().join("m");
    rollsim()
        .arg("merge")
        .args([&b, &a])
        .arg("--out")
        .arg(&merged)
        .assert()
        .success();
    assert_eq!(
        std::fs::read(whole.join("sweep.csv")).expect("whole"),
        std::fs::read(merged.join("sweep.csv")).expect("merged")
    );
}

#[test]
fn bad_parameters_are_named_before_anything_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("o");
    let check = |param: &str, msg: &str| {
        rollsim()
            .args([
                "sweep",
                "scenarios/quickstart.toml",
                "--runs",
                "5",
                "--param",
                param,
                "--out",
            ])
            .arg(&out)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(msg));
        assert!(!out.exists(), "nothing is written for a bad --param");
    };
    check(
        "policies.nope.failures=1..3:3",
        "no element of `policies` is named \"nope\"",
    );
    check(
        "release.bad_probability=0.5..1.5:3",
        "release.bad_probability = 1.5 is not a probability",
    );
    check("service.replicas=1.5", "is an integer; 1.5 is not");
    check(
        "service.request_rate=1..2",
        "expected PATH=LOW..HIGH:POINTS",
    );
}

/// Replaces the line `key = ...` of the `[[policies]]` entry named `policy` by `line`, as a
/// user pasting a recommendation does.
fn paste_into_policy(text: &str, policy: &str, line: &str) -> String {
    let key = line.split(" = ").next().expect("a key");
    let mut in_policy = false;
    let mut out = Vec::new();
    for l in text.lines() {
        if l.starts_with("[[") || l.starts_with('[') {
            in_policy = false;
        }
        if l.trim() == format!("name = {policy:?}") {
            in_policy = true;
        }
        if in_policy && l.trim_start().starts_with(&format!("{key} = ")) {
            out.push(line.to_string());
        } else {
            out.push(l.to_string());
        }
    }
    out.join("\n") + "\n"
}

/// The recommended value is printed in scenario syntax: a duration as a string in its
/// largest unit, which, pasted into the scenario, gives the very scenario the sweep ran.
#[test]
fn the_recommended_value_pastes_back_into_the_scenario() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sweep");
    let path = "policies.error-rate-2pct.for";
    let assert = rollsim()
        .args(["sweep", "scenarios/quickstart.toml", "--param"])
        .arg(format!("{path}=300,900"))
        .args(["--runs", "40", "--seed", "2", "--quiet", "--out"])
        .arg(&out)
        .args(["--objective", "min false_positive_rollbacks"])
        .assert()
        .success();
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).expect("utf8");
    let rec: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("recommendation.json")).expect("json"),
    )
    .expect("json");
    let value = rec["value"].as_f64().expect("a recommended value");
    let line = rec["paste"][0]["line"].as_str().expect("a paste line");
    assert_eq!(rec["paste"][0]["table"], "policies.error-rate-2pct");
    let expected = if value == 900.0 {
        "for = \"15m\""
    } else {
        "for = \"5m\""
    };
    assert_eq!(line, expected);
    assert!(
        stdout.contains(&format!(
            "in the scenario, [[policies]] named \"error-rate-2pct\":\n    {line}\n"
        )),
        "{stdout}"
    );
    let text = std::fs::read_to_string("scenarios/quickstart.toml").expect("scenario");
    let pasted = super::scenario(&paste_into_policy(&text, "error-rate-2pct", line));
    let swept = super::scenario(
        &rollsim::scenario::edit::set_number(&text, path, value).expect("the sweep's edit"),
    );
    assert_eq!(
        format!("{:?}", pasted.policies),
        format!("{:?}", swept.policies)
    );
    assert_ne!(
        format!("{:?}", pasted.policies),
        format!("{:?}", super::scenario(&text).policies),
        "the paste changed the policy"
    );
}

/// A constraint whose mean is met but whose upper bound is not does not recommend the
/// value; at a lower confidence level the narrower interval meets it.
#[test]
fn a_mean_inside_a_constraint_is_not_enough() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scn = dir.path().join("probes.toml");
    std::fs::write(&scn, probes()).expect("write");
    let sweep = |out: &str, objective: &str, confidence: &str| {
        let out = dir.path().join(out);
        let assert = rollsim()
            .arg("sweep")
            .arg(&scn)
            .args(["--param", "policies.probes.failures=3", "--runs", "400"])
            .args([
                "--seed",
                "8",
                "--quiet",
                "--confidence",
                confidence,
                "--out",
            ])
            .arg(&out)
            .args(["--objective", objective])
            .assert()
            .success();
        let stdout = String::from_utf8(assert.get_output().stdout.clone()).expect("utf8");
        let rec: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join("recommendation.json")).expect("json"),
        )
        .expect("json");
        (stdout, rec, out)
    };
    let (_, _, first) = sweep("a", "min rollbacks", "0.95");
    let row = sweep_rows(&first)
        .into_iter()
        .find(|r| &r[6] == "false_positive_rollbacks")
        .expect("a false-positive row");
    let mean: f64 = row[7].parse().expect("mean");
    let high: f64 = row[9].parse().expect("upper bound");
    assert!(mean > 0.0 && high > mean, "{mean} {high}");
    // Between the mean and the upper bound: the mean meets it, the bound does not.
    let bound = (mean + high) / 2.0;
    let objective = format!("min rollbacks s.t. false_positive_rollbacks <= {bound}");
    let (stdout, rec, _) = sweep("b", &objective, "0.95");
    assert_eq!(rec["met"], false, "{stdout}");
    assert!(rec["value"].is_null());
    assert_eq!(rec["constraints"][0]["bound"].as_f64(), Some(high));
    assert!(
        stdout.contains("its mean meets the constraint but its interval does not"),
        "{stdout}"
    );
    // At 50% the bound is mean + 0.674 / 1.96 of the 95% half-width: under the constraint.
    let (stdout, rec, _) = sweep("c", &objective, "0.5");
    assert_eq!(rec["met"], true, "{stdout}");
    assert!(stdout.contains("upper 50% bound"), "{stdout}");
}

/// The probes scenario with an `[objective]` (its metrics are the tuned policy's).
fn probes_with_objective(objective: &str) -> String {
    format!("{}\n[objective]\n{objective}\n", probes())
}

#[test]
fn the_scenarios_objective_is_the_default_and_the_flag_overrides_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scn = dir.path().join("probes.toml");
    let objective = "maximize = \"false_positive_rollbacks\"\nsubject_to = [\"false_positive_rollbacks <= 0.1\"]";
    std::fs::write(&scn, probes_with_objective(objective)).expect("write");
    let sweep = |out: &str, extra: &[&str]| {
        let out = dir.path().join(out);
        let got = rollsim()
            .arg("sweep")
            .arg(&scn)
            .args(["--param", "policies.probes.failures=1..5:5"])
            .args(["--runs", "500", "--seed", "4", "--quiet", "--out"])
            .arg(&out)
            .args(extra)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        (String::from_utf8(got).expect("utf-8"), out)
    };
    // No flag: the scenario's objective, said so, with its recommendation written.
    let (stdout, out) = sweep("a", &[]);
    assert!(
        stdout.contains(
            "objective (the scenario's [objective]; --objective overrides it): max \
             false_positive_rollbacks\n  s.t. false_positive_rollbacks <= 0.1"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("recommended: policies.probes.failures = 3"),
        "{stdout}"
    );
    assert!(out.join("recommendation.json").exists());
    // The flag wins.
    let (stdout, _) = sweep("b", &["--objective", "min false_positive_rollbacks"]);
    assert!(
        stdout.contains("\nobjective: min false_positive_rollbacks\n"),
        "{stdout}"
    );
    // A misspelt metric in the scenario's objective is refused at its line and column
    // before anything runs.
    std::fs::write(&scn, probes_with_objective("minimize = \"downtim_s\"")).expect("write");
    let out = dir.path().join("c");
    rollsim()
        .arg("sweep")
        .arg(&scn)
        .args(["--param", "policies.probes.failures=1..5:5", "--out"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "{}:22:12: objective: \"downtim_s\" is not a metric; did you mean `downtime_s`?",
            scn.display()
        )));
    assert!(!out.exists(), "nothing is written");
}
