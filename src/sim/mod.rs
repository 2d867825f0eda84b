//! The engine: one replication of one policy against one run's world.
//!
//! Architecture invariant: no I/O, no wall clock, no unseeded randomness. The output of
//! [`replicate`] is a pure function of (scenario, world, policy, seed).

pub mod command;
mod queue;
mod replication;
pub mod rng;
pub mod trace;
mod world;

pub use queue::{EventQueue, Phase as EventPhase};
pub use replication::{
    replicate, replicate_scripted, replicate_traced, Counters, Live, LiveEnd, LivePage, LiveTick,
    LiveView, Prepared, LATENCY_BUCKETS_S,
};
pub use world::World;
