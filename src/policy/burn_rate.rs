//! `burn_rate`: a multi-window, multi-burn-rate SLO alert, as the Google SRE workbook
//! recommends ("Alerting on SLOs", iteration 6 and table 5-8), wired to roll back.
//!
//! # Parameters (rollsim key, default)
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `slo` | `1 - slo.error_rate` of the scenario | the availability target, e.g. 0.999 |
//! | `windows` | `[{ long = "1h", short = "5m", burn_rate = 14.4 }, { long = "6h", short = "30m", burn_rate = 6 }, { long = "3d", short = "6h", burn_rate = 1 }]` | the window pairs (table 5-8) |
//! | `traffic` | `"all"` | `"all"`: the service's requests (both versions), the usual SLO alert; `"new"`: the new version's only |
//! | `until` | `"end"` | a standing production alert, not rollout analysis |
//!
//! Burn rate = error ratio / (1 − SLO). A pair fires when the error ratio over **both** its
//! long and its short window is above `burn_rate × (1 − slo)`; the alert fires when any pair
//! does, and the policy then rolls back.
//!
//! # Model choice: the window before the deploy
//!
//! A policy sees scrapes only from the deploy on. A window that reaches back before the
//! first scrape is completed with error-free traffic at the rate observed so far: the ratio
//! is `errors / (requests × window / covered)`, where `covered` is the time since the deploy
//! (at most the window). This is the assumption behind the workbook's closed form: with a
//! constant error ratio `e` from the deploy on, the long window crosses its threshold after
//! `(1 − SLO) / e × long × burn_rate` (and the short window, `long / 12`, has crossed it
//! before whenever that time exceeds the short window). Without it a window holding only a
//! few minutes of a bad release would show the full ratio at once. A window with no request
//! at all has no data and does not fire.

use super::{Decision, Needs, Policy, Scrape};
use crate::check::{at, idx, Checker, Dur, PolicyContext, Seg};
use crate::policy::PolicyRule;
use serde::Deserialize;
use std::collections::VecDeque;

/// A `burn_rate` entry's own keys.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    pub slo: Option<f64>,
    pub windows: Option<Vec<RawWindow>>,
    pub traffic: Option<Traffic>,
}

/// One window pair as written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWindow {
    pub long: Dur,
    pub short: Dur,
    pub burn_rate: f64,
}

/// Which traffic a burn-rate alert counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Traffic {
    /// Both versions: the service-level SLO alert.
    All,
    /// The new version only.
    New,
}

/// One long/short window pair of a multi-window burn-rate alert.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurnWindow {
    pub long_ms: u64,
    pub short_ms: u64,
    pub burn_rate: f64,
}

/// The Google SRE workbook's recommended windows (table 5-8).
pub const DEFAULT_WINDOWS: [BurnWindow; 3] = [
    BurnWindow {
        long_ms: 3_600_000,
        short_ms: 300_000,
        burn_rate: 14.4,
    },
    BurnWindow {
        long_ms: 6 * 3_600_000,
        short_ms: 1_800_000,
        burn_rate: 6.0,
    },
    BurnWindow {
        long_ms: 72 * 3_600_000,
        short_ms: 6 * 3_600_000,
        burn_rate: 1.0,
    },
];

/// The checked parameters of a `burn_rate` policy.
#[derive(Debug, Clone, PartialEq)]
pub struct BurnRateSpec {
    /// The SLO target, e.g. 0.999.
    pub slo: f64,
    pub windows: Vec<BurnWindow>,
    pub traffic: Traffic,
    /// The scenario's scrape interval: the span each scrape covers.
    pub scrape_interval_ms: u64,
}

impl Raw {
    /// Checks the target (strictly between 0 and 1, by default `1 - slo.error_rate`) and
    /// the window pairs (short <= long).
    pub fn check(&self, c: &mut Checker, path: &[Seg], ctx: &PolicyContext) -> PolicyRule {
        let in_range = |v: f64| v.is_finite() && v > 0.0 && v < 1.0;
        let slo = match self.slo {
            Some(v) if !in_range(v) => {
                c.fail(
                    at(path, "slo"),
                    format!("slo = {v} is out of range; expected a target strictly between 0 and 1, such as 0.999"),
                );
                0.999
            }
            Some(v) => v,
            None => {
                let v = 1.0 - ctx.slo_error_rate;
                if !in_range(v) {
                    c.fail(
                        path.to_vec(),
                        format!("a burn_rate policy defaults `slo` to 1 - slo.error_rate = {v}, which is not strictly between 0 and 1; set `slo` (such as 0.999)"),
                    );
                    0.999
                } else {
                    v
                }
            }
        };
        let windows = match &self.windows {
            None => DEFAULT_WINDOWS.to_vec(),
            Some(ws) => check_windows(c, &at(path, "windows"), ws),
        };
        PolicyRule::BurnRate(BurnRateSpec {
            slo,
            windows,
            traffic: self.traffic.unwrap_or(Traffic::All),
            scrape_interval_ms: ctx.scrape_interval_ms,
        })
    }
}

fn check_windows(c: &mut Checker, path: &[Seg], ws: &[RawWindow]) -> Vec<BurnWindow> {
    if ws.is_empty() {
        c.fail(
            path.to_vec(),
            "windows is empty; expected at least one { long, short, burn_rate } table",
        );
    }
    ws.iter()
        .enumerate()
        .map(|(i, w)| {
            let wp = idx(path, i);
            let long_ms = c.positive(at(&wp, "long"), "long", Some(w.long), 1);
            let short_ms = c.positive(at(&wp, "short"), "short", Some(w.short), 1);
            if short_ms > long_ms {
                c.fail(
                    at(&wp, "short"),
                    "the short window is longer than the long window; expected short <= long (the workbook uses long / 12)",
                );
            }
            let burn_rate = c.number(
                at(&wp, "burn_rate"),
                "burn_rate",
                Some(w.burn_rate),
                1.0,
                0.0,
                true,
            );
            BurnWindow {
                long_ms,
                short_ms,
                burn_rate,
            }
        })
        .collect()
}

#[derive(Debug, Clone, Copy)]
struct Point {
    at_ms: u64,
    /// Requests and errors from the first scrape up to and including this one.
    cum_requests: u64,
    cum_errors: u64,
}

/// A multi-window, multi-burn-rate alert.
#[derive(Debug, Clone)]
pub struct BurnRate {
    spec: BurnRateSpec,
    longest_ms: u64,
    points: VecDeque<Point>,
    /// Cumulative totals of the points already dropped.
    base: (u64, u64),
    /// Start of the span the scrapes cover (the first scrape's interval start).
    start_ms: Option<u64>,
}

impl BurnRate {
    pub fn new(spec: BurnRateSpec) -> Self {
        let longest_ms = spec
            .windows
            .iter()
            .map(|w| w.long_ms.max(w.short_ms))
            .max()
            .unwrap_or(0);
        BurnRate {
            spec,
            longest_ms,
            points: VecDeque::new(),
            base: (0, 0),
            start_ms: None,
        }
    }

    /// The error ratio over the window `(now - window, now]`, padded with error-free traffic
    /// before the first scrape; `None` without requests.
    pub fn ratio(&self, now: u64, window_ms: u64) -> Option<f64> {
        let start = self.start_ms?;
        let last = self.points.back()?;
        let i = self.points.partition_point(|p| p.at_ms + window_ms <= now);
        let (r0, e0) = match i.checked_sub(1).and_then(|j| self.points.get(j)) {
            Some(p) => (p.cum_requests, p.cum_errors),
            None => self.base,
        };
        let requests = last.cum_requests - r0;
        let errors = last.cum_errors - e0;
        if requests == 0 {
            return None;
        }
        let covered = now.saturating_sub(start).clamp(1, window_ms);
        let padded = requests as f64 * window_ms as f64 / covered as f64;
        Some(errors as f64 / padded)
    }

    /// Whether any window pair fires at `now`.
    pub fn firing(&self, now: u64) -> bool {
        let budget = 1.0 - self.spec.slo;
        self.spec.windows.iter().any(|w| {
            let limit = w.burn_rate * budget;
            let over = |ms| self.ratio(now, ms).is_some_and(|r| r > limit);
            over(w.long_ms) && over(w.short_ms)
        })
    }
}

impl Policy for BurnRate {
    fn needs(&self) -> Needs {
        Needs {
            scrapes: true,
            latency: false,
            health_checks: false,
            gauges: false,
        }
    }

    fn reset(&mut self) {
        self.points.clear();
        self.base = (0, 0);
        self.start_ms = None;
    }

    fn on_scrape(&mut self, scrape: &Scrape) -> Decision {
        let now = scrape.at_ms;
        self.start_ms
            .get_or_insert(now.saturating_sub(self.spec.scrape_interval_ms));
        let (mut requests, mut errors) = (0, 0);
        let mut add = |s: &Option<super::VersionSample>| {
            if let Some(s) = s {
                requests += s.requests;
                errors += s.errors;
            }
        };
        add(&scrape.new);
        if self.spec.traffic == Traffic::All {
            add(&scrape.old);
        }
        let (r0, e0) = self
            .points
            .back()
            .map(|p| (p.cum_requests, p.cum_errors))
            .unwrap_or(self.base);
        self.points.push_back(Point {
            at_ms: now,
            cum_requests: r0 + requests,
            cum_errors: e0 + errors,
        });
        while let Some(f) = self.points.front() {
            if f.at_ms + self.longest_ms > now {
                break;
            }
            self.base = (f.cum_requests, f.cum_errors);
            self.points.pop_front();
        }
        if self.firing(now) {
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

    fn spec(slo: f64, windows: Vec<BurnWindow>, traffic: Traffic) -> BurnRateSpec {
        BurnRateSpec {
            slo,
            windows,
            traffic,
            scrape_interval_ms: 15_000,
        }
    }

    fn defaults() -> Vec<BurnWindow> {
        DEFAULT_WINDOWS.to_vec()
    }

    /// Feeds scrapes of 1000 requests with `errors` each, every 15 s, and returns the time
    /// since the deploy at which the alert fired.
    fn detect(p: &mut BurnRate, errors: u64, horizon_ms: u64) -> Option<u64> {
        let mut t = 0;
        while t < horizon_ms {
            t += 15_000;
            let s = VersionSample {
                requests: 1000,
                errors,
                latency_p99_ms: None,
                gauges: Default::default(),
            };
            let d = p.on_scrape(&Scrape {
                at_ms: t,
                new: Some(s),
                old: None,
            });
            if d == Decision::Rollback {
                return Some(t);
            }
        }
        None
    }

    #[test]
    fn detection_time_matches_the_closed_form() {
        // (1 - SLO) / e x long x burn, the earliest over the pairs whose burn rate the error
        // ratio exceeds at all (a pair with e <= burn x (1 - SLO) never fires: its short
        // window never gets there).
        for (slo, e) in [
            (0.999, 0.1),
            (0.999, 0.02),
            (0.999, 0.5),
            (0.99, 0.3),
            (0.999, 0.008),
            (0.9995, 0.05),
        ] {
            let mut p = BurnRate::new(spec(slo, defaults(), Traffic::New));
            let expected = defaults()
                .iter()
                .filter(|w| e > w.burn_rate * (1.0 - slo))
                .map(|w| (1.0 - slo) / e * w.long_ms as f64 * w.burn_rate)
                .fold(f64::INFINITY, f64::min);
            let got = detect(&mut p, (e * 1000.0).round() as u64, 4 * 86_400_000).map(|t| t as f64);
            let Some(got) = got else {
                panic!("slo {slo}, error ratio {e}: never fired, expected {expected} ms");
            };
            assert!(
                got >= expected && got - expected <= 15_000.0,
                "slo {slo}, error ratio {e}: fired at {got} ms, closed form {expected} ms"
            );
        }
    }

    #[test]
    fn both_windows_must_exceed_the_burn_rate() {
        // Errors for 20 minutes, then none: the 1h window stays above 14.4x for a while but
        // the 5m window drops within five minutes, so a late start never fires.
        let w = vec![BurnWindow {
            long_ms: 3_600_000,
            short_ms: 300_000,
            burn_rate: 14.4,
        }];
        let mut p = BurnRate::new(spec(0.999, w.clone(), Traffic::New));
        let mut fired = vec![];
        for k in 1..=400u64 {
            let t = k * 15_000;
            let errors = if k <= 80 { 500 } else { 0 };
            let s = VersionSample {
                requests: 1000,
                errors,
                latency_p99_ms: None,
                gauges: Default::default(),
            };
            if p.on_scrape(&Scrape {
                at_ms: t,
                new: Some(s),
                old: None,
            }) == Decision::Rollback
            {
                fired.push(t);
            }
        }
        // 50% errors: fires after 0.0144 / 0.5 h = 103.7 s, i.e. at the 105 s scrape, and
        // stops within 5 minutes (plus a scrape) after the errors stop at 20 min.
        assert_eq!(fired.first(), Some(&105_000));
        let last = fired.last().copied().unwrap_or(0);
        assert!(
            last > 20 * 60_000 && last <= 25 * 60_000 + 15_000,
            "last firing at {last} ms"
        );
    }

    #[test]
    fn traffic_all_counts_the_old_version() {
        let w = vec![BurnWindow {
            long_ms: 60_000,
            short_ms: 15_000,
            burn_rate: 10.0,
        }];
        let sample = |requests, errors| {
            Some(VersionSample {
                requests,
                errors,
                latency_p99_ms: None,
                gauges: Default::default(),
            })
        };
        // a 10% canary failing 5% of its requests: 0.5% of all traffic (5x burn), 50x on
        // the new version alone
        let s = Scrape {
            at_ms: 15_000,
            new: sample(100, 5),
            old: sample(900, 0),
        };
        let mut all = BurnRate::new(spec(0.999, w.clone(), Traffic::All));
        let mut new = BurnRate::new(spec(0.999, w, Traffic::New));
        let mut t = s;
        for k in 1..=4 {
            t.at_ms = k * 15_000;
            assert_eq!(all.on_scrape(&t), Decision::Continue);
        }
        let mut fired = false;
        for k in 1..=4 {
            t.at_ms = k * 15_000;
            fired |= new.on_scrape(&t) == Decision::Rollback;
        }
        assert!(fired);
    }

    #[test]
    fn no_requests_is_no_data() {
        let mut p = BurnRate::new(spec(0.999, defaults(), Traffic::New));
        let lost = Scrape {
            at_ms: 15_000,
            new: None,
            old: None,
        };
        assert_eq!(p.on_scrape(&lost), Decision::Continue);
        assert_eq!(p.ratio(15_000, 300_000), None);
        p.reset();
        assert_eq!(p.ratio(15_000, 300_000), None);
    }
}
