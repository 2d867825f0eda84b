//! `--assert` through the binary: the line per assertion, exit 0 when every gate holds,
//! 3 when one fails (outputs written), 2 for a malformed one (nothing written), and the
//! upper bound against the mean.

use super::rollsim;
use predicates::prelude::*;

/// Healthy and bad releases (half each) behind a flaky probe (q = 0.2, 60 checks in the
/// bake): a `consecutive` rule with k failures rolls back a good release with probability
/// 0.5 * P(a run of k failures in 60 checks).
pub const PROBES: &str = r#"
[simulation]
duration = "2h"
runs = 400
[service]
baseline_error_rate = 0.0
[signals]
noise_sd = 0.0
[health_check]
interval = "10s"
timeout = "30s"
false_failure_probability = 0.2
[release]
at = "1h"
bad_probability = 0.5
bake = "10m"
[release.bad]
error_rate = 1.0
[[policies]]
name = "k3"
kind = "consecutive"
failures = 3
[[policies]]
name = "k5"
kind = "consecutive"
failures = 5
"#;

fn setup() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("probes.toml");
    std::fs::write(&f, PROBES).expect("write");
    (dir, f)
}

/// The estimate of a policy's metric in the scenario, as `run` computes it.
fn estimate(policy: &str, metric: &str, runs: u64) -> rollsim::experiment::stats::Estimate {
    let s = super::scenario(PROBES);
    let opts = rollsim::experiment::Options::new(7, 0..runs);
    let r = rollsim::experiment::run(&s, &opts, |_| Ok::<(), ()>(())).expect("run");
    let p = r
        .summary
        .policies
        .iter()
        .find(|p| p.policy == policy)
        .expect("policy");
    p.metrics
        .iter()
        .find(|(m, _)| *m == metric)
        .map(|(_, e)| *e)
        .expect("metric")
}

#[test]
fn a_holding_gate_exits_0_and_a_failing_one_3_with_outputs_written() {
    let (dir, f) = setup();
    let out = dir.path().join("ok");
    rollsim()
        .args(["run", "--seed", "7", "--quiet", "--out"])
        .arg(&out)
        .arg(&f)
        .args(["--assert", "false_positive_rollbacks@k5 <= 0.05"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "✓ false_positive_rollbacks@k5 <= 0.05: upper 95% bound",
        ));
    let out = dir.path().join("fail");
    rollsim()
        .args(["compare", "--seed", "7", "--quiet", "--out"])
        .arg(&out)
        .arg(&f)
        .args(["--assert", "false_positive_rollbacks@k5 <= 0.05"])
        .args(["--assert", "false_positive_rollbacks@k3 <= 0.05"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains(
            "✓ false_positive_rollbacks@k5 <= 0.05",
        ))
        .stdout(predicate::str::contains(
            "✗ false_positive_rollbacks@k3 <= 0.05",
        ))
        .stderr(predicate::str::contains(
            "error: 1 of 2 assertions failed: false_positive_rollbacks@k3 <= 0.05",
        ));
    assert!(out.join("runs.csv").exists() && out.join("summary.csv").exists());
}

#[test]
fn a_malformed_gate_is_a_flag_error_and_nothing_is_written() {
    let (dir, f) = setup();
    let out = dir.path().join("out");
    for (bad, why) in [
        (
            "false_positive_rollbacks <= 0.05",
            "which policy's false_positive_rollbacks?",
        ),
        (
            "false_positives@k3 <= 0.05",
            "\"false_positives\" is not a metric",
        ),
        ("downtime_s@k3 = 5", "unknown comparison \"=\""),
        (
            "downtime_s@k9 <= 5",
            "\"k9\" is not a policy of this scenario",
        ),
    ] {
        rollsim()
            .args(["run", "--quiet", "--out"])
            .arg(&out)
            .arg(&f)
            .args(["--assert", bad])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "error: --assert {bad:?}: {why}"
            )))
            .stderr(predicate::str::contains(
                "expected METRIC[@POLICY] OP NUMBER",
            ));
        assert!(!out.exists(), "nothing is written for {bad:?}");
    }
}

#[test]
fn the_gate_judges_the_upper_bound_unless_told_to_judge_the_mean() {
    let (dir, f) = setup();
    let e = estimate("k3", "false_positive_rollbacks", 400);
    // A limit between the mean and the upper bound: the mean passes, the bound does not.
    let limit = (e.mean + e.ci95_high) / 2.0;
    let gate = format!("false_positive_rollbacks@k3 <= {limit}");
    rollsim()
        .args(["run", "--seed", "7", "--quiet", "--format", "csv", "--out"])
        .arg(dir.path().join("bound"))
        .arg(&f)
        .args(["--assert", &gate])
        .assert()
        .code(3)
        // Machine formats keep stdout clean: the lines go to stderr.
        .stderr(predicate::str::contains(format!(
            "✗ {gate}: upper 95% bound {:.4} (mean {:.4})",
            e.ci95_high, e.mean
        )));
    rollsim()
        .args(["run", "--seed", "7", "--quiet", "--out"])
        .arg(dir.path().join("mean"))
        .arg(&f)
        .args(["--assert", &gate, "--assert-on", "mean"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(format!(
            "✓ {gate}: mean {:.4}",
            e.mean
        )));
}

#[test]
fn a_sweep_gate_is_judged_at_the_recommended_point() {
    let (dir, f) = setup();
    let out = dir.path().join("sweep");
    let a = rollsim()
        .args(["sweep", "--seed", "7", "--quiet", "--runs", "300", "--out"])
        .arg(&out)
        .arg(&f)
        .args(["--param", "policies.k3.failures=3,4,5,6"])
        .args([
            "--objective",
            "min downtime_s s.t. false_positive_rollbacks <= 0.05",
        ])
        .args(["--assert", "false_positive_rollbacks <= 0.05"])
        .args(["--assert", "downtime_s <= 1"])
        .assert()
        .code(3);
    let rec: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("recommendation.json")).expect("recommendation"),
    )
    .expect("json");
    let at = format!(
        "at the recommended policies.k3.failures = {}",
        rec["value"].as_f64().expect("a value")
    );
    let stdout = String::from_utf8_lossy(&a.get_output().stdout).to_string();
    assert!(
        stdout.contains(&format!(
            "✓ false_positive_rollbacks@k3 <= 0.05 {at}: upper 95% bound"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("✗ downtime_s@k3 <= 1 {at}")),
        "{stdout}"
    );
}
