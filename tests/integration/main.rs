//! Integration tests: one binary, a module per topic.

mod architecture;
mod blocks;
mod bounded_inputs;
mod calibrate;
mod checksums;
mod cli;
mod closed_forms;
mod compare;
mod controllers;
mod data;
mod dependency_hold;
mod determinism;
mod export;
mod fuzz;
mod gameday;
mod gameday_server;
mod gates;
mod gauges;
mod golden;
mod hardening;
mod hardening_systems;
mod human;
mod import;
mod interrupt;
mod invariants;
mod outputs;
mod prometheus;
mod properties;
mod replay;
mod report;
mod scenario_limits;
mod sequential;
mod signal_faults;
mod sweep;
mod system_blocks;
mod system_sweep;
mod systems;
mod train;
mod train_model;
mod train_system;
mod trains;
mod tune;
mod verdict;

use rollsim::outcome::RunRecord;
use rollsim::recorded::{self, Scrapes};
use rollsim::replay::{Labels, Observations, Reset, Timeline};
use rollsim::scenario::{parse, PolicySpec, Scenario};
use rollsim::sim::{replicate_traced, Prepared, World};
use std::path::Path;

/// The `rollsim` binary of this build, as a command to add arguments to.
pub fn rollsim() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("rollsim").expect("binary")
}

/// Writes `text` to `dir/name` (a scenario, a recording, a script) and returns its path.
pub fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write file");
    p
}

/// The names in `dir`, sorted (none when it does not exist).
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Healthy releases deployed at 1 h, all at once, and baked 10 minutes with a health
/// check every 10 s: exactly 60 checks, each failing independently with q = 0.1 (a
/// scenario without its policies).
pub const SIXTY_CHECKS: &str = r#"
[simulation]
duration = "2h"
[service]
baseline_error_rate = 0.0
[signals]
noise_sd = 0.0
[health_check]
interval = "10s"
timeout = "30s"
false_failure_probability = 0.1
[release]
at = "1h"
bad_probability = 0.0
bake = "10m"
"#;

/// What `rollsim ARGS` prints on stdout; the command must succeed.
pub fn stdout_of(args: &[&str]) -> String {
    let out = assert_cmd::Command::cargo_bin("rollsim")
        .expect("binary")
        .args(args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).expect("utf-8")
}

/// Parses a scenario written inline in a test.
pub fn scenario(text: &str) -> Scenario {
    match parse(text, "test.toml") {
        Ok(s) => s,
        Err(e) => panic!("test scenario is invalid: {e}"),
    }
}

/// Runs an experiment and returns every record.
pub fn records(s: &Scenario, seed: u64, runs: u64) -> Vec<RunRecord> {
    let mut all = Vec::new();
    let opts = rollsim::experiment::Options::new(seed, 0..runs);
    rollsim::experiment::run(s, &opts, |rows| {
        all.extend_from_slice(rows);
        Ok::<(), ()>(())
    })
    .expect("the sink never fails");
    all
}

/// Records of one policy.
pub fn of<'a>(all: &'a [RunRecord], policy: &str) -> Vec<&'a RunRecord> {
    all.iter().filter(|r| r.policy == policy).collect()
}

/// P(at least one run of `k` successes in `n` Bernoulli(`q`) trials), by dynamic
/// programming over the length of the current run.
pub fn prob_run_of_k(n: usize, k: usize, q: f64) -> f64 {
    // state[j] = P(no run of k yet, current run length j)
    let mut state = vec![0.0; k];
    state[0] = 1.0;
    for _ in 0..n {
        let mut next = vec![0.0; k];
        for (j, p) in state.iter().enumerate() {
            next[0] += p * (1.0 - q);
            if j + 1 < k {
                next[j + 1] += p * q;
            }
        }
        state = next;
    }
    1.0 - state.iter().sum::<f64>()
}

/// A traced run and its replay: what the `replay` and `gauges` tests compare.
pub struct TracedReplay {
    /// The instants (ms) the simulated run rolled back at.
    pub simulated: Vec<u64>,
    /// The instants (ms) the same policy decided at, replayed from the run's recording.
    pub replayed: Vec<u64>,
    /// The recording's `metrics.csv`, as `rollsim trace` writes it.
    pub metrics: String,
}

/// Traces `spec` on `world`, then replays it with `Reset::Deploy` through the files a user
/// would have: the run's `metrics.csv` and `labels.csv`, parsed back.
pub fn replay_traced_run(
    scn: &Scenario,
    prepared: &Prepared,
    world: &World,
    spec: &PolicySpec,
) -> TracedReplay {
    let dt = scn.scrape_interval_ms;
    let (_, trace) = replicate_traced(prepared, world, spec);
    let simulated = trace
        .events
        .iter()
        .filter(|e| e.kind == "rollback")
        .map(|e| (e.t_s * 1000.0).round() as u64)
        .collect();
    let text = |bytes: Result<Vec<u8>, _>| String::from_utf8(bytes.expect("csv")).expect("utf8");
    let metrics = text(recorded::export::metrics_csv(&trace, dt));
    let labels = text(recorded::export::labels_csv(&trace, dt));
    let rec = recorded::parse(&metrics, "metrics.csv").expect("recording parses");
    let labels = Labels::parse(&labels, "labels.csv").expect("labels parse");
    let scrapes = Scrapes::from_recording(&rec).expect("scrapes");
    let obs = Observations {
        scrapes: scrapes.as_ref().map(Scrapes::feed).unwrap_or_default(),
        interval_ms: scrapes.as_ref().map_or(dt, |s| s.interval_ms),
        health_checks: rec.health_checks(),
    };
    let replayed = rollsim::replay::decisions(
        spec,
        &obs,
        &Timeline::of(&labels),
        Reset::Deploy,
        scn.signals.metric_delay_ms,
        0,
    );
    TracedReplay {
        simulated,
        replayed,
        metrics,
    }
}
