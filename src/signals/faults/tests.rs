use super::*;
use crate::scenario::parse;

fn faults(text: &str) -> (Scenario, SignalFaults) {
    let s = parse(text, "t").expect("scenario");
    // Occurrences that never end, so a test may take as many scrapes as it needs.
    let windows: Vec<_> = (0..s.faults.len()).map(|i| (i, 0, u64::MAX)).collect();
    let f = SignalFaults::new(3, &s, windows).expect("a signal fault");
    (s, f)
}

fn served(n: u64, e: u64) -> Served {
    Served {
        requests: [n, n],
        errors: [e, e],
        mu: [4.0, 4.0],
        share: 0.0,
        gauges: None,
    }
}

#[test]
fn no_signal_fault_means_no_signal_faults() {
    let s = parse(
        "[[faults]]\nkind = \"dependency_outage\"\nat = \"1h\"\nduration = \"5m\"\n",
        "t",
    )
    .expect("scenario");
    assert!(SignalFaults::new(1, &s, [(0, 0, 10)]).is_none());
}

#[test]
fn the_mean_decay_integrates_the_exponential() {
    // tau/dt (1 - e^(-dt/tau)) at age 0; the mean over many short pieces agrees.
    let exact = 120.0 / 30.0 * (1.0 - (-30.0f64 / 120.0).exp());
    assert!((mean_decay(0, 30_000, 120_000) - exact).abs() < 1e-12);
    let pieces: f64 = (0..1000)
        .map(|k| mean_decay(k * 30, 30, 120_000))
        .sum::<f64>()
        / 1000.0;
    assert!((pieces - exact).abs() < 1e-9, "{pieces} vs {exact}");
    // An interval later by one decay shows e^-1 of it.
    let later = mean_decay(120_000, 30_000, 120_000);
    assert!((later - exact * (-1.0f64).exp()).abs() < 1e-12);
}

#[test]
fn warm_up_raises_the_new_versions_latency_by_the_closed_form() {
    let (_, mut f) = faults(
        "[[faults]]\nkind = \"warm_up\"\nlatency_factor = 3.0\nerror_rate = 0.0\ndecay = \"2m\"\n",
    );
    let dt = 30_000;
    // The deploy: share 0 -> 0.1 at t = 600 s; every new pod is cold.
    let deploy = 600_000;
    let x = f.apply(deploy, dt, 0.1, &served(1000, 0)).expect("data");
    let w = mean_decay(0, dt, 120_000);
    assert!((x.mu[1] - (4.0 + (1.0 + 2.0 * w).ln())).abs() < 1e-12);
    assert_eq!(x.mu[0], 4.0, "the old version is untouched");
    assert_eq!(x.requests, [1000, 1000]);
    // A step to 0.5 four minutes later: 0.4 / 0.5 of the pods are cold, 0.1 / 0.5 are
    // four minutes warm.
    let step = deploy + 240_000;
    let x = f.apply(step, dt, 0.5, &served(1000, 0)).expect("data");
    let w = 0.8 * mean_decay(0, dt, 120_000) + 0.2 * mean_decay(240_000, dt, 120_000);
    assert!((x.mu[1] - (4.0 + (1.0 + 2.0 * w).ln())).abs() < 1e-12);
    // A rollback to 0 forgets every cohort; the next deploy warms up from scratch.
    assert!(f.apply(step + dt, dt, 0.0, &served(0, 0)).is_some());
    assert_eq!(f.warm_weight(step + 2 * dt, dt, 120_000), 0.0);
}

#[test]
fn warm_up_errors_are_binomial_among_the_successes() {
    let (_, mut f) = faults(
        "[[faults]]\nkind = \"warm_up\"\nlatency_factor = 1.0\nerror_rate = 0.2\ndecay = \"1m\"\n",
    );
    let dt = 15_000;
    let mut total = 0u64;
    let runs = 4000u64;
    for k in 0..runs {
        // Each run: a fresh deploy (share 0 -> 1 after a rollback to 0).
        let t = k * 10 * dt;
        f.apply(t, dt, 0.0, &served(0, 0));
        let x = f.apply(t + dt, dt, 1.0, &served(500, 100)).expect("data");
        assert_eq!(x.errors[0], 100, "the old version is untouched");
        assert!(x.errors[1] >= 100 && x.errors[1] <= 500);
        total += x.errors[1] - 100;
    }
    let p = 0.2 * mean_decay(0, dt, 60_000);
    let mean = total as f64 / runs as f64;
    let sd = (400.0 * p * (1.0 - p) / runs as f64).sqrt();
    assert!(
        (mean - 400.0 * p).abs() < 4.0 * sd,
        "{mean} vs {}",
        400.0 * p
    );
}

#[test]
fn low_traffic_thins_the_new_versions_counts_to_the_rate() {
    let (_, mut f) = faults(
        "[[faults]]\nkind = \"low_traffic\"\nrequest_rate = 0.2\nat = \"0s\"\nduration = \"24h\"\n",
    );
    let dt = 60_000;
    let (mut n, mut e) = (0u64, 0u64);
    let runs = 5000u64;
    for k in 0..runs {
        let x = f.apply(k * dt, dt, 0.1, &served(600, 60)).expect("data");
        assert_eq!((x.requests[0], x.errors[0]), (600, 60));
        assert!(x.errors[1] <= x.requests[1]);
        n += x.requests[1];
        e += x.errors[1];
    }
    // keep = 0.2 x 60 / 600 = 0.02: 12 requests and 1.2 errors a scrape on average.
    let (mn, me) = (n as f64 / runs as f64, e as f64 / runs as f64);
    let sd_n = (600.0 * 0.02 * 0.98 / runs as f64).sqrt();
    assert!((mn - 12.0).abs() < 4.0 * sd_n, "{mn}");
    assert!(
        (me - 1.2).abs() < 4.0 * (60.0 * 0.02 * 0.98 / runs as f64).sqrt(),
        "{me}"
    );
    // More traffic than served keeps every request.
    let (_, mut all) =
        faults("[[faults]]\nkind = \"low_traffic\"\nrequest_rate = 100.0\nat = \"0s\"\nduration = \"24h\"\n");
    let x = all.apply(0, dt, 0.1, &served(600, 60)).expect("data");
    assert_eq!((x.requests[1], x.errors[1]), (600, 60));
}

#[test]
fn query_errors_fail_the_stated_share_of_scrapes_inside_their_window() {
    let s = parse(
        "[[faults]]\nkind = \"query_error\"\nfailure_probability = 0.3\nat = \"1h\"\nduration = \"1h\"\n",
        "t",
    )
    .expect("scenario");
    let mut f = SignalFaults::new(9, &s, [(0, 3_600_000, 7_200_000)]).expect("fault");
    let dt = 1_000;
    assert!(f.apply(3_599_999, dt, 0.1, &served(10, 0)).is_some());
    assert!(f.apply(7_200_000, dt, 0.1, &served(10, 0)).is_some());
    let failed = (0..3600u64)
        .filter(|k| {
            f.apply(3_600_000 + k * dt, dt, 0.1, &served(10, 0))
                .is_none()
        })
        .count();
    // sd = sqrt(3600 x 0.3 x 0.7) = 27.5
    assert!((failed as f64 - 1080.0).abs() < 110.0, "{failed}");
}

#[test]
fn a_rate_window_under_two_scrapes_gives_no_data_by_the_closed_form() {
    // Without jitter: data with probability window/dt - 1 for dt <= window < 2 dt.
    for (window, expected) in [
        ("15s", 0.0),
        ("20s", 1.0 / 3.0),
        ("25s", 2.0 / 3.0),
        ("30s", 1.0),
    ] {
        let (_, mut f) = faults(&format!(
            "[[faults]]\nkind = \"scrape_jitter\"\nrate_window = \"{window}\"\n"
        ));
        let runs = 6000u64;
        let seen = (0..runs)
            .filter(|k| f.apply(k * 15_000, 15_000, 0.1, &served(10, 0)).is_some())
            .count() as f64
            / runs as f64;
        let sd = (expected * (1.0 - expected) / runs as f64).sqrt();
        assert!(
            (seen - expected).abs() <= 4.0 * sd + 1e-12,
            "{window}: {seen} vs {expected}"
        );
    }
    // Jitter makes a window of exactly two intervals miss a sample now and then.
    let (_, mut f) =
        faults("[[faults]]\nkind = \"scrape_jitter\"\nrate_window = \"30s\"\njitter = \"3s\"\n");
    let lost = (0..6000u64)
        .filter(|k| f.apply(k * 15_000, 15_000, 0.1, &served(10, 0)).is_none())
        .count();
    assert!(lost > 0 && lost < 6000 / 5, "{lost}");
}

#[test]
fn a_counter_reset_reads_as_prometheus_would_by_the_exact_trace() {
    // Four pods, 4000 requests counted since the deploy: the restarted pod had 1000.
    // Of this interval's 400 requests it served 100, 40 of them before its restart.
    // Its own series falls (60 < 1000): a reset, read as 60; the others add 300.
    assert_eq!(
        reading_after_restart(4000, 4, 400, 100, 40, false),
        (360, 3360)
    );
    // Summed first, the sum falls (3360 < 4000): the whole sum is read as new counts.
    assert_eq!(
        reading_after_restart(4000, 4, 400, 100, 40, true),
        (3360, 3360)
    );
    // Young pods (200 counted, 50 each): the pod's 60 after the restart is no fall,
    // so 60 - 50 = 10 is read; the sum does not fall either: 510 - 200 = 310.
    assert_eq!(
        reading_after_restart(200, 4, 400, 100, 40, false),
        (310, 510)
    );
    assert_eq!(
        reading_after_restart(200, 4, 400, 100, 40, true),
        (310, 510)
    );
    // Rare errors: 8 counted, 2 on the pod, none this interval. Its own series
    // falls to 0 (read 0); summed first, the sum falls from 8 to 6 and reads 6.
    assert_eq!(reading_after_restart(8, 4, 0, 0, 0, false), (0, 6));
    assert_eq!(reading_after_restart(8, 4, 0, 0, 0, true), (6, 6));
}

fn served_new(n: u64, e: u64, share: f64) -> Served {
    Served {
        requests: [n, n],
        errors: [e, e],
        mu: [4.0, 4.0],
        share,
        gauges: None,
    }
}

#[test]
fn a_counter_reset_per_pod_loses_half_a_pods_interval_on_average() {
    // A restart every interval (p = 1) among 4 pods (share 0.5 of 8 replicas): the
    // pod's counter always falls, so the reading loses its counts before the restart:
    // 400 x 1/4 x 1/2 = 50 on average.
    let (_, mut f) = faults(
        "[service]\nreplicas = 8\n[[faults]]\nkind = \"counter_reset\"\nrestarts_per_hour = 1e9\n",
    );
    let runs = 4000u64;
    let mut sum = 0u64;
    for k in 0..runs {
        let x = f
            .apply(k * 15_000, 15_000, 0.5, &served_new(400, 0, 0.5))
            .expect("data");
        assert!((200..=400).contains(&x.requests[1]), "{}", x.requests[1]);
        assert_eq!(x.requests[0], 400, "the old version is untouched");
        sum += x.requests[1];
    }
    let mean = sum as f64 / runs as f64;
    // sd of one reading about 30 (lost ~ Binomial(100, u) with u uniform).
    assert!(
        (mean - 350.0).abs() < 4.0 * 30.0 / (runs as f64).sqrt(),
        "{mean}"
    );
}

#[test]
fn a_counter_reset_summed_first_reads_the_whole_sum() {
    let s = parse(
        "[service]\nreplicas = 8\n[[faults]]\nkind = \"counter_reset\"\nrestarts_per_hour = 1e9\nquery = \"sum_then_rate\"\nat = \"25m\"\nduration = \"1h\"\n",
        "t",
    )
    .expect("scenario");
    let mut f = SignalFaults::new(5, &s, [(0, 1_500_000, 5_100_000)]).expect("fault");
    let dt = 15_000;
    // 100 scrapes before the window: 40,000 requests and 400 errors counted.
    for k in 0..100 {
        let x = f
            .apply(k * dt, dt, 0.5, &served_new(400, 4, 0.5))
            .expect("data");
        assert_eq!((x.requests[1], x.errors[1]), (400, 4));
    }
    // The restart: the pod had 10,000 and 100; the sum falls, so Prometheus reads it
    // whole: 30,000 + what the others and the pod counted since.
    let x = f
        .apply(1_500_000, dt, 0.5, &served_new(400, 4, 0.5))
        .expect("data");
    assert!(
        (30_000..=30_400).contains(&x.requests[1]),
        "{}",
        x.requests[1]
    );
    assert!((300..=304).contains(&x.errors[1]), "{}", x.errors[1]);
    // A rollback forgets the sums.
    f.apply(1_515_000, dt, 0.0, &served_new(0, 0, 0.0));
    assert_eq!(f.count(&served_new(0, 0, 0.0)), [0, 0]);
}

#[test]
fn a_pre_existing_alarm_shows_errors_on_both_versions() {
    let (_, mut f) = faults(
        "[[faults]]\nkind = \"pre_existing_alarm\"\nerror_rate = 0.1\nat = \"0s\"\nduration = \"1h\"\n",
    );
    let runs = 2000u64;
    let mut extra = [0u64; 2];
    for k in 0..runs {
        let x = f
            .apply(k * 15_000, 15_000, 0.1, &served(100, 10))
            .expect("data");
        assert_eq!(x.requests, [100, 100], "no request is added");
        for (e, seen) in extra.iter_mut().zip(x.errors) {
            *e += seen - 10;
        }
    }
    // 90 successes x 0.1 = 9 extra errors a scrape on each version.
    let sd = (90.0 * 0.1 * 0.9 / runs as f64).sqrt();
    for e in extra {
        let mean = e as f64 / runs as f64;
        assert!((mean - 9.0).abs() < 4.0 * sd, "{mean}");
    }
}
