//! Outputs never mix: a `run` killed with -9 leaves nothing that blocks the next run into
//! its folder, and `--force` removes what an earlier command wrote there (a `compare`'s
//! `comparison.csv` does not survive into a later `run`'s report) but no other file.

use super::rollsim;
use crate::names;
use assert_cmd::Command;
use std::time::Duration;

/// `rollsim COMMAND` of the quickstart's first 20 runs into `out`, with `extra` flags.
fn quickstart(command: &str, out: &std::path::Path, extra: &[&str]) -> Command {
    let mut c = rollsim();
    c.args([
        command,
        "scenarios/quickstart.toml",
        "--runs",
        "20",
        "--quiet",
    ])
    .args(extra)
    .arg("--out")
    .arg(out);
    c
}

#[test]
fn a_run_killed_mid_write_does_not_block_the_next_run() {
    let t = tempfile::tempdir().expect("a temporary directory");
    let out = t.path().join("out");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("rollsim"))
        .args([
            "run",
            "scenarios/quickstart.toml",
            "--runs",
            "100000000",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("rollsim run starts");
    // Kill it once runs.csv is being streamed into its temporary file.
    let mut waited = 0;
    while !names(&out).iter().any(|n| n.starts_with(".rollsim-tmp-")) {
        assert!(
            waited < 1200,
            "no temporary file appeared: {:?}",
            names(&out)
        );
        std::thread::sleep(Duration::from_millis(50));
        waited += 1;
    }
    child.kill().expect("kill -9");
    child.wait().expect("reaped");
    assert!(names(&out).iter().any(|n| n.starts_with(".rollsim-tmp-")));

    quickstart("run", &out, &[]).assert().success();
    let left = names(&out);
    assert!(
        !left.iter().any(|n| n.starts_with(".rollsim-tmp-")),
        "{left:?}"
    );
    assert!(left.contains(&"runs.csv".to_string()), "{left:?}");
}

#[test]
fn force_replaces_a_compare_by_a_run_and_keeps_the_users_files() {
    let t = tempfile::tempdir().expect("a temporary directory");
    let out = t.path().join("out");
    quickstart("compare", &out, &[]).assert().success();
    assert!(out.join("comparison.csv").is_file());
    let html = std::fs::read_to_string(out.join("report.html")).expect("the compare's report");
    assert!(html.contains("Paired comparison against"));
    std::fs::write(out.join("notes.md"), "what we found").expect("a user's file");
    quickstart("run", &out, &[]).assert().code(2);
    quickstart("run", &out, &["--force"]).assert().success();
    let left = names(&out);
    assert!(!left.contains(&"comparison.csv".to_string()), "{left:?}");
    assert_eq!(
        std::fs::read_to_string(out.join("notes.md")).expect("kept"),
        "what we found"
    );
    let manifest = std::fs::read_to_string(out.join("manifest.json")).expect("manifest");
    assert!(manifest.contains("\"kind\": \"run\""), "{manifest}");
    let html = std::fs::read_to_string(out.join("report.html")).expect("the run's report");
    assert!(
        !html.contains("Paired comparison against"),
        "the old comparison is gone from the report"
    );
}
