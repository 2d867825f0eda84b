//! A real Prometheus server scrapes a live game's `/metrics` (issue 7's quality bar): the
//! error rate a PromQL query returns is the game's simulated error rate.
//!
//! Needs the `prometheus` binary on PATH (Debian package `prometheus`; `bash .ci/run`
//! installs it). The test starts its own Prometheus on a free loopback port with its own
//! configuration and storage in a temporary directory, and kills it at the end. Every
//! request goes to loopback; every wait has a deadline.

use crate::gameday::{agent, csv_rows, get, json, post, start};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Seed 9 of the shipped game-day scenario plays a bad release (5% errors from 0:25) and
/// no payments blip: from 0:50 to 1:05 the rollout holds at 50%, a steady error rate.
const SEED: &str = "9";
/// Game seconds per wall second: a 15 s scrape tick of the game every 0.3 s of wall time,
/// so each 1 s Prometheus scrape sees three or four of them.
const SPEED: f64 = 50.0;
/// Where the measurement starts: 0:50:30 of game time.
const FROM_GAME_S: f64 = 3030.0;
/// How long Prometheus watches (wall time): 600 s of game time, ending before 1:05.
const WATCH: Duration = Duration::from_secs(12);

/// The `prometheus` binary, or a failure that says how to install it.
fn prometheus_binary() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("prometheus"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "this test needs a real Prometheus server, and `prometheus` is not on PATH: \
                 install it with `apt-get install prometheus` (Debian/Ubuntu; `bash .ci/run` \
                 does this), or put a Prometheus 2.x binary on PATH"
            )
        })
}

/// A loopback port nobody listens on (free when asked; Prometheus binds it right after).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs_f64()
}

/// A Prometheus server of this test's own; killed when dropped.
struct Prometheus {
    child: Child,
    base: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus scraping `target` (host:port) every second and waits until ready.
    fn start(binary: &Path, target: &str) -> Prometheus {
        Self::start_with(binary, target, "")
    }

    /// [`Self::start`] with more top-level configuration (`rule_files`, `alerting`).
    fn start_with(binary: &Path, target: &str, extra: &str) -> Prometheus {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: rollsim\n    static_configs:\n      - targets: [\"{target}\"]\n{extra}"
            ),
        )
        .expect("the configuration is written");
        let log = dir.path().join("prometheus.log");
        let out = std::fs::File::create(&log).expect("a log file");
        let err = out.try_clone().expect("a log file");
        let addr = format!("127.0.0.1:{}", free_port());
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("{} does not start: {e}", binary.display()));
        let mut p = Prometheus {
            child,
            base: format!("http://{addr}"),
            log,
            _dir: dir,
        };
        let a = short_agent();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = p.child.try_wait() {
                panic!("Prometheus exited ({status}): {}", p.log());
            }
            if let Ok(r) = a.get(format!("{}/-/ready", p.base)).call() {
                if r.status().as_u16() == 200 {
                    return p;
                }
            }
            assert!(
                Instant::now() < deadline,
                "Prometheus not ready after 20 s: {}",
                p.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the target has been scraped once: Prometheus is ready before its
    /// scrape loop starts (target discovery sends its first update after up to 5 s).
    fn wait_for_first_scrape(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.query(r#"up{job="rollsim"}"#, unix_now()).is_empty() {
            assert!(
                Instant::now() < deadline,
                "Prometheus did not scrape the game within 20 s: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The result of an instant query evaluated at `at` (Unix seconds).
    fn query(&self, promql: &str, at: f64) -> Vec<serde_json::Value> {
        let mut r = short_agent()
            .get(format!("{}/api/v1/query", self.base))
            .query("query", promql)
            .query("time", format!("{at:.3}"))
            .call()
            .unwrap_or_else(|e| panic!("{promql}: {e}"));
        let body = r.body_mut().read_to_string().unwrap_or_default();
        let v = json(&body);
        assert_eq!(v["status"], "success", "{promql}: {body}");
        v["data"]["result"].as_array().cloned().unwrap_or_default()
    }

    /// The single value of an instant query that returns one series.
    fn scalar(&self, promql: &str, at: f64) -> f64 {
        let result = self.query(promql, at);
        assert_eq!(result.len(), 1, "{promql}: {result:?}");
        number(&result[0]["value"][1])
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client whose every request gives up after 5 s (everything it asks is on loopback).
fn short_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into()
}

/// A sample value as the Prometheus API sends it: a string.
fn number(v: &serde_json::Value) -> f64 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a sample value: {v}"))
}

/// Requests and errors of both versions in a `/api/state` body, with its game time.
fn totals(state: &serde_json::Value) -> (f64, f64, f64) {
    let n = |v: &str, k: &str| state[v][k].as_f64().expect("a counter");
    (
        state["game_time_s"].as_f64().expect("game time"),
        n("old", "requests_total") + n("new", "requests_total"),
        n("old", "errors_total") + n("new", "errors_total"),
    )
}

#[test]
fn prometheus_scrapes_the_game_and_promql_returns_the_simulated_error_rate() {
    let binary = prometheus_binary();
    let test_started = Instant::now();
    let g = start(&["--speed", &SPEED.to_string(), "--seed", SEED]);
    let target = g.base.trim_start_matches("http://").to_string();
    let prom = Prometheus::start(&binary, &target);
    prom.wait_for_first_scrape();
    let a = agent();
    let state = |a: &ureq::Agent| {
        let (s, body) = get(a, &format!("{}/api/state", g.base));
        assert_eq!(s, 200, "{body}");
        json(&body)
    };

    // Jump to 0:50:30 (the 50% step); every sample Prometheus takes from here on is after
    // the jump, since the state is published before the advance is answered.
    let now = state(&a)["game_time_s"].as_f64().expect("game time");
    assert!(
        now < FROM_GAME_S - 60.0,
        "the game is already at {now} s: Prometheus took too long to start"
    );
    let by_ms = ((FROM_GAME_S - now) * 1000.0) as u64;
    let (s, body) = post(
        &a,
        &format!("{}/api/advance", g.base),
        Some(&format!(r#"{{"by": "{by_ms}ms"}}"#)),
    );
    assert_eq!(s, 200, "{body}");

    let s0 = state(&a);
    let w0 = unix_now();
    std::thread::sleep(WATCH);
    let w1 = unix_now();
    let s1 = state(&a);
    // Let the scrape that started just before w1 land in the database.
    std::thread::sleep(Duration::from_millis(1200));
    for s in [&s0, &s1] {
        assert_eq!(s["share_new"], 0.5, "still in the 50% step: {s}");
    }

    // The target is healthy: every scrape parsed (an exposition error would show here).
    assert_eq!(prom.scalar(r#"up{job="rollsim"}"#, w1), 1.0);
    let (_, targets) = get(&short_agent(), &format!("{}/api/v1/targets", prom.base));
    let targets = json(&targets);
    let t = &targets["data"]["activeTargets"][0];
    assert_eq!(t["health"], "up", "{targets}");
    assert_eq!(t["lastError"], "", "{targets}");

    // The query window is the wall-clock interval between the two state reads.
    let window = format!("{}ms", ((w1 - w0) * 1000.0).floor() as u64);
    let error_rate = format!(
        r#"sum(increase(rollsim_requests_total{{status="error"}}[{window}])) / sum(increase(rollsim_requests_total[{window}]))"#
    );
    let promql = prom.scalar(&error_rate, w1);

    // 1. Against the game's own counters at the two reads. Prometheus' ratio is exactly
    // the counters' between its first and last sample in the window: `increase`
    // extrapolates each series to the window's edges by the same factor (all series
    // share the scrape timestamps, and no counter is near zero, so the clamp at zero
    // never applies), which cancels in the ratio. Those samples are at most one scrape
    // interval inside each edge, so up to 2 s of the 12 s window (N_u of N ~ 17,000
    // requests, ~2,900 at 50 game s per wall s and ~29 requests per game second) are
    // left out. At p ~ 2.7% the difference r_state - r_prom = (N_u/N)(r_u - r_prom) has
    // a standard deviation sqrt(p(1-p) N_u / (N (N - N_u))) ~ 0.0005; 0.003 is about six
    // of them (~11% of the rate), and still tells 2.7% from the old version's 0.2% or the
    // new version's 5%.
    let (g0, n0, e0) = totals(&s0);
    let (g1, n1, e1) = totals(&s1);
    let simulated = (e1 - e0) / (n1 - n0);
    eprintln!(
        "error rate over {window} of wall time ({g0} to {g1} s of game time): \
         simulated {simulated:.5} ({} of {} requests), Prometheus {promql:.5}",
        e1 - e0,
        n1 - n0
    );
    assert!(
        (promql - simulated).abs() <= 0.003,
        "PromQL `{error_rate}` = {promql}, simulated {simulated}"
    );

    // 2. Exactly, against the game's trace over the very game interval Prometheus saw:
    // its first and last samples of `rollsim_game_time_seconds` in the window, taken
    // in the same scrapes as the counters.
    let samples = prom.query(&format!("rollsim_game_time_seconds[{window}]"), w1);
    assert_eq!(samples.len(), 1, "{samples:?}");
    let game_times: Vec<f64> = samples[0]["values"]
        .as_array()
        .expect("samples")
        .iter()
        .map(|s| number(&s[1]))
        .collect();
    assert!(
        game_times.len() >= 9,
        "a scrape a second for 12 s: {game_times:?}"
    );
    let (ga, gb) = (game_times[0], game_times[game_times.len() - 1]);
    assert!(g0 <= ga && gb <= g1, "{g0} <= {ga} < {gb} <= {g1}");

    let rollout_weight = prom.scalar("rollsim_rollout_weight", w1);
    assert_eq!(rollout_weight, s1["share_new"].as_f64().unwrap_or(-1.0));
    assert_eq!(
        prom.scalar(
            r#"rollsim_deploy_info{service="checkout",phase="rolling",attempt="1"}"#,
            w1
        ),
        1.0
    );
    // The old version's latency: log-normal, p50 60 ms, p99 300 ms. The 0.99 quantile
    // lies in the (0.25, 0.5] bucket, where histogram_quantile interpolates; the mean
    // is 60 ms * exp(sigma^2 / 2) = 76 ms (sigma = ln 5 / 2.326).
    let p99_query = format!(
        r#"histogram_quantile(0.99, sum by (le) (rate(rollsim_request_duration_seconds_bucket{{version="old"}}[{window}])))"#
    );
    let p99 = prom.scalar(&p99_query, w1);
    let mean = prom.scalar(
        &format!(
            r#"sum(rate(rollsim_request_duration_seconds_sum{{version="old"}}[{window}])) / sum(rate(rollsim_request_duration_seconds_count{{version="old"}}[{window}]))"#
        ),
        w1,
    );
    eprintln!("old version: p99 {p99:.3} s, mean {mean:.4} s (Prometheus)");
    assert!((0.25..=0.5).contains(&p99), "`{p99_query}` = {p99}");
    assert!((0.07..=0.085).contains(&mean), "mean latency {mean}");

    let (s, body) = post(&a, &format!("{}/api/end", g.base), None);
    assert_eq!(s, 200, "{body}");
    // The trace is written before the manifest; wait (bounded) for the manifest.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !g.out.join("manifest.json").exists() {
        assert!(
            Instant::now() < deadline,
            "the game wrote no manifest 60 s after its end"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The counters at game time t hold every 15 s tick before t.
    let (mut n, mut e) = (0.0, 0.0);
    for row in csv_rows(&g.out.join("trace.csv")) {
        let t: f64 = row["t_s"].parse().expect("t_s");
        if ga <= t && t < gb {
            n += row["requests"].parse::<f64>().expect("requests");
            e += row["failed_requests"]
                .parse::<f64>()
                .expect("failed_requests");
        }
    }
    eprintln!(
        "game time {ga} to {gb} s: trace {:.6} ({e} of {n}), Prometheus {promql:.6}; test took {:.1} s",
        e / n,
        test_started.elapsed().as_secs_f64()
    );
    assert!(
        (promql - e / n).abs() <= 1e-9,
        "PromQL `{error_rate}` = {promql}, trace {e} / {n} = {}",
        e / n
    );
    drop(g);
    drop(prom);
}

/// The shipped Prometheus set-up for game days is valid, and its alert rules fire as their
/// unit tests say (`promtool`, from the same package as `prometheus`).
#[test]
fn the_shipped_prometheus_config_and_alert_rules_pass_promtool() {
    let promtool = prometheus_binary().with_file_name("promtool");
    assert!(
        promtool.is_file(),
        "promtool is missing beside {}: it comes with the prometheus package",
        prometheus_binary().display()
    );
    for args in [
        ["check", "config", "scenarios/gameday/prometheus.yml"],
        ["test", "rules", "scenarios/gameday/alerts.test.yml"],
    ] {
        let out = std::process::Command::new(&promtool)
            .args(args)
            .output()
            .expect("promtool runs");
        assert!(
            out.status.success(),
            "promtool {args:?}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A free loopback `host:port`.
fn free_addr() -> String {
    format!("127.0.0.1:{}", free_port())
}

/// A real Alertmanager (Debian's `prometheus-alertmanager`), killed when dropped.
struct Alertmanager {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The whole alert pipeline as a team would run it, as the decision maker of a game: a
/// real Prometheus evaluates the shipped alert rules (`scenarios/gameday/alerts.yml`) on
/// the game's metrics, a real Alertmanager posts the firing alert to `/api/rollback`
/// (README, "A testbed for real automation"), and the game rolls the bad release back.
#[test]
fn a_real_alert_pipeline_rolls_back_a_bad_release() {
    let prometheus = prometheus_binary();
    let alertmanager = prometheus.with_file_name("prometheus-alertmanager");
    assert!(
        alertmanager.is_file(),
        "this test needs a real Alertmanager: install Debian's `prometheus-alertmanager` \
         (`bash .ci/setup` does)"
    );
    // Seed 6 plays a bad release: deployed at 0:20, failing 5% of its requests from 0:25.
    let g = start(&["--speed", "10", "--seed", "6"]);
    let target = g.base.trim_start_matches("http://").to_string();

    let am_dir = tempfile::tempdir().expect("a temporary directory");
    let am_config = am_dir.path().join("alertmanager.yml");
    std::fs::write(
        &am_config,
        format!(
            "route:\n  receiver: rollsim\n  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\n\
             receivers:\n  - name: rollsim\n    webhook_configs:\n      - url: {}/api/rollback\n        send_resolved: false\n",
            g.base
        ),
    )
    .expect("the configuration is written");
    let am_addr = free_addr();
    let am_log = std::fs::File::create(am_dir.path().join("alertmanager.log")).expect("a log");
    let am_child = Command::new(&alertmanager)
        .arg(format!("--config.file={}", am_config.display()))
        .arg(format!(
            "--storage.path={}",
            am_dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address={am_addr}"))
        .arg("--cluster.listen-address=")
        .stdin(Stdio::null())
        .stdout(am_log.try_clone().expect("a log"))
        .stderr(am_log)
        .spawn()
        .unwrap_or_else(|e| panic!("{} does not start: {e}", alertmanager.display()));
    let am_log_path = am_dir.path().join("alertmanager.log");
    let _am = Alertmanager {
        child: am_child,
        _dir: am_dir,
    };
    let a = short_agent();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !a
        .get(format!("http://{am_addr}/-/ready"))
        .call()
        .is_ok_and(|r| r.status().as_u16() == 200)
    {
        assert!(
            Instant::now() < deadline,
            "Alertmanager not ready after 20 s: {}",
            std::fs::read_to_string(&am_log_path).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let rules = std::fs::canonicalize("scenarios/gameday/alerts.yml").expect("the shipped rules");
    let extra = format!(
        "rule_files:\n  - {}\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [\"{am_addr}\"]\n",
        rules.display()
    );
    let prom = Prometheus::start_with(&prometheus, &target, &extra);
    prom.wait_for_first_scrape();

    // Skip to 0:24, a minute before the defect shows (the game is paced from there).
    let (_, body) = get(&a, &format!("{}/api/state", g.base));
    let now = json(&body)["game_time_s"].as_f64().expect("game time");
    assert!(now < 1440.0, "the game is already at {now} s");
    let by = format!("{{\"by\": \"{}ms\"}}", ((1440.0 - now) * 1000.0) as u64);
    let (s, body) = post(&a, &format!("{}/api/advance", g.base), Some(&by));
    assert_eq!(s, 200, "{body}");

    // The alert needs the 20 s error ratio over 2% for 5 s, then Alertmanager calls us.
    let deadline = Instant::now() + Duration::from_secs(60);
    let rollback = loop {
        let (_, body) = get(&a, &format!("{}/api/state", g.base));
        let state = json(&body);
        let done = state["actions"].as_array().and_then(|actions| {
            actions
                .iter()
                .find(|x| x["action"] == "rollback" && x["source"] == "http" && x["done"] == true)
                .cloned()
        });
        if let Some(x) = done {
            break x;
        }
        assert!(
            Instant::now() < deadline,
            "no rollback from Alertmanager within 60 s; alerts: {:?}; state: {state}",
            prom.query("ALERTS", unix_now())
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    let at_s = rollback["at_ms"].as_f64().expect("its time") / 1000.0;
    assert!(
        (1500.0..1800.0).contains(&at_s),
        "the rollback at {at_s} s comes after the defect (1500 s) and within 5 game minutes"
    );
    let (s, _) = post(&a, &format!("{}/api/end", g.base), None);
    assert_eq!(s, 200);
    let (code, stderr, out, _dir) = g.wait();
    assert_eq!(code, 0, "{stderr:?}");
    let team = &csv_rows(&out.join("scorecard.csv"))[0];
    assert_eq!(
        team["rollbacks"], "1",
        "one rollback, however often the alert repeats"
    );
    assert_eq!(team["false_positive_rollbacks"], "0");
    assert_eq!(team["missed_bad_release"], "false");
}
