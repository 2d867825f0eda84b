//! `[[services]]`, `[system]` and the fault keys `services` / `zone`: a scenario as a
//! system of services that call each other, share infrastructure and deploy in waves.
//!
//! Each `[[services]]` entry is today's single service with its own keys: the `[service]`
//! keys at the entry's top level (`request_rate`, `latency_p50`, `replicas`, ...), and its
//! own `release`, `rollout`, `health_check` and `data` tables. What an entry leaves out it
//! takes from the file's `[service]`, `[release]`, ... sections, so those act as the
//! template every service shares: key by key for the service, `release` and
//! `health_check` (`release.bad` as a whole), whole tables for `rollout` and `data`. Each service is checked as the single-service scenario
//! it is (the same checks, the same messages), at the entry's own `file:line:col`.
//!
//! A file with no `[[services]]` is today's single service, untouched ([`Scenario::system`]
//! is `None`), so its results stay byte-identical.

use super::check::{at, idx, Checker, Path};
use super::policies::RawPolicy;
use super::raw::{
    with_service_keys, Dur, RawData, RawHealthCheck, RawRelease, RawRollout, RawScenario,
    RawService,
};
use super::span::{Problem, Seg};
use super::suggest::hint;
use super::Scenario;
use serde::Deserialize;
use std::collections::HashMap;

with_service_keys! {
    /// One `[[services]]` entry as written: its own keys, then the `[service]` keys, then
    /// its own tables.
    #[derive(Debug, Clone, Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    pub struct RawSystemService {
        pub name: Option<String>,
        /// This many copies, named `name-01`, `name-02`, ... (a fleet or a deploy wave).
        pub count: Option<i64>,
        /// Whether users call it (default: when no other service calls it).
        pub entry: Option<bool>,
        /// The shared infrastructure it runs in (faults may name it).
        pub zone: Option<String>,
        #[serde(default)]
        pub calls: Vec<RawCall>,
    } {
        pub release: Option<RawRelease>,
        pub rollout: Option<RawRollout>,
        pub health_check: Option<RawHealthCheck>,
        pub data: Option<RawData>,
    }
}

/// One call edge as written: `{ service = "payments", fraction = 0.6 }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCall {
    pub service: String,
    pub fraction: Option<f64>,
    pub retries: Option<i64>,
    pub timeout: Option<Dur>,
}

/// `[system]` as written.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSystem {
    /// At least this many services rolled back within `storm_window` is a rollback storm.
    pub storm_services: Option<i64>,
    pub storm_window: Option<Dur>,
    /// A deploy wave: services without their own `release.at` deploy one after another.
    pub wave: Option<RawWave>,
}

/// `[system.wave]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWave {
    pub at: Dur,
    pub window: Dur,
}

/// A checked system of services.
#[derive(Debug, Clone, PartialEq)]
pub struct System {
    pub services: Vec<SystemService>,
    /// Service indices with every callee before its callers (the engine's tick order).
    pub order: Vec<usize>,
    /// For each fault of the scenario (by index), the services it hits.
    pub fault_targets: Vec<Vec<usize>>,
    /// A rollback storm: at least `storm_services` services rolled back within
    /// `storm_window_ms`.
    pub storm_services: u32,
    pub storm_window_ms: u64,
}

/// One service of a system.
#[derive(Debug, Clone, PartialEq)]
pub struct SystemService {
    pub name: String,
    /// The service as the single-service scenario it is: its traffic (its users' plus its
    /// callers'), release, rollout, health check, data and the policies checked against
    /// them. Its `system` is `None`.
    pub scenario: Scenario,
    pub calls: Vec<Call>,
    /// Users call it: its failed requests are the users' failed requests.
    pub entry: bool,
    /// Requests per second from its users (its `request_rate` is these plus its callers'
    /// calls).
    pub users: f64,
    pub zone: Option<String>,
}

/// A checked call edge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Call {
    /// The callee's index in [`System::services`].
    pub callee: usize,
    /// Share of the caller's requests that call the callee.
    pub fraction: f64,
    /// Further attempts after a failed call (independent tries).
    pub retries: u32,
    /// A call slower than this fails (the client gives up); `None`: no timeout.
    pub timeout_ms: Option<u64>,
}

impl System {
    /// Every service `s` depends on, directly or through other services (not `s`).
    pub fn dependencies(&self, s: usize) -> Vec<usize> {
        let mut seen = vec![false; self.services.len()];
        let mut stack: Vec<usize> = self.services[s].calls.iter().map(|c| c.callee).collect();
        while let Some(c) = stack.pop() {
            if !seen[c] {
                seen[c] = true;
                stack.extend(self.services[c].calls.iter().map(|c| c.callee));
            }
        }
        (0..seen.len()).filter(|&i| seen[i]).collect()
    }
}

/// Whether `raw` describes a system (services, `[system]`, or faults naming services).
pub(super) fn is_system(raw: &RawScenario) -> bool {
    !raw.services.is_empty()
        || raw.system.is_some()
        || raw
            .faults
            .iter()
            .any(|f| f.services.is_some() || f.zone.is_some())
}

/// An entry after `count` is expanded: its name and the entry it came from.
struct Named<'r> {
    name: String,
    entry: usize,
    raw: &'r RawSystemService,
    /// Position in the file's services (the deploy wave's order).
    rank: usize,
}

fn expand<'r>(c: &mut Checker, entries: &'r [RawSystemService], most: u64) -> Vec<Named<'r>> {
    let root: Path = vec![Seg::Key("services")];
    // Each entry's copies first: a system over `most` services is refused before a name is
    // made (a million copies would be a million checked scenarios).
    let mut total = 0u64;
    let mut counts = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let path = idx(&root, i);
        let count = c.int(at(&path, "count"), "count", e.count, 1, 1, 10_000);
        total = total.saturating_add(count as u64);
        counts.push(count);
        if total > most {
            let all: u64 = entries
                .iter()
                .map(|e| e.count.map_or(1, |n| n.clamp(1, 10_000) as u64))
                .sum();
            let key = if e.count.is_some() {
                at(&path, "count")
            } else {
                path
            };
            c.fail(
                key,
                format!(
                    "the system has {all} services (each entry's `count` copies), over the \
                     limit of {most} services; {}",
                    super::limits::raise("services", all)
                ),
            );
            return Vec::new();
        }
    }
    let mut out = Vec::new();
    for ((i, e), count) in entries.iter().enumerate().zip(counts) {
        let path = idx(&root, i);
        let Some(name) = e.name.clone().filter(|n| !n.trim().is_empty()) else {
            c.fail(path, "a service needs a `name` (e.g. name = \"payments\")");
            continue;
        };
        let width = count.to_string().len();
        for k in 1..=count {
            let name = if e.count.is_some() {
                format!("{name}-{k:0width$}")
            } else {
                name.clone()
            };
            let rank = out.len();
            out.push(Named {
                name,
                entry: i,
                raw: e,
                rank,
            });
        }
    }
    out
}

/// The services, their calls and the faults' targets of `raw`, attached to the checked
/// single-service `base` as [`Scenario::system`]; `base` unchanged when the file has no
/// `[[services]]`.
pub(super) fn attach(
    mut base: Scenario,
    raw: &RawScenario,
    raw_policies: &[RawPolicy],
) -> Result<Scenario, Vec<Problem>> {
    let mut c = Checker::default();
    let entries = &raw.services;
    if entries.is_empty() {
        if raw.system.is_some() {
            c.fail(
                vec![Seg::Key("system")],
                "[system] applies to a system of services: add [[services]] entries",
            );
        }
        for (k, f) in raw.faults.iter().enumerate() {
            let path = idx(&[Seg::Key("faults")], k);
            if f.services.is_some() || f.zone.is_some() {
                let key = if f.services.is_some() {
                    "services"
                } else {
                    "zone"
                };
                c.fail(
                    at(&path, key),
                    "a fault names services or a zone only in a system: add [[services]] entries",
                );
            }
        }
        return if c.is_clean() {
            Ok(base)
        } else {
            Err(c.into_problems())
        };
    }
    let most = super::limits::Limits::of(raw.limits.as_ref()).services;
    let named = expand(&mut c, entries, most);
    if !c.is_clean() {
        return Err(c.into_problems());
    }
    let root: Path = vec![Seg::Key("services")];
    let names: Vec<&str> = named.iter().map(|n| n.name.as_str()).collect();
    // Each name's index (the first, when a name is used twice: that is refused below).
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(names.len());
    for (i, n) in named.iter().enumerate() {
        if index.insert(n.name.as_str(), i).is_some() {
            c.fail(
                at(&idx(&root, n.entry), "name"),
                format!(
                    "service name {:?} is used twice; expected unique names",
                    n.name
                ),
            );
        }
    }
    for (i, n) in named.iter().enumerate() {
        // Once per entry: its copies share its name and zone as written.
        if i > 0 && named[i - 1].entry == n.entry {
            continue;
        }
        let entry = idx(&root, n.entry);
        if let Some(why) = super::limits::bad_service_name(&n.name) {
            c.fail(at(&entry, "name"), format!("a service's name {why}"));
        }
        // A zone is shown as a service's name is (the service graph chart).
        if let Some(why) = n.raw.zone.as_deref().and_then(super::limits::bad_zone) {
            c.fail(at(&entry, "zone"), format!("a service's zone {why}"));
        }
    }
    let index = |name: &str| -> Option<usize> {
        let i = *index.get(name)?;
        Some(i)
    };

    // Calls: every callee known, fractions in (0, 1].
    let mut calls: Vec<Vec<Call>> = Vec::with_capacity(named.len());
    for n in &named {
        let path = at(&idx(&root, n.entry), "calls");
        let mut out = Vec::new();
        for (j, call) in n.raw.calls.iter().enumerate() {
            let p = idx(&path, j);
            let Some(callee) = index(&call.service) else {
                c.fail(
                    at(&p, "service"),
                    format!(
                        "calls unknown service {:?}; expected one of the [[services]] names{}",
                        call.service,
                        hint(&call.service, names.iter().copied())
                    ),
                );
                continue;
            };
            let fraction = c.prob(at(&p, "fraction"), "fraction", call.fraction, 1.0);
            if fraction == 0.0 {
                c.fail(
                    at(&p, "fraction"),
                    "fraction = 0 calls nothing; expected a share of requests in (0, 1]",
                );
            }
            let retries = c.int(at(&p, "retries"), "retries", call.retries, 0, 0, 10) as u32;
            let timeout_ms = call
                .timeout
                .map(|d| c.positive(at(&p, "timeout"), "timeout", Some(d), 1));
            out.push(Call {
                callee,
                fraction,
                retries,
                timeout_ms,
            });
        }
        calls.push(out);
    }
    let order = match topological(&calls) {
        Ok(order) => order,
        Err(cycle) => {
            let first = &named[cycle[0]];
            let callee = &named[cycle[1 % cycle.len()]].name;
            let j = first
                .raw
                .calls
                .iter()
                .position(|x| &x.service == callee)
                .unwrap_or(0);
            let shown: Vec<&str> = cycle
                .iter()
                .chain(cycle.first())
                .map(|&i| named[i].name.as_str())
                .collect();
            c.fail(
                idx(&at(&idx(&root, first.entry), "calls"), j),
                format!(
                    "calls form a cycle ({}); expected calls that never lead back to the caller",
                    shown.join(" -> ")
                ),
            );
            Vec::new()
        }
    };
    if !c.is_clean() {
        return Err(c.into_problems());
    }

    // [system]
    let sys = raw.system.clone().unwrap_or_default();
    let sp: Path = vec![Seg::Key("system")];
    let storm_services = c.int(
        at(&sp, "storm_services"),
        "storm_services",
        sys.storm_services,
        3,
        1,
        100_000,
    ) as u32;
    let storm_window_ms = c.positive(
        at(&sp, "storm_window"),
        "storm_window",
        sys.storm_window,
        10 * 60_000,
    );

    // Traffic: each service's users plus its callers' calls, callers first.
    let mut called = vec![false; named.len()];
    for call in calls.iter().flatten() {
        called[call.callee] = true;
    }
    let mut rate = vec![0.0; named.len()];
    let mut users_rate = vec![0.0; named.len()];
    let entry: Vec<bool> = named
        .iter()
        .zip(&called)
        .map(|(n, &called)| n.raw.entry.unwrap_or(!called))
        .collect();
    for &i in order.iter().rev() {
        let n = &named[i];
        let users = match (n.raw.request_rate, entry[i]) {
            (Some(r), _) => r,
            (None, true) => raw.service.request_rate.unwrap_or(50.0),
            (None, false) => 0.0,
        };
        users_rate[i] = users;
        rate[i] += users;
        for call in &calls[i] {
            rate[call.callee] += call.fraction * rate[i];
        }
    }

    // Each service, checked as its own single-service scenario.
    let mut services = Vec::with_capacity(named.len());
    let mut relocated: Vec<Problem> = Vec::new();
    // What every service's own scenario starts from: the file without its services (a
    // copy of every entry per service made checking quadratic in the services).
    let mut template = RawScenario {
        services: Vec::new(),
        ..raw.clone()
    };
    template.system = None;
    // A service of a train is one release of it at a time: the train is the system's.
    template.train = None;
    for f in &mut template.faults {
        f.services = None;
        f.zone = None;
    }
    for (i, n) in named.iter().enumerate() {
        let mut one = template.clone();
        let e = n.raw;
        one.service = RawService {
            name: Some(n.name.clone()),
            request_rate: Some(rate[i]),
            ..e.service_over(&raw.service)
        };
        if let Some(r) = &e.release {
            let t = &raw.release;
            one.release = RawRelease {
                at: r.at.or(t.at),
                bad_probability: r.bad_probability.or(t.bad_probability),
                bake: r.bake.or(t.bake),
                bad: r.bad.clone().or_else(|| t.bad.clone()),
            };
        }
        if let (Some(w), None) = (&sys.wave, e.release.as_ref().and_then(|r| r.at)) {
            let k = n.rank as u64;
            one.release.at = Some(Dur(w.at.0 + w.window.0 * k / named.len() as u64));
        }
        if let Some(r) = &e.rollout {
            one.rollout = r.clone();
        }
        if let Some(h) = &e.health_check {
            let t = &raw.health_check;
            one.health_check = RawHealthCheck {
                interval: h.interval.or(t.interval),
                timeout: h.timeout.or(t.timeout),
                false_failure_probability: h
                    .false_failure_probability
                    .or(t.false_failure_probability),
            };
        }
        if e.data.is_some() {
            one.data = e.data.clone();
        }
        match super::validate::validate(one, raw_policies) {
            Ok(s) => services.push(SystemService {
                name: n.name.clone(),
                scenario: s,
                calls: calls[i].clone(),
                entry: entry[i],
                users: users_rate[i],
                zone: e.zone.clone(),
            }),
            Err(problems) => {
                for p in problems {
                    if let Some(p) = relocate(p, n, &root) {
                        if !relocated.contains(&p) {
                            relocated.push(p);
                        }
                    }
                }
            }
        }
    }

    for p in relocated {
        c.push(p);
    }

    // Faults: the services or the zone each one hits (every service by default).
    let mut fault_targets = Vec::with_capacity(raw.faults.len());
    let zones: Vec<&str> = named.iter().filter_map(|n| n.raw.zone.as_deref()).collect();
    for (k, f) in raw.faults.iter().enumerate() {
        let path = idx(&[Seg::Key("faults")], k);
        let mut hit = vec![f.services.is_none() && f.zone.is_none(); named.len()];
        for (j, s) in f.services.iter().flatten().enumerate() {
            match index(s) {
                Some(i) => hit[i] = true,
                None => c.fail(
                    idx(&at(&path, "services"), j),
                    format!(
                        "fault names unknown service {s:?}; expected one of the [[services]] names{}",
                        hint(s, names.iter().copied())
                    ),
                ),
            }
        }
        if let Some(z) = &f.zone {
            if !zones.contains(&z.as_str()) {
                c.fail(
                    at(&path, "zone"),
                    format!(
                        "fault names unknown zone {z:?}; expected a `zone` of a [[services]] entry{}",
                        hint(z, zones.iter().copied())
                    ),
                );
            }
            for (i, n) in named.iter().enumerate() {
                if n.raw.zone.as_deref() == Some(z.as_str()) {
                    hit[i] = true;
                }
            }
        }
        fault_targets.push((0..named.len()).filter(|&i| hit[i]).collect());
    }
    // [train]: the services that release in turn; each release's truth is the train's.
    if let Some(train) = base.train.as_deref_mut() {
        train.services = super::train::resolve_services(
            &mut c,
            raw.train.as_ref().and_then(|t| t.services.as_deref()),
            &names,
        );
        for n in &named {
            if n.raw
                .release
                .as_ref()
                .is_some_and(|r| r.bad_probability.is_some())
            {
                c.fail(
                    at(&at(&idx(&root, n.entry), "release"), "bad_probability"),
                    format!(
                        "service {:?}: a train draws each release's truth from train.code_defect_probability and train.config_change_probability; remove release.bad_probability",
                        n.name
                    ),
                );
            }
        }
    }
    if !c.is_clean() {
        return Err(c.into_problems());
    }
    base.system = Some(Box::new(System {
        services,
        order,
        fault_targets,
        storm_services,
        storm_window_ms,
    }));
    Ok(base)
}

/// A problem found checking service `n` as its own scenario, at the entry's keys: the
/// `[service]` keys sit on the entry, its tables under it. Problems of the sections it
/// shares with the file were already reported there (`None`).
fn relocate(p: Problem, n: &Named<'_>, root: &[Seg]) -> Option<Problem> {
    let e = n.raw;
    let mut path = idx(root, n.entry);
    let rest = match p.path.first() {
        Some(Seg::Key("service")) => &p.path[1..],
        Some(Seg::Key("release")) if e.release.is_some() => &p.path[..],
        Some(Seg::Key("rollout")) if e.rollout.is_some() => &p.path[..],
        Some(Seg::Key("health_check")) if e.health_check.is_some() => &p.path[..],
        Some(Seg::Key("data")) if e.data.is_some() => &p.path[..],
        Some(Seg::Key("policies")) => {
            return Some(Problem {
                message: format!("for service {:?}: {}", n.name, p.message),
                path: p.path,
            })
        }
        _ => return None,
    };
    path.extend(rest.iter().cloned());
    let message = format!("service {:?}: {}", n.name, p.message);
    Some(Problem { path, message })
}

/// Service indices with every callee before its callers, or the services of a cycle (in
/// call order) when there is one.
fn topological(calls: &[Vec<Call>]) -> Result<Vec<usize>, Vec<usize>> {
    // 0: unseen, 1: on the current path, 2: done.
    let mut state = vec![0u8; calls.len()];
    let mut order = Vec::with_capacity(calls.len());
    for start in 0..calls.len() {
        if state[start] != 0 {
            continue;
        }
        // An explicit stack of (service, next call to follow): no recursion on deep graphs.
        let mut stack = vec![(start, 0usize)];
        state[start] = 1;
        while let Some(top) = stack.last_mut() {
            let s = top.0;
            if let Some(call) = calls[s].get(top.1) {
                top.1 += 1;
                let c = call.callee;
                match state[c] {
                    0 => {
                        state[c] = 1;
                        stack.push((c, 0));
                    }
                    1 => {
                        let from = stack.iter().position(|&(x, _)| x == c).unwrap_or(0);
                        return Err(stack[from..].iter().map(|&(x, _)| x).collect());
                    }
                    _ => {}
                }
            } else {
                state[s] = 2;
                order.push(s);
                stack.pop();
            }
        }
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(callee: usize) -> Call {
        Call {
            callee,
            fraction: 1.0,
            retries: 0,
            timeout_ms: None,
        }
    }

    #[test]
    fn callees_come_before_their_callers() {
        // 0 -> 1 -> 2, 0 -> 2
        let calls = vec![vec![call(1), call(2)], vec![call(2)], vec![]];
        assert_eq!(topological(&calls), Ok(vec![2, 1, 0]));
    }

    #[test]
    fn a_cycle_is_named_in_call_order() {
        // 0 -> 1 -> 2 -> 1
        let calls = vec![vec![call(1)], vec![call(2)], vec![call(1)]];
        assert_eq!(topological(&calls), Err(vec![1, 2]));
    }
}
