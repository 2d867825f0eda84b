use super::super::VersionSample;
use super::*;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

#[test]
fn regression_weights_are_the_truncated_beta_masses() {
    // python: th = r/(1+r); rhos = [1.5*sqrt(2)**k for k in range(21)]
    //   w_k = (th(rhos[k+1]) - th(rhos[k])) / (1 - th(1.5)), w_20 = (1 - th(rhos[20])) / 0.4
    let m = RatioMixture::regression(1.5);
    let w: Vec<f64> = m.points.iter().map(|p| p.1.exp()).collect();
    assert_eq!(w.len(), GRID_POINTS);
    assert!(close(w[0], 0.199056897457398, 1e-12), "{}", w[0]);
    assert!(close(w[1], 0.175943102542602, 1e-12), "{}", w[1]);
    assert!(close(w[20], 0.00162654521795702, 1e-12), "{}", w[20]);
    assert!(close(w.iter().sum::<f64>(), 1.0, 1e-12));
    assert!(close(m.points[0].0, 1.5, 1e-15));
    assert!(close(m.points[20].0, 1536.0, 1e-12));
}

#[test]
fn a_two_point_mixture_by_hand() {
    // rho in {2, 4}, weights 1/2; scrape 1: 2 of 2 errors at s = 1/2,
    // l(2) = 2^2 / 1.5^2, l(4) = 4^2 / 2.5^2: M_1 = (16/9 + 2.56) / 2 = 2.168888...
    let mut m = RatioMixture::new(&[(2.0, 0.5), (4.0, 0.5)], 1.0);
    m.observe(2, 2, 0.5);
    assert!(close(m.log_value().exp(), 2.16888888888889, 1e-12));
    // scrape 2: 0 of 1 error at s = 0.1: l(2) = 1/1.1, l(4) = 1/1.3
    // M_2 = (16/9/1.1 + 2.56/1.3) / 2 = 1.79269619269619
    m.observe(0, 1, 0.1);
    assert!(close(m.log_value().exp(), 1.79269619269619, 1e-12));
    m.reset();
    assert_eq!(m.log_value(), 0.0);
}

#[test]
fn the_default_mixture_on_a_hand_computed_sequence() {
    // every scrape: the new version has the one error, at an even split.
    // python: sum(w[k] * (2 rho_k / (1 + rho_k))**t): t=1 1.54931001777,
    // t=5 11.3875382247, t=6 19.7067010646, t=7 34.6211067437
    let mut m = RatioMixture::regression(1.5);
    let expected = [
        (1, 1.54931001777),
        (5, 11.3875382247),
        (6, 19.7067010646),
        (7, 34.6211067437),
    ];
    let mut t = 0;
    for (at, value) in expected {
        while t < at {
            m.observe(1, 1, 0.5);
            t += 1;
        }
        assert!(close(m.log_value().exp(), value, 1e-10), "t={t}");
    }
}

fn binomial_pmf(n: u64, k: u64, p: f64) -> f64 {
    let c: f64 = (0..k).map(|i| (n - i) as f64 / (i + 1) as f64).product();
    c * p.powi(k as i32) * (1.0 - p).powi((n - k) as i32)
}

fn hypergeometric_pmf(total: u64, drawn: u64, marked: u64, k: u64) -> f64 {
    let ln_c = |n: u64, k: u64| {
        use statrs::function::gamma::ln_gamma;
        ln_gamma(n as f64 + 1.0) - ln_gamma(k as f64 + 1.0) - ln_gamma((n - k) as f64 + 1.0)
    };
    if k > drawn || marked - k > total - drawn {
        return 0.0;
    }
    (ln_c(marked, k) + ln_c(total - marked, drawn - k) - ln_c(total, drawn)).exp()
}

#[test]
fn one_step_has_expectation_one_under_the_null_and_less_below_it() {
    // After any past, E[M_(t+1) / M_t] over this scrape's X | E ~ Binomial(E, s) is 1
    // for each grid point, so 1 for the mixture; with a better new version
    // (Binomial(E, theta(rho*)), rho* < 1) and with binomial counts (hypergeometric)
    // it is below 1.
    let mut past = RatioMixture::regression(1.5);
    past.observe(3, 5, 0.2);
    let before = past.log_value();
    let (e, s) = (6u64, 0.3);
    let step = |x: u64| {
        let mut m = past.clone();
        m.observe(x, e, s);
        (m.log_value() - before).exp()
    };
    let mean = |pmf: &dyn Fn(u64) -> f64| (0..=e).map(|x| pmf(x) * step(x)).sum::<f64>();
    assert!(close(mean(&|x| binomial_pmf(e, x, s)), 1.0, 1e-12));
    let better = 0.5 * s / (1.0 - s + 0.5 * s);
    assert!(mean(&|x| binomial_pmf(e, x, better)) < 0.9);
    // 30 new requests and 70 old ones, 6 errors in all, equally likely anywhere
    let hyper = mean(&|x| hypergeometric_pmf(100, 30, e, x));
    assert!(hyper < 1.0 && hyper > 0.9, "{hyper}");
}

#[test]
fn sign_test_closed_form() {
    // python fractions: 2^(N+1) P(Bin(N+1, 1/2) <= S) / ((N+1) C(N, S))
    let b = |n, higher| SignTest { n, higher }.log_value().exp();
    assert_eq!(SignTest::default().log_value(), 0.0);
    assert!(close(b(1, 1), 1.5, 1e-12));
    assert!(close(b(1, 0), 0.5, 1e-12));
    assert!(close(b(3, 3), 3.75, 1e-12));
    assert!(close(b(4, 2), 8.0 / 15.0, 1e-12));
    assert!(close(b(10, 10), 2047.0 / 11.0, 1e-12));
    assert!(close(b(30, 20), 2071510459.0 / 931395465.0, 1e-12));
    // a martingale: B(7, 3) = (B(8, 4) + B(8, 3)) / 2 = 93/280
    assert!(close(b(7, 3), 93.0 / 280.0, 1e-12));
    assert!(close((b(8, 4) + b(8, 3)) / 2.0, 93.0 / 280.0, 1e-12));
    // thousands of scrapes stay finite or go to zero, never NaN
    assert!(!b(5000, 2500).is_nan());
}

#[test]
fn sign_test_counts_only_strict_comparisons() {
    let mut t = SignTest::default();
    t.observe(120.0, 100.0);
    t.observe(100.0, 100.0);
    t.observe(90.0, 100.0);
    assert_eq!(t, SignTest { n: 2, higher: 1 });
}

fn sample(requests: u64, errors: u64, p99: f64) -> Option<VersionSample> {
    Some(VersionSample {
        requests,
        errors,
        latency_p99_ms: Some(p99),
        gauges: Default::default(),
    })
}

fn scrape(k: u64, new: Option<VersionSample>, old: Option<VersionSample>) -> Scrape {
    Scrape {
        at_ms: k * 15_000,
        new,
        old,
    }
}

fn errors_only() -> SequentialSpec {
    SequentialSpec {
        metrics: vec![SequentialMetric::ErrorRate],
        ..SequentialSpec::default()
    }
}

#[test]
fn rolls_back_when_the_e_value_reaches_one_over_alpha() {
    // the hand-computed sequence above: 19.7 after 6 scrapes, 34.6 after 7 (1/alpha = 20)
    let mut p = Sequential::new(errors_only());
    let mut at = None;
    for k in 1..=10 {
        let d = p.on_scrape(&scrape(k, sample(100, 1, 200.0), sample(100, 0, 200.0)));
        if d == Decision::Rollback {
            at = Some(k);
            break;
        }
    }
    assert_eq!(at, Some(7));
    // once fired, quiet until the next deploy
    let d = p.on_scrape(&scrape(8, sample(100, 1, 200.0), sample(100, 0, 200.0)));
    assert_eq!(d, Decision::Continue);
    p.reset();
    assert!(p.log_e_value().abs() < 1e-12);
    // alpha 0.02 (1/alpha = 50): 34.6 after 7, 61.6 after 8
    let mut p = Sequential::new(SequentialSpec {
        alpha: 0.02,
        ..errors_only()
    });
    let fired: Vec<bool> = (1..=8)
        .map(|k| {
            p.on_scrape(&scrape(k, sample(100, 1, 200.0), sample(100, 0, 200.0)))
                == Decision::Rollback
        })
        .collect();
    assert_eq!(
        fired,
        [false, false, false, false, false, false, false, true]
    );
}

#[test]
fn uninformative_scrapes_change_nothing() {
    let mut p = Sequential::new(SequentialSpec::default());
    let none = [
        scrape(1, None, None),
        scrape(2, sample(0, 0, 200.0), sample(100, 3, 200.0)),
        scrape(3, sample(100, 3, 300.0), sample(0, 0, 200.0)),
        scrape(4, sample(100, 0, 200.0), sample(100, 0, 200.0)),
    ];
    for s in &none {
        assert_eq!(p.on_scrape(s), Decision::Continue);
    }
    assert!(p.errors.log_value().abs() < 1e-12);
    assert_eq!(p.latency, SignTest::default());
    assert!(p.log_e_value().abs() < 1e-12);
}

#[test]
fn both_metrics_are_averaged() {
    // one scrape: 1 of 1 errors at s = 1/2 (M = 1.54931001777), new p99 higher (B = 1.5)
    let mut p = Sequential::new(SequentialSpec::default());
    p.on_scrape(&scrape(1, sample(100, 1, 300.0), sample(100, 0, 200.0)));
    assert!(close(
        p.log_e_value().exp(),
        (1.54931001777 + 1.5) / 2.0,
        1e-10
    ));
    assert!(p.needs().latency && p.needs().scrapes && !p.needs().health_checks);
    assert!(!Sequential::new(errors_only()).needs().latency);
    // latency alone, every scrape slower: B(N, N) = (2^(N+1) - 1) / (N + 1), so
    // B(6, 6) = 127/7 = 18.1 and B(7, 7) = 255/8 = 31.9: it fires at the 7th
    let mut p = Sequential::new(SequentialSpec {
        metrics: vec![SequentialMetric::LatencyP99],
        ..SequentialSpec::default()
    });
    let first = (1..=10).find(|&k| {
        p.on_scrape(&scrape(k, sample(100, 50, 300.0), sample(100, 0, 200.0))) == Decision::Rollback
    });
    assert_eq!(first, Some(7));
}

#[test]
fn no_regression_when_the_confidence_sequence_excludes_the_minimum_effect() {
    // 5 of 10 errors at an even split per scrape (ratio 1): python gives the e-value of
    // "rho >= 1.5" 17.34 after 29 scrapes and 21.07 after 30
    let mut p = Sequential::new(errors_only());
    for k in 1..=29 {
        p.on_scrape(&scrape(k, sample(100, 5, 200.0), sample(100, 5, 200.0)));
    }
    assert!(!p.no_regression());
    assert!(close(
        p.no_regression.log_value().exp(),
        17.343551999547294,
        1e-10
    ));
    p.on_scrape(&scrape(30, sample(100, 5, 200.0), sample(100, 5, 200.0)));
    assert!(p.no_regression());
    assert!(close(
        p.no_regression.log_value().exp(),
        21.07123269313429,
        1e-10
    ));
}

#[test]
fn promote_early_answers_advance_once_the_minimum_effect_is_excluded_for_good() {
    // the scrapes above: no-regression at the 30th; then a scrape where the new version
    // has every error lowers that e-value again, but the exclusion stands (the
    // confidence sequence is intersected over time) and the rollback side stays low
    let even = |k| scrape(k, sample(100, 5, 200.0), sample(100, 5, 200.0));
    let mut p = Sequential::new(SequentialSpec {
        promote_early: true,
        ..errors_only()
    });
    assert!(p.passes_steps_early());
    let answers: Vec<Decision> = (1..=30).map(|k| p.on_scrape(&even(k))).collect();
    assert_eq!(answers[..29], [Decision::Continue; 29]);
    assert_eq!(answers[29], Decision::Advance);
    let before = p.no_regression.log_value();
    assert_eq!(
        p.on_scrape(&scrape(31, sample(100, 10, 200.0), sample(100, 0, 200.0))),
        Decision::Advance
    );
    assert!(p.no_regression.log_value() < before);
    // without the key the same scrapes never advance; a new deploy forgets the exclusion
    let mut q = Sequential::new(errors_only());
    assert!(!q.passes_steps_early());
    assert!((1..=31).all(|k| q.on_scrape(&even(k)) == Decision::Continue));
    p.reset();
    assert!(!p.no_regression());
    assert_eq!(p.on_scrape(&even(1)), Decision::Continue);
}
