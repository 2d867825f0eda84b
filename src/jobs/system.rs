//! What an output directory of a system holds beside its runs, for the report: the graph
//! of services and calls (`system.json`) and one traced run's events by service
//! (`service-events.csv`, every policy on the same world).
//!
//! The run shown is the first of the invocation's runs in which any policy rolled back
//! any service (its system row has `rollbacks > 0`), its events recorded while the
//! experiment simulated it (`experiment::Results::events`): a shard picks the first such
//! run of its slice, and `merge` keeps the file of the first shard that has one, which is
//! the run one machine would have picked, so merged output stays byte-identical.

use crate::experiment::RunEvents;
use crate::report::system::{
    GraphCall, GraphService, ServiceEventRow, SystemGraph, EVENTS_FILE, GRAPH_FILE,
};
use crate::report::{rows, OutputDir, ReportError};
use crate::scenario::{Scenario, System};
use crate::sim::trace::TraceEvent;

/// The graph of `system`, as `system.json` holds it.
pub fn graph(system: &System) -> SystemGraph {
    SystemGraph {
        services: system
            .services
            .iter()
            .map(|s| GraphService {
                name: s.name.clone(),
                entry: s.entry,
                zone: s.zone.clone(),
                calls: s
                    .calls
                    .iter()
                    .map(|c| GraphCall {
                        service: system.services[c.callee].name.clone(),
                        fraction: c.fraction,
                        retries: c.retries,
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The events of a system's traced run of `policy` but the traffic steps (`share`), each
/// with its service.
pub fn events_of(events: &[TraceEvent], run: u64, policy: &str) -> Vec<ServiceEventRow> {
    events
        .iter()
        .filter(|e| e.kind != "share")
        .filter_map(|e| {
            Some(ServiceEventRow {
                run,
                policy: policy.to_string(),
                service: e.service.clone()?,
                t_s: e.t_s,
                kind: e.kind.to_string(),
                detail: e.detail.clone(),
            })
        })
        .collect()
}

/// Writes `system.json`, the graph of `system`.
pub fn write_graph(dir: &OutputDir, system: &System) -> Result<(), ReportError> {
    let json = serde_json::to_vec_pretty(&graph(system)).map_err(|e| ReportError::Write {
        path: dir.path().join(GRAPH_FILE).display().to_string(),
        source: std::io::Error::other(e),
    })?;
    dir.write(GRAPH_FILE, &json)?;
    Ok(())
}

/// Writes `system.json` and, when `events` are given, `service-events.csv` of their run
/// (every policy's [`events_of`], policy after policy); nothing when `scenario` is not a
/// system.
pub fn write(
    dir: &OutputDir,
    scenario: &Scenario,
    events: Option<&RunEvents>,
) -> Result<(), ReportError> {
    let Some(system) = scenario.system.as_deref() else {
        return Ok(());
    };
    write_graph(dir, system)?;
    if let Some(e) = events {
        let lines: Vec<ServiceEventRow> = scenario
            .policies
            .iter()
            .zip(&e.policies)
            .flat_map(|(p, events)| events_of(events, e.run, &p.name))
            .collect();
        rows::write(dir, EVENTS_FILE, &lines)?;
    }
    Ok(())
}
