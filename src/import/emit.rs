//! Writes an [`Imported`] policy as a `[[policies]]` TOML block, every value commented with
//! the field it came from, ready to paste into a scenario.

use super::{Imported, Value};
use crate::check::{duration_text, StepGate};
use crate::report::wrap::wrap;
use std::fmt::Write;

/// Column at which value comments start.
const COMMENT_COL: usize = 44;

/// The width every line of the block fits (that of every printout), except a word longer
/// than a line (a long path stays whole).
const WIDTH: usize = 100;

/// `text` as comment lines of at most [`WIDTH`] columns: the first starts with `first`,
/// the others with `then` (a continuation indented under the text).
fn comment_lines(out: &mut String, first: &str, then: &str, text: &str) {
    let room = WIDTH.saturating_sub(then.chars().count()).max(20);
    for (i, l) in wrap(&comment(text), room).split('\n').enumerate() {
        let _ = writeln!(out, "{}{l}", if i == 0 { first } else { then });
    }
}

/// A TOML basic string.
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML value; floats keep their exact value (`{:?}` is the shortest round trip).
fn value(v: &Value) -> String {
    match v {
        Value::Str(s) => quote(s),
        Value::Int(i) => i.to_string(),
        Value::Ints(v) => format!(
            "[{}]",
            v.iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Float(f) => format!("{f:?}"),
        Value::Dur(ms) => quote(&duration_text(*ms)),
        Value::Raw(t) => t.replace(['\n', '\r'], " "),
    }
}

/// One comment line (no newlines can break out of it).
fn comment(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

fn line(out: &mut String, code: &str, note: &str) {
    if note.is_empty() {
        let _ = writeln!(out, "{code}");
    } else {
        // A comment too long for the line goes on under itself, at the comment column.
        let pad = COMMENT_COL.saturating_sub(code.chars().count()).max(1);
        let first = format!("{code}{}# ", " ".repeat(pad));
        let then = format!("{}#   ", " ".repeat(COMMENT_COL));
        let room = WIDTH
            .saturating_sub(first.chars().count().max(then.len()))
            .max(20);
        for (i, l) in wrap(&comment(note), room).split('\n').enumerate() {
            let _ = writeln!(out, "{}{l}", if i == 0 { &first } else { &then });
        }
    }
}

/// The block: header comments, the notes, then the keys.
pub fn render(imp: &Imported) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Imported by `rollsim import` from {}",
        comment(&imp.origin)
    );
    for h in &imp.header {
        comment_lines(&mut out, "# ", "#   ", h);
    }
    if !imp.notes.is_empty() {
        let _ = writeln!(
            out,
            "# Not imported or modelled differently (also printed on stderr):"
        );
        for n in imp.rendered_notes() {
            comment_lines(&mut out, "#   ", "#     ", &n);
        }
    }
    let _ = writeln!(out, "[[policies]]");
    let name_from = match imp.kind {
        "threshold" | "burn_rate" => "the alerting rule's `alert`",
        _ => "metadata.name",
    };
    line(&mut out, &format!("name = {}", quote(&imp.name)), name_from);
    for e in &imp.entries {
        line(
            &mut out,
            &format!("{} = {}", e.key, value(&e.value)),
            &e.source,
        );
    }
    if let Some(steps) = &imp.steps {
        let _ = writeln!(out, "rollout = {{ strategy = \"canary\", steps = [");
        for s in steps {
            let mut keys = format!("weight = {}", s.weight);
            if s.pause_ms > 0 {
                keys.push_str(&format!(", pause = {}", quote(&duration_text(s.pause_ms))));
            }
            match s.gate {
                StepGate::None => {}
                StepGate::Analysis => keys.push_str(", analysis = true"),
                StepGate::Approval => keys.push_str(", approval = true"),
            }
            let code = format!("  {{ {keys} }},");
            line(&mut out, &code, &s.source);
        }
        let _ = writeln!(out, "] }}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::{Entry, Step};

    #[test]
    fn the_block_is_valid_toml_with_exact_values() {
        let imp = Imported {
            origin: "x.yaml".into(),
            name: "a \"b\"".into(),
            kind: "argo_analysis",
            header: vec!["line\nbreak".into()],
            entries: vec![
                Entry {
                    key: "kind",
                    value: Value::Str("argo_analysis".into()),
                    source: "k".into(),
                },
                Entry {
                    key: "success_error_rate_below",
                    value: Value::Float(0.050_000_000_000_000_01),
                    source: "s".into(),
                },
                Entry {
                    key: "interval",
                    value: Value::Dur(90_000),
                    source: String::new(),
                },
            ],
            steps: Some(vec![
                Step {
                    weight: 20,
                    pause_ms: 300_000,
                    gate: StepGate::None,
                    source: "steps[0]".into(),
                },
                Step {
                    weight: 100,
                    pause_ms: 0,
                    gate: StepGate::None,
                    source: String::new(),
                },
            ]),
            notes: vec![],
        };
        let text = render(&imp);
        let t: Result<toml::Table, _> = toml::from_str(&text);
        let Ok(t) = t else { panic!("{text}\n{t:?}") };
        let p = &t["policies"][0];
        assert_eq!(p["name"].as_str(), Some("a \"b\""));
        assert_eq!(
            p["success_error_rate_below"].as_float(),
            Some(0.050_000_000_000_000_01)
        );
        assert_eq!(p["interval"].as_str(), Some("1m 30s"));
        assert_eq!(p["rollout"]["steps"][0]["pause"].as_str(), Some("5m"));
        assert_eq!(p["rollout"]["steps"][1]["weight"].as_integer(), Some(100));
    }
}
