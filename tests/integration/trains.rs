//! What the release-train tests (`train`, `train_model`, `train_system`) share: the quiet
//! one-hour slot each train releases into, the two policies they compare, and the runs.

use rollsim::experiment::train::{run_train, TrainResults};
use rollsim::scenario::Scenario;
use rollsim::sim::Prepared;

/// A quiet one-hour slot: the deploy at 5 min, a 10-minute all-at-once bake, a bad release
/// failing 20% of requests, one attempt. `service` is added to `[service]` (a single
/// service's `request_rate`, say), and `rest` (services, faults, `[train]`, policies)
/// follows the template.
pub fn slot(service: &str, rest: &str) -> String {
    format!(
        r#"
[simulation]
duration = "1h"
scrape_interval = "15s"

[service]
baseline_error_rate = 0.001
replicas = 4
{service}

[signals]
noise_sd = 0.05

[slo]
error_rate = 0.01

[release]
at = "5m"
bake = "10m"

[release.bad]
error_rate = 0.2

[rollout]
strategy = "all_at_once"

[pipeline]
max_attempts = 1

{rest}
"#
    )
}

/// A latent cause the train may blame on a release: an `inject_only` loss of 30% of
/// packets named `name` lasting `duration`, with `extra` keys (a `zone`).
pub fn lossy(name: &str, duration: &str, extra: &str) -> String {
    format!(
        "[[faults]]\nname = \"{name}\"\nkind = \"infra_latency\"\n{extra}inject_only = true\n\
         duration = \"{duration}\"\nlatency_factor = 1.0\npacket_loss = 0.3\n"
    )
}

/// A policy that knows the truth and acts a minute after a bad release shows.
pub const ORACLE: &str = r#"
[[policies]]
name = "oracle"
kind = "oracle"
reaction = "1m"
"#;

/// A plain error-ratio rule: above 5% over two minutes, for a minute.
pub const ERRORS: &str = r#"
[[policies]]
name = "errors-5pct"
kind = "threshold"
error_rate_above = 0.05
window = "2m"
for = "1m"
"#;

/// Asserts that `failed` of `deployed` deployments is a proportion `p`, within a 99.9%
/// binomial interval (3.3 standard deviations).
pub fn assert_proportion(failed: u64, deployed: u64, p: f64, what: &str) {
    let got = failed as f64 / deployed as f64;
    let sd = (p * (1.0 - p) / deployed as f64).sqrt();
    assert!(
        (got - p).abs() < 3.3 * sd,
        "{what}: {got} of {deployed}, expected {p}"
    );
}

/// `runs` trains of `s` (which has a `[train]`) from master seed `seed`.
pub fn train_runs(s: &Scenario, seed: u64, runs: u64) -> TrainResults {
    let Some(train) = s.train.as_deref() else {
        panic!("no [train]")
    };
    run_train(&Prepared::new(s), train, seed, 0..runs, None, None)
}
