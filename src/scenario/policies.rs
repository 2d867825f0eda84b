//! `[[policies]]`: each entry read with its kind's own keys, the keys every policy takes
//! checked here, and the built-in policies of a scenario that lists none.
//!
//! An entry is read from the parsed document with every key and value spanned
//! (`toml::de::DeTable`): `kind` (or the `kind` of the imported YAML) picks the module of
//! `crate::policy` whose raw form takes the kind's keys, so a key of another kind, an
//! unknown key and a value of the wrong type each get their exact `line:col`. (serde's
//! internally tagged enums would buffer the entry and lose the positions.)

use super::error::Located;
use super::imports::Imports;
use super::raw::{fields_of, Action, Checkpoint, Dur, RawRollout, UnsafeRollback, Until};
use super::span::{line_col, Problem, Seg};
use super::{suggest, Guards, PolicyRule, PolicySpec, Rollout, ThresholdSpec};
use crate::check::{at, does_not_apply, idx, Checker, PolicyContext};
use crate::policy::kind::{PolicyKind, RawRule};
use serde::Deserialize;
use std::ops::Range;
use toml::de::{DeArray, DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

/// A `[[policies]]` entry as written.
#[derive(Debug, Clone)]
pub struct RawPolicy {
    pub common: RawCommon,
    /// The kind and its own keys.
    pub rule: RawRule,
    /// Set when the entry imports its policy from a YAML file.
    pub imported: Option<ImportedFrom>,
}

/// What an entry took from its `import`.
#[derive(Debug, Clone)]
pub struct ImportedFrom {
    /// The YAML file's path as shown in messages.
    pub file: String,
    /// Keys that came from the file (not written in the entry).
    pub keys: Vec<String>,
    /// The importer's notes (fields it cannot model), rendered with their positions.
    pub notes: Vec<String>,
}

/// The keys every policy takes, whatever its kind (besides `kind` and `import`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCommon {
    pub name: String,
    /// When the policy stops watching (default by kind).
    pub until: Option<Until>,
    /// The rollout this policy deploys with (default: the scenario's `[rollout]`).
    pub rollout: Option<RawRollout>,
    /// What the policy does when it decides to act (default: roll back).
    pub action: Option<Action>,
    /// Whether this policy rolls back across a destructive migration (default: `[data]`).
    pub unsafe_rollback: Option<UnsafeRollback>,
    /// Where a human signs off (default: nowhere).
    pub checkpoint: Option<Checkpoint>,
    pub max_auto_rollbacks: Option<i64>,
    pub freeze_after: Option<i64>,
    pub retry_backoff: Option<f64>,
    pub human_after_first_rollback: Option<bool>,
    /// Whether the pipeline re-deploys after this policy's rollback (default by kind).
    pub pipeline_retries: Option<bool>,
    /// In a system: hold a rollback while a dependency deployed within this window (or
    /// its observed error rate is over the SLO) explains the signal.
    pub hold_on_dependency: Option<Dur>,
    /// With `hold_on_dependency`: the longest a held rollback waits (default: the window).
    pub hold_at_most: Option<Dur>,
}

/// The keys of every policy, as listed in messages.
fn common_keys() -> Vec<&'static str> {
    let mut keys = vec!["kind", "import"];
    keys.extend(fields_of::<RawCommon>());
    keys
}

/// A problem at a byte offset of `text`.
fn located(text: &str, offset: usize, message: String) -> Located {
    let (line, col) = line_col(text, offset);
    Located { line, col, message }
}

/// A serde error of a spanned value, located (at `fallback` when it has no span), with a
/// "did you mean" for a misspelt name.
pub(super) fn toml_error(text: &str, e: &toml::de::Error, fallback: usize) -> Located {
    let at = e.span().map_or(fallback, |r| r.start);
    located(text, at, suggest::amend(e.message().trim()))
}

/// Reads the `policies` value of the document: an array of tables, each an entry.
pub(super) fn read_all(
    value: Spanned<DeValue<'_>>,
    text: &str,
    imports: &Imports,
) -> Result<Vec<RawPolicy>, Vec<Located>> {
    let span = value.span();
    let DeValue::Array(items) = value.into_inner() else {
        return Err(vec![located(
            text,
            span.start,
            "`policies` is not an array of tables; expected [[policies]] entries".into(),
        )]);
    };
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for item in items.iter() {
        match read_one(item.clone(), text, imports) {
            Ok(p) => out.push(p),
            Err(mut e) => problems.append(&mut e),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Gives every value of an imported table the span of the entry's `import` value, so a
/// problem in it points at the line that imports it.
fn respan<'i>(value: Spanned<DeValue<'i>>, span: &Range<usize>) -> Spanned<DeValue<'i>> {
    let inner = match value.into_inner() {
        DeValue::Array(items) => {
            let mut a = DeArray::new();
            for v in items.iter() {
                a.push(respan(v.clone(), span));
            }
            DeValue::Array(a)
        }
        DeValue::Table(t) => DeValue::Table(respan_table(t, span)),
        other => other,
    };
    Spanned::new(span.clone(), inner)
}

fn respan_table<'i>(t: DeTable<'i>, span: &Range<usize>) -> DeTable<'i> {
    let mut out = DeTable::new();
    for (k, v) in t.iter() {
        out.insert(
            Spanned::new(span.clone(), k.get_ref().clone()),
            respan(v.clone(), span),
        );
    }
    out
}

/// The imported policy table overlaid with the entry's own keys.
fn overlay<'i>(
    own: &DeTable<'i>,
    file: &Spanned<DeValue<'i>>,
    text: &str,
    imports: &'i Imports,
) -> Result<(DeTable<'i>, ImportedFrom), Vec<Located>> {
    let written = file.get_ref().as_str().unwrap_or_default();
    let fail = |message: String| vec![located(text, file.span().start, message)];
    let imported = imports.get(written).map_err(fail)?;
    let table = imported.table().ok_or_else(|| {
        fail(format!(
            "the policy imported from {written:?} is not valid TOML; please report this"
        ))
    })?;
    let mut table = respan_table(table, &file.span());
    let mut problems = Vec::new();
    if let (Some(own_kind), Some(theirs)) = (own.get("kind"), table.get("kind")) {
        let (a, b) = (own_kind.get_ref().as_str(), theirs.get_ref().as_str());
        if a != b {
            problems.push(located(
                text,
                own_kind.span().start,
                format!(
                    "kind = \"{}\", but {written:?} imports a \"{}\" policy; expected no `kind` beside `import`",
                    a.unwrap_or_default(),
                    b.unwrap_or_default()
                ),
            ));
        }
    }
    let keys = table
        .keys()
        .map(|k| k.get_ref().to_string())
        .filter(|k| !own.contains_key(k.as_str()))
        .collect();
    for (k, v) in own.iter() {
        if k.get_ref() != "import" {
            table.insert(k.clone(), v.clone());
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok((
        table,
        ImportedFrom {
            file: imported.shown.clone(),
            keys,
            notes: imported.notes.clone(),
        },
    ))
}

/// Reads one entry: its kind, the keys every policy takes, and the kind's own keys.
fn read_one(
    item: Spanned<DeValue<'_>>,
    text: &str,
    imports: &Imports,
) -> Result<RawPolicy, Vec<Located>> {
    let span = item.span();
    let DeValue::Table(own) = item.into_inner() else {
        return Err(vec![located(
            text,
            span.start,
            "a policy is not a table; expected [[policies]] with `name` and `kind`".into(),
        )]);
    };
    let (table, imported) = match own.get("import") {
        Some(file) => {
            let (t, from) = overlay(&own, file, text, imports)?;
            (t, Some(from))
        }
        None => (own, None),
    };
    let kind = match table.get("kind") {
        Some(v) => PolicyKind::deserialize(ValueDeserializer::from(v.clone()))
            .map_err(|e| vec![toml_error(text, &e, v.span().start)])?,
        None => {
            return Err(vec![located(
                text,
                span.start,
                "missing field `kind`; expected a policy kind (such as \"threshold\") or `import = \"file.yaml\"`".into(),
            )])
        }
    };
    let common = common_keys();
    let own_keys = kind.keys();
    let mut mine = DeTable::new();
    let mut shared = DeTable::new();
    let mut problems = Vec::new();
    for (k, v) in table.iter() {
        let name = k.get_ref().as_ref();
        if name == "kind" || name == "import" {
            continue;
        }
        if own_keys.contains(&name) {
            mine.insert(k.clone(), v.clone());
        } else if common.contains(&name) {
            shared.insert(k.clone(), v.clone());
        } else if PolicyKind::ALL.iter().any(|o| o.keys().contains(&name)) {
            problems.push(located(
                text,
                v.span().start,
                does_not_apply(name, kind.name(), own_keys),
            ));
        } else {
            problems.push(located(
                text,
                k.span().start,
                unknown_key(name, kind, &common),
            ));
        }
    }
    let common = RawCommon::deserialize(ValueDeserializer::from(Spanned::new(
        span.clone(),
        DeValue::Table(shared),
    )));
    let rule = kind.read(ValueDeserializer::from(Spanned::new(
        span.clone(),
        DeValue::Table(mine),
    )));
    match (common, rule) {
        (Ok(common), Ok(rule)) if problems.is_empty() => {
            return Ok(RawPolicy {
                common,
                rule,
                imported,
            })
        }
        (common, rule) => {
            for e in [common.err(), rule.err()].into_iter().flatten() {
                problems.push(toml_error(text, &e, span.start));
            }
        }
    }
    if let Some(from) = &imported {
        for p in &mut problems {
            p.message
                .push_str(&format!(" (in the policy imported from {})", from.file));
        }
    }
    problems.sort_by_key(|p| (p.line, p.col));
    Err(problems)
}

/// "unknown field `x`; a `kind` policy takes a, b, besides the keys of every policy (...)",
/// with the nearest spelling.
fn unknown_key(name: &str, kind: PolicyKind, common: &[&str]) -> String {
    let own = kind.keys();
    let takes = if own.is_empty() {
        format!("a `{}` policy takes no parameters", kind.name())
    } else {
        format!("a `{}` policy takes {}", kind.name(), own.join(", "))
    };
    format!(
        "unknown field `{name}`; {takes}, besides the keys of every policy ({}){}",
        common.join(", "),
        suggest::hint(name, own.iter().chain(common).copied())
    )
}

/// Checks every entry: unique names, the keys every policy takes, and the kind's own keys
/// (through `crate::policy::kind`). `rollout` is the scenario's checked `[rollout]`;
/// `check_rollout` checks an entry's own over the scenario's raw one.
pub(super) fn check_all(
    c: &mut Checker,
    raw: &[RawPolicy],
    rollout: &Rollout,
    ctx: &PolicyContext,
    has_data: bool,
    mut check_rollout: impl FnMut(&mut Checker, &[Seg], &RawRollout) -> Rollout,
) -> Vec<PolicySpec> {
    if raw.is_empty() {
        return default_policies(rollout);
    }
    let base = vec![Seg::Key("policies")];
    let mut seen: Vec<&str> = vec![];
    raw.iter()
        .enumerate()
        .map(|(i, rp)| {
            let path = idx(&base, i);
            let p = &rp.common;
            if p.name.trim().is_empty() {
                c.fail(
                    at(&path, "name"),
                    "policy name is empty; expected a short name such as \"threshold-2pct\"",
                );
            } else if seen.contains(&p.name.as_str()) {
                c.fail(
                    at(&path, "name"),
                    format!("policy name {:?} is used twice; names must be unique", p.name),
                );
            }
            seen.push(&p.name);
            if p.unsafe_rollback.is_some() && !has_data {
                c.fail(
                    at(&path, "unsafe_rollback"),
                    "`unsafe_rollback` needs a [data] section with migrations; expected it only where data is modelled",
                );
            }
            let mut own = match &p.rollout {
                Some(r) => check_rollout(c, &at(&path, "rollout"), r),
                None => rollout.clone(),
            };
            let ctx = PolicyContext {
                own_rollout: p.rollout.is_some(),
                ..*ctx
            };
            let kind = rp.rule.check(c, &path, &ctx, &mut own);
            PolicySpec {
                name: p.name.clone(),
                until: p.until.unwrap_or(kind.until),
                rule: kind.rule,
                rollout: own,
                action: p.action.unwrap_or(Action::Rollback),
                unsafe_rollback: p.unsafe_rollback,
                checkpoint: p.checkpoint.unwrap_or(Checkpoint::None),
                pipeline_retries: p.pipeline_retries.unwrap_or(kind.pipeline_retries),
                guards: guards(c, &path, p),
            }
        })
        .collect()
}

/// The loop guards of an entry.
fn guards(c: &mut Checker, path: &[Seg], p: &RawCommon) -> Guards {
    let hold = p.hold_on_dependency.map(|d| {
        c.positive(
            at(path, "hold_on_dependency"),
            "hold_on_dependency",
            Some(d),
            1,
        )
    });
    if hold.is_none() && p.hold_at_most.is_some() {
        c.fail(
            at(path, "hold_at_most"),
            "`hold_at_most` bounds a rollback held by `hold_on_dependency`; expected it only beside `hold_on_dependency`",
        );
    }
    let mut count = |key: &'static str, v: Option<i64>, min: u64| {
        v.map(|v| c.int(at(path, key), key, Some(v), 1, min, 1000) as u32)
    };
    Guards {
        max_auto_rollbacks: count("max_auto_rollbacks", p.max_auto_rollbacks, 0),
        freeze_after: count("freeze_after", p.freeze_after, 1),
        retry_backoff: c.number(
            at(path, "retry_backoff"),
            "retry_backoff",
            p.retry_backoff,
            1.0,
            1.0,
            false,
        ),
        human_after_first_rollback: p.human_after_first_rollback.unwrap_or(false),
        hold_on_dependency_ms: hold,
        hold_at_most_ms: hold.map(|window| {
            c.positive(
                at(path, "hold_at_most"),
                "hold_at_most",
                p.hold_at_most,
                window,
            )
        }),
    }
}

/// The policies used when a scenario lists none: the two bounds and two blunt triggers.
fn default_policies(rollout: &Rollout) -> Vec<PolicySpec> {
    let spec = |name: &str, until, rule| PolicySpec {
        name: name.into(),
        until,
        rule,
        rollout: rollout.clone(),
        action: Action::Rollback,
        unsafe_rollback: None,
        checkpoint: Checkpoint::None,
        pipeline_retries: true,
        guards: Guards {
            retry_backoff: 1.0,
            ..Guards::default()
        },
    };
    vec![
        spec("none", Until::End, PolicyRule::None),
        spec(
            "oracle",
            Until::End,
            PolicyRule::Oracle {
                reaction_ms: 60_000,
            },
        ),
        spec(
            "threshold",
            Until::Promoted,
            PolicyRule::Threshold(ThresholdSpec::default()),
        ),
        spec(
            "consecutive",
            Until::Promoted,
            PolicyRule::Consecutive { failures: 3 },
        ),
    ]
}

/// Says which problems concern an imported policy, and points a problem with a key that
/// came from the YAML at the entry's `import` line.
pub(super) fn annotate(raw: &[RawPolicy], problems: &mut [Problem]) {
    for p in problems {
        let [Seg::Key("policies"), Seg::Index(i), ..] = p.path[..] else {
            continue;
        };
        let Some(from) = raw.get(i).and_then(|r| r.imported.as_ref()) else {
            continue;
        };
        if let Some(Seg::Key(k)) = p.path.get(2) {
            if from.keys.iter().any(|f| f == k) {
                p.path = vec![Seg::Key("policies"), Seg::Index(i), Seg::Key("import")];
            }
        }
        p.message
            .push_str(&format!(" (in the policy imported from {})", from.file));
    }
}

/// One warning per importer note, naming the YAML position and the entry's `import` key.
pub(super) fn warnings(raw: &[RawPolicy], text: &str, origin: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, p) in raw.iter().enumerate() {
        let Some(from) = &p.imported else { continue };
        let at = super::span::locate_all(
            text,
            vec![Problem {
                path: vec![Seg::Key("policies"), Seg::Index(i), Seg::Key("import")],
                message: String::new(),
            }],
        );
        let (line, col) = at.first().map_or((1, 1), |l| (l.line, l.col));
        for n in &from.notes {
            out.push(format!(
                "{n} (policy {:?} imported at {origin}:{line}:{col})",
                p.common.name
            ));
        }
    }
    out
}
