//! `[[policies]]` entries with `import = "file.yaml"`: the policy comes from an Argo
//! Rollouts or Flagger YAML file (`crate::import`), read relative to the scenario file.
//!
//! The imported keys are exactly those `rollsim import` prints (the same TOML text is
//! parsed), and keys written beside `import` override them, so `until = "end"`,
//! `on_inconclusive = "rollback"` or a sweep's parameter apply to an imported policy too.
//! Choices: a YAML that cannot be read, parsed or used is an error of the scenario, at the
//! `import` key, carrying the YAML's own `file:line:col`; fields the import cannot model
//! are warnings on [`crate::scenario::Scenario::warnings`], printed once by the commands
//! that load the scenario, so a scenario stays runnable with them as `rollsim import`
//! output does.

use super::raw::{RawPolicy, RawScenario};
use super::span::{self, Problem, Seg};
use std::path::Path;

/// The imported policies of a scenario.
#[derive(Debug, Default)]
pub(super) struct Imports {
    /// (policy index, YAML path as shown, notes rendered with their YAML positions).
    done: Vec<(usize, String, Vec<String>)>,
}

fn at_import(i: usize, key: &'static str) -> Vec<Seg> {
    vec![Seg::Key("policies"), Seg::Index(i), Seg::Key(key)]
}

/// Replaces every importing entry of `raw` by the imported policy.
pub(super) fn resolve(
    raw: &mut RawScenario,
    text: &str,
    dir: &Path,
) -> Result<Imports, Vec<Problem>> {
    let mut out = Imports::default();
    if raw.policies.iter().all(|p| p.import.is_none()) {
        return Ok(out);
    }
    // The entries as written, to overlay on the imported keys (`text` parsed already).
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        vec![Problem {
            path: vec![],
            message: e.message().to_string(),
        }]
    })?;
    let entries = table
        .get("policies")
        .and_then(|p| p.as_array())
        .cloned()
        .unwrap_or_default();
    let mut problems = Vec::new();
    for (i, p) in raw.policies.iter_mut().enumerate() {
        let Some(file) = p.import.clone() else {
            continue;
        };
        let path = dir.join(&file);
        let shown = path.display().to_string();
        let fail = |key, message: String| Problem {
            path: at_import(i, key),
            message,
        };
        let imported = match crate::import::import_file(&path) {
            Ok(imp) => imp,
            Err(e) => {
                problems.push(fail("import", format!("cannot import {file:?}: {e}")));
                continue;
            }
        };
        let block: Result<toml::Table, _> = toml::from_str(&imported.to_toml());
        let mut merged = match block
            .as_ref()
            .ok()
            .and_then(|b| b.get("policies")?.as_array()?.first()?.as_table().cloned())
        {
            Some(t) => t,
            None => {
                problems.push(fail(
                    "import",
                    format!(
                        "the policy imported from {file:?} is not valid TOML; please report this"
                    ),
                ));
                continue;
            }
        };
        let own = entries
            .get(i)
            .and_then(|e| e.as_table())
            .cloned()
            .unwrap_or_default();
        for (k, v) in own {
            if k == "import" {
                continue;
            }
            if k == "kind" && merged.get("kind") != Some(&v) {
                problems.push(fail(
                    "kind",
                    format!(
                        "kind = {v}, but {file:?} imports a {} policy; expected no `kind` beside `import`",
                        merged.get("kind").map(|k| k.to_string()).unwrap_or_default()
                    ),
                ));
            }
            merged.insert(k, v);
        }
        match toml::Value::Table(merged).try_into::<RawPolicy>() {
            Ok(rp) => *p = rp,
            Err(e) => {
                problems.push(fail(
                    "import",
                    format!(
                        "the policy imported from {file:?} does not fit: {}",
                        e.message()
                    ),
                ));
                continue;
            }
        }
        out.done.push((i, shown, imported.rendered_notes()));
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

impl Imports {
    /// Says which problems of `validate` concern an imported policy.
    pub(super) fn annotate(&self, problems: &mut [Problem]) {
        for p in problems {
            if let [Seg::Key("policies"), Seg::Index(i), ..] = p.path[..] {
                if let Some((_, file, _)) = self.done.iter().find(|d| d.0 == i) {
                    p.message
                        .push_str(&format!(" (in the policy imported from {file})"));
                }
            }
        }
    }

    /// One warning per note, naming the YAML position and the scenario's `import` key.
    pub(super) fn warnings(&self, raw: &RawScenario, text: &str, origin: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (i, _, notes) in &self.done {
            let at = span::locate_all(
                text,
                vec![Problem {
                    path: at_import(*i, "import"),
                    message: String::new(),
                }],
            );
            let (line, col) = at.first().map_or((1, 1), |l| (l.line, l.col));
            let name = raw.policies.get(*i).map(|p| p.name.as_str()).unwrap_or("");
            for n in notes {
                out.push(format!(
                    "{n} (policy {name:?} imported at {origin}:{line}:{col})"
                ));
            }
        }
        out
    }
}
