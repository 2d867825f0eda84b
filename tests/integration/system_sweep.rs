//! `sweep` on a system of services: a point's rows are exactly `rollsim run` of the
//! edited scenario (system row and every service's), byte-identical across threads and
//! shards, resumable, and a `--param` naming no service is refused with the names it could
//! have meant.

use super::rollsim;
use predicates::prelude::*;
use rollsim::experiment::sweep::SweepRow;
use rollsim::outcome::RunRecord;
use rollsim::report::rows::{self, SummaryRow};
use std::path::Path;

const SCENARIO: &str = "scenarios/checkout-payments-ledger.toml";

/// `rollsim sweep` of the checkout system over `param`, 8 runs a point on seed 3.
fn sweep(out: &Path, param: &str, threads: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
    rollsim()
        .env("RAYON_NUM_THREADS", threads)
        .args(["sweep", SCENARIO, "--runs", "8", "--seed", "3", "--quiet"])
        .args(["--param", param, "--out"])
        .arg(out)
        .args(extra)
        .assert()
}

fn sweep_rows(dir: &Path) -> Vec<SweepRow> {
    match rows::read::<SweepRow>(&dir.join("sweep.csv")) {
        Ok(r) => r.into_iter().map(|(_, r)| r).collect(),
        Err(e) => panic!("{e}"),
    }
}

/// Each point of a sweep over `path` equals `rollsim run` of the scenario with that value
/// written in: every summary row (the system's `policy`, each service's `policy@service`)
/// has the sweep's mean, interval and n, and every sweep row the summary lacks has no run
/// with a value.
fn points_equal_runs_of_the_edited_scenario(path: &str, values: &[f64]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sweep");
    let list: Vec<String> = values.iter().map(f64::to_string).collect();
    sweep(&out, &format!("{path}={}", list.join(",")), "2", &[]).success();
    let all = sweep_rows(&out);
    let text = std::fs::read_to_string(SCENARIO).expect("scenario");
    for (i, v) in values.iter().enumerate() {
        let edited = match rollsim::scenario::edit::set_number(&text, path, *v) {
            Ok(t) => t,
            Err(e) => panic!("{path}={v}: {e}"),
        };
        let file = dir.path().join(format!("point{i}.toml"));
        std::fs::write(&file, edited).expect("edited scenario");
        let run = dir.path().join(format!("run{i}"));
        rollsim()
            .args(["run", "--runs", "8", "--seed", "3", "--quiet"])
            .arg(&file)
            .arg("--out")
            .arg(&run)
            .assert()
            .success();
        let summary: Vec<SummaryRow> = match rows::read::<SummaryRow>(&run.join("summary.csv")) {
            Ok(r) => r.into_iter().map(|(_, r)| r).collect(),
            Err(e) => panic!("{e}"),
        };
        let point: Vec<&SweepRow> = all.iter().filter(|r| r.point == i as u64).collect();
        let metrics = RunRecord::METRICS.len() + RunRecord::SYSTEM_METRICS.len();
        assert_eq!(
            point.len(),
            5 * 4 * metrics,
            "{path}={v}: 5 policies x 4 rows x every metric"
        );
        for s in &summary {
            let r = point
                .iter()
                .find(|r| r.series() == s.policy && r.metric == s.metric)
                .unwrap_or_else(|| {
                    panic!("{path}={v}: no sweep row for {} {}", s.policy, s.metric)
                });
            assert_eq!(
                (r.mean, r.ci95_low, r.ci95_high, r.n),
                (s.mean, s.ci95_low, s.ci95_high, s.n),
                "{path}={v}: {} {}",
                s.policy,
                s.metric
            );
        }
        for r in &point {
            if !summary
                .iter()
                .any(|s| s.policy == r.series() && s.metric == r.metric)
            {
                assert_eq!((r.n, r.mean), (0, None), "{path}={v}: {r:?}");
            }
        }
    }
}

#[test]
fn a_point_of_a_service_key_equals_a_run_of_the_edited_scenario() {
    points_equal_runs_of_the_edited_scenario(
        "services.payments.release.bad_probability",
        &[0.1, 0.6],
    );
}

/// A policy's key: the second point simulates only that policy again (in every service)
/// and takes the others' estimates from the first.
#[test]
fn a_point_of_a_policy_key_equals_a_run_of_the_edited_scenario() {
    points_equal_runs_of_the_edited_scenario("policies.p99-600ms.latency_p99_above", &[0.4, 0.9]);
}

#[test]
fn a_system_sweep_is_byte_identical_across_threads_and_shards_and_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let param = "policies.dependency-aware.hold_on_dependency=600,2700,5400";
    let one = dir.path().join("one");
    let two = dir.path().join("two");
    sweep(&one, param, "1", &[]).success();
    sweep(&two, param, "2", &[]).success();
    let whole = std::fs::read_to_string(one.join("sweep.csv")).expect("sweep.csv");
    assert!(
        whole.starts_with("point,param,value,param2,value2,policy,service,metric,"),
        "{}",
        whole.lines().next().unwrap_or_default()
    );
    assert!(whole.contains(",dependency-aware,payments,wrong_service_rollbacks,"));
    assert_eq!(
        std::fs::read(two.join("sweep.csv")).expect("two"),
        whole.as_bytes()
    );

    let mut shards = Vec::new();
    for i in 0..2 {
        let d = dir.path().join(format!("s{i}"));
        sweep(&d, param, "2", &["--shard", &format!("{i}/2")]).success();
        shards.push(d);
    }
    let merged = dir.path().join("merged");
    rollsim()
        .arg("merge")
        .args(&shards)
        .arg("--out")
        .arg(&merged)
        .assert()
        .success();
    assert_eq!(
        std::fs::read(merged.join("sweep.csv")).expect("merged"),
        whole.as_bytes()
    );

    // The last point's last row cut: the point has too few rows, runs again, and the file
    // ends as it was.
    let cut = whole.trim_end_matches('\n');
    let cut = &cut[..cut.rfind('\n').map_or(0, |i| i + 1)];
    std::fs::write(one.join("sweep.csv"), cut).expect("cut");
    sweep(&one, param, "1", &["--resume"])
        .success()
        .stderr(predicate::str::contains(
            "resuming: 2 of 3 points already done",
        ));
    assert_eq!(
        std::fs::read_to_string(one.join("sweep.csv")).expect("resumed"),
        whole
    );
}

#[test]
fn a_param_naming_no_service_is_refused_with_the_services_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sweep");
    sweep(&out, "services.paymnts.release.bad_probability=0.1,0.2", "1", &[])
        .code(2)
        .stderr(predicate::str::contains(
            "--param services.paymnts.release.bad_probability: path \"services.paymnts.release.bad_probability\": \
             no element of `services` is named \"paymnts\"; expected an index or one of checkout, payments, ledger",
        ));
    assert!(!out.exists(), "nothing written");
}

#[test]
fn the_report_draws_the_system_and_the_swept_service() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sweep");
    sweep(
        &out,
        "services.payments.release.bad_probability=0.1,0.6",
        "2",
        &[],
    )
    .success();
    rollsim().arg("report").arg(&out).assert().success();
    let md = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    assert!(
        md.contains("Sweep over services.payments.release.bad_probability: the system"),
        "{md}"
    );
    assert!(
        md.contains("Sweep over services.payments.release.bad_probability: payments"),
        "{md}"
    );
    // A system's sweep charts the wrong-service rollbacks beside the usual outcomes.
    assert!(md.contains("Wrong-service rollbacks (per run)"), "{md}");
    assert!(
        out.join("charts/sweep.svg").exists() && out.join("charts/sweep-payments.svg").exists()
    );
}
