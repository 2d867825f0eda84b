//! A system of services in one run: one replication per service, stepped together one
//! scrape interval at a time, callees before their callers, so that each caller's interval
//! sees what its callees truly did in the same interval (their failed calls fail its
//! requests; their extra latency adds to its own).
//!
//! A retried call is another request at its callee: before each tick, every service's
//! request rate is set from its callers' attempts (`model::system::demand`), each attempt
//! failing as the callee did in the interval before.
//!
//! Each service draws from streams named by (run seed, service name), so a change in one
//! service (its policy, its release, its place in the file) never moves another service's
//! draws; the faults of the system are drawn once, from the run's fault stream, so one
//! incident hits every service it names at the same moment.

use super::{Prepared, Replication};
use crate::model::system::{demand_into, upstream, ClassViews};
use crate::outcome::system::{score, ServiceRun, StormRule};
use crate::outcome::RunRecord;
use crate::scenario::System;
use crate::sim::rng::{run_seed, stream, Stream};
use crate::sim::trace::{Trace, TraceEvent};
use crate::sim::world::World;
use rand::Rng;

/// The seed of service `name` in the run whose seed is `seed`: keyed by the name, so it
/// does not depend on the service's place in the file or on the other services.
fn service_seed(seed: u64, name: &str) -> u64 {
    // FNV-1a: a fixed, portable hash of the name.
    let h = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    run_seed(seed, h)
}

/// Each service's world in the run of `world` (the system's): its own seed and release
/// truth, and the system's fault occurrences that hit it. With `release` = (service,
/// bad), one release of a system's train: only that service's release exists, bad or not
/// as given, and no other service's release truth is drawn.
fn worlds(system: &System, world: &World, release: Option<(usize, bool)>) -> Vec<World> {
    system
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let seed = service_seed(world.seed, &s.name);
            let release_bad = match release {
                Some((service, bad)) => i == service && bad,
                None => {
                    let u: f64 = stream(seed, Stream::Release).random();
                    u < s.scenario.release.bad_probability
                }
            };
            World {
                run: world.run,
                seed,
                release_bad,
                faults: world
                    .faults
                    .iter()
                    .filter(|w| system.fault_targets[w.fault].contains(&i))
                    .copied()
                    .collect(),
                clock_ms: world.clock_ms,
            }
        })
        .collect()
}

/// Runs every policy of a system scenario on the run of `world` (drawn from the system's
/// scenario by `World::for_run`): for each policy in scenario order, the system's record
/// then one per service, in file order. Empty when `p` is not a system.
pub fn replicate_system(p: &Prepared<'_>, world: &World) -> Vec<RunRecord> {
    let Some(run) = SystemRun::new(p, world, None, Record::Nothing) else {
        return Vec::new();
    };
    let prefix = run.prefix();
    let mut out = Vec::with_capacity(run.policies() * (run.system.services.len() + 1));
    for k in 0..run.policies() {
        out.extend(run.run_policy(k, Some(&prefix)).records);
    }
    out
}

/// [`replicate_system`], with each policy's events (in scenario order): every service's,
/// each detail led by the service's name, in time order, as [`replicate_system_traced`]
/// records them. Recording events draws nothing the untraced run does not draw, so the
/// records are [`replicate_system`]'s, bit for bit, and the events are those of the very
/// run scored: an experiment keeps them for its chosen run without simulating it again.
pub fn replicate_system_events(
    p: &Prepared<'_>,
    world: &World,
) -> (Vec<RunRecord>, Vec<Vec<TraceEvent>>) {
    let Some(run) = SystemRun::new(p, world, None, Record::Events) else {
        return (Vec::new(), Vec::new());
    };
    let prefix = run.prefix();
    let mut out = Vec::with_capacity(run.policies() * (run.system.services.len() + 1));
    let mut events = Vec::with_capacity(run.policies());
    for k in 0..run.policies() {
        let done = run.run_policy(k, Some(&prefix));
        out.extend(done.records);
        events.push(done.trace.map(|t| t.events).unwrap_or_default());
    }
    (out, events)
}

/// Policy `k` of a system scenario on the run of `world` when only service `service`
/// releases, bad or not (`bad`): one release of a system's train. The other services
/// serve their current version all run long and their own release truth is not drawn;
/// the system's faults in `world` hit the services they name, as in any run. Returns the
/// system's record then one per service, in file order (empty when `p` is not a system,
/// has no policy `k` or no service `service`), and when the release was last promoted.
pub fn replicate_system_release(
    p: &Prepared<'_>,
    world: &World,
    k: usize,
    service: usize,
    bad: bool,
) -> (Vec<RunRecord>, Option<u64>) {
    let release = Some((service, bad));
    let Some(run) = SystemRun::new(p, world, release, Record::Nothing) else {
        return (Vec::new(), None);
    };
    if k >= run.policies() || service >= run.system.services.len() {
        return (Vec::new(), None);
    }
    let done = run.run_policy(k, None);
    (done.records, done.promoted_ms)
}

/// Policy `k` of a system scenario on the run of `world`, traced: the system's record,
/// and a timeline whose events are every service's (each detail led by the service's
/// name, in time order) and whose interval rows are the first entry service's (what the
/// users saw). `None` when `p` is not a system or has no policy `k`.
pub fn replicate_system_traced(
    p: &Prepared<'_>,
    world: &World,
    k: usize,
) -> Option<(RunRecord, Trace)> {
    let run = SystemRun::new(p, world, None, Record::Timeline)?;
    if k >= run.policies() {
        return None;
    }
    let done = run.run_policy(k, None);
    Some((
        done.records.into_iter().next()?,
        done.trace.unwrap_or_default(),
    ))
}

/// Whether service `r`'s own changes explain trouble of its callers at `t`, as anyone can
/// see them: it deployed or rolled back within `window_ms` (the deploy log), or the error
/// ratio of its last scrape is over `slo`.
fn explains(r: &Replication<'_, '_>, t: u64, window_ms: u64, slo: f64) -> bool {
    let changed = r.deployed_ms.max(r.scorer.last_rollback_ms());
    changed.is_some_and(|c| t < c.saturating_add(window_ms))
        || r.seen_error.is_some_and(|e| e > slo)
}

/// What a system's run records beside its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Record {
    Nothing,
    /// Every service's events, and nothing drawn for them.
    Events,
    /// Every service's events, and the entry service's rows (its scrapes drawn for them).
    Timeline,
}

/// One run (one world) of a system: what every policy's run of it reads, fixed before
/// the first interval.
struct SystemRun<'a> {
    p: &'a Prepared<'a>,
    system: &'a System,
    /// Each service's world (see [`worlds`]).
    worlds: Vec<World>,
    /// The number of the system's fault occurrences in the run.
    faults: u32,
    /// Each service's dependencies, direct or not (see `System::dependencies`).
    deps: Vec<Vec<usize>>,
    record: Record,
    /// In one release of a system's train, the one service that deploys.
    only: Option<usize>,
}

/// One policy's run of a system, stepped interval by interval: every service's
/// replication and what each class of calls reads of its callee.
struct PolicyRun<'a, 'w> {
    /// The policy's index in the scenario.
    k: usize,
    reps: Vec<Replication<'a, 'w>>,
    calls: ClassViews,
    /// The first interval not yet simulated.
    t: u64,
}

/// What a policy's run of a system returns: the system's record then one per service,
/// the timeline when one was recorded, and when the one releasing service's release was
/// last promoted (in a release of a system's train).
struct Finished {
    records: Vec<RunRecord>,
    trace: Option<Trace>,
    promoted_ms: Option<u64>,
}

impl<'a> SystemRun<'a> {
    /// The run of `world` (the system's; with `release`, one release of a system's
    /// train: see [`worlds`]); `None` when `p` is not a system.
    fn new(
        p: &'a Prepared<'a>,
        world: &World,
        release: Option<(usize, bool)>,
        record: Record,
    ) -> Option<Self> {
        let system = p.scenario.system.as_deref()?;
        Some(SystemRun {
            p,
            system,
            worlds: worlds(system, world, release),
            faults: world.faults.len() as u32,
            deps: (0..system.services.len())
                .map(|i| system.dependencies(i))
                .collect(),
            record,
            only: release.map(|(service, _)| service),
        })
    }

    /// The number of policies.
    fn policies(&self) -> usize {
        self.p.scenario.policies.len()
    }

    /// Policy `k`'s run at time 0: every service's replication started.
    fn start_policy(&self, k: usize) -> PolicyRun<'a, '_> {
        // The users' service: its rows are the traced system's rows.
        let users = self.system.services.iter().position(|s| s.entry);
        // The services a caller holding on its dependencies depends on (directly or not):
        // it reads what their scrapes showed (when their policy reads scrapes, see
        // `explains`), so their blocks are not pooled while their release exists.
        let mut held_on = vec![false; self.system.services.len()];
        for (j, s) in self.system.services.iter().enumerate() {
            if s.scenario.policies[k]
                .guards
                .hold_on_dependency_ms
                .is_some()
            {
                for &d in &self.deps[j] {
                    if let Some(x) = held_on.get_mut(d).filter(|_| d != j) {
                        *x = true;
                    }
                }
            }
        }
        let mut reps: Vec<Replication<'_, '_>> = (0..self.system.services.len())
            .map(|i| {
                let spec = &self.system.services[i].scenario.policies[k];
                let trace = (self.record != Record::Nothing).then(|| Trace {
                    events_only: self.record == Record::Events || i != users.unwrap_or(0),
                    ..Trace::default()
                });
                let mut r =
                    Replication::new(&self.p.services[i], &self.worlds[i], spec, trace, false);
                r.in_system = true;
                r.deploys = self.only.is_none_or(|o| o == i);
                r.seen_by_callers = r.reads_scrapes && held_on[i];
                r
            })
            .collect();
        for r in &mut reps {
            r.start();
        }
        let calls = ClassViews::new(&self.p.classes, |callee| {
            (&reps[callee].last, &self.p.services[callee].model)
        });
        PolicyRun {
            k,
            reps,
            calls,
            t: 0,
        }
    }

    /// The run stepped to the first instant a policy could act (the system's first
    /// deploy): until then nothing depends on the policy (no release exists, no policy
    /// watches, no observation is drawn), so the stretch is simulated once, under the
    /// first policy, and every policy's run goes on from it ([`Self::resume`]).
    fn prefix(&self) -> PolicyRun<'a, '_> {
        let mut run = self.start_policy(0);
        let first_deploy = self
            .system
            .services
            .iter()
            .map(|s| s.scenario.release.at_ms)
            .min()
            .unwrap_or(0);
        // Interval `t` is simulated with every event up to `t`: those before the deploy.
        self.step(&mut run, first_deploy);
        run
    }

    /// Policy `k`'s run to the horizon, from where `prefix` stopped (see
    /// [`Self::prefix`]) or from time 0.
    fn run_policy(&self, k: usize, prefix: Option<&PolicyRun<'a, '_>>) -> Finished {
        let mut run = self.start_policy(k);
        if let Some(prefix) = prefix {
            for (r, shared) in run.reps.iter_mut().zip(&prefix.reps) {
                r.resume(shared);
            }
            run.calls = prefix.calls.clone();
            run.t = prefix.t;
        }
        self.step(&mut run, u64::MAX);
        self.finish(run)
    }

    /// Steps every service of `run` interval by interval while intervals start before
    /// `until` (and the horizon).
    fn step(&self, run: &mut PolicyRun<'a, '_>, until: u64) {
        let (p, system, classes) = (self.p, self.system, &self.p.classes);
        let dt = p.scenario.scrape_interval_ms;
        let PolicyRun { k, reps, calls, t } = run;
        // Each service's `hold_on_dependency` under this policy, with its error SLO.
        let holds: Vec<Option<(u64, f64)>> = system
            .services
            .iter()
            .map(|s| {
                let w = s.scenario.policies[*k].guards.hold_on_dependency_ms;
                w.map(|w| (w, s.scenario.slo.error_rate))
            })
            .collect();
        let demand = &p.demand;
        let every: Vec<usize> = (0..reps.len()).collect();
        let mut rates = Vec::with_capacity(reps.len());
        let from = *t;
        while *t < p.scenario.duration_ms && *t < until {
            let now = *t;
            if !demand.varying().is_empty() {
                // Each retry is another request at the callee: its rate follows its
                // callers' attempts, each failing as the callee did in the interval before
                // (a retry answers a failure already seen). Every rate is computed at the
                // first interval; after it, only those that vary (see `Demand`).
                let attempts = |class: usize| calls.view(class).attempt.attempts;
                let changed = if now == from {
                    demand_into(system, &mut rates, |i, j, _| {
                        attempts(classes.of_calls(i)[j])
                    });
                    &every
                } else {
                    demand.update(&mut rates, attempts);
                    demand.varying()
                };
                for &v in changed {
                    let load = rates[v] / system.services[v].scenario.service.request_rate;
                    reps[v].services[0].set_load(load);
                }
            }
            for &i in &system.order {
                let svc = &system.services[i];
                reps[i].advance(now);
                let own = classes.calls_of(i);
                if !own.is_empty() {
                    let views = own.iter().map(|&(f, c)| (f, calls.view(c)));
                    let up = upstream(views, svc.scenario.service.latency_p50_ms);
                    reps[i].services[0].set_upstream(up);
                }
                if let Some((w, slo)) = holds[i] {
                    let held = self.deps[i]
                        .iter()
                        .any(|&d| explains(&reps[d], now, w, slo));
                    reps[i].response.held = held;
                }
                reps[i].advance(now + 1);
                // Its interval is drawn: what its callers read of it from now on.
                calls.refresh(classes, i, &reps[i].last, &p.services[i].model);
            }
            *t += dt;
        }
    }

    /// The records of `run` stepped to the horizon (see [`Finished`]).
    fn finish(&self, run: PolicyRun<'a, '_>) -> Finished {
        let system = self.system;
        let users = system.services.iter().position(|s| s.entry).unwrap_or(0);
        let mut runs = Vec::with_capacity(run.reps.len());
        let mut whole: Option<Trace> = (self.record != Record::Nothing).then(Trace::default);
        let mut promoted_ms = None;
        for (i, mut r) in run.reps.into_iter().enumerate() {
            r.advance(self.p.scenario.duration_ms);
            let timeline = r.scorer.timeline();
            if self.only == Some(i) {
                promoted_ms = r.releases.first().and_then(|x| x.promoted_ms);
            }
            let (record, trace) = r.finish();
            let svc = &system.services[i];
            if let (Some(w), Some(t)) = (&mut whole, trace) {
                w.events.extend(t.events.into_iter().map(|mut e| {
                    e.detail = if e.detail.is_empty() {
                        svc.name.clone()
                    } else {
                        format!("{}: {}", svc.name, e.detail)
                    };
                    e.service = Some(svc.name.clone());
                    e
                }));
                if i == users {
                    w.rows = t.rows;
                    w.health_checks = t.health_checks;
                }
            }
            runs.push(ServiceRun {
                name: svc.name.clone(),
                record,
                timeline,
                entry: svc.entry,
                dependencies: self.deps[i].clone(),
                faults_ms: self.worlds[i]
                    .faults
                    .iter()
                    .map(|w| (w.start_ms, w.end_ms))
                    .collect(),
            });
        }
        let rule = StormRule {
            services: system.storm_services,
            window_ms: system.storm_window_ms,
        };
        if let Some(w) = &mut whole {
            // In time order; at one instant, in service order (a stable sort).
            w.events.sort_by(|a, b| a.t_s.total_cmp(&b.t_s));
        }
        Finished {
            records: score(runs, rule, self.faults),
            trace: whole,
            promoted_ms,
        }
    }
}
