//! Snapshots of what `rollsim run` prints for two shipped scenarios: the table at 100
//! columns and the verdict. The files in `tests/data/snapshots/` are the exact expected
//! output; a deliberate change re-blesses them with
//! `ROLLSIM_BLESS=1 cargo test --test integration verdict` (and says why in the commit).

use assert_cmd::Command;

/// stdout of `rollsim run SCENARIO --runs N --seed 42` up to its "reproduce with" line
/// (which names the binary and a temporary directory).
fn printed(scenario: &str, runs: &str, extra: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let mut cmd = Command::cargo_bin("rollsim").expect("binary");
    cmd.args([
        "run", scenario, "--runs", runs, "--seed", "42", "--quiet", "--out",
    ])
    .arg(&out)
    .args(extra);
    let got = cmd.assert().success().get_output().stdout.clone();
    let text = String::from_utf8(got).expect("utf-8");
    match text.find("\nreproduce with: ") {
        Some(i) => text[..i + 1].to_string(),
        None => text,
    }
}

fn check(name: &str, got: &str) {
    let path = format!("tests/data/snapshots/{name}");
    if std::env::var_os("ROLLSIM_BLESS").is_some() {
        std::fs::write(&path, got).expect("bless");
    }
    let want = std::fs::read_to_string(&path).expect("snapshot");
    assert_eq!(
        got, want,
        "{path} differs; if intended, rerun with ROLLSIM_BLESS=1 and say why in the commit"
    );
}

fn fits(text: &str) {
    for line in text.lines() {
        assert!(
            line.chars().count() <= 100,
            "{} columns: {line}",
            line.chars().count()
        );
    }
}

#[test]
fn controllers_table_fits_100_columns_and_names_the_best() {
    let got = printed("scenarios/controllers.toml", "300", &[]);
    fits(&got);
    assert!(got.contains("kayenta is best"), "{got}");
    check("run-controllers.txt", &got);
}

#[test]
fn quickstart_table_and_verdict() {
    let got = printed("scenarios/quickstart.toml", "1000", &[]);
    fits(&got);
    assert!(got.contains("error-rate-2pct is best"), "{got}");
    check("run-quickstart.txt", &got);
}

#[test]
fn an_objective_on_the_command_line_overrides_the_scenario() {
    let got = printed(
        "scenarios/quickstart.toml",
        "1000",
        &[
            "--objective",
            "min false_positive_rollbacks s.t. missed_bad_release <= 0.05",
        ],
    );
    // Only error-rate-2pct misses (almost) no bad release; none and the probes miss many.
    assert!(
        got.contains("Verdict (min false_positive_rollbacks s.t. missed_bad_release <= 0.05): error-rate-2pct is best"),
        "{got}"
    );
}

#[test]
fn a_bad_objective_or_metric_is_a_usage_error_naming_the_flag() {
    let mut cmd = Command::cargo_bin("rollsim").expect("binary");
    cmd.args([
        "run",
        "scenarios/quickstart.toml",
        "--runs",
        "5",
        "--objective",
        "min downtime",
    ]);
    cmd.assert().code(2).stderr(predicates::str::contains(
        "--objective: \"downtime\" is not a metric",
    ));
    let mut cmd = Command::cargo_bin("rollsim").expect("binary");
    cmd.args([
        "run",
        "scenarios/quickstart.toml",
        "--runs",
        "5",
        "--metrics",
        "downtime_s,fp",
    ]);
    cmd.assert().code(2).stderr(predicates::str::contains(
        "--metrics: \"fp\" is not a metric",
    ));
}

#[test]
fn formats_carry_the_same_columns() {
    let csv = printed(
        "scenarios/quickstart.toml",
        "20",
        &[
            "--format",
            "csv",
            "--metrics",
            "downtime_s,missed_bad_release",
        ],
    );
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("policy,downtime_s,downtime_s_low,downtime_s_high,missed_bad_release,missed_bad_release_low,missed_bad_release_high")
    );
    assert_eq!(lines.count(), 4);
    let md = printed("scenarios/quickstart.toml", "20", &["--format", "markdown"]);
    assert!(
        md.starts_with("| policy | false+ rollbacks | missed bad |"),
        "{md}"
    );
    let json = printed("scenarios/quickstart.toml", "1000", &["--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["verdict"]["best"], "error-rate-2pct");
    assert_eq!(v["verdict"]["source"], "scenario");
}

#[test]
fn an_unknown_metric_in_the_scenarios_objective_is_located_before_anything_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string("scenarios/quickstart.toml").expect("quickstart");
    let bad = text.replace(
        "\"false_positive_rollbacks <=",
        "\"false_positives_rollbacks <=",
    );
    assert_ne!(
        bad, text,
        "the objective's constraint is where the test expects it"
    );
    let (line, col) = bad
        .lines()
        .enumerate()
        .find_map(|(i, l)| l.find("\"false_positives").map(|c| (i + 1, c + 1)))
        .expect("the constraint");
    let scn = dir.path().join("q.toml");
    std::fs::write(&scn, &bad).expect("write");
    let out = dir.path().join("out");
    let mut cmd = Command::cargo_bin("rollsim").expect("binary");
    cmd.arg("run")
        .arg(&scn)
        .args(["--runs", "5", "--out"])
        .arg(&out);
    cmd.assert()
        .code(2)
        .stderr(predicates::str::contains(format!(
        "{}:{line}:{col}: objective: \"false_positives_rollbacks\" is not a metric; did you mean \
         `false_positive_rollbacks`?",
        scn.display()
    )));
    assert!(!out.exists(), "nothing is written");
}
