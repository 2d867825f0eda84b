//! Throughput of the engine: one simulated service-day (24 h at 15 s scrapes) per
//! iteration, for each kind of policy. Criterion reports elements/s = service-days/s on
//! one core. Run with `cargo bench --bench simulate`.
//!
//! Three groups: `service_day` (every kind of policy watching until the end of the day),
//! `benchmark_model` (`scenarios/benchmark.toml`: a daily canary watched for about an hour,
//! two blunt rules; one iteration is one policy-day), also with drift switched on, both
//! also scrape by scrape (the path without blocks), and
//! `fleet` (`scenarios/fleet-week.toml`, 300 services calling each other, cut to its first
//! two days: one iteration is one run of its three policies, 3 x 300 x 2 = 1,800
//! service-days, so elements/s is service-days per second on one core).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rollsim::scenario::parse;
use rollsim::sim::{replicate, replicate_system, Prepared, World};
use std::hint::black_box;

const DAY: &str = r#"
[simulation]
duration = "24h"
scrape_interval = "15s"
[service]
request_rate = 50.0
diurnal_amplitude = 0.5
[signals]
noise_sd = 0.3
missing_scrape_probability = 0.01
[release]
at = "10h"
bad_probability = 0.2
[rollout]
strategy = "canary"
[[faults]]
kind = "dependency_outage"
probability = 0.3
duration = { exponential = "10m" }
[[policies]]
name = "none"
kind = "none"
[[policies]]
name = "threshold-until-end"
kind = "threshold"
error_rate_above = 0.02
window = "5m"
until = "end"
[[policies]]
name = "latency-until-end"
kind = "threshold"
latency_p99_above = "900ms"
until = "end"
[[policies]]
name = "consecutive-until-end"
kind = "consecutive"
failures = 3
until = "end"
"#;

fn service_day(c: &mut Criterion) {
    let scenario = match parse(DAY, "bench") {
        Ok(s) => s,
        Err(e) => panic!("bench scenario: {e}"),
    };
    let prepared = Prepared::new(&scenario);
    let mut group = c.benchmark_group("service_day");
    group.throughput(Throughput::Elements(1));
    for spec in &scenario.policies {
        group.bench_function(spec.name.as_str(), |b| {
            let mut run = 0u64;
            b.iter(|| {
                run += 1;
                let world = World::for_run(&scenario, 42, run);
                black_box(replicate(&prepared, &world, spec))
            })
        });
    }
    group.finish();
}

/// `scenarios/benchmark.toml` as shipped, and with a drifting baseline (the drift path is
/// drawn interval by interval; the counts still in blocks), and both with every interval's
/// traffic drawn one by one (`scrape_by_scrape/`: the path without blocks, as dispersed
/// requests, a data store or a system's services still take).
fn benchmark_model(c: &mut Criterion) {
    let text = include_str!("../scenarios/benchmark.toml");
    let drifting = text.replace(
        "noise_sd = 0.0",
        "noise_sd = 0.3\nnoise_correlation = \"20m\"",
    );
    assert_ne!(drifting, text, "the benchmark scenario sets noise_sd = 0.0");
    let mut group = c.benchmark_group("benchmark_model");
    group.throughput(Throughput::Elements(1));
    for (label, text) in [("", text), ("drift/", drifting.as_str())] {
        let scenario = match parse(text, "scenarios/benchmark.toml") {
            Ok(s) => s,
            Err(e) => panic!("benchmark scenario: {e}"),
        };
        for (path, prepared) in [
            ("", Prepared::new(&scenario)),
            ("scrape_by_scrape/", Prepared::scrape_by_scrape(&scenario)),
        ] {
            for spec in &scenario.policies {
                group.bench_function(format!("{path}{label}{}", spec.name), |b| {
                    let mut run = 0u64;
                    b.iter(|| {
                        run += 1;
                        let world = World::for_run(&scenario, 42, run);
                        black_box(replicate(&prepared, &world, spec))
                    })
                });
            }
        }
    }
    group.finish();
}

/// `scenarios/fleet-week.toml` cut to its first two days (Tuesday's wave, the zones'
/// incidents; the stores' Thursday upgrade moved to Tuesday afternoon so it stays in the
/// run): every service of the system stepped together, callees before callers.
fn fleet(c: &mut Criterion) {
    let text = include_str!("../scenarios/fleet-week.toml")
        .replace("duration = \"7d\"", "duration = \"2d\"")
        .replace("at = \"3d ", "at = \"1d ");
    let scenario = match parse(&text, "scenarios/fleet-week.toml") {
        Ok(s) => s,
        Err(e) => panic!("fleet scenario: {e}"),
    };
    let services = scenario.system.as_ref().map_or(0, |s| s.services.len()) as u64;
    let days = scenario.duration_ms / 86_400_000;
    let prepared = Prepared::new(&scenario);
    let mut group = c.benchmark_group("fleet");
    group.sample_size(10);
    group.throughput(Throughput::Elements(
        scenario.policies.len() as u64 * services * days,
    ));
    group.bench_function("two_days_three_policies", |b| {
        let mut run = 0u64;
        b.iter(|| {
            run += 1;
            let world = World::for_run(&scenario, 42, run);
            black_box(replicate_system(&prepared, &world))
        })
    });
    group.finish();
}

criterion_group!(benches, service_day, benchmark_model, fleet);
criterion_main!(benches);
