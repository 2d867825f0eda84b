//! What a report needs of a system of services beyond its summary: the graph of services
//! and calls (`system.json`) and one run's events by service (`service-events.csv`).
//!
//! `report` may not import the scenario (see ARCHITECTURE.md, "Import rules"), so the
//! structure reaches it as data written beside `runs.csv`: `jobs` builds these rows from
//! the checked scenario and the traced run, the report reads them back like any other
//! file of an output directory.

use serde::{Deserialize, Serialize};

/// The file holding the graph of a system's services.
pub const GRAPH_FILE: &str = "system.json";

/// The file holding one run's events by service.
pub const EVENTS_FILE: &str = "service-events.csv";

/// A system's services and calls, as `system.json` holds them: enough to draw the graph.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SystemGraph {
    /// In the scenario's order (a `count` expanded to its copies).
    pub services: Vec<GraphService>,
}

/// One service of [`SystemGraph`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphService {
    pub name: String,
    /// Users call it.
    #[serde(default)]
    pub entry: bool,
    /// Its shared infrastructure, if any.
    #[serde(default)]
    pub zone: Option<String>,
    #[serde(default)]
    pub calls: Vec<GraphCall>,
}

/// One call of a [`GraphService`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphCall {
    /// The callee's name.
    pub service: String,
    /// Share of the caller's requests that call it.
    pub fraction: f64,
    /// Further attempts after a failed call.
    #[serde(default)]
    pub retries: u32,
}

impl SystemGraph {
    /// The graph of the services named in `keep` alone, in the file's order, with the
    /// calls between them: a fleet's graph drawn for the services its report details.
    pub fn restricted(&self, keep: &[String]) -> SystemGraph {
        let kept = |name: &str| keep.iter().any(|k| k == name);
        SystemGraph {
            services: self
                .services
                .iter()
                .filter(|s| kept(&s.name))
                .map(|s| GraphService {
                    calls: s
                        .calls
                        .iter()
                        .filter(|c| kept(&c.service))
                        .cloned()
                        .collect(),
                    ..s.clone()
                })
                .collect(),
        }
    }

    /// Each service's column in a drawing of the graph: 0 for services no one calls, else
    /// one more than the deepest of its callers (the longest call chain that reaches it).
    /// Calls naming no service are ignored; an edited file with a cycle stops deepening
    /// after as many rounds as there are services.
    pub fn depths(&self) -> Vec<usize> {
        let n = self.services.len();
        let index = |name: &str| self.services.iter().position(|s| s.name == name);
        let edges: Vec<(usize, usize)> = self
            .services
            .iter()
            .enumerate()
            .flat_map(|(i, s)| {
                s.calls
                    .iter()
                    .filter_map(move |c| Some((i, index(&c.service)?)))
            })
            .collect();
        let mut depth = vec![0usize; n];
        for _ in 0..n {
            let mut moved = false;
            for &(a, b) in &edges {
                if depth[b] < depth[a] + 1 {
                    depth[b] = depth[a] + 1;
                    moved = true;
                }
            }
            if !moved {
                break;
            }
        }
        depth
    }
}

/// One event of one service in one traced run of one policy: a row of
/// `service-events.csv` (deploys, rollbacks, faults starting and ending, held decisions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceEventRow {
    pub run: u64,
    pub policy: String,
    pub service: String,
    pub t_s: f64,
    /// The event's kind, as `events.csv` names it (`deploy`, `rollback`, `fault_start`, ...).
    pub kind: String,
    #[serde(default)]
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(name: &str, calls: &[&str]) -> GraphService {
        GraphService {
            name: name.into(),
            entry: false,
            zone: None,
            calls: calls
                .iter()
                .map(|c| GraphCall {
                    service: (*c).into(),
                    fraction: 1.0,
                    retries: 0,
                })
                .collect(),
        }
    }

    #[test]
    fn a_service_sits_one_column_right_of_its_deepest_caller() {
        // a -> b -> c, a -> c, d alone; a call to an unknown name is ignored.
        let g = SystemGraph {
            services: vec![
                svc("c", &[]),
                svc("a", &["b", "c", "zzz"]),
                svc("b", &["c"]),
                svc("d", &[]),
            ],
        };
        assert_eq!(g.depths(), vec![2, 0, 1, 0]);
    }

    #[test]
    fn a_restricted_graph_keeps_the_named_services_and_the_calls_between_them() {
        let g = SystemGraph {
            services: vec![svc("a", &["b", "c"]), svc("b", &["c"]), svc("c", &[])],
        };
        let r = g.restricted(&["c".into(), "a".into()]);
        assert_eq!(r.services, vec![svc("a", &["c"]), svc("c", &[])]);
        assert_eq!(r.depths(), vec![0, 1]);
    }

    #[test]
    fn a_cycle_in_an_edited_file_still_ends() {
        let g = SystemGraph {
            services: vec![svc("a", &["b"]), svc("b", &["a"])],
        };
        assert_eq!(g.depths().len(), 2);
    }
}
