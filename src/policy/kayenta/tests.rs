//! The judge against Kayenta's own test suites and the policy's judgements.

use super::super::VersionSample;
use super::judge::statrs_quantile;
use super::*;

fn settings(critical: bool) -> Settings {
    Settings {
        direction: Direction::Either,
        nan_strategy: NanStrategy::None,
        critical,
        allowed_decrease: 1.0,
        allowed_increase: 1.0,
        critical_decrease: 1.0,
        critical_increase: 1.0,
    }
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn normal_quantile_matches_kayenta_test() {
    // MannWhitneySuite "Test zQuant"
    assert!(close(statrs_quantile(0.01), -2.326348, 1e-6));
}

/// One sample of Kayenta's "Tie out with R Version" test, kept as data in `tests/data`.
fn tie_out_sample(name: &str) -> Vec<f64> {
    let text = include_str!("../../../tests/data/kayenta-tie-out.txt");
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {name} sample"));
    line.split_whitespace()
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{v}: not a number")))
        .collect()
}

#[test]
fn mann_whitney_matches_kayenta_tests() {
    // MannWhitneySuite "Mann-Whitney Confidence Interval & Estimate" (confidence 0.95)
    let (lo, hi, est) = match mann_whitney(&[10.0, 20.0, 30.0, 40.0], &[1.0, 2.0, 3.0, 4.0], 0.95) {
        Ok(r) => r,
        Err(_) => panic!("all tied"),
    };
    assert!(close(lo, 6.0, 1e-6), "{lo}");
    assert!(close(hi, 39.0, 1e-6), "{hi}");
    assert!(close(est, 22.5, 1e-6), "{est}");

    // "Tie out with R Version": wilcox.test(experiment, control, conf.int = TRUE)
    let control = tie_out_sample("control");
    let experiment = tie_out_sample("experiment");
    assert_eq!((control.len(), experiment.len()), (90, 90));
    let (lo, hi, est) = match mann_whitney(&experiment, &control, 0.95) {
        Ok(r) => r,
        Err(_) => panic!("all tied"),
    };
    assert!(close(lo, -0.500002521696696, 1e-6), "{lo}");
    assert!(close(hi, -3.486287505871302e-5, 1e-6), "{hi}");
    assert!(close(est, -0.4999393907180323, 1e-4), "{est}");
}

#[test]
fn all_tied_is_an_error() {
    assert_eq!(
        wilcoxon_diff(0.0, 0.0, &[1.0, 1.0], &[1.0, 1.0]),
        Err(AllTied)
    );
}

#[test]
fn classification_rules() {
    let s = settings(false);
    let base = [1.0, 1.1, 0.9, 1.0, 1.2, 0.8, 1.05, 0.95, 1.0, 1.1];
    let doubled: Vec<f64> = base.iter().map(|v| v * 2.0).collect();
    let halved: Vec<f64> = base.iter().map(|v| v * 0.5).collect();
    let c = |ctl: &[f64], exp: &[f64], s: &Settings| classify(ctl, exp, s).label;
    assert_eq!(c(&base, &doubled, &s), Label::High);
    assert_eq!(c(&base, &halved, &s), Label::Low);
    assert_eq!(c(&base, &base, &s), Label::Pass); // identical
    let shifted: Vec<f64> = base.iter().map(|v| v * 1.01).collect();
    assert_eq!(c(&base, &shifted, &s), Label::Pass); // within tolerance
                                                     // direction
    let inc = Settings {
        direction: Direction::Increase,
        ..s
    };
    assert_eq!(c(&base, &halved, &inc), Label::Pass);
    // effect size: a doubling below allowedIncrease 2.5 passes
    let lax = Settings {
        allowed_increase: 2.5,
        ..s
    };
    assert_eq!(c(&base, &doubled, &lax), Label::Pass);
    // NaN: replaced by 0 ("none"), or removed; all removed is Nodata
    let nan = [f64::NAN; 4];
    assert_eq!(c(&nan, &nan, &s), Label::Pass);
    let remove = Settings {
        nan_strategy: NanStrategy::Remove,
        critical: true,
        ..s
    };
    assert_eq!(
        classify(&nan, &base, &remove),
        Classification {
            label: Label::Nodata,
            critical: true
        }
    );
    // single values on each side: noise breaks the ties, a clear increase is High
    assert_eq!(c(&[0.01; 8], &[0.05; 8], &s), Label::High);
    // a single distinct value over both series passes
    assert_eq!(c(&[0.0; 8], &[0.0; 6], &s), Label::Pass);
    // critical: High with mean ratio >= criticalIncrease is a critical failure
    let crit = classify(&base, &doubled, &settings(true));
    assert_eq!(
        crit,
        Classification {
            label: Label::High,
            critical: true
        }
    );
}

#[test]
fn scores() {
    let [p, h, n, e] =
        [Label::Pass, Label::High, Label::Nodata, Label::Error].map(|label| Classification {
            label,
            critical: false,
        });
    assert_eq!(score(&[p, p]), 100.0);
    assert_eq!(score(&[p, h]), 50.0);
    assert_eq!(score(&[p, p, h]), 66.67);
    // Nodata and Error are left out of the ratio; >= 50% Nodata scores 0
    assert_eq!(score(&[p, p, h, n]), 66.67);
    assert_eq!(score(&[p, n]), 0.0);
    assert_eq!(score(&[p, e]), 100.0);
    // a critical metric that is not Pass scores 0
    let hc = Classification {
        label: Label::High,
        critical: true,
    };
    assert_eq!(score(&[p, p, p, hc]), 0.0);
}

fn spec(marginal: f64) -> KayentaSpec {
    KayentaSpec {
        interval_ms: 300_000,
        lookback_ms: None,
        pass: 75.0,
        marginal,
        metrics: vec![
            (KayentaMetric::ErrorRate, false),
            (KayentaMetric::LatencyP99, false),
        ],
        direction: Direction::Increase,
        nan_strategy: NanStrategy::None,
        allowed_decrease: 1.0,
        allowed_increase: 1.0,
        critical_decrease: 1.0,
        critical_increase: 1.0,
    }
}

fn feed(p: &mut Kayenta, new_errors: impl Fn(u64) -> u64, scrapes: u64) -> Option<u64> {
    for k in 1..=scrapes {
        let jitter = (k * 7919 % 13) as f64;
        let old = VersionSample {
            requests: 1000,
            errors: 5 + k % 3,
            latency_p99_ms: Some(200.0 + jitter),
            gauges: Default::default(),
        };
        let new = VersionSample {
            requests: 100,
            errors: new_errors(k),
            latency_p99_ms: Some(200.0 + (jitter * 3.0) % 13.0),
            gauges: Default::default(),
        };
        let d = p.on_scrape(&Scrape {
            at_ms: k * 15_000,
            new: Some(new),
            old: Some(old),
        });
        if d == Decision::Rollback {
            return Some(k * 15_000);
        }
    }
    None
}

#[test]
fn a_judgement_at_or_below_marginal_rolls_back() {
    // canary errors 10x the baseline's: error_rate High, latency Pass: score 50
    let mut p = Kayenta::new(spec(50.0));
    let at = feed(&mut p, |k| 5 + k % 4, 60);
    assert_eq!(p.last_score(), Some(50.0));
    // first judgement one interval after the first scrape
    assert_eq!(at, Some(15_000 + 300_000));
    // marginal 40: 50 is above it, the canary goes on
    let mut p = Kayenta::new(spec(40.0));
    assert_eq!(feed(&mut p, |k| 5 + k % 4, 60), None);
    // a healthy canary scores 100
    let mut p = Kayenta::new(spec(50.0));
    assert_eq!(feed(&mut p, |k| k % 2, 60), None);
    assert_eq!(p.last_score(), Some(100.0));
}

#[test]
fn judging_stops_when_the_baseline_serves_nothing() {
    let mut p = Kayenta::new(spec(50.0));
    let sample = |requests, errors| {
        Some(VersionSample {
            requests,
            errors,
            latency_p99_ms: Some(200.0),
            gauges: Default::default(),
        })
    };
    // the rollout is at 100%: the canary fails 50% of requests, the baseline serves none
    for k in 1..=60u64 {
        let d = p.on_scrape(&Scrape {
            at_ms: k * 15_000,
            new: sample(1000, 500),
            old: sample(0, 0),
        });
        assert_eq!(d, Decision::Continue);
    }
    assert_eq!(p.last_score(), None);
    // a new deploy judges again
    p.reset();
    assert_eq!(feed(&mut p, |k| 5 + k % 4, 60), Some(15_000 + 300_000));
}
