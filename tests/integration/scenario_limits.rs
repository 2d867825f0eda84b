//! A scenario that validates also runs in bounded time and memory: the work a run implies
//! (scrape ticks, fault occurrences, faults) is bounded, with a message naming the key,
//! the limit and how to raise it; names are bounded and printable; deep nesting is
//! located.

use super::rollsim;
use predicates::prelude::*;

const BASE: &str = "[simulation]\nduration = \"6h\"\n\n[release]\nat = \"1h\"\n";

/// `rollsim validate` of `text`: (exit code, stderr).
fn validate(text: &str) -> (i32, String) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("s.toml");
    std::fs::write(&path, text).expect("write");
    let out = rollsim()
        .current_dir(dir.path())
        .args(["validate", "s.toml"])
        .output()
        .expect("rollsim validate");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_metrics_gap_a_billion_times_an_hour_is_refused_then_allowed_by_limits() {
    let text = format!(
        "{BASE}\n[[faults]]\nkind = \"metrics_gap\"\nrate_per_hour = 1e9\nduration = \"1s\"\n"
    );
    let (code, err) = validate(&text);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("s.toml:9:17: with fault \"metrics_gap-0\", faults occur 6000000000 times per run on average"),
        "{err}"
    );
    assert!(
        err.contains("over the limit of 10000 fault windows per run; if you mean it, raise it with [limits] fault_windows_per_run = 6000000000"),
        "{err}"
    );
    // Raised on purpose: valid (not run here: it would take that long).
    let (code, err) = validate(&format!(
        "{text}\n[limits]\nfault_windows_per_run = 6000000000\n"
    ));
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_thousand_poisson_faults_are_refused() {
    let fault = "[[faults]]\nkind = \"infra_latency\"\nrate_per_hour = 0.5\nduration = \"5m\"\nlatency_factor = 2.0\n";
    let text = format!("{BASE}\n{}", fault.repeat(1000));
    let (code, err) = validate(&text);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("1000 [[faults]], over the limit of 200; if you mean it, raise it with [limits] faults = 1000"),
        "{err}"
    );
    // The 201st entry is the one named.
    let line = 7 + 200 * 5;
    assert!(err.contains(&format!("s.toml:{line}:")), "{err}");
}

#[test]
fn one_ms_scrapes_over_a_thousand_days_are_refused() {
    let text = "[simulation]\nduration = \"1000days\"\nscrape_interval = \"1ms\"\n\n[release]\nat = \"1h\"\n";
    let (code, err) = validate(text);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("s.toml:3:19: duration / scrape_interval is 86400000000 scrape ticks per run, over the limit of 5000000"),
        "{err}"
    );
    assert!(
        err.contains("[limits] ticks_per_run = 86400000000"),
        "{err}"
    );
}

#[test]
fn policy_names_are_bounded_and_printable_with_their_position() {
    let long = "x".repeat(65_536);
    let text = format!(
        "{BASE}\n[[policies]]\nname = \"{long}\"\nkind = \"threshold\"\nerror_rate_above = 0.02\n"
    );
    let (code, err) = validate(&text);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("s.toml:8:8: a policy's name is 65536 characters long; expected at most 100"),
        "{}",
        &err[..err.len().min(300)]
    );
    let text = format!(
        "{BASE}\n[[policies]]\nname = \"a\\u0000b\"\nkind = \"threshold\"\nerror_rate_above = 0.02\n"
    );
    let (code, err) = validate(&text);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("s.toml:8:8: a policy's name contains the control character '\\0'"),
        "{err}"
    );
}

#[test]
fn deep_nesting_is_located_not_reported_at_1_1() {
    let dotted = format!("{BASE}{} = 1\n", vec!["a"; 20_000].join("."));
    let (code, err) = validate(&dotted);
    assert_eq!(code, 2, "{err}");
    // The 64th dot of line 6: column 2 * 64.
    assert!(
        err.contains("s.toml:6:128: nested more than 64 levels deep"),
        "{err}"
    );
    rollsim()
        .args(["validate", "scenarios/quickstart.toml"])
        .assert()
        .success()
        .stderr(predicate::str::contains("nested").not());
}
