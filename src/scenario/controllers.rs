//! Checked parameters of the policies that model real rollout controllers (Argo Rollouts
//! analysis, Flagger, SLO burn-rate alerts, the ECS deployment circuit breaker, Kayenta).
//! Each struct holds values after defaults and range checks; the semantics are documented
//! on the policy that runs it (`crate::policy::*`).

/// What an Argo Rollouts policy does when its AnalysisRun ends Inconclusive.
///
/// In Argo Rollouts an Inconclusive run pauses the rollout until a person resumes or aborts
/// it (`rollout/analysis.go`: `PauseReasonInconclusiveAnalysis`); `Pause` models exactly
/// that with the `[human]` model, and the other two say what the person would do at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnInconclusive {
    /// The rollout pauses at its current step and pages the on-call (`[human]`), who
    /// aborts (rollback) or resumes it: what Argo Rollouts does.
    Pause,
    /// No rollback and no further measurement for this deploy: the rollout stays paused,
    /// and the release goes on as the scenario's rollout plan says.
    Hold,
    /// The person aborts: rollback.
    Rollback,
}

/// The checked parameters of an `argo_analysis` policy: one AnalysisRun with one metric per
/// measured signal, sharing the limits.
#[derive(Debug, Clone, PartialEq)]
pub struct ArgoSpec {
    /// `interval`: time between measurements.
    pub interval_ms: u64,
    /// `initialDelay`: time before the first measurement.
    pub initial_delay_ms: u64,
    /// `count`: measurements (errors not counted) after which the metric is Successful;
    /// `None` runs until the analysis is terminated.
    pub count: Option<u64>,
    /// `failureLimit`: -1 disables the check.
    pub failure_limit: i64,
    pub inconclusive_limit: u64,
    pub consecutive_error_limit: u64,
    /// `consecutiveSuccessLimit`: 0 disables it.
    pub consecutive_success_limit: u64,
    /// Conditions on the new version's error ratio over the interval (`result < x`,
    /// `result > x`).
    pub error_rate: Conditions,
    /// Conditions on the new version's p99 latency (ms) over the interval.
    pub latency_p99_ms: Conditions,
    pub on_inconclusive: OnInconclusive,
    /// The policy's rollout has step analyses (`analysis = true` steps): an AnalysisRun
    /// runs at each of those steps and gates it, and none runs in the background.
    pub step_analysis: bool,
}

/// A success condition (`result < below`) and a failure condition (`result > above`);
/// either may be unset.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Conditions {
    pub success_below: Option<f64>,
    pub failure_above: Option<f64>,
}

impl Conditions {
    /// Whether any condition is set, which makes the signal a measured metric.
    pub fn any(&self) -> bool {
        self.success_below.is_some() || self.failure_above.is_some()
    }
}

/// The checked parameters of a `flagger` policy.
#[derive(Debug, Clone, PartialEq)]
pub struct FlaggerSpec {
    /// `analysis.interval`, already clamped to at least 10 s.
    pub interval_ms: u64,
    /// `analysis.threshold`, already raised to 1 when it was <= 0.
    pub threshold: u32,
    /// The metrics' query range (`metrics[].interval`, default "1m").
    pub metric_interval_ms: u64,
    /// `request-success-rate` `thresholdRange.min`, in percent.
    pub request_success_rate_min: Option<f64>,
    /// `request-duration` `thresholdRange.max`, in ms.
    pub request_duration_p99_max_ms: Option<f64>,
}

/// The canary weights Flagger steps through (`pkg/controller/scheduler.go`: `maxWeight`,
/// `nextStepWeight`, `runCanary`), or `None` when it would never shift traffic. The last
/// weight is Flagger's maximum: the next passing check there promotes.
pub fn flagger_weights(
    step_weight: i64,
    step_weights: &[i64],
    max_weight: i64,
) -> Option<Vec<i64>> {
    let total = 100;
    let max = match step_weights.last() {
        Some(last) => total.min(*last),
        None if max_weight > 0 => max_weight,
        None => total,
    };
    let next = |w: i64| -> i64 {
        if step_weight > 0 || step_weights.is_empty() {
            return step_weight;
        }
        let max_step = total - w;
        if max_step == 0 {
            return 1;
        }
        if w == 0 {
            return max_step.min(step_weights[0]);
        }
        for i in 0..step_weights.len() - 1 {
            if step_weights[i] == w {
                return max_step.min(step_weights[i + 1].saturating_sub(w));
            }
        }
        max_step
    };
    let mut w = 0;
    let mut out = Vec::new();
    while w < max && out.len() < 1000 {
        let n = next(w);
        if n <= 0 {
            return None;
        }
        w = w.saturating_add(n).min(total);
        out.push(w);
    }
    (!out.is_empty()).then_some(out)
}

/// Which traffic a burn-rate alert counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Traffic {
    /// Both versions: the service-level SLO alert.
    All,
    /// The new version only.
    New,
}

/// One long/short window pair of a multi-window burn-rate alert.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurnWindow {
    pub long_ms: u64,
    pub short_ms: u64,
    pub burn_rate: f64,
}

/// The Google SRE workbook's recommended windows (table 5-8).
pub const DEFAULT_WINDOWS: [BurnWindow; 3] = [
    BurnWindow {
        long_ms: 3_600_000,
        short_ms: 300_000,
        burn_rate: 14.4,
    },
    BurnWindow {
        long_ms: 6 * 3_600_000,
        short_ms: 1_800_000,
        burn_rate: 6.0,
    },
    BurnWindow {
        long_ms: 72 * 3_600_000,
        short_ms: 6 * 3_600_000,
        burn_rate: 1.0,
    },
];

/// The checked parameters of a `burn_rate` policy.
#[derive(Debug, Clone, PartialEq)]
pub struct BurnRateSpec {
    /// The SLO target, e.g. 0.999.
    pub slo: f64,
    pub windows: Vec<BurnWindow>,
    pub traffic: Traffic,
    /// The scenario's scrape interval: the span each scrape covers.
    pub scrape_interval_ms: u64,
}

/// The checked parameters of an `ecs_circuit_breaker` policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EcsSpec {
    /// The service's desired count (`service.replicas`).
    pub desired_count: u32,
    /// `resetOnHealthyTask`: a healthy task resets the failure count (consecutive model).
    pub reset_on_healthy_task: bool,
}

/// A metric a Kayenta judge compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KayentaMetric {
    /// Errors / requests of each scrape.
    ErrorRate,
    /// The scraped p99 latency of each scrape.
    LatencyP99,
}

/// Which change of a metric fails it (`analysisConfigurations.canary.direction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Increase,
    Decrease,
    Either,
}

/// What happens to a value that is missing (`analysisConfigurations.canary.nanStrategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NanStrategy {
    /// Replace it by 0 (the judge's default).
    None,
    /// Drop it; a metric left with no values is Nodata.
    Remove,
}

/// The checked parameters of a `kayenta` policy.
#[derive(Debug, Clone, PartialEq)]
pub struct KayentaSpec {
    /// Time between judgements (`analysisIntervalMins`).
    pub interval_ms: u64,
    /// `lookbackMins`: each judgement covers only this much; `None` is the growing window
    /// from the start of the analysis.
    pub lookback_ms: Option<u64>,
    /// Score thresholds (`scoreThresholds.pass`, `.marginal`).
    pub pass: f64,
    pub marginal: f64,
    /// Each metric with whether it is critical.
    pub metrics: Vec<(KayentaMetric, bool)>,
    pub direction: Direction,
    pub nan_strategy: NanStrategy,
    /// `effectSize.allowedDecrease`, `.allowedIncrease` (mean ratio).
    pub allowed_decrease: f64,
    pub allowed_increase: f64,
    /// `effectSize.criticalDecrease`, `.criticalIncrease` (mean ratio).
    pub critical_decrease: f64,
    pub critical_increase: f64,
}
