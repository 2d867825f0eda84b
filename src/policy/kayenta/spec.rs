//! A `kayenta` entry as written ([`Raw`]), checked into a [`KayentaSpec`] with the
//! judge's defaults (`NetflixACAJudge.classifyMetric`).

use crate::check::{at, idx, Checker, Dur, Seg};
use crate::policy::PolicyRule;
use serde::Deserialize;

/// A `kayenta` entry's own keys.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    pub interval: Option<Dur>,
    pub lookback: Option<Dur>,
    pub pass: Option<f64>,
    pub marginal: Option<f64>,
    pub metrics: Option<Vec<KayentaMetric>>,
    pub critical: Option<Vec<KayentaMetric>>,
    pub direction: Option<Direction>,
    pub nan_strategy: Option<NanStrategy>,
    pub allowed_increase: Option<f64>,
    pub allowed_decrease: Option<f64>,
    pub critical_increase: Option<f64>,
    pub critical_decrease: Option<f64>,
}

/// A metric a Kayenta judge compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KayentaMetric {
    /// Errors / requests of each scrape.
    ErrorRate,
    /// The scraped p99 latency of each scrape.
    LatencyP99,
}

/// Which change of a metric fails it (`analysisConfigurations.canary.direction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Increase,
    Decrease,
    Either,
}

/// What happens to a value that is missing (`analysisConfigurations.canary.nanStrategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
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

impl Raw {
    /// Checks scores (marginal <= pass, both 0 to 100), the metric lists and the effect
    /// sizes.
    pub fn check(&self, c: &mut Checker, path: &[Seg]) -> PolicyRule {
        let interval_ms = c.positive(at(path, "interval"), "interval", self.interval, 10 * 60_000);
        let lookback_ms = self
            .lookback
            .map(|d| c.positive(at(path, "lookback"), "lookback", Some(d), 1));
        let mut score = |key: &'static str, v: Option<f64>, default: f64| {
            c.within(at(path, key), key, v, default, (0.0, 100.0))
        };
        let pass = score("pass", self.pass, 75.0);
        let marginal = score("marginal", self.marginal, 50.0);
        if marginal > pass {
            c.fail(
                at(path, "marginal"),
                format!("marginal = {marginal} is above pass = {pass}; expected marginal <= pass"),
            );
        }
        let names = self
            .metrics
            .clone()
            .unwrap_or_else(|| vec![KayentaMetric::ErrorRate, KayentaMetric::LatencyP99]);
        if names.is_empty() {
            c.fail(
                at(path, "metrics"),
                "metrics is empty; expected one or both of \"error_rate\", \"latency_p99\"",
            );
        }
        for (i, m) in names.iter().enumerate() {
            if names[..i].contains(m) {
                c.fail(
                    idx(&at(path, "metrics"), i),
                    "metric listed twice; expected each of \"error_rate\", \"latency_p99\" at most once",
                );
            }
        }
        let critical = self.critical.clone().unwrap_or_default();
        for (i, m) in critical.iter().enumerate() {
            if !names.contains(m) {
                c.fail(
                    idx(&at(path, "critical"), i),
                    "a critical metric must be one of `metrics`",
                );
            }
        }
        let mut ratio =
            |key: &'static str, v: Option<f64>| c.number(at(path, key), key, v, 1.0, 0.0, true);
        let allowed_increase = ratio("allowed_increase", self.allowed_increase);
        let allowed_decrease = ratio("allowed_decrease", self.allowed_decrease);
        let critical_increase = ratio("critical_increase", self.critical_increase);
        let critical_decrease = ratio("critical_decrease", self.critical_decrease);
        let mut metrics: Vec<(KayentaMetric, bool)> = Vec::new();
        for m in names {
            if !metrics.iter().any(|(n, _)| *n == m) {
                metrics.push((m, critical.contains(&m)));
            }
        }
        PolicyRule::Kayenta(KayentaSpec {
            interval_ms,
            lookback_ms,
            pass,
            marginal,
            metrics,
            direction: self.direction.unwrap_or(Direction::Either),
            nan_strategy: self.nan_strategy.unwrap_or(NanStrategy::None),
            allowed_decrease,
            allowed_increase,
            critical_decrease,
            critical_increase,
        })
    }
}
