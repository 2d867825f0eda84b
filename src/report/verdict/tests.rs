//! Unit tests of `verdict` (`super`).

use super::*;

fn est(mean: f64, lo: f64, hi: f64) -> Estimate {
    Estimate {
        mean,
        ci95_low: lo,
        ci95_high: hi,
        n: 100,
    }
}

fn names() -> Vec<String> {
    ["none", "oracle", "fast", "careful", "noisy"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// Downtime per run of each policy over 100 paired runs; fast and careful differ by
/// `gap` seconds on every run, with a little noise.
fn paired(gap: f64, noise: f64) -> Paired {
    let mut p = Paired::new(&names());
    for run in 0..100 {
        let wobble = if run % 2 == 0 { noise } else { -noise };
        let base = 300.0 + f64::from(run % 7) * 10.0;
        p.add_run(&[
            Some(base + 3000.0),
            Some(base - 100.0),
            Some(base),
            Some(base + gap + wobble),
            Some(base - 50.0),
        ]);
    }
    p
}

fn estimates(gap: f64) -> BTreeMap<(String, String), Estimate> {
    let mut m = BTreeMap::new();
    let mut put = |p: &str, metric: &str, e: Estimate| {
        m.insert((p.to_string(), metric.to_string()), e);
    };
    put("none", "downtime_s", est(3330.0, 3200.0, 3460.0));
    put("oracle", "downtime_s", est(230.0, 220.0, 240.0));
    put("fast", "downtime_s", est(330.0, 320.0, 340.0));
    put(
        "careful",
        "downtime_s",
        est(330.0 + gap, 320.0 + gap, 340.0 + gap),
    );
    put("noisy", "downtime_s", est(280.0, 270.0, 290.0));
    for p in ["none", "oracle", "fast", "careful"] {
        put(p, "false_positive_rollbacks", est(0.01, 0.002, 0.03));
    }
    put("noisy", "false_positive_rollbacks", est(0.09, 0.05, 0.13));
    m
}

fn facts<'a>(
    n: &'a [String],
    r: &'a [String],
    z: &'a [String],
    e: &'a BTreeMap<(String, String), Estimate>,
) -> Facts<'a> {
    Facts {
        policies: n,
        references: r,
        nothing: z,
        estimates: e,
    }
}

/// The verdict of `objective` on the five policies, careful `gap` seconds behind fast on
/// every run (with `noise`), the oracle a reference and none the do-nothing policy.
fn judge(objective: &str, source: Source, gap: f64, noise: f64) -> Verdict {
    let (n, r, z) = (
        names(),
        vec!["oracle".to_string()],
        vec!["none".to_string()],
    );
    let e = estimates(gap);
    decide(
        objective,
        source,
        &facts(&n, &r, &z, &e),
        &paired(gap, noise),
    )
    .unwrap()
}

#[test]
fn names_the_best_with_paired_margins_and_keeps_the_oracle_as_a_bound() {
    let v = judge(
        "min downtime_s s.t. false_positive_rollbacks <= 0.05",
        Source::Scenario,
        65.0,
        5.0,
    );
    assert_eq!(v.best.as_deref(), Some("fast"));
    assert_eq!(v.runner_up.as_deref(), Some("careful"));
    assert_eq!(v.failing, vec!["noisy"]);
    assert!(v.tied.is_empty());
    let d = v.vs_runner_up.unwrap();
    assert!((d.mean + 65.0).abs() < 1e-9 && d.ci95_high < 0.0, "{d:?}");
    assert_eq!(
        v.text,
        "Verdict (min downtime_s s.t. false_positive_rollbacks <= 0.05): fast is best, with \
             5m30s [5m20s, 5m40s] downtime per run. That is 1m05s less than the runner-up, \
             careful (paired difference -1m05s [-1m06s, -1m04s], 100 runs). Against doing \
             nothing (none): 50m less (-50m [-50m, -50m]). 1 policy breaks the constraint at \
             the 95% bound: noisy. The oracle (3m50s [3m40s, 4m]), which knows the truth but \
             acts its reaction time after a bad release starts, is a yardstick, not a bound: a \
             rule that reacts sooner can beat it."
    );
}

#[test]
fn overlapping_paired_intervals_are_a_tie() {
    let v = judge(
        "min downtime_s s.t. false_positive_rollbacks <= 0.05",
        Source::Flag,
        0.5,
        20.0,
    );
    assert_eq!(v.best.as_deref(), Some("fast"));
    assert_eq!(v.tied, vec!["careful"]);
    assert!(
        v.text
            .contains("a tie: fast and careful cannot be told apart"),
        "{}",
        v.text
    );
}

#[test]
fn a_constraint_met_on_the_mean_but_not_the_bound_is_not_met() {
    // noisy's mean 0.09 meets <= 0.1, its upper bound 0.13 does not.
    let v = judge(
        "min downtime_s s.t. false_positive_rollbacks <= 0.1",
        Source::Flag,
        65.0,
        5.0,
    );
    assert_eq!(v.best.as_deref(), Some("fast"));
    assert_eq!(v.failing, vec!["noisy"]);
    let v = judge(
        "min downtime_s s.t. false_positive_rollbacks <= 0.001",
        Source::Flag,
        65.0,
        5.0,
    );
    assert_eq!(v.best, None);
    assert!(
        v.text.contains("no policy meets the constraints"),
        "{}",
        v.text
    );
}

#[test]
fn paired_differences_read_from_runs_csv_match_the_accumulator() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.csv");
    std::fs::write(
        &path,
        "run,policy,downtime_s\n0,a,10\n0,b,4\n1,a,12\n1,b,\n2,a,7\n2,b,5\n",
    )
    .unwrap();
    let names = vec!["a".to_string(), "b".to_string()];
    let p = Paired::from_runs_csv(&path, "downtime_s", &names).unwrap();
    let d = p.difference("a", "b").unwrap();
    assert_eq!(d.n, 2);
    assert!((d.mean - 4.0).abs() < 1e-12);
    let back = p.difference("b", "a").unwrap();
    assert_eq!(back.mean, -d.mean);
    assert_eq!(back.ci95_low, -d.ci95_high);
    std::fs::write(&path, "run,policy,downtime_s\n0,a,ten\n").unwrap();
    let err = Paired::from_runs_csv(&path, "downtime_s", &names).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("runs.csv:2: column `downtime_s`: \"ten\" is not a number"),
        "{err}"
    );
}

#[test]
fn setup_reads_kinds_and_the_objective_table() {
    let text = "[objective]\nminimize = \"downtime_s\"\n\n[[policies]]\nname = \"base\"\nkind = \"none\"\n\n[[policies]]\nname = \"truth\"\nkind = \"oracle\"\n";
    let s = setup(Some(text), &["base".into(), "truth".into()], None);
    assert_eq!(s.objective, "min downtime_s");
    assert_eq!(s.source, Source::Scenario);
    assert_eq!(s.references, vec!["truth"]);
    assert_eq!(s.nothing, vec!["base"]);
    let s = setup(
        None,
        &["none".into(), "oracle".into()],
        Some("max rollbacks"),
    );
    assert_eq!(
        (s.objective.as_str(), s.source),
        ("max rollbacks", Source::Flag)
    );
    assert_eq!(s.references, vec!["oracle"]);
}

#[test]
fn a_paired_difference_over_one_run_says_run() {
    // "(paired difference -293 [-293, -293], 1 runs)" was the fleet's verdict at --runs 1.
    assert_eq!(super::runs(1), "1 run");
    assert_eq!(super::runs(8), "8 runs");
}
