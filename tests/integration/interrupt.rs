//! Ctrl-C, for real: a child `rollsim` gets SIGINT inside one long run and during a
//! sweep's report step, stops inside the work (shown by what it says and writes; a
//! generous time limit only guards against a hang), exits 130 and
//! leaves whole files only (no temporary file, no half report, the finished data intact);
//! `trace`, `replay`, `calibrate` and `merge`, which write only once their work is done,
//! exit 130 and write nothing.

use crate::names;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a stopped command may take to exit after SIGINT before the test calls it hung.
/// A guard against a hang only, not a measure of promptness: 20 s once failed on a loaded
/// machine. That the command stopped inside its work is shown by what it says and wrote
/// (the long run: "stopped after 0 of 1 runs" and a `runs.csv` of its header alone),
/// not by the clock.
const STOP_LIMIT: Duration = Duration::from_secs(120);

/// Quickstart's scenario with `edits` applied (each `(from, to)` must match) and `extra`
/// appended, written into `dir`.
fn scenario(dir: &Path, edits: &[(&str, &str)], extra: &str) -> PathBuf {
    let mut text = std::fs::read_to_string("scenarios/quickstart.toml").expect("quickstart");
    for (from, to) in edits {
        assert!(text.contains(from), "quickstart has {from}");
        text = text.replacen(from, to, 1);
    }
    text.push_str(extra);
    let path = dir.join("scenario.toml");
    std::fs::write(&path, text).expect("scenario written");
    path
}

/// One run of 30 days scraped every 10 ms, written into `dir`: 259 million ticks for each
/// of quickstart's four policies, minutes of work, so a SIGINT always lands inside it.
fn long_run(dir: &Path) -> PathBuf {
    scenario(
        dir,
        &[
            ("duration = \"24h\"", "duration = \"30d\""),
            ("scrape_interval = \"15s\"", "scrape_interval = \"10ms\""),
        ],
        "\n[limits]\nticks_per_run = 300000000\n",
    )
}

/// Starts `rollsim` with `args`, stdout and stderr into files of `dir`.
fn spawn(dir: &Path, args: &[&str]) -> Child {
    let file = |n: &str| std::fs::File::create(dir.join(n)).expect("log file");
    Command::new(assert_cmd::cargo::cargo_bin("rollsim"))
        .args(args)
        .stdout(Stdio::from(file("stdout")))
        .stderr(Stdio::from(file("stderr")))
        .spawn()
        .expect("rollsim starts")
}

/// Waits (polling) until `ready` holds; fails the test after `limit`.
fn wait_for(child: &mut Child, limit: Duration, what: &str, ready: impl Fn() -> bool) {
    let start = Instant::now();
    while !ready() {
        if let Some(status) = child.try_wait().expect("status") {
            panic!("rollsim exited ({status}) before {what}");
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("{what} did not happen within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Sends SIGINT (what Ctrl-C sends) and returns the exit code, which must come within
/// [`STOP_LIMIT`].
fn interrupt(child: &mut Child) -> i32 {
    sigint(child);
    stopped(child)
}

/// Sends SIGINT (what Ctrl-C sends) to `child`.
fn sigint(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(status.success());
}

/// The exit code of `child`, which must come within [`STOP_LIMIT`].
fn stopped(child: &mut Child) -> i32 {
    let sent = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("status") {
            return status.code().unwrap_or(-1);
        }
        if sent.elapsed() > STOP_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running {STOP_LIMIT:?} after SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn ctrl_c_stops_inside_one_long_run() {
    // SIGINT while the long run runs must stop it inside the run: it says it stopped
    // after 0 of 1 runs and its runs.csv holds the header alone.
    let t = tempfile::tempdir().expect("a temporary directory");
    let scn = long_run(t.path());
    let out = t.path().join("out");
    let scn_arg = scn.display().to_string();
    let out_arg = out.display().to_string();
    let args = [
        "run", &scn_arg, "--runs", "1", "--seed", "1", "--quiet", "--out", &out_arg,
    ];
    let mut child = spawn(t.path(), &args);
    // runs.csv is streamed into a temporary file once the runs start.
    wait_for(
        &mut child,
        Duration::from_secs(120),
        "the run's start",
        || names(&out).iter().any(|n| n.starts_with(".rollsim-tmp-")),
    );
    std::thread::sleep(Duration::from_millis(300));
    let code = interrupt(&mut child);
    let stderr = read(&t.path().join("stderr"));
    assert_eq!(code, 130, "{stderr}");
    assert!(
        stderr.contains("interrupted: stopped after 0 of 1 runs;")
            && stderr.contains("(no report: build it with `rollsim report"),
        "{stderr}"
    );
    // The files say what finished (nothing), whole, and nothing else is left.
    assert_eq!(
        names(&out),
        [
            ".rollsim-written",
            "manifest.json",
            "runs.csv",
            "scenario.toml",
            "summary.csv"
        ]
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&read(&out.join("manifest.json"))).expect("json");
    assert_eq!(manifest["interrupted"], true);
    assert_eq!(manifest["completed_runs"], 0);
    let runs = read(&out.join("runs.csv"));
    assert_eq!(runs.lines().count(), 1, "the header alone: {runs}");
    assert!(runs.starts_with("run,seed,policy,"), "{runs}");
    assert_eq!(
        manifest["sha256"]["runs.csv"],
        rollsim::report::checksum::sha256_hex(runs.as_bytes())
    );
    // What is there reads back as a report of no runs.
    let report = Command::new(assert_cmd::cargo::cargo_bin("rollsim"))
        .arg("report")
        .arg(&out)
        .output()
        .expect("rollsim report");
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
}

#[test]
fn ctrl_c_during_a_sweeps_report_step_keeps_every_point_and_writes_no_report() {
    // 2,500 cheap points (one 1-hour run each): the report step reads ~40 MB of rows
    // back twice and draws; SIGINT once the last point's checksum is written lands in it.
    let t = tempfile::tempdir().expect("a temporary directory");
    let scn = scenario(
        t.path(),
        &[
            ("duration = \"24h\"", "duration = \"1h\""),
            ("at = \"10h\"", "at = \"10m\""),
            ("window = [\"9h\", \"12h\"]", "window = [\"0h\", \"1h\"]"),
        ],
        "",
    );
    let out = t.path().join("sweep");
    let scn_arg = scn.display().to_string();
    let out_arg = out.display().to_string();
    let sweep = [
        "sweep",
        &scn_arg,
        "--runs",
        "1",
        "--seed",
        "1",
        "--quiet",
        "--param",
        "policies.error-rate-2pct.error_rate_above=0.005..0.05:50",
        "--param",
        "service.request_rate=10..50:50",
        "--objective",
        "min downtime_s s.t. false_positive_rollbacks <= 0.1",
        "--out",
        &out_arg,
    ];
    let mut child = spawn(t.path(), &sweep);
    let points = out.join("sweep-points.csv");
    wait_for(
        &mut child,
        Duration::from_secs(600),
        "the last point",
        || std::fs::read_to_string(&points).is_ok_and(|s| s.lines().count() == 2501),
    );
    let code = interrupt(&mut child);
    let stderr = read(&t.path().join("stderr"));
    assert_eq!(code, 130, "{stderr}");
    assert!(stderr.contains("interrupted") || stderr.contains("stopped before the report"));
    let files = names(&out);
    assert!(
        !files.iter().any(|n| n.starts_with(".rollsim-tmp-")
            || n == "report.html"
            || n == "report.md"
            || n == "charts"),
        "no temporary file, no report: {files:?}"
    );
    // Every point is there, whole: its checksum is recorded in the manifest.
    let csv = std::fs::read(out.join("sweep.csv")).expect("sweep.csv");
    let manifest: serde_json::Value =
        serde_json::from_str(&read(&out.join("manifest.json"))).expect("json");
    assert_eq!(
        manifest["sha256"]["sweep.csv"],
        rollsim::report::checksum::sha256_hex(&csv)
    );

    // The same command with --resume runs no point again and finishes the rest.
    let mut resume = sweep.to_vec();
    resume.push("--resume");
    let done = Command::new(assert_cmd::cargo::cargo_bin("rollsim"))
        .args(&resume)
        .output()
        .expect("rollsim sweep --resume");
    let err = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{err}");
    assert!(
        err.contains("resuming: 2500 of 2500 points already done"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(out.join("sweep.csv")).expect("sweep.csv"),
        csv
    );
    let files = names(&out);
    for f in ["recommendation.json", "report.html", "charts"] {
        assert!(files.iter().any(|n| n == f), "{f} in {files:?}");
    }
}

/// Waits until `child` has a SIGINT handler (its Ctrl-C flag is set up: bit 2 of `SigCgt`
/// in `/proc/PID/status`), so a SIGINT from now on is the command's to handle.
fn wait_for_handler(child: &mut Child) {
    let status = PathBuf::from(format!("/proc/{}/status", child.id()));
    wait_for(child, Duration::from_secs(60), "the SIGINT handler", || {
        std::fs::read_to_string(&status).is_ok_and(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("SigCgt:"))
                .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
                .is_some_and(|mask| mask & (1 << (2 - 1)) != 0)
        })
    });
}

/// A named pipe at `path` (the command blocks reading it until the test writes it).
fn fifo(path: &Path) {
    let made = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(made.success());
}

/// Writes `bytes` into the pipe `path` from another thread (opening a pipe blocks until
/// its reader opens it).
fn feed(path: &Path, bytes: Vec<u8>) {
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let _ = std::fs::write(path, bytes);
    });
}

#[test]
fn ctrl_c_stops_a_long_trace_and_leaves_the_earlier_output_as_it_was() {
    // The long run of `ctrl_c_stops_inside_one_long_run`, traced, with --force over an
    // earlier trace: SIGINT stops it at once, writes nothing and removes nothing.
    let t = tempfile::tempdir().expect("a temporary directory");
    let scn = long_run(t.path());
    let out = t.path().join("out");
    std::fs::create_dir(&out).expect("out");
    std::fs::write(out.join(".rollsim-written"), "trace.csv\n").expect("list");
    std::fs::write(out.join("trace.csv"), "an earlier trace\n").expect("earlier");
    let scn_arg = scn.display().to_string();
    let out_arg = out.display().to_string();
    let args = [
        "trace", &scn_arg, "--run", "0", "--seed", "1", "--force", "--out", &out_arg,
    ];
    let mut child = spawn(t.path(), &args);
    wait_for_handler(&mut child);
    std::thread::sleep(Duration::from_millis(500));
    let code = interrupt(&mut child);
    let stderr = read(&t.path().join("stderr"));
    assert_eq!(code, 130, "{stderr}");
    assert!(
        stderr.contains("error: interrupted: stopped before run 0 finished; nothing written"),
        "{stderr}"
    );
    assert_eq!(names(&out), [".rollsim-written", "trace.csv"]);
    assert_eq!(read(&out.join("trace.csv")), "an earlier trace\n");
}

#[test]
fn ctrl_c_during_replay_and_calibrate_writes_nothing() {
    // The recording comes through a pipe the test fills only after SIGINT, so the signal
    // lands while the command works (reading), whatever the machine's speed.
    let recording = std::fs::read("scenarios/replay/metrics.csv").expect("recording");
    for command in ["replay", "calibrate"] {
        let t = tempfile::tempdir().expect("a temporary directory");
        let metrics = t.path().join("metrics.csv");
        fifo(&metrics);
        let out = t.path().join("out");
        let (m, o) = (metrics.display().to_string(), out.display().to_string());
        let scn = out.join("calibrated.toml").display().to_string();
        let report = out.join("report").display().to_string();
        let args: Vec<&str> = match command {
            "replay" => vec![
                "replay",
                "--policies",
                "scenarios/replay/policies.toml",
                &m,
                "--out",
                &o,
            ],
            _ => vec!["calibrate", &m, "--out", &scn, "--report", &report],
        };
        let mut child = spawn(t.path(), &args);
        wait_for_handler(&mut child);
        sigint(&child);
        feed(&metrics, recording.clone());
        let code = stopped(&mut child);
        let stderr = read(&t.path().join("stderr"));
        assert_eq!(code, 130, "{command}: {stderr}");
        assert!(
            stderr.contains("error: interrupted: stopped before writing; nothing written"),
            "{command}: {stderr}"
        );
        assert!(!out.exists(), "{command} wrote {:?}", names(&out));
    }
}

#[test]
fn ctrl_c_during_merge_writes_nothing() {
    let t = tempfile::tempdir().expect("a temporary directory");
    let shards: Vec<PathBuf> = (0..2).map(|i| t.path().join(format!("s{i}"))).collect();
    for (i, dir) in shards.iter().enumerate() {
        let made = Command::new(assert_cmd::cargo::cargo_bin("rollsim"))
            .args([
                "run",
                "scenarios/quickstart.toml",
                "--runs",
                "4",
                "--seed",
                "1",
            ])
            .args(["--quiet", "--shard", &format!("{i}/2"), "--out"])
            .arg(dir)
            .output()
            .expect("rollsim run --shard");
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
    }
    // The second shard's manifest through a pipe, filled after SIGINT.
    let manifest = shards[1].join("manifest.json");
    let text = std::fs::read(&manifest).expect("manifest");
    std::fs::remove_file(&manifest).expect("removed");
    fifo(&manifest);
    let out = t.path().join("merged");
    let (a, b, o) = (
        shards[0].display().to_string(),
        shards[1].display().to_string(),
        out.display().to_string(),
    );
    let mut child = spawn(t.path(), &["merge", &a, &b, "--out", &o]);
    wait_for_handler(&mut child);
    sigint(&child);
    // The handler sets the stop flag from a thread of its own: on a loaded machine the
    // merge could read the manifest and finish before that thread ran, so the pipe is
    // filled only once it has had time to (it failed once at load 8 to 10 without this).
    std::thread::sleep(Duration::from_millis(1000));
    feed(&manifest, text);
    let code = stopped(&mut child);
    let stderr = read(&t.path().join("stderr"));
    assert_eq!(code, 130, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: interrupted: stopped before the merge into {o} was written; nothing written"
        )),
        "{stderr}"
    );
    assert!(!out.exists(), "merge wrote {:?}", names(&out));
}
