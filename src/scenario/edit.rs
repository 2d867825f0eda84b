//! Edits one numeric field of a scenario's TOML text by its path, for sweeps.
//!
//! A path is dot-separated keys (`service.request_rate`, `release.bad.error_rate`); an
//! array of tables is indexed by position or by the `name` of its element
//! (`policies.gate.error_rate_above`, `faults.0.latency_factor`), an inline array by
//! position (`rollout.steps.0.weight`). The field keeps its kind: a duration string is
//! written in seconds, an integer must stay integral. Missing tables and keys are created,
//! so a default can be swept too. Comments and layout of the file are kept.

use toml_edit::{DocumentMut, Item, Table, TableLike, Value};

/// Returns `text` with the field at `path` set to `value`, or what is wrong.
pub fn set_number(text: &str, path: &str, value: f64) -> Result<String, String> {
    if !value.is_finite() {
        return Err(format!("{value} is not a finite number"));
    }
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e| format!("the scenario is not valid TOML: {e}"))?;
    let segs: Vec<&str> = path.split('.').collect();
    if segs.iter().any(|s| s.is_empty()) {
        return Err(format!(
            "path {path:?} has an empty segment; expected keys joined by dots"
        ));
    }
    walk(doc.as_table_mut(), &segs, path, value)?;
    Ok(doc.to_string())
}

fn walk(t: &mut dyn TableLike, segs: &[&str], path: &str, v: f64) -> Result<(), String> {
    let (key, rest) = match segs.split_first() {
        Some(x) => x,
        None => return Err(format!("path {path:?} is empty")),
    };
    if rest.is_empty() {
        return set(t, key, path, v);
    }
    if t.get(key).is_none() {
        let mut table = Table::new();
        table.set_implicit(true);
        t.insert(key, Item::Table(table));
    }
    match t.get_mut(key) {
        Some(Item::Table(inner)) => walk(inner, rest, path, v),
        Some(Item::Value(Value::InlineTable(inner))) => walk(inner, rest, path, v),
        Some(Item::ArrayOfTables(arr)) => {
            let (sel, rest2) = rest
                .split_first()
                .ok_or_else(|| format!("path {path:?} ends at an array"))?;
            let i = select(
                arr.iter().map(|t| t.get("name").and_then(Item::as_str)),
                sel,
                key,
                path,
            )?;
            let elem = arr
                .get_mut(i)
                .ok_or_else(|| format!("path {path:?}: no element {i} in `{key}`"))?;
            walk(elem, rest2, path, v)
        }
        Some(Item::Value(Value::Array(arr))) => {
            let (sel, rest2) = rest
                .split_first()
                .ok_or_else(|| format!("path {path:?} ends at an array"))?;
            let i = select(
                arr.iter().map(|v| {
                    v.as_inline_table()
                        .and_then(|t| t.get("name"))
                        .and_then(Value::as_str)
                }),
                sel,
                key,
                path,
            )?;
            match arr.get_mut(i) {
                Some(Value::InlineTable(inner)) => walk(inner, rest2, path, v),
                _ => Err(format!(
                    "path {path:?}: element {i} of `{key}` is not a table"
                )),
            }
        }
        Some(_) => Err(format!("path {path:?}: `{key}` is a value, not a table")),
        None => Err(format!("path {path:?}: `{key}` cannot be created")),
    }
}

/// Finds an array element by position or by its `name`.
fn select<'a>(
    names: impl Iterator<Item = Option<&'a str>>,
    sel: &str,
    key: &str,
    path: &str,
) -> Result<usize, String> {
    let names: Vec<Option<&str>> = names.collect();
    if let Ok(i) = sel.parse::<usize>() {
        if i < names.len() {
            return Ok(i);
        }
        return Err(format!(
            "path {path:?}: `{key}` has {} elements, no element {i}",
            names.len()
        ));
    }
    names.iter().position(|n| *n == Some(sel)).ok_or_else(|| {
        let known: Vec<&str> = names.iter().flatten().copied().collect();
        format!(
            "path {path:?}: no element of `{key}` is named {sel:?}; expected an index or one of {}",
            known.join(", ")
        )
    })
}

fn set(t: &mut dyn TableLike, key: &str, path: &str, v: f64) -> Result<(), String> {
    let integral = v.fract() == 0.0 && v.abs() < 9.0e15;
    let new = match t.get(key).and_then(Item::as_value) {
        Some(Value::String(s)) => {
            if crate::scenario::raw::parse_duration(s.value()).is_err() {
                return Err(format!(
                    "`{path}` is the string {:?}, not a number or a duration",
                    s.value()
                ));
            }
            if v < 0.0 {
                return Err(format!("`{path}` is a duration; {v} seconds is negative"));
            }
            let ms = (v * 1000.0).round();
            // Largest whole units ("3m", not "180s"), as a person writes it; an
            // out-of-range value saturates and the scenario check refuses it.
            toml_edit::value(crate::check::duration_text(ms as u64))
        }
        Some(Value::Integer(_)) => {
            if !integral {
                return Err(format!("`{path}` is an integer; {v} is not"));
            }
            toml_edit::value(v as i64)
        }
        Some(Value::Float(_)) => toml_edit::value(v),
        Some(_) => return Err(format!("`{path}` is not a number")),
        None if integral => toml_edit::value(v as i64),
        None => toml_edit::value(v),
    };
    t.insert(key, new);
    Ok(())
}

/// The value at `path` as the TOML text writes it (`"900s"`, `3`, `0.02`), or `None`
/// when there is none: a sweep reads back what [`set_number`] wrote, to print a
/// recommended value in scenario syntax. Paths are those of [`set_number`].
pub fn literal(text: &str, path: &str) -> Option<String> {
    let mut v: toml::Value = toml::from_str(text).ok()?;
    for seg in path.split('.') {
        v = match v {
            toml::Value::Table(mut t) => t.remove(seg)?,
            toml::Value::Array(a) => {
                let named = |e: &toml::Value| e.get("name").and_then(|n| n.as_str()) == Some(seg);
                match seg.parse::<usize>() {
                    Ok(i) => a.into_iter().nth(i)?,
                    Err(_) => a.into_iter().find(named)?,
                }
            }
            _ => return None,
        };
    }
    match v {
        toml::Value::Table(_) | toml::Value::Array(_) => None,
        v => Some(v.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# comment kept\n[service]\nrequest_rate = 10.0\nreplicas = 4\n\n[health_check]\ninterval = \"10s\"\n\n[rollout]\nstrategy = \"canary\"\nsteps = [{ weight = 10, pause = \"5m\" }, { weight = 100 }]\n\n[[policies]]\nname = \"gate\"\nkind = \"threshold\"\nerror_rate_above = 0.02\n";

    #[test]
    fn sets_floats_integers_durations_and_named_elements() {
        let t = set_number(TEXT, "service.request_rate", 25.5).expect("float");
        assert!(t.contains("request_rate = 25.5") && t.starts_with("# comment kept"));
        let t = set_number(TEXT, "service.replicas", 6.0).expect("int");
        assert!(t.contains("replicas = 6\n"));
        assert!(set_number(TEXT, "service.replicas", 6.5)
            .unwrap_err()
            .contains("is an integer"));
        let t = set_number(TEXT, "health_check.interval", 30.0).expect("duration");
        assert!(t.contains("interval = \"30s\""));
        let t = set_number(TEXT, "health_check.interval", 0.25).expect("duration ms");
        assert!(t.contains("interval = \"250ms\""));
        let t = set_number(TEXT, "policies.gate.error_rate_above", 0.05).expect("by name");
        assert!(t.contains("error_rate_above = 0.05"));
        let t = set_number(TEXT, "rollout.steps.0.weight", 20.0).expect("inline array");
        assert!(t.contains("weight = 20"));
        let t = set_number(TEXT, "release.bad.error_rate", 0.1).expect("created");
        assert!(crate::scenario::parse(&t, "t").is_ok(), "{t}");
        assert!(t.contains("error_rate = 0.1"));
    }

    #[test]
    fn reads_back_what_it_wrote() {
        let t = set_number(TEXT, "policies.gate.error_rate_above", 0.035).expect("float");
        assert_eq!(
            literal(&t, "policies.gate.error_rate_above").as_deref(),
            Some("0.035")
        );
        let t = set_number(TEXT, "health_check.interval", 900.0).expect("duration");
        assert_eq!(
            literal(&t, "health_check.interval").as_deref(),
            Some("\"15m\"")
        );
        let t = set_number(TEXT, "health_check.interval", 5400.25).expect("duration");
        assert_eq!(
            literal(&t, "health_check.interval").as_deref(),
            Some("\"1h 30m 250ms\"")
        );
        assert_eq!(
            literal(TEXT, "rollout.steps.0.weight").as_deref(),
            Some("10")
        );
        assert_eq!(
            literal(TEXT, "policies.0.kind").as_deref(),
            Some("\"threshold\"")
        );
        assert_eq!(literal(TEXT, "service.nothing"), None);
        assert_eq!(literal(TEXT, "service"), None);
    }

    #[test]
    fn says_what_is_wrong_with_a_path() {
        let e = set_number(TEXT, "policies.nope.error_rate_above", 0.1).unwrap_err();
        assert!(
            e.contains(
                "no element of `policies` is named \"nope\"; expected an index or one of gate"
            ),
            "{e}"
        );
        let e = set_number(TEXT, "rollout.strategy", 1.0).unwrap_err();
        assert!(e.contains("not a number or a duration"), "{e}");
        let e = set_number(TEXT, "service..x", 1.0).unwrap_err();
        assert!(e.contains("empty segment"), "{e}");
    }
}
