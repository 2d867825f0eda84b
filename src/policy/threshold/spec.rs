//! A `threshold` entry as written (`Raw`), its checks, and the checked rule
//! (`ThresholdSpec`): which signal it compares, over which window, held how long.

use crate::check::{at, Checker, Dur, Seg};
use crate::policy::{Gauge, PolicyRule};
use serde::Deserialize;

/// A `threshold` entry's own keys.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    pub error_rate_above: Option<f64>,
    pub latency_p99_above: Option<Dur>,
    pub window: Option<Dur>,
    #[serde(rename = "for")]
    pub for_: Option<Dur>,
    pub requests_below: Option<i64>,
    pub cpu_above: Option<f64>,
    pub saturation_above: Option<f64>,
    pub queue_above: Option<f64>,
    pub min_requests: Option<i64>,
    pub on_no_data: Option<NoData>,
    pub alarm_at_start: Option<AlarmAtStart>,
}

/// What a threshold rule does with an alarm that already holds when the deploy starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmAtStart {
    /// The condition acts whenever it holds (a Prometheus alerting rule).
    Acts,
    /// Only an alarm that enters ALARM during the deploy acts (AWS deployment alarms).
    Ignored,
}

/// What a threshold policy does with a window that holds no data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoData {
    /// Skip the evaluation, dropping a pending condition (a Prometheus rule whose query
    /// returns nothing).
    Ignore,
    /// Count it as a breach (what Flagger does: no values found is a failed check).
    Breach,
}

/// The observed signal a threshold compares and its limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ThresholdSignal {
    /// Errors / requests of the new version over the window.
    ErrorRate { above: f64 },
    /// Mean of the scraped p99 latency of the new version over the window, in ms.
    LatencyP99 { above_ms: f64 },
    /// Requests of the new version summed over the window, fewer than `below`.
    RequestsBelow { below: u64 },
    /// Mean of a gauge of the new version over the window (`cpu_above`,
    /// `saturation_above`, `queue_above`), above `above`.
    Gauge { gauge: Gauge, above: f64 },
}

impl ThresholdSignal {
    /// The gauge this rule reads, if it reads one.
    pub fn gauge(&self) -> Option<Gauge> {
        match *self {
            ThresholdSignal::Gauge { gauge, .. } => Some(gauge),
            _ => None,
        }
    }
}

/// The checked parameters of a `threshold` policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThresholdSpec {
    pub signal: ThresholdSignal,
    pub window_ms: u64,
    /// How long the condition must hold before the rollback (`for`).
    pub for_ms: u64,
    /// Fewer requests than this in the window is no data.
    pub min_requests: u64,
    pub on_no_data: NoData,
    /// An alarm already holding when the deploy starts is ignored until it clears.
    pub ignore_alarm_at_start: bool,
}

impl Default for ThresholdSpec {
    /// The built-in `threshold` policy: 2% errors over 5 minutes, no hold.
    fn default() -> Self {
        ThresholdSpec {
            signal: ThresholdSignal::ErrorRate { above: 0.02 },
            window_ms: 5 * 60_000,
            for_ms: 0,
            min_requests: 1,
            on_no_data: NoData::Ignore,
            ignore_alarm_at_start: false,
        }
    }
}

impl Raw {
    /// Checks the keys and fills the defaults (5-minute window, no hold, one request).
    pub fn check(&self, c: &mut Checker, path: &[Seg]) -> PolicyRule {
        let given = [
            self.error_rate_above.is_some(),
            self.latency_p99_above.is_some(),
            self.requests_below.is_some(),
            self.cpu_above.is_some(),
            self.saturation_above.is_some(),
            self.queue_above.is_some(),
        ];
        let signal = if given.iter().filter(|g| **g).count() != 1 {
            c.fail(path.to_vec(), "a threshold policy needs exactly one of `error_rate_above` (a ratio such as 0.02), `latency_p99_above` (a duration such as \"500ms\"), `requests_below` (a count over the window such as 100), `cpu_above` (a share of the cores such as 0.8), `saturation_above` (demand over capacity such as 0.9) or `queue_above` (requests waiting per replica such as 5)");
            ThresholdSignal::ErrorRate { above: 1.0 }
        } else if let Some(v) = self.error_rate_above {
            ThresholdSignal::ErrorRate {
                above: c.prob(
                    at(path, "error_rate_above"),
                    "error_rate_above",
                    Some(v),
                    0.0,
                ),
            }
        } else if let Some(d) = self.latency_p99_above {
            ThresholdSignal::LatencyP99 {
                above_ms: c.positive(
                    at(path, "latency_p99_above"),
                    "latency_p99_above",
                    Some(d),
                    1,
                ) as f64,
            }
        } else if let Some(n) = self.requests_below {
            ThresholdSignal::RequestsBelow {
                below: c.int(
                    at(path, "requests_below"),
                    "requests_below",
                    Some(n),
                    1,
                    1,
                    u64::MAX >> 1,
                ),
            }
        } else if let Some(v) = self.cpu_above {
            ThresholdSignal::Gauge {
                gauge: Gauge::Cpu,
                above: c.within(at(path, "cpu_above"), "cpu_above", Some(v), 1.0, (0.0, 1.0)),
            }
        } else if let Some(v) = self.saturation_above {
            ThresholdSignal::Gauge {
                gauge: Gauge::Saturation,
                above: c.number(
                    at(path, "saturation_above"),
                    "saturation_above",
                    Some(v),
                    1.0,
                    0.0,
                    true,
                ),
            }
        } else {
            ThresholdSignal::Gauge {
                gauge: Gauge::QueueLength,
                above: c.number(
                    at(path, "queue_above"),
                    "queue_above",
                    self.queue_above,
                    1.0,
                    0.0,
                    false,
                ),
            }
        };
        PolicyRule::Threshold(ThresholdSpec {
            signal,
            window_ms: c.positive(at(path, "window"), "window", self.window, 5 * 60_000),
            for_ms: self.for_.map(|d| d.0).unwrap_or(0),
            min_requests: c.int(
                at(path, "min_requests"),
                "min_requests",
                self.min_requests,
                1,
                0,
                u64::MAX >> 1,
            ),
            on_no_data: self.on_no_data.unwrap_or(NoData::Ignore),
            ignore_alarm_at_start: self.alarm_at_start == Some(AlarmAtStart::Ignored),
        })
    }
}
