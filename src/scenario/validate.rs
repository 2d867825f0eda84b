//! Turns a [`RawScenario`] into a checked [`Scenario`], filling defaults and collecting
//! every problem (not just the first) with the key path where it sits. Sections with
//! more to say have their own files: `strategy.rs` (rollouts), `fault.rs`, `data.rs`,
//! `policies.rs` (whose kinds check themselves in `crate::policy`).

use super::check::{at, idx, Checker, Path, PolicyContext, Z95};
use super::policies::{self, RawPolicy};
use super::raw::*;
use super::span::Problem;
use super::strategy::{check_rollout, merged};
use super::*;

pub(super) fn validate(
    raw: RawScenario,
    raw_policies: &[RawPolicy],
) -> Result<Scenario, Vec<Problem>> {
    let mut c = Checker::default();
    let root: Path = vec![];

    // [simulation]
    let sim = at(&root, "simulation");
    let duration_ms = c.positive(
        at(&sim, "duration"),
        "simulation.duration",
        raw.simulation.duration,
        24 * 3_600_000,
    );
    let scrape_interval_ms = c.positive(
        at(&sim, "scrape_interval"),
        "simulation.scrape_interval",
        raw.simulation.scrape_interval,
        15_000,
    );
    if scrape_interval_ms > duration_ms {
        c.fail(
            at(&sim, "scrape_interval"),
            "simulation.scrape_interval is longer than simulation.duration",
        );
    }
    let runs = c.int(
        at(&sim, "runs"),
        "simulation.runs",
        raw.simulation.runs,
        1000,
        1,
        100_000_000,
    );

    // [service]
    let s = at(&root, "service");
    let rs = &raw.service;
    let latency_p50_ms = c.positive(
        at(&s, "latency_p50"),
        "service.latency_p50",
        rs.latency_p50,
        50,
    ) as f64;
    let latency_p99_ms = c.positive(
        at(&s, "latency_p99"),
        "service.latency_p99",
        rs.latency_p99,
        250,
    ) as f64;
    if latency_p99_ms <= latency_p50_ms {
        c.fail(
            at(&s, "latency_p99"),
            "service.latency_p99 must be greater than service.latency_p50",
        );
    }
    let service = Service {
        name: rs.name.clone().unwrap_or_else(|| "service".into()),
        request_rate: c.number(
            at(&s, "request_rate"),
            "service.request_rate",
            rs.request_rate,
            50.0,
            0.0,
            true,
        ),
        diurnal_amplitude: c.prob(
            at(&s, "diurnal_amplitude"),
            "service.diurnal_amplitude",
            rs.diurnal_amplitude,
            0.0,
        ),
        peak_hour: {
            let h = c.number(
                at(&s, "peak_hour"),
                "service.peak_hour",
                rs.peak_hour,
                14.0,
                0.0,
                false,
            );
            if h >= 24.0 {
                c.fail(
                    at(&s, "peak_hour"),
                    format!("service.peak_hour = {h}; expected an hour in [0, 24)"),
                );
            }
            h
        },
        baseline_error_rate: c.prob(
            at(&s, "baseline_error_rate"),
            "service.baseline_error_rate",
            rs.baseline_error_rate,
            0.001,
        ),
        latency_p50_ms,
        latency_p99_ms,
        replicas: c.int(
            at(&s, "replicas"),
            "service.replicas",
            rs.replicas,
            10,
            1,
            100_000,
        ) as u32,
        capacity_rps: rs.capacity_rps.map(|v| {
            c.number(
                at(&s, "capacity_rps"),
                "service.capacity_rps",
                Some(v),
                1.0,
                0.0,
                true,
            )
        }),
    };

    // [signals]
    let g = at(&root, "signals");
    let rg = &raw.signals;
    let signals = Signals {
        noise_sd: c.number(
            at(&g, "noise_sd"),
            "signals.noise_sd",
            rg.noise_sd,
            0.2,
            0.0,
            false,
        ),
        noise_correlation_ms: c.positive(
            at(&g, "noise_correlation"),
            "signals.noise_correlation",
            rg.noise_correlation,
            30 * 60_000,
        ),
        missing_scrape_probability: c.prob(
            at(&g, "missing_scrape_probability"),
            "signals.missing_scrape_probability",
            rg.missing_scrape_probability,
            0.0,
        ),
        metric_delay_ms: rg.metric_delay.map(|d| d.0).unwrap_or(0),
        request_dispersion: c.number(
            at(&g, "request_dispersion"),
            "signals.request_dispersion",
            rg.request_dispersion,
            1.0,
            1.0,
            false,
        ),
    };
    if signals.metric_delay_ms >= duration_ms {
        c.fail(
            at(&g, "metric_delay"),
            "signals.metric_delay must be shorter than simulation.duration",
        );
    }

    // [health_check]
    let h = at(&root, "health_check");
    let rh = &raw.health_check;
    let health_check = HealthCheck {
        interval_ms: c.positive(
            at(&h, "interval"),
            "health_check.interval",
            rh.interval,
            10_000,
        ),
        timeout_ms: c.positive(at(&h, "timeout"), "health_check.timeout", rh.timeout, 1_000),
        false_failure_probability: c.prob(
            at(&h, "false_failure_probability"),
            "health_check.false_failure_probability",
            rh.false_failure_probability,
            0.001,
        ),
    };

    // [slo]
    let o = at(&root, "slo");
    let slo = Slo {
        error_rate: c.prob(
            at(&o, "error_rate"),
            "slo.error_rate",
            raw.slo.error_rate,
            0.01,
        ),
        latency_p99_ms: c.positive(
            at(&o, "latency_p99"),
            "slo.latency_p99",
            raw.slo.latency_p99,
            1_000,
        ) as f64,
    };

    // [release]
    let r = at(&root, "release");
    let rr = &raw.release;
    // Default: deploy one hour in, or a quarter into a shorter run.
    let at_ms = rr
        .at
        .map(|d| d.0)
        .unwrap_or((duration_ms / 4).min(3_600_000));
    if at_ms >= duration_ms {
        c.fail(
            at(&r, "at"),
            "release.at must be before the end of simulation.duration",
        );
    }
    let b = at(&r, "bad");
    let rb = rr.bad.clone().unwrap_or_default();
    // Without a [release.bad] table a bad release fails 5% of requests; with one, only
    // what the table says changes (a latency-only defect fails nothing extra).
    let default_error = if rr.bad.is_some() { 0.0 } else { 0.05 };
    let bad = BadRelease {
        error_rate: c.prob(
            at(&b, "error_rate"),
            "release.bad.error_rate",
            rb.error_rate,
            default_error,
        ),
        latency_factor: c.number(
            at(&b, "latency_factor"),
            "release.bad.latency_factor",
            rb.latency_factor,
            1.0,
            0.0,
            true,
        ),
        fraction: c.prob(at(&b, "fraction"), "release.bad.fraction", rb.fraction, 1.0),
        onset_ms: rb.onset.map(|d| d.0).unwrap_or(0),
        ramp_ms: rb.ramp.map(|d| d.0).unwrap_or(0),
    };
    if rr.bad.is_some() && bad.error_rate == 0.0 && bad.latency_factor <= 1.0 {
        c.fail(
            b.clone(),
            "release.bad changes nothing: set error_rate > 0 or latency_factor > 1",
        );
    }
    let release = Release {
        at_ms,
        bad_probability: c.prob(
            at(&r, "bad_probability"),
            "release.bad_probability",
            rr.bad_probability,
            0.2,
        ),
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
    let p = at(&root, "pipeline");
    let pipeline = Pipeline {
        max_attempts: c.int(
            at(&p, "max_attempts"),
            "pipeline.max_attempts",
            raw.pipeline.max_attempts,
            1,
            1,
            1000,
        ) as u32,
        retry_delay: match &raw.pipeline.retry_delay {
            Some(d) => c.dist(at(&p, "retry_delay"), "pipeline.retry_delay", d),
            None => DurationDist::Fixed(10 * 60_000),
        },
    };

    // [recovery]
    let h = at(&root, "human");
    let rh = &raw.human;
    let human = Human {
        ack: match &rh.ack {
            Some(d) => c.dist(at(&h, "ack"), "human.ack", d),
            None => DurationDist::LogNormal {
                mu: (300_000f64).ln(),
                sigma: ((1_800_000f64).ln() - (300_000f64).ln()) / Z95,
            },
        },
        night_factor: c.number(
            at(&h, "night_factor"),
            "human.night_factor",
            rh.night_factor,
            3.0,
            1.0,
            false,
        ),
        weekend_factor: c.number(
            at(&h, "weekend_factor"),
            "human.weekend_factor",
            rh.weekend_factor,
            2.0,
            1.0,
            false,
        ),
        day: rh.day.unwrap_or(Day::Weekday),
        right_call: c.prob(at(&h, "right_call"), "human.right_call", rh.right_call, 0.9),
        fatigue: c.number(
            at(&h, "fatigue"),
            "human.fatigue",
            rh.fatigue,
            0.1,
            0.0,
            false,
        ),
        background_pages_per_day: c.number(
            at(&h, "background_pages_per_day"),
            "human.background_pages_per_day",
            rh.background_pages_per_day,
            0.0,
            0.0,
            false,
        ),
        handling_ms: rh.handling.map(|d| d.0).unwrap_or(15 * 60_000),
        silence_ms: rh.silence.map(|d| d.0).unwrap_or(3_600_000),
    };

    let recovery = Recovery {
        roll_forward_delay: match &raw.recovery.roll_forward_delay {
            Some(d) => c.dist(
                at(&at(&root, "recovery"), "roll_forward_delay"),
                "recovery.roll_forward_delay",
                d,
            ),
            None => DurationDist::LogNormal {
                mu: (3_600_000f64).ln(),
                sigma: ((4.0 * 3_600_000f64).ln() - (3_600_000f64).ln()) / Z95,
            },
        },
    };

    // [data]
    let data = raw
        .data
        .as_ref()
        .map(|d| super::data::check(&mut c, &at(&root, "data"), d, release.at_ms));

    // [[faults]]
    let faults = raw
        .faults
        .iter()
        .enumerate()
        .map(|(i, f)| super::fault::check(&mut c, &idx(&at(&root, "faults"), i), f, i, duration_ms))
        .collect();

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

    if !c.problems.is_empty() {
        return Err(c.problems);
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
        warnings: Vec::new(),
    })
}
