//! rollsim: a rollback simulation and chaos testbed.
//!
//! A discrete-event simulator of a service, its noisy health signals and injected faults.
//! It runs rollback policies against a release many times and measures what each one
//! costs: false-positive rollbacks, missed bad releases, rollback loops, downtime and failed
//! requests. See `ARCHITECTURE.md` for the map of modules and their invariants.
//!
//! Data flows one way:
//! `scenario` (parse + check) → `sim` (one replication per run and policy: the engine
//! dispatches to `model` → `signals` → `policy` → `response` → `outcome`) → `experiment`
//! (many runs in parallel, summarised) → `report` (CSV, JSON, manifest, table). `jobs`
//! runs a whole command (`run`, `sweep`, `merge`, `trace`) as one call and `gameday::run`
//! a game day, so the binary only parses, calls and prints. `check` (the checker and the
//! checked values the scenario and the policy kinds share) sits below both `scenario` and
//! `policy`, so `policy` never imports `scenario`.

pub mod calibrate;
pub mod check;
pub mod experiment;
pub mod export;
pub mod gameday;
pub mod import;
pub mod jobs;
pub mod model;
pub mod outcome;
pub mod policy;
pub mod recorded;
pub mod replay;
pub mod report;
pub mod response;
pub mod scenario;
pub mod signals;
pub mod sim;
