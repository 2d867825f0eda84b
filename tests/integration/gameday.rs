//! Game day over real HTTP: a `rollsim gameday` process in virtual time on a loopback
//! port, driven by a real HTTP client (ureq), its scorecard checked against the engine.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const SCENARIO: &str = "scenarios/gameday-checkout.toml";

/// A running game: the process, its base URL, where it writes.
pub struct GameProc {
    child: Child,
    pub base: String,
    pub out: PathBuf,
    dir: Option<tempfile::TempDir>,
    stderr: mpsc::Receiver<String>,
    /// What the game printed on stderr before it listened (the facilitator's lines).
    pub started: Vec<String>,
}

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("rollsim")
}

/// Starts `rollsim gameday` on a free loopback port with `args` (virtual time unless
/// `args` says otherwise) and waits until it listens.
pub fn start(args: &[&str]) -> GameProc {
    start_with_env(args, &[])
}

/// [`start`] with environment variables set.
pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> GameProc {
    start_scenario(Path::new(SCENARIO), args, env)
}

/// [`start_with_env`] on another scenario file.
pub fn start_scenario(scenario: &Path, args: &[&str], env: &[(&str, &str)]) -> GameProc {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = dir.path().join("game");
    let mut cmd = Command::new(bin());
    cmd.arg("gameday")
        .arg(scenario)
        .args(["--listen", "127.0.0.1:0", "--no-dashboard", "--out"])
        .arg(&out)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("rollsim starts");
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Drain stdout so the game never blocks on a full pipe.
    let stdout = child.stdout.take().expect("piped stdout");
    std::thread::spawn(move || for _ in BufReader::new(stdout).lines() {});
    let mut seen = Vec::new();
    let base = loop {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    break rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string();
                }
                seen.push(line);
            }
            Err(_) => {
                let _ = child.kill();
                panic!("the game did not start listening; stderr: {seen:?}");
            }
        }
    };
    GameProc {
        child,
        base,
        out,
        dir: Some(dir),
        stderr: rx,
        started: seen,
    }
}

impl GameProc {
    /// The process id, to send it a signal.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Like [`GameProc::wait`], but a process still running after `limit` is killed and
    /// the test fails: for tests whose point is that the game does stop.
    pub fn wait_within(
        mut self,
        limit: Duration,
    ) -> (i32, Vec<String>, PathBuf, tempfile::TempDir) {
        let start = std::time::Instant::now();
        while self.child.try_wait().expect("the game's status").is_none() {
            if start.elapsed() > limit {
                let _ = self.child.kill();
                let lines: Vec<String> = self.stderr.try_iter().collect();
                panic!("the game was still running after {limit:?}; stderr: {lines:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.wait()
    }

    /// Waits for the process to exit (after `end`); its exit code.
    pub fn wait(mut self) -> (i32, Vec<String>, PathBuf, tempfile::TempDir) {
        let status = self.child.wait().expect("the game exits");
        let lines: Vec<String> = self.stderr.try_iter().collect();
        let dir = self.dir.take().expect("the game's directory");
        (status.code().unwrap_or(-1), lines, self.out.clone(), dir)
    }
}

impl Drop for GameProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// POSTs `body` (JSON, or nothing) and returns (status, body).
pub fn post(a: &ureq::Agent, url: &str, body: Option<&str>) -> (u16, String) {
    let req = a.post(url);
    let mut resp = match body {
        Some(b) => req.content_type("application/json").send(b),
        None => req.send_empty(),
    }
    .expect("the request gets an answer");
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_to_string().unwrap_or_default())
}

pub fn get(a: &ureq::Agent, url: &str) -> (u16, String) {
    let mut resp = a.get(url).call().expect("the request gets an answer");
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_to_string().unwrap_or_default())
}

pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The value of the sample `name` (its metric and labels, exactly) in the exposition
/// `text` of `/metrics`; the test fails, showing the text, when there is none.
pub fn sample(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from\n{text}"))
}

/// The CSV rows of `file` as maps from column to value.
pub fn csv_rows(file: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut r = csv::Reader::from_path(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let headers = r.headers().expect("a header").clone();
    r.records()
        .map(|row| {
            let row = row.expect("a CSV row");
            headers
                .iter()
                .zip(row.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

#[test]
fn a_team_plays_over_http_and_is_scored_against_every_policy_on_the_same_world() {
    let g = start(&["--virtual", "--seed", "6", "--pager", "error-rate-2pct"]);
    let a = agent();
    let (s, body) = post(&a, &format!("{}/api/rollback", g.base), None);
    assert_eq!(s, 409, "nothing is deployed at 0:00: {body}");
    assert!(json(&body)["detail"]
        .as_str()
        .unwrap_or("")
        .contains("nothing to roll back"));

    // 0:27 of game time: the canary has served 7 minutes, the defect 2.
    let (s, body) = post(
        &a,
        &format!("{}/api/advance", g.base),
        Some(r#"{"by": "27m"}"#),
    );
    assert_eq!(s, 200, "{body}");
    assert_eq!(json(&body)["game_time_s"], 1620.0);
    let (s, state) = get(&a, &format!("{}/api/state", g.base));
    assert_eq!(s, 200);
    let state = json(&state);
    assert_eq!(state["phase"], "rolling");
    assert_eq!(state["share_new"], 0.1);
    assert!(
        state.get("seed").is_none(),
        "nothing identifies the world during a game: {state}"
    );
    assert!(state["new"]["requests_total"].as_u64().unwrap_or(0) > 0);
    assert!(
        state["events"]
            .as_array()
            .is_some_and(|e| e.iter().all(|e| e["kind"] != "fault_start")),
        "faults stay hidden: {state}"
    );

    let (s, body) = post(&a, &format!("{}/api/rollback", g.base), None);
    assert_eq!(s, 200, "{body}");
    let (_, state) = get(&a, &format!("{}/api/state", g.base));
    assert_eq!(json(&state)["phase"], "rolled_back");
    let (s, _) = post(&a, &format!("{}/api/end", g.base), None);
    assert_eq!(s, 200);
    let (code, stderr, out, _dir) = g.wait();
    assert_eq!(code, 0, "{stderr:?}");

    // The scorecard: the team first, then every policy of the scenario.
    let rows = csv_rows(&out.join("scorecard.csv"));
    let who: Vec<&str> = rows.iter().map(|r| r["decided_by"].as_str()).collect();
    assert_eq!(
        who,
        [
            "team",
            "none",
            "oracle",
            "error-rate-2pct",
            "3-failed-probes",
            "p99-over-500ms"
        ]
    );
    let team = &rows[0];
    assert_eq!(team["rollbacks"], "1");
    assert_eq!(
        team["false_positive_rollbacks"], "0",
        "seed 6 plays a bad release"
    );
    // Onset at 0:20 deploy + 5 min; the team rolled back at 0:27.
    assert_eq!(team["time_to_decide_s"], "120.0");

    // With no live inject, every policy's row is exactly its row in `rollsim run`.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let run_out = dir.path().join("run");
    let status = Command::new(bin())
        .args([
            "run", SCENARIO, "--runs", "1", "--seed", "6", "--quiet", "--out",
        ])
        .arg(&run_out)
        .output()
        .expect("rollsim run");
    assert!(status.status.success());
    let game_runs = csv_rows(&out.join("runs.csv"));
    let run_runs = csv_rows(&run_out.join("runs.csv"));
    assert_eq!(&game_runs[1..], &run_runs[..]);

    // The recording replays into the very same timeline and outcome.
    let replay = dir.path().join("replay");
    let status = Command::new(bin())
        .args([
            "trace",
            SCENARIO,
            "--seed",
            "6",
            "--pager",
            "error-rate-2pct",
            "--actions",
        ])
        .arg(out.join("actions.csv"))
        .arg("--out")
        .arg(&replay)
        .output()
        .expect("rollsim trace");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    for f in ["trace.csv", "events.csv"] {
        let a = std::fs::read(out.join(f)).expect("the game's file");
        let b = std::fs::read(replay.join(f)).expect("the replay's file");
        assert!(a == b, "{f} of the replay differs from the game's");
    }
    assert_eq!(csv_rows(&replay.join("runs.csv"))[0], game_runs[0]);
    let html = std::fs::read_to_string(out.join("scorecard.html")).expect("scorecard.html");
    assert!(html.contains("The release was bad"), "{html}");
    assert!(
        html.contains("payments-provider-blip"),
        "faults revealed afterwards"
    );
}

#[test]
fn live_injects_reach_the_world_of_every_policy() {
    let g = start(&["--virtual", "--seed", "3"]);
    let a = agent();
    post(
        &a,
        &format!("{}/api/advance", g.base),
        Some(r#"{"by": "30m"}"#),
    );
    let (s, body) = post(
        &a,
        &format!("{}/api/inject", g.base),
        Some(r#"{"fault": "db-failover", "duration": "20m"}"#),
    );
    assert_eq!(s, 200, "{body}");
    assert!(json(&body)["detail"]
        .as_str()
        .unwrap_or("")
        .contains("db-failover injected for 20m"));
    post(&a, &format!("{}/api/end", g.base), None);
    let (code, stderr, out, _dir) = g.wait();
    assert_eq!(code, 0, "{stderr:?}");
    let runs = csv_rows(&out.join("runs.csv"));
    // Seed 3 draws no fault of its own: the one fault is the inject, in every row.
    assert!(runs.iter().all(|r| r["faults"] == "1"), "{runs:?}");
    // 3x latency with 2% packet loss for 20 minutes breaks the p99 SLO for everyone.
    let none = runs
        .iter()
        .find(|r| r["policy"] == "none")
        .expect("none's row");
    let downtime: f64 = none["downtime_s"].parse().expect("a number");
    assert!((1100.0..=1215.0).contains(&downtime), "downtime {downtime}");
    let html = std::fs::read_to_string(out.join("scorecard.html")).expect("scorecard.html");
    assert!(html.contains("injected live"));
}

#[test]
fn malformed_requests_get_4xx_with_a_reason() {
    let g = start(&["--virtual", "--seed", "1"]);
    let a = agent();
    let url = |p: &str| format!("{}{p}", g.base);
    let cases: Vec<(&str, Option<&str>, u16, &str)> = vec![
        ("/api/flag", Some("{\"on\": "), 400, "EOF"),
        ("/api/flag", Some("{\"on\": \"yes\"}"), 422, "invalid type"),
        (
            "/api/flag",
            Some("{\"off\": true}"),
            422,
            "unknown field `off`",
        ),
        (
            "/api/inject",
            Some("{\"fault\": \"disk\", \"duration\": \"5m\"}"),
            422,
            "no fault named \"disk\"; expected one of: payments-provider-blip, db-failover",
        ),
        (
            "/api/inject",
            Some("{\"fault\": \"db-failover\", \"duration\": \"soon\"}"),
            422,
            "is not a duration",
        ),
        (
            "/api/inject",
            Some("{\"fault\": \"db-failover\", \"duration\": \"0s\"}"),
            422,
            "above zero",
        ),
        ("/api/advance", Some("{\"by\": 5}"), 422, "invalid type"),
        ("/api/promote", None, 409, "nothing to promote"),
        ("/api/resume", None, 409, "not paused"),
        ("/api/ack", None, 409, "no page is open"),
        ("/api/nope", None, 404, "no such endpoint"),
    ];
    for (path, body, status, reason) in cases {
        let (s, text) = post(&a, &url(path), body);
        assert_eq!(s, status, "{path} {body:?}: {text}");
        let v = json(&text);
        let why = v["error"]
            .as_str()
            .or(v["detail"].as_str())
            .unwrap_or_default();
        assert!(why.contains(reason), "{path} {body:?}: {text}");
    }
    // A body without the JSON content type, an oversized body, a GET on a control.
    let mut r = a
        .post(&url("/api/flag"))
        .send("{\"on\": true}")
        .expect("an answer");
    assert_eq!(r.status().as_u16(), 415);
    assert!(r
        .body_mut()
        .read_to_string()
        .unwrap_or_default()
        .contains("Content-Type: application/json"));
    let big = format!("{{\"on\": true, \"pad\": \"{}\"}}", "x".repeat(70_000));
    let (s, _) = post(&a, &url("/api/flag"), Some(&big));
    assert_eq!(s, 413);
    let (s, _) = get(&a, &url("/api/rollback"));
    assert_eq!(s, 405);
    // None of these changed the game.
    let (_, state) = get(&a, &url("/api/state"));
    let state = json(&state);
    assert_eq!(state["game_time_s"], 0.0);
    assert_eq!(state["flag_on"], true);
    let done = state["actions"]
        .as_array()
        .map_or(0, |x| x.iter().filter(|a| a["done"] == true).count());
    assert_eq!(done, 0);
}

#[test]
fn a_token_guards_every_control_endpoint_but_not_the_reads() {
    let g = start(&["--virtual", "--seed", "1", "--token", "s3cret"]);
    let a = agent();
    let url = |p: &str| format!("{}{p}", g.base);
    for p in [
        "/api/rollback",
        "/api/promote",
        "/api/pause",
        "/api/resume",
        "/api/ack",
        "/api/deploy",
        "/api/flag",
        "/api/inject",
        "/api/advance",
        "/api/end",
    ] {
        let (s, text) = post(&a, &url(p), Some("{}"));
        assert_eq!(s, 401, "{p}: {text}");
        assert!(text.contains("Authorization: Bearer"), "{text}");
    }
    let mut r = a
        .post(&url("/api/advance"))
        .header("Authorization", "Bearer wrong")
        .content_type("application/json")
        .send("{\"by\": \"1m\"}")
        .expect("an answer");
    assert_eq!(
        r.status().as_u16(),
        401,
        "{:?}",
        r.body_mut().read_to_string()
    );
    let r = a
        .post(&url("/api/advance"))
        .header("Authorization", "Bearer s3cret")
        .content_type("application/json")
        .send("{\"by\": \"1m\"}")
        .expect("an answer");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(get(&a, &url("/metrics")).0, 200);
    assert_eq!(get(&a, &url("/api/state")).0, 200);
    let r = a
        .post(&url("/api/end"))
        .header("Authorization", "Bearer s3cret")
        .send_empty()
        .expect("an answer");
    assert_eq!(r.status().as_u16(), 200);
    let (code, stderr, out, _dir) = g.wait();
    assert_eq!(code, 0, "{stderr:?}");
    // The secret is not written into the outputs that are shared after the game.
    for f in ["manifest.json", "scorecard.html", "report.html"] {
        let text = std::fs::read_to_string(out.join(f)).expect("an output");
        assert!(!text.contains("s3cret"), "{f} holds the token");
        assert!(text.contains("--token REDACTED"), "{f}");
    }
}

#[test]
fn listening_beyond_loopback_needs_a_token() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = dir.path().join("game");
    let o = Command::new(bin())
        .args([
            "gameday",
            SCENARIO,
            "--virtual",
            "--listen",
            "0.0.0.0:0",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("rollsim runs");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--listen 0.0.0.0:0: not a loopback address"),
        "{err}"
    );
    assert!(err.contains("--token"), "{err}");
    assert!(!out.exists(), "nothing is written");
    // A port in use is reported before anything is written.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let addr = taken.local_addr().expect("its address").to_string();
    let o = Command::new(bin())
        .args(["gameday", SCENARIO, "--virtual", "--listen", &addr, "--out"])
        .arg(&out)
        .output()
        .expect("rollsim runs");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("--listen {addr}: cannot listen there")),
        "{err}"
    );
    assert!(!out.exists(), "nothing is written");
    let o = Command::new(bin())
        .args(["gameday", SCENARIO, "--speed", "0", "--out"])
        .arg(&out)
        .output()
        .expect("rollsim runs");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--speed 0: expected"));
}

#[test]
fn metrics_are_a_valid_exposition_of_the_game_counters() {
    let g = start(&["--virtual", "--seed", "6"]);
    let a = agent();
    post(
        &a,
        &format!("{}/api/advance", g.base),
        Some(r#"{"by": "40m"}"#),
    );
    let mut r = a
        .get(format!("{}/metrics", g.base))
        .call()
        .expect("metrics");
    let ctype = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(ctype.starts_with("application/openmetrics-text"), "{ctype}");
    let text = r.body_mut().read_to_string().expect("a body");
    let (_, state) = get(&a, &format!("{}/api/state", g.base));
    let state = json(&state);
    let value = |name: &str| sample(&text, name);
    for v in ["old", "new"] {
        let ok = value(&format!(
            "rollsim_requests_total{{version=\"{v}\",status=\"ok\"}}"
        ));
        let err = value(&format!(
            "rollsim_requests_total{{version=\"{v}\",status=\"error\"}}"
        ));
        assert_eq!(
            ok + err,
            state[v]["requests_total"].as_f64().unwrap_or(-1.0)
        );
        assert_eq!(err, state[v]["errors_total"].as_f64().unwrap_or(-1.0));
        // Buckets never decrease and the last one holds every request.
        let buckets: Vec<f64> = text
            .lines()
            .filter(|l| {
                l.starts_with("rollsim_request_duration_seconds_bucket{")
                    && l.contains(&format!("version=\"{v}\""))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
            .collect();
        assert_eq!(buckets.len(), 12, "{text}");
        assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
        assert_eq!(buckets[11], ok + err);
        assert_eq!(
            value(&format!(
                "rollsim_request_duration_seconds_count{{version=\"{v}\"}}"
            )),
            ok + err
        );
    }
    assert_eq!(
        value("rollsim_rollout_weight"),
        0.25,
        "0:40 is the 25% step"
    );
    assert_eq!(value("rollsim_game_time_seconds"), 2400.0);
    assert!(text.contains("rollsim_deploy_info{service=\"checkout\",phase=\"rolling\",attempt=\"1\",paused=\"false\"} 1"), "{text}");
    assert!(text.trim_end().ends_with("# EOF"));
}

#[test]
fn metrics_expose_the_versions_gauges_at_their_closed_form() {
    // cpu-peak.toml at a flat 400 requests/s on 10 replicas of 70 requests/s, no bad
    // release: each version runs on its share of the replicas with that share of the
    // traffic, so both are at rho = 400 / 700; CPU 0.05 + rho, the M/M/1 queue
    // rho^2 / (1 - rho) = 16/21.
    let t = tempfile::tempdir().expect("a temporary directory");
    let text = std::fs::read_to_string("scenarios/cpu-peak.toml").expect("cpu-peak");
    let text = text
        .replacen("diurnal_amplitude = 0.5", "diurnal_amplitude = 0.0", 1)
        .replacen("bad_probability = 0.2", "bad_probability = 0.0", 1);
    let scn = t.path().join("flat.toml");
    std::fs::write(&scn, text).expect("scenario");
    let g = start_scenario(&scn, &["--virtual", "--seed", "3"], &[]);
    let a = agent();
    let metrics = |a: &ureq::Agent| -> String {
        let mut r = a
            .get(format!("{}/metrics", g.base))
            .call()
            .expect("metrics");
        r.body_mut().read_to_string().expect("a body")
    };
    // Before the deploy (1h30m) there is no new version: no gauge yet.
    post(
        &a,
        &format!("{}/api/advance", g.base),
        Some(r#"{"by": "1h"}"#),
    );
    let before = metrics(&a);
    assert!(!before.contains("rollsim_cpu"), "{before}");
    post(
        &a,
        &format!("{}/api/advance", g.base),
        Some(r#"{"by": "45m"}"#),
    );
    let text = metrics(&a);
    let value = |name: &str| sample(&text, name);
    let rho = 400.0 / 700.0;
    for v in ["old", "new"] {
        let close = |name: &str, want: f64| {
            let got = value(&format!("{name}{{version=\"{v}\"}}"));
            assert!((got - want).abs() < 1e-9, "{name} {v}: {got} vs {want}");
        };
        close("rollsim_cpu", 0.05 + rho);
        close("rollsim_saturation", rho);
        close("rollsim_queue_length", 16.0 / 21.0);
    }
    for family in ["rollsim_cpu", "rollsim_saturation", "rollsim_queue_length"] {
        assert!(
            text.contains(&format!("# TYPE {family} gauge")),
            "{family}: {text}"
        );
    }
    assert_eq!(
        value("rollsim_rollout_weight"),
        0.5,
        "1h45m is the 50% step"
    );
}

/// A bounded load on loopback: 8 clients x 250 requests, reads and controls mixed. Every
/// request is answered (200, or 409 for a pause of a paused rollout and the like), every
/// control request is recorded exactly once, and the recorded pauses and resumes that
/// took effect alternate, as they must if each applied atomically.
#[test]
fn concurrent_requests_lose_no_action_and_keep_the_game_consistent() {
    const CLIENTS: usize = 8;
    const EACH: usize = 250;
    let g = start(&["--virtual", "--seed", "1"]);
    let a = agent();
    post(
        &a,
        &format!("{}/api/advance", g.base),
        Some(r#"{"by": "25m"}"#),
    );
    let results: Vec<(usize, usize, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let a = a.clone();
                let base = g.base.clone();
                s.spawn(move || {
                    let (mut controls, mut applied, mut other) = (0, 0, 0);
                    for i in 0..EACH {
                        let (status, _) = match (c + i) % 4 {
                            0 => get(&a, &format!("{base}/metrics")),
                            1 => get(&a, &format!("{base}/api/state")),
                            2 => post(&a, &format!("{base}/api/pause"), None),
                            _ => post(&a, &format!("{base}/api/resume"), None),
                        };
                        let control = (c + i) % 4 >= 2;
                        match (control, status) {
                            (true, 200) => {
                                controls += 1;
                                applied += 1
                            }
                            (true, 409) => controls += 1,
                            (false, 200) => {}
                            _ => other += 1,
                        }
                    }
                    (controls, applied, other)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a client thread"))
            .collect()
    });
    let controls: usize = results.iter().map(|r| r.0).sum();
    let applied: usize = results.iter().map(|r| r.1).sum();
    let unexpected: usize = results.iter().map(|r| r.2).sum();
    assert_eq!(
        unexpected, 0,
        "every request gets 200, or 409 for a control"
    );
    assert_eq!(controls, CLIENTS * EACH / 2);
    post(&a, &format!("{}/api/end", g.base), None);
    let (code, stderr, out, _dir) = g.wait();
    assert_eq!(code, 0, "{stderr:?}");
    let actions = csv_rows(&out.join("actions.csv"));
    assert_eq!(actions.len(), controls, "every control request is recorded");
    let done: Vec<&str> = actions
        .iter()
        .filter(|r| r["done"] == "true")
        .map(|r| r["action"].as_str())
        .collect();
    assert_eq!(done.len(), applied);
    assert!(
        done.iter()
            .enumerate()
            .all(|(i, a)| *a == if i % 2 == 0 { "pause" } else { "resume" }),
        "applied pauses and resumes alternate: {done:?}"
    );
    assert!(actions.iter().all(|r| r["at_ms"] == "1500000"));
}

/// Stepping a replication live, in any increments, with metrics exposed and every probe
/// shown, decides and scores exactly as the batch engine does.
#[test]
fn a_live_replication_is_the_batch_replication() {
    use rollsim::sim::{replicate, Live, Prepared, World};
    let text = std::fs::read_to_string("scenarios/quickstart.toml").expect("quickstart");
    let s = super::scenario(&text);
    let p = Prepared::new(&s);
    for run in 0..12 {
        let world = World::for_run(&s, 99, run);
        for spec in &s.policies {
            let mut live = Live::new(&p, &world, spec);
            let mut t = 0;
            while !live.finished() {
                t += 137_000 + run * 1_000;
                live.advance_to(t);
            }
            let end = live.finish();
            assert_eq!(
                end.record,
                replicate(&p, &world, spec),
                "run {run} {}",
                spec.name
            );
        }
    }
}

/// Commands applied live at their instants and the same commands replayed from a script
/// give the same timeline, event for event.
#[test]
fn live_commands_replay_exactly_from_their_recording() {
    use rollsim::gameday::{team_spec, Game, Source};
    use rollsim::sim::command::Command;
    use rollsim::sim::{replicate_scripted, Prepared, World};
    let text = std::fs::read_to_string(SCENARIO).expect("the game-day scenario");
    let s = super::scenario(&text);
    let p = Prepared::new(&s);
    let team = team_spec(&s, Some(2));
    for run in 0..6 {
        let world = World::for_run(&s, 5, run);
        let mut game = Game::new(&p, &world, &team);
        let plan = [
            (1_500_000, Command::Pause),
            (
                1_600_000,
                Command::Inject {
                    fault: 1,
                    duration_ms: 600_000,
                },
            ),
            (1_700_000, Command::Resume),
            (2_400_000, Command::Ack),
            (2_400_000, Command::Rollback),
            (3_000_000, Command::Deploy),
            (3_600_000, Command::Flag { on: false }),
            (4_000_000, Command::Promote),
        ];
        for (at, c) in plan {
            game.advance_to(at);
            game.apply(c, Source::Http);
        }
        let script = game.script();
        let (end, _) = game.finish();
        let (record, trace) = replicate_scripted(&p, &world, &team, &script);
        assert_eq!(end.record, record, "run {run}");
        assert_eq!(end.trace, trace, "run {run}");
    }
}

/// Paced by the wall clock at 10,000x, the three-hour game ends by itself in about a
/// second; a team that did nothing scores exactly as the `none` policy.
#[test]
fn a_paced_game_ends_at_its_horizon_and_a_passive_team_scores_as_none() {
    let g = start(&["--speed", "10000", "--seed", "6"]);
    let (code, stderr, out, _dir) = g.wait();
    assert_eq!(code, 0, "{stderr:?}");
    let runs = csv_rows(&out.join("runs.csv"));
    let mut team = runs[0].clone();
    let none = runs
        .iter()
        .find(|r| r["policy"] == "none")
        .expect("none's row");
    assert_eq!(
        team.insert("policy".into(), "none".into()),
        Some("team".into())
    );
    assert_eq!(&team, none);
    let manifest = std::fs::read_to_string(out.join("manifest.json")).expect("manifest");
    let m = json(&manifest);
    assert_eq!(m["interrupted"], false, "{manifest}");
    assert_eq!(m["seed"], 6);
}

/// The pager's rule pages the team (it does not act); the team acknowledges and decides
/// later; its time to decide runs to its own rollback, not to the page.
#[test]
fn a_paged_team_decides_when_it_acts_not_when_it_is_paged() {
    let g = start(&["--virtual", "--seed", "6", "--pager", "error-rate-2pct"]);
    let a = agent();
    let url = |p: &str| format!("{}{p}", g.base);
    post(&a, &url("/api/advance"), Some(r#"{"by": "40m"}"#));
    let (_, state) = get(&a, &url("/api/state"));
    let state = json(&state);
    let pages = state["pages"].as_array().cloned().unwrap_or_default();
    assert_eq!(pages.len(), 1, "{state}");
    assert_eq!(pages[0]["about"], "rule fired");
    assert_eq!(pages[0]["acked_ms"], serde_json::Value::Null);
    assert_eq!(state["phase"], "rolling", "a page does not roll back");
    let (s, body) = post(&a, &url("/api/ack"), None);
    assert_eq!(
        (s, json(&body)["detail"].clone()),
        (200, "1 page(s) acknowledged".into())
    );
    let (s, _) = post(&a, &url("/api/rollback"), None);
    assert_eq!(s, 200);
    post(&a, &url("/api/end"), None);
    let (code, stderr, out, _dir) = g.wait();
    assert_eq!(code, 0, "{stderr:?}");
    let team = &csv_rows(&out.join("scorecard.csv"))[0];
    assert_eq!(team["pages"], "1");
    // Onset at 0:25 (deploy at 0:20 + 5 min); the team rolled back at 0:40.
    assert_eq!(team["time_to_decide_s"], "900.0");
}

/// A step that waits for a person (`approval = true`) pages the team when its pause has
/// held, and the team's `resume` approves it.
#[test]
fn the_team_approves_a_step_that_waits_for_a_person() {
    use rollsim::gameday::{team_spec, Game, Source};
    use rollsim::sim::command::Command;
    use rollsim::sim::{Prepared, World};
    let s = super::scenario(
        r#"
[simulation]
duration = "2h"
scrape_interval = "15s"
[service]
name = "s"
request_rate = 20
[release]
at = "1m"
bake = "10m"
[rollout]
strategy = "canary"
steps = [{ weight = 20, pause = "5m", approval = true }, { weight = 100 }]
"#,
    );
    let p = Prepared::new(&s);
    let world = World::for_run(&s, 1, 0);
    let team = team_spec(&s, None);
    let mut game = Game::new(&p, &world, &team);
    game.advance_to(360_000); // 0:06, the pause ends now
    assert!(game.pages().is_empty(), "no page before the pause has held");
    game.advance_to(360_001);
    let pages = game.pages();
    assert_eq!(
        (pages.len(), pages[0].at_ms, pages[0].about),
        (1, 360_000, "step waits for approval")
    );
    game.advance_to(600_000); // nobody answers: the step holds
    assert_eq!(game.view().share_new, 0.2);
    let a = game.apply(Command::Resume, Source::Console);
    assert_eq!((a.done, a.detail.as_str()), (true, "step approved"));
    game.advance_to(600_001);
    assert_eq!((game.view().share_new, game.view().phase), (1.0, "baking"));
    game.advance_to(600_000 + 600_000 + 1);
    assert_eq!(game.view().phase, "promoted", "promoted after the bake");
}

/// The token may come from the environment (a command line is visible to local users).
#[test]
fn the_token_can_come_from_the_environment() {
    let g = start_with_env(
        &["--virtual", "--seed", "1"],
        &[("ROLLSIM_GAMEDAY_TOKEN", "from-env")],
    );
    let a = agent();
    let (s, _) = post(&a, &format!("{}/api/pause", g.base), None);
    assert_eq!(s, 401);
    let r = a
        .post(format!("{}/api/end", g.base))
        .header("Authorization", "Bearer from-env")
        .send_empty()
        .expect("an answer");
    assert_eq!(r.status().as_u16(), 200);
    let (code, stderr, out, _dir) = g.wait();
    assert_eq!(code, 0, "{stderr:?}");
    let manifest = std::fs::read_to_string(out.join("manifest.json")).expect("manifest");
    assert!(!manifest.contains("from-env"));
}

/// An Alertmanager webhook (its real payload shape, JSON of a few KiB) can call a control
/// endpoint directly: the body is accepted and ignored.
#[test]
fn an_alertmanager_webhook_can_roll_back() {
    let g = start(&["--virtual", "--seed", "6"]);
    let a = agent();
    post(
        &a,
        &format!("{}/api/advance", g.base),
        Some(r#"{"by": "30m"}"#),
    );
    let alert = serde_json::json!({
        "status": "firing",
        "labels": {"alertname": "NewVersionErrorRateHigh", "severity": "page", "version": "new"},
        "annotations": {"summary": "The new version fails 5% of requests", "runbook": "x".repeat(2000)},
        "startsAt": "2026-11-25T16:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://127.0.0.1:9090/graph?g0.expr=...",
        "fingerprint": "c6f3a1b2d4e5f607"
    });
    let payload = serde_json::json!({
        "version": "4",
        "groupKey": "{}:{alertname=\"NewVersionErrorRateHigh\"}",
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "rollsim",
        "groupLabels": {"alertname": "NewVersionErrorRateHigh"},
        "commonLabels": {"alertname": "NewVersionErrorRateHigh", "severity": "page"},
        "commonAnnotations": {},
        "externalURL": "http://127.0.0.1:9093",
        "alerts": [alert.clone(), alert],
    })
    .to_string();
    assert!(payload.len() > 4096);
    let (s, body) = post(&a, &format!("{}/api/rollback", g.base), Some(&payload));
    assert_eq!(s, 200, "{body}");
    assert_eq!(json(&body)["detail"], "rolling back to the old version");
}
