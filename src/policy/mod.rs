//! Rollback policies: plain data plus a small trait. A policy sees only observations
//! (scrapes, health-check results), never the truth, and answers with a [`Decision`].
//!
//! Each kind has one home, its module: the keys it takes as written (`Raw`, serde), their
//! checks and messages (`Raw::check`), its checked parameters (`...Spec`) and its
//! behaviour (a [`Policy`]). [`kind`] ties them to the `kind = "..."` of a scenario.
//!
//! Architecture invariant: nothing here does I/O or reads the clock; time arrives with the
//! observations. The `oracle` bound is the one exception to "observations only", and it is
//! therefore not a [`Policy`]: the engine schedules its rollback from the ground truth.
//! Imports: `crate::check` (the checker and the checked values the scenario shares) and
//! `policy::*`; the scenario imports this module, never the other way round.

pub mod argo;
pub mod burn_rate;
pub mod consecutive;
pub mod ecs;
pub mod flagger;
pub mod human;
pub mod kayenta;
pub mod kind;
pub mod oracle;
pub mod rule;
pub mod sequential;
pub mod threshold;
mod window;

pub use argo::ArgoAnalysis;
pub use burn_rate::BurnRate;
pub use consecutive::Consecutive;
pub use ecs::EcsCircuitBreaker;
pub use flagger::Flagger;
pub use kayenta::Kayenta;
pub use rule::{Guards, PolicyRule, PolicySpec};
pub use sequential::Sequential;
pub use threshold::Threshold;

/// What one scrape of one version showed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VersionSample {
    pub requests: u64,
    pub errors: u64,
    /// Scraped p99 latency; `None` when the version served no request in the interval.
    pub latency_p99_ms: Option<f64>,
    /// Its gauges at the scrape (read whether or not it served a request).
    pub gauges: Gauges,
}

/// The gauge readings of one version at one scrape: levels, not counts, so a gauge reads
/// at zero traffic too. `None` where nothing was read: a recording without the series, or
/// a simulation whose policies read no gauge (nothing is drawn for them then).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Gauges {
    /// CPU busy, as a share of the version's cores, in [0, 1].
    pub cpu: Option<f64>,
    /// Utilisation: the demand over the capacity (above 1 when overloaded).
    pub saturation: Option<f64>,
    /// Requests waiting, per replica.
    pub queue_length: Option<f64>,
}

/// One of the [`Gauges`], for a rule that reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gauge {
    Cpu,
    Saturation,
    QueueLength,
}

impl Gauge {
    /// This gauge's reading in `g`.
    #[inline]
    pub fn of(self, g: &Gauges) -> Option<f64> {
        match self {
            Gauge::Cpu => g.cpu,
            Gauge::Saturation => g.saturation,
            Gauge::QueueLength => g.queue_length,
        }
    }

    /// The name of its series in a recording (`cpu`, `saturation`, `queue_length`).
    pub fn series(self) -> &'static str {
        match self {
            Gauge::Cpu => "cpu",
            Gauge::Saturation => "saturation",
            Gauge::QueueLength => "queue_length",
        }
    }
}

/// One scrape as a policy receives it (after the metric delay).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scrape {
    /// End of the scraped interval.
    pub at_ms: u64,
    /// The new version's sample; `None` when the scrape was lost.
    pub new: Option<VersionSample>,
    /// The old (stable) version's sample; `None` when the scrape was lost.
    pub old: Option<VersionSample>,
}

/// A policy's answer to an observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Continue,
    Rollback,
    /// Stop the rollout where it is and ask a human to abort or resume (Argo Rollouts'
    /// answer to an Inconclusive analysis).
    Pause,
    /// The rollout's current step passed its check: a gated step may go on to the next
    /// (a successful step AnalysisRun, a passing Flagger check interval).
    Advance,
}

/// Which observations a policy consumes, so the engine generates only those.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Needs {
    pub scrapes: bool,
    pub latency: bool,
    pub health_checks: bool,
    /// The versions' gauges (CPU, saturation, queue length) with each scrape.
    pub gauges: bool,
}

/// A rollback policy driven by observations.
pub trait Policy: Send {
    /// The observations this policy reads.
    fn needs(&self) -> Needs;
    /// Forgets everything: a new deploy of the release starts.
    fn reset(&mut self);
    /// Called with every scrape while the policy watches.
    fn on_scrape(&mut self, _scrape: &Scrape) -> Decision {
        Decision::Continue
    }
    /// Called with every health check of the new version while the policy watches.
    fn on_health_check(&mut self, _at_ms: u64, _ok: bool) -> Decision {
        Decision::Continue
    }
    /// Whether every rollout step but the last waits for this policy's
    /// [`Decision::Advance`] (Flagger moves the weight only after a passing check); the
    /// engine then leaves a step on the first `Advance` after its hold.
    fn gates_every_step(&self) -> bool {
        false
    }
    /// Whether this policy's [`Decision::Advance`] also passes a step that has no gate of
    /// its own before its hold ends: a judge that has seen enough evidence need not wait
    /// out the pause (the sequential judge's `promote_early`). The engine then leaves the
    /// step at once; a step analysis or a person's approval is never skipped.
    fn passes_steps_early(&self) -> bool {
        false
    }
    /// The rollout reached a step; `gate_at_ms` is when the step's analysis gate opens
    /// (its hold ended), `None` when the step has no analysis gate.
    fn on_step(&mut self, _gate_at_ms: Option<u64>) {}
}

/// A policy that never decides anything (`none`, and `oracle`, which the engine drives).
#[derive(Debug, Default)]
pub struct Passive;

impl Policy for Passive {
    fn needs(&self) -> Needs {
        Needs::default()
    }
    fn reset(&mut self) {}
}

/// Builds the runtime policy of a spec.
pub fn build(spec: &PolicySpec) -> Box<dyn Policy> {
    match spec.rule {
        PolicyRule::None | PolicyRule::Oracle { .. } => Box::new(Passive),
        PolicyRule::Threshold(s) => Box::new(Threshold::from_spec(s)),
        PolicyRule::Consecutive { failures } => Box::new(Consecutive::new(failures)),
        PolicyRule::ArgoAnalysis(ref s) => Box::new(ArgoAnalysis::new(s.clone())),
        PolicyRule::Flagger(ref s) => Box::new(Flagger::new(s.clone())),
        PolicyRule::BurnRate(ref s) => Box::new(BurnRate::new(s.clone())),
        PolicyRule::EcsCircuitBreaker(s) => Box::new(EcsCircuitBreaker::new(s)),
        PolicyRule::Kayenta(ref s) => Box::new(Kayenta::new(s.clone())),
        PolicyRule::Sequential(ref s) => Box::new(Sequential::new(s.clone())),
    }
}
