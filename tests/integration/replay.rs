//! `replay`: a policy fed a recording of a simulated run makes exactly the decisions it
//! made in that run; bad recordings and labels are rejected with file:line messages.

use super::rollsim;
use super::{replay_traced_run, TracedReplay};
use predicates::prelude::*;
use rollsim::recorded::{self, SeriesName};
use rollsim::sim::{Prepared, World};

/// A canary with retries, a metric delay, lost scrapes, outages and bad releases: every
/// path by which observations reach a policy.
const SCENARIO: &str = r#"
[simulation]
duration = "8h"
scrape_interval = "15s"

[service]
request_rate = 30.0
diurnal_amplitude = 0.3
baseline_error_rate = 0.004

[signals]
noise_sd = 0.4
noise_correlation = "20m"
missing_scrape_probability = 0.05
metric_delay = "30s"

[health_check]
interval = "10s"
false_failure_probability = 0.05

[release]
at = "1h"
bad_probability = 0.5
bake = "30m"

[release.bad]
error_rate = 0.03

[rollout]
strategy = "canary"
steps = [{ weight = 10, pause = "10m" }, { weight = 50, pause = "10m" }, { weight = 100 }]

[pipeline]
max_attempts = 3
retry_delay = { uniform = ["5m", "15m"] }

[[faults]]
name = "blip"
kind = "dependency_outage"
rate_per_hour = 0.3
duration = { exponential = "5m" }
error_rate = 0.1

[[policies]]
name = "threshold"
kind = "threshold"
error_rate_above = 0.02
window = "5m"

[[policies]]
name = "standing"
kind = "threshold"
error_rate_above = 0.03
window = "2m"
for = "1m"
until = "end"

[[policies]]
name = "p99-no-data-breach"
kind = "threshold"
latency_p99_above = "280ms"
min_requests = 50
on_no_data = "breach"

[[policies]]
name = "argo"
kind = "argo_analysis"
interval = "2m"
failure_limit = 1
failure_error_rate_above = 0.02

[[policies]]
name = "flagger"
kind = "flagger"
interval = "1m"
threshold = 3
request_success_rate_min = 98.0

[[policies]]
name = "kayenta"
kind = "kayenta"
interval = "5m"

[[policies]]
name = "burn"
kind = "burn_rate"
slo = 0.999
traffic = "new"

[[policies]]
name = "probes"
kind = "consecutive"
failures = 3

[[policies]]
name = "ecs"
kind = "ecs_circuit_breaker"
reset_on_healthy_task = false

[[policies]]
name = "sequential"
kind = "sequential"
"#;

#[test]
fn replay_of_a_recorded_run_makes_the_simulators_decisions() {
    let scn = crate::scenario(SCENARIO);
    let prepared = Prepared::new(&scn);
    let mut compared = 0;
    let mut decisions = 0;
    let mut per_policy = std::collections::BTreeMap::new();
    for run in 0..25 {
        let world = World::for_run(&scn, 11, run);
        for spec in &scn.policies {
            // Through the files a user would have: metrics.csv and labels.csv.
            let TracedReplay {
                simulated,
                replayed,
                ..
            } = replay_traced_run(&scn, &prepared, &world, spec);
            assert_eq!(
                replayed, simulated,
                "run {run}, policy {}: replayed decisions differ from the simulated ones",
                spec.name
            );
            compared += 1;
            decisions += simulated.len();
            *per_policy.entry(spec.name.clone()).or_insert(0) += simulated.len();
        }
    }
    assert_eq!(compared, 25 * 10);
    // Every policy decided, often (483 decisions when written): deploys, retries, lost
    // scrapes and delayed scrapes around decisions all happen.
    assert!(decisions > 300, "only {decisions} decisions compared");
    for (name, n) in &per_policy {
        assert!(
            *n > 0,
            "policy {name} never decided: the comparison says nothing of it"
        );
    }
}

#[test]
fn replay_cli_writes_decisions_incidents_and_a_run_style_summary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    rollsim()
        .args([
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
        ])
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "policy                              decisions   false+ decisions  missed incidents  detection delay\n",
        ));
    let summary = std::fs::read_to_string(out.join("summary.csv")).expect("summary.csv");
    assert!(summary.starts_with("policy,metric,mean,ci95_low,ci95_high,n\n"));
    assert!(summary.contains("error-rate-2pct-5m,missed_incidents,"));
    let decisions = std::fs::read_to_string(out.join("decisions.csv")).expect("decisions");
    assert!(
        decisions.starts_with("time,unix_s,policy,decision,verdict,incident_kind,incident_line\n")
    );
    assert!(decisions.contains(",true_positive,bad_release,"));
    let incidents = std::fs::read_to_string(out.join("incidents.csv")).expect("incidents");
    assert!(incidents.contains("error-rate-2pct-5m,") && incidents.contains(",bad_release,"));
    let manifest = std::fs::read_to_string(out.join("manifest.json")).expect("manifest");
    assert!(manifest.contains("\"kind\": \"replay\"") && manifest.contains("\"hold_s\": 1800.0"));
}

/// Runs `rollsim replay` on `metrics` (and `labels`): exit 2 with every expected message.
fn rejects(metrics: &str, labels: Option<&str>, expected: &[&str]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = dir.path().join("m.csv");
    std::fs::write(&m, metrics).expect("write");
    let out = dir.path().join("out");
    let mut c = rollsim();
    c.arg("replay")
        .arg(&m)
        .args(["--policies", "scenarios/quickstart.toml", "--out"])
        .arg(&out);
    if let Some(l) = labels {
        let p = dir.path().join("l.csv");
        std::fs::write(&p, l).expect("write");
        c.arg("--labels").arg(&p);
    }
    let mut a = c
        .assert()
        .code(2)
        .stderr(predicate::str::contains("panicked").not());
    for e in expected {
        let e = e
            .replace("M:", &format!("{}:", m.display()))
            .replace("L:", &format!("{}:", dir.path().join("l.csv").display()));
        a = a.stderr(predicate::str::contains(e));
    }
    assert!(!out.exists(), "no output for bad input");
}

const HEADER: &str = "timestamp,series,value\n";

#[test]
fn replay_rejects_unsorted_and_duplicate_timestamps_with_lines() {
    rejects(
        &format!("{HEADER}15,requests,10\n30,requests,10\n30,requests,9\n20,requests,3\n"),
        None,
        &[
            "M:4: duplicate timestamp 1970-01-01T00:00:30Z for series requests",
            "M:5: timestamp 1970-01-01T00:00:20Z of series requests is before the previous one",
        ],
    );
}

#[test]
fn replay_rejects_nan_and_unknown_series_with_lines() {
    rejects(
        &format!("{HEADER}15,requests,10\n15,errors,NaN\n30,requets,10\n"),
        None,
        &[
            "M:3: errors is NaN",
            "M:4: unknown series \"requets\"; expected one of requests, errors",
        ],
    );
}

#[test]
fn replay_rejects_labels_outside_the_data() {
    let metrics: String = (1..=8).fold(HEADER.to_string(), |s, i| {
        s + &format!("{},requests,100\n", i * 15)
    });
    rejects(
        &metrics,
        Some("start,end,kind\n15,,deploy\n3600,4000,outage\n"),
        &["L:3: incident outage from 1970-01-01T01:00:00Z to 1970-01-01T01:06:40Z is outside the data; the data runs from 1970-01-01T00:00:15Z to 1970-01-01T00:02:00Z"],
    );
}

#[test]
fn replay_rejects_a_scrape_interval_other_than_the_policies() {
    let metrics: String = (1..=8).fold(HEADER.to_string(), |s, i| {
        s + &format!("{},requests,100\n", i * 60)
    });
    rejects(
        &metrics,
        None,
        &["the data is scraped every 1m but scenarios/quickstart.toml has simulation.scrape_interval = 15s"],
    );
}

#[test]
fn replay_takes_gaps_as_lost_scrapes() {
    // A gap is data: 45 s and 60 s are lost scrapes, and the run succeeds.
    let dir = tempfile::tempdir().expect("tempdir");
    let m = dir.path().join("m.csv");
    std::fs::write(
        &m,
        format!("{HEADER}15,requests,10\n30,requests,10\n75,requests,10\n90,requests,10\n"),
    )
    .expect("write");
    rollsim()
        .arg("replay")
        .arg(&m)
        .args(["--policies", "scenarios/quickstart.toml", "--out"])
        .arg(dir.path().join("out"))
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "(4 scrapes, 2 lost; 0 health checks)",
        ));
}

#[test]
fn replay_reads_a_prometheus_range_query_and_locates_its_problems() {
    let dir = tempfile::tempdir().expect("tempdir");
    let values = |v: &str| {
        (1..=8)
            .map(|i| format!("[{},\"{v}\"]", 1_717_408_800 + i * 15))
            .collect::<Vec<_>>()
            .join(",")
    };
    let good = format!(
        "{{\"status\":\"success\",\"data\":{{\"resultType\":\"matrix\",\"result\":[\n{{\"metric\":{{\"series\":\"requests\"}},\"values\":[{}]}},\n{{\"metric\":{{\"__name__\":\"errors\"}},\"values\":[{}]}}]}}}}",
        values("100"),
        values("50")
    );
    let m = dir.path().join("q.json");
    std::fs::write(&m, &good).expect("write");
    rollsim()
        .arg("replay")
        .arg(&m)
        .args(["--policies", "scenarios/quickstart.toml", "--out"])
        .arg(dir.path().join("out"))
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "replayed 2024-06-03T10:00:15Z to 2024-06-03T10:02:00Z (8 scrapes, 0 lost",
        ));
    // The quickstart's 30 s metric delay: the first scrape is seen at 10:00:45, and its
    // rule holds for 1 minute.
    let decisions =
        std::fs::read_to_string(dir.path().join("out/decisions.csv")).expect("decisions");
    assert!(decisions.contains("2024-06-03T10:01:45Z,1717408905.0,error-rate-2pct,rollback"));
    let bad = good.replacen("\"50\"", "\"NaN\"", 1);
    std::fs::write(&m, &bad).expect("write");
    let col = bad
        .lines()
        .nth(2)
        .and_then(|l| l.find("[1717408815,\"NaN\"]"))
        .expect("pair")
        + 1;
    rollsim()
        .arg("replay")
        .arg(&m)
        .args(["--policies", "scenarios/quickstart.toml", "--out"])
        .arg(dir.path().join("out2"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "{}:3:{col}: errors is NaN",
            m.display()
        )));
}

/// An Argo policy whose analyses run at canary steps cannot be replayed (a recording has
/// no step times): it is skipped with a note, and the others are replayed.
#[test]
fn replay_skips_step_analyses_with_a_note() {
    let dir = tempfile::tempdir().expect("tempdir");
    let policies = dir.path().join("policies.toml");
    std::fs::write(
        &policies,
        r#"
[simulation]
scrape_interval = "30s"

[[policies]]
name = "argo-steps"
kind = "argo_analysis"
interval = "1m"
count = 3
success_error_rate_below = 0.01
failure_error_rate_above = 0.05
rollout = { strategy = "canary", steps = [{ weight = 20, pause = "5m", analysis = true }, { weight = 100 }] }

[[policies]]
name = "error-rate-2pct-5m"
kind = "threshold"
error_rate_above = 0.02
window = "5m"
until = "end"
"#,
    )
    .expect("write policies");
    let out = dir.path().join("out");
    rollsim()
        .args(["replay", "scenarios/replay/metrics.csv", "--labels", "scenarios/replay/labels.csv", "--policies"])
        .arg(&policies)
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "note: policy argo-steps runs its analyses at canary steps (`analysis = true`), whose times a recording lacks; skipped",
        ));
    let decisions = std::fs::read_to_string(out.join("decisions.csv")).expect("decisions");
    assert!(!decisions.contains("argo-steps"));
    assert!(decisions.contains("error-rate-2pct-5m"));
}

/// A Kayenta judge over a recording without the old version: every baseline point would
/// be NaN (0 under the default nanStrategy), so every judgement would fail the canary. It
/// is skipped with a note; the other policies are replayed.
#[test]
fn replay_skips_kayenta_without_a_baseline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let policies = dir.path().join("policies.toml");
    std::fs::write(
        &policies,
        r#"
[simulation]
scrape_interval = "30s"

[[policies]]
name = "kayenta-10m"
kind = "kayenta"
interval = "10m"

[[policies]]
name = "error-rate-2pct-5m"
kind = "threshold"
error_rate_above = 0.02
window = "5m"
until = "end"
"#,
    )
    .expect("write policies");
    let out = dir.path().join("out");
    rollsim()
        .args(["replay", "scenarios/replay/metrics.csv", "--labels", "scenarios/replay/labels.csv", "--policies"])
        .arg(&policies)
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "note: policy kayenta-10m (kayenta) compares the canary with a baseline but the data has no old_requests series; skipped",
        ));
    let decisions = std::fs::read_to_string(out.join("decisions.csv")).expect("decisions");
    assert!(!decisions.contains("kayenta-10m"), "{decisions}");
    assert!(decisions.contains("error-rate-2pct-5m"));
}

/// A Prometheus export of a quiet canary at night: `error_ratio` is "NaN" (0/0) at every
/// scrape without a request. Those scrapes are no data, not a file error; a NaN ratio
/// where requests were counted is refused at its file:line:col.
#[test]
fn a_nan_error_ratio_at_zero_traffic_replays_as_no_data() {
    let fixture = "tests/data/recorded/night-error-ratio.json";
    let dir = tempfile::tempdir().expect("tempdir");
    rollsim()
        .args([
            "replay",
            fixture,
            "--policies",
            "scenarios/quickstart.toml",
            "--out",
        ])
        .arg(dir.path().join("out"))
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "replayed 2024-06-03T00:00:15Z to 2024-06-03T01:00:00Z (240 scrapes, 0 lost",
        ));
    let text = std::fs::read_to_string(fixture).expect("fixture");
    let bad = text.replacen("[1717372815,\"0.0\"]", "[1717372815,\"NaN\"]", 1);
    assert_ne!(bad, text);
    let m = dir.path().join("bad.json");
    std::fs::write(&m, &bad).expect("write");
    let col = bad.find("[1717372815,\"NaN\"]").expect("pair") + 1;
    rollsim()
        .arg("replay")
        .arg(&m)
        .args(["--policies", "scenarios/quickstart.toml", "--out"])
        .arg(dir.path().join("out2"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "{}:1:{col}: error_ratio is NaN at 2024-06-03T00:00:15Z where 1 requests were counted",
            m.display()
        )));
    assert!(!dir.path().join("out2").exists());
}

/// A scenario whose one policy is read at the CloudWatch fixture's one-minute period.
const MINUTE_POLICIES: &str = "[simulation]\nscrape_interval = \"1m\"\n[[policies]]\nname = \"alert\"\nkind = \"threshold\"\nerror_rate_above = 0.02\n";

/// Replays `text` (written to a file) with `args`; the assertion and the file's path.
fn replay_text(
    dir: &std::path::Path,
    name: &str,
    text: &str,
    args: &[&str],
) -> (assert_cmd::assert::Assert, String) {
    let m = dir.join(name);
    std::fs::write(&m, text).expect("write");
    let p = dir.join("minute.toml");
    std::fs::write(&p, MINUTE_POLICIES).expect("write");
    let a = rollsim()
        .arg("replay")
        .arg(&m)
        .arg("--policies")
        .arg(&p)
        .args(args)
        .arg("--out")
        .arg(dir.join(format!("out-{name}")))
        .assert();
    (a, m.display().to_string())
}

/// The export with its last page's status set to `status`.
fn last_status(text: &str, status: &str) -> String {
    let k = text.rfind("\"Complete\"").expect("a status");
    format!(
        "{}\"{status}\"{}",
        &text[..k],
        &text[k + "\"Complete\"".len()..]
    )
}

#[test]
fn a_cloudwatch_export_replays_newest_first_and_its_problems_are_located() {
    let fixture = "tests/data/recorded/alb-canary-cloudwatch.json";
    let text = std::fs::read_to_string(fixture).expect("fixture");
    let rec = recorded::parse(&text, fixture).expect("the export parses");
    let requests = rec.get(SeriesName::Requests).expect("requests");
    // 60 one-minute points less the one never reported, oldest first once read.
    assert_eq!(requests.points.len(), 59);
    assert!(requests.points.windows(2).all(|w| w[0].at_ms < w[1].at_ms));
    assert_eq!(requests.points[0].at_ms, 1_717_405_260_000);
    // The errors query's two pages are joined into one series.
    assert_eq!(
        rec.get(SeriesName::Errors).expect("errors").points.len(),
        59
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, _) = replay_text(dir.path(), "ok.json", &text, &[]);
    a.success().stdout(predicate::str::contains(
        "replayed 2024-06-03T09:01:00Z to 2024-06-03T10:00:00Z",
    ));
    // Each bad edit, and what it must say where.
    let first_value = |t: &str, at: &str| t.find(at).expect("in the fixture");
    let cases: Vec<(String, &str, String)> = vec![
        (
            text.replacen(
                "\"2024-06-03T09:59:00+00:00\"",
                "\"2024-06-03T10:00:00+00:00\"",
                1,
            ),
            "duplicate timestamp 2024-06-03T10:00:00Z for series requests",
            "\"2024-06-03T10:00:00+00:00\"".into(),
        ),
        (
            text.replacen(
                "\"2024-06-03T09:58:00+00:00\"",
                "\"2024-06-03T10:30:00+00:00\"",
                1,
            ),
            "of series requests is before the previous one",
            "\"2024-06-03T09:59:00+00:00\"".into(),
        ),
        (
            text.replacen(
                "\"Values\": [\n                ",
                "\"Values\": [\n                null,\n                ",
                1,
            )
            .replacen(
                "\"Timestamps\": [\n",
                "\"Timestamps\": [\n                \"2024-06-03T10:01:00+00:00\",\n",
                1,
            ),
            "MetricDataResults[0].Values[0]: null is not a number",
            "null".into(),
        ),
        (
            last_status(&text, "InternalError"),
            "the query errors failed (StatusCode InternalError)",
            String::new(),
        ),
        (
            last_status(&text, "PartialData"),
            "the query errors is partial (StatusCode PartialData)",
            String::new(),
        ),
        (
            text.replacen("\"Id\": \"requests\"", "\"Id\": \"m1\"", 1),
            "MetricDataResults[0].Id: unknown series \"m1\"",
            "{".into(),
        ),
    ];
    for (i, (bad, message, located)) in cases.into_iter().enumerate() {
        assert_ne!(bad, text, "case {i} edits the fixture");
        let name = format!("bad{i}.json");
        let (a, path) = replay_text(dir.path(), &name, &bad, &[]);
        let a = a
            .code(2)
            .stderr(predicate::str::contains(message))
            .stderr(predicate::str::contains("panicked").not());
        if !located.is_empty() {
            // file:line:col of the value at fault.
            let off = if located == "{" {
                first_value(&bad, "{\n            \"Id\": \"m1\"")
            } else if located == "null" {
                first_value(&bad, "null")
            } else {
                // A timestamp: its first place in the file (the requests query's).
                first_value(&bad, &located)
            };
            let line = bad[..off].matches('\n').count() + 1;
            let col = off - bad[..off].rfind('\n').map_or(0, |k| k + 1) + 1;
            a.stderr(predicate::str::contains(format!("{path}:{line}:{col}:")));
        }
        assert!(!dir.path().join(format!("out-{name}")).exists());
    }
}

#[test]
fn timestamps_without_an_offset_need_a_time_zone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rows: String = (1..=8)
        .map(|i| {
            format!("2024-06-03 10:{i:02}:00,requests,100\n2024-06-03 10:{i:02}:00,errors,1\n")
        })
        .collect();
    let text = format!("{HEADER}{rows}");
    let (a, path) = replay_text(dir.path(), "local.csv", &text, &[]);
    a.code(2).stderr(predicate::str::contains(format!(
        "{path}:2: timestamp \"2024-06-03 10:01:00\" has no offset"
    )));
    let (a, _) = replay_text(
        dir.path(),
        "local2.csv",
        &text,
        &["--timezone", "Europe/Paris"],
    );
    a.success().stdout(predicate::str::contains(
        "replayed 2024-06-03T08:01:00Z to 2024-06-03T08:08:00Z",
    ));
    let (a, _) = replay_text(
        dir.path(),
        "local3.csv",
        &text,
        &["--timezone", "Europe/Pariss"],
    );
    a.code(2).stderr(predicate::str::contains(
        "--timezone: unknown time zone \"Europe/Pariss\"",
    ));
}

/// Each input read once: a recording (and labels) from a named pipe fed once, as a shell's
/// `<(...)` gives it, is replayed and calibrated, and the manifests' digests are of the
/// bytes parsed. The commands used to open the files again to digest them and waited on
/// the drained pipe forever.
#[test]
fn replay_and_calibrate_read_each_input_once_so_a_pipe_works() {
    use sha2::{Digest, Sha256};
    let recording = std::fs::read("scenarios/replay/metrics.csv").expect("recording");
    let labels = std::fs::read("scenarios/replay/labels.csv").expect("labels");
    let sha = |b: &[u8]| format!("{:x}", Sha256::digest(b));
    for command in ["replay", "calibrate"] {
        let t = tempfile::tempdir().expect("tempdir");
        let pipe = |name: &str, bytes: &[u8]| {
            let path = t.path().join(name);
            let made = std::process::Command::new("mkfifo").arg(&path).status();
            assert!(made.expect("mkfifo").success());
            let (p, b) = (path.clone(), bytes.to_vec());
            // Opening a pipe for writing waits for its reader; a reader that never comes
            // leaves this thread blocked, which ends with the test.
            std::thread::spawn(move || std::fs::write(p, b));
            path
        };
        let metrics = pipe("metrics.csv", &recording);
        let incidents = pipe("labels.csv", &labels);
        let out = t.path().join("out");
        let mut cmd = rollsim();
        match command {
            "replay" => cmd
                .args(["replay", "--policies", "scenarios/replay/policies.toml"])
                .arg(&metrics)
                .arg("--labels")
                .arg(&incidents)
                .arg("--out")
                .arg(&out),
            _ => cmd
                .arg("calibrate")
                .arg(&metrics)
                .arg("--exclude-labels")
                .arg(&incidents)
                .arg("--out")
                .arg(t.path().join("fit.toml"))
                .arg("--report")
                .arg(&out),
        };
        // A guard against a hang only.
        cmd.timeout(std::time::Duration::from_secs(120))
            .assert()
            .success();
        let manifest = std::fs::read_to_string(out.join("manifest.json")).expect("manifest");
        let manifest: String = manifest.split_whitespace().collect();
        for (file, bytes) in [(&metrics, &recording), (&incidents, &labels)] {
            let entry = format!(
                "\"path\":\"{}\",\"sha256\":\"{}\"",
                file.display(),
                sha(bytes)
            );
            assert!(manifest.contains(&entry), "{command}: {entry}\n{manifest}");
        }
    }
}
