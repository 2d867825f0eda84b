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
use crate::model::system::{demand_into, upstream, CallMemo};
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
    let Some(system) = p.scenario.system.as_deref() else {
        return Vec::new();
    };
    let worlds = worlds(system, world, None);
    let policies = p.scenario.policies.len();
    let mut out = Vec::with_capacity(policies * (system.services.len() + 1));
    let prefix = Prefix::new(p, system, &worlds, Record::Nothing);
    for k in 0..policies {
        out.extend(
            one_policy(
                p,
                system,
                world,
                &worlds,
                k,
                Record::Nothing,
                None,
                Some(&prefix),
            )
            .0,
        );
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
    let Some(system) = p.scenario.system.as_deref() else {
        return (Vec::new(), Vec::new());
    };
    let worlds = worlds(system, world, None);
    let policies = p.scenario.policies.len();
    let mut out = Vec::with_capacity(policies * (system.services.len() + 1));
    let prefix = Prefix::new(p, system, &worlds, Record::Events);
    let mut events = Vec::with_capacity(policies);
    for k in 0..policies {
        let (records, trace, _) = one_policy(
            p,
            system,
            world,
            &worlds,
            k,
            Record::Events,
            None,
            Some(&prefix),
        );
        out.extend(records);
        events.push(trace.map(|t| t.events).unwrap_or_default());
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
    let Some(system) = p.scenario.system.as_deref() else {
        return (Vec::new(), None);
    };
    if k >= p.scenario.policies.len() || service >= system.services.len() {
        return (Vec::new(), None);
    }
    let worlds = worlds(system, world, Some((service, bad)));
    let (records, _, promoted) = one_policy(
        p,
        system,
        world,
        &worlds,
        k,
        Record::Nothing,
        Some(service),
        None,
    );
    (records, promoted)
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
    let system = p.scenario.system.as_deref()?;
    if k >= p.scenario.policies.len() {
        return None;
    }
    let worlds = worlds(system, world, None);
    let (records, trace, _) =
        one_policy(p, system, world, &worlds, k, Record::Timeline, None, None);
    Some((records.into_iter().next()?, trace.unwrap_or_default()))
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

/// The replications of policy `k`'s run on every service, started (time 0).
fn replications<'a, 'w>(
    p: &'a Prepared<'a>,
    system: &'a System,
    worlds: &'w [World],
    k: usize,
    record: Record,
    only: Option<usize>,
) -> Vec<Replication<'a, 'w>> {
    // The users' service: its rows are the traced system's rows.
    let users = system.services.iter().position(|s| s.entry).unwrap_or(0);
    let mut reps: Vec<Replication<'_, '_>> = (0..system.services.len())
        .map(|i| {
            let spec = &system.services[i].scenario.policies[k];
            let trace = (record != Record::Nothing).then(|| Trace {
                events_only: record == Record::Events || i != users,
                ..Trace::default()
            });
            let mut r = Replication::new(&p.services[i], &worlds[i], spec, trace, false);
            r.in_system = true;
            r.deploys = only.is_none_or(|o| o == i);
            r
        })
        .collect();
    for r in &mut reps {
        r.start();
    }
    reps
}

/// A system's run stepped to the first instant a policy could act (its first deploy):
/// until then nothing depends on the policy (no release exists, no policy watches, no
/// observation is drawn), so the stretch is simulated once, under the first policy, and
/// every policy's run goes on from a copy of it.
struct Prefix<'a, 'w> {
    reps: Vec<Replication<'a, 'w>>,
    memos: Vec<Vec<CallMemo>>,
    /// The first interval not yet simulated.
    t: u64,
}

impl<'a, 'w> Prefix<'a, 'w> {
    fn new(p: &'a Prepared<'a>, system: &'a System, worlds: &'w [World], record: Record) -> Self {
        let mut reps = replications(p, system, worlds, 0, record, None);
        let mut memos = memos(system);
        let first_deploy = system
            .services
            .iter()
            .map(|s| s.scenario.release.at_ms)
            .min()
            .unwrap_or(0);
        // Interval `t` is simulated with every event up to `t`: those before the deploy.
        let deps = dependencies(system);
        let t = step(p, system, 0, &deps, &mut reps, &mut memos, 0, first_deploy);
        Prefix { reps, memos, t }
    }
}

/// Each service's dependencies, direct or not (see `System::dependencies`).
fn dependencies(system: &System) -> Vec<Vec<usize>> {
    (0..system.services.len())
        .map(|i| system.dependencies(i))
        .collect()
}

/// One memo per call (caller, call), kept from interval to interval.
fn memos(system: &System) -> Vec<Vec<CallMemo>> {
    system
        .services
        .iter()
        .map(|s| vec![CallMemo::default(); s.calls.len()])
        .collect()
}

/// Steps every service of policy `k`'s run interval by interval from the interval at
/// `from` while intervals start before `until` (and the horizon); returns the first
/// interval not simulated.
#[allow(clippy::too_many_arguments)]
fn step(
    p: &Prepared<'_>,
    system: &System,
    k: usize,
    deps: &[Vec<usize>],
    reps: &mut [Replication<'_, '_>],
    memos: &mut [Vec<CallMemo>],
    from: u64,
    until: u64,
) -> u64 {
    let s = p.scenario;
    let dt = s.scrape_interval_ms;
    let retried = system
        .services
        .iter()
        .any(|s| s.calls.iter().any(|c| c.retries > 0));
    let mut rates = Vec::with_capacity(reps.len());
    let mut t = from;
    while t < s.duration_ms && t < until {
        if retried {
            // Each retry is another request at the callee: its rate follows its callers'
            // attempts, each failing as the callee did in the interval before (a retry
            // answers a failure already seen).
            demand_into(system, &mut rates, |i, j, c| {
                if c.retries == 0 {
                    return 1.0; // `expected_attempts(q, 0)`, whatever `q` is
                }
                let model = &p.services[c.callee].model;
                memos[i][j].attempt(&reps[c.callee].last, model, c).attempts
            });
            for (r, (rate, svc)) in reps.iter_mut().zip(rates.iter().zip(&system.services)) {
                r.services[0].set_load(rate / svc.scenario.service.request_rate);
            }
        }
        for &i in &system.order {
            reps[i].advance(t);
            let svc = &system.services[i];
            if !svc.calls.is_empty() {
                let calls = svc.calls.iter().zip(memos[i].iter_mut()).map(|(c, memo)| {
                    let callee = &reps[c.callee];
                    (c, &callee.last, &p.services[c.callee].model, memo)
                });
                let up = upstream(calls, svc.scenario.service.latency_p50_ms);
                reps[i].services[0].set_upstream(up);
            }
            if let Some(w) = svc.scenario.policies[k].guards.hold_on_dependency_ms {
                let slo = svc.scenario.slo.error_rate;
                let held = deps[i].iter().any(|&d| explains(&reps[d], t, w, slo));
                reps[i].response.held = held;
            }
            reps[i].advance(t + 1);
        }
        t += dt;
    }
    t
}

#[allow(clippy::too_many_arguments)]
fn one_policy<'a, 'w>(
    p: &'a Prepared<'a>,
    system: &'a System,
    world: &World,
    worlds: &'w [World],
    k: usize,
    record: Record,
    only: Option<usize>,
    prefix: Option<&Prefix<'a, 'w>>,
) -> (Vec<RunRecord>, Option<Trace>, Option<u64>) {
    let s = p.scenario;
    let n = system.services.len();
    let users = system.services.iter().position(|s| s.entry).unwrap_or(0);
    let mut reps = replications(p, system, worlds, k, record, only);
    let (mut memos, from) = match prefix {
        Some(pre) => {
            for (r, shared) in reps.iter_mut().zip(&pre.reps) {
                r.resume(shared);
            }
            (pre.memos.clone(), pre.t)
        }
        None => (memos(system), 0),
    };
    let deps = dependencies(system);
    step(p, system, k, &deps, &mut reps, &mut memos, from, u64::MAX);
    let mut runs = Vec::with_capacity(n);
    let mut whole: Option<Trace> = (record != Record::Nothing).then(Trace::default);
    let mut promoted = None;
    for (i, mut r) in reps.into_iter().enumerate() {
        r.advance(s.duration_ms);
        let timeline = r.scorer.timeline();
        if only == Some(i) {
            promoted = r.releases.first().and_then(|x| x.promoted_ms);
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
            dependencies: deps[i].clone(),
            faults_ms: worlds[i]
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
    (
        score(runs, rule, world.faults.len() as u32),
        whole,
        promoted,
    )
}
