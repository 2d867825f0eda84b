//! Prometheus alerting-rule files → `threshold` or `burn_rate`.
//!
//! # What is read (prometheus/prometheus, `model/rulefmt/rulefmt.go`)
//!
//! `groups[]` (`name`, `rules[]`), and of each rule `alert`, `expr` and `for` (a Prometheus
//! duration: `ms`, `s`, `m`, `h`, `d`, `w`, `y`). `rules/alerting.go`: an alert is pending
//! while `expr` returns a sample and fires once it has for `for`; a query that returns no
//! sample drops a pending alert, which is `threshold`'s `on_no_data = "ignore"`.
//!
//! # Mapping
//!
//! - One comparison, `Q > x`, where `Q` is an error ratio over a range (`[5m]`, read by
//!   [`super::promql`]) or the p99 of a latency histogram, or `Q < x` on a success ratio:
//!   a `threshold` policy with `error_rate_above` (or `latency_p99_above`), `window` = the
//!   range and `for` = the rule's `for`. `>=` and `<=` are read as `>` and `<` (they differ
//!   only at exactly the limit) and reported.
//! - Two comparisons joined by `and`, each an error ratio over its own range above
//!   `B * (1 - SLO)` (or `B * BUDGET`): the multi-window burn-rate pattern of the SRE
//!   workbook; every such rule of the file is a window pair of one `burn_rate` policy
//!   (`long` the longer range, `short` the shorter, `burn_rate` B, `slo` SLO), which fires
//!   when any pair does. A `version="new"` matcher in the queries means `traffic = "new"`.
//!
//! # Not modelled (each is reported where it appears)
//!
//! Recording rules, `keep_firing_for`, a `for` on a burn-rate pair (the policy fires at
//! once), rules of another shape than the two above, a second threshold rule (a
//! `threshold` policy watches one signal), and differing SLOs across pairs. `labels` and
//! `annotations` route and describe the alert; they do not change when it fires.

use super::promql::{self, Measure};
use super::yaml::Node;
use super::{Doc, Entry, Imported, Notes, Unusable, Value};
use crate::check::duration_text;

/// Parses a Prometheus duration (`model.ParseDuration`: `1h30m`, `90s`, `3d`, `500ms`).
pub fn duration_ms(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let bad = || format!("{s:?} is not a Prometheus duration such as \"30s\", \"5m\" or \"1h30m\"");
    if t == "0" {
        return Ok(0);
    }
    let mut rest = t;
    let mut ms: u64 = 0;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let n = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let num: u64 = rest[..n].parse().map_err(|_| bad())?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit: u64 = match &rest[..u] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            "y" => 365 * 86_400_000,
            _ => return Err(bad()),
        };
        ms = num
            .checked_mul(unit)
            .and_then(|x| ms.checked_add(x))
            .filter(|x| *x <= super::MAX_MS)
            .ok_or_else(|| format!("{s:?} is longer than 10 years"))?;
        rest = &rest[u..];
    }
    Ok(ms)
}

/// Splits `s` at each top-level occurrence of `sep` (outside brackets and quotes).
fn split_top<'s>(s: &'s str, sep: &str) -> Vec<&'s str> {
    let mut out = Vec::new();
    let (mut depth, mut quote, mut start) = (0i32, None::<char>, 0);
    let b = s.as_bytes();
    let mut i = 0;
    while i < s.len() {
        let c = b[i] as char;
        match quote {
            Some(q) if c == '\\' => {
                let _ = q;
                i += 1;
            }
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' | '`' => quote = Some(c),
                '(' | '{' | '[' => depth += 1,
                ')' | '}' | ']' => depth -= 1,
                _ if depth == 0 && s[i..].starts_with(sep) => {
                    out.push(&s[start..i]);
                    i += sep.len();
                    start = i;
                    continue;
                }
                _ => {}
            },
        }
        i += 1;
    }
    out.push(&s[start..]);
    out
}

/// Whether the `(` at the start of `t` is closed by its last character.
fn enclosed(t: &str) -> bool {
    if !(t.starts_with('(') && t.ends_with(')')) {
        return false;
    }
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    for (i, c) in t.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' | '`' => quote = Some(c),
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 && i + 1 < t.len() {
                        return false;
                    }
                }
                _ => {}
            },
        }
    }
    true
}

/// Strips whole-expression parentheses: `((a))` is `a`, `(a) > (b)` stays.
fn unparen(s: &str) -> &str {
    let mut t = s.trim();
    while enclosed(t) {
        t = t[1..t.len() - 1].trim();
    }
    t
}

/// The range selectors of a query (`[5m]`), in milliseconds.
fn ranges(q: &str) -> Result<Vec<u64>, String> {
    let mut out = Vec::new();
    let mut rest = q;
    while let Some(i) = rest.find('[') {
        let j = rest[i..]
            .find(']')
            .ok_or_else(|| "an unclosed range selector".to_string())?;
        let inner = &rest[i + 1..i + j];
        let d = inner.split(':').next().unwrap_or(inner);
        out.push(duration_ms(d)?);
        rest = &rest[i + j + 1..];
    }
    Ok(out)
}

/// A comparison `lhs op rhs` at the top level.
struct Comparison<'s> {
    lhs: &'s str,
    op: &'static str,
    rhs: &'s str,
}

fn comparison(s: &str) -> Option<Comparison<'_>> {
    for op in [">=", "<=", ">", "<"] {
        let parts = split_top(s, op);
        if parts.len() == 2 && !parts[1].starts_with('=') {
            return Some(Comparison {
                lhs: parts[0].trim(),
                op,
                rhs: parts[1].trim(),
            });
        }
    }
    None
}

/// Twelve significant digits: undoes float noise such as `0.5 * 1000`.
fn tidy(x: f64) -> f64 {
    format!("{x:.11e}").parse().unwrap_or(x)
}

fn number(s: &str) -> Option<f64> {
    unparen(s).parse::<f64>().ok().filter(|v| v.is_finite())
}

/// `B * (1 - SLO)` or `B * BUDGET`: (burn rate, SLO).
fn burn_threshold(s: &str) -> Option<(f64, f64)> {
    let parts = split_top(unparen(s), "*");
    let [b, e] = parts.as_slice() else {
        return None;
    };
    let burn = number(b)?;
    let e = unparen(e);
    let slo = match split_top(e, "-").as_slice() {
        [one, slo] if number(one) == Some(1.0) => number(slo)?,
        [budget] => tidy(1.0 - number(budget)?),
        _ => return None,
    };
    Some((burn, slo))
}

/// What one rule's expression is.
enum Rule {
    Threshold {
        key: &'static str,
        value: Value,
        window_ms: u64,
        how: String,
    },
    Pair {
        long_ms: u64,
        short_ms: u64,
        burn: f64,
        slo: f64,
        new_only: bool,
    },
}

/// Reads one expression, or says why it is not one rollsim models.
fn read_expr(expr: &str, notes_on_op: &mut Vec<String>) -> Result<Rule, String> {
    let sides = split_top(expr, " and ");
    match sides.as_slice() {
        [one] => threshold(one, notes_on_op),
        [a, b] => {
            let pair = |s: &str| -> Result<(u64, f64, f64, bool), String> {
                let c = comparison(unparen(s))
                    .filter(|c| c.op.starts_with('>'))
                    .ok_or("each side of `and` must be `ERROR_RATIO > B * (1 - SLO)`")?;
                match promql::classify(c.lhs).map(|r| r.measure) {
                    Ok(Measure::ErrorRatio { scale: 1.0 }) => {}
                    Ok(_) => return Err("a burn-rate side must be an error ratio (not a percentage, a success ratio or a latency)".into()),
                    Err(e) => return Err(format!("cannot read {:?}: {e}", c.lhs)),
                }
                let r = ranges(c.lhs)?;
                let w = *r.first().ok_or("the error ratio has no range such as [1h]")?;
                if r.iter().any(|x| *x != w) {
                    return Err("the error ratio's numerator and denominator have different ranges".into());
                }
                let (burn, slo) = burn_threshold(c.rhs).ok_or(
                    "the limit must be `B * (1 - SLO)` or `B * BUDGET` (the SRE workbook's form), e.g. (14.4 * (1 - 0.999))",
                )?;
                Ok((w, burn, slo, c.lhs.replace(' ', "").contains("version=\"new\"")))
            };
            let (wa, ba, sa, na) = pair(a)?;
            let (wb, bb, sb, nb) = pair(b)?;
            if ba != bb || sa != sb {
                return Err("the two windows of a pair have different limits; expected the same B * (1 - SLO) on both".into());
            }
            Ok(Rule::Pair {
                long_ms: wa.max(wb),
                short_ms: wa.min(wb),
                burn: ba,
                slo: sa,
                new_only: na && nb,
            })
        }
        _ => Err("more than two conditions joined by `and`; expected one comparison or the two windows of a burn-rate pair".into()),
    }
}

fn threshold(s: &str, notes: &mut Vec<String>) -> Result<Rule, String> {
    let c = comparison(unparen(s)).ok_or(
        "no comparison at the top level; expected QUERY > LIMIT (an error ratio or a p99) or QUERY < LIMIT (a success ratio)",
    )?;
    let limit = number(c.rhs).ok_or_else(|| format!("the limit {:?} is not a number", c.rhs))?;
    let reading = promql::classify(c.lhs).map_err(|e| format!("cannot read {:?}: {e}", c.lhs))?;
    let r = ranges(c.lhs)?;
    let window_ms = *r.first().ok_or("the query has no range such as [5m]")?;
    if r.iter().any(|x| *x != window_ms) {
        return Err("the query's ranges differ; expected one range such as [5m]".into());
    }
    let upward = c.op.starts_with('>');
    if c.op.len() == 2 {
        notes.push(format!(
            "`{}` is read as `{}`: rollsim compares strictly (they differ only at exactly {limit})",
            c.op,
            &c.op[..1]
        ));
    }
    let (key, value, how) = match (reading.measure, upward) {
        (Measure::ErrorRatio { scale }, true) => (
            "error_rate_above",
            Value::Float(tidy(limit / scale)),
            reading.why,
        ),
        (Measure::SuccessRatio { scale }, false) => (
            "error_rate_above",
            Value::Float(tidy(1.0 - limit / scale)),
            format!("{}; success < {limit} is error ratio > 1 - that", reading.why),
        ),
        (Measure::Latency { quantile, to_ms }, true) if (quantile - 0.99).abs() < 1e-12 => (
            "latency_p99_above",
            Value::Dur(tidy(limit * to_ms).round().max(0.0) as u64),
            reading.why,
        ),
        (Measure::Latency { quantile, .. }, true) => {
            return Err(format!(
                "the {} is not modelled; rollsim simulates the p99",
                promql::quantile_name(quantile)
            ))
        }
        _ => {
            return Err(
                "the comparison points the wrong way for what the query measures (expected errors or latency above a limit, or successes below one)".into(),
            )
        }
    };
    Ok(Rule::Threshold {
        key,
        value,
        window_ms,
        how,
    })
}

/// Imports the alerting rules of a rule file (a document with `groups`).
pub(crate) fn import(docs: &[Doc<'_, '_>], notes: &mut Notes) -> Result<Imported, Unusable> {
    let mut found: Vec<(Node<'_, '_>, String, Rule, Option<u64>)> = Vec::new();
    let mut first_pos = None;
    for doc in docs.iter().filter(|d| d.node.has("groups")) {
        doc.used.set(true);
        first_pos.get_or_insert(doc.node.pos);
        for g in doc
            .node
            .get("groups")
            .map(|g| g.items())
            .unwrap_or_default()
        {
            g.get("name");
            for r in g.get("rules").map(|r| r.items()).unwrap_or_default() {
                for k in ["labels", "annotations"] {
                    if let Some(n) = r.get(k) {
                        n.read_whole();
                    }
                }
                if let Some(rec) = r.get("record") {
                    notes.skip(
                        &r,
                        format!(
                            "recording rule {:?} is not an alert; not imported",
                            rec.text().unwrap_or_default()
                        ),
                    );
                    continue;
                }
                let Some(alert) = r.get("alert").and_then(|a| a.text()) else {
                    notes.skip(&r, "a rule without `alert` or `record`; not imported");
                    continue;
                };
                if let Some(k) = r.get("keep_firing_for") {
                    notes.add(&k, "keep_firing_for only delays the alert's resolution: the rollback has happened by then; ignored");
                }
                let for_ms = match r.get("for") {
                    None => None,
                    Some(f) => match f.text().map(|t| duration_ms(&t)) {
                        Some(Ok(ms)) => Some(ms),
                        Some(Err(e)) => {
                            notes.skip(&r, format!("alert {alert:?}: `for`: {e}; not imported"));
                            continue;
                        }
                        None => {
                            notes.skip(
                                &r,
                                format!("alert {alert:?}: `for` is not a duration; not imported"),
                            );
                            continue;
                        }
                    },
                };
                let Some(e) = r.get("expr") else {
                    notes.skip(&r, format!("alert {alert:?} has no `expr`; not imported"));
                    continue;
                };
                let text = e.text().unwrap_or_default();
                let mut op_notes = Vec::new();
                match read_expr(&text, &mut op_notes) {
                    Ok(rule) => {
                        for n in op_notes {
                            notes.add(&e, format!("alert {alert:?}: {n}"));
                        }
                        found.push((e, alert, rule, for_ms));
                    }
                    Err(why) => notes.add(&e, format!("alert {alert:?}: {why}; not imported")),
                }
            }
        }
    }
    let pos = first_pos.unwrap_or(super::Pos { line: 1, col: 1 });
    let Some((_, name, first, _)) = found.first() else {
        return Err(Unusable {
            pos,
            message: "no alerting rule rollsim can model: expected `expr: ERROR_RATIO[5m] > LIMIT` (with `for`), a p99 over a limit, or the multi-window burn-rate pattern".into(),
        });
    };
    let name = name.clone();
    let mut entries = Vec::new();
    let mut header = vec![format!(
        "Prometheus alerting rule {name:?}: when it fires, the release is rolled back"
    )];
    let entry = |key: &'static str, value: Value, source: String| Entry { key, value, source };
    match first {
        Rule::Threshold { .. } => {
            let (e, _, rule, for_ms) = &found[0];
            let Rule::Threshold {
                key,
                value,
                window_ms,
                how,
            } = rule
            else {
                unreachable!("matched above")
            };
            entries.push(entry(
                "kind",
                Value::Str("threshold".into()),
                "an alerting rule with `for`".into(),
            ));
            entries.push(entry(
                key,
                value.clone(),
                format!("{} (line {}): {how}", e.path, e.pos.line),
            ));
            entries.push(entry(
                "window",
                Value::Dur(*window_ms),
                format!("the query's range [{}]", duration_text(*window_ms)),
            ));
            entries.push(entry(
                "for",
                Value::Dur(for_ms.unwrap_or(0)),
                if for_ms.is_some() {
                    "the rule's `for`".into()
                } else {
                    "no `for`: fires at the first evaluation over the limit".into()
                },
            ));
            header.push(
                "a query that returns no sample drops a pending alert (on_no_data = \"ignore\")"
                    .into(),
            );
            for (e, alert, _, _) in &found[1..] {
                notes.add(e, format!("alert {alert:?}: a threshold policy watches one signal; only alert {name:?} is imported"));
            }
        }
        Rule::Pair { slo, new_only, .. } => {
            let (slo, new_only) = (*slo, *new_only);
            let mut windows = Vec::new();
            for (e, alert, rule, for_ms) in &found {
                match rule {
                    Rule::Pair { long_ms, short_ms, burn, slo: s, .. } if *s == slo => {
                        if for_ms.is_some_and(|f| f > 0) {
                            notes.add(e, format!("alert {alert:?}: `for` on a burn-rate pair is not modelled: rollsim's burn_rate fires at once"));
                        }
                        windows.push(format!(
                            "{{ long = \"{}\", short = \"{}\", burn_rate = {:?} }}",
                            duration_text(*long_ms),
                            duration_text(*short_ms),
                            burn
                        ));
                    }
                    Rule::Pair { .. } => notes.add(e, format!("alert {alert:?}: its SLO differs from the first pair's ({slo}); not imported")),
                    Rule::Threshold { .. } => notes.add(e, format!("alert {alert:?}: a single threshold beside burn-rate pairs; not imported")),
                }
            }
            entries.push(entry(
                "kind",
                Value::Str("burn_rate".into()),
                "the multi-window burn-rate pattern".into(),
            ));
            entries.push(entry(
                "slo",
                Value::Float(slo),
                "B * (1 - SLO) in the rules".into(),
            ));
            entries.push(entry(
                "windows",
                Value::Raw(format!("[{}]", windows.join(", "))),
                "one pair per alerting rule; any pair fires".into(),
            ));
            if new_only {
                entries.push(entry(
                    "traffic",
                    Value::Str("new".into()),
                    "the queries select version=\"new\"".into(),
                ));
            }
        }
    }
    let kind = if matches!(first, Rule::Threshold { .. }) {
        "threshold"
    } else {
        "burn_rate"
    };
    Ok(Imported::new(&name, kind, header, entries, None))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{get, ok};
    use super::super::{import_str, ImportError};
    use super::*;

    #[test]
    fn durations_parse_as_prometheus_does() {
        assert_eq!(duration_ms("1h30m"), Ok(5_400_000));
        assert_eq!(duration_ms("3d"), Ok(259_200_000));
        assert_eq!(duration_ms("500ms"), Ok(500));
        assert!(duration_ms("1.5h").is_err());
        assert!(duration_ms("5").is_err());
    }

    #[test]
    fn an_error_ratio_rule_is_a_threshold() {
        let y = "groups:\n- name: g\n  rules:\n  - alert: high-errors\n    expr: sum(rate(http_requests_total{code=~\"5..\"}[5m])) / sum(rate(http_requests_total[5m])) > 0.02\n    for: 2m\n    labels: {severity: page}\n";
        let i = ok(y);
        assert_eq!(i.kind, "threshold");
        assert_eq!(i.name, "high-errors");
        assert_eq!(get(&i, "error_rate_above"), Some(&Value::Float(0.02)));
        assert_eq!(get(&i, "window"), Some(&Value::Dur(300_000)));
        assert_eq!(get(&i, "for"), Some(&Value::Dur(120_000)));
        assert!(i.notes.is_empty(), "{:?}", i.notes);
    }

    #[test]
    fn the_workbook_pattern_is_a_burn_rate_policy() {
        let y = "groups:\n- name: slo\n  rules:\n  - alert: budget\n    expr: (sum(rate(http_requests_total{code=~\"5..\"}[1h])) / sum(rate(http_requests_total[1h]))) > (14.4 * 0.001) and (sum(rate(http_requests_total{code=~\"5..\"}[5m])) / sum(rate(http_requests_total[5m]))) > (14.4 * 0.001)\n";
        let i = ok(y);
        assert_eq!(i.kind, "burn_rate");
        assert_eq!(get(&i, "slo"), Some(&Value::Float(0.999)));
        assert_eq!(
            get(&i, "windows"),
            Some(&Value::Raw(
                "[{ long = \"1h\", short = \"5m\", burn_rate = 14.4 }]".into()
            ))
        );
    }

    #[test]
    fn what_cannot_be_modelled_is_named_with_its_line_and_column() {
        let y = "groups:\n- name: g\n  rules:\n  - record: job:errors:ratio5m\n    expr: x\n  - alert: cpu\n    expr: avg(cpu_usage) > 0.9\n  - alert: errors\n    expr: sum(rate(http_requests_total{code=~\"5..\"}[5m])) / sum(rate(http_requests_total[5m])) >= 0.05\n    keep_firing_for: 5m\n";
        let i = ok(y);
        let notes = i.rendered_notes().join("\n");
        for want in [
            "t.yaml:4:5: field groups[0].rules[0]: recording rule \"job:errors:ratio5m\" is not an alert",
            "t.yaml:7:5: field groups[0].rules[1].expr: alert \"cpu\": cannot read",
            "t.yaml:9:5: field groups[0].rules[2].expr: alert \"errors\": `>=` is read as `>`",
            "t.yaml:10:5: field groups[0].rules[2].keep_firing_for:",
        ] {
            assert!(notes.contains(want), "missing {want:?} in\n{notes}");
        }
        let e = import_str(
            "groups:\n- name: g\n  rules:\n  - alert: cpu\n    expr: avg(cpu) > 1\n",
            "r.yaml",
        );
        let Err(e @ ImportError::Unusable { .. }) = e else {
            panic!("expected unusable, got {e:?}")
        };
        assert!(
            e.to_string().starts_with("r.yaml:1:1: no alerting rule"),
            "{e}"
        );
    }
}
