//! Gauges (CPU, saturation, queue length): the readings against their closed forms, an
//! exact trace without noise, a traced run replayed through its recording to the same
//! decisions, and bad input.

use super::rollsim;
use super::{replay_traced_run, scenario, TracedReplay};
use rollsim::policy::Gauges;
use rollsim::sim::{replicate_traced, Prepared, World};

/// One gauge of a version's readings.
type Reading = fn(&Gauges) -> Option<f64>;

/// The new and old gauge readings of every scrape of a traced run: (interval start in
/// ms, [old, new]).
fn readings(text: &str, run: u64) -> Vec<(u64, [Gauges; 2])> {
    let s = scenario(text);
    let world = World::for_run(&s, 3, run);
    let (_, trace) = replicate_traced(&Prepared::new(&s), &world, &s.policies[0]);
    trace
        .rows
        .iter()
        .filter_map(|r| Some(((r.t_s * 1000.0).round() as u64, r.observed_gauges?)))
        .collect()
}

#[test]
fn the_mean_readings_are_the_closed_forms() {
    // 300 rps on 10 replicas of 50: rho = 0.6 all day; CPU 0.1 + 0.6, queue 0.36 / 0.4.
    let rows = readings(
        r#"
        [simulation]
        duration = "4h"
        [service]
        request_rate = 300.0
        replicas = 10
        capacity_rps = 50.0
        cpu_baseline = 0.1
        [signals]
        gauge_noise_sd = 0.1
        [release]
        at = "10m"
        bad_probability = 0.0
        [[policies]]
        name = "none"
        kind = "none"
        "#,
        0,
    );
    assert!(rows.len() > 900, "{} scrapes", rows.len());
    let n = rows.len() as f64;
    // A reading's sd is level x sqrt(e^(0.1^2) - 1) = 0.1003 x level.
    for (v, name) in [(0, "old"), (1, "new")] {
        let gauges: [(f64, Reading); 3] = [
            (0.7, |g| g.cpu),
            (0.6, |g| g.saturation),
            (0.9, |g| g.queue_length),
        ];
        for (level, get) in gauges {
            let mean = rows.iter().filter_map(|(_, g)| get(&g[v])).sum::<f64>() / n;
            let sd = 0.1003 * level / n.sqrt();
            assert!(
                (mean - level).abs() < 4.0 * sd,
                "{name}: mean {mean}, expected {level} (sd {sd})"
            );
        }
    }
}

#[test]
fn without_noise_the_gauges_trace_the_formulas_exactly() {
    // A daily swing (150 to 450 rps on 500 of capacity), a node loss of 20% from 2h to
    // 2h30m, and a bad release whose requests cost 1.5 times the CPU from 10m on.
    let text = r#"
        [simulation]
        duration = "24h"
        [service]
        request_rate = 300.0
        diurnal_amplitude = 0.5
        peak_hour = 14.0
        baseline_error_rate = 0.0
        replicas = 10
        capacity_rps = 50.0
        cpu_baseline = 0.05
        queue_limit = 30.0
        [signals]
        noise_sd = 0.0
        gauge_noise_sd = 0.0
        [release]
        at = "10m"
        bad_probability = 1.0
        [release.bad]
        cpu_factor = 1.5
        [[faults]]
        kind = "node_loss"
        capacity_loss = 0.2
        at = "2h"
        duration = "30m"
        [[policies]]
        name = "none"
        kind = "none"
        "#;
    let rows = readings(text, 0);
    assert_eq!(
        rows.len(),
        (24 * 240) - 40,
        "every scrape from the deploy on"
    );
    let rate = |t: u64| {
        let phase = (t as f64 - 14.0 * 3_600_000.0) / 86_400_000.0 * std::f64::consts::TAU;
        300.0 * (1.0 + 0.5 * phase.cos())
    };
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
    let mut overloaded = 0;
    for &(t, [old, new]) in &rows {
        let loss = if (7_200_000..9_000_000).contains(&t) {
            0.2
        } else {
            0.0
        };
        let rho = rate(t) / (500.0 * (1.0 - loss));
        for (g, rho) in [(old, rho), (new, rho * 1.5)] {
            let queue = if rho >= 1.0 {
                30.0
            } else {
                (rho * rho / (1.0 - rho)).min(30.0)
            };
            let (cpu, sat, q) = (
                g.cpu.unwrap_or(-1.0),
                g.saturation.unwrap_or(-1.0),
                g.queue_length.unwrap_or(-1.0),
            );
            assert!(close(sat, rho), "t {t}: saturation {sat} vs {rho}");
            assert!(close(cpu, (0.05 + rho).min(1.0)), "t {t}: cpu {cpu}");
            assert!(close(q, queue), "t {t}: queue {q} vs {queue}");
        }
        overloaded += usize::from(rho * 1.5 > 1.0);
    }
    // The peak (450 rps x 1.5 on 500) and the node loss overload the new version only.
    assert!(overloaded > 1000, "{overloaded}");

    // Past its capacity the new version fails 1 - 1/(1.5 rho) of its requests (the old
    // version is under capacity all day: its only errors would be the baseline, 0).
    let s = scenario(text);
    let world = World::for_run(&s, 3, 0);
    let (_, trace) = replicate_traced(&Prepared::new(&s), &world, &s.policies[0]);
    for r in trace.rows.iter().filter(|r| r.share_new > 0.0) {
        let t = (r.t_s * 1000.0).round() as u64;
        let loss = if (7_200_000..9_000_000).contains(&t) {
            0.2
        } else {
            0.0
        };
        let rho = rate(t) / (500.0 * (1.0 - loss));
        let expected = if rho * 1.5 > 1.0 {
            1.0 - 1.0 / (rho * 1.5)
        } else {
            0.0
        };
        assert_eq!(r.true_error_rate_old, 0.0, "t {t}");
        assert!(
            (r.true_error_rate_new - expected).abs() < 1e-9,
            "t {t}: {} vs {expected}",
            r.true_error_rate_new
        );
    }
}

/// Gauge rules over a daily peak, CPU-hungry bad releases, lost and delayed scrapes and
/// pipeline retries.
const ROUND_TRIP: &str = r#"
[simulation]
duration = "6h"
scrape_interval = "15s"

[service]
request_rate = 300.0
diurnal_amplitude = 0.4
peak_hour = 3.0
replicas = 10
capacity_rps = 45.0

[signals]
missing_scrape_probability = 0.05
metric_delay = "30s"
gauge_noise_sd = 0.08

[release]
at = "2h"
bad_probability = 0.5
bake = "30m"

[release.bad]
cpu_factor = 1.3
error_rate = 0.01

[rollout]
strategy = "canary"
steps = [{ weight = 10, pause = "10m" }, { weight = 50, pause = "10m" }, { weight = 100 }]

[pipeline]
max_attempts = 3
retry_delay = { uniform = ["5m", "15m"] }

[[policies]]
name = "cpu"
kind = "threshold"
cpu_above = 0.95
window = "2m"
for = "1m"

[[policies]]
name = "saturation"
kind = "threshold"
saturation_above = 1.0
window = "1m"
until = "end"

[[policies]]
name = "queue"
kind = "threshold"
queue_above = 25.0
window = "3m"

[[policies]]
name = "cpu-aws"
kind = "threshold"
cpu_above = 0.9
window = "1m"
alarm_at_start = "ignored"
"#;

#[test]
fn a_traced_runs_recording_replays_to_the_gauge_rules_decisions() {
    let scn = scenario(ROUND_TRIP);
    let prepared = Prepared::new(&scn);
    let mut per_policy = std::collections::BTreeMap::new();
    for run in 0..12 {
        let world = World::for_run(&scn, 5, run);
        for spec in &scn.policies {
            let TracedReplay {
                simulated,
                replayed,
                metrics,
            } = replay_traced_run(&scn, &prepared, &world, spec);
            assert!(metrics.contains(",cpu,") && metrics.contains(",old_queue_length,"));
            assert_eq!(replayed, simulated, "run {run}, policy {}", spec.name);
            *per_policy.entry(spec.name.clone()).or_insert(0) += simulated.len();
        }
    }
    for (name, n) in &per_policy {
        assert!(*n > 0, "policy {name} never decided: {per_policy:?}");
    }
}

/// The fixture's CPU, read by a gauge rule, and its falling traffic, read by
/// `requests_below`; a rule on a gauge the data lacks is skipped with a note.
#[test]
fn replay_reads_gauge_series_and_skips_a_rule_whose_series_is_missing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let policies = dir.path().join("policies.toml");
    std::fs::write(
        &policies,
        r#"
[simulation]
scrape_interval = "15s"

[[policies]]
name = "cpu-80"
kind = "threshold"
cpu_above = 0.8
window = "1m"

[[policies]]
name = "traffic-gone"
kind = "threshold"
requests_below = 100
window = "1m"

[[policies]]
name = "saturation-90"
kind = "threshold"
saturation_above = 0.9
"#,
    )
    .expect("write policies");
    let out = dir.path().join("out");
    rollsim()
        .args(["replay", "tests/data/recorded/canary-cpu.csv", "--policies"])
        .arg(&policies)
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "note: policy saturation-90 reads the saturation gauge but the data has no saturation series; skipped",
        ));
    let decisions = std::fs::read_to_string(out.join("decisions.csv")).expect("decisions");
    let line = |policy: &str| -> Vec<&str> {
        decisions
            .lines()
            .filter(|l| l.split(',').nth(2) == Some(policy))
            .collect()
    };
    // Scrapes 13 on read 0.95: the one-minute mean (4 scrapes) passes 0.8 with three of
    // them, at scrape 15 (10:03:45).
    let cpu = line("cpu-80");
    assert_eq!(cpu.len(), 1, "{decisions}");
    assert!(cpu[0].starts_with("2024-06-03T10:03:45Z,"), "{decisions}");
    // 5 a scrape from scrape 25 on: four of them in the window (20 < 100) at scrape 28.
    let gone = line("traffic-gone");
    assert_eq!(gone.len(), 1, "{decisions}");
    assert!(gone[0].starts_with("2024-06-03T10:07:00Z,"), "{decisions}");
    assert!(line("saturation-90").is_empty(), "{decisions}");
}

#[test]
fn gauge_limits_are_range_checked_and_located() {
    let cases: &[(&str, &str)] = &[
        (
            "[[policies]]\nname = \"c\"\nkind = \"threshold\"\ncpu_above = 1.5\n",
            "g.toml:4:13: cpu_above = 1.5 is out of range; expected a number from 0 to 1",
        ),
        (
            "[[policies]]\nname = \"s\"\nkind = \"threshold\"\nsaturation_above = 0\n",
            "g.toml:4:20: saturation_above = 0 is out of range; expected a number > 0",
        ),
        (
            "[[policies]]\nname = \"q\"\nkind = \"threshold\"\nqueue_above = -1\n",
            "g.toml:4:15: queue_above = -1 is out of range; expected a number >= 0",
        ),
        (
            "[[policies]]\nname = \"two\"\nkind = \"threshold\"\ncpu_above = 0.8\nerror_rate_above = 0.02\n",
            "a threshold policy needs exactly one of",
        ),
        (
            "[service]\ncpu_baseline = 1.2\n",
            "g.toml:2:16: service.cpu_baseline = 1.2 is out of range; expected a number from 0 to 1",
        ),
        (
            "[release.bad]\ncpu_factor = 0\n",
            "g.toml:2:14: release.bad.cpu_factor = 0 is out of range; expected a number > 0",
        ),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    for (text, expected) in cases {
        let path = dir.path().join("g.toml");
        std::fs::write(&path, text).expect("write");
        let out = dir.path().join("out");
        let shown = expected.replace("g.toml:", &format!("{}:", path.display()));
        rollsim()
            .arg("run")
            .arg(&path)
            .args(["--runs", "1", "--quiet", "--out"])
            .arg(&out)
            .assert()
            .code(2)
            .stderr(predicates::str::contains(shown));
        assert!(!out.exists(), "nothing written for {text}");
    }
}

#[test]
fn a_gauge_rule_without_a_capacity_warns_and_a_prometheus_export_refuses_it() {
    let s = scenario("[[policies]]\nname = \"c\"\nkind = \"threshold\"\ncpu_above = 0.8\n");
    assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("g.toml");
    std::fs::write(
        &path,
        "[[policies]]\nname = \"cpu-80\"\nkind = \"threshold\"\ncpu_above = 0.8\n",
    )
    .expect("write");
    rollsim()
        .arg("validate")
        .arg(&path)
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "policy \"cpu-80\" reads the cpu gauge, but [service] has no capacity_rps",
        ));
    rollsim()
        .arg("export")
        .arg(&path)
        .args(["--policy", "cpu-80", "--emit", "prometheus"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("reads the cpu gauge"));
}

/// Reading gauges moves no other draw: a traced run (which reads the gauges of a service
/// with a capacity) scores exactly as the plain run of a rule that reads none, and the
/// gauge rules of `cpu-peak.toml` meet the same worlds as its error-rate rule.
#[test]
fn reading_gauges_changes_no_other_draw() {
    let text = std::fs::read_to_string("scenarios/cpu-peak.toml").expect("scenario");
    let s = scenario(&text);
    let prepared = Prepared::new(&s);
    for run in 0..30 {
        let world = World::for_run(&s, 9, run);
        for spec in &s.policies {
            let plain = rollsim::sim::replicate(&prepared, &world, spec);
            let (traced, trace) = replicate_traced(&prepared, &world, spec);
            assert_eq!(plain, traced, "run {run}, policy {}", spec.name);
            assert!(trace.rows.iter().any(|r| r.observed_gauges.is_some()));
        }
    }
    // The error-rate rule alone (no policy reads a gauge, nothing drawn for them) decides
    // as it does beside the gauge rules.
    let mut alone = s.clone();
    alone.policies.retain(|p| p.name == "error-rate-2pct");
    let all = super::records(&s, 9, 60);
    let only = super::records(&alone, 9, 60);
    let beside: Vec<_> = super::of(&all, "error-rate-2pct");
    assert_eq!(beside.len(), only.len());
    for (a, b) in beside.iter().zip(&only) {
        assert_eq!(*a, b);
    }
}
