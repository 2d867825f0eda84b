//! The game-day server under hostile or broken clients: a client sending a request a byte
//! at a time cannot keep the game from ending and writing its scorecard; a client that
//! closes its sending side mid-body has nothing applied; a complete request from a
//! half-closed client is applied and answered; `/api/state` reveals nothing that
//! identifies the world and stays bounded; bodies of the wrong shape are refused.

use super::gameday::{agent, csv_rows, get, json, post, start};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long a game that was told to end may take to exit before the test calls it a hang
/// (the server gives open connections two seconds).
const EXIT_LIMIT: Duration = Duration::from_secs(60);

fn connect(base: &str) -> TcpStream {
    let addr = base.trim_start_matches("http://");
    let s = TcpStream::connect(addr).expect("connects to the game");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("a read timeout");
    s
}

/// Sends `bytes` one at a time, 50 ms apart, until they run out, the server closes the
/// connection or `stop` is set; it never finishes a request on its own.
fn trickle(base: &str, bytes: Vec<u8>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    let mut s = connect(base);
    std::thread::spawn(move || {
        for b in bytes {
            if stop.load(Ordering::Relaxed) || s.write_all(&[b]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Hold the connection open without sending the rest.
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(50));
        }
    })
}

/// A request's text with a `Content-Length` that promises `length` bytes of `body`.
fn request(path: &str, body: &str, length: usize) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: game\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n{body}"
    )
}

/// Whatever the server answered before closing, as text (empty if it just closed).
fn answer(mut s: TcpStream) -> String {
    let mut text = Vec::new();
    let _ = s.read_to_end(&mut text);
    String::from_utf8_lossy(&text).into_owned()
}

#[test]
fn a_client_sending_a_byte_at_a_time_cannot_keep_the_game_from_ending() {
    let g = start(&["--virtual", "--seed", "6"]);
    let stop = Arc::new(AtomicBool::new(false));
    // One stalls in its headers, one in its body; neither ever completes.
    let headers = request("/api/rollback", "", 0).into_bytes();
    let body = request("/api/flag", r#"{"on": false}"#, 13).into_bytes();
    let mut clients = vec![trickle(&g.base, headers, stop.clone())];
    let mut slow_body = connect(&g.base);
    slow_body
        .write_all(&body[..body.len() - 13])
        .expect("headers sent");
    clients.push(trickle(
        &g.base,
        body[body.len() - 13..].to_vec(),
        stop.clone(),
    ));
    std::thread::sleep(Duration::from_millis(300));

    let a = agent();
    let (s, text) = post(&a, &format!("{}/api/end", g.base), None);
    assert_eq!(s, 200, "{text}");
    let (code, stderr, out, _dir) = g.wait_within(EXIT_LIMIT);
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().expect("the slow client");
    }
    drop(slow_body);
    assert_eq!(code, 0, "{stderr:?}");
    assert!(out.join("scorecard.csv").is_file(), "{stderr:?}");
    // Neither half-sent request was applied.
    assert!(csv_rows(&out.join("actions.csv")).is_empty());
}

#[test]
fn ctrl_c_ends_the_game_and_writes_the_scorecard_despite_a_slow_client() {
    let g = start(&["--virtual", "--seed", "6"]);
    let stop = Arc::new(AtomicBool::new(false));
    let client = trickle(
        &g.base,
        request("/api/rollback", "", 0).into_bytes(),
        stop.clone(),
    );
    std::thread::sleep(Duration::from_millis(300));
    let status = std::process::Command::new("kill")
        .args(["-INT", &g.pid().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let (code, stderr, out, _dir) = g.wait_within(EXIT_LIMIT);
    stop.store(true, Ordering::Relaxed);
    client.join().expect("the slow client");
    assert_eq!(code, 0, "{stderr:?}");
    assert!(out.join("scorecard.csv").is_file(), "{stderr:?}");
    let manifest = std::fs::read_to_string(out.join("manifest.json")).expect("manifest.json");
    assert!(manifest.contains("\"interrupted\": true"), "{manifest}");
}

#[test]
fn a_half_closed_client_has_only_complete_requests_applied() {
    let g = start(&["--virtual", "--seed", "6"]);
    let a = agent();
    post(
        &a,
        &format!("{}/api/advance", g.base),
        Some(r#"{"by": "27m"}"#),
    );

    // Cut short: the body promised 13 bytes, 9 came, then the client closed its side.
    for (path, partial, length) in [
        ("/api/flag", r#"{"on": fa"#, 13),
        ("/api/rollback", "{", 2),
        ("/api/pause", "", 10),
    ] {
        let mut s = connect(&g.base);
        s.write_all(request(path, partial, length).as_bytes())
            .expect("the partial request is sent");
        s.shutdown(Shutdown::Write).expect("half-close");
        let text = answer(s);
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 400"),
            "{path}: {text}"
        );
    }
    let (_, state) = get(&a, &format!("{}/api/state", g.base));
    let state = json(&state);
    assert_eq!(state["actions_total"], 0, "{state}");
    assert_eq!(state["flag_on"], true);
    assert_eq!(state["phase"], "rolling");

    // Complete, then half-closed: applied, and answered.
    let mut s = connect(&g.base);
    s.write_all(request("/api/flag", r#"{"on": false}"#, 13).as_bytes())
        .expect("the request is sent");
    s.shutdown(Shutdown::Write).expect("half-close");
    let text = answer(s);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("\"done\":true"), "{text}");
    let (_, state) = get(&a, &format!("{}/api/state", g.base));
    let state = json(&state);
    assert_eq!(state["flag_on"], false, "{state}");
    assert_eq!(state["actions_total"], 1);

    post(&a, &format!("{}/api/end", g.base), None);
    let (code, stderr, out, _dir) = g.wait_within(EXIT_LIMIT);
    assert_eq!(code, 0, "{stderr:?}");
    let actions = csv_rows(&out.join("actions.csv"));
    let names: Vec<&str> = actions.iter().map(|r| r["action"].as_str()).collect();
    assert_eq!(names, ["flag_off"]);
}

#[test]
fn bodies_of_the_wrong_shape_and_absurd_injects_are_refused() {
    let g = start(&["--virtual", "--seed", "1"]);
    let a = agent();
    let url = |p: &str| format!("{}{p}", g.base);
    let cases = [
        ("/api/flag", "[true]", "must be a JSON object"),
        ("/api/flag", "true", "must be a JSON object"),
        (
            "/api/inject",
            r#"["db-failover", "5m"]"#,
            "must be a JSON object",
        ),
        (
            "/api/inject",
            r#"{"fault": "db-failover", "duration": "500000000000y"}"#,
            "is longer than the game (3h); at most the game's duration",
        ),
        (
            "/api/inject",
            r#"{"fault": "db-failover", "duration": "3h 1s"}"#,
            "is longer than the game",
        ),
        ("/api/advance", r#"["10m"]"#, "must be a JSON object"),
    ];
    for (path, body, reason) in cases {
        let (s, text) = post(&a, &url(path), Some(body));
        assert_eq!(s, 422, "{path} {body}: {text}");
        let why = json(&text)["error"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(why.contains(reason), "{path} {body}: {text}");
    }
    // The game's whole length is still a valid inject.
    let (s, text) = post(
        &a,
        &url("/api/inject"),
        Some(r#"{"fault": "db-failover", "duration": "3h"}"#),
    );
    assert_eq!(s, 200, "{text}");
    let (_, state) = get(&a, &url("/api/state"));
    assert_eq!(json(&state)["actions_total"], 1, "{state}");
}

#[test]
fn the_state_names_no_seed_and_keeps_only_the_latest_actions() {
    let g = start(&["--virtual", "--seed", "6"]);
    // The facilitator's terminal has the seed and the command for the same world before
    // the game starts; the players' status line does not.
    // The command follows on lines of at most 100 columns, broken with shell
    // continuations so it pastes as printed.
    let started = g.started.join("\n");
    let facilitator = started
        .split_once("facilitator only: seed 6, run 0; this game's world again:\n")
        .map(|(_, rest)| rest.replace(" \\\n   ", " "))
        .unwrap_or_else(|| panic!("no facilitator line: {:?}", g.started));
    assert!(
        g.started.iter().all(|l| l.chars().count() <= 100),
        "{started}"
    );
    assert!(
        facilitator.contains("gameday scenarios/gameday-checkout.toml")
            && facilitator.contains("--seed 6"),
        "{facilitator}"
    );
    let status = g
        .started
        .iter()
        .find(|l| l.starts_with("game day: "))
        .unwrap_or_else(|| panic!("no game day line: {:?}", g.started));
    assert!(!status.contains("seed"), "{status}");
    let a = agent();
    let url = |p: &str| format!("{}{p}", g.base);
    post(&a, &url("/api/advance"), Some(r#"{"by": "25m"}"#));
    // 120 commands: pause and resume alternate, so every one takes effect.
    for i in 0..120 {
        let path = if i % 2 == 0 {
            "/api/pause"
        } else {
            "/api/resume"
        };
        let (s, text) = post(&a, &url(path), None);
        assert_eq!(s, 200, "{path}: {text}");
    }
    post(&a, &url("/api/resume"), None); // not paused: refused, still counted
    let (_, state) = get(&a, &url("/api/state"));
    let v = json(&state);
    assert!(v.get("seed").is_none(), "{state}");
    assert!(!state.contains("\"seed\""), "{state}");
    assert_eq!(v["actions_total"], 121);
    assert_eq!(v["actions_done"], 120);
    let shown = v["actions"].as_array().expect("actions");
    assert_eq!(shown.len(), 50, "the latest 50 only");
    assert_eq!(shown[49]["done"], false);
    assert_eq!(shown[48]["action"], "resume");
    assert_eq!(shown[0]["action"], "resume", "the 72nd command, a resume");
    assert_eq!(shown[1]["action"], "pause");

    post(&a, &url("/api/end"), None);
    let (code, stderr, out, _dir) = g.wait_within(EXIT_LIMIT);
    assert_eq!(code, 0, "{stderr:?}");
    // Every action is recorded, and the scorecard reveals the world's seed.
    assert_eq!(csv_rows(&out.join("actions.csv")).len(), 121);
    let html = std::fs::read_to_string(out.join("scorecard.html")).expect("scorecard.html");
    assert!(html.contains("(seed 6)"), "the scorecard reveals the seed");
}
