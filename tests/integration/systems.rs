//! Systems of services: calls against their closed forms, storms against the binomial,
//! common random numbers across services, determinism across threads and shards, and bad
//! input located at its `file:line:col`.

use crate::{records, rollsim, scenario};
use assert_cmd::Command;
use predicates::prelude::*;
use rollsim::outcome::RunRecord;
use rollsim::scenario::parse;
use std::path::Path;

/// The rows of `service` (or `system`) under `policy`.
fn rows<'a>(all: &'a [RunRecord], policy: &str, service: &str) -> Vec<&'a RunRecord> {
    all.iter()
        .filter(|r| r.policy == policy && r.service.as_deref() == Some(service))
        .collect()
}

/// Failed over total requests of some rows.
fn ratio(rows: &[&RunRecord]) -> (f64, f64) {
    let failed: u64 = rows.iter().map(|r| r.failed_requests).sum();
    let total: u64 = rows.iter().map(|r| r.total_requests).sum();
    (failed as f64 / total as f64, total as f64)
}

const CALLS: &str = r#"
[simulation]
duration = "2h"
runs = 20
[service]
baseline_error_rate = 0.0
latency_p50 = "20ms"
latency_p99 = "100ms"
[signals]
noise_sd = 0.0
[release]
bad_probability = 0.0
[[services]]
name = "api"
request_rate = 200.0
calls = [
  { service = "cards", fraction = 0.6 },
  { service = "fraud", fraction = 0.3, retries = 2 },
]
[[services]]
name = "cards"
baseline_error_rate = 0.05
[[services]]
name = "fraud"
baseline_error_rate = 0.2
[[policies]]
name = "none"
kind = "none"
"#;

#[test]
fn a_caller_fails_as_its_independent_callees_and_retries_say() {
    let s = scenario(CALLS);
    let all = records(&s, 3, 20);
    // Callees' traffic follows from the calls: 0.6 of the caller's requests call cards
    // once; 0.3 call fraud, whose attempts fail with probability 0.2 and are tried up to
    // three times, 1 + 0.2 + 0.2^2 = 1.24 attempts per call on average, each a request.
    let (_, api_total) = ratio(&rows(&all, "none", "api"));
    let (cards, cards_total) = ratio(&rows(&all, "none", "cards"));
    let (fraud, fraud_total) = ratio(&rows(&all, "none", "fraud"));
    assert!(
        (cards_total / api_total - 0.6).abs() < 0.005,
        "{cards_total} / {api_total}"
    );
    let attempts = 1.0 + 0.2 + 0.2 * 0.2;
    assert!(
        (fraud_total / api_total - 0.3 * attempts).abs() < 0.005,
        "fraud's requests {fraud_total} / api's {api_total} vs 0.3 x {attempts}"
    );
    // Retries are requests like any other: fraud fails its own share of them.
    assert!((fraud - 0.2).abs() < 5.0 * (0.2 * 0.8 / fraud_total).sqrt());
    assert!((cards - 0.05).abs() < 5.0 * (0.05 * 0.95 / cards_total).sqrt());
    // 1 - (1 - f1 p1)(1 - f2 p2^(1 + retries)), with three tries of fraud.
    let expected = 1.0 - (1.0 - 0.6 * 0.05) * (1.0 - 0.3 * 0.2f64.powi(3));
    let (api, n) = ratio(&rows(&all, "none", "api"));
    let se = (expected * (1.0 - expected) / n).sqrt();
    assert!(
        (api - expected).abs() < 5.0 * se,
        "caller failure {api} vs closed form {expected} (se {se})"
    );
    // Users see the caller's failures; the system's failed requests are the entry's.
    let system = rows(&all, "none", "system");
    let api_rows = rows(&all, "none", "api");
    for (s, a) in system.iter().zip(&api_rows) {
        assert_eq!(s.failed_requests, a.failed_requests);
        assert_eq!(s.entry_failed_requests, Some(a.failed_requests));
    }
}

#[test]
fn a_service_draws_the_same_world_whatever_the_others_do_and_wherever_it_is_written() {
    let base = scenario(CALLS);
    let all = records(&base, 11, 10);
    // Another order of the entries, and cards' release made bad: fraud (which calls
    // nothing and shares no stream) is untouched, run by run.
    let moved = CALLS.replace(
        "[[services]]\nname = \"cards\"\nbaseline_error_rate = 0.05\n",
        "",
    ) + "[[services]]\nname = \"cards\"\nbaseline_error_rate = 0.05\n\
         release = { bad_probability = 1.0, at = \"30m\" }\n";
    let all2 = records(&scenario(&moved), 11, 10);
    let a = rows(&all, "none", "fraud");
    let b = rows(&all2, "none", "fraud");
    assert_eq!(a.len(), 10);
    assert_eq!(a, b);
    // ... while cards itself did change.
    assert_ne!(rows(&all, "none", "cards"), rows(&all2, "none", "cards"));
}

#[test]
fn storms_of_independent_services_have_the_binomial_rate() {
    // Six independent services deploy at once, each bad with probability 0.4; the oracle
    // rolls every bad one back at the same instant. A storm (3 services within 10 min)
    // happens when at least three are bad: P(Bin(6, 0.4) >= 3).
    let mut text = String::from(
        "[simulation]\nduration = \"2h\"\n[release]\nat = \"30m\"\nbad_probability = 0.4\n\
         [rollout]\nstrategy = \"all_at_once\"\n\
         [[policies]]\nname = \"oracle\"\nkind = \"oracle\"\nreaction = \"1m\"\n",
    );
    for i in 0..6 {
        text += &format!("[[services]]\nname = \"s{i}\"\nrequest_rate = 5.0\n");
    }
    let s = scenario(&text);
    let runs = 2000;
    let all = records(&s, 5, runs);
    let system = rows(&all, "oracle", "system");
    let storms: u32 = system.iter().map(|r| r.rollback_storms.unwrap_or(0)).sum();
    let choose = |n: u64, k: u64| (0..k).fold(1.0, |c, i| c * (n - i) as f64 / (i + 1) as f64);
    let p: f64 = (3..=6)
        .map(|k| choose(6, k) * 0.4f64.powi(k as i32) * 0.6f64.powi(6 - k as i32))
        .sum();
    let rate = f64::from(storms) / runs as f64;
    let se = (p * (1.0 - p) / runs as f64).sqrt();
    assert!(
        (rate - p).abs() < 4.0 * se,
        "storm rate {rate} vs {p} (se {se})"
    );
    // The largest storm is the number of bad services, run by run.
    for (k, r) in system.iter().enumerate() {
        let bad = all
            .iter()
            .filter(|x| x.run == k as u64 && x.service.as_deref() != Some("system"))
            .filter(|x| x.release_bad)
            .count() as u32;
        assert_eq!(r.largest_storm, Some(bad), "run {k}");
    }
}

#[test]
fn a_file_without_services_has_no_system_columns() {
    let s = scenario("[simulation]\nduration = \"1h\"\n");
    assert!(s.system.is_none());
    let all = records(&s, 1, 2);
    assert!(all.iter().all(|r| r.service.is_none()));
    let mut w = csv::Writer::from_writer(vec![]);
    w.serialize(&all[0]).expect("row");
    let text = String::from_utf8(w.into_inner().expect("bytes")).expect("utf8");
    assert!(!text.contains("service"), "{text}");
}

fn text_of(path: &str) -> String {
    std::fs::read_to_string(path).expect("a shipped scenario")
}

fn rejected(text: &str, at: &str, message: &str) {
    let e = match parse(text, "sys.toml") {
        Ok(_) => panic!("accepted: {text}"),
        Err(e) => e.to_string(),
    };
    assert!(e.contains(&format!("sys.toml:{at}: ")), "{e}");
    assert!(e.contains(message), "{e}");
}

#[test]
fn unknown_callees_cycles_and_faults_naming_no_service_are_located() {
    rejected(
        "[[services]]\nname = \"a\"\ncalls = [{ service = \"payment\" }]\n\
         [[services]]\nname = \"payments\"\n",
        "3:22",
        "calls unknown service \"payment\"; expected one of the [[services]] names; did you mean `payments`?",
    );
    rejected(
        "[[services]]\nname = \"a\"\ncalls = [{ service = \"b\" }]\n\
         [[services]]\nname = \"b\"\ncalls = [{ service = \"a\" }]\n",
        "3:10",
        "calls form a cycle (a -> b -> a)",
    );
    rejected(
        "[[services]]\nname = \"a\"\nzone = \"eu\"\n\
         [[faults]]\nkind = \"node_loss\"\nat = \"1h\"\nduration = \"5m\"\n\
         capacity_loss = 0.5\nservices = [\"a\", \"b\"]\n",
        "9:18",
        "fault names unknown service \"b\"",
    );
    rejected(
        "[[services]]\nname = \"a\"\nzone = \"eu\"\n\
         [[faults]]\nkind = \"node_loss\"\nat = \"1h\"\nduration = \"5m\"\n\
         capacity_loss = 0.5\nzone = \"us\"\n",
        "9:8",
        "fault names unknown zone \"us\"",
    );
    rejected(
        "[[faults]]\nkind = \"node_loss\"\nat = \"1h\"\nduration = \"5m\"\n\
         capacity_loss = 0.5\nzone = \"us\"\n",
        "6:8",
        "a fault names services or a zone only in a system",
    );
    // A service's own keys are checked as a single service's, at the entry.
    rejected(
        "[[services]]\nname = \"a\"\nreplicas = 0\n",
        "3:12",
        "service \"a\": service.replicas = 0 is out of range",
    );
}

#[test]
fn bad_system_input_exits_2_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("cycle.toml");
    std::fs::write(
        &f,
        "[[services]]\nname = \"a\"\ncalls = [{ service = \"a\" }]\n",
    )
    .expect("write");
    let out = dir.path().join("out");
    Command::cargo_bin("rollsim")
        .expect("binary")
        .arg("run")
        .arg(&f)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!("{}:3:10: ", f.display())))
        .stderr(predicate::str::contains("calls form a cycle (a -> a)"));
    assert!(!out.exists());
}

fn run_into(out: &Path, threads: &str, extra: &[&str]) {
    Command::cargo_bin("rollsim")
        .expect("binary")
        .env("RAYON_NUM_THREADS", threads)
        .args([
            "compare",
            "scenarios/checkout-payments-ledger.toml",
            "--runs",
            "40",
            "--seed",
            "4",
            "--out",
        ])
        .arg(out)
        .args(extra)
        .assert()
        .success();
}

#[test]
fn a_system_is_byte_identical_across_threads_and_shards() {
    let dir = tempfile::tempdir().expect("tempdir");
    let one = dir.path().join("one");
    let two = dir.path().join("two");
    run_into(&one, "1", &[]);
    run_into(&two, "2", &[]);
    let mut shards = Vec::new();
    for i in 0..2 {
        let d = dir.path().join(format!("s{i}"));
        run_into(&d, "2", &["--shard", &format!("{i}/2")]);
        shards.push(d);
    }
    let merged = dir.path().join("merged");
    Command::cargo_bin("rollsim")
        .expect("binary")
        .arg("merge")
        .args(&shards)
        .arg("--out")
        .arg(&merged)
        .assert()
        .success();
    for f in [
        "runs.csv",
        "summary.csv",
        "comparison.csv",
        "system.json",
        "service-events.csv",
    ] {
        let a = std::fs::read(one.join(f)).expect("one");
        assert!(
            a == std::fs::read(two.join(f)).expect("two"),
            "{f}: threads"
        );
        assert!(
            a == std::fs::read(merged.join(f)).expect("merged"),
            "{f}: shards"
        );
    }
    let runs = std::fs::read_to_string(one.join("runs.csv")).expect("runs");
    assert!(runs.starts_with("run,seed,policy,service,release_bad,"));
    assert!(runs.contains(",system,") && runs.contains(",payments,"));
}

#[test]
fn gameday_refuses_a_system_rather_than_play_its_template_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("game");
    Command::cargo_bin("rollsim")
        .expect("binary")
        .args([
            "gameday",
            "scenarios/checkout-payments-ledger.toml",
            "--virtual",
        ])
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`rollsim gameday` plays one service live; this file has [[services]], a system",
        ));
    assert!(!out.exists());
}

#[test]
fn a_single_service_runs_csv_reads_back_without_the_system_columns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("runs.csv");
    let all = records(&scenario("[simulation]\nduration = \"1h\"\n"), 2, 3);
    let mut w = csv::Writer::from_path(&p).expect("writer");
    for r in &all {
        w.serialize(r).expect("row");
    }
    w.flush().expect("flush");
    let back: Vec<RunRecord> = rollsim::report::rows::read::<RunRecord>(&p)
        .expect("read back")
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    assert_eq!(back, all);
}

#[test]
fn the_report_of_a_system_run_draws_its_service_graph_and_rollbacks_by_service() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("run");
    Command::cargo_bin("rollsim")
        .expect("binary")
        .args(["run", "scenarios/checkout-payments-ledger.toml", "--quiet"])
        .args(["--runs", "30", "--seed", "4", "--out"])
        .arg(&out)
        .assert()
        .success();
    // The graph as data beside the runs: names, entry, calls.
    let graph: rollsim::report::system::SystemGraph =
        serde_json::from_slice(&std::fs::read(out.join("system.json")).expect("system.json"))
            .expect("graph");
    let names: Vec<&str> = graph.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["checkout", "payments", "ledger"]);
    assert!(graph.services[0].entry && !graph.services[1].entry);
    assert_eq!(graph.services[1].calls[0].service, "ledger");
    assert_eq!(graph.services[1].calls[0].retries, 1);
    assert_eq!(graph.depths(), vec![0, 1, 2]);
    // The traced run is the first whose system row shows a rollback, every policy on it.
    let runs = records(
        &scenario(&text_of("scenarios/checkout-payments-ledger.toml")),
        4,
        30,
    );
    let first = runs
        .iter()
        .find(|r| r.service.as_deref() == Some("system") && r.rollbacks > 0)
        .map(|r| r.run)
        .expect("a run with a rollback");
    let events: Vec<rollsim::report::system::ServiceEventRow> =
        rollsim::report::rows::read(&out.join("service-events.csv"))
            .expect("service-events.csv")
            .into_iter()
            .map(|(_, r)| r)
            .collect();
    assert!(events.iter().all(|e| e.run == first));
    // Its rollbacks are those the run's rows count, service by service.
    for r in runs.iter().filter(|r| r.run == first) {
        let Some(service) = r.service.as_deref().filter(|s| *s != "system") else {
            continue;
        };
        let n = events
            .iter()
            .filter(|e| e.policy == r.policy && e.service == service && e.kind == "rollback")
            .count() as u32;
        assert_eq!(n, r.rollbacks, "{} on {service}", r.policy);
    }
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    let md = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    for needle in [
        "Service graph: error-rate-2pct",
        "Rollbacks by service in one run",
        "Services ranked by harm",
        "The system has 3 services. A system of at most 10 services keeps every service",
    ] {
        assert!(html.contains(needle), "report.html lacks {needle}");
        assert!(md.contains(needle), "report.md lacks {needle}");
    }
    let graph_svg = std::fs::read_to_string(out.join("charts/service-graph-1.svg")).expect("svg");
    assert!(graph_svg.contains("<title>checkout: healthy releases rolled back"));
    assert!(graph_svg.contains("<title>ledger: healthy releases rolled back"));
    let timeline = std::fs::read_to_string(out.join("charts/service-rollbacks.svg")).expect("svg");
    assert!(timeline.contains("rolled back"));
}

#[test]
fn a_fleets_report_charts_the_system_and_details_each_policys_ten_most_harmed_services() {
    // Twelve services in a chain s00 -> s01 -> ... -> s11. Under `a` service i rolled back
    // i healthy releases per run; under `b` none, and its failures rank: i % 4 per run.
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path();
    let mut csv = String::from("policy,metric,mean,ci95_low,ci95_high,n\n");
    let mut services = Vec::new();
    for p in ["a", "b"] {
        for m in ["false_positive_rollbacks", "failed_requests", "rollbacks"] {
            csv += &format!("{p},{m},1.0,0.5,1.5,8\n");
        }
    }
    for i in 0..12 {
        let s = format!("s{i:02}");
        let (fp, failed) = (i as f64, (i % 4) as f64);
        csv += &format!("a@{s},false_positive_rollbacks,{fp},{fp},{fp},8\n");
        csv += &format!("a@{s},failed_requests,5,5,5,8\n");
        csv += &format!("b@{s},false_positive_rollbacks,0,0,0,8\n");
        csv += &format!("b@{s},failed_requests,{failed},{failed},{failed},8\n");
        let calls = if i < 11 {
            format!(r#"[{{"service": "s{:02}", "fraction": 0.5}}]"#, i + 1)
        } else {
            "[]".into()
        };
        services.push(format!(
            r#"{{"name": "{s}", "entry": {}, "calls": {calls}}}"#,
            i == 0
        ));
    }
    std::fs::write(out.join("summary.csv"), csv).expect("summary.csv");
    let graph = format!(r#"{{"services": [{}]}}"#, services.join(", "));
    std::fs::write(out.join("system.json"), graph).expect("system.json");
    rollsim().arg("report").arg(out).assert().success();
    let md = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    assert!(
        md.contains("The system has 12 services. The charts and tables above are the whole system's; only the 10 services with the most harm under each policy are detailed"),
        "{md}"
    );
    // Ranked: a by its rollbacks (s11 first, s00 and s01 left out); b by its failures,
    // ties by name (s03, s07, s11 have 3 each).
    assert!(md.contains("| a | 1 | s11 |"), "{md}");
    assert!(md.contains("| a | 10 | s02 |"), "{md}");
    assert!(md.contains("| b | 1 | s03 | "), "{md}");
    assert!(md.contains("| b | 3 | s11 | "), "{md}");
    assert!(!md.contains("| a | 11 |"), "{md}");
    // The summary table and the bars are the system's rows alone.
    assert!(!md.contains("a@s"), "{md}");
    let bars = std::fs::read_to_string(out.join("charts/summary-outcomes.svg")).expect("svg");
    assert!(!bars.contains("a@s"));
    // Each policy's graph holds its ten services, labelled.
    let graph_a = std::fs::read_to_string(out.join("charts/service-graph-1.svg")).expect("svg");
    assert!(graph_a.contains("its 10 most harmed of 12 services"));
    assert!(graph_a.contains("<title>s11: healthy releases rolled back"));
    assert!(
        !graph_a.contains("<title>s01: "),
        "s01 is not among a's ten"
    );
    assert_eq!(graph_a.matches("<title>s").count(), 10);
}

/// The terminal table (and so an example's `summary.txt`) of a system over 10 services
/// prints what the report details, by the report's own ranking: each policy's row, then its
/// 10 most harmed services in rank order, the very services of the report's "Services
/// ranked by harm"; it ends saying how many service rows it left out and where they are. A
/// system of at most 10 prints every row, in the scenario's order.
#[test]
fn a_big_systems_table_prints_each_policys_services_the_report_ranks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("wave");
    let a = rollsim()
        .args([
            "run",
            "scenarios/deploy-wave-network-incident.toml",
            "--quiet",
        ])
        .args(["--runs", "2", "--seed", "5", "--out"])
        .arg(&out)
        .assert()
        .success();
    let text = String::from_utf8(a.get_output().stdout.clone()).expect("utf-8");
    let printed: Vec<(String, Option<String>)> = text
        .lines()
        .skip_while(|l| !l.starts_with("-----"))
        .skip(1)
        .take_while(|l| !l.starts_with("mean per run"))
        .map(|l| {
            let name = l.split_whitespace().next().expect("a row");
            match name.split_once('@') {
                Some((p, s)) => (p.to_string(), Some(s.to_string())),
                None => (name.to_string(), None),
            }
        })
        .collect();
    let policies = ["none", "error-rate-2pct", "sequential-judge"];
    let system_rows: Vec<&str> = printed
        .iter()
        .filter(|(_, s)| s.is_none())
        .map(|(p, _)| p.as_str())
        .collect();
    assert_eq!(system_rows, policies, "{text}");
    let md = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    for policy in policies {
        let ranked: Vec<&str> = md
            .lines()
            .filter_map(|l| l.strip_prefix(&format!("| {policy} | ")))
            .map(|l| l.split(" | ").nth(1).expect("a service"))
            .collect();
        let services: Vec<&str> = printed
            .iter()
            .filter(|(p, s)| p == policy && s.is_some())
            .filter_map(|(_, s)| s.as_deref())
            .collect();
        assert_eq!(ranked.len(), 10, "{md}");
        assert_eq!(services, ranked, "{policy}:\n{text}");
    }
    assert!(
        text.contains(
            "service rows: each policy's 10 most harmed, by false+ rollbacks, then storms, then \
             failed requests\n90 of 120 service rows left out; summary.csv has them all\n"
        ),
        "{text}"
    );
    assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
    // Three services: every row, each policy's services in the scenario's order.
    let a = rollsim()
        .args(["run", "scenarios/checkout-payments-ledger.toml", "--quiet"])
        .args(["--runs", "2", "--seed", "5", "--out"])
        .arg(dir.path().join("three"))
        .assert()
        .success();
    let text = String::from_utf8(a.get_output().stdout.clone()).expect("utf-8");
    assert!(
        text.contains("\nnone@checkout ") && text.contains("\nnone@payments "),
        "{text}"
    );
    let at = |row: &str| text.find(&format!("\n{row} ")).expect(row);
    assert!(at("none@checkout") < at("none@payments") && at("none@payments") < at("none@ledger"));
    assert!(!text.contains("service rows left out"), "{text}");
}

#[test]
fn a_system_over_its_work_limit_is_refused_with_the_key_to_raise() {
    let text = "[simulation]\nduration = \"7d\"\nscrape_interval = \"1s\"\n\
                [[services]]\nname = \"a\"\ncount = 40\n";
    rejected(
        text,
        "4:1",
        "40 services x 604800 scrape ticks is 24192000 service-ticks per run, over the limit of 20000000",
    );
    let raised = format!("{text}[limits]\nservice_ticks_per_run = 25_000_000\n");
    assert!(parse(&raised, "sys.toml").is_ok());
}

#[test]
fn the_events_kept_are_those_of_the_traced_run_and_draw_nothing() {
    use rollsim::experiment::{first_rollback_run, run, Options};
    use rollsim::sim::{
        replicate_system, replicate_system_events, replicate_system_traced, Prepared, World,
    };
    // The worked example, and a probe rule that holds on its dependencies: it reads no
    // scrape, so a timeline (which draws scrapes for its rows) must not let its callers
    // see more of their callees than the untraced run does.
    let mut text = text_of("scenarios/checkout-payments-ledger.toml");
    text.push_str(
        "\n[[policies]]\nname = \"probes-held\"\nkind = \"consecutive\"\nfailures = 3\n\
         hold_on_dependency = \"45m\"\n",
    );
    let s = scenario(&text);
    let p = Prepared::new(&s);
    let group = 4; // the system's row and three services'
    for r in 0..12 {
        let world = World::for_run(&s, 4, r);
        let plain = replicate_system(&p, &world);
        let (records, events) = replicate_system_events(&p, &world);
        assert_eq!(
            records, plain,
            "run {r}: recording events changed the records"
        );
        assert_eq!(events.len(), s.policies.len());
        for (k, policy_events) in events.iter().enumerate() {
            let (record, trace) = replicate_system_traced(&p, &world, k).expect("a system");
            assert_eq!(
                record,
                plain[k * group],
                "run {r}, policy {k}: traced record"
            );
            assert_eq!(&trace.events, policy_events, "run {r}, policy {k}: events");
        }
    }
    // The experiment keeps the first run with a rollback, whatever the thread count.
    let all = records(&s, 4, 40);
    let first = first_rollback_run(&all).expect("a run with a rollback");
    let kept = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        let opts = Options {
            events: true,
            ..Options::new(4, 0..40)
        };
        pool.install(|| run(&s, &opts, |_| Ok::<(), ()>(())))
            .expect("the sink never fails")
            .events
            .expect("events kept")
    };
    let one = kept(1);
    assert_eq!(one.run, first);
    assert_eq!(one, kept(2));
    let world = World::for_run(&s, 4, first);
    assert_eq!(one.policies, replicate_system_events(&p, &world).1);
    // Nothing is kept unless asked for.
    let plain = run(&s, &Options::new(4, 0..3), |_| Ok::<(), ()>(())).expect("runs");
    assert_eq!(plain.events, None);
}
