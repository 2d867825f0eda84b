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

use super::{Decision, Needs, Policy, Scrape, VersionSample};
use crate::check::{at, Checker, Dur, Seg};
use crate::policy::PolicyRule;
use serde::Deserialize;
use std::collections::VecDeque;

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
        let signal = match (
            self.error_rate_above,
            self.latency_p99_above,
            self.requests_below,
        ) {
            (Some(v), None, None) => ThresholdSignal::ErrorRate {
                above: c.prob(
                    at(path, "error_rate_above"),
                    "error_rate_above",
                    Some(v),
                    0.0,
                ),
            },
            (None, Some(d), None) => ThresholdSignal::LatencyP99 {
                above_ms: c.positive(
                    at(path, "latency_p99_above"),
                    "latency_p99_above",
                    Some(d),
                    1,
                ) as f64,
            },
            (None, None, Some(n)) => ThresholdSignal::RequestsBelow {
                below: c.int(
                    at(path, "requests_below"),
                    "requests_below",
                    Some(n),
                    1,
                    1,
                    u64::MAX >> 1,
                ),
            },
            _ => {
                c.fail(path.to_vec(), "a threshold policy needs exactly one of `error_rate_above` (a ratio such as 0.02), `latency_p99_above` (a duration such as \"500ms\") or `requests_below` (a count over the window such as 100)");
                ThresholdSignal::ErrorRate { above: 1.0 }
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

#[derive(Debug, Clone, Copy)]
struct Point {
    at_ms: u64,
    requests: u64,
    errors: u64,
    p99_ms: Option<f64>,
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
    p99_sum: f64,
    p99_n: u64,
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
            p99_sum: 0.0,
            p99_n: 0,
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
        if self.requests < self.min_requests.max(1) {
            return None;
        }
        match self.signal {
            ThresholdSignal::ErrorRate { above } => {
                Some(self.errors as f64 / self.requests as f64 > above)
            }
            ThresholdSignal::LatencyP99 { above_ms } => {
                if self.p99_n == 0 {
                    None
                } else {
                    Some(self.p99_sum / self.p99_n as f64 > above_ms)
                }
            }
            ThresholdSignal::RequestsBelow { .. } => None,
        }
    }
}

impl Policy for Threshold {
    fn needs(&self) -> Needs {
        Needs {
            scrapes: true,
            latency: matches!(self.signal, ThresholdSignal::LatencyP99 { .. }),
            health_checks: false,
        }
    }

    fn reset(&mut self) {
        self.points.clear();
        self.requests = 0;
        self.errors = 0;
        self.p99_sum = 0.0;
        self.p99_n = 0;
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
                p99_ms: s.latency_p99_ms,
            };
            self.requests += p.requests;
            self.errors += p.errors;
            if let Some(v) = p.p99_ms {
                self.p99_sum += v;
                self.p99_n += 1;
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
            if let Some(v) = old.p99_ms {
                self.p99_sum -= v;
                self.p99_n -= 1;
            }
            self.points.pop_front();
        }
        if self.p99_n == 0 {
            self.p99_sum = 0.0; // no float residue once the window empties
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
mod tests {
    use super::super::VersionSample;
    use super::*;

    fn scrape(at_ms: u64, requests: u64, errors: u64) -> Scrape {
        let s = VersionSample {
            requests,
            errors,
            latency_p99_ms: Some(100.0),
        };
        Scrape {
            at_ms,
            new: Some(s),
            old: None,
        }
    }

    fn missing(at_ms: u64) -> Scrape {
        Scrape {
            at_ms,
            new: None,
            old: None,
        }
    }

    #[test]
    fn ratio_of_sums_over_the_window() {
        // 60 s window, 15 s scrapes: four scrapes in the window.
        let mut t = Threshold::new(
            ThresholdSignal::ErrorRate { above: 0.05 },
            60_000,
            0,
            1,
            NoData::Ignore,
        );
        assert_eq!(t.on_scrape(&scrape(15_000, 100, 0)), Decision::Continue);
        assert_eq!(t.on_scrape(&scrape(30_000, 100, 0)), Decision::Continue);
        assert_eq!(t.on_scrape(&scrape(45_000, 100, 0)), Decision::Continue);
        // 20 / 400 = 0.05: not strictly above.
        assert_eq!(t.on_scrape(&scrape(60_000, 100, 20)), Decision::Continue);
        // window now 30..75 s: 21 / 400 > 0.05
        assert_eq!(t.on_scrape(&scrape(75_000, 100, 1)), Decision::Rollback);
    }

    #[test]
    fn hold_time_must_elapse_in_breach() {
        let mut t = Threshold::new(
            ThresholdSignal::ErrorRate { above: 0.01 },
            15_000,
            30_000,
            1,
            NoData::Ignore,
        );
        assert_eq!(t.on_scrape(&scrape(15_000, 100, 50)), Decision::Continue);
        assert_eq!(t.on_scrape(&scrape(30_000, 100, 50)), Decision::Continue);
        assert_eq!(t.on_scrape(&scrape(45_000, 100, 0)), Decision::Continue); // breaks the hold
        assert_eq!(t.on_scrape(&scrape(60_000, 100, 50)), Decision::Continue);
        assert_eq!(t.on_scrape(&scrape(75_000, 100, 50)), Decision::Continue);
        assert_eq!(t.on_scrape(&scrape(90_000, 100, 50)), Decision::Rollback);
    }

    #[test]
    fn no_data_is_ignored_or_a_breach_as_configured() {
        let mut ignore = Threshold::new(
            ThresholdSignal::ErrorRate { above: 0.01 },
            15_000,
            0,
            1,
            NoData::Ignore,
        );
        let mut breach = Threshold::new(
            ThresholdSignal::ErrorRate { above: 0.01 },
            15_000,
            0,
            1,
            NoData::Breach,
        );
        assert_eq!(ignore.on_scrape(&missing(15_000)), Decision::Continue);
        assert_eq!(breach.on_scrape(&missing(15_000)), Decision::Rollback);
        // Too few requests is no data as well.
        let mut low = Threshold::new(
            ThresholdSignal::ErrorRate { above: 0.01 },
            15_000,
            0,
            50,
            NoData::Ignore,
        );
        assert_eq!(low.on_scrape(&scrape(15_000, 10, 10)), Decision::Continue);
    }

    /// Bug 6 of issue 12: a pending `for` timer does not survive a window with no data
    /// under `ignore` (a Prometheus pending alert is deleted when its query returns
    /// nothing), and does under `breach`. 15 s window and scrapes, `for` = 30 s.
    #[test]
    fn no_data_drops_a_pending_timer_unless_it_is_a_breach() {
        let rule = |no_data| {
            Threshold::new(
                ThresholdSignal::ErrorRate { above: 0.01 },
                15_000,
                30_000,
                1,
                no_data,
            )
        };
        let trace = |t: &mut Threshold| -> Vec<(u64, Decision)> {
            let mut out = Vec::new();
            for s in [
                scrape(15_000, 100, 50), // breach: pending since 15 s
                scrape(30_000, 100, 50), // 15 s pending
                missing(45_000),         // the window is empty: no data
                scrape(60_000, 100, 50), // breach again
                scrape(75_000, 100, 50),
                scrape(90_000, 100, 50),
            ] {
                let d = t.on_scrape(&s);
                out.push((s.at_ms, d));
                if d == Decision::Rollback {
                    break;
                }
            }
            out
        };
        use Decision::{Continue as C, Rollback as R};
        // ignore: pending again from 60 s, fires once 30 s have passed, at 90 s.
        assert_eq!(
            trace(&mut rule(NoData::Ignore)),
            vec![
                (15_000, C),
                (30_000, C),
                (45_000, C),
                (60_000, C),
                (75_000, C),
                (90_000, R)
            ]
        );
        // breach: the empty window keeps the condition, which has held 30 s at 45 s.
        assert_eq!(
            trace(&mut rule(NoData::Breach)),
            vec![(15_000, C), (30_000, C), (45_000, R)]
        );
        // A lost scrape with data left in a longer window is not "no data": 60 s window,
        // the timer from 15 s runs on and fires at 45 s.
        let mut long = Threshold::new(
            ThresholdSignal::ErrorRate { above: 0.01 },
            60_000,
            30_000,
            1,
            NoData::Ignore,
        );
        assert_eq!(
            trace(&mut long),
            vec![(15_000, C), (30_000, C), (45_000, R)]
        );
    }

    #[test]
    fn latency_uses_the_mean_scraped_p99() {
        let mut t = Threshold::new(
            ThresholdSignal::LatencyP99 { above_ms: 150.0 },
            30_000,
            0,
            1,
            NoData::Ignore,
        );
        let mut s = scrape(15_000, 10, 0);
        s.new.as_mut().unwrap().latency_p99_ms = Some(100.0);
        assert_eq!(t.on_scrape(&s), Decision::Continue);
        s.at_ms = 30_000;
        s.new.as_mut().unwrap().latency_p99_ms = Some(250.0);
        assert_eq!(t.on_scrape(&s), Decision::Rollback); // mean 175 > 150
    }

    fn with_old(at_ms: u64, new: (u64, u64), old: (u64, u64)) -> Scrape {
        let v = |(requests, errors)| VersionSample {
            requests,
            errors,
            latency_p99_ms: Some(100.0),
        };
        Scrape {
            at_ms,
            new: Some(v(new)),
            old: Some(v(old)),
        }
    }

    #[test]
    fn requests_below_counts_the_window_and_needs_a_scrape() {
        let mut t = Threshold::new(
            ThresholdSignal::RequestsBelow { below: 100 },
            30_000,
            0,
            1,
            NoData::Ignore,
        );
        // Judged once a whole window (30 s) has passed since the first scrape (15 s).
        assert_eq!(t.on_scrape(&missing(15_000)), Decision::Continue);
        assert_eq!(t.on_scrape(&scrape(30_000, 60, 0)), Decision::Continue);
        assert_eq!(t.on_scrape(&scrape(45_000, 30, 0)), Decision::Rollback);
        t.reset();
        assert_eq!(t.on_scrape(&scrape(15_000, 10, 0)), Decision::Continue);
        assert_eq!(t.on_scrape(&scrape(30_000, 100, 0)), Decision::Continue);
        // 100 + 0 in the window (15..45 s]: not fewer than 100.
        assert_eq!(t.on_scrape(&scrape(45_000, 0, 0)), Decision::Continue);
        // 0 + 0 in the window (30..60 s].
        assert_eq!(t.on_scrape(&scrape(60_000, 0, 0)), Decision::Rollback);
        // A lost scrape keeps the window's earlier scrapes.
        t.reset();
        assert_eq!(t.on_scrape(&scrape(15_000, 200, 0)), Decision::Continue);
        assert_eq!(t.on_scrape(&missing(30_000)), Decision::Continue);
        assert_eq!(t.on_scrape(&missing(45_000)), Decision::Continue);
    }

    fn aws(above: f64) -> Threshold {
        Threshold::from_spec(ThresholdSpec {
            signal: ThresholdSignal::ErrorRate { above },
            window_ms: 15_000,
            for_ms: 0,
            min_requests: 1,
            on_no_data: NoData::Ignore,
            ignore_alarm_at_start: true,
        })
    }

    #[test]
    fn an_alarm_holding_at_the_start_is_ignored_until_it_clears() {
        // The stable version already shows 5% at the first scrape: the alarm was in ALARM.
        let mut t = aws(0.02);
        assert_eq!(
            t.on_scrape(&with_old(15_000, (100, 5), (100, 5))),
            Decision::Continue
        );
        assert_eq!(
            t.on_scrape(&with_old(30_000, (100, 9), (100, 5))),
            Decision::Continue
        );
        // It clears once (1%), then enters ALARM again: that one acts.
        assert_eq!(
            t.on_scrape(&with_old(45_000, (100, 1), (100, 1))),
            Decision::Continue
        );
        assert_eq!(
            t.on_scrape(&with_old(60_000, (100, 5), (100, 1))),
            Decision::Rollback
        );
        // A new deploy judges the start again: OK before, so the first breach acts.
        t.reset();
        assert_eq!(
            t.on_scrape(&with_old(15_000, (100, 5), (100, 1))),
            Decision::Rollback
        );
        // Without the key, the same first scrape acts at once.
        let mut p = Threshold::new(
            ThresholdSignal::ErrorRate { above: 0.02 },
            15_000,
            0,
            1,
            NoData::Ignore,
        );
        assert_eq!(
            p.on_scrape(&with_old(15_000, (100, 5), (100, 5))),
            Decision::Rollback
        );
    }
}
