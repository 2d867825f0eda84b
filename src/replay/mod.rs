//! `rollsim replay`: recorded observations fed to policies as if live, every decision they
//! would have made, and (with labels) how those decisions score against known incidents.
//!
//! A policy receives what the simulator gives it, in the same order: scrapes at their
//! timestamps (lost scrapes, the gaps of the recording, as empty scrapes), delayed by the
//! scenario's `signals.metric_delay` rounded up to whole scrape intervals, and health
//! checks at theirs (a scrape before a health check of the same instant). When the labels
//! hold deploys, a policy watches from each deploy, with fresh state, scrapes whose
//! interval starts at or after it; without deploys it watches from the first point.
//! After a decision it watches no more until the next deploy ([`Reset::Deploy`], as the
//! simulator does), or starts afresh at once ([`Reset::Decision`], a standing alert that
//! re-arms, optionally after a hold). A `promoted` label ends the watch of a policy with
//! `until = "promoted"`. After a deploy, scrape slots before the first recorded scrape are
//! lost scrapes (the first is due one interval after the deploy); lost scrapes after the
//! last recorded one cannot be told from the end of the data and are not fed.
//!
//! Only the rule is replayed: rollout, checkpoints, loop guards and the action's effect
//! are not (nothing changes the recording), and `oracle` has no truth to read.
//!
//! Architecture invariant: like the engine, no I/O and no clock; a pure function of the
//! observations, the labels and the policy.

pub mod labels;

pub use labels::{Incident, Instant, Labels};

use crate::experiment::stats::Accumulator;
use crate::experiment::{PolicySummary, Summary};
use crate::outcome::MetricKind;
use crate::policy::{self, Decision, Scrape};
use crate::recorded::format_timestamp;
use crate::scenario::{Action, PolicySpec, Until};
use serde::Serialize;

const DAY_MS: u64 = 86_400_000;

/// What a policy does after it decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reset {
    /// It watches no more until the next deploy (the simulator's rule).
    Deploy,
    /// It forgets everything and keeps watching (an alert that re-arms).
    Decision,
}

/// The recorded observations, as a policy receives them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observations {
    /// Every scrape slot in time order, lost ones empty.
    pub scrapes: Vec<Scrape>,
    /// The scrape interval of the recording.
    pub interval_ms: u64,
    /// Health checks in time order: (time, passed).
    pub health_checks: Vec<(u64, bool)>,
}

/// Deploys and promotions in time order (from the labels).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Timeline {
    /// Deploy times (Unix ms), sorted.
    pub deploys: Vec<u64>,
    pub promotions: Vec<u64>,
}

impl Timeline {
    /// The deploys and promotions of `labels`.
    pub fn of(labels: &Labels) -> Timeline {
        Timeline {
            deploys: labels.deploys.iter().map(|d| d.at_ms).collect(),
            promotions: labels.promotions.iter().map(|d| d.at_ms).collect(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Deploy(usize),
    Promote,
    /// A scrape (by index) taken while deploy `window` was current.
    Scrape {
        window: usize,
        index: usize,
    },
    Check(usize),
}

/// Lost scrapes the recording cannot show: after each deploy, the slots before the first
/// scrape of the new version (its first scrape is due one interval after the deploy).
fn leading_lost(obs: &Observations, deploys: &[u64]) -> Vec<Scrape> {
    let dt = obs.interval_ms.max(1);
    let mut out = Vec::new();
    for (k, &d) in deploys.iter().enumerate() {
        let next = deploys.get(k + 1).copied().unwrap_or(u64::MAX);
        let i = obs.scrapes.partition_point(|s| s.at_ms < d + dt);
        let Some(first) = obs.scrapes.get(i).filter(|s| s.at_ms - dt < next) else {
            continue;
        };
        let mut at = first.at_ms;
        while at >= d + 2 * dt {
            at -= dt;
            out.push(Scrape {
                at_ms: at,
                new: None,
                old: None,
            });
        }
    }
    out
}

/// The times at which `spec`'s rule decides on the recorded observations. With
/// [`Reset::Decision`], a policy that decided sees nothing for `hold_ms` (the time a
/// rollback and a new deploy would take), then starts afresh.
pub fn decisions(
    spec: &PolicySpec,
    obs: &Observations,
    timeline: &Timeline,
    reset: Reset,
    metric_delay_ms: u64,
    hold_ms: u64,
) -> Vec<u64> {
    let dt = obs.interval_ms.max(1);
    let delay = metric_delay_ms.div_ceil(dt) * dt;
    let deploys = &timeline.deploys;
    let leading = leading_lost(obs, deploys);
    // (time, rank, event): state changes first, then scrapes, then health checks.
    let mut events: Vec<(u64, u8, Ev)> = Vec::new();
    for (k, &d) in deploys.iter().enumerate() {
        events.push((d, 0, Ev::Deploy(k)));
    }
    for &p in &timeline.promotions {
        events.push((p, 1, Ev::Promote));
    }
    let scrapes: Vec<&Scrape> = obs.scrapes.iter().chain(&leading).collect();
    for (index, s) in scrapes.iter().enumerate() {
        let window = if deploys.is_empty() {
            0
        } else {
            // The deploy current when the scraped interval started.
            let started = s.at_ms.saturating_sub(dt);
            match deploys.partition_point(|&d| d <= started).checked_sub(1) {
                Some(k) => k,
                None => continue,
            }
        };
        events.push((s.at_ms + delay, 2, Ev::Scrape { window, index }));
    }
    for (i, &(t, _)) in obs.health_checks.iter().enumerate() {
        events.push((t, 3, Ev::Check(i)));
    }
    events.sort();

    let mut policy = policy::build(spec);
    let mut window: Option<usize> = deploys.is_empty().then_some(0);
    let mut acted = false;
    let mut promoted = false;
    let mut held_until = 0;
    let mut out = Vec::new();
    for (t, _, ev) in events {
        let watching = window.is_some() && !acted && !(promoted && spec.until == Until::Promoted);
        let d = match ev {
            Ev::Deploy(k) => {
                window = Some(k);
                acted = false;
                held_until = 0;
                promoted = false;
                policy.reset();
                continue;
            }
            Ev::Promote => {
                promoted = window.is_some();
                continue;
            }
            Ev::Scrape { window: w, index } => {
                if !watching || window != Some(w) {
                    continue;
                }
                if t < held_until {
                    continue;
                }
                policy.on_scrape(scrapes[index])
            }
            Ev::Check(i) => {
                if !watching || t < held_until {
                    continue;
                }
                let (at, ok) = obs.health_checks[i];
                policy.on_health_check(at, ok)
            }
        };
        if d == Decision::Rollback {
            out.push(t);
            match reset {
                Reset::Deploy => acted = true,
                Reset::Decision => {
                    policy.reset();
                    held_until = t + hold_ms;
                }
            }
        }
    }
    out
}

/// The name of what a policy's decision does.
pub fn action_name(a: Action) -> &'static str {
    match a {
        Action::Rollback => "rollback",
        Action::RollForward => "roll_forward",
        Action::FlagOff => "flag_off",
    }
}

/// The decisions of one policy.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDecisions {
    /// The policy's name in the scenario.
    pub policy: String,
    /// What each decision does (the policy's `action`).
    pub action: &'static str,
    /// Decision times in order.
    pub times: Vec<u64>,
}

/// The incident a decision at `t` falls in: the earliest-starting window that holds it.
pub fn incident_of(t: u64, incidents: &[Incident]) -> Option<usize> {
    incidents
        .iter()
        .enumerate()
        .filter(|(_, i)| i.start_ms <= t && t <= i.end_ms)
        .min_by_key(|(k, i)| (i.start_ms, *k))
        .map(|(k, _)| k)
}

/// What the per-unit means are over: deploys (each from its deploy to the next), or
/// days of data.
#[derive(Debug, Clone, PartialEq)]
enum Units {
    Deploys(Vec<u64>),
    /// Whole days from `first`; a last partial day of at least 12 h counts, scaled.
    Days {
        first: u64,
        whole: u64,
        partial_ms: u64,
    },
    /// Less than 12 hours of data and no deploy: one value, the whole recording.
    Whole,
}

impl Units {
    fn new(timeline: &Timeline, span: (u64, u64)) -> Units {
        if !timeline.deploys.is_empty() {
            return Units::Deploys(timeline.deploys.clone());
        }
        let len = span.1.saturating_sub(span.0);
        if len < DAY_MS / 2 {
            return Units::Whole;
        }
        let (whole, rest) = (len / DAY_MS, len % DAY_MS);
        let partial_ms = if rest >= DAY_MS / 2 { rest } else { 0 };
        Units::Days {
            first: span.0,
            whole,
            partial_ms,
        }
    }

    /// Per-unit values of counts of events at `times`.
    fn per_unit(&self, times: impl Iterator<Item = u64>) -> Vec<f64> {
        match self {
            Units::Deploys(d) => {
                let mut v = vec![0.0; d.len()];
                for t in times {
                    if let Some(k) = d.partition_point(|&x| x <= t).checked_sub(1) {
                        v[k] += 1.0;
                    }
                }
                v
            }
            Units::Days {
                first,
                whole,
                partial_ms,
            } => {
                let n = *whole as usize + usize::from(*partial_ms > 0);
                let mut v = vec![0.0; n];
                for t in times {
                    let k = (t.saturating_sub(*first) / DAY_MS) as usize;
                    if k < n {
                        v[k] += 1.0;
                    }
                }
                if *partial_ms > 0 {
                    if let Some(last) = v.last_mut() {
                        *last *= DAY_MS as f64 / (*partial_ms).max(1) as f64;
                    }
                }
                v
            }
            Units::Whole => vec![times.count() as f64],
        }
    }

    /// "deploy", "day" or "recording": what one value of a per-unit mean covers.
    pub fn name(&self) -> &'static str {
        match self {
            Units::Deploys(_) => "deploy",
            Units::Days { .. } => "day",
            Units::Whole => "recording",
        }
    }
}

/// The metrics of `summary.csv`, in order.
pub const METRICS: [(&str, MetricKind); 4] = [
    ("decisions", MetricKind::Count),
    ("false_positive_decisions", MetricKind::Count),
    ("missed_incidents", MetricKind::Proportion),
    ("detection_delay_s", MetricKind::Value),
];

/// Replay results scored: the summary (per policy, [`METRICS`]; the last three only with
/// labels), and what the per-unit means are over ("deploy", "day", or "recording" for
/// less than 12 hours without deploys).
pub fn summarize(
    results: &[PolicyDecisions],
    labels: Option<&Labels>,
    timeline: &Timeline,
    span: (u64, u64),
) -> (Summary, &'static str) {
    let units = Units::new(timeline, span);
    let mut policies = Vec::new();
    for r in results {
        let mut metrics = Vec::new();
        let est = |values: &[f64], kind: MetricKind| {
            let mut a = Accumulator::default();
            values.iter().for_each(|&v| a.add(v));
            a.estimate(kind)
        };
        let all = units.per_unit(r.times.iter().copied());
        metrics.push((METRICS[0].0, est(&all, MetricKind::Count)));
        if let Some(l) = labels {
            let fp = units.per_unit(
                r.times
                    .iter()
                    .copied()
                    .filter(|&t| incident_of(t, &l.incidents).is_none()),
            );
            metrics.push((METRICS[1].0, est(&fp, MetricKind::Count)));
            let firsts = first_decisions(&r.times, &l.incidents);
            let missed: Vec<f64> = firsts
                .iter()
                .map(|f| f64::from(u8::from(f.is_none())))
                .collect();
            metrics.push((METRICS[2].0, est(&missed, MetricKind::Proportion)));
            let delays: Vec<f64> = firsts
                .iter()
                .zip(&l.incidents)
                .filter_map(|(f, i)| f.map(|t| (t - i.start_ms) as f64 / 1000.0))
                .collect();
            metrics.push((METRICS[3].0, est(&delays, MetricKind::Value)));
        }
        policies.push(PolicySummary {
            policy: r.policy.clone(),
            metrics,
        });
    }
    (Summary { policies }, units.name())
}

/// For each incident, the first decision inside its window.
pub fn first_decisions(times: &[u64], incidents: &[Incident]) -> Vec<Option<u64>> {
    incidents
        .iter()
        .map(|i| {
            times
                .iter()
                .copied()
                .find(|&t| i.start_ms <= t && t <= i.end_ms)
        })
        .collect()
}

#[derive(Serialize)]
struct DecisionRow<'a> {
    time: String,
    unix_s: f64,
    policy: &'a str,
    decision: &'a str,
    verdict: &'a str,
    incident_kind: &'a str,
    incident_line: Option<usize>,
}

/// `decisions.csv`: `time, unix_s, policy, decision, verdict, incident_kind,
/// incident_line`, by time (policies in order at one instant); the verdict is
/// `true_positive` inside an incident, `false_positive` outside, empty without labels.
pub fn decisions_csv(
    results: &[PolicyDecisions],
    labels: Option<&Labels>,
) -> Result<Vec<u8>, csv::Error> {
    let mut rows: Vec<(u64, usize)> = results
        .iter()
        .enumerate()
        .flat_map(|(p, r)| r.times.iter().map(move |&t| (t, p)))
        .collect();
    rows.sort();
    let mut w = csv::Writer::from_writer(vec![]);
    for (t, p) in rows {
        let r = &results[p];
        let inc = labels.and_then(|l| incident_of(t, &l.incidents).map(|k| &l.incidents[k]));
        w.serialize(DecisionRow {
            time: format_timestamp(t),
            unix_s: t as f64 / 1000.0,
            policy: &r.policy,
            decision: r.action,
            verdict: match (labels, inc) {
                (None, _) => "",
                (Some(_), Some(_)) => "true_positive",
                (Some(_), None) => "false_positive",
            },
            incident_kind: inc.map_or("", |i| i.kind.as_str()),
            incident_line: inc.map(|i| i.at.line),
        })?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

#[derive(Serialize)]
struct IncidentRow<'a> {
    policy: &'a str,
    incident_line: usize,
    kind: &'a str,
    start: String,
    end: String,
    detected: bool,
    first_decision: Option<String>,
    detection_delay_s: Option<f64>,
}

/// `incidents.csv`: per (policy, incident): whether a decision fell in the window, the
/// first one and its delay from the start.
pub fn incidents_csv(results: &[PolicyDecisions], labels: &Labels) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(vec![]);
    for r in results {
        let firsts = first_decisions(&r.times, &labels.incidents);
        for (i, f) in labels.incidents.iter().zip(firsts) {
            w.serialize(IncidentRow {
                policy: &r.policy,
                incident_line: i.at.line,
                kind: &i.kind,
                start: format_timestamp(i.start_ms),
                end: format_timestamp(i.end_ms),
                detected: f.is_some(),
                first_decision: f.map(format_timestamp),
                detection_delay_s: f.map(|t| (t - i.start_ms) as f64 / 1000.0),
            })?;
        }
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::VersionSample;
    use crate::scenario::parse;

    fn spec(policy: &str) -> PolicySpec {
        let s = parse(&format!("[[policies]]\nname = \"p\"\n{policy}"), "t").unwrap();
        s.policies[0].clone()
    }

    /// Scrapes every 15 s from 15 s to `n * 15` s, with `errors(i)` errors in 100 requests.
    fn obs(n: u64, errors: impl Fn(u64) -> u64) -> Observations {
        Observations {
            scrapes: (1..=n)
                .map(|i| Scrape {
                    at_ms: i * 15_000,
                    new: Some(VersionSample {
                        requests: 100,
                        errors: errors(i),
                        latency_p99_ms: None,
                        gauges: Default::default(),
                    }),
                    old: None,
                })
                .collect(),
            interval_ms: 15_000,
            health_checks: vec![],
        }
    }

    #[test]
    fn replay_decides_once_per_deploy_or_rearms() {
        let p = spec("kind = \"threshold\"\nerror_rate_above = 0.05\nwindow = \"15s\"\n");
        // Breaches at 30 s, 45 s, 90 s.
        let o = obs(8, |i| if matches!(i, 2 | 3 | 6) { 10 } else { 0 });
        let none = Timeline::default();
        assert_eq!(decisions(&p, &o, &none, Reset::Deploy, 0, 0), vec![30_000]);
        assert_eq!(
            decisions(&p, &o, &none, Reset::Decision, 0, 0),
            vec![30_000, 45_000, 90_000]
        );
        // Held for 20 s after each decision: 45 s falls in the hold.
        assert_eq!(
            decisions(&p, &o, &none, Reset::Decision, 0, 20_000),
            vec![30_000, 90_000]
        );
        // Lost scrapes before the first one after a deploy are fed (on_no_data = breach).
        let breach = spec(
            "kind = \"threshold\"\nerror_rate_above = 0.05\nwindow = \"15s\"\non_no_data = \"breach\"\n",
        );
        let late = Timeline {
            deploys: vec![30_000],
            promotions: vec![],
        };
        let mut gap = o.clone();
        gap.scrapes.retain(|s| s.at_ms >= 75_000);
        assert_eq!(
            decisions(&breach, &gap, &late, Reset::Deploy, 0, 0),
            vec![45_000]
        );
        // A deploy at 60 s: only scrapes whose interval starts at or after it.
        let d = Timeline {
            deploys: vec![60_000],
            promotions: vec![],
        };
        assert_eq!(decisions(&p, &o, &d, Reset::Deploy, 0, 0), vec![90_000]);
        // A metric delay of 20 s delivers each scrape two intervals later.
        assert_eq!(
            decisions(&p, &o, &d, Reset::Deploy, 20_000, 0),
            vec![120_000]
        );
        // Promoted at 75 s: a rollout-analysis policy stops watching.
        let dp = Timeline {
            deploys: vec![60_000],
            promotions: vec![75_000],
        };
        assert!(decisions(&p, &o, &dp, Reset::Deploy, 0, 0).is_empty());
        let standing = spec(
            "kind = \"threshold\"\nerror_rate_above = 0.05\nwindow = \"15s\"\nuntil = \"end\"\n",
        );
        assert_eq!(
            decisions(&standing, &o, &dp, Reset::Deploy, 0, 0),
            vec![90_000]
        );
    }

    #[test]
    fn replay_feeds_health_checks() {
        let p = spec("kind = \"consecutive\"\nfailures = 2\n");
        let o = Observations {
            health_checks: vec![
                (10, false),
                (20, true),
                (30, false),
                (40, false),
                (50, false),
            ],
            ..Observations::default()
        };
        assert_eq!(
            decisions(&p, &o, &Timeline::default(), Reset::Decision, 0, 0),
            vec![40]
        );
    }

    #[test]
    fn replay_scores_false_positives_misses_and_delay() {
        let labels = Labels::parse(
            "start,end,kind\n0,,deploy\n100,,deploy\n50,80,outage\n150,160,bad_release\n",
            "l.csv",
        )
        .unwrap();
        let r = vec![PolicyDecisions {
            policy: "p".into(),
            action: "rollback",
            times: vec![20_000, 60_000, 120_000],
        }];
        let tl = Timeline::of(&labels);
        let (s, unit) = summarize(&r, Some(&labels), &tl, (0, 200_000));
        assert_eq!(unit, "deploy");
        let m = &s.policies[0].metrics;
        assert_eq!(m[0].1.mean, 1.5); // 2 decisions after the first deploy, 1 after the second
        assert_eq!(m[1].1.mean, 1.0); // 20 s and 120 s are outside any incident
        assert_eq!(m[2].1.mean, 0.5); // the bad release was missed
        assert_eq!(m[3].1.mean, 10.0); // the outage was caught 10 s in
        let csv = String::from_utf8(decisions_csv(&r, Some(&labels)).unwrap()).unwrap();
        assert!(
            csv.contains("1970-01-01T00:01:00Z,60.0,p,rollback,true_positive,outage,4"),
            "{csv}"
        );
        assert!(
            csv.contains("1970-01-01T00:00:20Z,20.0,p,rollback,false_positive,,"),
            "{csv}"
        );
    }
}
