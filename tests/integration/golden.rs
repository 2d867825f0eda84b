//! The safety net for reshaping the engine: every shipped scenario, run with a fixed seed,
//! gives byte-identical `runs.csv` and `summary.csv`, and the traced timeline of every
//! policy on its first bad release (`trace.csv`, `events.csv`) is byte-identical too (their
//! SHA-256 are pinned in `tests/data/golden-outputs.txt`).
//!
//! A change meant to keep behaviour must leave this test green. A change of results on
//! purpose re-blesses the file in its own commit, saying why:
//! `ROLLSIM_BLESS=1 cargo test --test integration golden`.

use assert_cmd::Command;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::Path;

const PINNED: &str = "tests/data/golden-outputs.txt";
const RUNS: &str = "200";
const SEED: &str = "5";

fn sha256_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(64);
    for b in Sha256::digest(bytes) {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Every `scenarios/*.toml`, sorted by name.
fn shipped_scenarios() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir("scenarios")
        .expect("scenarios/")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    names
}

/// A release train's outputs (`rollsim train`, fewer runs: each is weeks of releases); a
/// system's train adds each service's rows.
fn train_hashes_of(scenario: &str, dir: &Path) -> String {
    let out = dir.join(scenario.trim_end_matches(".toml"));
    Command::cargo_bin("rollsim")
        .expect("binary")
        .args(["train", &format!("scenarios/{scenario}")])
        .args(["--runs", "20", "--seed", SEED, "--out"])
        .arg(&out)
        .assert()
        .success();
    let mut lines = String::new();
    for file in [
        "train-runs.csv",
        "weekly.csv",
        "train-summary.csv",
        "train-services.csv",
    ] {
        // A system's train alone writes each service's rows.
        let Ok(bytes) = std::fs::read(out.join(file)) else {
            assert_eq!(file, "train-services.csv", "{scenario}: {file} not written");
            continue;
        };
        let _ = writeln!(lines, "{scenario} {file} {}", sha256_hex(&bytes));
    }
    lines
}

/// The fleet (300 services for a week, 6,300 service-days a run) is pinned on one run, its
/// traces left out: each would simulate the week again.
const FLEET: &str = "fleet-week.toml";

fn hashes_of(scenario: &str, dir: &Path) -> String {
    let text = std::fs::read_to_string(format!("scenarios/{scenario}")).expect("scenario");
    if text.lines().any(|l| l.trim() == "[train]") {
        return train_hashes_of(scenario, dir);
    }
    let out = dir.join(scenario.trim_end_matches(".toml"));
    let runs = if scenario == FLEET { "1" } else { RUNS };
    Command::cargo_bin("rollsim")
        .expect("binary")
        .args(["run", &format!("scenarios/{scenario}"), "--quiet"])
        .args(["--runs", runs, "--seed", SEED, "--out"])
        .arg(&out)
        .assert()
        .success();
    let mut lines = String::new();
    for file in ["runs.csv", "summary.csv"] {
        let bytes = std::fs::read(out.join(file)).expect(file);
        let _ = writeln!(lines, "{scenario} {file} {}", sha256_hex(&bytes));
    }
    if scenario == FLEET {
        return lines;
    }
    // The timeline of every policy on the first bad release (or run 0 when none is bad).
    let runs = std::fs::read_to_string(out.join("runs.csv")).expect("runs.csv");
    let rows: Vec<Vec<&str>> = runs
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let bad_run = rows
        .iter()
        .find(|r| r.get(3) == Some(&"true"))
        .and_then(|r| r.first())
        .copied()
        .unwrap_or("0");
    let mut policies: Vec<&str> = Vec::new();
    for r in &rows {
        if let Some(p) = r.get(2) {
            if !policies.contains(p) {
                policies.push(p);
            }
        }
    }
    for policy in policies {
        let traced = dir.join(format!("{}-{policy}", scenario.trim_end_matches(".toml")));
        Command::cargo_bin("rollsim")
            .expect("binary")
            .args([
                "trace",
                &format!("scenarios/{scenario}"),
                "--policy",
                policy,
            ])
            .args(["--run", bad_run, "--seed", SEED, "--out"])
            .arg(&traced)
            .assert()
            .success();
        for file in ["trace.csv", "events.csv"] {
            let bytes = std::fs::read(traced.join(file)).expect(file);
            let _ = writeln!(
                lines,
                "{scenario} run{bad_run} {policy} {file} {}",
                sha256_hex(&bytes)
            );
        }
    }
    lines
}

#[test]
fn every_shipped_scenario_gives_its_pinned_outputs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scenarios = shipped_scenarios();
    assert!(scenarios.len() >= 10, "shipped scenarios: {scenarios:?}");
    let got: String = scenarios.iter().map(|s| hashes_of(s, dir.path())).collect();
    if std::env::var_os("ROLLSIM_BLESS").is_some() {
        std::fs::write(PINNED, &got).expect("bless");
    }
    let want = std::fs::read_to_string(PINNED).expect("pinned outputs");
    let differ: Vec<&str> = got
        .lines()
        .filter(|l| !want.lines().any(|w| w == *l))
        .collect();
    assert!(
        differ.is_empty() && got == want,
        "outputs changed (seed {SEED}, {RUNS} runs):\n{}\nif intended, rerun with ROLLSIM_BLESS=1 \
         and say why in the commit",
        differ.join("\n")
    );
}
