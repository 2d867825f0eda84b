//! Turns a [`RawScenario`] into a checked [`Scenario`], filling defaults and collecting
//! every problem (not just the first) with the key path where it sits. Sections with
//! more to say have their own files: `strategy.rs` (rollouts), `fault.rs`, `data.rs`,
//! `policies.rs` (whose kinds check themselves in `crate::policy`).

use super::policies::{self, RawPolicy};
use super::raw::*;
use super::span::Problem;
use super::strategy::{check_rollout, merged};
use super::*;
use crate::check::{at, idx, Checker, Path, PolicyContext, Z95};

/// The most background pages a day `[human]` takes (one every 10 seconds): each page is
/// drawn and kept, so the bound keeps a run's time and memory bounded (10^9 a day hung).
pub const MAX_BACKGROUND_PAGES_PER_DAY: f64 = 8640.0;

pub(super) fn validate(
    raw: RawScenario,
    raw_policies: &[RawPolicy],
) -> Result<Scenario, Vec<Problem>> {
    let mut c = Checker::default();
    let root: Path = vec![];

    // [simulation]
    let mut t = c.table(&at(&root, "simulation"), "simulation");
    let rs = &raw.simulation;
    let duration_ms = t.positive("duration", rs.duration, 24 * 3_600_000);
    let scrape_interval_ms = t.positive("scrape_interval", rs.scrape_interval, 15_000);
    if scrape_interval_ms > duration_ms {
        t.fail(
            "scrape_interval",
            "simulation.scrape_interval is longer than simulation.duration",
        );
    }
    let runs = t.int("runs", rs.runs, 1000, 1, 100_000_000);

    // [service]
    let mut t = c.table(&at(&root, "service"), "service");
    let rs = &raw.service;
    let latency_p50_ms = t.positive("latency_p50", rs.latency_p50, 50) as f64;
    let latency_p99_ms = t.positive("latency_p99", rs.latency_p99, 250) as f64;
    if latency_p99_ms <= latency_p50_ms {
        t.fail(
            "latency_p99",
            "service.latency_p99 must be greater than service.latency_p50",
        );
    }
    let peak_hour = t.number("peak_hour", rs.peak_hour, 14.0, 0.0, false);
    if peak_hour >= 24.0 {
        t.fail(
            "peak_hour",
            format!("service.peak_hour = {peak_hour}; expected an hour in [0, 24)"),
        );
    }
    let peak_weekday = t.number("peak_weekday", rs.peak_weekday, 2.5, 0.0, false);
    if peak_weekday >= 7.0 {
        t.fail(
            "peak_weekday",
            format!(
                "service.peak_weekday = {peak_weekday}; expected days after Monday 00:00 in [0, 7)"
            ),
        );
    }
    let diurnal_amplitude = t.prob("diurnal_amplitude", rs.diurnal_amplitude, 0.0);
    let weekly_amplitude = t.prob("weekly_amplitude", rs.weekly_amplitude, 0.0);
    if diurnal_amplitude + weekly_amplitude > 1.0 {
        t.fail(
            "weekly_amplitude",
            format!(
                "service.diurnal_amplitude + service.weekly_amplitude = {}; expected at most 1 (the rate would go below 0)",
                diurnal_amplitude + weekly_amplitude
            ),
        );
    }
    let service = Service {
        name: rs.name.clone().unwrap_or_else(|| "service".into()),
        request_rate: t.request_rate("request_rate", rs.request_rate, 50.0),
        diurnal_amplitude,
        peak_hour,
        weekly_amplitude,
        peak_weekday,
        baseline_error_rate: t.prob("baseline_error_rate", rs.baseline_error_rate, 0.001),
        latency_p50_ms,
        latency_p99_ms,
        replicas: t.int("replicas", rs.replicas, 10, 1, 100_000) as u32,
        capacity_rps: rs
            .capacity_rps
            .map(|v| t.number("capacity_rps", Some(v), 1.0, 0.0, true)),
        cpu_baseline: t.within("cpu_baseline", rs.cpu_baseline, 0.05, (0.0, 1.0)),
        queue_limit: t.number("queue_limit", rs.queue_limit, 100.0, 0.0, true),
    };

    // [signals]
    let mut t = c.table(&at(&root, "signals"), "signals");
    let rs = &raw.signals;
    let signals = Signals {
        noise_sd: t.within("noise_sd", rs.noise_sd, 0.2, (0.0, super::MAX_NOISE_SD)),
        noise_correlation_ms: t.positive("noise_correlation", rs.noise_correlation, 30 * 60_000),
        missing_scrape_probability: t.prob(
            "missing_scrape_probability",
            rs.missing_scrape_probability,
            0.0,
        ),
        metric_delay_ms: rs.metric_delay.map(|d| d.0).unwrap_or(0),
        request_dispersion: t.number("request_dispersion", rs.request_dispersion, 1.0, 1.0, false),
        gauge_noise_sd: t.within("gauge_noise_sd", rs.gauge_noise_sd, 0.05, (0.0, 1.0)),
    };
    if signals.metric_delay_ms >= duration_ms {
        t.fail(
            "metric_delay",
            "signals.metric_delay must be shorter than simulation.duration",
        );
    }

    // [health_check]
    let mut t = c.table(&at(&root, "health_check"), "health_check");
    let rs = &raw.health_check;
    let health_check = HealthCheck {
        interval_ms: t.positive("interval", rs.interval, 10_000),
        timeout_ms: t.positive("timeout", rs.timeout, 1_000),
        false_failure_probability: t.prob(
            "false_failure_probability",
            rs.false_failure_probability,
            0.001,
        ),
    };

    // [slo]
    let mut t = c.table(&at(&root, "slo"), "slo");
    let slo = Slo {
        error_rate: t.prob("error_rate", raw.slo.error_rate, 0.01),
        latency_p99_ms: t.positive("latency_p99", raw.slo.latency_p99, 1_000) as f64,
    };

    // [release]
    let r = at(&root, "release");
    let rr = &raw.release;
    // Default: deploy one hour in, or a quarter into a shorter run.
    let at_ms = rr
        .at
        .map(|d| d.0)
        .unwrap_or((duration_ms / 4).min(3_600_000));
    let mut t = c.table(&r, "release");
    if at_ms >= duration_ms {
        t.fail(
            "at",
            "release.at must be before the end of simulation.duration",
        );
    }
    let bad_probability = t.prob("bad_probability", rr.bad_probability, 0.2);
    let b = at(&r, "bad");
    let rb = rr.bad.clone().unwrap_or_default();
    // Without a [release.bad] table a bad release fails 5% of requests; with one, only
    // what the table says changes (a latency-only defect fails nothing extra).
    let default_error = if rr.bad.is_some() { 0.0 } else { 0.05 };
    let mut t = c.table(&b, "release.bad");
    let bad = BadRelease {
        error_rate: t.prob("error_rate", rb.error_rate, default_error),
        latency_factor: t.number("latency_factor", rb.latency_factor, 1.0, 0.0, true),
        cpu_factor: t.number("cpu_factor", rb.cpu_factor, 1.0, 0.0, true),
        fraction: t.prob("fraction", rb.fraction, 1.0),
        onset_ms: rb.onset.map(|d| d.0).unwrap_or(0),
        ramp_ms: rb.ramp.map(|d| d.0).unwrap_or(0),
    };
    if rr.bad.is_some()
        && bad.error_rate == 0.0
        && bad.latency_factor <= 1.0
        && bad.cpu_factor <= 1.0
    {
        c.fail(
            b.clone(),
            "release.bad changes nothing: set error_rate > 0, latency_factor > 1 or cpu_factor > 1",
        );
    }
    let release = Release {
        at_ms,
        bad_probability,
        bake_ms: rr.bake.map(|d| d.0).unwrap_or(30 * 60_000),
        bad,
    };

    // [rollout]
    let rollout = check_rollout(
        &mut c,
        &at(&root, "rollout"),
        &raw.rollout,
        service.replicas,
    );

    // [pipeline]
    let mut t = c.table(&at(&root, "pipeline"), "pipeline");
    let rs = &raw.pipeline;
    let pipeline = Pipeline {
        max_attempts: t.int("max_attempts", rs.max_attempts, 1, 1, 1000) as u32,
        retry_delay: t.dist(
            "retry_delay",
            &rs.retry_delay,
            DurationDist::Fixed(10 * 60_000),
        ),
    };

    // [human]
    let mut t = c.table(&at(&root, "human"), "human");
    let rs = &raw.human;
    let human = Human {
        ack: t.dist("ack", &rs.ack, lognormal(300_000.0, 1_800_000.0)),
        night_factor: t.number("night_factor", rs.night_factor, 3.0, 1.0, false),
        weekend_factor: t.number("weekend_factor", rs.weekend_factor, 2.0, 1.0, false),
        day: rs.day.unwrap_or(Day::Weekday),
        right_call: t.prob("right_call", rs.right_call, 0.9),
        fatigue: t.number("fatigue", rs.fatigue, 0.1, 0.0, false),
        // Each background page is drawn and kept: bounded, as a day cannot hold more
        // pages than a person could be sent (one every 10 seconds).
        background_pages_per_day: t.within(
            "background_pages_per_day",
            rs.background_pages_per_day,
            0.0,
            (0.0, MAX_BACKGROUND_PAGES_PER_DAY),
        ),
        handling_ms: rs.handling.map(|d| d.0).unwrap_or(15 * 60_000),
        silence_ms: rs.silence.map(|d| d.0).unwrap_or(3_600_000),
    };

    // [recovery]
    let mut t = c.table(&at(&root, "recovery"), "recovery");
    let recovery = Recovery {
        roll_forward_delay: t.dist(
            "roll_forward_delay",
            &raw.recovery.roll_forward_delay,
            lognormal(3_600_000.0, 4.0 * 3_600_000.0),
        ),
    };

    // [data]
    let data = raw
        .data
        .as_ref()
        .map(|d| super::data::check(&mut c, &at(&root, "data"), d, release.at_ms));

    // [[faults]]
    let faults: Vec<Fault> = raw
        .faults
        .iter()
        .enumerate()
        .map(|(i, f)| super::fault::check(&mut c, &idx(&at(&root, "faults"), i), f, i, duration_ms))
        .collect();

    // [train]: its latent causes name inject_only faults.
    let train = raw.train.as_ref().map(|t| {
        if t.services.is_some() && !super::services::is_system(&raw) {
            c.push(super::train::refuse_services());
        }
        let named: Vec<(String, bool)> = faults
            .iter()
            .map(|f| (f.name.clone(), f.schedule == Schedule::Injected))
            .collect();
        Box::new(super::train::check(
            &mut c,
            t,
            &named,
            raw.release.bad_probability.is_some(),
        ))
    });

    // [[policies]]
    let ctx = PolicyContext {
        scrape_interval_ms,
        replicas: service.replicas,
        slo_error_rate: slo.error_rate,
        own_rollout: false,
    };
    let policies = policies::check_all(
        &mut c,
        raw_policies,
        &rollout,
        &ctx,
        data.is_some(),
        |c, path, r| check_rollout(c, path, &merged(&raw.rollout, r), service.replicas),
    );

    // A gauge rule on a service without a capacity sees no data when simulated (in a
    // system, unless some service of it has one).
    let mut warnings = Vec::new();
    let any_capacity = raw.services.iter().any(|e| e.capacity_rps.is_some());
    if service.capacity_rps.is_none() && !any_capacity {
        for p in &policies {
            if let Some(g) = match &p.rule {
                PolicyRule::Threshold(t) => t.signal.gauge(),
                _ => None,
            } {
                warnings.push(format!(
                    "policy {:?} reads the {} gauge, but [service] has no capacity_rps: the gauges follow the utilisation, so a simulation reads none (no data); set capacity_rps (a recording's {} series needs none)",
                    p.name,
                    g.series(),
                    g.series()
                ));
            }
        }
    }

    // [objective]: checked against the policies' names.
    let names: Vec<String> = policies
        .iter()
        .map(|p: &PolicySpec| p.name.clone())
        .collect();
    let objective = match raw
        .objective
        .as_ref()
        .map(|o| super::objective::check(o, &names))
    {
        Some(Ok(text)) => Some(text),
        Some(Err(problem)) => {
            c.push(problem);
            None
        }
        None => None,
    };

    if !c.is_clean() {
        return Err(c.into_problems());
    }
    Ok(Scenario {
        description: raw.description.unwrap_or_default(),
        duration_ms,
        scrape_interval_ms,
        runs,
        seed: raw.simulation.seed,
        service,
        signals,
        health_check,
        slo,
        release,
        rollout,
        pipeline,
        data,
        recovery,
        human,
        faults,
        policies,
        objective,
        warnings,
        system: None,
        train,
    })
}

/// A default log-normal duration given by its median and 95th percentile (ms).
fn lognormal(median_ms: f64, p95_ms: f64) -> DurationDist {
    DurationDist::LogNormal {
        mu: median_ms.ln(),
        sigma: (p95_ms.ln() - median_ms.ln()) / Z95,
    }
}
