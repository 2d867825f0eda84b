//! Data state and migrations against closed forms, and the invisibility of corruption.

use super::{of, records, scenario};
use rollsim::outcome::RunRecord;

#[test]
fn new_format_records_grow_at_rate_times_write_share() {
    // All-at-once at 1h, nothing rolled back: from then on every request goes to the new
    // version, and each write creates one v2 record: E = rate * write_fraction * (T - 1h).
    let s = scenario(
        r#"
        [simulation]
        duration = "5h"
        [service]
        request_rate = 20.0
        [signals]
        noise_sd = 0.0
        [release]
        at = "1h"
        bad_probability = 0.0
        [data]
        write_fraction = 0.25
        [data.old]
        reads = ["v1"]
        writes = "v1"
        [data.new]
        reads = ["v1", "v2"]
        writes = "v2"
        [[data.migrations]]
        kind = "expand"
        adds = "v2"
        at = "30m"
        [[policies]]
        name = "none"
        kind = "none"
        "#,
    );
    let runs = 200;
    let all = records(&s, 4, runs);
    let mean = all.iter().map(|r| r.new_format_records as f64).sum::<f64>() / runs as f64;
    let expected = 20.0 * 0.25 * 4.0 * 3600.0;
    // Poisson thinning: variance = mean; 4 sd of the mean.
    assert!(
        (mean - expected).abs() < 4.0 * (expected / runs as f64).sqrt(),
        "mean {mean} vs {expected}"
    );
    assert!(all
        .iter()
        .all(|r| r.unreadable_reads == 0 && r.lost_writes == 0));
}

/// A bad release whose deploy renames every record into a format the old version cannot
/// read; the oracle rolls back instantly 2 minutes after the deploy, then the old version
/// serves alone until the end and every read it makes is unreadable.
fn renamed_then_rolled_back(on_unknown: &str) -> String {
    format!(
        r#"
        [simulation]
        duration = "4h"
        [service]
        request_rate = 10.0
        baseline_error_rate = 0.0
        [signals]
        noise_sd = 0.0
        [release]
        at = "1h"
        bad_probability = 1.0
        [release.bad]
        error_rate = 0.5
        [rollout]
        strategy = "all_at_once"
        rollback_duration = "0s"
        [data]
        write_fraction = 0.0
        read_fraction = 0.5
        rewrite_fraction = 0.2
        [data.old]
        reads = ["v1"]
        writes = "v1"
        on_unknown = "{on_unknown}"
        [data.new]
        reads = ["v1", "v2"]
        writes = "v2"
        [[data.migrations]]
        kind = "expand"
        adds = "v2"
        [[data.migrations]]
        kind = "contract"
        drops = "v1"
        into = "v2"
        data_loss = false
        [[policies]]
        name = "oracle"
        kind = "oracle"
        reaction = "2m"
        [[policies]]
        name = "oracle-refuses"
        kind = "oracle"
        reaction = "2m"
        unsafe_rollback = "refuse"
        "#
    )
}

#[test]
fn unreadable_reads_after_a_rollback_match_the_closed_form() {
    let s = scenario(&renamed_then_rolled_back("error"));
    let runs = 200;
    let all = records(&s, 6, runs);
    let rolled = of(&all, "oracle");
    // After the rollback at 1h 2m the old version reads for 2h 58m, every read unknown:
    // E[unreadable] = rate * read_fraction * (T - t_rollback).
    let expected = 10.0 * 0.5 * (4.0 * 3600.0 - 3720.0);
    let mean = rolled
        .iter()
        .map(|r| r.unreadable_reads as f64)
        .sum::<f64>()
        / runs as f64;
    assert!(
        (mean - expected).abs() < 4.0 * (expected / runs as f64).sqrt(),
        "mean {mean} vs {expected}"
    );
    for r in &rolled {
        assert_eq!(r.rollbacks, 1);
        // `error`: every unreadable read is a failed request, visible at once.
        assert!(r.failed_requests >= r.unreadable_reads);
        assert_eq!(r.data_harm_detected_s, Some(15.0));
        assert_eq!(r.corrupted_records, 0);
    }
    // The safety check refuses: the new version keeps serving, and it reads v2 fine.
    for r in of(&all, "oracle-refuses") {
        assert_eq!(r.rollbacks, 0);
        assert_eq!(r.rollback_refused_unsafe, 1);
        assert_eq!(r.unreadable_reads, 0);
        assert!(r.missed_bad_release);
    }
}

#[test]
fn misread_corrupts_at_the_rewrite_share_and_stays_invisible() {
    let s = scenario(&renamed_then_rolled_back("misread"));
    let all = records(&s, 6, 200);
    let rolled = of(&all, "oracle");
    let unreadable: u64 = rolled.iter().map(|r| r.unreadable_reads).sum();
    let corrupted: u64 = rolled.iter().map(|r| r.corrupted_records).sum();
    // Corruption = Binomial(unreadable, rewrite_fraction): ratio 0.2 within 4 sd.
    let ratio = corrupted as f64 / unreadable as f64;
    let sd = (0.2 * 0.8 / unreadable as f64).sqrt();
    assert!((ratio - 0.2).abs() < 4.0 * sd, "corrupted share {ratio}");
    for r in &rolled {
        assert_eq!(
            r.data_harm_detected_s, None,
            "silent corruption is never seen"
        );
    }
}

/// The columns a policy or an operator could observe, minus the data columns.
fn signals(r: &RunRecord) -> (u64, bool, u32, u32, u64, u64, u64, Option<f64>) {
    (
        r.run,
        r.release_bad,
        r.rollbacks,
        r.deploy_attempts,
        r.failed_requests,
        r.total_requests,
        r.downtime_s as u64,
        r.time_to_detect_s,
    )
}

#[test]
fn corruption_never_changes_any_observed_signal() {
    // The quickstart with a store whose old version misreads everything the new one writes,
    // against the very same scenario with no data at all: every run's errors, rollbacks,
    // downtime and detection times are identical; only the data columns differ.
    let base = std::fs::read_to_string("scenarios/quickstart.toml").expect("quickstart");
    let with_data = format!(
        "{base}\n[data]\nrewrite_fraction = 0.5\n[data.old]\nreads = [\"v1\"]\nwrites = \"v1\"\non_unknown = \"misread\"\n[data.new]\nreads = [\"v1\", \"v2\"]\nwrites = \"v2\"\non_unknown = \"misread\"\n[[data.migrations]]\nkind = \"expand\"\nadds = \"v2\"\n"
    );
    let plain = records(&scenario(&base), 12, 150);
    let data = records(&scenario(&with_data), 12, 150);
    assert_eq!(plain.len(), data.len());
    assert!(
        data.iter().any(|r| r.corrupted_records > 0),
        "corruption happened"
    );
    for (a, b) in plain.iter().zip(&data) {
        assert_eq!(signals(a), signals(b), "run {} policy {}", a.run, a.policy);
        assert_eq!(a.time_to_recover_s, b.time_to_recover_s);
    }
}

#[test]
fn expand_contract_does_no_harm_and_coupled_contract_does() {
    let safe = records(
        &rollsim::scenario::load("scenarios/expand-contract.toml".as_ref()).expect("scenario"),
        3,
        150,
    );
    assert!(safe.iter().any(|r| r.rollbacks > 0), "rollbacks happen");
    for r in &safe {
        assert_eq!(
            (
                r.new_format_records,
                r.unreadable_reads,
                r.corrupted_records,
                r.lost_writes,
                r.rollback_refused_unsafe
            ),
            (0, 0, 0, 0, 0),
            "{r:?}"
        );
    }
    let coupled = records(
        &rollsim::scenario::load("scenarios/coupled-migration-rollback.toml".as_ref())
            .expect("scenario"),
        3,
        150,
    );
    let harm = |p: &str| {
        of(&coupled, p)
            .iter()
            .map(|r| r.unreadable_reads)
            .sum::<u64>()
    };
    assert!(
        harm("gate-rollback") > 5 * harm("none"),
        "rolling back multiplies the harm"
    );
}

#[test]
fn flag_off_stops_new_format_writes_and_the_defect_at_once() {
    let all = records(
        &rollsim::scenario::load("scenarios/recovery-actions.toml".as_ref()).expect("scenario"),
        9,
        150,
    );
    let flag = of(&all, "flag-off");
    let none = of(&all, "none");
    for (f, n) in flag.iter().zip(&none) {
        assert_eq!(f.run, n.run);
        assert_eq!(f.unreadable_reads, 0);
        assert_eq!(f.lost_writes, 0);
        if f.flags_off > 0 {
            // Writes of v2 stop at the flag: fewer new-format records than with no action.
            assert!(f.new_format_records < n.new_format_records);
            assert_eq!(f.time_to_detect_s, f.time_to_recover_s);
        }
    }
    // Rolling back over v2 profiles loses data; rolling forward does not.
    assert!(of(&all, "rollback").iter().any(|r| r.lost_writes > 0));
    assert!(of(&all, "roll-forward").iter().all(|r| r.lost_writes == 0));
}
