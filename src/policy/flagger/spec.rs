//! A `flagger` entry as written ([`Raw`]): the analysis keys, checked into a
//! [`FlaggerSpec`], and the traffic keys, which build the policy's canary steps the way
//! Flagger's scheduler moves the weight ([`weights`]).

use crate::check::{
    at, idx, CanaryStep, Checker, Dur, Rollout, Seg, StepGate, Strategy, MAX_COUNT,
};
use crate::policy::PolicyRule;
use serde::Deserialize;

/// A `flagger` entry's own keys (Flagger's `analysis` fields in snake case).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    pub interval: Option<Dur>,
    pub threshold: Option<i64>,
    pub metric_interval: Option<Dur>,
    pub request_success_rate_min: Option<f64>,
    pub request_duration_p99_max: Option<Dur>,
    pub step_weight: Option<i64>,
    pub step_weights: Option<Vec<i64>>,
    pub max_weight: Option<i64>,
    pub iterations: Option<i64>,
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
pub fn weights(step_weight: i64, step_weights: &[i64], max_weight: i64) -> Option<Vec<i64>> {
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

/// Flagger's minimum analysis interval (`GetAnalysisInterval`).
const MIN_INTERVAL_MS: u64 = 10_000;

impl Raw {
    /// Checks the analysis keys; the traffic keys, when given, replace the strategy of
    /// `rollout` by the steps Flagger would take (`own_rollout`: the entry has its own
    /// `rollout` table, which is refused beside the traffic keys).
    pub fn check(
        &self,
        c: &mut Checker,
        path: &[Seg],
        own_rollout: bool,
        rollout: &mut Rollout,
    ) -> PolicyRule {
        if let Some(steps) = self.steps(c, path, own_rollout) {
            rollout.strategy = Strategy::Canary { steps };
        }
        // Flagger clamps a short interval to 10 s and turns a threshold <= 0 into 1, silently.
        let interval_ms = self
            .interval
            .map(|d| d.0)
            .unwrap_or(60_000)
            .max(MIN_INTERVAL_MS);
        let threshold = c.signed(
            at(path, "threshold"),
            "threshold",
            self.threshold,
            1,
            (i64::from(i32::MIN), MAX_COUNT),
        );
        let metric_interval_ms = c.positive(
            at(path, "metric_interval"),
            "metric_interval",
            self.metric_interval,
            60_000,
        );
        let request_success_rate_min = self.request_success_rate_min.map(|v| {
            c.within(
                at(path, "request_success_rate_min"),
                "request_success_rate_min (percent)",
                Some(v),
                0.0,
                (0.0, 100.0),
            )
        });
        let request_duration_p99_max_ms = c.latency(
            at(path, "request_duration_p99_max"),
            "request_duration_p99_max",
            self.request_duration_p99_max,
        );
        if request_success_rate_min.is_none() && request_duration_p99_max_ms.is_none() {
            c.fail(
                path.to_vec(),
                "a flagger policy needs a metric: `request_success_rate_min` (percent, such as 99) \
                 and/or `request_duration_p99_max` (a duration such as \"500ms\")",
            );
        }
        PolicyRule::Flagger(FlaggerSpec {
            interval_ms,
            threshold: threshold.max(1) as u32,
            metric_interval_ms,
            request_success_rate_min,
            request_duration_p99_max_ms,
        })
    }

    /// The canary steps of the traffic keys (`step_weight`, `step_weights`, `max_weight`,
    /// `iterations`), or `None` when none is set (the policy's `rollout` applies).
    ///
    /// Each weight is a step; the final 100% step is the promotion. With `iterations = N`
    /// the canary takes all traffic for N steps (A/B testing with every request matched),
    /// then the promotion. A flagger policy advances a step on each passing check
    /// (`crate::policy::Flagger`), so no step has a pause.
    fn steps(&self, c: &mut Checker, path: &[Seg], own_rollout: bool) -> Option<Vec<CanaryStep>> {
        let given = [
            ("step_weight", self.step_weight.is_some()),
            ("step_weights", self.step_weights.is_some()),
            ("max_weight", self.max_weight.is_some()),
        ];
        if given.iter().all(|(_, g)| !g) && self.iterations.is_none() {
            return None;
        }
        if own_rollout {
            c.fail(
                at(path, "rollout"),
                "a flagger policy with step_weight, step_weights, max_weight or iterations builds its own rollout; expected those keys or `rollout`, not both",
            );
        }
        let step = |weight: i64| CanaryStep {
            weight: weight as f64 / 100.0,
            pause_ms: 0,
            gate: StepGate::None,
        };
        let iterations = c.signed(
            at(path, "iterations"),
            "iterations",
            self.iterations,
            0,
            (0, 10_000),
        );
        if iterations > 0 {
            for (key, _) in given.iter().filter(|(_, g)| *g) {
                c.fail(
                    at(path, key),
                    format!("{key} has no effect with iterations (Flagger then routes all traffic to the canary for the iterations); expected one or the other"),
                );
            }
            return Some((0..=iterations).map(|_| step(100)).collect());
        }
        let step_weight = self
            .step_weight
            .map(|w| percent(c, at(path, "step_weight"), "step_weight", w));
        let max_weight = self
            .max_weight
            .map(|w| percent(c, at(path, "max_weight"), "max_weight", w));
        let mut step_weights = Vec::new();
        if let Some(ws) = &self.step_weights {
            let sp = at(path, "step_weights");
            if ws.is_empty() {
                c.fail(
                    sp.clone(),
                    "step_weights is empty; expected increasing percentages such as [5, 10, 25, 50]",
                );
            }
            let mut last = 0;
            for (i, w) in ws.iter().enumerate() {
                let w = percent(c, idx(&sp, i), "step_weights", *w);
                if w <= last {
                    c.fail(
                        idx(&sp, i),
                        format!("step weight {w} does not increase (previous is {last}); expected increasing weights"),
                    );
                }
                last = w;
                step_weights.push(w);
            }
            if step_weight.is_some() {
                c.fail(at(path, "step_weight"), "step_weight and step_weights are both set; expected one of them (Flagger would use step_weight for the steps and step_weights for the maximum)");
            }
            if max_weight.is_some() {
                c.fail(at(path, "max_weight"), "max_weight has no effect with step_weights (Flagger's maximum is then the last of step_weights); expected one or the other");
            }
        } else if step_weight.is_none() {
            c.fail(
                path.to_vec(),
                "a flagger policy with max_weight needs step_weight or step_weights: without a step Flagger never shifts traffic",
            );
            return None;
        }
        let ws = weights(
            step_weight.unwrap_or(0),
            &step_weights,
            max_weight.unwrap_or(0),
        )?;
        let mut steps: Vec<CanaryStep> = ws.into_iter().map(step).collect();
        steps.push(step(100));
        Some(steps)
    }
}

/// A weight in percent, 1 to 100.
fn percent(c: &mut Checker, path: Vec<Seg>, name: &str, v: i64) -> i64 {
    if !(1..=100).contains(&v) {
        c.fail(
            path,
            format!("{name} = {v} is out of range; expected a percentage from 1 to 100"),
        );
        return 100;
    }
    v
}

#[cfg(test)]
mod tests {
    use crate::scenario::{parse, Strategy};

    fn weights(keys: &str) -> Vec<f64> {
        let text = format!("[[policies]]\nname = \"f\"\nkind = \"flagger\"\nrequest_success_rate_min = 99.0\n{keys}\n");
        let s = parse(&text, "t").unwrap_or_else(|e| panic!("{e}"));
        match &s.policies[0].rollout.strategy {
            Strategy::Canary { steps } => steps.iter().map(|s| s.weight * 100.0).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn flagger_traffic_keys_build_the_weights_and_the_promotion_step() {
        // runCanary adds step_weight while below max_weight: 40 < 50 goes on to 60
        assert_eq!(
            weights("step_weight = 20\nmax_weight = 50"),
            vec![20.0, 40.0, 60.0, 100.0]
        );
        // at max_weight 100 the canary holds 100% for a check, then the promotion
        assert_eq!(weights("step_weight = 50"), vec![50.0, 100.0, 100.0]);
        assert_eq!(
            weights("step_weights = [1, 10, 80]"),
            vec![1.0, 10.0, 80.0, 100.0]
        );
        assert_eq!(weights("iterations = 2"), vec![100.0, 100.0, 100.0]);
    }
}
