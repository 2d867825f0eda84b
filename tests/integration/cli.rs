//! The binary as a user drives it: outputs, exit codes and error messages.

use super::stdout_of;
use super::{rollsim, write};
use predicates::prelude::*;
use std::path::Path;

/// Runs `rollsim run` on a bad scenario: exit 2, the exact `file:line:col` message, and no
/// output directory created.
fn rejects(text: &str, line_col: &str, message: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = write(dir.path(), "bad.toml", text);
    let out = dir.path().join("out");
    let expected = format!("{}:{line_col}: ", f.display());
    for cmd in ["run", "validate"] {
        let mut c = rollsim();
        c.arg(cmd).arg(&f);
        if cmd == "run" {
            c.arg("--out").arg(&out);
        }
        c.assert()
            .code(2)
            .stderr(predicate::str::contains(expected.clone()))
            .stderr(predicate::str::contains(message))
            .stderr(predicate::str::contains("panicked").not());
    }
    assert!(!out.exists(), "no output may be written for a bad scenario");
}

#[test]
fn unknown_key_is_located() {
    rejects(
        "[service]\nrequest_rate = 10.0\nrequest_rat = 5\n",
        "3:1",
        "unknown field `request_rat`, expected one of",
    );
}

#[test]
fn a_misspelt_key_gets_the_nearest_spelling() {
    rejects(
        "[[policies]]\nname = \"x\"\nkind = \"threshold\"\nerror_rate_abov = 0.1\n",
        "4:1",
        "unknown field `error_rate_abov`; a `threshold` policy takes error_rate_above, latency_p99_above, window, for, requests_below, cpu_above, saturation_above, queue_above, min_requests, on_no_data, alarm_at_start, besides the keys of every policy",
    );
    rejects(
        "[service]\nrequest_rat = 5\n",
        "2:1",
        "did you mean `request_rate`?",
    );
}

#[test]
fn invalid_utf8_is_located_and_said_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("bad.toml");
    std::fs::write(&f, b"[service]\nname = \"caf\xE9\"\n").expect("write");
    let out = rollsim().arg("validate").arg(&f).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err,
        format!(
            "error: {}:2:12: invalid UTF-8 (byte 0xE9); expected a text file in UTF-8\n",
            f.display()
        )
    );
}

#[test]
fn wrong_type_is_located() {
    rejects(
        "[service]\nreplicas = \"ten\"\n",
        "2:12",
        "invalid type: string \"ten\", expected i64",
    );
}

#[test]
fn negative_rate_is_located() {
    rejects(
        "[service]\nrequest_rate = -3.0\n",
        "2:16",
        "service.request_rate = -3 is out of range; expected a number > 0",
    );
}

#[test]
fn probability_outside_unit_interval_is_located() {
    rejects(
        "[release]\nbad_probability = 1.5\n",
        "2:19",
        "release.bad_probability = 1.5 is not a probability; expected a number in [0, 1]",
    );
}

#[test]
fn canary_weights_must_reach_100() {
    rejects(
        "[rollout]\nstrategy = \"canary\"\nsteps = [\n  { weight = 10, pause = \"5m\" },\n  { weight = 50 },\n]\n",
        "5:14",
        "canary weights must reach 100; the last step sets 50",
    );
}

#[test]
fn unknown_policy_kind_is_located() {
    rejects(
        "[[policies]]\nname = \"x\"\nkind = \"treshold\"\n",
        "3:8",
        "unknown variant `treshold`, expected one of `none`, `oracle`, `threshold`, `consecutive`",
    );
}

#[test]
fn parameters_of_another_kind_are_rejected() {
    rejects(
        "[[policies]]\nname = \"x\"\nkind = \"consecutive\"\nfailures = 3\n\n[[policies]]\nname = \"y\"\nkind = \"none\"\nfailures = 2\n",
        "9:12",
        "`failures` does not apply to kind `none`",
    );
}

#[test]
fn bad_duration_is_located() {
    rejects(
        "[health_check]\ninterval = \"10 parsecs\"\n",
        "2:12",
        "invalid duration \"10 parsecs\"",
    );
}

#[test]
fn ambiguous_capital_m_duration_is_rejected_with_its_place() {
    rejects(
        "[simulation]\nduration = \"4h\"\n\n[[policies]]\nname = \"gate\"\nkind = \"threshold\"\nerror_rate_above = 0.02\nwindow = \"5M\"\n",
        "8:10",
        "duration \"5M\" has the ambiguous unit \"M\" (minutes or months?)",
    );
}

#[test]
fn absurd_duration_is_rejected_not_overflowed() {
    rejects(
        "[simulation]\nduration = \"500000 years\"\n",
        "2:12",
        "is too long; expected at most 10 years",
    );
}

#[test]
fn new_version_must_read_what_the_old_one_writes() {
    rejects(
        "[data.old]\nreads = [\"v1\"]\nwrites = \"v1\"\n\n[data.new]\nreads = [\"v2\"]\nwrites = \"v2\"\n",
        "6:9",
        "the new version reads none of what the old version writes (\"v1\"); expected `reads` to include \"v1\"",
    );
}

#[test]
fn contract_before_its_expand_is_rejected() {
    rejects(
        "[data.new]\nreads = [\"v1\", \"v2\"]\nwrites = \"v1\"\n\n[[data.migrations]]\nkind = \"contract\"\ndrops = \"v1\"\ninto = \"v2\"\nat = \"30m\"\n\n[[data.migrations]]\nkind = \"expand\"\nadds = \"v2\"\nat = \"2h\"\n",
        "8:8",
        "contract into \"v2\" comes before the expand that adds it; expected expand, then contract",
    );
}

#[test]
fn migration_order_that_cannot_be_applied_is_rejected() {
    // A backfill into v2 coupled to the release, while v2 is only added two hours later.
    rejects(
        "[data.new]\nreads = [\"v1\", \"v2\"]\nwrites = \"v1\"\n\n[[data.migrations]]\nkind = \"backfill\"\nfrom = \"v1\"\nto = \"v2\"\n\n[[data.migrations]]\nkind = \"expand\"\nadds = \"v2\"\nat = \"3h\"\n",
        "8:6",
        "backfill uses format \"v2\" before its expand",
    );
    // New code that writes a format no migration has added by the time it deploys.
    rejects(
        "[data.new]\nreads = [\"v1\", \"v2\"]\nwrites = \"v2\"\n",
        "3:10",
        "the new version writes \"v2\" before any migration adds it",
    );
}

#[test]
fn on_unknown_shares_must_sum_to_one() {
    rejects(
        "[data.old]\nreads = [\"v1\"]\nwrites = \"v1\"\non_unknown = { error = 0.5, misread = 0.4 }\n",
        "4:14",
        "on_unknown shares sum to 0.9",
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = write(
        dir.path(),
        "two.toml",
        "[service]\nbaseline_error_rate = 2.0\n[health_check]\nfalse_failure_probability = -0.1\n",
    );
    rollsim()
        .arg("validate")
        .arg(&f)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            ":2:23: service.baseline_error_rate = 2",
        ))
        .stderr(predicate::str::contains(
            ":4:29: health_check.false_failure_probability = -0.1",
        ));
}

#[test]
fn missing_scenario_is_a_one_line_error() {
    let out = rollsim()
        .args([
            "run",
            "no/such/file.toml",
            "--out",
            "/tmp/never-written-rollsim",
        ])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).expect("utf8");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot read scenario no/such/file.toml"));
    assert!(!Path::new("/tmp/never-written-rollsim").exists());
}

#[test]
fn bad_flag_values_are_rejected_by_name() {
    rollsim()
        .args(["run", "scenarios/quickstart.toml", "--runs", "0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--runs"));
    rollsim()
        .args(["run", "scenarios/quickstart.toml", "--seed", "abc"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--seed"));
}

#[test]
fn non_empty_output_is_not_overwritten_without_force() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("mkdir");
    std::fs::write(out.join("keep.txt"), "mine").expect("write");
    rollsim()
        .args([
            "run",
            "scenarios/quickstart.toml",
            "--runs",
            "3",
            "--seed",
            "1",
            "--out",
        ])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not empty").and(predicate::str::contains("--force")));
    assert!(!out.join("runs.csv").exists());
    rollsim()
        .args([
            "run",
            "scenarios/quickstart.toml",
            "--runs",
            "3",
            "--seed",
            "1",
            "--force",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    assert!(out.join("runs.csv").exists());
    assert_eq!(
        std::fs::read_to_string(out.join("keep.txt")).expect("kept"),
        "mine"
    );
}

#[test]
fn unwritable_output_is_a_one_line_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").expect("write");
    let out = rollsim()
        .args(["run", "scenarios/quickstart.toml", "--runs", "2", "--out"])
        .arg(file.join("sub"))
        .assert()
        .failure()
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).expect("utf8");
    assert!(err.contains("cannot use output directory"), "{err}");
    assert_eq!(err.lines().filter(|l| l.starts_with("error")).count(), 1);
    assert!(!err.contains("panicked"));
}

#[test]
fn run_writes_runs_summary_and_manifest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("qs");
    rollsim()
        .args([
            "run",
            "scenarios/quickstart.toml",
            "--runs",
            "50",
            "--seed",
            "42",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("false_positive_rollbacks"))
        .stdout(predicate::str::contains("reproduce with:"));

    let runs = std::fs::read_to_string(out.join("runs.csv")).expect("runs.csv");
    let header = runs.lines().next().expect("header");
    for col in [
        "run",
        "seed",
        "policy",
        "release_bad",
        "rollbacks",
        "false_positive_rollbacks",
        "true_positive_rollbacks",
        "missed_bad_release",
        "rollback_loops",
        "downtime_s",
        "failed_requests",
        "total_requests",
        "time_to_detect_s",
        "time_to_recover_s",
    ] {
        assert!(header.split(',').any(|c| c == col), "runs.csv lacks {col}");
    }
    assert_eq!(runs.lines().count(), 1 + 50 * 4);
    // A good release has no time to detect: the cell is empty.
    let cols: Vec<&str> = header.split(',').collect();
    let detect = cols
        .iter()
        .position(|c| *c == "time_to_detect_s")
        .expect("column");
    let good = runs
        .lines()
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|cells| cells[3] == "false")
        .expect("a good release");
    assert_eq!(good[detect], "", "{good:?}");

    let summary = std::fs::read_to_string(out.join("summary.csv")).expect("summary.csv");
    assert!(summary.starts_with("policy,metric,mean,ci95_low,ci95_high,n\n"));
    // No false positive in 50 runs: the exact Poisson interval [0, -ln(0.025) / 50].
    let row = summary
        .lines()
        .find(|l| l.starts_with("oracle,false_positive_rollbacks,"))
        .expect("oracle row");
    let cells: Vec<&str> = row.split(',').collect();
    assert_eq!(&cells[2..4], ["0.0", "0.0"], "{row}");
    let high: f64 = cells[4].parse().expect("ci95_high");
    assert!((high - -(0.025f64.ln()) / 50.0).abs() < 1e-9, "{row}");
    assert_eq!(cells[5], "50", "{row}");

    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("manifest.json")).expect("manifest"),
    )
    .expect("json");
    assert_eq!(manifest["seed"], 42);
    assert_eq!(manifest["runs"], 50);
    assert_eq!(manifest["rollsim_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest["scenario_sha256"].as_str().map(str::len), Some(64));
    assert!(manifest["command"]
        .as_str()
        .expect("command")
        .contains("--seed 42"));
}

#[test]
fn json_summary_has_stable_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = rollsim()
        .args([
            "run",
            "scenarios/quickstart.toml",
            "--runs",
            "20",
            "--seed",
            "3",
            "--json",
            "--out",
        ])
        .arg(dir.path().join("j"))
        .assert()
        .success()
        .get_output()
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let m = &v["policies"]["none"]["rollbacks"];
    assert_eq!(m["mean"], 0.0);
    assert!(m["ci95_low"].is_number() && m["ci95_high"].is_number());
    assert!(
        v["policies"]["oracle"]["time_to_detect_s"]["mean"].is_number()
            || v["policies"]["oracle"]["time_to_detect_s"]["n"] == 0
    );
}

#[test]
fn no_arguments_runs_the_demo_and_says_where() {
    let dir = tempfile::tempdir().expect("tempdir");
    rollsim()
        .current_dir(dir.path())
        .assert()
        .success()
        .stderr(predicate::str::contains("rollsim-demo"));
    assert!(dir.path().join("rollsim-demo/runs.csv").exists());
    // Running it again replaces its own output.
    rollsim().current_dir(dir.path()).assert().success();
}

#[test]
fn validate_accepts_every_shipped_scenario() {
    let mut n = 0;
    for entry in std::fs::read_dir("scenarios").expect("scenarios/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            rollsim()
                .arg("validate")
                .arg(&path)
                .assert()
                .success()
                .stdout(predicate::str::contains(": ok"));
            n += 1;
        }
    }
    assert!(n >= 1);
}

#[cfg(unix)]
#[test]
fn outputs_are_readable_by_others() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("o");
    rollsim()
        .args([
            "run",
            "scenarios/quickstart.toml",
            "--runs",
            "3",
            "--seed",
            "1",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    for f in ["runs.csv", "summary.csv", "manifest.json", "report.html"] {
        let mode = std::fs::metadata(out.join(f))
            .expect(f)
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o644, "{f}");
    }
}

/// Every subcommand of `rollsim`, for the tests that hold each one's help to a rule.
const SUBCOMMANDS: [&str; 16] = [
    "run",
    "compare",
    "sweep",
    "tune",
    "export",
    "trace",
    "train",
    "gameday",
    "merge",
    "replay",
    "calibrate",
    "validate",
    "report",
    "import",
    "completions",
    "man",
];

#[test]
fn every_subcommand_help_ends_with_an_example() {
    let top = stdout_of(&["--help"]);
    assert!(top.contains("Examples:\n  rollsim run "), "{top}");
    for name in SUBCOMMANDS {
        let help = stdout_of(&[name, "--help"]);
        assert!(
            help.contains("\nExamples:\n  rollsim "),
            "{name} --help:\n{help}"
        );
    }
}

#[test]
fn every_help_fits_100_columns_whatever_the_terminal() {
    // Help is wrapped at the width of every other printout: a wide or narrow COLUMNS (or
    // none, as under a pipe) changes nothing.
    let mut commands: Vec<Vec<&str>> = vec![vec!["--help"], vec!["-h"]];
    for name in SUBCOMMANDS {
        commands.push(vec![name, "--help"]);
        commands.push(vec![name, "-h"]);
    }
    for args in commands {
        let mut outputs = Vec::new();
        for columns in ["40", "100", "250"] {
            let out = assert_cmd::Command::cargo_bin("rollsim")
                .expect("binary")
                .env("COLUMNS", columns)
                .args(&args)
                .assert()
                .success()
                .get_output()
                .stdout
                .clone();
            outputs.push(String::from_utf8(out).expect("utf-8"));
        }
        let help = &outputs[0];
        assert!(
            outputs.iter().all(|o| o == help),
            "{args:?}: depends on COLUMNS"
        );
        for line in help.lines() {
            assert!(
                line.chars().count() <= 100,
                "{args:?}: a line of {} columns:\n{line}",
                line.chars().count()
            );
        }
    }
}

#[test]
fn completions_and_man_page_are_generated() {
    for (shell, marker) in [
        ("bash", "_rollsim()"),
        ("zsh", "#compdef rollsim"),
        ("fish", "complete -c rollsim"),
    ] {
        let text = stdout_of(&["completions", shell]);
        assert!(
            text.contains(marker),
            "{shell}: {}",
            &text[..text.len().min(300)]
        );
        assert!(
            text.contains("compare"),
            "{shell} completes the subcommands"
        );
    }
    let page = stdout_of(&["man"]);
    assert!(page.contains(".TH rollsim 1"), "{page}");
    assert!(
        page.contains(".SH \"ROLLSIM RUN\""),
        "a section per subcommand"
    );
    assert!(page.contains("\\-\\-objective"), "options are listed");
    // The list of subcommands points to their sections of this page, not to pages such
    // as rollsim-run(1) that are not installed.
    assert!(
        page.contains(".TP\n\\fBrollsim run\\fR\n"),
        "subcommands listed: {page}"
    );
    assert!(page.contains("(section ROLLSIM RUN below)"), "{page}");
    assert!(!page.contains("(1)"), "no page of its own is named: {page}");
    rollsim().args(["completions", "tcsh"]).assert().code(2);
}

#[test]
fn every_command_that_draws_a_progress_bar_takes_quiet() {
    // run, compare, sweep and train share the flag group that has `--quiet`; tune has its
    // own. Each says what it does in its help.
    for cmd in ["run", "compare", "sweep", "train", "tune"] {
        let help = stdout_of(&[cmd, "--help"]);
        assert!(
            help.contains("--quiet") && help.contains("Show no progress bar"),
            "{cmd} --help:\n{help}"
        );
    }
}

#[test]
fn a_huge_noise_sd_is_located_and_refused() {
    // The drift's sd: its square overflows past about 1e154 (the multiplier would be NaN),
    // and 5 already puts the multiplier's median at exp(-12.5).
    for (v, shown) in [("1e300", "1e300"), ("5.5", "5.5"), ("inf", "inf")] {
        rejects(
            &format!("[signals]\nnoise_sd = {v}\n"),
            "2:12",
            &format!("signals.noise_sd = {shown} is out of range; expected a number from 0 to 5"),
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let f = write(dir.path(), "ok.toml", "[signals]\nnoise_sd = 5.0\n");
    rollsim().arg("validate").arg(&f).assert().success();
}

#[test]
fn a_run_without_a_seed_names_the_seed_it_drew_and_that_seed_reproduces_it() {
    // The note fits 100 columns whatever the seed (20 digits at most), and the manifest's
    // command carries the same seed.
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let out = rollsim()
        .args([
            "run",
            "scenarios/quickstart.toml",
            "--runs",
            "20",
            "--quiet",
            "--out",
        ])
        .arg(&a)
        .output()
        .expect("run");
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).expect("UTF-8");
    let note = stderr
        .lines()
        .find(|l| l.starts_with("rollsim: no --seed given, drew "))
        .unwrap_or_else(|| panic!("no seed note in:\n{stderr}"));
    let seed = note
        .rsplit("--seed ")
        .next()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no seed in {note:?}"));
    assert!(
        note.len() - seed.to_string().len() * 2 + 40 <= 100,
        "{note}"
    );
    let manifest = std::fs::read_to_string(a.join("manifest.json")).expect("manifest");
    assert!(manifest.contains(&format!("--seed {seed}")), "{manifest}");
    rollsim()
        .args([
            "run",
            "scenarios/quickstart.toml",
            "--runs",
            "20",
            "--quiet",
        ])
        .args(["--seed", &seed.to_string(), "--out"])
        .arg(&b)
        .assert()
        .success();
    let runs = |d: &Path| std::fs::read(d.join("runs.csv")).expect("runs.csv");
    assert_eq!(runs(&a), runs(&b));
}

/// `rollsim trace`'s heading says its durations as every message does (`11m 15s`, not
/// `675 s`), a rollback in the singular, and no timeline line ends in blanks.
#[test]
fn a_traces_heading_and_timeline_read_as_the_other_messages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = rollsim()
        .args(["trace", "scenarios/manual-checkpoint-fatigued.toml"])
        .args([
            "--policy",
            "human-checkpoint",
            "--run",
            "1",
            "--seed",
            "42",
            "--out",
        ])
        .arg(dir.path().join("t"))
        .assert()
        .success();
    let text = String::from_utf8(a.get_output().stdout.clone()).expect("utf-8");
    assert!(
        text.starts_with(
            "run 1 of scenarios/manual-checkpoint-fatigued.toml with policy human-checkpoint \
             (seed 42): release\nbad, 1 rollback, 11m 15s downtime, 12368 of 5183647 requests \
             failed\n  16:00:00  deploy         attempt 1\n"
        ),
        "{text}"
    );
    assert!(text.contains("  16:01:45  page           rule fired; answered after 24m 28s 820ms\n"));
    assert!(text.contains("\n  16:26:13  human_acts\n"), "{text}");
    assert!(text.lines().all(|l| l == l.trim_end()), "{text}");
}
