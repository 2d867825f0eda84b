//! Tells what a Prometheus query measures, among the signals rollsim simulates: the new
//! version's error ratio (errors / requests), its success ratio (1 − that), either maybe
//! as a percentage, or a latency quantile with its unit.
//!
//! This is pattern recognition, not a PromQL evaluator; it accepts the shapes the Argo
//! Rollouts and Flagger docs use and refuses the rest with the reason:
//! - a ratio `A / B` whose numerator selects errors or successes by a status-like label
//!   (`status`, `code`, `response_code`, `grpc_code`, `..._class`: `=~"5.*"`, `="5xx"`,
//!   `!~"5.."`, `=~"2..|3.."`, `!="OK"`, ...) or, failing that, by its metric name
//!   (`..._errors_total`, `..._success...`); a recording rule named `..._error_ratio` or
//!   `..._success_ratio` counts too;
//! - `1 - (...)` or `100 - (...)` turns one into the other; `* 100` or `100 *` makes a
//!   percentage;
//! - `histogram_quantile(q, ...)` is a latency quantile; the unit comes from the histogram's
//!   name (`_seconds_bucket`, `_milliseconds_bucket`, `_ms_bucket`), times 1000 if the query
//!   multiplies by 1000.

/// What a query returns, in the units of its number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Measure {
    /// Errors / requests, times `scale` (1, or 100 for a percentage).
    ErrorRatio { scale: f64 },
    /// Successes / requests, times `scale`.
    SuccessRatio { scale: f64 },
    /// The `quantile` of latency; the number times `to_ms` is milliseconds.
    Latency { quantile: f64, to_ms: f64 },
}

/// A recognised query and a short explanation of why it was read so.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub measure: Measure,
    pub why: String,
}

/// Whether `s` (lowercase, no whitespace) multiplies by `factor` (`* 100`, `100 *`).
fn has_factor(s: &str, factor: &str) -> bool {
    let b = s.as_bytes();
    let num_char = |c: u8| c.is_ascii_alphanumeric() || c == b'.' || c == b'_';
    let after = format!("*{factor}");
    let before = format!("{factor}*");
    s.match_indices(&after)
        .any(|(i, _)| b.get(i + after.len()).is_none_or(|c| !num_char(*c)))
        || s.match_indices(&before)
            .any(|(i, _)| i == 0 || b.get(i - 1).is_some_and(|c| !num_char(*c)))
}

/// Whether `s` starts with `1-(`-like complement of what follows.
fn complement(s: &str) -> Option<f64> {
    let t = s.trim_start_matches('(');
    if t.starts_with("1-") {
        Some(1.0)
    } else if t.starts_with("100-") {
        Some(100.0)
    } else {
        None
    }
}

/// The byte offset of the first `/` outside label braces and quotes.
fn division(s: &str) -> Option<usize> {
    let mut braces = 0i32;
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'' | '`') => quote = Some(c),
            (None, '{') => braces += 1,
            (None, '}') => braces -= 1,
            (None, '/') if braces == 0 => return Some(i),
            _ => {}
        }
    }
    None
}

/// Error (true) or success (false) selected by one label matcher, if it is status-like.
fn matcher_class(label: &str, op: &str, value: &str) -> Option<bool> {
    let statusish = label.contains("code") || label.contains("status") || label.contains("class");
    if !statusish {
        return None;
    }
    let v = value.trim_start_matches('^').trim_start_matches('(');
    let grpc = label.contains("grpc");
    let error = if grpc {
        !v.eq_ignore_ascii_case("ok") && !v.starts_with('0')
    } else if v.starts_with('5') || v.starts_with('4') || v.starts_with("[45]") {
        true
    } else if v.starts_with('2') || v.starts_with('3') || v.starts_with("[23]") {
        false
    } else if v.eq_ignore_ascii_case("error") || v.eq_ignore_ascii_case("failure") {
        true
    } else if v.eq_ignore_ascii_case("success") || v.eq_ignore_ascii_case("ok") {
        false
    } else {
        return None;
    };
    let negated = op.starts_with('!');
    Some(error != negated)
}

/// Every `label op "value"` inside the braces of `s`.
fn matchers(s: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let inner = &rest[open + 1..open + close];
        for part in inner.split(',') {
            for op in ["=~", "!~", "!=", "="] {
                if let Some(i) = part.find(op) {
                    let label = part[..i].trim().to_string();
                    let value = part[i + op.len()..]
                        .trim()
                        .trim_matches(|c| c == '"' || c == '\'' || c == '`')
                        .to_string();
                    out.push((label, op.to_string(), value));
                    break;
                }
            }
        }
        rest = &rest[open + close + 1..];
    }
    out
}

/// The metric names (identifiers followed by `{` or `[`) in `s`.
fn metric_names(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_alphabetic() || b[i] == b'_' || b[i] == b':' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':') {
                i += 1;
            }
            if matches!(b.get(i), Some(b'{' | b'[')) {
                out.push(&s[start..i]);
            }
        } else {
            i += 1;
        }
    }
    out
}

fn latency(s: &str) -> Result<Reading, String> {
    let args = &s[s
        .find("histogram_quantile(")
        .map_or(0, |i| i + "histogram_quantile(".len())..];
    let q: f64 = args
        .split(',')
        .next()
        .and_then(|q| q.trim().parse().ok())
        .ok_or("its histogram_quantile has no constant quantile")?;
    let bucket = metric_names(s)
        .into_iter()
        .find(|n| n.ends_with("_bucket"))
        .ok_or("its histogram_quantile reads no `_bucket` series")?;
    let mut to_ms = if bucket.contains("milliseconds") || bucket.ends_with("_ms_bucket") {
        1.0
    } else if bucket.contains("seconds") {
        1000.0
    } else {
        return Err(format!(
            "the unit of `{bucket}` is unknown: its name says neither seconds nor milliseconds"
        ));
    };
    let scaled = has_factor(s, "1000");
    if scaled {
        to_ms /= 1000.0;
    }
    let unit = if to_ms == 1.0 {
        "milliseconds"
    } else {
        "seconds"
    };
    Ok(Reading {
        measure: Measure::Latency { quantile: q, to_ms },
        why: format!(
            "the {} latency quantile of `{bucket}`, in {unit}",
            quantile_name(q)
        ),
    })
}

/// `0.99` as "p99", `0.999` as "p99.9".
pub fn quantile_name(q: f64) -> String {
    format!("p{}", (q * 1000.0).round() / 10.0)
}

/// Replaces template placeholders (`{{args.service-name}}`, Flagger's `{{ target }}`) by
/// `arg`, so that their braces are not read as label matchers.
fn placeholders(q: &str) -> String {
    let mut out = String::new();
    let mut rest = q;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        match rest[i..].find("}}") {
            Some(j) => {
                out.push_str("arg");
                rest = &rest[i + j + 2..];
            }
            None => {
                rest = &rest[i..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Reads a query, or says why it is not one of the measures rollsim simulates.
pub fn classify(query: &str) -> Result<Reading, String> {
    let s: String = placeholders(query)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase();
    if s.is_empty() {
        return Err("the query is empty".into());
    }
    if s.contains("histogram_quantile(") {
        return latency(&s);
    }
    let percent = has_factor(&s, "100");
    let comp = complement(&s);
    let (mut error, how) = match division(&s) {
        Some(at) => {
            let num = &s[..at];
            let classes: Vec<(bool, String)> = matchers(num)
                .into_iter()
                .filter_map(|(l, op, v)| {
                    matcher_class(&l, &op, &v).map(|e| (e, format!("{l}{op}\"{v}\"")))
                })
                .collect();
            if let Some((e, m)) = classes.first() {
                if classes.iter().any(|(x, _)| x != e) {
                    return Err("its numerator selects both errors and successes".into());
                }
                (*e, format!("the numerator counts {m}"))
            } else {
                let names = metric_names(num);
                let name = names.first().copied().unwrap_or("");
                if name.contains("error") || name.contains("fail") {
                    (true, format!("the numerator is `{name}`"))
                } else if name.contains("success") {
                    (false, format!("the numerator is `{name}`"))
                } else {
                    return Err("its numerator selects neither errors nor successes by a status label or by its name".into());
                }
            }
        }
        None => {
            let names = metric_names(&s);
            match names.iter().find(|n| n.contains("ratio")) {
                Some(n) if n.contains("error") || n.contains("fail") => {
                    (true, format!("the recording rule is named `{n}`"))
                }
                Some(n) if n.contains("success") => {
                    (false, format!("the recording rule is named `{n}`"))
                }
                _ => {
                    return Err(
                        "it is not a ratio of errors or successes to requests, nor a histogram_quantile"
                            .into(),
                    )
                }
            }
        }
    };
    let mut why = how;
    if let Some(c) = comp {
        error = !error;
        why.push_str(&format!(", subtracted from {c}"));
    }
    let scale = if percent || comp == Some(100.0) {
        why.push_str(", as a percentage");
        100.0
    } else {
        1.0
    };
    let measure = if error {
        Measure::ErrorRatio { scale }
    } else {
        Measure::SuccessRatio { scale }
    };
    let what = if error {
        "an error ratio"
    } else {
        "a success ratio"
    };
    Ok(Reading {
        measure,
        why: format!("{what}: {why}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(q: &str) -> Measure {
        match classify(q) {
            Ok(r) => r.measure,
            Err(e) => panic!("{q}: {e}"),
        }
    }

    #[test]
    fn error_and_success_ratios_are_told_apart_by_the_status_label() {
        let err = r#"sum(rate(http_requests_total{service="{{args.service-name}}",status=~"5.*"}[5m])) / sum(rate(http_requests_total{service="{{args.service-name}}"}[5m]))"#;
        assert_eq!(m(err), Measure::ErrorRatio { scale: 1.0 });
        let ok = r#"sum(irate(istio_requests_total{reporter="source",destination_service=~"{{args.service-name}}",response_code!~"5.*"}[5m])) / sum(irate(istio_requests_total{reporter="source",destination_service=~"{{args.service-name}}"}[5m]))"#;
        assert_eq!(m(ok), Measure::SuccessRatio { scale: 1.0 });
        let two =
            r#"sum(rate(requests_total{code=~"2..|3.."}[1m])) / sum(rate(requests_total[1m]))"#;
        assert_eq!(m(two), Measure::SuccessRatio { scale: 1.0 });
        let class = r#"sum(rate(envoy_cluster_upstream_rq{envoy_response_code_class="5"}[1m]))/sum(rate(envoy_cluster_upstream_rq[1m]))"#;
        assert_eq!(m(class), Measure::ErrorRatio { scale: 1.0 });
        let grpc = r#"sum(rate(grpc_server_handled_total{grpc_code!="OK"}[1m]))/sum(rate(grpc_server_handled_total[1m]))"#;
        assert_eq!(m(grpc), Measure::ErrorRatio { scale: 1.0 });
    }

    #[test]
    fn percentages_and_complements_are_recognised() {
        let q = r#"100 * sum(rate(http_requests_total{status!~"5.."}[1m])) / sum(rate(http_requests_total[1m]))"#;
        assert_eq!(m(q), Measure::SuccessRatio { scale: 100.0 });
        let q = r#"(sum(rate(http_requests_total{status=~"5.."}[1m])) / sum(rate(http_requests_total[1m]))) * 100"#;
        assert_eq!(m(q), Measure::ErrorRatio { scale: 100.0 });
        let q = r#"1 - (sum(rate(http_requests_total{status=~"5.."}[1m])) / sum(rate(http_requests_total[1m])))"#;
        assert_eq!(m(q), Measure::SuccessRatio { scale: 1.0 });
    }

    #[test]
    fn metric_names_decide_when_no_label_does() {
        let q = "sum(rate(app_errors_total[5m])) / sum(rate(app_requests_total[5m]))";
        assert_eq!(m(q), Measure::ErrorRatio { scale: 1.0 });
        assert_eq!(
            m("job:request_error_ratio:rate5m{job=\"api\"}"),
            Measure::ErrorRatio { scale: 1.0 }
        );
    }

    #[test]
    fn latency_quantiles_carry_their_unit() {
        let q = r#"histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket{app="x"}[5m])) by (le))"#;
        assert_eq!(
            m(q),
            Measure::Latency {
                quantile: 0.99,
                to_ms: 1000.0
            }
        );
        let q = r#"histogram_quantile(0.95, sum(irate(istio_request_duration_milliseconds_bucket[1m])) by (le))"#;
        assert_eq!(
            m(q),
            Measure::Latency {
                quantile: 0.95,
                to_ms: 1.0
            }
        );
        let q =
            r#"histogram_quantile(0.99, sum(rate(rpc_latency_seconds_bucket[1m])) by (le)) * 1000"#;
        assert_eq!(
            m(q),
            Measure::Latency {
                quantile: 0.99,
                to_ms: 1.0
            }
        );
        assert_eq!(quantile_name(0.99), "p99");
        assert_eq!(quantile_name(0.999), "p99.9");
    }

    #[test]
    fn other_queries_are_refused() {
        for q in [
            "",
            "sum(rate(http_requests_total[5m]))",
            "avg(container_memory_usage_bytes{pod=~\"x.*\"})",
            "sum(rate(a{path=\"/x\"}[1m])) / sum(rate(b[1m]))",
            "histogram_quantile(0.99, sum(rate(req_latency_bucket[1m])) by (le))",
            r#"sum(rate(r{code=~"5..",status="200"}[1m])) / sum(rate(r[1m]))"#,
        ] {
            assert!(classify(q).is_err(), "{q} should be refused");
        }
    }
}
