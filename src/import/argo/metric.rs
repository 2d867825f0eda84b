//! One metric of an AnalysisTemplate: its arguments, provider, query, conditions and
//! limits, read into rollsim keys or a note saying why it is skipped; and a step's pause.

use super::super::condition;
use super::super::promql;
use super::super::yaml::Node;
use super::super::{go_duration_ms, Entry, Notes, Value};
use super::mapping::{threshold, Mapped, Signal};
use std::collections::BTreeMap;

/// `RolloutPause.DurationSeconds`: `None` for a pause without a duration (indefinite).
pub fn pause_ms(p: &Node<'_, '_>) -> Result<Option<u64>, String> {
    let Some(d) = p.get("duration") else {
        return Ok(None);
    };
    if let Some(i) = d.int() {
        return u64::try_from(i)
            .ok()
            .and_then(|s| s.checked_mul(1000))
            .map(Some)
            .ok_or_else(|| format!("pause duration {i} is out of range"));
    }
    let s = d.text().unwrap_or_default();
    if let Ok(secs) = s.trim().parse::<u64>() {
        return secs
            .checked_mul(1000)
            .map(Some)
            .ok_or_else(|| format!("pause duration {secs} is out of range"));
    }
    let ms = go_duration_ms(&s).or_else(|e| {
        // A Go duration finer than a millisecond still truncates to whole seconds.
        if e.contains("finer") {
            Ok(0)
        } else {
            Err(e)
        }
    })?;
    Ok(Some(ms / 1000 * 1000))
}

/// Arguments by name: `Some(value)` or `None` when given by `valueFrom` or not at all.
pub(super) type Args = BTreeMap<String, Option<String>>;

pub(super) fn read_args(list: Option<Node<'_, '_>>, into: &mut Args) {
    for a in list.map(|l| l.items()).unwrap_or_default() {
        let Some(name) = a.get("name").and_then(|n| n.text()) else {
            continue;
        };
        let value = a.get("value").and_then(|v| v.text());
        a.get("valueFrom");
        if value.is_some() || !into.contains_key(&name) {
            into.insert(name, value);
        }
    }
}

/// Substitutes `{{args.NAME}}` (and `{{ args.NAME }}`).
pub(super) fn substitute(s: &str, args: &Args) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find("}}") else {
            out.push_str(&rest[i..]);
            return Ok(out);
        };
        let inner = rest[i + 2..i + j].trim();
        match inner.strip_prefix("args.") {
            Some(name) => match args.get(name) {
                Some(Some(v)) => out.push_str(v),
                _ => return Err(format!("argument {name:?} has no value in this file")),
            },
            None => out.push_str(&rest[i..i + j + 2]),
        }
        rest = &rest[i + j + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// An `IntOrString` field as an integer.
pub(super) fn int_or_string(n: &Node<'_, '_>, args: &Args) -> Result<i64, String> {
    if let Some(i) = n.int() {
        return Ok(i);
    }
    let s = substitute(&n.text().unwrap_or_default(), args)?;
    s.trim()
        .parse()
        .map_err(|_| format!("{s:?} is not an integer"))
}

/// A template referenced from the Rollout (or every template when there is no Rollout).
pub(super) struct Ref<'a, 't> {
    pub(super) name: String,
    pub(super) cluster: bool,
    pub(super) at: Node<'a, 't>,
    pub(super) args: Args,
    pub(super) dry_run: Vec<String>,
    /// `Some(why)` when the analysis is not a background analysis (a step or blue-green).
    pub(super) approx: Option<String>,
}

/// A metric that rollsim can model.
pub(super) struct Usable<'a, 't> {
    pub(super) node: Node<'a, 't>,
    pub(super) label: String,
    pub(super) signal: Signal,
    pub(super) conditions: Vec<(Mapped, String)>,
    pub(super) limits: Vec<Entry>,
}

pub(super) fn lines(n: &Node<'_, '_>) -> String {
    format!("{} (line {})", n.path, n.pos.line)
}

/// Whether a `dryRun` rule names the metric (Go `regexp.MatchString`, unanchored; "*" is
/// the documented wildcard).
pub(super) fn dry_run_matches(rule: &str, metric: &str) -> Option<bool> {
    if rule == "*" || rule == ".*" {
        return Some(true);
    }
    if rule
        .chars()
        .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    {
        return Some(metric.contains(rule));
    }
    None
}

/// Reads one metric; `Err` means skipped (the note is already written).
pub(super) fn metric<'a, 't>(
    m: &Node<'a, 't>,
    template: &str,
    args: &Args,
    dry_run: &[String],
    notes: &mut Notes,
) -> Option<Usable<'a, 't>> {
    let name = m.get("name").and_then(|n| n.text()).unwrap_or_default();
    let label = format!("metric {name:?} of template {template:?}");
    for rule in dry_run {
        match dry_run_matches(rule, &name) {
            Some(true) => {
                notes.skip(
                    m,
                    format!("{label} runs in dry-run mode (dryRun {rule:?}): its results never change the analysis; this metric is skipped"),
                );
                return None;
            }
            Some(false) => {}
            None => notes.add(
                m,
                format!("dryRun pattern {rule:?} is a regular expression rollsim does not evaluate; {label} is imported as not dry-run"),
            ),
        }
    }
    let Some(provider) = m.get("provider") else {
        notes.skip(
            m,
            format!("{label} has no provider; this metric is skipped"),
        );
        return None;
    };
    let Some(prom) = provider.get("prometheus") else {
        let kind = provider.keys().into_iter().next().unwrap_or_default();
        let at = provider.get(&kind).unwrap_or_else(|| provider.clone());
        let what = match kind.as_str() {
            "newRelic" => "New Relic".to_string(),
            "cloudWatch" => "CloudWatch".to_string(),
            "" => "empty".to_string(),
            k => k.to_string(),
        };
        notes.add(
            &at,
            format!("{what} metric providers are not modelled; this metric is skipped"),
        );
        m.read_whole();
        return None;
    };
    let Some(q) = prom.get("query") else {
        notes.skip(m, format!("{label} has no query; this metric is skipped"));
        return None;
    };
    let reading = match promql::classify(&q.text().unwrap_or_default()) {
        Ok(r) => r,
        Err(why) => {
            notes.add(
                &q,
                format!("the query is not one rollsim can model: {why}; this metric is skipped"),
            );
            m.read_whole();
            return None;
        }
    };
    let mut conditions = Vec::new();
    for (key, success) in [("successCondition", true), ("failureCondition", false)] {
        let Some(cn) = m.get(key) else { continue };
        let text = cn.text().unwrap_or_default();
        let mapped = condition::parse(&text).and_then(|c| threshold(reading.measure, success, &c));
        match mapped {
            Ok(mp) => {
                for d in &mp.differs {
                    notes.add(&cn, format!("`{text}`: {d}"));
                }
                let src = format!(
                    "{label}: {} `{text}`; the query is {}",
                    lines(&cn),
                    reading.why
                );
                conditions.push((mp, src));
            }
            Err(why) => {
                notes.add(
                    &cn,
                    format!("`{text}` is not a condition rollsim can model: {why}; this metric is skipped"),
                );
                m.read_whole();
                return None;
            }
        }
    }
    if conditions.is_empty() {
        notes.skip(
            m,
            format!("{label} has neither successCondition nor failureCondition, so every measurement is Successful; this metric is skipped"),
        );
        return None;
    }
    let signal = conditions[0].0.signal;
    let limits = match limits(m, &label, args) {
        Ok(l) => l,
        Err((at, why)) => {
            notes.add(&at, format!("{why}; this metric is skipped"));
            m.read_whole();
            return None;
        }
    };
    Some(Usable {
        node: m.clone(),
        label,
        signal,
        conditions,
        limits,
    })
}

pub(super) type Bad<'a, 't> = (Node<'a, 't>, String);

/// The limits of a metric as rollsim keys, checked as `ValidateMetric` does.
pub(super) fn limits<'a, 't>(
    m: &Node<'a, 't>,
    label: &str,
    args: &Args,
) -> Result<Vec<Entry>, Bad<'a, 't>> {
    let mut out = Vec::new();
    let dur = |key: &str| -> Result<Option<(u64, Node<'a, 't>)>, Bad<'a, 't>> {
        let Some(n) = m.get(key) else { return Ok(None) };
        let s = substitute(&n.text().unwrap_or_default(), args).map_err(|e| (n.clone(), e))?;
        go_duration_ms(&s)
            .map(|ms| Some((ms, n.clone())))
            .map_err(|e| (n.clone(), e))
    };
    let int = |key: &str| -> Result<Option<(i64, Node<'a, 't>)>, Bad<'a, 't>> {
        let Some(n) = m.get(key) else { return Ok(None) };
        int_or_string(&n, args)
            .map(|v| Some((v, n.clone())))
            .map_err(|e| (n.clone(), e))
    };
    let interval = dur("interval")?;
    let initial = dur("initialDelay")?;
    let count = int("count")?;
    let failure = int("failureLimit")?;
    let inconclusive = int("inconclusiveLimit")?;
    let errors = int("consecutiveErrorLimit")?;
    let successes = int("consecutiveSuccessLimit")?;
    let v = |x: &Option<(i64, Node)>, d: i64| x.as_ref().map_or(d, |(v, _)| *v);
    let (c, f, i, s) = (
        v(&count, 0),
        v(&failure, 0),
        v(&inconclusive, 0),
        v(&successes, 0),
    );
    let fail_at =
        |x: &Option<(i64, Node<'a, 't>)>| x.as_ref().map_or_else(|| m.clone(), |(_, n)| n.clone());
    // utils/analysis/factory.go: ValidateMetric
    if s < 0 {
        return Err((
            fail_at(&successes),
            "Argo rejects it: consecutiveSuccessLimit must be >= 0".into(),
        ));
    }
    if f < -1 {
        return Err((
            fail_at(&failure),
            "Argo rejects it: failureLimit must be >= 0, or -1 to be disabled".into(),
        ));
    }
    if s == 0 && f == -1 {
        return Err((
            fail_at(&failure),
            "Argo rejects it: failureLimit and consecutiveSuccessLimit cannot both be disabled"
                .into(),
        ));
    }
    if i < 0 {
        return Err((
            fail_at(&inconclusive),
            "Argo rejects it: inconclusiveLimit must be >= 0".into(),
        ));
    }
    if v(&errors, 0) < 0 {
        return Err((
            fail_at(&errors),
            "Argo rejects it: consecutiveErrorLimit must be >= 0".into(),
        ));
    }
    if c > 0 {
        if f >= 0 && c < f + s {
            return Err((fail_at(&count), format!("Argo rejects it: count ({c}) must be >= failureLimit + consecutiveSuccessLimit ({f} + {s})")));
        }
        if f < 0 && c < s {
            return Err((
                fail_at(&count),
                "Argo rejects it: count must be >= consecutiveSuccessLimit".into(),
            ));
        }
        if c < i {
            return Err((
                fail_at(&count),
                "Argo rejects it: count must be >= inconclusiveLimit".into(),
            ));
        }
    }
    if c > 1 && interval.is_none() {
        return Err((
            fail_at(&count),
            "Argo rejects it: interval must be specified when count > 1".into(),
        ));
    }
    if c < 0 {
        return Err((fail_at(&count), format!("count = {c} is negative")));
    }
    let src = |n: &Node| format!("{label}: {}", lines(n));
    if let Some((ms, n)) = &interval {
        if *ms == 0 {
            return Err((n.clone(), "an interval of 0 is not modelled".into()));
        }
        out.push(Entry {
            key: "interval",
            value: Value::Dur(*ms),
            source: src(n),
        });
    }
    if let Some((ms, n)) = &initial {
        if *ms > 0 {
            out.push(Entry {
                key: "initial_delay",
                value: Value::Dur(*ms),
                source: src(n),
            });
        }
    }
    match (&count, &interval) {
        (Some((c, n)), _) if *c > 0 => out.push(Entry {
            key: "count",
            value: Value::Int(*c),
            source: src(n),
        }),
        (_, None) => out.push(Entry {
            key: "count",
            value: Value::Int(1),
            source: format!(
                "{label}: neither count nor interval, so one measurement (Metric.EffectiveCount)"
            ),
        }),
        _ => {}
    }
    for (key, x) in [
        ("failure_limit", &failure),
        ("inconclusive_limit", &inconclusive),
        ("consecutive_error_limit", &errors),
        ("consecutive_success_limit", &successes),
    ] {
        if let Some((v, n)) = x {
            out.push(Entry {
                key,
                value: Value::Int(*v),
                source: src(n),
            });
        }
    }
    Ok(out)
}
