//! The engine and its kernel: one replication of one policy against one run's world.
//!
//! The kernel every stage may use: `queue` (events by time, phase, sequence), `rng` (named
//! streams and the sampling helpers), `agenda` (the events and timeline notes stages hand
//! back), `trace`, `command` and `world`. The engine itself (`engine`: queue and dispatch)
//! is private; the entry points below are its only doors.
//!
//! Architecture invariant: no I/O, no wall clock, no unseeded randomness. The output of
//! [`replicate`] is a pure function of (scenario, world, policy, seed).

pub mod agenda;
pub mod command;
mod engine;
mod queue;
pub mod rng;
pub mod trace;
pub mod train;
mod world;

pub use crate::response::team::LivePage;
pub use crate::signals::exposition::{Counters, LiveTick, LATENCY_BUCKETS_S};
pub use engine::{
    replicate, replicate_promoted, replicate_scripted, replicate_system, replicate_system_events,
    replicate_system_release, replicate_system_traced, replicate_traced, Live, LiveEnd, LiveView,
    Prepared,
};
pub use queue::{EventQueue, Phase as EventPhase};
pub use world::World;
