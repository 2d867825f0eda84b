//! Regression tests for inputs that a round of fuzzing (mutated shipped scenarios,
//! recordings, game-day scripts and flags) found mishandled: each bad input is refused
//! with its `file:line:col` (or the flag), what was expected, exit code 2 and nothing
//! written.

use super::stdout_of;
use super::{rollsim, write};
use predicates::prelude::*;

/// The quickstart scenario with `from` replaced by `to` (the edit must apply).
fn quickstart_with(from: &str, to: &str) -> String {
    shipped_with("quickstart.toml", from, to)
}

/// `validate` and `run` both refuse `text` with exactly `message` on one line of stderr,
/// prefixed by `error: FILE:`, with exit code 2, and `run` writes nothing.
fn refused(text: &str, message: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = write(dir.path(), "bad.toml", text);
    let out = dir.path().join("out");
    for cmd in ["validate", "run"] {
        let mut c = rollsim();
        c.arg(cmd).arg(&f);
        if cmd == "run" {
            c.args(["--runs", "2", "--seed", "1", "--quiet", "--out"])
                .arg(&out);
        }
        c.assert()
            .code(2)
            .stdout("")
            .stderr(format!("error: {}:{message}\n", f.display()));
    }
    assert!(!out.exists(), "nothing may be written for a bad scenario");
}

#[test]
fn validate_refuses_an_objective_that_names_no_metric() {
    refused(
        &quickstart_with("minimize = \"downtime_s\"", "minimize = \"downtime\""),
        "91:12: objective: \"downtime\" is not a metric; did you mean `downtime_s`?; expected one of \
         release_bad, deploy_attempts, rollbacks, false_positive_rollbacks, true_positive_rollbacks, \
         misattributed_rollbacks, missed_bad_release, rollback_loops, downtime_s, failed_requests, \
         total_requests, faults, time_to_detect_s, time_to_recover_s, roll_forwards, flags_off, \
         rollback_refused_unsafe, new_format_records, unreadable_reads, corrupted_records, \
         lost_writes, data_harm_detected_s, pages, human_minutes, rollbacks_suppressed",
    );
}

#[test]
fn validate_counts_one_fault_and_one_policy_in_the_singular() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = quickstart_with("[[policies]]\nname = \"none\"\nkind = \"none\"\n", "");
    let text = text
        .split("[[policies]]\nname = \"oracle\"")
        .next()
        .expect("head")
        .to_string()
        + "[[policies]]\nname = \"oracle\"\nkind = \"oracle\"\n";
    let f = write(dir.path(), "one.toml", &text);
    rollsim()
        .arg("validate")
        .arg(&f)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "ok (1 policy: oracle; 1 fault; 24h simulated per run)",
        ));
}

/// Every line of `text` fits 100 columns.
fn fits(text: &str) {
    for line in text.lines() {
        assert!(
            line.chars().count() <= 100,
            "a line over 100 columns ({}): {line}\n{text}",
            line.chars().count()
        );
    }
}

/// A virtual-time game whose script ends without `end`, and no HTTP server: nothing can
/// move the clock any more, so the game ends there (it used to wait forever).
#[test]
fn a_virtual_game_ends_when_its_script_ends_without_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = rollsim()
        .args([
            "gameday",
            "scenarios/gameday-checkout.toml",
            "--virtual",
            "--no-dashboard",
            "--seed",
            "6",
            "--pager",
            "error-rate-2pct",
            "--out",
        ])
        .arg(dir.path().join("game"))
        .write_stdin("advance 27m\nrollback\n")
        .timeout(std::time::Duration::from_secs(120))
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "no more commands can arrive (stdin closed, no --listen): ending the game as on `end`",
        ))
        .get_output()
        .clone();
    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    let stderr = String::from_utf8(output.stderr).expect("UTF-8");
    assert!(
        stdout.contains(
            "game over at 0:27:00 of game time (ended early; the rest of the horizon played out \
             untouched): the\nrelease was bad.\n\
             decided by      downtime   failed rollbacks false+ missed data harm   decide  recover pages\n\
             team             0:08:00     3553         1      0     no         0  0:02:00  0:02:00     0\n"
        ),
        "{stdout}"
    );
    // Every line the terminal shows fits 100 columns: the log (its status line, 136
    // columns in one line before, continues under its detail), the scorecard, the
    // standing and the replay command on stdout; the facilitator's command, the game's
    // messages and what was written on stderr.
    assert!(
        stdout.contains(
            "00:27:00  status         rolling 10% new | errors old 0.30% new 3.55% | p99 old 303ms new 256ms\n\
             \x20                        health 42 ok 0 failed | 0 open page(s)\n"
        ),
        "{stdout}"
    );
    fits(&stdout);
    fits(&stderr);
    assert!(dir.path().join("game/scorecard.csv").exists());
}

/// `replay`'s table has a row per policy and fits 100 columns, intervals left out from the
/// right and said so.
#[test]
fn the_replay_table_fits_100_columns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("replay");
    let stdout = stdout_of(&[
        "replay",
        "scenarios/replay/metrics.csv",
        "--labels",
        "scenarios/replay/labels.csv",
        "--policies",
        "scenarios/replay/policies.toml",
        "--reset",
        "decision",
        "--hold",
        "30m",
        "--out",
        out.to_str().expect("a UTF-8 path"),
    ]);
    fits(&stdout);
    assert!(
        stdout.starts_with(
            "replayed 1970-01-01T00:00:30Z to 1970-01-02T06:00:00Z (3574 scrapes, 26 lost; 0 health \
             checks); 1\ndeploy, 8 incidents\n\
             policy                              decisions   false+ decisions  missed incidents  detection delay\n"
        ),
        "{stdout}"
    );
    assert!(stdout.contains(
        "error-rate-2pct-5m          12.0 [12.0, 12.0]  2.00 [2.00, 2.00]             50.0%              12m\n"
    ));
    assert!(stdout.contains(
        "some intervals left out to fit 100 columns; summary.csv has them all\n\
         mean [95% CI] per deploy; missed incidents over incidents, detection delay over detected ones\n"
    ));
}

/// `rollsim ARGS` with its stdout (with `stderr`, its stderr instead, stdout going to
/// /dev/null) on a pipe whose reader is gone before it writes a byte, as under `rollsim
/// ... | head` once head has left: the exit code.
fn exit_code_with_closed_pipe(args: &str, stderr: bool) -> Option<i32> {
    let bin = assert_cmd::cargo::cargo_bin("rollsim");
    // `read` holds the command back until the test has dropped the pipe's reader (it
    // closes stdin after that), so the command meets a closed pipe, whatever the timing.
    let script = format!(
        "read _; exec \"$0\" {args}{}",
        if stderr {
            " 2>&1 >/dev/null"
        } else {
            " 2>/dev/null"
        }
    );
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(bin)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    drop(child.stdin.take());
    child.wait().expect("wait").code()
}

#[test]
fn a_closed_pipe_ends_every_command_quietly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    // clap's completion generator panicked on the failed write.
    assert_eq!(
        exit_code_with_closed_pipe("completions bash", false),
        Some(0)
    );
    assert_eq!(exit_code_with_closed_pipe("man", false), Some(0));
    let run = format!(
        "run scenarios/quickstart.toml --runs 2 --seed 1 --quiet --out {}",
        out.display()
    );
    // The reader leaving stops the table, not the command: every file it promises is
    // written, the report (built after the table) included.
    let promised = ["runs.csv", "summary.csv", "verdict.json", "report.html"];
    assert_eq!(exit_code_with_closed_pipe(&run, false), Some(0));
    for f in promised {
        assert!(out.join(f).exists(), "{f} with stdout closed");
    }
    // `eprintln!` panicked on a closed stderr (`2>&1 | head`, once the table was read).
    std::fs::remove_dir_all(&out).ok();
    assert_eq!(exit_code_with_closed_pipe(&run, true), Some(0));
    for f in promised {
        assert!(out.join(f).exists(), "{f} with stderr closed");
    }
    // A failed --assert keeps its exit code with the reader gone.
    std::fs::remove_dir_all(&out).ok();
    let gated = format!("{run} --assert 'failed_requests@none <= 1'");
    assert_eq!(exit_code_with_closed_pipe(&gated, false), Some(3));
    assert!(out.join("report.html").exists());
}

/// The commands that print after writing their files and build a report after printing
/// (game day, trace, replay) print as `run` does: the reader leaving (`| head -1`) stops
/// the text, not the command, which exits 0 with its report written. `println!` ended the
/// process at the first line, before the report.
#[test]
fn a_closed_pipe_stops_no_command_before_its_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            "gameday",
            // stdin is at its end: the game ends as on `end`, then prints its scorecard.
            "gameday scenarios/gameday-checkout.toml --virtual --seed 6 --no-dashboard",
            &[
                "scorecard.html",
                "scorecard.csv",
                "actions.csv",
                "trace.csv",
                "report.html",
            ][..],
        ),
        (
            "trace",
            "trace scenarios/quickstart.toml --run 0 --seed 1",
            &["trace.csv", "events.csv", "metrics.csv", "report.html"][..],
        ),
        (
            "replay",
            "replay scenarios/replay/metrics.csv --labels scenarios/replay/labels.csv \
             --policies scenarios/replay/policies.toml",
            &[
                "summary.csv",
                "decisions.csv",
                "manifest.json",
                "report.html",
            ][..],
        ),
    ];
    for (name, args, files) in cases {
        for stderr in [false, true] {
            let out = dir.path().join(format!("{name}-{stderr}"));
            let args = format!("{args} --out {}", out.display());
            assert_eq!(
                exit_code_with_closed_pipe(&args, stderr),
                Some(0),
                "{name}, stderr closed: {stderr}"
            );
            for f in files {
                assert!(
                    out.join(f).exists(),
                    "{name}: {f} (stderr closed: {stderr})"
                );
            }
        }
    }
    // `validate` and `report` print and exit 0 with the reader gone.
    assert_eq!(
        exit_code_with_closed_pipe("validate scenarios/quickstart.toml", false),
        Some(0)
    );
    let traced = dir.path().join("trace-false");
    std::fs::remove_file(traced.join("report.html")).expect("report.html");
    let report = format!("report {}", traced.display());
    assert_eq!(exit_code_with_closed_pipe(&report, false), Some(0));
    assert!(traced.join("report.html").exists());
}

/// No command prints with `println!` or `eprintln!` (which end the process at a closed
/// pipe, before the files printed after): they print through `cli::say` and `cli::note`,
/// and the game day through `gameday::ui::to_stderr`. `main` alone prints the final error.
#[test]
fn commands_print_only_through_say_note_and_to_stderr() {
    fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).expect("dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut all = Vec::new();
    files(std::path::Path::new("src/cli"), &mut all);
    files(std::path::Path::new("src/gameday"), &mut all);
    assert!(all.len() > 10, "{all:?}");
    for f in all {
        let text = std::fs::read_to_string(&f).expect("source");
        for (i, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            assert!(
                !code.contains("println!(") && !code.contains("print!("),
                "{}:{}: {line}",
                f.display(),
                i + 1
            );
        }
    }
}

/// A misspelt `tune --policy` is named as such (the objective, read for that policy, used
/// to take the blame), and a command-line argument that is not UTF-8 is refused by its
/// flag (exit 2) instead of a panic or clap's message, which names none.
#[test]
fn flags_are_blamed_for_their_own_values() {
    rollsim()
        .args([
            "tune",
            "scenarios/quickstart.toml",
            "--policy",
            "error-rate-2pc",
            "--param",
            "error_rate_above=0.01..0.02:2",
        ])
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            "error: --policy \"error-rate-2pc\" is not a policy of this scenario; expected one of \
             none, oracle, error-rate-2pct, 3-failed-probes\n",
        );
    use std::os::unix::ffi::OsStrExt;
    let bad = std::ffi::OsStr::from_bytes(b"\xff");
    rollsim()
        .args(["run", "scenarios/quickstart.toml", "--runs"])
        .arg(bad)
        .assert()
        .code(2)
        .stdout("")
        .stderr("error: --runs: not valid UTF-8\n");
    // A path clap would take is refused too (the command line is recorded and printed to
    // be pasted back), and nothing is written.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut out = dir.path().as_os_str().to_os_string();
    out.push(std::ffi::OsStr::from_bytes(b"/out-\xff"));
    rollsim()
        .args(["run", "scenarios/quickstart.toml", "--runs", "2", "--out"])
        .arg(&out)
        .assert()
        .code(2)
        .stdout("")
        .stderr("error: --out: not valid UTF-8\n");
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
    // `--flag=value`, a positional argument (by its value name) and a subcommand's flag.
    let scn: &[u8] = b"scenarios/quickstart.toml";
    let cases: [(&[&[u8]], &str); 3] = [
        (&[b"run", scn, b"--objective=min \xff"], "--objective"),
        (&[b"run", b"\xff.toml", b"--quiet"], "SCENARIO"),
        (
            &[b"sweep", scn, b"--param", b"policies.x.y=\xff"],
            "--param",
        ),
    ];
    for (args, name) in cases {
        let mut c = rollsim();
        for a in args {
            c.arg(std::ffi::OsStr::from_bytes(a));
        }
        c.assert()
            .code(2)
            .stdout("")
            .stderr(format!("error: {name}: not valid UTF-8\n"));
    }
}

/// A shipped scenario with `from` replaced by `to` (the edit must apply).
fn shipped_with(name: &str, from: &str, to: &str) -> String {
    let text = std::fs::read_to_string(format!("scenarios/{name}")).expect("scenario");
    assert!(text.contains(from), "{from:?} not in {name}");
    text.replacen(from, to, 1)
}

/// `[human] background_pages_per_day` is bounded: each page is drawn and kept, and a
/// billion a day hung the run.
#[test]
fn background_pages_are_bounded() {
    refused(
        &shipped_with(
            "manual-checkpoint-fatigued.toml",
            "background_pages_per_day = 12.0",
            "background_pages_per_day = 1e9",
        ),
        "54:28: human.background_pages_per_day = 1000000000 is out of range; expected a \
         number from 0 to 8640",
    );
}

/// A service's zone is shown as its name is (the service graph chart): a NUL in it was
/// caught only when the chart was drawn, after the CSV files were written.
#[test]
fn a_zone_is_held_to_the_rules_of_names() {
    let text = shipped_with(
        "checkout-payments-ledger.toml",
        "zone = \"db-east\"",
        "zone = \"db\\u0000east\"",
    );
    refused(
        &text,
        "64:8: a service's zone contains the control character '\\0'; expected printable \
         characters only",
    );
}

/// `rate_per_hour = -0.0` passes `>= 0` and made an exponential gap of minus infinity: the
/// run looped for ever. It is read as 0 (no occurrence).
#[test]
fn a_negative_zero_rate_is_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = write(
        dir.path(),
        "zero.toml",
        &quickstart_with("probability = 0.33", "rate_per_hour = -0.0"),
    );
    let out = dir.path().join("out");
    rollsim()
        .arg("run")
        .arg(&f)
        .args([
            "--runs",
            "3",
            "--seed",
            "1",
            "--quiet",
            "--format",
            "csv",
            "--metrics",
            "faults",
            "--out",
        ])
        .arg(&out)
        .timeout(std::time::Duration::from_secs(120))
        .assert()
        .success()
        .stdout(predicate::str::contains("none,0,0,"));
}

/// An unusable `--out` is said once, with its cause once (the cause was repeated).
#[test]
fn an_unusable_out_is_said_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "taken", "a file, not a folder\n");
    rollsim()
        .args([
            "run",
            "scenarios/quickstart.toml",
            "--runs",
            "2",
            "--seed",
            "1",
            "--quiet",
            "--out",
        ])
        .arg(&file)
        .assert()
        .code(2)
        .stdout("")
        .stderr(format!(
            "error: cannot use output directory {}: Not a directory (os error 20)\n",
            file.display()
        ));
}

/// The run table fits 100 columns even without intervals: a data scenario's long policy
/// names and data-harm column leave the time to detect out, and say so.
#[test]
fn a_table_too_wide_without_intervals_leaves_a_column_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let stdout = stdout_of(&[
        "run",
        "scenarios/coupled-migration-rollback.toml",
        "--runs",
        "50",
        "--seed",
        "1",
        "--quiet",
        "--out",
        out.to_str().expect("a UTF-8 path"),
    ]);
    fits(&stdout);
    assert!(
        stdout.contains(
            "policy               false+ rollbacks          missed bad  downtime  failed requests  corrupted rec.\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "left out to fit 100 columns: detect (caught); --wide or --metrics shows them\n"
        ),
        "{stdout}"
    );
}

/// A latent cause's appearances are drawn and kept: a billion a week hung `rollsim train`.
#[test]
fn a_latent_cause_appears_a_bounded_number_of_times() {
    let text = shipped_with(
        "train-review-latent-network.toml",
        "rate_per_week = 0.5 ",
        "rate_per_week = 1e9 ",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let f = write(dir.path(), "bad.toml", &text);
    let out = dir.path().join("out");
    for cmd in ["validate", "train"] {
        let mut c = rollsim();
        c.arg(cmd).arg(&f);
        if cmd == "train" {
            c.args(["--runs", "2", "--out"]).arg(&out);
        }
        c.timeout(std::time::Duration::from_secs(120))
            .assert()
            .code(2)
            .stdout("")
            .stderr(format!(
                "error: {}:88:17: train.latent.rate_per_week x train.horizon is 8000000000 \
                 appearances; expected at most 100000 in one train\n",
                f.display()
            ));
    }
    assert!(!out.exists());
}

/// A shard's manifest that is not JSON is located as `file:line:col` (it was "line 4
/// column 13", with the position said twice), and nothing is merged.
#[test]
fn a_cut_shard_manifest_is_located() {
    let dir = tempfile::tempdir().expect("tempdir");
    for i in 0..2 {
        rollsim()
            .args([
                "run",
                "scenarios/quickstart.toml",
                "--runs",
                "4",
                "--seed",
                "3",
                "--quiet",
            ])
            .arg("--shard")
            .arg(format!("{i}/2"))
            .arg("--out")
            .arg(dir.path().join(format!("s{i}")))
            .assert()
            .success();
    }
    let manifest = dir.path().join("s0/manifest.json");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    let cut: String = text.lines().take(3).collect::<Vec<_>>().join("\n");
    std::fs::write(&manifest, &cut).expect("cut");
    let line = cut.lines().count();
    let col = cut.lines().last().expect("a line").len();
    let out = dir.path().join("merged");
    rollsim()
        .arg("merge")
        .arg(dir.path().join("s0"))
        .arg(dir.path().join("s1"))
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(format!(
            "error: {}:{line}:{col}: EOF while parsing",
            manifest.display()
        )))
        .stderr(predicate::str::contains(
            "; expected the manifest.json a sharded run writes\n",
        ));
    assert!(!out.exists(), "nothing is merged");
}

/// A Prometheus point that is not `[unix_seconds, "value"]` is located at the point; the
/// parser's own position, counted inside the point, is left out (it read "at line 1
/// column 4" of a file whose point was at column 1338).
#[test]
fn a_bad_prometheus_point_is_located_once() {
    let fixture = "tests/data/recorded/night-error-ratio.json";
    let text = std::fs::read_to_string(fixture).expect("fixture");
    let first = text.find("[1717372815,\"1\"]").expect("the first point");
    let bad = text.replacen("[1717372815,\"1\"]", "[1717372815,1]", 1);
    let dir = tempfile::tempdir().expect("tempdir");
    let f = write(dir.path(), "bad.json", &bad);
    let out = dir.path().join("out");
    rollsim()
        .arg("replay")
        .arg(&f)
        .args(["--policies", "scenarios/quickstart.toml", "--out"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(format!(
            "error: {}:1:{}: expected [unix_seconds, \"value\"]: invalid type: integer `1`, \
             expected a string\n",
            f.display(),
            first + 1
        ));
    assert!(!out.exists());
}

/// A request rate the 64-bit counters cannot hold over a run is refused (10^16 a second
/// overflowed them and the results were silently wrong; 1e308 gave no request at all).
#[test]
fn a_request_rate_is_bounded() {
    refused(
        &quickstart_with("request_rate = 40.0 ", "request_rate = 1e16 "),
        "19:16: service.request_rate = 10000000000000000 requests per second is more than the \
         request counters hold over a run; expected at most 1e9",
    );
}
