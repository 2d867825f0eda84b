//! Turns a [`RawScenario`] into a checked [`Scenario`], filling defaults and collecting
//! every problem (not just the first) with the key path where it sits.

use super::raw::*;
use super::span::{Problem, Seg};
use super::*;

#[path = "validate_controllers.rs"]
mod controllers;

/// Scenario values some policies are built from (filled in before the policies are checked).
pub(super) struct PolicyContext {
    pub scrape_interval_ms: u64,
    pub replicas: u32,
    pub slo_error_rate: f64,
}

/// Collects problems while building the checked scenario.
pub(super) struct Checker {
    problems: Vec<Problem>,
}

pub(super) type Path = Vec<Seg>;

pub(super) fn at(base: &[Seg], key: &'static str) -> Path {
    let mut p = base.to_vec();
    p.push(Seg::Key(key));
    p
}

pub(super) fn idx(base: &[Seg], i: usize) -> Path {
    let mut p = base.to_vec();
    p.push(Seg::Index(i));
    p
}

impl Checker {
    pub(super) fn fail(&mut self, path: Path, message: impl Into<String>) {
        self.problems.push(Problem {
            path,
            message: message.into(),
        });
    }

    /// A probability: finite and in [0, 1].
    pub(super) fn prob(&mut self, path: Path, name: &str, v: Option<f64>, default: f64) -> f64 {
        let v = v.unwrap_or(default);
        if !(0.0..=1.0).contains(&v) {
            self.fail(
                path,
                format!("{name} = {v} is not a probability; expected a number in [0, 1]"),
            );
            return default;
        }
        v
    }

    /// A finite number >= `min` (or > `min` when `strict`).
    pub(super) fn number(
        &mut self,
        path: Path,
        name: &str,
        v: Option<f64>,
        default: f64,
        min: f64,
        strict: bool,
    ) -> f64 {
        let v = v.unwrap_or(default);
        let ok = v.is_finite() && if strict { v > min } else { v >= min };
        if !ok {
            let rel = if strict { ">" } else { ">=" };
            self.fail(
                path,
                format!("{name} = {v} is out of range; expected a number {rel} {min}"),
            );
            return default;
        }
        v
    }

    /// An integer in [min, max].
    pub(super) fn int(
        &mut self,
        path: Path,
        name: &str,
        v: Option<i64>,
        default: u64,
        min: u64,
        max: u64,
    ) -> u64 {
        let Some(v) = v else { return default };
        if v < min as i64 || v > max as i64 {
            self.fail(
                path,
                format!("{name} = {v} is out of range; expected an integer from {min} to {max}"),
            );
            return default;
        }
        v as u64
    }

    /// A strictly positive duration.
    pub(super) fn positive(&mut self, path: Path, name: &str, v: Option<Dur>, default: u64) -> u64 {
        let v = v.map(|d| d.0).unwrap_or(default);
        if v == 0 {
            self.fail(path, format!("{name} must be longer than zero"));
            return default.max(1);
        }
        v
    }

    pub(super) fn dist(&mut self, path: Path, name: &str, d: &DurDist) -> DurationDist {
        match d {
            DurDist::Fixed(Dur(ms)) => DurationDist::Fixed(*ms),
            DurDist::Shaped(ShapedDist::Exponential(Dur(mean))) => {
                if *mean == 0 {
                    self.fail(
                        path,
                        format!("{name}: the exponential mean must be longer than zero"),
                    );
                }
                DurationDist::Exponential {
                    mean_ms: (*mean).max(1) as f64,
                }
            }
            DurDist::Shaped(ShapedDist::Uniform([Dur(lo), Dur(hi)])) => {
                if lo > hi {
                    self.fail(
                        path,
                        format!("{name}: uniform bounds are reversed; expected [low, high]"),
                    );
                }
                DurationDist::Uniform {
                    low_ms: *lo.min(hi),
                    high_ms: *hi.max(lo),
                }
            }
            DurDist::Shaped(ShapedDist::Lognormal { median, p95 }) => {
                if median.0 == 0 || p95.0 <= median.0 {
                    self.fail(path, format!("{name}: a lognormal needs 0 < median < p95"));
                    return DurationDist::Fixed(median.0);
                }
                let mu = (median.0 as f64).ln();
                let sigma = ((p95.0 as f64).ln() - mu) / Z95;
                DurationDist::LogNormal { mu, sigma }
            }
        }
    }

    /// Rejects fields set on a table where its `kind` gives them no meaning.
    pub(super) fn only(
        &mut self,
        base: &[Seg],
        kind: &str,
        set: &[(&'static str, bool)],
        allowed: &[&str],
    ) {
        for (name, is_set) in set {
            if *is_set && !allowed.contains(name) {
                let expected = if allowed.is_empty() {
                    "it takes no parameters".to_string()
                } else {
                    format!("expected only {}", allowed.join(", "))
                };
                self.fail(
                    at(base, name),
                    format!("`{name}` does not apply to kind `{kind}`; {expected}"),
                );
            }
        }
    }
}

/// The standard normal quantile at 0.95.
const Z95: f64 = 1.644_853_626_951_472_2;

const MS_PER_HOUR: f64 = 3_600_000.0;

pub(super) fn validate(raw: RawScenario) -> Result<Scenario, Vec<Problem>> {
    let mut c = Checker { problems: vec![] };
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
        .map(|(i, f)| fault(&mut c, &idx(&at(&root, "faults"), i), f, i, duration_ms))
        .collect();

    // [[policies]]
    let rollout_default = rollout.clone();
    let policies = if raw.policies.is_empty() {
        default_policies(&rollout)
    } else {
        let base = at(&root, "policies");
        let mut seen: Vec<&str> = vec![];
        raw.policies
            .iter()
            .enumerate()
            .map(|(i, rp)| {
                let path = idx(&base, i);
                if rp.name.trim().is_empty() {
                    c.fail(
                        at(&path, "name"),
                        "policy name is empty; expected a short name such as \"threshold-2pct\"",
                    );
                } else if seen.contains(&rp.name.as_str()) {
                    c.fail(
                        at(&path, "name"),
                        format!(
                            "policy name {:?} is used twice; names must be unique",
                            rp.name
                        ),
                    );
                }
                seen.push(&rp.name);
                if rp.unsafe_rollback.is_some() && data.is_none() {
                    c.fail(
                        at(&path, "unsafe_rollback"),
                        "`unsafe_rollback` needs a [data] section with migrations; expected it only where data is modelled",
                    );
                }
                let ro = match &rp.rollout {
                    Some(r) => check_rollout(
                        &mut c,
                        &at(&path, "rollout"),
                        &merged(&raw.rollout, r),
                        service.replicas,
                    ),
                    None => rollout_default.clone(),
                };
                let ctx = PolicyContext {
                    scrape_interval_ms,
                    replicas: service.replicas,
                    slo_error_rate: slo.error_rate,
                };
                policy(&mut c, &path, rp, ro, &ctx)
            })
            .collect()
    };

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

/// A policy's rollout on top of the scenario's: keys the policy leaves out come from
/// `[rollout]` (strategy-specific keys only when the strategy is the same).
fn merged(base: &RawRollout, over: &RawRollout) -> RawRollout {
    let same = over.strategy.is_none() || over.strategy == base.strategy;
    fn inherit<T: Clone>(same: bool, o: &Option<T>, b: &Option<T>) -> Option<T> {
        o.clone().or(if same { b.clone() } else { None })
    }
    RawRollout {
        strategy: over.strategy.or(base.strategy),
        steps: inherit(same, &over.steps, &base.steps),
        batch_size: inherit(same, &over.batch_size, &base.batch_size),
        batch_interval: inherit(same, &over.batch_interval, &base.batch_interval),
        preview: inherit(same, &over.preview, &base.preview),
        rollback_duration: over.rollback_duration.or(base.rollback_duration),
    }
}

fn check_rollout(c: &mut Checker, ro: &[Seg], rro: &RawRollout, replicas: u32) -> Rollout {
    let ro = ro.to_vec();
    let strategy_name = rro.strategy.unwrap_or(StrategyName::AllAtOnce);
    let set = [
        ("steps", rro.steps.is_some()),
        ("batch_size", rro.batch_size.is_some()),
        ("batch_interval", rro.batch_interval.is_some()),
        ("preview", rro.preview.is_some()),
    ];
    let strategy = match strategy_name {
        StrategyName::AllAtOnce => {
            c.only(&ro, "all_at_once", &set, &[]);
            Strategy::AllAtOnce
        }
        StrategyName::Rolling => {
            c.only(&ro, "rolling", &set, &["batch_size", "batch_interval"]);
            let default_batch = u64::from(replicas).div_ceil(4);
            Strategy::Rolling {
                batch_size: c.int(
                    at(&ro, "batch_size"),
                    "rollout.batch_size",
                    rro.batch_size,
                    default_batch,
                    1,
                    u64::from(replicas),
                ) as u32,
                batch_interval_ms: c.positive(
                    at(&ro, "batch_interval"),
                    "rollout.batch_interval",
                    rro.batch_interval,
                    120_000,
                ),
            }
        }
        StrategyName::BlueGreen => {
            c.only(&ro, "blue_green", &set, &["preview"]);
            Strategy::BlueGreen {
                preview_ms: rro.preview.map(|d| d.0).unwrap_or(10 * 60_000),
            }
        }
        StrategyName::Canary => {
            c.only(&ro, "canary", &set, &["steps"]);
            let steps = match &rro.steps {
                None => vec![
                    CanaryStep {
                        weight: 0.1,
                        pause_ms: 10 * 60_000,
                        gate: StepGate::None,
                    },
                    CanaryStep {
                        weight: 0.5,
                        pause_ms: 10 * 60_000,
                        gate: StepGate::None,
                    },
                    CanaryStep {
                        weight: 1.0,
                        pause_ms: 0,
                        gate: StepGate::None,
                    },
                ],
                Some(steps) => canary_steps(c, &at(&ro, "steps"), steps),
            };
            Strategy::Canary { steps }
        }
    };
    Rollout {
        strategy,
        rollback_duration_ms: rro.rollback_duration.map(|d| d.0).unwrap_or(120_000),
    }
}

fn canary_steps(c: &mut Checker, path: &[Seg], steps: &[RawCanaryStep]) -> Vec<CanaryStep> {
    let mut out = Vec::with_capacity(steps.len());
    let mut last = 0.0;
    for (i, s) in steps.iter().enumerate() {
        let p = idx(path, i);
        if !(s.weight > 0.0 && s.weight <= 100.0) {
            c.fail(
                at(&p, "weight"),
                format!(
                    "canary weight {} is out of range; expected a percentage in (0, 100]",
                    s.weight
                ),
            );
        } else if s.weight <= last {
            c.fail(at(&p, "weight"), format!("canary weight {} does not increase (previous step is {last}); expected increasing weights", s.weight));
        }
        last = s.weight;
        let gate = match (s.analysis == Some(true), s.approval == Some(true)) {
            (false, false) => StepGate::None,
            (true, false) => StepGate::Analysis,
            (false, true) => StepGate::Approval,
            (true, true) => {
                c.fail(
                    at(&p, "approval"),
                    "a step waits for one gate; expected `analysis = true` or `approval = true`, not both (use two steps)",
                );
                StepGate::None
            }
        };
        out.push(CanaryStep {
            weight: s.weight / 100.0,
            pause_ms: s.pause.map(|d| d.0).unwrap_or(0),
            gate,
        });
    }
    match steps.last() {
        None => c.fail(
            path.to_vec(),
            "canary steps are empty; expected steps whose weights reach 100",
        ),
        Some(s) if s.weight != 100.0 => c.fail(
            at(&idx(path, steps.len() - 1), "weight"),
            format!(
                "canary weights must reach 100; the last step sets {}",
                s.weight
            ),
        ),
        _ => {}
    }
    out
}

fn fault(c: &mut Checker, path: &[Seg], f: &RawFault, i: usize, horizon: u64) -> Fault {
    let window = match f.window {
        Some([Dur(lo), Dur(hi)]) => {
            if lo >= hi || hi > horizon {
                c.fail(
                    at(path, "window"),
                    "fault window must be [start, end] with start < end <= simulation.duration",
                );
            }
            (lo, hi.min(horizon))
        }
        None => (0, horizon),
    };
    let inject_only = f.inject_only == Some(true);
    let schedule = match (f.at, f.probability, f.rate_per_hour) {
        (None, None, None) if inject_only => {
            if f.window.is_some() {
                c.fail(at(path, "window"), "`window` applies to random faults (`probability` or `rate_per_hour`), not to `inject_only`");
            }
            Schedule::Injected
        }
        _ if inject_only => {
            c.fail(
                at(path, "inject_only"),
                "an `inject_only` fault has no schedule: remove `at`, `probability` and `rate_per_hour`",
            );
            Schedule::Injected
        }
        (Some(Dur(t)), None, None) => {
            if f.window.is_some() {
                c.fail(at(path, "window"), "`window` applies to random faults (`probability` or `rate_per_hour`), not to `at`");
            }
            if t >= horizon {
                c.fail(
                    at(path, "at"),
                    "fault `at` is after the end of simulation.duration",
                );
            }
            Schedule::At(t)
        }
        (None, Some(p), None) => Schedule::Once {
            probability: c.prob(at(path, "probability"), "probability", Some(p), 0.0),
            window,
        },
        (None, None, Some(r)) => Schedule::Poisson {
            rate_per_ms: c.number(
                at(path, "rate_per_hour"),
                "rate_per_hour",
                Some(r),
                0.0,
                0.0,
                false,
            ) / MS_PER_HOUR,
            window,
        },
        _ => {
            c.fail(
                path.to_vec(),
                "a fault needs exactly one schedule: `at`, `probability` or `rate_per_hour` (or `inject_only = true` for a fault only a game-day facilitator starts)",
            );
            Schedule::At(0)
        }
    };
    let duration = match &f.duration {
        Some(d) => c.dist(at(path, "duration"), "duration", d),
        None => {
            c.fail(
                path.to_vec(),
                "a fault needs a `duration` (e.g. \"30m\" or { exponential = \"30m\" })",
            );
            DurationDist::Fixed(0)
        }
    };
    let set = [
        ("latency_factor", f.latency_factor.is_some()),
        ("packet_loss", f.packet_loss.is_some()),
        ("capacity_loss", f.capacity_loss.is_some()),
        ("error_rate", f.error_rate.is_some()),
        ("failure_probability", f.failure_probability.is_some()),
    ];
    let (kind, effect) = match f.kind {
        FaultKind::InfraLatency => {
            c.only(
                path,
                "infra_latency",
                &set,
                &["latency_factor", "packet_loss"],
            );
            let e = FaultEffect::InfraLatency {
                latency_factor: c.number(
                    at(path, "latency_factor"),
                    "latency_factor",
                    f.latency_factor,
                    3.0,
                    1.0,
                    false,
                ),
                packet_loss: c.prob(at(path, "packet_loss"), "packet_loss", f.packet_loss, 0.0),
            };
            ("infra_latency", e)
        }
        FaultKind::NodeLoss => {
            c.only(path, "node_loss", &set, &["capacity_loss"]);
            let e = FaultEffect::NodeLoss {
                capacity_loss: c.prob(
                    at(path, "capacity_loss"),
                    "capacity_loss",
                    f.capacity_loss,
                    0.34,
                ),
            };
            ("node_loss", e)
        }
        FaultKind::DependencyOutage => {
            c.only(path, "dependency_outage", &set, &["error_rate"]);
            let e = FaultEffect::DependencyOutage {
                error_rate: c.prob(at(path, "error_rate"), "error_rate", f.error_rate, 0.5),
            };
            ("dependency_outage", e)
        }
        FaultKind::FlappingHealthCheck => {
            c.only(
                path,
                "flapping_health_check",
                &set,
                &["failure_probability"],
            );
            let e = FaultEffect::FlappingHealthCheck {
                failure_probability: c.prob(
                    at(path, "failure_probability"),
                    "failure_probability",
                    f.failure_probability,
                    0.3,
                ),
            };
            ("flapping_health_check", e)
        }
        FaultKind::MetricsGap => {
            c.only(path, "metrics_gap", &set, &[]);
            ("metrics_gap", FaultEffect::MetricsGap)
        }
    };
    Fault {
        name: f.name.clone().unwrap_or_else(|| format!("{kind}-{i}")),
        schedule,
        duration,
        effect,
    }
}

fn policy(
    c: &mut Checker,
    path: &[Seg],
    p: &RawPolicy,
    mut rollout: Rollout,
    ctx: &PolicyContext,
) -> PolicySpec {
    let set = [
        ("reaction", p.reaction.is_some()),
        ("error_rate_above", p.error_rate_above.is_some()),
        ("latency_p99_above", p.latency_p99_above.is_some()),
        ("window", p.window.is_some()),
        ("for", p.for_.is_some()),
        ("min_requests", p.min_requests.is_some()),
        ("on_no_data", p.on_no_data.is_some()),
        ("failures", p.failures.is_some()),
        ("interval", p.interval.is_some()),
        ("initial_delay", p.initial_delay.is_some()),
        ("count", p.count.is_some()),
        ("failure_limit", p.failure_limit.is_some()),
        ("inconclusive_limit", p.inconclusive_limit.is_some()),
        (
            "consecutive_error_limit",
            p.consecutive_error_limit.is_some(),
        ),
        (
            "consecutive_success_limit",
            p.consecutive_success_limit.is_some(),
        ),
        (
            "success_error_rate_below",
            p.success_error_rate_below.is_some(),
        ),
        (
            "failure_error_rate_above",
            p.failure_error_rate_above.is_some(),
        ),
        (
            "success_latency_p99_below",
            p.success_latency_p99_below.is_some(),
        ),
        (
            "failure_latency_p99_above",
            p.failure_latency_p99_above.is_some(),
        ),
        ("on_inconclusive", p.on_inconclusive.is_some()),
        ("threshold", p.threshold.is_some()),
        ("metric_interval", p.metric_interval.is_some()),
        (
            "request_success_rate_min",
            p.request_success_rate_min.is_some(),
        ),
        (
            "request_duration_p99_max",
            p.request_duration_p99_max.is_some(),
        ),
        ("step_weight", p.step_weight.is_some()),
        ("step_weights", p.step_weights.is_some()),
        ("max_weight", p.max_weight.is_some()),
        ("iterations", p.iterations.is_some()),
        ("slo", p.slo.is_some()),
        ("windows", p.windows.is_some()),
        ("traffic", p.traffic.is_some()),
        ("reset_on_healthy_task", p.reset_on_healthy_task.is_some()),
        ("lookback", p.lookback.is_some()),
        ("pass", p.pass.is_some()),
        ("marginal", p.marginal.is_some()),
        ("metrics", p.metrics.is_some()),
        ("critical", p.critical.is_some()),
        ("direction", p.direction.is_some()),
        ("nan_strategy", p.nan_strategy.is_some()),
        ("allowed_increase", p.allowed_increase.is_some()),
        ("allowed_decrease", p.allowed_decrease.is_some()),
        ("critical_increase", p.critical_increase.is_some()),
        ("critical_decrease", p.critical_decrease.is_some()),
    ];
    let kind = p.kind.unwrap_or_else(|| {
        c.fail(
            path.to_vec(),
            "missing field `kind`; expected a policy kind (such as \"threshold\") or `import = \"file.yaml\"`",
        );
        PolicyKind::None
    });
    let (rule, default_until) = match kind {
        PolicyKind::None => {
            c.only(path, "none", &set, &[]);
            (PolicyRule::None, Until::End)
        }
        PolicyKind::Oracle => {
            c.only(path, "oracle", &set, &["reaction"]);
            let reaction_ms = p.reaction.map(|d| d.0).unwrap_or(60_000);
            (PolicyRule::Oracle { reaction_ms }, Until::End)
        }
        PolicyKind::Threshold => {
            c.only(
                path,
                "threshold",
                &set,
                &[
                    "error_rate_above",
                    "latency_p99_above",
                    "window",
                    "for",
                    "min_requests",
                    "on_no_data",
                ],
            );
            let signal = match (p.error_rate_above, p.latency_p99_above) {
                (Some(v), None) => ThresholdSignal::ErrorRate {
                    above: c.prob(
                        at(path, "error_rate_above"),
                        "error_rate_above",
                        Some(v),
                        0.0,
                    ),
                },
                (None, Some(d)) => ThresholdSignal::LatencyP99 {
                    above_ms: c.positive(
                        at(path, "latency_p99_above"),
                        "latency_p99_above",
                        Some(d),
                        1,
                    ) as f64,
                },
                _ => {
                    c.fail(path.to_vec(), "a threshold policy needs exactly one of `error_rate_above` (a ratio such as 0.02) or `latency_p99_above` (a duration such as \"500ms\")");
                    ThresholdSignal::ErrorRate { above: 1.0 }
                }
            };
            let rule = PolicyRule::Threshold {
                signal,
                window_ms: c.positive(at(path, "window"), "window", p.window, 5 * 60_000),
                for_ms: p.for_.map(|d| d.0).unwrap_or(0),
                min_requests: c.int(
                    at(path, "min_requests"),
                    "min_requests",
                    p.min_requests,
                    1,
                    0,
                    u64::MAX >> 1,
                ),
                on_no_data: p.on_no_data.unwrap_or(NoData::Ignore),
            };
            (rule, Until::Promoted)
        }
        PolicyKind::Consecutive => {
            c.only(path, "consecutive", &set, &["failures"]);
            let failures = c.int(at(path, "failures"), "failures", p.failures, 3, 1, 10_000) as u32;
            (PolicyRule::Consecutive { failures }, Until::Promoted)
        }
        PolicyKind::ArgoAnalysis => {
            c.only(path, "argo_analysis", &set, controllers::ARGO_KEYS);
            let mut rule = controllers::argo(c, path, p);
            if let PolicyRule::ArgoAnalysis(a) = &mut rule {
                a.step_analysis = matches!(&rollout.strategy, Strategy::Canary { steps }
                    if steps.iter().any(|s| s.gate == StepGate::Analysis));
            }
            (rule, Until::Promoted)
        }
        PolicyKind::Flagger => {
            c.only(path, "flagger", &set, controllers::FLAGGER_KEYS);
            if let Some(steps) = controllers::flagger_steps(c, path, p) {
                rollout.strategy = Strategy::Canary { steps };
            }
            (controllers::flagger(c, path, p), Until::Promoted)
        }
        PolicyKind::BurnRate => {
            c.only(path, "burn_rate", &set, controllers::BURN_RATE_KEYS);
            (controllers::burn_rate(c, path, p, ctx), Until::End)
        }
        PolicyKind::EcsCircuitBreaker => {
            c.only(path, "ecs_circuit_breaker", &set, controllers::ECS_KEYS);
            (controllers::ecs(p, ctx), Until::Promoted)
        }
        PolicyKind::Kayenta => {
            c.only(path, "kayenta", &set, controllers::KAYENTA_KEYS);
            (controllers::kayenta(c, path, p), Until::Promoted)
        }
    };
    let pipeline_retries = p.pipeline_retries.unwrap_or(matches!(
        rule,
        PolicyRule::None
            | PolicyRule::Oracle { .. }
            | PolicyRule::Threshold { .. }
            | PolicyRule::Consecutive { .. }
            | PolicyRule::BurnRate(_)
    ));
    PolicySpec {
        name: p.name.clone(),
        until: p.until.unwrap_or(default_until),
        rule,
        rollout,
        action: p.action.unwrap_or(Action::Rollback),
        unsafe_rollback: p.unsafe_rollback,
        checkpoint: p.checkpoint.unwrap_or(Checkpoint::None),
        pipeline_retries,
        guards: Guards {
            max_auto_rollbacks: p.max_auto_rollbacks.map(|v| {
                c.int(
                    at(path, "max_auto_rollbacks"),
                    "max_auto_rollbacks",
                    Some(v),
                    1,
                    0,
                    1000,
                ) as u32
            }),
            freeze_after: p.freeze_after.map(|v| {
                c.int(
                    at(path, "freeze_after"),
                    "freeze_after",
                    Some(v),
                    1,
                    1,
                    1000,
                ) as u32
            }),
            retry_backoff: c.number(
                at(path, "retry_backoff"),
                "retry_backoff",
                p.retry_backoff,
                1.0,
                1.0,
                false,
            ),
            human_after_first_rollback: p.human_after_first_rollback.unwrap_or(false),
        },
    }
}

/// The policies used when a scenario lists none: the two bounds and two blunt triggers.
fn default_policies(rollout: &Rollout) -> Vec<PolicySpec> {
    let spec = |name: &str, until, rule| PolicySpec {
        name: name.into(),
        until,
        rule,
        rollout: rollout.clone(),
        action: Action::Rollback,
        unsafe_rollback: None,
        checkpoint: Checkpoint::None,
        pipeline_retries: true,
        guards: Guards {
            retry_backoff: 1.0,
            ..Guards::default()
        },
    };
    vec![
        spec("none", Until::End, PolicyRule::None),
        spec(
            "oracle",
            Until::End,
            PolicyRule::Oracle {
                reaction_ms: 60_000,
            },
        ),
        spec(
            "threshold",
            Until::Promoted,
            PolicyRule::Threshold {
                signal: ThresholdSignal::ErrorRate { above: 0.02 },
                window_ms: 5 * 60_000,
                for_ms: 0,
                min_requests: 1,
                on_no_data: NoData::Ignore,
            },
        ),
        spec(
            "consecutive",
            Until::Promoted,
            PolicyRule::Consecutive { failures: 3 },
        ),
    ]
}
