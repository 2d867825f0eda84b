//! Paired comparison, sharding and merging, interruption.

use super::rollsim;
use rollsim::experiment::{run, Options};
use std::path::Path;

#[test]
fn paired_intervals_are_tighter_than_unpaired_ones() {
    let s = rollsim::scenario::load(Path::new("scenarios/strategies.toml")).expect("scenario");
    let results = run(&s, &Options::new(5, 0..400), |_| Ok::<(), ()>(())).expect("run");
    let base = &results.summary.policies[0];
    assert_eq!(results.comparison.baseline, base.policy);
    let mut checked = 0;
    for (p, d) in results.summary.policies[1..]
        .iter()
        .zip(&results.comparison.policies)
    {
        assert_eq!(p.policy, d.policy);
        for metric in ["failed_requests", "downtime_s"] {
            let e = |ms: &[(&str, rollsim::experiment::stats::Estimate)]| {
                ms.iter()
                    .find(|m| m.0 == metric)
                    .map(|m| m.1)
                    .expect("metric")
            };
            let (a, b, diff) = (e(&base.metrics), e(&p.metrics), e(&d.metrics));
            // Unpaired: half-widths of independent means add in quadrature.
            let half = |x: rollsim::experiment::stats::Estimate| (x.ci95_high - x.ci95_low) / 2.0;
            let unpaired = (half(a).powi(2) + half(b).powi(2)).sqrt();
            let paired = half(diff);
            assert!(
                paired < unpaired,
                "{} {metric}: paired half-width {paired} vs unpaired {unpaired}",
                p.policy
            );
            // And the paired mean difference is the difference of the means.
            assert!((diff.mean - (b.mean - a.mean)).abs() < 1e-6 * (1.0 + a.mean.abs()));
            checked += 1;
        }
    }
    assert_eq!(checked, 8);
}

fn compare_into(out: &Path, extra: &[&str]) {
    rollsim()
        .args([
            "compare",
            "scenarios/quickstart.toml",
            "--runs",
            "300",
            "--seed",
            "9",
            "--out",
        ])
        .arg(out)
        .args(extra)
        .assert()
        .success();
}

#[test]
fn merged_shards_equal_the_single_machine_output_byte_for_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    let whole = dir.path().join("whole");
    compare_into(&whole, &[]);
    for n in 1..=3u32 {
        let mut shard_dirs = Vec::new();
        for i in 0..n {
            let d = dir.path().join(format!("s{n}-{i}"));
            compare_into(&d, &["--shard", &format!("{i}/{n}")]);
            shard_dirs.push(d);
        }
        // Merge in reverse order: merge sorts by the runs each shard holds.
        shard_dirs.reverse();
        let merged = dir.path().join(format!("merged{n}"));
        rollsim()
            .arg("merge")
            .args(&shard_dirs)
            .arg("--out")
            .arg(&merged)
            .assert()
            .success();
        for f in ["runs.csv", "summary.csv", "comparison.csv", "scenario.toml"] {
            let a = std::fs::read(whole.join(f)).expect("whole");
            let b = std::fs::read(merged.join(f)).expect("merged");
            assert!(a == b, "{f} differs after merging {n} shards");
        }
    }
}

#[test]
fn merge_refuses_an_incomplete_or_foreign_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    compare_into(&a, &["--shard", "0/3"]);
    compare_into(&b, &["--shard", "2/3"]);
    rollsim()
        .arg("merge")
        .args([&a, &b])
        .arg("--out")
        .arg(dir.path().join("m"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("missing or repeated"));
    assert!(!dir.path().join("m").exists());
    let other = dir.path().join("other");
    rollsim()
        .args([
            "compare",
            "scenarios/quickstart.toml",
            "--runs",
            "300",
            "--seed",
            "10",
            "--shard",
            "1/3",
            "--out",
        ])
        .arg(&other)
        .assert()
        .success();
    rollsim()
        .arg("merge")
        .args([&a, &other, &b])
        .arg("--out")
        .arg(dir.path().join("m2"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "is not a shard of the same experiment",
        ));
}

#[test]
fn unknown_baseline_names_the_flag_and_the_choices() {
    rollsim()
        .args([
            "compare",
            "scenarios/quickstart.toml",
            "--runs",
            "2",
            "--baseline",
            "nope",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "--baseline \"nope\" is not a policy of this scenario; expected one of none, oracle",
        ));
}

#[test]
fn ctrl_c_keeps_the_finished_runs() {
    // A long experiment interrupted with SIGINT: exit 130, and the output holds a prefix
    // of whole runs with a manifest that says so.
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("o");
    let bin = assert_cmd::cargo::cargo_bin("rollsim");
    let mut child = std::process::Command::new(bin)
        .args([
            "run",
            "scenarios/quickstart.toml",
            "--runs",
            "5000000",
            "--seed",
            "1",
            "--out",
        ])
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    // Wait until the first chunk has been written, then interrupt.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !out.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let pid = child.id().to_string();
    std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(130));
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("manifest.json")).expect("manifest"),
    )
    .expect("json");
    assert_eq!(manifest["interrupted"], true);
    let done = manifest["completed_runs"].as_u64().expect("completed");
    assert!(done > 0 && done < 5_000_000);
    let rows = std::fs::read_to_string(out.join("runs.csv"))
        .expect("runs.csv")
        .lines()
        .count() as u64;
    assert_eq!(rows, 1 + 4 * done, "whole runs only");
}
