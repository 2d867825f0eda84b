//! Signal faults (`warm_up`, `low_traffic`, `query_error`, `scrape_jitter`, `counter_reset`,
//! `pre_existing_alarm`): they change what the policies
//! see and nothing that really happened, each shipped scenario shows the false positives
//! its fault causes, and bad parameters are located.

use super::{of, records, scenario};
use rollsim::scenario::{parse, FaultEffect, SignalFault};

/// A canary with a bad release now and then, every signal fault at once, and a policy
/// that reads every scrape's p99 and never acts.
const WATCHED: &str = r#"
[simulation]
duration = "4h"
scrape_interval = "15s"
[service]
request_rate = 20.0
baseline_error_rate = 0.002
[signals]
noise_sd = 0.3
missing_scrape_probability = 0.02
metric_delay = "30s"
[release]
at = "1h"
bad_probability = 0.4
bake = "30m"
[release.bad]
error_rate = 0.05
[rollout]
strategy = "canary"
steps = [{ weight = 10, pause = "10m" }, { weight = 50, pause = "10m" }, { weight = 100 }]
[[faults]]
kind = "dependency_outage"
rate_per_hour = 0.5
duration = "5m"
error_rate = 0.1
[[faults]]
kind = "warm_up"
latency_factor = 5.0
error_rate = 0.1
decay = "2m"
[[faults]]
kind = "low_traffic"
at = "1h5m"
duration = "10m"
request_rate = 0.05
[[faults]]
kind = "query_error"
rate_per_hour = 1.0
duration = "10m"
failure_probability = 0.7
[[faults]]
kind = "scrape_jitter"
rate_window = "25s"
jitter = "2s"
[[faults]]
kind = "counter_reset"
restarts_per_hour = 30.0
query = "sum_then_rate"
[[faults]]
kind = "pre_existing_alarm"
at = "50m"
duration = "30m"
error_rate = 0.05
[[policies]]
name = "watcher"
kind = "threshold"
latency_p99_above = "1h"
window = "1m"
"#;

#[test]
fn signal_faults_leave_the_truth_alone() {
    let with = scenario(WATCHED);
    let mut without = with.clone();
    without
        .faults
        .retain(|f| !matches!(f.effect, FaultEffect::Signal(_)));
    assert_eq!(without.faults.len(), 1);
    let (a, b) = (records(&with, 11, 60), records(&without, 11, 60));
    assert_eq!(a.len(), b.len());
    let mut bad = 0;
    for (x, y) in a.iter().zip(&b) {
        bad += usize::from(x.release_bad);
        assert_eq!(
            (
                x.release_bad,
                x.total_requests,
                x.failed_requests,
                x.rollbacks
            ),
            (
                y.release_bad,
                y.total_requests,
                y.failed_requests,
                y.rollbacks
            ),
            "run {}",
            x.run
        );
        assert_eq!(
            x.downtime_s.to_bits(),
            y.downtime_s.to_bits(),
            "run {}",
            x.run
        );
    }
    assert!(bad > 10 && bad < 50, "{bad} bad releases");
}

/// False-positive rollbacks per good release of `policy`, with and without the
/// scenario's signal faults, on the same runs.
fn false_positive_rates(file: &str, policy: &str, runs: u64) -> (f64, f64) {
    let s = rollsim::scenario::load(std::path::Path::new(file)).expect(file);
    let mut clean = s.clone();
    clean
        .faults
        .retain(|f| !matches!(f.effect, FaultEffect::Signal(_)));
    assert!(
        clean.faults.len() < s.faults.len(),
        "{file} has a signal fault"
    );
    let rate = |s| {
        let all = records(s, 5, runs);
        let good: Vec<_> = of(&all, policy)
            .into_iter()
            .filter(|r| !r.release_bad)
            .collect();
        let fp = good
            .iter()
            .filter(|r| r.false_positive_rollbacks > 0)
            .count();
        fp as f64 / good.len().max(1) as f64
    };
    (rate(&s), rate(&clean))
}

#[test]
fn bad_signal_fault_parameters_are_located() {
    let cases = [
        (
            "[[faults]]\nkind = \"low_traffic\"\nat = \"1h\"\nduration = \"10m\"\nrequest_rate = 0\n",
            "f.toml:5:16: request_rate = 0 is out of range; expected a number > 0",
        ),
        (
            "[[faults]]\nkind = \"warm_up\"\ndecay = \"0s\"\n",
            "f.toml:3:9: decay must be longer than zero",
        ),
        (
            "[[faults]]\nkind = \"warm_up\"\nerror_rate = 1.5\n",
            "f.toml:3:14: error_rate = 1.5 is not a probability; expected a number in [0, 1]",
        ),
        (
            "[[faults]]\nkind = \"query_error\"\nat = \"1h\"\nduration = \"10m\"\nlatency_factor = 2.0\n",
            "f.toml:5:18: `latency_factor` does not apply to kind `query_error`; expected only failure_probability",
        ),
        (
            "[[faults]]\nkind = \"warm_up\"\nwindow = [\"1h\", \"2h\"]\n",
            "f.toml:3:10: `window` applies to random faults",
        ),
        (
            "[[faults]]\nkind = \"query_error\"\n",
            "a fault needs exactly one schedule",
        ),
        (
            "[[faults]]\nkind = \"scrape_jitter\"\nrate_window = \"0s\"\n",
            "f.toml:3:15: rate_window must be longer than zero",
        ),
        (
            "[[faults]]\nkind = \"counter_reset\"\nrestarts_per_hour = 0\n",
            "f.toml:3:21: restarts_per_hour = 0 is out of range; expected a number > 0",
        ),
        (
            "[[faults]]\nkind = \"counter_reset\"\nquery = \"sum\"\n",
            "f.toml:3:9",
        ),
        (
            "[[faults]]\nkind = \"pre_existing_alarm\"\nat = \"1h\"\nduration = \"1h\"\nerror_rate = 2.0\n",
            "f.toml:5:14: error_rate = 2 is not a probability",
        ),
        (
            "[[faults]]\nkind = \"pre_existing_alarm\"\nerror_rate = 0.1\n",
            "a fault needs exactly one schedule",
        ),
    ];
    let live = "[[faults]]\nkind = \"query_error\"\ninject_only = true\nduration = \"5m\"\n";
    let e = parse(live, "f.toml")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.contains("f.toml:3:15: a signal fault cannot be injected live in a game day"),
        "{e}"
    );
    for (text, expected) in cases {
        let e = match parse(text, "f.toml") {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => e.to_string(),
        };
        assert!(e.contains(expected), "expected {expected:?} in:\n{e}");
    }
    // A warm-up without a schedule lasts the whole run.
    let s = scenario("[simulation]\nduration = \"6h\"\n[[faults]]\nkind = \"warm_up\"\n");
    assert_eq!(s.faults[0].schedule, rollsim::scenario::Schedule::At(0));
    assert_eq!(
        s.faults[0].duration,
        rollsim::scenario::DurationDist::Fixed(6 * 3_600_000)
    );
}

/// Each shipped signal-fault scenario shows the false positives its fault causes in the
/// controllers' models: the same runs without the fault have almost none.
#[test]
fn each_shipped_signal_fault_causes_the_false_positives_its_scenario_describes() {
    // (scenario, policy, at least this rate with the fault)
    let cases = [
        ("scenarios/warm-up.toml", "flagger", 0.9),
        ("scenarios/warm-up.toml", "argo-fl1", 0.6),
        ("scenarios/warm-up.toml", "kayenta", 0.9),
        ("scenarios/low-traffic-signal.toml", "flagger", 0.4),
        ("scenarios/low-traffic-signal.toml", "argo-fl3", 0.45),
        ("scenarios/query-errors.toml", "argo-fl3", 0.08),
        ("scenarios/query-errors.toml", "flagger", 0.04),
        ("scenarios/rate-window-aliasing.toml", "flagger", 0.95),
        ("scenarios/rate-window-aliasing.toml", "argo-fl3", 0.95),
        ("scenarios/counter-reset.toml", "alert-rule-2pct-1m", 0.05),
        ("scenarios/counter-reset.toml", "argo-fl0", 0.05),
        ("scenarios/pre-existing-alarm.toml", "alert-rule-2pct", 0.25),
        ("scenarios/pre-existing-alarm.toml", "argo-fl3", 0.25),
        ("scenarios/pre-existing-alarm.toml", "flagger", 0.25),
    ];
    for (file, policy, least) in cases {
        let (with, without) = false_positive_rates(file, policy, 200);
        eprintln!("{file} {policy}: {with:.3} with the fault, {without:.3} without");
        assert!(with >= least, "{file} {policy}: {with} < {least}");
        assert!(
            without <= 0.03,
            "{file} {policy}: {without} without the fault"
        );
    }
    // Argo's knob for flaky queries: a higher consecutiveErrorLimit.
    let (strict, _) = false_positive_rates("scenarios/query-errors.toml", "argo-fl3", 200);
    let (lenient, _) =
        false_positive_rates("scenarios/query-errors.toml", "argo-fl3-errors20", 200);
    assert!(lenient * 4.0 < strict, "{lenient} vs {strict}");
    // Counters summed per pod (rate, then sum) leave the error ratio alone.
    let mut per_pod = rollsim::scenario::load(std::path::Path::new("scenarios/counter-reset.toml"))
        .expect("counter-reset");
    for f in &mut per_pod.faults {
        if let FaultEffect::Signal(SignalFault::CounterReset { sum_then_rate, .. }) = &mut f.effect
        {
            *sum_then_rate = false;
        }
    }
    let all = records(&per_pod, 5, 200);
    for policy in ["alert-rule-2pct-1m", "argo-fl0"] {
        let fp = of(&all, policy)
            .into_iter()
            .filter(|r| !r.release_bad && r.false_positive_rollbacks > 0)
            .count();
        assert!(
            fp <= 4,
            "{policy}: {fp} false positives with per-pod counters"
        );
    }
    // The pre-existing alarm: Kayenta compares with the baseline, which shows it too; the
    // AWS-style alarm ignores it at the start, and misses bad releases deployed under it.
    let (kayenta, _) = false_positive_rates("scenarios/pre-existing-alarm.toml", "kayenta", 200);
    assert!(kayenta <= 0.03, "kayenta {kayenta}");
    let (aws, _) = false_positive_rates("scenarios/pre-existing-alarm.toml", "aws-alarm-2pct", 200);
    let (prom, _) =
        false_positive_rates("scenarios/pre-existing-alarm.toml", "alert-rule-2pct", 200);
    assert!(aws < prom * 0.75, "aws {aws} vs prometheus {prom}");
    let s = rollsim::scenario::load(std::path::Path::new("scenarios/pre-existing-alarm.toml"))
        .expect("pre-existing-alarm");
    let all = records(&s, 5, 200);
    let missed = |p: &str| {
        of(&all, p)
            .into_iter()
            .filter(|r| r.release_bad && r.missed_bad_release)
            .count()
    };
    assert_eq!(missed("alert-rule-2pct"), 0);
    assert!(
        missed("aws-alarm-2pct") >= 5,
        "{}",
        missed("aws-alarm-2pct")
    );
    // Argo's knob for warm-up: initialDelay.
    let (early, _) = false_positive_rates("scenarios/warm-up.toml", "argo-fl1", 200);
    let (delayed, _) = false_positive_rates("scenarios/warm-up.toml", "argo-fl1-delay5m", 200);
    assert!(delayed * 3.0 < early, "{delayed} vs {early}");
}
