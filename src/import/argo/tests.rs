//! The mapping of Argo's conditions, limits and steps, checked value by value.

use super::super::condition::{self, Condition};
use super::super::promql::Measure;
use super::*;
use crate::import::test_support::{get, ok};
use crate::import::{import_str, ImportError};

fn cond(s: &str) -> Condition {
    match condition::parse(s) {
        Ok(c) => c,
        Err(e) => panic!("{s}: {e}"),
    }
}

fn map(m: Measure, success: bool, s: &str) -> Result<(&'static str, Value), String> {
    threshold(m, success, &cond(s)).map(|x| (x.key, x.value))
}

const ERR: Measure = Measure::ErrorRatio { scale: 1.0 };
const OK: Measure = Measure::SuccessRatio { scale: 1.0 };
const OK_PCT: Measure = Measure::SuccessRatio { scale: 100.0 };
const P99_S: Measure = Measure::Latency {
    quantile: 0.99,
    to_ms: 1000.0,
};

#[test]
fn error_ratio_conditions_map_to_strict_rollsim_conditions() {
    assert_eq!(
        map(ERR, true, "result[0] < 0.05"),
        Ok(("success_error_rate_below", Value::Float(0.05)))
    );
    assert_eq!(
        map(ERR, false, "result[0] > 0.1"),
        Ok(("failure_error_rate_above", Value::Float(0.1)))
    );
    let Ok((_, Value::Float(b))) = map(ERR, true, "result[0] <= 0.05") else {
        panic!()
    };
    assert!(b > 0.05 && b < 0.050_000_000_001, "{b}");
    // `<= 0` must still pass a measurement with no errors.
    let Ok((_, Value::Float(z))) = map(ERR, true, "result[0] <= 0") else {
        panic!()
    };
    assert!(0.0 < z && z < 1e-300);
    assert!(map(ERR, true, "result[0] > 0.05").is_err());
    assert!(map(ERR, false, "result[0] < 0.05").is_err());
    assert!(map(ERR, true, "result[0] <= 1").is_err(), "always true");
}

#[test]
fn success_ratio_conditions_become_error_ratio_conditions() {
    let Ok(("success_error_rate_below", Value::Float(b))) = map(OK, true, "result[0] >= 0.95")
    else {
        panic!()
    };
    assert!(b > 0.05 && b < 0.050_000_000_001, "{b}");
    assert_eq!(
        map(OK, true, "result[0] > 0.95"),
        Ok(("success_error_rate_below", Value::Float(0.05)))
    );
    assert_eq!(
        map(OK, false, "result[0] < 0.9"),
        Ok(("failure_error_rate_above", Value::Float(0.1)))
    );
    assert_eq!(
        map(OK_PCT, false, "result[0] < 99"),
        Ok(("failure_error_rate_above", Value::Float(0.01)))
    );
    let Ok(("success_error_rate_below", Value::Float(b))) =
        map(OK, true, "len(result) == 0 || result[0] >= 0.95")
    else {
        panic!()
    };
    assert!(b > 0.05);
    let differs =
        threshold(OK, true, &cond("len(result) == 0 || result[0] >= 0.95")).map(|m| m.differs);
    assert!(
        matches!(&differs, Ok(d) if d.len() == 1 && d[0].contains("empty result is a success")),
        "{differs:?}"
    );
    assert!(map(OK, true, "result[0] < 0.95").is_err());
}

#[test]
fn latency_conditions_become_whole_milliseconds() {
    assert_eq!(
        map(P99_S, true, "result[0] < 0.5"),
        Ok(("success_latency_p99_below", Value::Dur(500)))
    );
    assert_eq!(
        map(P99_S, false, "result[0] >= 1.2"),
        Ok(("failure_latency_p99_above", Value::Dur(1200)))
    );
    let m = threshold(P99_S, false, &cond("result[0] >= 1.2")).map(|m| m.differs.len());
    assert_eq!(m, Ok(1));
    let p95 = Measure::Latency {
        quantile: 0.95,
        to_ms: 1.0,
    };
    assert!(map(p95, true, "result[0] < 300").is_err());
    assert!(map(P99_S, true, "result[0] < 0.0001").is_err());
}

const TEMPLATE: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: success-rate
spec:
  args:
  - name: service-name
  - name: limit
    value: "2"
  metrics:
  - name: success-rate
    interval: 1m
    count: 5
    failureLimit: "{{args.limit}}"
    successCondition: result[0] >= 0.95
    provider:
      prometheus:
        address: http://prometheus.example:9090
        query: |
          sum(rate(http_requests_total{service="{{args.service-name}}",status!~"5.*"}[1m]))
          /
          sum(rate(http_requests_total{service="{{args.service-name}}"}[1m]))
  - name: web-check
    successCondition: result.ok == true
    provider:
      web:
        url: http://example.invalid/health
"#;

#[test]
fn a_template_maps_limits_conditions_and_reports_other_providers() {
    let i = ok(TEMPLATE);
    assert_eq!(i.kind, "argo_analysis");
    assert_eq!(i.name, "success-rate");
    assert_eq!(get(&i, "interval"), Some(&Value::Dur(60_000)));
    assert_eq!(get(&i, "count"), Some(&Value::Int(5)));
    assert_eq!(get(&i, "failure_limit"), Some(&Value::Int(2)));
    assert!(
        matches!(get(&i, "success_error_rate_below"), Some(Value::Float(b)) if *b > 0.05 && *b < 0.0500001)
    );
    let notes = i.rendered_notes();
    assert!(
            notes.iter().any(|n| n == "t.yaml:27:7: field spec.metrics[1].provider.web: web metric providers are not modelled; this metric is skipped"),
            "{notes:#?}"
        );
    assert!(
        notes[0]
            .contains("field spec.metrics[0].provider.prometheus.address: a connection setting"),
        "{notes:#?}"
    );
    assert_eq!(notes.len(), 2, "{notes:#?}");
}

#[test]
fn no_count_and_no_interval_is_one_measurement() {
    let y = "kind: AnalysisTemplate\nmetadata: {name: once}\nspec:\n  metrics:\n  - name: e\n    failureCondition: result[0] > 0.01\n    provider:\n      prometheus:\n        query: sum(rate(r{code=~\"5..\"}[5m]))/sum(rate(r[5m]))\n";
    let i = ok(y);
    assert_eq!(get(&i, "count"), Some(&Value::Int(1)));
    assert_eq!(get(&i, "interval"), None);
    assert_eq!(
        get(&i, "failure_error_rate_above"),
        Some(&Value::Float(0.01))
    );
}

#[test]
fn argo_rejections_are_reported_and_leave_nothing() {
    let y = "kind: AnalysisTemplate\nmetadata: {name: bad}\nspec:\n  metrics:\n  - name: e\n    interval: 1m\n    count: 2\n    failureLimit: 3\n    failureCondition: result[0] > 0.01\n    provider:\n      prometheus:\n        query: sum(rate(r{code=~\"5..\"}[5m]))/sum(rate(r[5m]))\n";
    let e = import_str(y, "t.yaml");
    let Err(ImportError::Unusable { notes, .. }) = e else {
        panic!("{e:?}")
    };
    assert!(
        notes
            .iter()
            .any(|n| n.path == "spec.metrics[0].count"
                && n.message.contains("must be >= failureLimit")),
        "{notes:#?}"
    );
}

const ROLLOUT: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: checkout
spec:
  progressDeadlineSeconds: 600
  strategy:
    canary:
      analysis:
        templates:
        - templateName: error-rate
        startingStep: 2
      steps:
      - setWeight: 20
      - pause: {duration: 5m}
      - setWeight: 50
      - pause: {duration: 300}
      - pause: {}
      - setHeaderRoute:
          name: beta
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: error-rate
spec:
  metrics:
  - name: errors
    interval: 30s
    failureLimit: 3
    failureCondition: result[0] > 0.02
    provider:
      prometheus:
        query: sum(rate(r{code=~"5.."}[1m]))/sum(rate(r[1m]))
"#;

#[test]
fn rollout_steps_become_canary_steps_and_starting_step_a_delay() {
    let i = ok(ROLLOUT);
    assert_eq!(i.name, "checkout");
    let steps: Vec<(i64, u64)> = i
        .steps
        .iter()
        .flatten()
        .map(|s| (s.weight, s.pause_ms))
        .collect();
    assert_eq!(steps, vec![(20, 300_000), (50, 300_000), (100, 0)]);
    // the pause without a duration (steps[4]) waits for a person at 50%
    let gates: Vec<StepGate> = i.steps.iter().flatten().map(|s| s.gate).collect();
    assert_eq!(gates, [StepGate::None, StepGate::Approval, StepGate::None]);
    assert!(i
        .to_toml()
        .contains("{ weight = 50, pause = \"5m\", approval = true },"));
    assert_eq!(get(&i, "initial_delay"), Some(&Value::Dur(300_000)));
    assert_eq!(get(&i, "failure_limit"), Some(&Value::Int(3)));
    let notes = i.rendered_notes().join("\n");
    for want in [
            "field spec.progressDeadlineSeconds of Rollout \"checkout\": the progress deadline is not modelled",
            "field spec.strategy.canary.steps[5].setHeaderRoute of Rollout \"checkout\": header-based routing",
        ] {
            assert!(notes.contains(want), "missing {want:?} in\n{notes}");
        }
}

#[test]
fn step_analyses_gate_their_step_and_replace_the_background_analysis() {
    let y = ROLLOUT.replace(
            "      - setWeight: 50\n",
            "      - analysis:\n          templates:\n          - templateName: error-rate\n      - setWeight: 50\n",
        );
    let i = ok(&y);
    let gates: Vec<StepGate> = i.steps.iter().flatten().map(|s| s.gate).collect();
    assert_eq!(
        gates,
        [StepGate::Analysis, StepGate::Approval, StepGate::None]
    );
    // startingStep no longer delays anything: the step runs start at their steps
    assert_eq!(get(&i, "initial_delay"), None);
    let notes = i.rendered_notes().join("\n");
    assert!(
        notes.contains("runs either step analyses or a background analysis"),
        "{notes}"
    );
    let text = i.to_toml();
    assert!(
        text.contains("{ weight = 20, pause = \"5m\", analysis = true },"),
        "{text}"
    );
    let s = crate::scenario::parse(&text, "t").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(
        matches!(&s.policies[0].rule, crate::scenario::PolicyRule::ArgoAnalysis(a) if a.step_analysis)
    );
}

#[test]
fn pause_durations_read_as_argo_reads_them() {
    let docs = crate::import::yaml::parse("a: {duration: 90}\nb: {duration: \"90\"}\nc: {duration: 1m30s}\nd: {duration: 1500ms}\ne: {}\nf: {duration: 5x}\ng: {duration: 9223372036854775807}\n").unwrap_or_default();
    let reads = crate::import::yaml::Reads::default();
    let r = Node::root(&docs[0], &reads);
    let p = |k: &str| r.get(k).map(|n| pause_ms(&n));
    assert_eq!(p("a"), Some(Ok(Some(90_000))));
    assert_eq!(p("b"), Some(Ok(Some(90_000))));
    assert_eq!(p("c"), Some(Ok(Some(90_000))));
    assert_eq!(p("d"), Some(Ok(Some(1_000))), "truncated to whole seconds");
    assert_eq!(p("e"), Some(Ok(None)));
    assert!(matches!(p("f"), Some(Err(_))));
    assert!(matches!(p("g"), Some(Err(_))), "no overflow");
}
