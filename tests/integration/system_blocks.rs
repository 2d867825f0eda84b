//! A system's traffic in blocks (`model::blocks`, "In a system"): a block nobody observes
//! draws its requests and failed requests at once, and they have the distribution of the
//! interval-by-interval path (`Prepared::scrape_by_scrape`, the sequential draws of
//! before); every block draws from sub-streams keyed by its index, so how one block was
//! drawn never moves another's (common random numbers between policies).

use crate::scenario;
use rollsim::outcome::RunRecord;
use rollsim::scenario::Scenario;
use rollsim::sim::{replicate_system, Prepared, World};

/// A caller and its callee: `api` at 200 requests/s (0.1% of them failing on their own)
/// sends half of them to `db` (2% failing), for `duration`; `extra` adds keys to
/// `[signals]`, `release` the `[release]` section's keys, `policies` the policies.
fn pair(duration: &str, extra: &str, release: &str, policies: &str) -> Scenario {
    scenario(&format!(
        r#"
        [simulation]
        duration = "{duration}"
        scrape_interval = "15s"
        [service]
        latency_p50 = "20ms"
        latency_p99 = "100ms"
        [signals]
        {extra}
        [release]
        {release}
        [[services]]
        name = "api"
        request_rate = 200.0
        baseline_error_rate = 0.001
        calls = [{{ service = "db", fraction = 0.5 }}]
        [[services]]
        name = "db"
        baseline_error_rate = 0.02
        {policies}
        "#
    ))
}

const NONE: &str = "[[policies]]\nname = \"none\"\nkind = \"none\"\n";

/// Every run's record of `service` under the first policy, with the traffic in blocks
/// (pooled where nobody observes it) or interval by interval from sequential streams.
fn runs(s: &Scenario, blocks: bool, seed: u64, n: u64, service: &str) -> Vec<RunRecord> {
    let p = if blocks {
        Prepared::new(s)
    } else {
        Prepared::scrape_by_scrape(s)
    };
    (0..n)
        .map(|run| {
            let all = replicate_system(&p, &World::for_run(s, seed, run));
            match all
                .into_iter()
                .find(|r| r.service.as_deref() == Some(service))
            {
                Some(r) => r,
                None => panic!("no row of {service}"),
            }
        })
        .collect()
}

fn mean_var(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var)
}

#[test]
fn a_systems_pooled_requests_and_failures_are_poisson_as_interval_by_interval() {
    // No drift, no release: every interval of api has mean 200 x 15 and fails with
    // q = 1 - (1 - 0.001)(1 - 0.5 x 0.02); db's have mean 100 x 15 and fail with 0.02. A
    // run's requests are Poisson(Σ m_i) and its failed Poisson(Σ m_i q) on both paths (in
    // blocks, every block is pooled: nothing observes any).
    let s = pair(
        "2h",
        "noise_sd = 0.0",
        "bad_probability = 0.0\nat = \"1h59m\"",
        NONE,
    );
    let secs = 7200.0;
    let q_api = 1.0 - (1.0 - 0.001) * (1.0 - 0.5 * 0.02);
    let r = 1200;
    for blocks in [true, false] {
        for (service, mu, q) in [("api", 200.0 * secs, q_api), ("db", 100.0 * secs, 0.02)] {
            let rows = runs(&s, blocks, 11, r, service);
            let total: Vec<f64> = rows.iter().map(|x| x.total_requests as f64).collect();
            let failed: Vec<f64> = rows.iter().map(|x| x.failed_requests as f64).collect();
            for (what, xs, want) in [("requests", &total, mu), ("failed", &failed, mu * q)] {
                let (mean, var) = mean_var(xs);
                let sd = (want / r as f64).sqrt();
                assert!(
                    (mean - want).abs() < 4.0 * sd,
                    "blocks {blocks}, {service} {what}: mean {mean:.1}, exact {want:.1}"
                );
                // The sample variance of a Poisson count: sd about sqrt(2 / r) of it.
                let ratio = var / want;
                assert!(
                    (ratio - 1.0).abs() < 4.0 * (2.0 / r as f64).sqrt(),
                    "blocks {blocks}, {service} {what}: variance / mean {ratio:.3}"
                );
            }
        }
    }
}

#[test]
fn a_drifting_system_with_bad_releases_pools_to_the_interval_by_interval_distribution() {
    // Drift, bad releases (a canary, then the bad version serving to the end): the truth
    // of every interval is the same on both paths run by run (the drift draws one value
    // per interval from its own stream either way, and no count feeds back into any
    // truth), so the downtime is too; given it, each path's requests are Poisson(Σ m_i)
    // and failed requests Poisson(Σ m_i q_i), drawn independently: their paired
    // difference has mean 0 and mean square twice the mean (a failed count of the wrong
    // mixture, or drawn as its mean, fails this).
    let s = pair(
        "6h",
        "noise_sd = 0.5\nnoise_correlation = \"20m\"",
        "bad_probability = 0.5\nat = \"2h\"\n[release.bad]\nerror_rate = 0.05",
        NONE,
    );
    let r = 800;
    for service in ["api", "db"] {
        let a = runs(&s, true, 21, r, service);
        let b = runs(&s, false, 21, r, service);
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.release_bad, y.release_bad);
            assert_eq!(x.downtime_s, y.downtime_s, "{service} run {}", x.run);
        }
        super::blocks::assert_independent_poisson_pairs(&a, &b, &format!("{service} "));
    }
}

/// Policy `watching`: a canary (10% then 50%, 5 minutes each) watched by a rule that never
/// fires, until promotion (10 minutes after the deploy at 15m: within the second block);
/// policy `blind`: no rule, all at once, promoted at the deploy.
const TWO: &str = r#"
[[policies]]
name = "watching"
kind = "threshold"
error_rate_above = 0.99
until = "promoted"
rollout = { strategy = "canary", steps = [{ weight = 10, pause = "5m" }, { weight = 50, pause = "5m" }, { weight = 100 }] }
[[policies]]
name = "blind"
kind = "none"
rollout = { strategy = "all_at_once" }
"#;

/// Each policy's (requests, failed) of `service` in the run, by policy.
fn totals(p: &Prepared<'_>, s: &Scenario, run: u64, service: &str) -> Vec<(u64, u64)> {
    replicate_system(p, &World::for_run(s, 31, run))
        .into_iter()
        .filter(|r| r.service.as_deref() == Some(service))
        .map(|r| (r.total_requests, r.failed_requests))
        .collect()
}

#[test]
fn how_one_policy_draws_a_block_leaves_the_later_blocks_draws_alone() {
    // The same good release under two policies: `watching` draws the second block (15m to
    // 30m) interval by interval, its canary splitting the requests between the versions;
    // `blind` pools it. From 30m on, both pool the same truth. A run's blocks from 30m on
    // are what a 75-minute run adds to a 30-minute one: with streams keyed by block, they
    // are the same draws under both policies, for requests and failed requests alike.
    let release = "bad_probability = 0.0\nat = \"15m\"\nbake = \"0s\"";
    let long = pair("75m", "noise_sd = 0.3", release, TWO);
    let short = pair("30m", "noise_sd = 0.3", release, TWO);
    let later = |p_long: &Prepared<'_>, p_short: &Prepared<'_>, run: u64, service: &str| {
        let l = totals(p_long, &long, run, service);
        let s = totals(p_short, &short, run, service);
        let add: Vec<(u64, u64)> = l
            .iter()
            .zip(&s)
            .map(|(a, b)| (a.0 - b.0, a.1 - b.1))
            .collect();
        (add[0], add[1])
    };
    let (pl, ps) = (Prepared::new(&long), Prepared::new(&short));
    for run in 0..40 {
        for service in ["api", "db"] {
            let (watching, blind) = later(&pl, &ps, run, service);
            assert_eq!(
                watching, blind,
                "run {run}, {service}: the blocks after 30m"
            );
        }
    }
    // The sequential streams of the interval-by-interval path do not have this property
    // (the canary's split draws move every later error draw), which the test would catch.
    let (ql, qs) = (
        Prepared::scrape_by_scrape(&long),
        Prepared::scrape_by_scrape(&short),
    );
    let moved = (0..40).any(|run| {
        let (watching, blind) = later(&ql, &qs, run, "api");
        watching != blind
    });
    assert!(moved, "the sequential path kept the later draws too");
}

#[test]
fn a_traced_systems_pooled_rows_are_poisson_intervals_that_sum_to_the_untraced_totals() {
    use rollsim::sim::replicate_system_traced;
    // No drift, no release until the last minute: every block of api (the entry service,
    // whose rows the timeline shows) is pooled, its rows split from the block's totals.
    // Each row's requests are Poisson(3000) and failed Poisson(3000 q); the rows sum to
    // the untraced run's totals of api, exactly.
    let s = pair(
        "2h",
        "noise_sd = 0.0",
        "bad_probability = 0.0\nat = \"1h59m\"",
        NONE,
    );
    let p = Prepared::new(&s);
    let q = 1.0 - (1.0 - 0.001) * (1.0 - 0.5 * 0.02);
    let (mut requests, mut failed) = (Vec::new(), Vec::new());
    for run in 0..40 {
        let world = World::for_run(&s, 41, run);
        let Some((_, trace)) = replicate_system_traced(&p, &world, 0) else {
            panic!("a system")
        };
        let plain = replicate_system(&p, &world);
        let Some(api) = plain.iter().find(|r| r.service.as_deref() == Some("api")) else {
            panic!("no row of api")
        };
        assert_eq!(trace.rows.len(), 480, "run {run}");
        let n: u64 = trace.rows.iter().map(|r| r.requests).sum();
        let e: u64 = trace.rows.iter().map(|r| r.failed_requests).sum();
        assert_eq!(
            (n, e),
            (api.total_requests, api.failed_requests),
            "run {run}"
        );
        requests.extend(trace.rows.iter().map(|r| r.requests as f64));
        failed.extend(trace.rows.iter().map(|r| r.failed_requests as f64));
    }
    let r = requests.len() as f64;
    for (what, xs, want) in [
        ("requests", &requests, 3000.0),
        ("failed", &failed, 3000.0 * q),
    ] {
        let (mean, var) = mean_var(xs);
        assert!(
            (mean - want).abs() < 4.0 * (want / r).sqrt(),
            "{what} per interval: mean {mean:.2}, exact {want:.2}"
        );
        let ratio = var / want;
        assert!(
            (ratio - 1.0).abs() < 4.0 * (2.0 / r).sqrt(),
            "{what} per interval: variance / mean {ratio:.3}"
        );
    }
}
