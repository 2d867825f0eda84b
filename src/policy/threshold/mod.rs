//! `threshold`: roll back when an observed signal of the new version, aggregated over a
//! sliding window, stays above a limit for a hold time (like a Prometheus alert rule
//! `rate(errors[5m]) / rate(requests[5m]) > x` with `for: 2m`).
//!
//! The error rate is the ratio of summed errors to summed requests in the window (not a
//! mean of ratios); latency is the mean of the scraped p99 values in the window. A window
//! with fewer than `min_requests` requests (or, for latency, no p99 value) has no data:
//!
//! - `on_no_data = "ignore"` (the default) follows a Prometheus alerting rule whose query
//!   returns no sample: nothing fires, and a pending condition is dropped, so its `for`
//!   timer starts again from the next breaching window. Prometheus' `AlertingRule.Eval`
//!   (`rules/alerting.go`) deletes an active alert that is absent from the query result
//!   when it is still pending (`if a.State == StatePending ... { delete(r.active, fp) }`);
//!   an alert that already fired has acted here (the rollback), so only the pending case
//!   matters.
//! - `on_no_data = "breach"` counts the window as over the limit (Flagger's "no values
//!   found" is a failed check), so the timer keeps running through it.
//!
//! `cpu_above`, `saturation_above` and `queue_above` compare the mean of the new
//! version's gauge readings in the window (a Prometheus rule on
//! `avg_over_time(cpu[5m]) > 0.8`); a gauge reads at any traffic, so only a window
//! without a reading (every scrape lost, or a recording without the series) is no data,
//! and `min_requests` does not apply. With `alarm_at_start`, the state at the start is
//! the stable version's reading.
//!
//! A lost scrape is not by itself "no data": the window still holds the scrapes before it,
//! as a range query still finds the earlier samples.
//!
//! `requests_below = n` fires when the new version's requests summed over the window are
//! fewer than `n` (`sum(increase(requests[w])) < n`, the "is the canary getting traffic"
//! guard); it is judged only once a whole window has passed since the first scrape after
//! the deploy (a window that the deploy cuts short holds too few requests by
//! construction), and a window with no scrape is no data; `min_requests` does not apply.
//!
//! `alarm_at_start = "ignored"` follows AWS's deployment alarms (ECS `deploymentAlarms`,
//! CodeDeploy `DEPLOYMENT_STOP_ON_ALARM`): the deploy stops when an alarm *enters* ALARM
//! during it, so an alarm already in ALARM when the deploy starts is ignored (the
//! `aws/copilot-cli` documentation says so, PR 4512) until it has been OK once. The rule
//! judges its state at the start from the stable version's sample of the first scrape
//! that has one with data (the service as it was before the new version served);
//! `"acts"` (the default) is a Prometheus rule, which acts on a condition whenever it
//! holds.

mod spec;

pub use spec::{AlarmAtStart, NoData, Raw, ThresholdSignal, ThresholdSpec};

use super::{Decision, Needs, Policy, Scrape, VersionSample};
use std::collections::VecDeque;

#[derive(Debug, Clone, Copy)]
struct Point {
    at_ms: u64,
    requests: u64,
    errors: u64,
    /// The value the rule averages: the scraped p99, or the gauge a gauge rule reads.
    value: Option<f64>,
}

/// A windowed threshold with a hold time.
#[derive(Debug, Clone)]
pub struct Threshold {
    signal: ThresholdSignal,
    window_ms: u64,
    for_ms: u64,
    min_requests: u64,
    on_no_data: NoData,
    points: VecDeque<Point>,
    requests: u64,
    errors: u64,
    value_sum: f64,
    value_n: u64,
    breach_since: Option<u64>,
    ignore_alarm_at_start: bool,
    /// The first scrape seen since the deploy (`requests_below` waits a whole window).
    first_ms: Option<u64>,
    /// With `ignore_alarm_at_start`: `None` until the state at the start is judged, then
    /// whether a breach acts (false while an alarm that held at the start has not cleared).
    armed: Option<bool>,
}

impl Threshold {
    /// A threshold on `signal` over `window_ms`, held for `for_ms`.
    pub fn new(
        signal: ThresholdSignal,
        window_ms: u64,
        for_ms: u64,
        min_requests: u64,
        on_no_data: NoData,
    ) -> Self {
        Self::from_spec(ThresholdSpec {
            signal,
            window_ms,
            for_ms,
            min_requests,
            on_no_data,
            ignore_alarm_at_start: false,
        })
    }

    /// The runtime state of a checked rule.
    pub fn from_spec(spec: ThresholdSpec) -> Self {
        let ThresholdSpec {
            signal,
            window_ms,
            for_ms,
            min_requests,
            on_no_data,
            ignore_alarm_at_start,
        } = spec;
        Threshold {
            signal,
            window_ms,
            for_ms,
            min_requests,
            on_no_data,
            points: VecDeque::new(),
            requests: 0,
            errors: 0,
            value_sum: 0.0,
            value_n: 0,
            breach_since: None,
            ignore_alarm_at_start,
            first_ms: None,
            armed: None,
        }
    }

    /// Whether the stable version's `old` sample alone breaches the limit (the alarm's
    /// state before the new version served); `None` without data.
    fn breached_before(&self, old: &VersionSample) -> Option<bool> {
        match self.signal {
            ThresholdSignal::ErrorRate { above } => (old.requests >= self.min_requests.max(1))
                .then(|| old.errors as f64 / old.requests as f64 > above),
            ThresholdSignal::LatencyP99 { above_ms } => old.latency_p99_ms.map(|v| v > above_ms),
            ThresholdSignal::RequestsBelow { below } => Some(old.requests < below),
            ThresholdSignal::Gauge { gauge, above } => gauge.of(&old.gauges).map(|v| v > above),
        }
    }

    /// Whether the window breaches the limit; `None` when it holds no data.
    fn breached(&self) -> Option<bool> {
        if let ThresholdSignal::RequestsBelow { below } = self.signal {
            let full = match (self.first_ms, self.points.back()) {
                (Some(first), Some(last)) => last.at_ms - first >= self.window_ms,
                _ => false,
            };
            return full.then_some(self.requests < below);
        }
        if let ThresholdSignal::Gauge { above, .. } = self.signal {
            // A gauge reads at any traffic: only a window without a reading is no data.
            return (self.value_n > 0).then(|| self.value_sum / self.value_n as f64 > above);
        }
        if self.requests < self.min_requests.max(1) {
            return None;
        }
        match self.signal {
            ThresholdSignal::ErrorRate { above } => {
                Some(self.errors as f64 / self.requests as f64 > above)
            }
            ThresholdSignal::LatencyP99 { above_ms } => {
                if self.value_n == 0 {
                    None
                } else {
                    Some(self.value_sum / self.value_n as f64 > above_ms)
                }
            }
            ThresholdSignal::RequestsBelow { .. } | ThresholdSignal::Gauge { .. } => None,
        }
    }
}

impl Policy for Threshold {
    fn needs(&self) -> Needs {
        Needs {
            scrapes: true,
            latency: matches!(self.signal, ThresholdSignal::LatencyP99 { .. }),
            health_checks: false,
            gauges: self.signal.gauge().is_some(),
        }
    }

    fn reset(&mut self) {
        self.points.clear();
        self.requests = 0;
        self.errors = 0;
        self.value_sum = 0.0;
        self.value_n = 0;
        self.breach_since = None;
        self.first_ms = None;
        self.armed = None;
    }

    fn on_scrape(&mut self, scrape: &Scrape) -> Decision {
        let now = scrape.at_ms;
        self.first_ms.get_or_insert(now);
        if self.ignore_alarm_at_start && self.armed.is_none() {
            if let Some(before) = scrape.old.as_ref().and_then(|o| self.breached_before(o)) {
                self.armed = Some(!before);
            }
        }
        if let Some(s) = scrape.new {
            let p = Point {
                at_ms: now,
                requests: s.requests,
                errors: s.errors,
                value: match self.signal.gauge() {
                    Some(g) => g.of(&s.gauges),
                    None => s.latency_p99_ms,
                },
            };
            self.requests += p.requests;
            self.errors += p.errors;
            if let Some(v) = p.value {
                self.value_sum += v;
                self.value_n += 1;
            }
            self.points.push_back(p);
        }
        // Keep the scrapes whose interval ends inside (now - window, now].
        while let Some(old) = self.points.front() {
            if old.at_ms + self.window_ms > now {
                break;
            }
            self.requests -= old.requests;
            self.errors -= old.errors;
            if let Some(v) = old.value {
                self.value_sum -= v;
                self.value_n -= 1;
            }
            self.points.pop_front();
        }
        if self.value_n == 0 {
            self.value_sum = 0.0; // no float residue once the window empties
        }
        let breach = match self.breached() {
            Some(b) => b,
            None => match self.on_no_data {
                NoData::Ignore => {
                    // No result: a pending alert is deleted (Prometheus), the timer restarts.
                    self.breach_since = None;
                    return Decision::Continue;
                }
                NoData::Breach => true,
            },
        };
        if !breach {
            self.breach_since = None;
            if self.armed == Some(false) {
                // The alarm that held at the start cleared: the next one enters ALARM.
                self.armed = Some(true);
            }
            return Decision::Continue;
        }
        if self.armed == Some(false) {
            return Decision::Continue;
        }
        let since = *self.breach_since.get_or_insert(now);
        if now - since >= self.for_ms {
            Decision::Rollback
        } else {
            Decision::Continue
        }
    }
}

#[cfg(test)]
mod tests;
