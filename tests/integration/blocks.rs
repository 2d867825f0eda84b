//! Traffic drawn in blocks (`model::blocks`) against closed forms and against the
//! scrape-by-scrape path: the same distributions, and runs that score the same whether
//! traced, live or not.

use super::scenario;
use rollsim::model::ServiceModel;
use rollsim::outcome::RunRecord;
use rollsim::scenario::Scenario;
use rollsim::sim::{replicate, replicate_traced, Prepared, World};

/// A day of 15 s scrapes at 40 requests/s (+-50%), a drift of `noise_sd`, a canary at
/// 10 h, bad with probability `bad`; `extra` adds sections.
fn day(noise_sd: f64, bad: f64, extra: &str, policies: &str) -> Scenario {
    scenario(&format!(
        r#"
        [simulation]
        duration = "24h"
        scrape_interval = "15s"
        [service]
        request_rate = 40.0
        diurnal_amplitude = 0.5
        baseline_error_rate = 0.002
        [signals]
        noise_sd = {noise_sd}
        noise_correlation = "20m"
        {extra}
        [release]
        at = "10h"
        bad_probability = {bad}
        [release.bad]
        error_rate = 0.05
        [rollout]
        strategy = "canary"
        {policies}
        "#
    ))
}

const NONE: &str = "[[policies]]\nname = \"none\"\nkind = \"none\"\n";

/// Every run's record of the first policy, with traffic in blocks or scrape by scrape.
fn runs(s: &Scenario, blocks: bool, seed: u64, n: u64) -> Vec<RunRecord> {
    let p = if blocks {
        Prepared::new(s)
    } else {
        Prepared::scrape_by_scrape(s)
    };
    (0..n)
        .map(|run| replicate(&p, &World::for_run(s, seed, run), &s.policies[0]))
        .collect()
}

fn mean_var(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var)
}

/// The sum of the day's interval means: the mean (and variance) of its requests.
fn day_mean(s: &Scenario) -> f64 {
    let model = ServiceModel::new(s);
    let dt = s.scrape_interval_ms;
    (0..s.duration_ms / dt)
        .map(|i| model.rate_at(i * dt) * dt as f64 / 1000.0)
        .sum()
}

/// Asserts that the runs' requests are Poisson(`mu`) and their failed requests
/// Poisson(0.002 `mu`) (a Poisson count thinned): each mean within 4 standard errors of
/// the exact one, each variance / mean within 4 of its standard errors of 1 (the sample
/// variance of a Poisson count has sd about sqrt(2 / r) of its value).
fn assert_poisson_day(rows: &[RunRecord], mu: f64, blocks: bool) {
    let r = rows.len();
    let total: Vec<f64> = rows.iter().map(|x| x.total_requests as f64).collect();
    let failed: Vec<f64> = rows.iter().map(|x| x.failed_requests as f64).collect();
    for (what, xs, want) in [("requests", &total, mu), ("failed", &failed, 0.002 * mu)] {
        let (mean, var) = mean_var(xs);
        let sd = (want / r as f64).sqrt();
        assert!(
            (mean - want).abs() < 4.0 * sd,
            "blocks {blocks}: {what} mean {mean:.1}, exact {want:.1} (sd {sd:.2})"
        );
        let ratio = var / want;
        assert!(
            (ratio - 1.0).abs() < 4.0 * (2.0 / r as f64).sqrt(),
            "blocks {blocks}: {what} variance / mean {ratio:.3}"
        );
    }
}

#[test]
fn a_day_of_requests_and_errors_is_poisson_in_blocks_and_scrape_by_scrape() {
    // No drift and a good release: a day's requests are Poisson(Σ m_i) and its failed
    // requests Poisson(0.002 Σ m_i) (a Poisson count thinned), on both paths.
    let s = day(0.0, 0.0, "", NONE);
    let mu = day_mean(&s);
    let r = 1500;
    for blocks in [true, false] {
        let rows = runs(&s, blocks, 3, r);
        assert_poisson_day(&rows, mu, blocks);
    }
}

#[test]
fn a_drifting_day_with_bad_releases_has_the_same_distribution_on_both_paths() {
    // Drift, bad releases and an outage: the worlds (release, faults, drift path) are the
    // same on both paths, run by run, so the truth and the downtime are too; given the
    // world, each path's requests are Poisson(Σ m_i) and failed requests Poisson(Σ m_i p_i),
    // drawn independently: their paired difference has mean 0 and mean square twice the
    // mean.
    let s = day(
        0.4,
        0.5,
        "[[faults]]\nkind = \"dependency_outage\"\nprobability = 0.5\n\
         window = [\"2h\", \"20h\"]\nduration = { exponential = \"30m\" }\nerror_rate = 0.2\n",
        NONE,
    );
    let r = 1000;
    let a = runs(&s, true, 8, r);
    let b = runs(&s, false, 8, r);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!((x.release_bad, x.faults), (y.release_bad, y.faults));
        assert_eq!(x.downtime_s, y.downtime_s, "run {}", x.run);
    }
    assert_independent_poisson_pairs(&a, &b, "");
}

/// Runs `a` and `b` of the same worlds (run by run) whose requests and failed requests
/// are, given the world, Poisson counts of the same mean drawn independently: each
/// count's paired difference has mean 0 and mean square twice the mean. `label` starts
/// the failure messages (a service's name, or nothing).
pub fn assert_independent_poisson_pairs(a: &[RunRecord], b: &[RunRecord], label: &str) {
    assert_eq!(a.len(), b.len(), "{label}runs on both paths");
    let r = a.len() as f64;
    type Field = fn(&RunRecord) -> u64;
    let fields: [(&str, Field); 2] = [
        ("requests", |x| x.total_requests),
        ("failed", |x| x.failed_requests),
    ];
    for (what, f) in fields {
        let d: Vec<f64> = a
            .iter()
            .zip(b)
            .map(|(x, y)| f(x) as f64 - f(y) as f64)
            .collect();
        let mean_d = d.iter().sum::<f64>() / r;
        let square = d.iter().map(|x| x * x).sum::<f64>() / r;
        let both = a.iter().chain(b).map(|x| f(x) as f64).sum::<f64>() / r;
        assert!(
            mean_d.abs() < 4.0 * (square / r).sqrt(),
            "{label}{what}: paired difference {mean_d:.2}"
        );
        let ratio = square / both;
        assert!(
            (ratio - 1.0).abs() < 0.15,
            "{label}{what}: mean square difference / (2 x mean) {ratio:.3}"
        );
    }
}

#[test]
fn a_traced_run_in_blocks_splits_its_totals_into_poisson_intervals() {
    // After the promotion nobody watches: the untraced run draws those blocks at once, the
    // traced one splits the same totals into intervals. Each interval's requests are
    // Poisson(m_i), and two intervals are uncorrelated.
    let s = day(0.0, 0.0, "", NONE);
    let p = Prepared::new(&s);
    let model = ServiceModel::new(&s);
    let picks = [3_000usize, 3_001, 4_000, 5_700];
    let r = 600;
    let mut counts = vec![Vec::new(); picks.len()];
    for run in 0..r {
        let world = World::for_run(&s, 5, run);
        let (record, trace) = replicate_traced(&p, &world, &s.policies[0]);
        assert_eq!(record, replicate(&p, &world, &s.policies[0]));
        let total: u64 = trace.rows.iter().map(|row| row.requests).sum();
        assert_eq!(total, record.total_requests);
        for (k, &i) in picks.iter().enumerate() {
            counts[k].push(trace.rows[i].requests as f64);
        }
    }
    for (k, &i) in picks.iter().enumerate() {
        let want = model.rate_at(i as u64 * 15_000) * 15.0;
        let (mean, var) = mean_var(&counts[k]);
        assert!(
            (mean - want).abs() < 4.0 * (want / r as f64).sqrt(),
            "interval {i}: mean {mean:.2}, exact {want:.2}"
        );
        assert!(
            (var / want - 1.0).abs() < 4.0 * (2.0 / r as f64).sqrt(),
            "interval {i}: variance / mean {:.3}",
            var / want
        );
    }
    let (m0, v0) = mean_var(&counts[0]);
    let (m1, v1) = mean_var(&counts[1]);
    let cov = counts[0]
        .iter()
        .zip(&counts[1])
        .map(|(x, y)| (x - m0) * (y - m1))
        .sum::<f64>()
        / (r - 1) as f64;
    let corr = cov / (v0 * v1).sqrt();
    assert!(
        corr.abs() < 4.0 / (r as f64).sqrt(),
        "correlation {corr:.3}"
    );
}

#[test]
fn blocks_skipped_or_not_score_the_same_and_share_the_world() {
    // Policies that stop watching at the promotion (their later blocks skipped) beside one
    // watching to the end, bad releases, retries, a drifting and a flat baseline: traced
    // runs score exactly as untraced ones, and every policy meets the same requests.
    // `none` and `oracle` watch to the end but read nothing: their blocks are skipped
    // wherever no event (the oracle's own included) interrupts them.
    let policies = "[[policies]]\nname = \"none\"\nkind = \"none\"\n\
        [[policies]]\nname = \"oracle\"\nkind = \"oracle\"\nreaction = \"2m\"\n\
        [[policies]]\nname = \"threshold\"\nkind = \"threshold\"\nerror_rate_above = 0.02\n\
        window = \"1m\"\n\
        [[policies]]\nname = \"to-the-end\"\nkind = \"threshold\"\nerror_rate_above = 0.02\n\
        window = \"1m\"\nuntil = \"end\"\n\
        [[policies]]\nname = \"probes\"\nkind = \"consecutive\"\nfailures = 3\n";
    for noise_sd in [0.0, 0.3] {
        let s = day(
            noise_sd,
            0.4,
            "[pipeline]\nmax_attempts = 3\nretry_delay = \"30m\"\n",
            policies,
        );
        let p = Prepared::new(&s);
        for run in 0..40 {
            let world = World::for_run(&s, 12, run);
            let mut totals = Vec::new();
            for spec in &s.policies {
                let record = replicate(&p, &world, spec);
                assert_eq!(
                    record,
                    replicate_traced(&p, &world, spec).0,
                    "run {run} {}",
                    spec.name
                );
                totals.push(record.total_requests);
            }
            assert!(
                totals.iter().all(|&t| t == totals[0]),
                "run {run}: {totals:?}"
            );
        }
    }
}

/// A release train's slot: 6 h of 15 s scrapes at 40 requests/s with a daily and a weekly
/// swing, no drift, a good release at 1 h; `extra` adds the policies.
fn slot(extra: &str) -> Scenario {
    scenario(&format!(
        r#"
        [simulation]
        duration = "6h"
        scrape_interval = "15s"
        [service]
        request_rate = 40.0
        diurnal_amplitude = 0.5
        peak_hour = 14.0
        weekly_amplitude = 0.2
        baseline_error_rate = 0.002
        [signals]
        noise_sd = 0.0
        [release]
        at = "1h"
        bad_probability = 0.0
        [rollout]
        strategy = "canary"
        {extra}
        "#
    ))
}

/// A slot's clock time: 26 days and 11:07:13.457 into model time (a Tuesday, model time 0
/// being a Thursday 00:00), an odd millisecond off the scrape grid, as a train's slots are.
const CLOCK_MS: u64 = (3 * 7 + 5) * 86_400_000 + 11 * 3_600_000 + 7 * 60_000 + 13_457;

#[test]
fn a_slot_at_its_clock_time_draws_the_traffic_of_that_time_on_both_paths() {
    // The slot's requests are Poisson(Σ m_i) with m_i the mean of its interval at the
    // clock time (the peak of the day here, half again the mean at model time 0), and its
    // failed requests Poisson(0.002 Σ m_i), in blocks and scrape by scrape.
    let s = slot(NONE);
    let model = ServiceModel::new(&s);
    let dt = s.scrape_interval_ms;
    let mu: f64 = (0..s.duration_ms / dt)
        .map(|i| model.rate_at(CLOCK_MS + i * dt) * dt as f64 / 1000.0)
        .sum();
    let at_zero = day_mean(&s);
    assert!(mu > 1.3 * at_zero, "{mu} vs {at_zero}");
    let r = 1500;
    for blocks in [true, false] {
        let p = if blocks {
            Prepared::new(&s)
        } else {
            Prepared::scrape_by_scrape(&s)
        };
        let rows: Vec<RunRecord> = (0..r)
            .map(|run| {
                let world = World {
                    clock_ms: CLOCK_MS,
                    ..World::for_run(&s, 21, run)
                };
                replicate(&p, &world, &s.policies[0])
            })
            .collect();
        assert_poisson_day(&rows, mu, blocks);
    }
}

#[test]
fn a_traced_slot_at_its_clock_time_scores_as_untraced_with_intervals_of_that_time() {
    // A watching rule beside none: traced slots score exactly as untraced ones, every
    // policy meets the same requests, and a traced interval's requests have the mean of
    // that interval at the slot's clock time.
    // `none` and `oracle` watch to the end but read nothing: their blocks are skipped
    // wherever no event (the oracle's own included) interrupts them.
    let policies = "[[policies]]\nname = \"none\"\nkind = \"none\"\n\
        [[policies]]\nname = \"oracle\"\nkind = \"oracle\"\nreaction = \"2m\"\n\
        [[policies]]\nname = \"threshold\"\nkind = \"threshold\"\nerror_rate_above = 0.02\n\
        window = \"1m\"\n";
    let s = slot(policies);
    let p = Prepared::new(&s);
    let model = ServiceModel::new(&s);
    let picks = [10usize, 700, 1_000];
    let r = 500;
    let mut counts = vec![Vec::new(); picks.len()];
    for run in 0..r {
        let world = World {
            clock_ms: CLOCK_MS,
            ..World::for_run(&s, 9, run)
        };
        let mut totals = Vec::new();
        for spec in &s.policies {
            let record = replicate(&p, &world, spec);
            let (traced, trace) = replicate_traced(&p, &world, spec);
            assert_eq!(record, traced, "run {run} {}", spec.name);
            totals.push(record.total_requests);
            if spec.name == "none" {
                for (k, &i) in picks.iter().enumerate() {
                    counts[k].push(trace.rows[i].requests as f64);
                }
            }
        }
        assert_eq!(totals[0], totals[1], "run {run}");
    }
    for (k, &i) in picks.iter().enumerate() {
        let want = model.rate_at(CLOCK_MS + i as u64 * 15_000) * 15.0;
        let (mean, var) = mean_var(&counts[k]);
        assert!(
            (mean - want).abs() < 4.0 * (want / r as f64).sqrt(),
            "interval {i}: mean {mean:.2}, exact {want:.2}"
        );
        assert!(
            (var / want - 1.0).abs() < 4.0 * (2.0 / r as f64).sqrt(),
            "interval {i}: variance / mean {:.3}",
            var / want
        );
    }
}

#[test]
fn a_run_that_reads_no_counts_scores_as_one_that_draws_them() {
    // A probe rule and the oracle read no scrape: their constant blocks hold the
    // intervals' counts back (`Traffic::counts_unread`). Flaky probes and bad releases make
    // both act at any instant of a watched block after an all-at-once deploy, so the
    // held-back intervals are often split off mid-block; a traced run draws every
    // interval's counts as it goes. Both score exactly alike, and every policy meets the
    // same requests, with a flat and a drifting baseline.
    for noise_sd in [0.0, 0.3] {
        let s = scenario(&format!(
            r#"
            [simulation]
            duration = "6h"
            scrape_interval = "15s"
            [service]
            request_rate = 40.0
            baseline_error_rate = 0.002
            [signals]
            noise_sd = {noise_sd}
            noise_correlation = "20m"
            [health_check]
            interval = "10s"
            false_failure_probability = 0.05
            [release]
            at = "1h"
            bad_probability = 0.5
            bake = "2h"
            [release.bad]
            error_rate = 0.3
            onset = "7m"
            [rollout]
            strategy = "all_at_once"
            [pipeline]
            max_attempts = 3
            retry_delay = "20m"
            [[policies]]
            name = "none"
            kind = "none"
            [[policies]]
            name = "probes"
            kind = "consecutive"
            failures = 3
            [[policies]]
            name = "oracle"
            kind = "oracle"
            reaction = "2m"
            "#
        ));
        let p = Prepared::new(&s);
        let mut acted = [0; 3];
        for run in 0..60 {
            let world = World::for_run(&s, 5, run);
            let mut totals = Vec::new();
            for (k, spec) in s.policies.iter().enumerate() {
                let record = replicate(&p, &world, spec);
                assert_eq!(
                    record,
                    replicate_traced(&p, &world, spec).0,
                    "drift {noise_sd}, run {run} {}",
                    spec.name
                );
                acted[k] += usize::from(record.rollbacks > 0);
                totals.push(record.total_requests);
            }
            assert!(
                totals.iter().all(|&t| t == totals[0]),
                "run {run}: {totals:?}"
            );
        }
        // Both act within watched blocks in many runs: the split-off path is exercised.
        assert!(acted[1] >= 20 && acted[2] >= 20, "{acted:?}");
    }
}
