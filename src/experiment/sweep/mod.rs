//! Sweeps: one or two scenario fields over ranges or lists, every point on the same seed
//! (so points differ by the parameter, not by luck).
//!
//! This module decides what a sweep is and runs it; it does no I/O. A [`Sweep`] is built
//! from the scenario text and the parameters, and every point's scenario is checked
//! before anything runs. Running hands each finished point's [`SweepRow`]s to the
//! caller's sink (which streams them to `sweep.csv`), so an interrupted sweep keeps every
//! finished point (a resumed sweep keeps those whose checksums match: `jobs::sweep`).

use super::objective::{Paste, PointResult};
use super::stats::Estimate;
use super::{Options, Summary};
use crate::outcome::RunRecord;
use crate::scenario::{self, edit, PolicySpec, Scenario};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};

/// A sweep that cannot be built: a bad `--param`, or a point whose scenario is invalid.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SweepError(pub String);

/// One swept parameter: a scenario field by its path and the values it takes.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub path: String,
    pub values: Vec<f64>,
}

/// Rounds away float noise from range arithmetic (0.035000000000000003 -> 0.035).
fn tidy(v: f64) -> f64 {
    if v == 0.0 {
        return 0.0;
    }
    let scale = 10f64.powi(12 - v.abs().log10().ceil() as i32);
    (v * scale).round() / scale
}

impl FromStr for Param {
    type Err = SweepError;

    /// `PATH=LOW..HIGH:POINTS` (evenly spaced, both ends included) or `PATH=A,B,C`.
    fn from_str(s: &str) -> Result<Param, SweepError> {
        let bad = |why: &str| {
            SweepError(format!(
                "--param {s:?}: {why}; expected PATH=LOW..HIGH:POINTS or PATH=A,B,C, e.g. policies.gate.error_rate_above=0.005..0.05:10"
            ))
        };
        let (path, spec) = s.split_once('=').ok_or_else(|| bad("no '='"))?;
        let path = path.trim().to_string();
        let num = |x: &str| x.trim().parse::<f64>().ok().filter(|v| v.is_finite());
        let values = if let Some((range, n)) = spec.split_once(':') {
            let (lo, hi) = range
                .split_once("..")
                .ok_or_else(|| bad("a range needs LOW..HIGH"))?;
            let (lo, hi) = (
                num(lo).ok_or_else(|| bad("LOW is not a number"))?,
                num(hi).ok_or_else(|| bad("HIGH is not a number"))?,
            );
            let n: usize = n
                .trim()
                .parse()
                .map_err(|_| bad("POINTS is not a whole number"))?;
            if !(1..=10_000).contains(&n) {
                return Err(bad("POINTS must be from 1 to 10000"));
            }
            if n == 1 {
                vec![lo]
            } else {
                (0..n)
                    .map(|i| tidy(lo + (hi - lo) * i as f64 / (n - 1) as f64))
                    .collect()
            }
        } else {
            spec.split(',')
                .map(|x| num(x).ok_or_else(|| bad(&format!("{:?} is not a number", x.trim()))))
                .collect::<Result<Vec<_>, _>>()?
        };
        if path.is_empty() || values.is_empty() {
            return Err(bad("empty path or no values"));
        }
        Ok(Param { path, values })
    }
}

/// One row of `sweep.csv`: one (sweep point, policy, metric). The same type writes the
/// file (`sweep`, `merge`) and reads it back (`--resume`, the report).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SweepRow {
    /// The point's index in the whole sweep (all shards), the first parameter slowest.
    pub point: u64,
    /// The first swept field's path and its value at this point.
    pub param: String,
    pub value: f64,
    /// The second swept field, for a 2-D sweep (both empty otherwise).
    pub param2: Option<String>,
    pub value2: Option<f64>,
    pub policy: String,
    /// In a system: the service of the row, or `system` for the whole; absent (no column)
    /// for a single service, whose `sweep.csv` keeps its columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// One of [`RunRecord::METRICS`] (in a system, or [`RunRecord::SYSTEM_METRICS`]).
    pub metric: String,
    /// Mean and 95% interval over the point's runs; empty when no run had a value.
    pub mean: Option<f64>,
    pub ci95_low: Option<f64>,
    pub ci95_high: Option<f64>,
    /// Runs with a value.
    pub n: u64,
}

/// One point of a sweep: its parameter values and its checked scenario.
#[derive(Debug, Clone)]
pub struct Point {
    pub values: Vec<f64>,
    pub scenario: Scenario,
}

/// A checked sweep: the parameters and every point's scenario, in point order (the first
/// parameter varies slowest).
#[derive(Debug, Clone)]
pub struct Sweep {
    pub params: Vec<Param>,
    pub points: Vec<Point>,
    /// The scenario's policies, in order (a point may not change them).
    pub policies: Vec<String>,
    /// The policy the first parameter belongs to (`policies.NAME.key`), if any: the one
    /// the sweep tunes, and the default policy of an objective's metrics.
    pub tuned: Option<String>,
    /// A system's services, in order (a point may not change them); empty for a single
    /// service.
    pub services: Vec<String>,
}

impl SweepRow {
    /// The columns of `sweep.csv`: every field for a system's rows; for a single service
    /// the columns without `service` (which its rows leave out).
    pub fn columns(system: bool) -> Vec<&'static str> {
        crate::check::fields_of::<SweepRow>()
            .iter()
            .copied()
            .filter(|c| system || *c != "service")
            .collect()
    }

    /// The row's name as the summary and an objective name it: the policy, or in a
    /// system `policy@service` for a service's row (the system's row is the policy's).
    pub fn series(&self) -> String {
        match self.service.as_deref() {
            Some(s) if s != "system" => format!("{}@{s}", self.policy),
            _ => self.policy.clone(),
        }
    }
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

impl Sweep {
    /// Builds every point's scenario from `text` (whose checked form is `base`; `origin`
    /// names it in messages, `dir` resolves its imports) and checks it. Nothing runs.
    pub fn new(
        text: &str,
        origin: &str,
        dir: &Path,
        base: &Scenario,
        params: Vec<Param>,
    ) -> Result<Sweep, SweepError> {
        if params.is_empty() || params.len() > 2 {
            return Err(SweepError(
                "--param is given more than twice; a sweep has one or two parameters".into(),
            ));
        }
        let mut combos: Vec<Vec<f64>> = params[0].values.iter().map(|v| vec![*v]).collect();
        if let Some(p2) = params.get(1) {
            combos = combos
                .into_iter()
                .flat_map(|c| {
                    p2.values
                        .iter()
                        .map(move |v| [c.clone(), vec![*v]].concat())
                })
                .collect();
        }
        let mut points = Vec::with_capacity(combos.len());
        for values in combos {
            let mut t = text.to_string();
            for (p, v) in params.iter().zip(&values) {
                t = edit::set_number(&t, &p.path, *v)
                    .map_err(|e| SweepError(format!("--param {}: {e}", p.path)))?;
            }
            let label = label(&params, &values);
            let scenario =
                scenario::parse_at(&t, &format!("{origin} with {label}"), dir).map_err(|e| {
                    SweepError(format!("--param {label} makes the scenario invalid:\n{e}"))
                })?;
            if scenario
                .policies
                .iter()
                .map(|p| &p.name)
                .ne(base.policies.iter().map(|p| &p.name))
            {
                return Err(SweepError(format!(
                    "--param {label} changes the policies; sweep values, not names"
                )));
            }
            if super::service_names(&scenario) != super::service_names(base) {
                return Err(SweepError(format!(
                    "--param {label} changes the services; sweep values, not names or counts"
                )));
            }
            points.push(Point { values, scenario });
        }
        let policies: Vec<String> = base.policies.iter().map(|p| p.name.clone()).collect();
        let tuned = params[0]
            .path
            .strip_prefix("policies.")
            .and_then(|r| r.split('.').next())
            .map(|p| match p.parse::<usize>() {
                Ok(i) => policies.get(i).cloned().unwrap_or_default(),
                Err(_) => p.to_string(),
            })
            .filter(|p| policies.contains(p));
        Ok(Sweep {
            params,
            points,
            policies,
            tuned,
            services: super::service_names(base),
        })
    }

    /// Whether the sweep is of a system of services.
    pub fn is_system(&self) -> bool {
        !self.services.is_empty()
    }

    /// The metrics of every row of a point: [`RunRecord::METRICS`], and in a system
    /// [`RunRecord::SYSTEM_METRICS`] too (empty where one does not apply), so that every
    /// point of a system has the same rows.
    fn metrics(&self) -> impl Iterator<Item = &'static str> + '_ {
        let system = RunRecord::SYSTEM_METRICS
            .iter()
            .filter(|_| self.is_system());
        RunRecord::METRICS.iter().chain(system).map(|(m, _)| *m)
    }

    /// Rows a complete point has in `sweep.csv`: every metric of every policy (in a
    /// system, of every policy's system row and each of its services' rows).
    pub fn rows_per_point(&self) -> usize {
        self.policies.len() * (self.services.len() + 1) * self.metrics().count()
    }

    /// The rows of point `i` from its experiment's summary (in a system, the summary's
    /// rows are each policy's system row then its services', as [`super::row_names`]).
    pub fn rows(&self, i: usize, s: &Summary) -> Vec<SweepRow> {
        let values = &self.points[i].values;
        let group = self.services.len() + 1;
        let mut rows = Vec::new();
        for (k, p) in s.policies.iter().enumerate() {
            let (policy, service) = if self.is_system() {
                let policy = self.policies.get(k / group).cloned().unwrap_or_default();
                let service = match k % group {
                    0 => "system".to_string(),
                    j => self.services[j - 1].clone(),
                };
                (policy, Some(service))
            } else {
                (p.policy.clone(), None)
            };
            for metric in self.metrics() {
                let e = p.metrics.iter().find(|(m, _)| *m == metric).map(|(_, e)| e);
                rows.push(SweepRow {
                    point: i as u64,
                    param: self.params[0].path.clone(),
                    value: values[0],
                    param2: self.params.get(1).map(|p| p.path.clone()),
                    value2: values.get(1).copied(),
                    policy: policy.clone(),
                    service: service.clone(),
                    metric: metric.to_string(),
                    mean: e.and_then(|e| finite(e.mean)),
                    ci95_low: e.and_then(|e| finite(e.ci95_low)),
                    ci95_high: e.and_then(|e| finite(e.ci95_high)),
                    n: e.map_or(0, |e| e.n),
                });
            }
        }
        rows
    }

    /// Runs the points `todo` (indices into [`Sweep::points`]) in order, `runs` runs each
    /// on `seed`, handing each finished point's rows to `sink`. `progress` gets the runs
    /// finished so far. Returns how many points finished: fewer than `todo` when `stop`
    /// was set (a point cut short is not handed over).
    pub fn run<E>(
        &self,
        seed: u64,
        runs: u64,
        todo: &[usize],
        stop: Option<&AtomicBool>,
        progress: Option<&(dyn Fn(u64) + Sync)>,
        mut sink: impl FnMut(&[SweepRow]) -> Result<(), E>,
    ) -> Result<usize, E> {
        let mut known: Option<Known> = None;
        for (k, &i) in todo.iter().enumerate() {
            let offset = k as u64 * runs;
            let tick = |d: u64| {
                if let Some(p) = progress {
                    p(offset + d)
                }
            };
            let opts = Options {
                seed,
                runs: 0..runs,
                baseline: 0,
                stop,
                progress: Some(&tick),
                events: false,
            };
            let scenario = &self.points[i].scenario;
            let (subset, changed) = match &known {
                Some(kn) => kn.changed(scenario),
                None => (scenario.clone(), (0..scenario.policies.len()).collect()),
            };
            let r = super::run(&subset, &opts, |_| Ok::<(), E>(()))?;
            if r.interrupted || stop.is_some_and(|s| s.load(Ordering::SeqCst)) {
                return Ok(k);
            }
            let summary = match known.take() {
                Some(mut kn) if changed.len() < scenario.policies.len() => {
                    kn.update(scenario, &changed, r.summary);
                    let summary = kn.summary.clone();
                    known = Some(kn);
                    summary
                }
                _ => {
                    known = Some(Known::new(scenario, r.summary.clone()));
                    r.summary
                }
            };
            sink(&self.rows(i, &summary))?;
        }
        Ok(todo.len())
    }
}

/// The last point's scenario and the estimates of its policies, so the next point
/// simulates only the policies whose rule the sweep changed.
///
/// A policy's runs depend only on the scenario without its policy list (the worlds, the
/// model, the signals) and on its own rule: the worlds are common random numbers and no
/// policy reads another. So when two points differ only in some policies' rules, every
/// other policy's records, and hence its estimates (accumulated in run order), are the
/// same at both, and are taken from the last point instead of simulated again.
///
/// In a system each service holds its own copy of every policy, checked against that
/// service: a policy is the same at two points when its copy is the same in every service
/// as well, and its estimates are a block of rows (its system row, then its services').
struct Known {
    /// The scenario with no policies (in a system, none in any service either): what
    /// every policy's runs share.
    rest: Scenario,
    /// Each policy as every run of it sees it: its spec, then its copy in each service.
    policies: Vec<Vec<PolicySpec>>,
    summary: Summary,
}

/// `scenario` with only the policies `keep` (by index), in the system's services too: a
/// system runs policy `k` on every service's copy `k`, so the copies are picked alike.
pub(super) fn with_policies(scenario: &Scenario, keep: &[usize]) -> Scenario {
    let pick = |all: &[PolicySpec]| keep.iter().filter_map(|&j| all.get(j).cloned()).collect();
    let mut out = Scenario {
        policies: pick(&scenario.policies),
        ..scenario.clone()
    };
    if let Some(system) = out.system.as_deref_mut() {
        for s in &mut system.services {
            s.scenario.policies = pick(&s.scenario.policies);
        }
    }
    out
}

/// Policy `j` of `scenario` as every run of it sees it: its spec, then each service's copy.
fn identity(scenario: &Scenario, j: usize) -> Vec<PolicySpec> {
    let copies = scenario
        .system
        .iter()
        .flat_map(|s| s.services.iter())
        .filter_map(|s| s.scenario.policies.get(j).cloned());
    scenario.policies[j..=j]
        .iter()
        .cloned()
        .chain(copies)
        .collect()
}

/// Rows of a summary per policy: 1, or in a system its system row and one per service.
fn group(scenario: &Scenario) -> usize {
    scenario.system.as_ref().map_or(0, |s| s.services.len()) + 1
}

impl Known {
    fn new(scenario: &Scenario, summary: Summary) -> Known {
        Known {
            rest: with_policies(scenario, &[]),
            policies: (0..scenario.policies.len())
                .map(|j| identity(scenario, j))
                .collect(),
            summary,
        }
    }

    /// The scenario to simulate at a point whose scenario is `scenario`, holding only the
    /// policies that differ from the last point's (all of them when more than the policies
    /// differ), and their indices.
    fn changed(&self, scenario: &Scenario) -> (Scenario, Vec<usize>) {
        let same_rest = with_policies(scenario, &[]) == self.rest;
        let changed: Vec<usize> = (0..scenario.policies.len())
            .filter(|&j| !same_rest || self.policies.get(j) != Some(&identity(scenario, j)))
            .collect();
        (with_policies(scenario, &changed), changed)
    }

    /// Takes the estimates of the simulated policies `changed` (in `simulated` order) into
    /// the point whose scenario is `scenario`.
    fn update(&mut self, scenario: &Scenario, changed: &[usize], simulated: Summary) {
        let g = group(scenario);
        let mut rows = simulated.policies.into_iter();
        for &j in changed {
            for (slot, p) in self.summary.policies[j * g..(j + 1) * g]
                .iter_mut()
                .zip(rows.by_ref())
            {
                *slot = p;
            }
            self.policies[j] = identity(scenario, j);
        }
    }
}

impl Sweep {
    /// The values of a point as lines to paste into the scenario `text`, each in the
    /// syntax the file uses for that field: what [`edit::set_number`] writes, read back
    /// (a duration in its largest whole units: `"15m"`, not `"900s"`).
    pub fn paste(&self, text: &str, values: &[f64]) -> Vec<Paste> {
        self.params
            .iter()
            .zip(values)
            .filter_map(|(p, v)| {
                let edited = edit::set_number(text, &p.path, *v).ok()?;
                let literal = edit::literal(&edited, &p.path)?;
                let (table, key) = p.path.rsplit_once('.').unwrap_or(("", &p.path));
                Some(Paste {
                    table: table.to_string(),
                    line: format!("{key} = {literal}"),
                })
            })
            .collect()
    }
}

/// `path=value, path2=value2`: how a point is named in messages.
fn label(params: &[Param], values: &[f64]) -> String {
    params
        .iter()
        .zip(values)
        .map(|(p, v)| format!("{}={v}", p.path))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The estimates of every point, in point order, as the objective reads them: by policy,
/// or in a system by the system's row of a policy and `policy@service` for a service's.
pub fn results(rows: &[SweepRow]) -> Vec<PointResult> {
    let mut by_point: BTreeMap<usize, PointResult> = BTreeMap::new();
    for r in rows {
        let p = by_point.entry(r.point as usize).or_insert_with(|| {
            let mut values = vec![(r.param.clone(), r.value)];
            if let (Some(p2), Some(v2)) = (&r.param2, r.value2) {
                values.push((p2.clone(), v2));
            }
            PointResult {
                point: r.point as usize,
                values,
                estimates: BTreeMap::new(),
            }
        });
        p.estimates.insert(
            (r.series(), r.metric.clone()),
            Estimate {
                mean: r.mean.unwrap_or(f64::NAN),
                ci95_low: r.ci95_low.unwrap_or(f64::NAN),
                ci95_high: r.ci95_high.unwrap_or(f64::NAN),
                n: r.n,
            },
        );
    }
    by_point.into_values().collect()
}

#[cfg(test)]
mod tests;
