//! `[[faults]]`: the schedule (exactly one of `at`, `probability`, `rate_per_hour`, or
//! `inject_only`), the duration and the effect of the fault's kind.

use super::raw::*;
use super::span::Seg;
use super::{DurationDist, Fault, FaultEffect, Schedule, SignalFault};
use crate::check::{at, Checker};

const MS_PER_HOUR: f64 = 3_600_000.0;

/// Checks fault `i` at `path`; `horizon` is the simulated duration.
pub(super) fn check(c: &mut Checker, path: &[Seg], f: &RawFault, i: usize, horizon: u64) -> Fault {
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
    let signal = matches!(
        f.kind,
        FaultKind::WarmUp
            | FaultKind::LowTraffic
            | FaultKind::QueryError
            | FaultKind::ScrapeJitter
            | FaultKind::CounterReset
            | FaultKind::PreExistingAlarm
    );
    if inject_only && signal {
        // The engine hands the signal its faults once, when the run starts.
        c.fail(
            at(path, "inject_only"),
            "a signal fault cannot be injected live in a game day; give it a schedule (`at`, `probability` or `rate_per_hour`)",
        );
    }
    // A warm-up, scrape jitter or counter reset without a schedule lasts the whole run.
    let always = matches!(
        f.kind,
        FaultKind::WarmUp | FaultKind::ScrapeJitter | FaultKind::CounterReset
    ) && !inject_only
        && f.at.is_none()
        && f.probability.is_none()
        && f.rate_per_hour.is_none()
        && f.duration.is_none();
    let schedule = match (f.at, f.probability, f.rate_per_hour) {
        _ if always => {
            if f.window.is_some() {
                c.fail(at(path, "window"), "`window` applies to random faults (`probability` or `rate_per_hour`); a `warm_up`, `scrape_jitter` or `counter_reset` without a schedule lasts the whole run");
            }
            Schedule::At(0)
        }
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
        None if always => DurationDist::Fixed(horizon),
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
        ("decay", f.decay.is_some()),
        ("request_rate", f.request_rate.is_some()),
        ("rate_window", f.rate_window.is_some()),
        ("jitter", f.jitter.is_some()),
        ("restarts_per_hour", f.restarts_per_hour.is_some()),
        ("query", f.query.is_some()),
    ];
    let (kind, keys): (&str, &[&str]) = match f.kind {
        FaultKind::InfraLatency => ("infra_latency", &["latency_factor", "packet_loss"]),
        FaultKind::NodeLoss => ("node_loss", &["capacity_loss"]),
        FaultKind::DependencyOutage => ("dependency_outage", &["error_rate"]),
        FaultKind::FlappingHealthCheck => ("flapping_health_check", &["failure_probability"]),
        FaultKind::MetricsGap => ("metrics_gap", &[]),
        FaultKind::WarmUp => ("warm_up", &["latency_factor", "error_rate", "decay"]),
        FaultKind::LowTraffic => ("low_traffic", &["request_rate"]),
        FaultKind::QueryError => ("query_error", &["failure_probability"]),
        FaultKind::ScrapeJitter => ("scrape_jitter", &["rate_window", "jitter"]),
        FaultKind::CounterReset => ("counter_reset", &["restarts_per_hour", "query"]),
        FaultKind::PreExistingAlarm => ("pre_existing_alarm", &["error_rate"]),
    };
    c.only(path, kind, &set, keys);
    // A fault's keys are named bare in messages (`latency_factor = 0.5 ...`).
    let mut t = c.table(path, "");
    let effect = match f.kind {
        FaultKind::InfraLatency => FaultEffect::InfraLatency {
            latency_factor: t.number("latency_factor", f.latency_factor, 3.0, 1.0, false),
            packet_loss: t.prob("packet_loss", f.packet_loss, 0.0),
        },
        FaultKind::NodeLoss => FaultEffect::NodeLoss {
            capacity_loss: t.prob("capacity_loss", f.capacity_loss, 0.34),
        },
        FaultKind::DependencyOutage => FaultEffect::DependencyOutage {
            error_rate: t.prob("error_rate", f.error_rate, 0.5),
        },
        FaultKind::FlappingHealthCheck => FaultEffect::FlappingHealthCheck {
            failure_probability: t.prob("failure_probability", f.failure_probability, 0.3),
        },
        FaultKind::MetricsGap => FaultEffect::MetricsGap,
        FaultKind::WarmUp => FaultEffect::Signal(SignalFault::WarmUp {
            latency_factor: t.number("latency_factor", f.latency_factor, 3.0, 1.0, false),
            error_rate: t.prob("error_rate", f.error_rate, 0.0),
            decay_ms: t.positive("decay", f.decay, 120_000),
        }),
        FaultKind::LowTraffic => FaultEffect::Signal(SignalFault::LowTraffic {
            request_rate: t.request_rate("request_rate", f.request_rate, 0.1),
        }),
        FaultKind::QueryError => FaultEffect::Signal(SignalFault::QueryError {
            failure_probability: t.prob("failure_probability", f.failure_probability, 1.0),
        }),
        FaultKind::ScrapeJitter => FaultEffect::Signal(SignalFault::ScrapeJitter {
            rate_window_ms: t.positive("rate_window", f.rate_window, 60_000),
            jitter_ms: f.jitter.map_or(0, |d| d.0),
        }),
        FaultKind::CounterReset => FaultEffect::Signal(SignalFault::CounterReset {
            restarts_per_hour: t.number("restarts_per_hour", f.restarts_per_hour, 2.0, 0.0, true),
            sum_then_rate: f.query == Some(CounterQuery::SumThenRate),
        }),
        FaultKind::PreExistingAlarm => FaultEffect::Signal(SignalFault::PreExistingAlarm {
            error_rate: t.prob("error_rate", f.error_rate, 0.05),
        }),
    };
    Fault {
        name: f.name.clone().unwrap_or_else(|| format!("{kind}-{i}")),
        schedule,
        duration,
        effect,
    }
}
