//! Export of a policy as the controller's own config, the other direction of
//! [`crate::import`]: a tuned threshold reaches production in the syntax and units the
//! controller reads, with a comment header saying how it was chosen.
//!
//! - `argo`: an Argo Rollouts `AnalysisTemplate` (`argoproj.io/v1alpha1`) with one metric
//!   per measured signal (the new version's error ratio, its p99), each with the policy's
//!   `interval`, `initialDelay`, `count`, `failureLimit`, `inconclusiveLimit`,
//!   `consecutiveErrorLimit`, `consecutiveSuccessLimit` and `successCondition` /
//!   `failureCondition` (`result[0] < x`: `utils/evaluate/evaluate.go` evaluates them with
//!   expr on the query's vector), and, when the policy's rollout has canary steps, the
//!   `Rollout`'s `strategy.canary.steps` (`setWeight`, `pause.duration`, step `analysis`).
//!   Only an `argo_analysis` policy exports to it: another rule's semantics are not Argo's.
//! - `flagger`: a Flagger `Canary` (`flagger.app/v1beta1`) with its `analysis` block:
//!   `interval`, `threshold`, `stepWeights` or `iterations`, and the built-in metrics
//!   `request-success-rate` (`thresholdRange.min`, percent) and `request-duration`
//!   (`thresholdRange.max`, milliseconds), `pkg/apis/flagger/v1beta1/canary.go`.
//! - `prometheus`: an alerting-rule file (`groups[].rules[]` with `alert`, `expr`, `for`,
//!   as `promtool check rules` reads it) for a `threshold` policy (the error ratio or the
//!   p99 over the window, `for` its hold) or a `burn_rate` policy (one rule per window
//!   pair: both windows' error ratio above `burn_rate × (1 − slo)`, the SRE workbook's
//!   multi-window pattern).
//! - `scenario`: the policy's `[[policies]]` table, exactly as the scenario file holds it.
//!
//! Queries use conventional metric names (`http_requests_total` with a `code` label,
//! `http_request_duration_seconds_bucket`) and a `{{args.service}}` / `job` selector to
//! adapt; `rollsim import` reads every file written here back into the same policy.

use crate::scenario::{
    ArgoSpec, BurnRateSpec, Conditions, FlaggerSpec, OnInconclusive, PolicyRule, PolicySpec,
    StepGate, Strategy, ThresholdSignal, ThresholdSpec, Traffic,
};
use std::fmt::Write;

/// A config format a policy can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Argo,
    Flagger,
    Prometheus,
    Scenario,
}

impl Format {
    /// The file name an export is written to.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Argo => "analysis-template.yaml",
            Format::Flagger => "canary.yaml",
            Format::Prometheus => "rules.yaml",
            Format::Scenario => "policy.toml",
        }
    }
}

/// Why a policy cannot be written in a format.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ExportError(pub String);

/// Writes `policy` in `format`. `header` lines become the leading comments (a line holding
/// line breaks, such as a wrapped command, becomes one comment line per line); `scenario_text`
/// is the scenario file the policy is a table of (for `scenario`).
pub fn export(
    format: Format,
    policy: &PolicySpec,
    scenario_text: &str,
    header: &[String],
) -> Result<String, ExportError> {
    let mut out = String::new();
    for line in header.iter().flat_map(|h| h.split('\n')) {
        let _ = writeln!(out, "# {}", line.replace('\r', " "));
    }
    let body = match (format, &policy.rule) {
        (Format::Scenario, _) => scenario_table(scenario_text, &policy.name)?,
        (Format::Argo, PolicyRule::ArgoAnalysis(a)) => argo(&policy.name, a, policy)?,
        (Format::Flagger, PolicyRule::Flagger(f)) => flagger(&policy.name, f, policy)?,
        (Format::Prometheus, PolicyRule::Threshold(t)) => {
            if let Some(g) = t.signal.gauge() {
                // The importer reads error ratios and latency quantiles, not gauges: a rule
                // it could not read back is not written.
                return Err(ExportError(format!(
                    "--emit prometheus: policy {:?} reads the {} gauge, whose metric name and labels are the exporter's own; write its rule by hand (avg_over_time(<{}>[window]) > limit), or use --emit scenario",
                    policy.name,
                    g.series(),
                    g.series()
                )));
            }
            prometheus_threshold(&policy.name, t)
        }
        (Format::Prometheus, PolicyRule::BurnRate(b)) => prometheus_burn_rate(&policy.name, b),
        (f, _) => {
            let needs = match f {
                Format::Argo => "an argo_analysis policy",
                Format::Flagger => "a flagger policy",
                _ => "a threshold or burn_rate policy",
            };
            return Err(ExportError(format!(
                "--emit {}: policy {:?} is of another kind; this format needs {needs} (its semantics are the controller's), or use --emit scenario",
                format!("{f:?}").to_lowercase(),
                policy.name
            )));
        }
    };
    out.push_str(&body);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

/// A Go duration (`time.Duration.String` without the zero parts): 90000 ms is `1m30s`.
pub fn go_duration(ms: u64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let (h, m, s, r) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    if h == 0 && m == 0 && s == 0 {
        return format!("{r}ms");
    }
    let mut out = String::new();
    if h > 0 {
        let _ = write!(out, "{h}h");
    }
    if m > 0 {
        let _ = write!(out, "{m}m");
    }
    if s > 0 || r > 0 {
        if r > 0 {
            let _ = write!(out, "{}s", trim(&format!("{s}.{r:03}")));
        } else {
            let _ = write!(out, "{s}s");
        }
    }
    out
}

/// Twelve significant digits: `1 - 0.999` as 0.001.
fn tidy(x: f64) -> f64 {
    format!("{x:.11e}").parse().unwrap_or(x)
}

fn trim(s: &str) -> String {
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A float as YAML/PromQL writes it: the shortest text that reads back as the same float.
fn num(x: f64) -> String {
    let s = format!("{x:?}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// A PromQL range selector duration: whole seconds where possible (`[5m]`, `[90s]`).
fn prom_range(ms: u64) -> String {
    if ms % 1000 != 0 {
        return format!("{ms}ms");
    }
    let s = ms / 1000;
    if s % 3600 == 0 {
        format!("{}h", s / 3600)
    } else if s % 60 == 0 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

fn error_ratio(selector: &str, range: &str) -> String {
    format!(
        "sum(rate(http_requests_total{{{selector}code=~\"5..\"}}[{range}])) / sum(rate(http_requests_total{{{}}}[{range}]))",
        selector.trim_end_matches(',')
    )
}

fn p99_seconds(selector: &str, range: &str) -> String {
    format!(
        "histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket{{{}}}[{range}])) by (le))",
        selector.trim_end_matches(',')
    )
}

/// The `[[policies]]` table named `name` in `text`, alone.
fn scenario_table(text: &str, name: &str) -> Result<String, ExportError> {
    use toml_edit::{ArrayOfTables, DocumentMut, Item};
    let doc: DocumentMut = text
        .parse()
        .map_err(|e| ExportError(format!("the scenario is not valid TOML: {e}")))?;
    let table = doc
        .get("policies")
        .and_then(Item::as_array_of_tables)
        .and_then(|a| {
            a.iter()
                .find(|t| t.get("name").and_then(Item::as_str) == Some(name))
                .cloned()
        })
        .ok_or_else(|| {
            ExportError(format!(
                "policy {name:?} is not a [[policies]] table of the scenario file"
            ))
        })?;
    let mut out = DocumentMut::new();
    let mut arr = ArrayOfTables::new();
    let mut table = table;
    table.decor_mut().clear();
    arr.push(table);
    out.insert("policies", Item::ArrayOfTables(arr));
    Ok(out.to_string())
}

/// A YAML double-quoted string.
fn q(s: &str) -> String {
    format!("{s:?}")
}

fn argo(name: &str, a: &ArgoSpec, policy: &PolicySpec) -> Result<String, ExportError> {
    if a.on_inconclusive != OnInconclusive::Pause {
        return Err(ExportError(format!(
            "--emit argo: policy {name:?} sets on_inconclusive = {:?}; Argo Rollouts always pauses on an Inconclusive run (use the default \"pause\")",
            format!("{:?}", a.on_inconclusive).to_lowercase()
        )));
    }
    let range = prom_range(a.interval_ms);
    let sel = "service=\"{{args.service}}\",";
    let mut out = String::new();
    let _ = writeln!(
        out,
        "apiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate"
    );
    let _ = writeln!(out, "metadata:\n  name: {}", q(name));
    let _ = writeln!(out, "spec:\n  args:\n  - name: service\n  metrics:");
    let metric = |out: &mut String, metric: &str, query: String, c: &Conditions| {
        let _ = writeln!(out, "  - name: {metric}");
        let _ = writeln!(out, "    interval: {}", go_duration(a.interval_ms));
        if a.initial_delay_ms > 0 {
            let _ = writeln!(out, "    initialDelay: {}", go_duration(a.initial_delay_ms));
        }
        if let Some(n) = a.count {
            let _ = writeln!(out, "    count: {n}");
        }
        let _ = writeln!(out, "    failureLimit: {}", a.failure_limit);
        let _ = writeln!(out, "    inconclusiveLimit: {}", a.inconclusive_limit);
        let _ = writeln!(
            out,
            "    consecutiveErrorLimit: {}",
            a.consecutive_error_limit
        );
        if a.consecutive_success_limit > 0 {
            let _ = writeln!(
                out,
                "    consecutiveSuccessLimit: {}",
                a.consecutive_success_limit
            );
        }
        if let Some(v) = c.success_below {
            let _ = writeln!(out, "    successCondition: result[0] < {}", num(v));
        }
        if let Some(v) = c.failure_above {
            let _ = writeln!(out, "    failureCondition: result[0] > {}", num(v));
        }
        let _ = writeln!(
            out,
            "    provider:\n      prometheus:\n        query: {}",
            q(&query)
        );
    };
    if a.error_rate.any() {
        metric(
            &mut out,
            "error-ratio",
            error_ratio(sel, &range),
            &a.error_rate,
        );
    }
    if a.latency_p99_ms.any() {
        let c = Conditions {
            success_below: a.latency_p99_ms.success_below.map(|v| v / 1000.0),
            failure_above: a.latency_p99_ms.failure_above.map(|v| v / 1000.0),
        };
        metric(&mut out, "latency-p99", p99_seconds(sel, &range), &c);
    }
    if let Strategy::Canary { steps } = &policy.rollout.strategy {
        let _ = writeln!(
            out,
            "---\napiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata:\n  name: {}\nspec:\n  strategy:\n    canary:",
            q(name)
        );
        let templates = format!(
            "templates:\n        - templateName: {}\n        args:\n        - name: service\n          value: {}",
            q(name),
            q("my-service-canary")
        );
        if !a.step_analysis {
            let _ = writeln!(out, "      analysis:\n        {templates}");
        }
        let _ = writeln!(out, "      steps:");
        let last = steps.len().saturating_sub(1);
        for (i, s) in steps.iter().enumerate() {
            let w = (s.weight * 100.0).round() as i64;
            // The last step at 100% is Argo's promotion after the steps.
            if i == last && w == 100 && s.pause_ms == 0 && s.gate == StepGate::None {
                break;
            }
            let _ = writeln!(out, "      - setWeight: {w}");
            if s.pause_ms > 0 {
                let _ = writeln!(
                    out,
                    "      - pause: {{duration: {}}}",
                    go_duration(s.pause_ms)
                );
            }
            match s.gate {
                StepGate::None => {}
                StepGate::Approval => {
                    let _ = writeln!(out, "      - pause: {{}}");
                }
                StepGate::Analysis => {
                    let t = templates.replace("\n        ", "\n          ");
                    let _ = writeln!(out, "      - analysis:\n          {t}");
                }
            }
        }
    }
    Ok(out)
}

fn flagger(name: &str, f: &FlaggerSpec, policy: &PolicySpec) -> Result<String, ExportError> {
    let mut out = String::new();
    let _ = writeln!(out, "apiVersion: flagger.app/v1beta1\nkind: Canary");
    let _ = writeln!(out, "metadata:\n  name: {}\nspec:\n  analysis:", q(name));
    let _ = writeln!(out, "    interval: {}", go_duration(f.interval_ms));
    let _ = writeln!(out, "    threshold: {}", f.threshold);
    // Flagger moves the weight once per passing check: only steps without pauses or
    // gates (what a flagger policy's traffic keys build) have an equivalent.
    if let Strategy::Canary { steps } = &policy.rollout.strategy {
        let ws: Vec<i64> = steps
            .iter()
            .map(|s| (s.weight * 100.0).round() as i64)
            .collect();
        let plain = steps
            .iter()
            .all(|s| s.pause_ms == 0 && s.gate == StepGate::None);
        if !plain {
            let _ = writeln!(
                out,
                "    # the scenario's canary steps hold for set pauses; Flagger advances stepWeight once per passing\n    # check instead: set stepWeight/stepWeights and maxWeight for your traffic"
            );
        } else if ws.len() > 2 && ws.iter().all(|w| *w == 100) {
            // rollsim imports Blue/Green `iterations: N` as N + 1 checks at 100%.
            let _ = writeln!(out, "    iterations: {}", ws.len() - 2);
        } else if let Some((_, head)) = ws.split_last().filter(|(l, _)| **l == 100) {
            let list: Vec<String> = head.iter().map(|w| w.to_string()).collect();
            let _ = writeln!(out, "    stepWeights: [{}]", list.join(", "));
        }
    }
    let _ = writeln!(out, "    metrics:");
    let mi = go_duration(f.metric_interval_ms);
    if let Some(min) = f.request_success_rate_min {
        let _ = writeln!(
            out,
            "    - name: request-success-rate\n      interval: {mi}\n      thresholdRange:\n        min: {}",
            num(min)
        );
    }
    if let Some(max) = f.request_duration_p99_max_ms {
        let _ = writeln!(
            out,
            "    - name: request-duration\n      interval: {mi}\n      thresholdRange:\n        max: {}",
            num(max)
        );
    }
    Ok(out)
}

fn prometheus_threshold(name: &str, t: &ThresholdSpec) -> String {
    let range = prom_range(t.window_ms);
    let sel = "job=\"my-service\",";
    let expr = match t.signal {
        ThresholdSignal::ErrorRate { above } => {
            format!("{} > {}", error_ratio(sel, &range), num(above))
        }
        ThresholdSignal::LatencyP99 { above_ms } => {
            format!("{} > {}", p99_seconds(sel, &range), num(above_ms / 1000.0))
        }
        ThresholdSignal::RequestsBelow { below } => {
            format!(
                "sum(increase(http_requests_total{{{}}}[{range}])) < {below}",
                sel.trim_end_matches(',')
            )
        }
        // Refused by the caller.
        ThresholdSignal::Gauge { .. } => String::new(),
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "groups:\n- name: {}\n  rules:",
        q(&format!("rollsim-{name}"))
    );
    let _ = writeln!(out, "  - alert: {}", q(name));
    let _ = writeln!(out, "    expr: {}", q(&expr));
    if t.for_ms > 0 {
        let _ = writeln!(out, "    for: {}", prom_range(t.for_ms));
    }
    let _ = writeln!(
        out,
        "    labels:\n      action: rollback\n    annotations:\n      summary: {}",
        q(&format!("{name}: roll the release back"))
    );
    out
}

fn prometheus_burn_rate(name: &str, b: &BurnRateSpec) -> String {
    let sel = match b.traffic {
        Traffic::All => "job=\"my-service\",",
        Traffic::New => "job=\"my-service\",version=\"new\",",
    };
    let budget = 1.0 - b.slo;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "groups:\n- name: {}\n  rules:",
        q(&format!("rollsim-{name}"))
    );
    for w in &b.windows {
        let expr = format!(
            "({}) > ({} * (1 - {})) and ({}) > ({} * (1 - {}))",
            error_ratio(sel, &prom_range(w.long_ms)),
            num(w.burn_rate),
            num(b.slo),
            error_ratio(sel, &prom_range(w.short_ms)),
            num(w.burn_rate),
            num(b.slo),
        );
        let _ = writeln!(out, "  - alert: {}", q(name));
        let _ = writeln!(out, "    expr: {}", q(&expr));
        let _ = writeln!(
            out,
            "    labels:\n      action: rollback\n      long_window: {}\n    annotations:\n      summary: {}",
            q(&prom_range(w.long_ms)),
            q(&format!(
                "{name}: error budget ({}) burning {}x over {} and {}",
                num(tidy(budget)),
                num(w.burn_rate),
                prom_range(w.long_ms),
                prom_range(w.short_ms)
            ))
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_read_back_as_go_parses_them() {
        for (ms, s) in [
            (90_000, "1m30s"),
            (300_000, "5m"),
            (500, "500ms"),
            (3_600_000, "1h"),
            (1_500, "1.5s"),
            (0, "0s"),
        ] {
            assert_eq!(go_duration(ms), s);
            assert_eq!(crate::import::go_duration_ms(s), Ok(ms), "{s}");
        }
    }

    #[test]
    fn numbers_are_the_shortest_exact_text() {
        assert_eq!(num(0.02), "0.02");
        assert_eq!(num(99.0), "99");
        assert_eq!(num(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(prom_range(300_000), "5m");
        assert_eq!(prom_range(90_000), "90s");
        assert_eq!(prom_range(7_200_000), "2h");
    }
}
