//! Properties over generated inputs: the parser never panics, and every run of every
//! generated scenario keeps the engine's invariants.

use proptest::prelude::*;
use rollsim::scenario::parse;

/// The generated values of a scenario.
#[derive(Debug, Clone, Copy)]
struct Knobs {
    rate: f64,
    noise: f64,
    bad: f64,
    strategy: usize,
    attempts: u32,
    fault_p: f64,
    k: u32,
    limit: f64,
}

/// A valid quickstart-like scenario with generated values.
fn generated(g: Knobs) -> String {
    let Knobs {
        rate,
        noise,
        bad,
        strategy,
        attempts,
        fault_p,
        k,
        limit,
    } = g;
    let rollout = [
        "strategy = \"all_at_once\"",
        "strategy = \"rolling\"\nbatch_size = 2",
        "strategy = \"blue_green\"\npreview = \"5m\"",
        "strategy = \"canary\"\nsteps = [{ weight = 5, pause = \"5m\" }, { weight = 100, pause = \"2m\" }]",
    ][strategy];
    format!(
        r#"
        [simulation]
        duration = "6h"
        [service]
        request_rate = {rate}
        replicas = 6
        [signals]
        noise_sd = {noise}
        missing_scrape_probability = 0.05
        metric_delay = "30s"
        [release]
        at = "1h"
        bad_probability = {bad}
        [rollout]
        {rollout}
        [pipeline]
        max_attempts = {attempts}
        retry_delay = {{ exponential = "10m" }}
        [[faults]]
        kind = "infra_latency"
        probability = {fault_p}
        window = ["50m", "2h"]
        duration = {{ exponential = "30m" }}
        packet_loss = 0.02
        [[faults]]
        kind = "flapping_health_check"
        probability = {fault_p}
        duration = "20m"
        [[policies]]
        name = "none"
        kind = "none"
        [[policies]]
        name = "oracle"
        kind = "oracle"
        [[policies]]
        name = "threshold"
        kind = "threshold"
        error_rate_above = {limit}
        window = "2m"
        [[policies]]
        name = "consecutive"
        kind = "consecutive"
        failures = {k}
        freeze_after = 2
        "#
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn parsing_arbitrary_text_never_panics(text in "\\PC{0,300}") {
        let _ = parse(&text, "fuzz.toml");
    }

    #[test]
    fn parsing_mangled_scenarios_never_panics(cut in 0usize..2000, junk in "[ \\[\\]{}=\"a-z0-9.,_\n-]{0,20}") {
        let base = generated(Knobs { rate: 20.0, noise: 0.3, bad: 0.3, strategy: 3, attempts: 3, fault_p: 0.5, k: 3, limit: 0.02 });
        let cut = cut.min(base.len());
        let cut = (0..=cut).rev().find(|&i| base.is_char_boundary(i)).unwrap_or(0);
        let text = format!("{}{}{}", &base[..cut], junk, &base[cut..]);
        if let Err(e) = parse(&text, "fuzz.toml") {
            // Every rejection names a position in the file.
            let msg = e.to_string();
            prop_assert!(msg.starts_with("fuzz.toml:"), "{}", msg);
        }
    }

    #[test]
    fn every_generated_run_keeps_the_invariants(
        rate in 0.5f64..80.0,
        noise in 0.0f64..1.0,
        bad in 0.0f64..1.0,
        strategy in 0usize..4,
        attempts in 1u32..4,
        fault_p in 0.0f64..1.0,
        k in 1u32..6,
        limit in 0.001f64..0.2,
        seed in any::<u64>(),
    ) {
        let text = generated(Knobs { rate, noise, bad, strategy, attempts, fault_p, k, limit });
        let s = parse(&text, "generated.toml").map_err(|e| TestCaseError::fail(e.to_string()))?;
        let all = super::records(&s, seed, 8);
        for r in &all {
            prop_assert!(r.deploy_attempts >= 1 && r.deploy_attempts <= attempts);
            prop_assert!(r.rollbacks <= r.deploy_attempts);
            prop_assert_eq!(r.rollbacks, r.false_positive_rollbacks + r.true_positive_rollbacks);
            prop_assert!(r.failed_requests <= r.total_requests);
            prop_assert!(r.downtime_s >= 0.0 && r.downtime_s <= 6.0 * 3600.0);
            if let (Some(d), Some(rec)) = (r.time_to_detect_s, r.time_to_recover_s) {
                prop_assert!(d >= 0.0 && rec >= d);
            }
            match r.policy.as_str() {
                "none" => prop_assert_eq!(r.rollbacks, 0),
                "oracle" => prop_assert_eq!(r.false_positive_rollbacks, 0),
                "consecutive" => prop_assert!(r.rollbacks <= 2, "freeze_after = 2"),
                _ => {}
            }
        }
    }
}
